# -*- test-case-name: tests.unit.test_lifecycle_rules -*-
"""A bucket's lifecycle rules as stored, and which of them apply to an object.

The S3 front parses AWS's XML into these records (PutBucketLifecycle-
Configuration) and computes ``x-amz-expiration`` with ``expiration_of``;
the executor decides with the same rules.  Stored shape of one rule
(``BucketRecord.LIFECYCLE`` is a list of them):

    {"id": str, "status": "Enabled" | "Disabled",
     "filter": {"prefix"?: str, "tags"?: {key: value},
                "sizeGreaterThan"?: int, "sizeLessThan"?: int},
     "expiration"?: {"days": int} | {"date": epoch at 00:00 UTC}
                    | {"expiredObjectDeleteMarker": bool},
     "noncurrentExpiration"?: {"days": int, "newer"?: int},
     "abortIncomplete"?: {"days": int},
     "transitions"?: [{"days" | "date": ..., "storageClass": str}],
     "noncurrentTransitions"?: [{"days": int, "storageClass": str, "newer"?: int}],
     "legacyPrefix"?: True}

``legacyPrefix`` marks a rule put with the legacy top-level ``Prefix``
(PutBucketLifecycle, s3cmd) instead of a ``Filter``: the filter is the
same, only GET answers in the shape that was put.

Days count as AWS does: an object created at t expires at the first
midnight UTC after t + days * day (``due``).  ``day`` is 86400 s, or the
debug day length of config.json's ``lifecycle`` section (as Ceph's
rgw_lc_debug_interval) under which a "day" is that many seconds and no
rounding to midnight happens.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

DAY = 86400

ENABLED = "Enabled"


def filter_matches(rule: Mapping[str, Any], key: str, tags: Mapping[str, str] | None,
                   size: int | None) -> bool:
    """Whether ``rule``'s filter selects an object (``tags``: its tags)."""
    flt = rule.get("filter") or {}
    if not key.startswith(flt.get("prefix", "")):
        return False
    wanted = flt.get("tags") or {}
    have = tags or {}
    if any(have.get(k) != v for k, v in wanted.items()):
        return False
    if size is not None:
        if "sizeGreaterThan" in flt and not size > flt["sizeGreaterThan"]:
            return False
        if "sizeLessThan" in flt and not size < flt["sizeLessThan"]:
            return False
    return True


def enabled(rules: Iterable[Mapping[str, Any]] | None) -> list[Mapping[str, Any]]:
    return [r for r in rules or () if r.get("status") == ENABLED]


def due(start: float, days: int, day: float = DAY) -> float:
    """When ``days`` days after ``start`` are over: the next midnight UTC
    after start + days (AWS's rounding); with a debug day, exactly
    start + days * day."""
    end = start + days * day
    if day != DAY:
        return end
    midnight = (int(end) // DAY) * DAY
    return midnight if midnight >= end else midnight + DAY


def expiration_of(rules: Iterable[Mapping[str, Any]] | None, key: str,
                  tags: Mapping[str, str] | None, size: int | None, created: float,
                  day: float = DAY) -> tuple[float, str] | None:
    """(expiry time, rule id) of a current object, for x-amz-expiration: the
    earliest expiration of the enabled rules that select it; None if none."""
    best: tuple[float, str] | None = None
    for rule in enabled(rules):
        exp = rule.get("expiration") or {}
        if "days" in exp:
            when = due(created, exp["days"], day)
        elif "date" in exp:
            when = float(exp["date"])
        else:
            continue
        if not filter_matches(rule, key, tags, size):
            continue
        if best is None or when < best[0]:
            best = (when, rule.get("id", ""))
    return best
