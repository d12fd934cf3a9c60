# -*- test-case-name: tests.unit.test_lifecycle_xml -*-
"""The LifecycleConfiguration document (Put/GetBucketLifecycleConfiguration,
and the legacy PutBucketLifecycle / GetBucketLifecycle shape s3cmd sends).

Both APIs share the ``?lifecycle`` sub-resource; the legacy one names a
rule's prefix with a top-level ``Prefix`` instead of a ``Filter``.  A rule
has exactly one of the two; the stored rule remembers which
(``legacyPrefix``) so GET answers in the shape that was put.

The parsed model is the stored value, ``BucketRecord.LIFECYCLE``: a list of
rules in the shape of :mod:`cloudserver.lifecycle.rules`.  Structure errors
are MalformedXML; AWS's value rules are InvalidArgument or InvalidRequest
with AWS's messages.  A Transition's StorageClass is one of AWS's archive
classes or the name of a location of locationConfig.json (the executor
moves the data there), checked by the caller with ``storage_classes``.
"""
from __future__ import annotations

import base64
import datetime
import uuid
from collections.abc import Callable, Collection

from cloudserver.lifecycle.rules import ENABLED
from cloudserver.s3.errors import S3Error
from cloudserver.s3.xml.build import s3_root, serialize, sub, xml_bool
from cloudserver.s3.xml.parse import fields, parse_xml

ROOT = "LifecycleConfiguration"
MAX_BODY = 1 << 20
MAX_RULES = 1000
MAX_ID = 255
MAX_PREFIX = 1024
MAX_NEWER = 100
STATUSES = (ENABLED, "Disabled")
#: AWS's storage classes a Transition may name (besides our locations).
AWS_CLASSES = ("STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER",
               "GLACIER_IR", "DEEP_ARCHIVE")
#: Classes AWS lets objects enter only after 30 days.
MIN_30_DAYS = ("STANDARD_IA", "ONEZONE_IA")
RULE_FIELDS = ("ID", "Filter", "Prefix", "Status", "Expiration", "Transition",
               "NoncurrentVersionExpiration", "NoncurrentVersionTransition",
               "AbortIncompleteMultipartUpload")
REPEATED = ("Transition", "NoncurrentVersionTransition")
ACTIONS = ("Expiration", "Transition", "NoncurrentVersionExpiration",
           "NoncurrentVersionTransition", "AbortIncompleteMultipartUpload")
FILTER_FIELDS = ("Prefix", "Tag", "ObjectSizeGreaterThan", "ObjectSizeLessThan", "And")


def _invalid(message: str) -> S3Error:
    return S3Error("InvalidArgument", message)


def _text(el) -> str:
    return (el.text or "").strip()


def _integer(el) -> int:
    value = _text(el)
    if not value.lstrip("-").isdigit() or not value.isascii() or len(value) > 12:
        raise S3Error("MalformedXML")
    return int(value)


def _positive(el, message: str) -> int:
    value = _integer(el)
    if value <= 0:
        raise _invalid(message)
    return value


def parse_date(value: str) -> int:
    """An ISO 8601 date or date-time -> epoch seconds; AWS requires
    midnight UTC (InvalidArgument), anything unparsable is MalformedXML."""
    try:
        when = datetime.datetime.fromisoformat(value.strip())
    except ValueError:
        raise S3Error("MalformedXML") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    try:
        when = when.astimezone(datetime.timezone.utc)
    except OverflowError:  # its UTC form is outside years 1..9999
        raise S3Error("MalformedXML") from None
    if (when.hour, when.minute, when.second, when.microsecond) != (0, 0, 0, 0):
        raise _invalid("'Date' must be at midnight GMT")
    return int(when.timestamp())


def _tag(el) -> tuple[str, str]:
    f = fields(el, ("Key", "Value"))
    if "Key" not in f or "Value" not in f:
        raise S3Error("MalformedXML")
    key, value = f["Key"].text or "", f["Value"].text or ""
    if not 1 <= len(key) <= 128:
        raise S3Error("InvalidRequest", "A Tag's Key must be a length between 1 and 128")
    if len(value) > 256:
        raise S3Error("InvalidRequest", "A Tag's Value must be a length between 0 and 256")
    return key, value


