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

from cloudserver.config import fields
from cloudserver.config.errors import ConfigError

KNOWN = ("enabled", "interval", "grace", "batchSize")


@attrs.frozen
class SweepSettings:
    enabled: bool = True
    interval: float = 3600.0
    grace: float = 3600.0
    batch_size: int = 500


def parse_sweep(raw: Mapping[str, Any]) -> SweepSettings:
    """The settings of config.json's ``orphanSweep`` (absent: defaults)."""
    section = fields.section(raw, "orphanSweep", KNOWN)
    if section is None:
        return SweepSettings()
    enabled = section.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError("config.json: orphanSweep.enabled must be true or false")
    return SweepSettings(enabled=enabled,
                         interval=float(fields.number(section, "orphanSweep", "interval", 3600, 1)),
                         grace=float(fields.number(section, "orphanSweep", "grace", 3600, 0)),
                         batch_size=fields.number(section, "orphanSweep", "batchSize", 500, 1,
                                                  integer=True))
