# -*- test-case-name: tests.unit.test_object_lock_ops -*-
"""Object lock at the S3 front: what a write asks for, and what a change
of retention may do.

The rules of removal (legal hold, unexpired retention, GOVERNANCE bypass)
are ``metadata.object_lock``'s, below the front; this module reads the
request's side: the ``x-amz-object-lock-*`` headers (or a POST form's
fields) of PutObject, CopyObject, CreateMultipartUpload and POST object,
with AWS's validation, and the bucket's default retention
(``BucketRecord.OBJECT_LOCK_RULE``) when a write gives none.  "Now" is the
caller's (the injected clock's), never the wall clock read here.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cloudserver.metadata import object_lock as rules
from cloudserver.metadata.schema import BucketRecord
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.s3.errors import S3Error

MODE_HEADER = "x-amz-object-lock-mode"
DATE_HEADER = "x-amz-object-lock-retain-until-date"
HOLD_HEADER = "x-amz-object-lock-legal-hold"
BYPASS_HEADER = "x-amz-bypass-governance-retention"
LOCK_HEADERS = (MODE_HEADER, DATE_HEADER, HOLD_HEADER)
#: the record fields of an object's lock (also UploadRecord.OBJECT_LOCK's keys)
LOCK_FIELDS = (Obj.LOCK_MODE, Obj.RETAIN_UNTIL, Obj.LEGAL_HOLD)
#: event holds (AWS's newer lock kind) are not implemented: refused, not ignored
EVENT_HOLD_HEADERS = ("x-amz-object-lock-event-hold",
                      "x-amz-object-lock-event-hold-duration-days",
                      "x-amz-object-lock-event-hold-duration-years")
MISSING_CONFIGURATION = "Bucket is missing Object Lock Configuration"
INTEGRITY_REQUIRED = ("Content-MD5 OR x-amz-checksum- HTTP header is required for Put "
                      "Object requests with Object Lock parameters")
PAST_DATE = "The retain until date must be in the future!"


def lock_enabled(bucket: Mapping[str, Any]) -> bool:
    return bool(bucket.get(BucketRecord.OBJECT_LOCK_ENABLED))


def require_lock_enabled(bucket: Mapping[str, Any]) -> None:
    """The object-level lock operations on a bucket without object lock."""
    if not lock_enabled(bucket):
        raise S3Error("InvalidRequest", MISSING_CONFIGURATION)


def wants_bypass(header: Callable[[str], str | None]) -> bool:
    return (header(BYPASS_HEADER) or "").strip().lower() == "true"


def default_retention(bucket: Mapping[str, Any], now: float) -> dict:
    """The record fields the bucket's default retention gives a new
    version written at ``now`` ({} without a default)."""
    rule = bucket.get(BucketRecord.OBJECT_LOCK_RULE) if lock_enabled(bucket) else None
    if not rule or rule.get("mode") not in rules.MODES:
        return {}
    until = rules.add_period(now, days=int(rule.get("days") or 0),
                             years=int(rule.get("years") or 0))
    return {Obj.LOCK_MODE: rule["mode"], Obj.RETAIN_UNTIL: rules.format_date(until)}


def _request_date(value: str) -> float:
    try:
        return rules.parse_date(value)
    except ValueError:
        raise S3Error("InvalidArgument", "The retain until date must be provided in "
                      "ISO 8601 format", ArgumentName=DATE_HEADER,
                      ArgumentValue=value) from None


def requested_lock(header: Callable[[str], str | None], bucket: Mapping[str, Any],
                   now: float, *, with_default: bool = True) -> dict:
    """The lock record fields of a new version from the request's lock
    headers (``header``: the request's, or a POST form's field getter),
    the bucket default filling a missing retention (``with_default=False``:
    CreateMultipartUpload, whose default is applied at completion, when the
    object is created: ``completed_lock``).  AWS's errors, in its
    order: lock headers on a bucket without lock, mode without date (or
    the reverse), an unknown mode or hold status, a date not in the future."""
    for name in EVENT_HOLD_HEADERS:
        if header(name) is not None:
            raise S3Error("NotImplemented", "A header you provided implies functionality "
                          "that is not implemented", Header=name)
    mode, date, hold = (header(name) for name in LOCK_HEADERS)
    if mode is None and date is None and hold is None:
        return default_retention(bucket, now) if with_default else {}
    if not lock_enabled(bucket):
        raise S3Error("InvalidRequest", MISSING_CONFIGURATION)
    if (mode is None) != (date is None):
        raise S3Error("InvalidArgument", f"{DATE_HEADER} and {MODE_HEADER} must both "
                      "be supplied")
    if mode is not None and mode not in rules.MODES:
        raise S3Error("InvalidArgument", "Unknown wormMode directive.",
                      ArgumentName=MODE_HEADER, ArgumentValue=mode)
    if hold is not None and hold not in ("ON", "OFF"):
        raise S3Error("InvalidArgument", "Legal Hold must be either of 'ON' or 'OFF'",
                      ArgumentName=HOLD_HEADER, ArgumentValue=hold)
    fields: dict = {}
    if mode is not None:
        until = _request_date(date)
        if until <= now:
            raise S3Error("InvalidArgument", PAST_DATE)
        fields = {Obj.LOCK_MODE: mode, Obj.RETAIN_UNTIL: rules.format_date(until)}
    elif with_default:
        fields = default_retention(bucket, now)
    if hold is not None:
        fields[Obj.LEGAL_HOLD] = hold == "ON"
    return fields


def completed_lock(kept: Mapping[str, Any] | None, bucket: Mapping[str, Any],
                   now: float) -> dict:
    """The lock of a completed multipart object: what CreateMultipartUpload
    asked for (UploadRecord.OBJECT_LOCK), the bucket default at completion
    standing in for a retention it did not give."""
    fields = dict(kept or {})
    if Obj.LOCK_MODE not in fields:
        fields.update(default_retention(bucket, now))
    return fields


def has_lock_headers(header: Callable[[str], str | None]) -> bool:
    return any(header(name) is not None for name in LOCK_HEADERS)


def require_integrity(headers: Mapping[str, Any], header: Callable[[str], str | None],
                      retained: bool = False) -> None:
    """A PUT that sets a retention or legal hold must carry Content-MD5 or
    an x-amz-checksum (a header, a trailer or the SDK's algorithm), as AWS
    requires: lock headers, or ``retained``, the bucket's default retention
    applying to the new version."""
    if not retained and not has_lock_headers(header):
        return
    if header("content-md5") is not None or header("x-amz-sdk-checksum-algorithm") \
            is not None or header("x-amz-trailer") is not None:
        return
    if any(name.startswith("x-amz-checksum-") and name not in (
            "x-amz-checksum-mode", "x-amz-checksum-type") for name in headers):
        return
    raise S3Error("InvalidRequest", INTEGRITY_REQUIRED)


def set_lock(md: dict, fields: Mapping[str, Any]) -> None:
    """Put the lock ``fields`` in a new version's record (and none other)."""
    for name in LOCK_FIELDS:
        md.pop(name, None)
    md.update(fields)


def lock_of(md: Mapping[str, Any]) -> dict:
    """The lock fields of a record (UploadRecord.OBJECT_LOCK's value)."""
    return {name: md[name] for name in LOCK_FIELDS if name in md}


def response_headers(md: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What GET and HEAD say of a version's lock."""
    out = []
    if md.get(Obj.LOCK_MODE) in rules.MODES and md.get(Obj.RETAIN_UNTIL):
        out.append((MODE_HEADER, md[Obj.LOCK_MODE]))
        out.append((DATE_HEADER, md[Obj.RETAIN_UNTIL]))
    if Obj.LEGAL_HOLD in md:
        out.append((HOLD_HEADER, "ON" if md[Obj.LEGAL_HOLD] else "OFF"))
    return out


def retention_change(md: Mapping[str, Any], mode: str | None, until: float | None,
                     now: float) -> str:
    """What replacing ``md``'s retention by (``mode``, ``until``) needs:
    "ok", "bypass" (GOVERNANCE shortened, removed or changed to COMPLIANCE:
    the bypass header and s3:BypassGovernanceRetention) or "denied" (an
    active COMPLIANCE retention may only be extended, in COMPLIANCE).
    An expired retention is no retention."""
    if not rules.retention_active(md, now):
        return "ok"
    current = rules.retain_until(md)
    extended = mode is not None and until is not None and until >= current
    if md[Obj.LOCK_MODE] == rules.COMPLIANCE:
        return "ok" if extended and mode == rules.COMPLIANCE else "denied"
    return "ok" if extended and mode == rules.GOVERNANCE else "bypass"


def condition_keys(fields: Mapping[str, Any], now: float) -> dict[str, tuple[str, ...]]:
    """The s3:object-lock-* policy condition keys of the lock ``fields`` a
    request sets (a write's headers, a retention or legal hold body)."""
    out: dict[str, tuple[str, ...]] = {}
    if fields.get(Obj.LOCK_MODE) in rules.MODES and fields.get(Obj.RETAIN_UNTIL):
        out["s3:object-lock-mode"] = (fields[Obj.LOCK_MODE],)
        out["s3:object-lock-retain-until-date"] = (fields[Obj.RETAIN_UNTIL],)
        out["s3:object-lock-remaining-retention-days"] = (
            str(rules.days_left(fields, now)),)
    if Obj.LEGAL_HOLD in fields:
        out["s3:object-lock-legal-hold"] = ("ON" if fields[Obj.LEGAL_HOLD] else "OFF",)
    return out
