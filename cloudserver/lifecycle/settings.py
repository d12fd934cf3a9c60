# -*- test-case-name: tests.unit.test_lifecycle_settings -*-
"""config.json's ``lifecycle`` section: how often and how fast the executor walks.

    "lifecycle": {"enabled": true, "interval": 3600, "batchSize": 1000,
                  "rate": 2000, "debugDayLength": 86400}

``interval``: seconds from the end of one walk to the start of the next;
``batchSize``: entries (versions, uploads) read per listing step;
``rate``: entries examined per second at most (0: no limit, the walk still
yields to the reactor between batches); ``debugDayLength``: how many seconds
a "day" of the rules lasts (as Ceph's rgw_lc_debug_interval; 86400 is a real
day with AWS's rounding to midnight UTC, anything else counts exactly that
many seconds per day, for tests).  Errors are ValueError naming the field;
config.py turns them into ConfigError.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from cloudserver.lifecycle.rules import DAY


@attrs.frozen
class LifecycleSettings:
    enabled: bool = True
    interval: float = 3600.0
    batch_size: int = 1000
    rate: float = 2000.0
    day: float = float(DAY)


def _number(section: Mapping[str, Any], name: str, default: float, *, minimum: float,
            integer: bool = False, positive: bool = False) -> Any:
    value = section.get(name, default)
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < minimum or \
            (positive and value <= 0):
        what = "an integer" if integer else "a number"
        bound = f"> {minimum}" if positive else f">= {minimum}"
        raise ValueError(f"config.json: lifecycle.{name} must be {what} {bound}")
    return value


KNOWN = ("enabled", "interval", "batchSize", "rate", "debugDayLength")


def parse_settings(raw: Any) -> LifecycleSettings:
    """The settings of config.json's ``lifecycle`` value (absent: defaults)."""
    if raw is None:
        return LifecycleSettings()
    if not isinstance(raw, Mapping):
        raise ValueError("config.json: lifecycle must be an object")
    unknown = sorted(set(raw) - set(KNOWN))
    if unknown:
        raise ValueError(f"config.json: lifecycle.{unknown[0]} is not a known field "
                         f"(known: {', '.join(KNOWN)})")
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValueError("config.json: lifecycle.enabled must be true or false")
    batch = _number(raw, "batchSize", 1000, minimum=1, integer=True)
    if batch > 10000:
        raise ValueError("config.json: lifecycle.batchSize must be at most 10000")
    return LifecycleSettings(
        enabled=enabled,
        interval=float(_number(raw, "interval", 3600, minimum=0, positive=True)),
        batch_size=batch,
        rate=float(_number(raw, "rate", 2000, minimum=0)),
        day=float(_number(raw, "debugDayLength", DAY, minimum=0, positive=True)),
    )
