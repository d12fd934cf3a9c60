# -*- test-case-name: tests.unit.test_object_lock_rules -*-
"""Object lock (WORM): when a stored version may not be removed.

The rules live below the S3 front so that the metadata service applies
them itself: a version under legal hold or unexpired retention is refused
by ``delete_object`` whichever front asks (a second front, a clean-up
job), not only by the S3 handler that checked first.  Only GOVERNANCE
retention yields, and only to a caller the front has authorized for
s3:BypassGovernanceRetention (it passes ``bypassGovernanceRetention``).
Times are compared with the caller's clock (the service's injected one).
"""
from __future__ import annotations

import calendar
import datetime
from collections.abc import Mapping
from typing import Any

# Defined with the other metadata errors, so that the RPC client rebuilds it.
from cloudserver.metadata.errors import ObjectLocked
from cloudserver.metadata.schema import ObjectRecord as Obj

GOVERNANCE = "GOVERNANCE"
COMPLIANCE = "COMPLIANCE"
MODES = (GOVERNANCE, COMPLIANCE)


def parse_date(value: str) -> float:
    """Epoch seconds of an ISO 8601 date (``2030-01-01T00:00:00.000Z``, offsets
    allowed); ValueError when it is not one."""
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.timezone.utc)
    try:
        # a date whose UTC form leaves years 1..9999 (9999-12-31T23:00-14:00)
        # could not be written back by format_date
        parsed = parsed.astimezone(datetime.timezone.utc)
    except OverflowError:
        raise ValueError(f"date out of range: {value!r}") from None
    return parsed.timestamp()


def format_date(epoch: float) -> str:
    """The ISO 8601 form S3 answers (milliseconds, Z)."""
    moment = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def retain_until(md: Mapping[str, Any]) -> float | None:
    """Epoch seconds of the version's retention, None without one."""
    value = md.get(Obj.RETAIN_UNTIL)
    if value is None or md.get(Obj.LOCK_MODE) not in MODES:
        return None
    return float(value) if isinstance(value, (int, float)) else parse_date(value)


def retention_active(md: Mapping[str, Any], now: float) -> bool:
    until = retain_until(md)
    return until is not None and until > now


def protection(md: Mapping[str, Any], now: float,
               bypass_governance: bool = False) -> str | None:
    """Why ``md`` may not be removed now (for logs and errors), None if it may."""
    if md.get(Obj.LEGAL_HOLD):
        return "legal hold"
    if not retention_active(md, now):
        return None
    mode = md[Obj.LOCK_MODE]
    if mode == GOVERNANCE and bypass_governance:
        return None
    return f"{mode} retention until {format_date(retain_until(md))}"


def check_removable(md: Mapping[str, Any], now: float, bypass_governance: bool = False,
                    what: str = "version") -> None:
    """Raise ObjectLocked when object lock protects ``md``."""
    reason = protection(md, now, bypass_governance)
    if reason is not None:
        raise ObjectLocked(f"{what} {md.get(Obj.KEY)!r} {md.get(Obj.VERSION_ID)!r} "
                           f"is protected by {reason}")


def days_left(md: Mapping[str, Any], now: float) -> int | None:
    """Whole days of retention left (s3:object-lock-remaining-retention-days)."""
    until = retain_until(md)
    if until is None:
        return None
    return max(0, int((until - now) // 86400))


def add_period(now: float, days: int = 0, years: int = 0) -> float:
    """``now`` plus a default-retention period (years are calendar years)."""
    moment = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    if years:
        year = moment.year + years
        day = min(moment.day, calendar.monthrange(year, moment.month)[1])
        moment = moment.replace(year=year, day=day)
    return moment.timestamp() + days * 86400