def _prefix(el) -> str:
    value = el.text or ""
    if len(value) > MAX_PREFIX:
        raise S3Error("InvalidRequest", "The maximum size of a prefix is 1024")
    return value


def _conditions(f: dict, tags: list) -> dict:
    """The stored filter of a Filter's or And's conditions."""
    out: dict = {}
    if "Prefix" in f:
        out["prefix"] = _prefix(f["Prefix"])
    if tags:
        pairs = [_tag(t) for t in tags]
        if len({k for k, _ in pairs}) != len(pairs):
            raise S3Error("InvalidRequest", "Duplicate Tag Keys are not allowed.")
        out["tags"] = dict(pairs)
    if "ObjectSizeGreaterThan" in f:
        out["sizeGreaterThan"] = _integer(f["ObjectSizeGreaterThan"])
        if out["sizeGreaterThan"] < 0:
            raise _invalid("'ObjectSizeGreaterThan' must be a non-negative integer")
    if "ObjectSizeLessThan" in f:
        out["sizeLessThan"] = _positive(f["ObjectSizeLessThan"],
                                        "'ObjectSizeLessThan' must be a positive integer")
    if out.get("sizeLessThan", 1 << 63) <= out.get("sizeGreaterThan", -1):
        raise _invalid("ObjectSizeLessThan must be greater than ObjectSizeGreaterThan")
    return out


def parse_filter(el) -> dict:
    """A Filter: empty (every object), or exactly one of Prefix, Tag,
    ObjectSizeGreaterThan, ObjectSizeLessThan, And; And combines two or more
    conditions (any number of Tags)."""
    f = fields(el, FILTER_FIELDS)
    if len(f) > 1:
        raise S3Error("MalformedXML")
    if "And" not in f:
        return _conditions(f, [f["Tag"]] if "Tag" in f else [])
    a = fields(f["And"], ("Prefix", "Tag", "ObjectSizeGreaterThan", "ObjectSizeLessThan"),
                repeated=("Tag",))
    tags = a.pop("Tag", [])
    if len(a) + len(tags) < 2:
        raise S3Error("MalformedXML")
    return _conditions(a, tags)


def _expiration(el) -> dict:
    f = fields(el, ("Days", "Date", "ExpiredObjectDeleteMarker"))
    if len(f) != 1:
        if "ExpiredObjectDeleteMarker" in f:
            raise _invalid("ExpiredObjectDeleteMarker cannot be specified with Days or "
                           "Date in a Lifecycle Expiration Policy")
        raise S3Error("MalformedXML")
    if "Days" in f:
        return {"days": _positive(f["Days"],
                                  "'Days' for Expiration action must be a positive integer")}
    if "Date" in f:
        return {"date": parse_date(_text(f["Date"]))}
    marker = _text(f["ExpiredObjectDeleteMarker"])
    if marker not in ("true", "false"):
        raise S3Error("MalformedXML")
    return {"expiredObjectDeleteMarker": marker == "true"}


def _newer(f: dict, action: str) -> dict:
    if "NewerNoncurrentVersions" not in f:
        return {}
    newer = _integer(f["NewerNoncurrentVersions"])
    if not 1 <= newer <= MAX_NEWER:
        raise _invalid(f"'NewerNoncurrentVersions' for {action} action must be a positive "
                       f"integer up to {MAX_NEWER}")
    return {"newer": newer}


def _noncurrent_expiration(el) -> dict:
    f = fields(el, ("NoncurrentDays", "NewerNoncurrentVersions"))
    if "NoncurrentDays" not in f:
        raise S3Error("MalformedXML")
    days = _positive(f["NoncurrentDays"], "'NoncurrentDays' for NoncurrentVersionExpiration "
                     "action must be a positive integer")
    return {"days": days, **_newer(f, "NoncurrentVersionExpiration")}


def _storage_class(f: dict, valid: Callable[[str], bool]) -> str:
    if "StorageClass" not in f:
        raise S3Error("MalformedXML")
    value = _text(f["StorageClass"])
    if not valid(value):  # AWS's schema enumerates them
        raise S3Error("MalformedXML")
    return value


