# -*- test-case-name: tests.unit.test_sweep -*-
"""config.json's ``orphanSweep``: when data files nothing refers to are removed.

    "orphanSweep": {"enabled": true, "interval": 3600, "grace": 3600, "batchSize": 500}

``interval``: seconds between two sweeps (one runs at start-up);
``grace``: how old an entry written by this very process must be before
its file is removed (an upload slower than this is still protected while
its writer is open; entries of an earlier process are swept at once);
``batchSize``: intent entries read per step.  cloudserver.data.sweep runs it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from cloudserver.config.errors import ConfigError

KNOWN = ("enabled", "interval", "grace", "batchSize")


@attrs.frozen
class SweepSettings:
    enabled: bool = True
    interval: float = 3600.0
    grace: float = 3600.0
    batch_size: int = 500


def _number(section: Mapping[str, Any], name: str, default: float, minimum: float,
            integer: bool = False) -> Any:
    value = section.get(name, default)
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < minimum:
        what = "an integer" if integer else "a number"
        raise ConfigError(f"config.json: orphanSweep.{name} must be {what} >= {minimum}")
    return value


def parse_sweep(raw: Mapping[str, Any]) -> SweepSettings:
    """The settings of config.json's ``orphanSweep`` (absent: defaults)."""
    section = raw.get("orphanSweep")
    if section is None:
        return SweepSettings()
    if not isinstance(section, Mapping):
        raise ConfigError("config.json: orphanSweep must be an object")
    unknown = sorted(set(section) - set(KNOWN))
    if unknown:
        raise ConfigError(f"config.json: orphanSweep.{unknown[0]} is not a known field "
                          f"(known: {', '.join(KNOWN)})")
    enabled = section.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError("config.json: orphanSweep.enabled must be true or false")
    return SweepSettings(enabled=enabled,
                         interval=float(_number(section, "interval", 3600, 1)),
                         grace=float(_number(section, "grace", 3600, 0)),
                         batch_size=_number(section, "batchSize", 500, 1, integer=True))
