# -*- test-case-name: tests.unit.test_config_limits,tests.unit.test_sweep -*-
"""Reading one config.json section the same way everywhere: an object or
absent, no unknown field, numbers of the right kind within their bounds;
each error names ``section.field``."""
from __future__ import annotations

from typing import Any, Mapping

from cloudserver.config.errors import ConfigError


def section(raw: Mapping[str, Any], name: str, known: tuple[str, ...]) -> Mapping | None:
    """config.json ``name`` (None when absent), an object of ``known`` fields."""
    value = raw.get(name)
    if value is None:
        return None
    return obj(value, name, known)


def obj(value: Any, name: str, known: tuple[str, ...]) -> Mapping:
    """``value`` (config.json's ``name``): an object of ``known`` fields."""
    if not isinstance(value, Mapping):
        raise ConfigError(f"config.json: {name} must be an object")
    unknown = sorted(set(value) - set(known))
    if unknown:
        raise ConfigError(f"config.json: {name}.{unknown[0]} is not a known field "
                          f"(known: {', '.join(known)})")
    return value


def number(values: Mapping[str, Any], name: str, key: str, default: Any, low: float,
           high: float | None = None, integer: bool = False) -> Any:
    """``values[key]`` (``default`` when absent): an int (or, unless
    ``integer``, a float) from ``low`` to ``high``; never a bool."""
    value = values.get(key, default)
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < low or \
            (high is not None and value > high):
        what = "an integer" if integer else "a number"
        bound = f">= {low}" if high is None else f"from {low} to {high}"
        raise ConfigError(f"config.json: {name}.{key} must be {what} {bound}")
    return value
