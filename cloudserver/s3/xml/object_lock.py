# -*- test-case-name: tests.unit.test_object_lock_config -*-
"""The ObjectLockConfiguration document (Put/GetObjectLockConfiguration).

AWS's schema: ``ObjectLockEnabled`` (only ``Enabled`` exists) and an
optional ``Rule`` holding one ``DefaultRetention``: ``Mode`` (GOVERNANCE or
COMPLIANCE, upper case) and exactly one of ``Days`` / ``Years``.  A
document that does not validate (unknown or repeated elements, a bad mode
or status, both periods or neither) is MalformedXML; a period that is not
a positive integer is InvalidRetentionPeriod, as AWS answers (ceph/s3-tests
record it).  The model is the stored default rule,
``BucketRecord.OBJECT_LOCK_RULE``: ``{"mode", "days" | "years"}``, or None
for a configuration without a Rule.
"""
from __future__ import annotations

from cloudserver.metadata.object_lock import MODES
from cloudserver.s3.errors import S3Error
from cloudserver.s3.xml.build import s3_root, serialize, sub
from cloudserver.s3.xml.parse import fields as child_elements
from cloudserver.s3.xml.parse import parse_xml

ROOT = "ObjectLockConfiguration"
MAX_BODY = 16 * 1024
ENABLED = "Enabled"
#: AWS's ceilings on a default period (100 years); larger is InvalidRetentionPeriod.
MAX_DAYS = 36500
MAX_YEARS = 100
_PERIODS = {"Days": ("days", MAX_DAYS), "Years": ("years", MAX_YEARS)}


def _text(el) -> str:
    return (el.text or "").strip()


def _period(value: str, ceiling: int) -> int:
    """A Days or Years value: a positive integer (AWS: InvalidRetentionPeriod)."""
    try:
        number = int(value)
    except ValueError:
        raise S3Error("MalformedXML") from None
    if number <= 0 or number > ceiling:
        raise S3Error("InvalidRetentionPeriod",
                      "Default retention period must be a positive integer value.")
    return number


def _default_retention(rule) -> dict:
    fields = child_elements(rule, ("DefaultRetention",))
    if "DefaultRetention" not in fields:
        raise S3Error("MalformedXML")
    retention = child_elements(fields["DefaultRetention"], ("Mode", "Days", "Years"))
    periods = [name for name in _PERIODS if name in retention]
    if "Mode" not in retention or len(periods) != 1:
        raise S3Error("MalformedXML")
    mode = _text(retention["Mode"])
    if mode not in MODES:
        raise S3Error("MalformedXML")
    name = periods[0]
    field, ceiling = _PERIODS[name]
    return {"mode": mode, field: _period(_text(retention[name]), ceiling)}


def parse_object_lock_configuration(body: bytes) -> dict | None:
    """The default rule a PutObjectLockConfiguration body sets (None: no Rule)."""
    fields = child_elements(parse_xml(body, max_size=MAX_BODY, root=ROOT),
                     ("ObjectLockEnabled", "Rule"))
    if "ObjectLockEnabled" not in fields or _text(fields["ObjectLockEnabled"]) != ENABLED:
        raise S3Error("MalformedXML")
    if "Rule" not in fields:
        return None
    return _default_retention(fields["Rule"])


def object_lock_configuration_xml(rule: dict | None) -> bytes:
    """GetObjectLockConfiguration's answer for a lock-enabled bucket."""
    root = s3_root(ROOT)
    sub(root, "ObjectLockEnabled", ENABLED)
    if rule:
        retention = sub(sub(root, "Rule"), "DefaultRetention")
        sub(retention, "Mode", rule["mode"])
        if rule.get("days"):
            sub(retention, "Days", str(rule["days"]))
        else:
            sub(retention, "Years", str(rule["years"]))
    return serialize(root)
