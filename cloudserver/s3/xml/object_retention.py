# -*- test-case-name: tests.unit.test_object_lock_ops -*-
"""The Retention and LegalHold documents (Put/GetObjectRetention,
Put/GetObjectLegalHold).

AWS's schema: ``Retention`` holds an optional ``Mode`` (GOVERNANCE or
COMPLIANCE, upper case) and an optional ``RetainUntilDate`` (ISO 8601);
both absent asks to remove the retention, one without the other and any
other value is MalformedXML.  ``LegalHold`` holds one ``Status``, ON or OFF.
A date that is well formed but not ISO 8601 is MalformedXML too (what AWS
answers for a date it cannot read).
"""
from __future__ import annotations

from cloudserver.metadata.object_lock import MODES, parse_date
from cloudserver.s3.errors import S3Error
from cloudserver.s3.xml.build import s3_root, serialize, sub
from cloudserver.s3.xml.parse import fields as child_elements
from cloudserver.s3.xml.parse import parse_xml

MAX_BODY = 16 * 1024
LEGAL_HOLD_STATUSES = ("ON", "OFF")


def _fields(root, allowed: tuple[str, ...]) -> dict[str, str]:
    """The texts of ``root``'s children by name, each at most once."""
    return {name: (c.text or "").strip()
            for name, c in child_elements(root, allowed).items()}


def parse_retention(body: bytes) -> tuple[str | None, float | None]:
    """(mode, retain-until epoch seconds) of a PutObjectRetention body;
    (None, None) asks to remove the retention."""
    fields = _fields(parse_xml(body, max_size=MAX_BODY, root="Retention"),
                     ("Mode", "RetainUntilDate"))
    mode, date = fields.get("Mode"), fields.get("RetainUntilDate")
    if (mode is None) != (date is None):
        raise S3Error("MalformedXML")
    if mode is None:
        return None, None
    if mode not in MODES:
        raise S3Error("MalformedXML")
    try:
        return mode, parse_date(date)
    except ValueError:
        raise S3Error("MalformedXML") from None


def retention_xml(mode: str, retain_until: str) -> bytes:
    """GetObjectRetention's answer (``retain_until`` as stored: ISO 8601)."""
    root = s3_root("Retention")
    sub(root, "Mode", mode)
    sub(root, "RetainUntilDate", retain_until)
    return serialize(root)


def parse_legal_hold(body: bytes) -> bool:
    """Whether a PutObjectLegalHold body turns the hold ON."""
    fields = _fields(parse_xml(body, max_size=MAX_BODY, root="LegalHold"), ("Status",))
    status = fields.get("Status")
    if status not in LEGAL_HOLD_STATUSES:
        raise S3Error("MalformedXML")
    return status == "ON"


def legal_hold_xml(on: bool) -> bytes:
    root = s3_root("LegalHold")
    sub(root, "Status", "ON" if on else "OFF")
    return serialize(root)