def _transition(el, valid, noncurrent: bool) -> dict:
    action = "NoncurrentVersionTransition" if noncurrent else "Transition"
    days_name = "NoncurrentDays" if noncurrent else "Days"
    allowed = (("NoncurrentDays", "NewerNoncurrentVersions", "StorageClass") if noncurrent
               else ("Days", "Date", "StorageClass"))
    f = fields(el, allowed)
    sc = _storage_class(f, valid)
    if noncurrent or "Date" not in f:
        if days_name not in f or "Date" in f:
            raise S3Error("MalformedXML")
        days = _integer(f[days_name])
        if days < 0:
            raise _invalid(f"'{days_name}' in {action} action must be nonnegative")
        if sc in MIN_30_DAYS and days < 30:
            raise _invalid(f"'{days_name}' in {action} action must be greater than or "
                           f"equal to 30 for storageClass '{sc}'")
        out = {"days": days, "storageClass": sc}
        return {**out, **_newer(f, action)} if noncurrent else out
    return {"date": parse_date(_text(f["Date"])), "storageClass": sc}


def _transitions(els, valid, noncurrent: bool) -> list[dict]:
    out = [_transition(el, valid, noncurrent) for el in els]
    classes = [t["storageClass"] for t in out]
    if len(set(classes)) != len(classes):
        kind = "NoncurrentVersionTransition" if noncurrent else "Transition"
        raise S3Error("InvalidRequest", f"'StorageClass' must be different for '{kind}' "
                      "actions in same 'Rule'")
    if not noncurrent and len({"date" in t for t in out}) > 1:
        raise S3Error("InvalidRequest", "Found mixed 'Date' and 'Days' based Transition "
                      "actions in lifecycle rule")
    return out


def _rule_id(f: dict) -> str:
    rule_id = (f["ID"].text or "") if "ID" in f else ""
    if len(rule_id) > MAX_ID:
        raise _invalid("ID length should not exceed allowed limit of 255")
    # AWS names a rule put without an ID itself.
    return rule_id or base64.b64encode(str(uuid.uuid4()).encode()).decode()


def parse_rule(el, valid: Callable[[str], bool]) -> dict:
    """One Rule -> its stored shape."""
    f = fields(el, RULE_FIELDS, repeated=REPEATED)
    if ("Filter" in f) == ("Prefix" in f) or "Status" not in f:
        raise S3Error("MalformedXML")
    status = _text(f["Status"])
    if status not in STATUSES:
        raise S3Error("MalformedXML")
    rule: dict = {"id": _rule_id(f), "status": status}
    if "Prefix" in f:
        rule.update(filter={"prefix": _prefix(f["Prefix"])}, legacyPrefix=True)
    else:
        rule["filter"] = parse_filter(f["Filter"])
    if not any(name in f for name in ACTIONS):
        raise S3Error("InvalidRequest", "At least one action needs to be specified in a rule")
    if "Expiration" in f:
        rule["expiration"] = _expiration(f["Expiration"])
    if "NoncurrentVersionExpiration" in f:
        rule["noncurrentExpiration"] = _noncurrent_expiration(f["NoncurrentVersionExpiration"])
    if "AbortIncompleteMultipartUpload" in f:
        a = fields(f["AbortIncompleteMultipartUpload"], ("DaysAfterInitiation",))
        if "DaysAfterInitiation" not in a:
            raise S3Error("MalformedXML")
        rule["abortIncomplete"] = {"days": _positive(
            a["DaysAfterInitiation"], "'DaysAfterInitiation' for AbortIncompleteMultipartUpload "
            "action must be a positive integer")}
    if "Transition" in f:
        rule["transitions"] = _transitions(f["Transition"], valid, False)
    if "NoncurrentVersionTransition" in f:
        rule["noncurrentTransitions"] = _transitions(f["NoncurrentVersionTransition"],
                                                     valid, True)
    _check_combination(rule)
    return rule


def _check_combination(rule: dict) -> None:
    """AWS's rules across a rule's filter and actions."""
    flt = rule["filter"]
    has_tags_or_size = any(k in flt for k in ("tags", "sizeGreaterThan", "sizeLessThan"))
    if "abortIncomplete" in rule and has_tags_or_size:
        raise S3Error("InvalidRequest", "AbortIncompleteMultipartUpload cannot be specified "
                      "with Tags.")
    exp = rule.get("expiration") or {}
    if exp.get("expiredObjectDeleteMarker") and "tags" in flt:
        raise S3Error("InvalidRequest", "ExpiredObjectDeleteMarker cannot be specified "
                      "with Tags.")
    days = [t["days"] for t in rule.get("transitions", ()) if "days" in t]
    if "days" in exp and days and exp["days"] <= max(days):
        raise _invalid("'Days' in the Expiration action must be greater than 'Days' in "
                       "the Transition action")


def storage_classes(locations: Collection[str]) -> Callable[[str], bool]:
    """The StorageClass check for a server with these location names."""
    return lambda value: value in AWS_CLASSES or value in locations


def parse_lifecycle_configuration(body: bytes, valid: Callable[[str], bool]) -> list[dict]:
    """A PutBucketLifecycle(Configuration) body -> the stored rules."""
    root = parse_xml(body, max_size=MAX_BODY, root=ROOT)
    found = fields(root, ("Rule",), repeated=("Rule",))
    rules = found.get("Rule", [])
    if not rules or len(rules) > MAX_RULES:
        raise S3Error("MalformedXML")
    parsed = [parse_rule(el, valid) for el in rules]
    ids = [r["id"] for r in parsed]
    if len(set(ids)) != len(ids):
        raise _invalid("Rule ID must be unique. Found same ID for more than one rule")
    return parsed


def iso_date(epoch: float) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z")


def _filter_xml(parent, flt: dict) -> None:
    el = sub(parent, "Filter")
    count = len(flt.get("tags", {})) + sum(
        k in flt for k in ("prefix", "sizeGreaterThan", "sizeLessThan"))
    target = sub(el, "And") if count > 1 else el
    if "prefix" in flt:
        sub(target, "Prefix", flt["prefix"])
    for key, value in flt.get("tags", {}).items():
        tag = sub(target, "Tag")
        sub(tag, "Key", key)
        sub(tag, "Value", value)
    if "sizeGreaterThan" in flt:
        sub(target, "ObjectSizeGreaterThan", str(flt["sizeGreaterThan"]))
    if "sizeLessThan" in flt:
        sub(target, "ObjectSizeLessThan", str(flt["sizeLessThan"]))


def _when(parent, name: str, action: dict, days_name: str = "Days") -> None:
    el = sub(parent, name)
    if "date" in action:
        sub(el, "Date", iso_date(action["date"]))
    if "days" in action:
        sub(el, days_name, str(action["days"]))
    if "newer" in action:
        sub(el, "NewerNoncurrentVersions", str(action["newer"]))
    if "storageClass" in action:
        sub(el, "StorageClass", action["storageClass"])
    if "expiredObjectDeleteMarker" in action:
        sub(el, "ExpiredObjectDeleteMarker", xml_bool(action["expiredObjectDeleteMarker"]))


def rule_xml(parent, rule: dict) -> None:
    el = sub(parent, "Rule")
    sub(el, "ID", rule["id"])
    if rule.get("legacyPrefix"):
        sub(el, "Prefix", rule["filter"].get("prefix", ""))
    else:
        _filter_xml(el, rule.get("filter") or {})
    sub(el, "Status", rule["status"])
    for t in rule.get("transitions", ()):
        _when(el, "Transition", t)
    if "expiration" in rule:
        _when(el, "Expiration", rule["expiration"])
    for t in rule.get("noncurrentTransitions", ()):
        _when(el, "NoncurrentVersionTransition", t, "NoncurrentDays")
    if "noncurrentExpiration" in rule:
        _when(el, "NoncurrentVersionExpiration", rule["noncurrentExpiration"],
              "NoncurrentDays")
    if "abortIncomplete" in rule:
        _when(el, "AbortIncompleteMultipartUpload", rule["abortIncomplete"],
              "DaysAfterInitiation")


def lifecycle_configuration_xml(rules: list[dict]) -> bytes:
    """GetBucketLifecycleConfiguration's answer, each rule in the shape put."""
    root = s3_root(ROOT)
    for rule in rules:
        rule_xml(root, rule)
    return serialize(root)
