# -*- test-case-name: tests.unit.test_replication_xml -*-
"""The ReplicationConfiguration document (Put/GetBucketReplication).

Both of AWS's schemas are read: a rule with a top-level ``Prefix`` (V1,
what CloudServer 7 knows; its delete markers are replicated, prefixes may
not overlap) or with a ``Filter`` (V2: Prefix, Tag or And, a Priority, and
an explicit DeleteMarkerReplication).  The parsed model is the stored
value (cloudserver.replication.rules).  Structure errors are MalformedXML;
value errors InvalidArgument / InvalidRequest with CloudServer's and AWS's
messages.  Elements we do not act on (SourceSelectionCriteria,
ExistingObjectReplication, ReplicationTime, Metrics, EncryptionConfiguration,
AccessControlTranslation, Account) are NotImplemented, never ignored.

``Role`` is an IAM role ARN, or CloudServer's comma-separated pair (source
and destination roles); ``StorageClass`` names a location of
locationConfig.json, or is STANDARD (the destination bucket on this server).
"""
from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping

from cloudserver.replication.rules import FORMAT
from cloudserver.s3.errors import S3Error
from cloudserver.s3.routing import valid_bucket_name
from cloudserver.s3.xml.build import s3_root, serialize, sub
from cloudserver.s3.xml.lifecycle import parse_filter
from cloudserver.s3.xml.parse import fields, parse_xml

ROOT = "ReplicationConfiguration"
MAX_BODY = 1 << 20
MAX_RULES = 1000
MAX_ID = 255
MAX_PREFIX = 1024
STATUSES = ("Enabled", "Disabled")
#: AWS's classes that keep the replica on this server (besides local locations).
LOCAL_CLASSES = ("STANDARD",)
RULE_FIELDS = ("ID", "Priority", "Prefix", "Filter", "Status", "Destination",
               "DeleteMarkerReplication", "SourceSelectionCriteria",
               "ExistingObjectReplication")
UNSUPPORTED_RULE = ("SourceSelectionCriteria", "ExistingObjectReplication")
DESTINATION_FIELDS = ("Bucket", "StorageClass", "Account", "AccessControlTranslation",
                      "EncryptionConfiguration", "ReplicationTime", "Metrics")
UNSUPPORTED_DESTINATION = DESTINATION_FIELDS[2:]


def _invalid(message: str) -> S3Error:
    return S3Error("InvalidArgument", message)


def _text(el) -> str:
    return (el.text or "").strip()


def valid_role_arn(arn: str) -> bool:
    """arn:aws:iam::<account>:role/<name> (Arsenal's test: account '*' or
    longer than one character, the resource starting with 'role')."""
    parts = arn.split(":")
    return (len(parts) == 6 and parts[:4] == ["arn", "aws", "iam", ""] and
            (parts[4] == "*" or len(parts[4]) > 1) and parts[5].startswith("role"))


def _role(el) -> str:
    role = _text(el)
    roles = role.split(",")
    if len(roles) > 2:
        raise _invalid("Invalid Role specified in replication configuration: Role must be "
                       "one IAM role or a comma-separated list of two IAM roles")
    for one in roles:
        if not valid_role_arn(one):
            raise _invalid(f"Invalid Role specified in replication configuration: '{one}'")
    return role


def _bucket(el) -> str:
    arn = _text(el)
    if not arn:
        raise _invalid("Destination bucket cannot be null or empty")
    parts = arn.split(":")
    if len(parts) != 6 or parts[:5] != ["arn", "aws", "s3", "", ""]:
        raise _invalid("Invalid bucket ARN")
    if not valid_bucket_name(parts[5]):
        raise _invalid("The specified bucket is not valid")
    return parts[5]


def _storage_class(el, locations: Mapping[str, str]) -> str | None:
    value = _text(el)
    if "," in value:
        raise S3Error("NotImplemented", "Replication to several locations in one rule "
                      "is not implemented")
    if value in LOCAL_CLASSES:
        return None
    if value not in locations:  # as Arsenal: an unknown class is MalformedXML
        raise S3Error("MalformedXML")
    return value


def _destination(el, locations: Mapping[str, str]) -> dict:
    f = fields(el, DESTINATION_FIELDS)
    for name in UNSUPPORTED_DESTINATION:
        if name in f:
            raise S3Error("NotImplemented", f"Destination {name} is not implemented")
    if "Bucket" not in f:
        raise S3Error("MalformedXML")
    out = {"bucket": _bucket(f["Bucket"])}
    if "StorageClass" in f:
        sc = _storage_class(f["StorageClass"], locations)
        if sc is not None:
            out["storageClass"] = sc
    return out


def _status(el) -> bool:
    value = _text(el)
    if value not in STATUSES:
        raise S3Error("MalformedXML")
    return value == "Enabled"


def _priority(el) -> int:
    value = _text(el)
    if not value.isdigit() or not value.isascii() or len(value) > 10:
        raise S3Error("MalformedXML")
    return int(value)


def _delete_markers(el) -> bool:
    f = fields(el, ("Status",))
    if "Status" not in f:
        raise S3Error("MalformedXML")
    return _status(f["Status"])


def _rule_filter(f: dict, rule: dict) -> None:
    """The rule's prefix / tags from a V1 Prefix or a V2 Filter."""
    if ("Prefix" in f) == ("Filter" in f):
        raise S3Error("MalformedXML")
    if "Prefix" in f:
        rule["prefix"] = f["Prefix"].text or ""
        rule["filter"] = False
    else:
        parsed = parse_filter(f["Filter"])
        if "sizeGreaterThan" in parsed or "sizeLessThan" in parsed:
            raise S3Error("MalformedXML")
        rule["prefix"] = parsed.get("prefix", "")
        if parsed.get("tags"):
            rule["tags"] = parsed["tags"]
        rule["filter"] = True
    if len(rule["prefix"]) > MAX_PREFIX:
        raise _invalid("Rule prefix cannot be longer than maximum allowed key length of 1024")


def _rule(el, locations: Mapping[str, str]) -> dict:
    f = fields(el, RULE_FIELDS)
    for name in UNSUPPORTED_RULE:
        if name in f:
            raise S3Error("NotImplemented", f"{name} is not implemented")
    if "Status" not in f or "Destination" not in f:
        raise S3Error("MalformedXML")
    rule: dict = {"enabled": _status(f["Status"])}
    _rule_filter(f, rule)
    rule_id = _text(f["ID"]) if "ID" in f else ""
    if len(rule_id) > MAX_ID:
        raise _invalid("Rule Id cannot be greater than 255")
    rule["id"] = rule_id or base64.b64encode(str(uuid.uuid4()).encode()).decode()
    if "Priority" in f:
        rule["priority"] = _priority(f["Priority"])
    if rule["filter"]:
        if "DeleteMarkerReplication" not in f:
            raise S3Error("InvalidRequest", "DeleteMarkerReplication must be specified for "
                          "this version of Cross Region Replication configuration schema.")
    if "DeleteMarkerReplication" in f:
        rule["deleteMarkers"] = _delete_markers(f["DeleteMarkerReplication"])
        if rule["deleteMarkers"] and rule.get("tags"):
            raise _invalid("Delete marker replication is not supported if any Tag filter "
                           "is specified.")
    else:
        rule["deleteMarkers"] = True  # V1: delete markers are replicated
    rule.update(_destination(f["Destination"], locations))
    return rule


def _check_rules(rules: list[dict]) -> None:
    ids: set[str] = set()
    for rule in rules:
        if rule["id"] in ids:
            raise S3Error("InvalidRequest", "Rule Id must be unique")
        ids.add(rule["id"])
    v1 = [r for r in rules if not r["filter"]]
    if v1 and len(v1) != len(rules):
        raise S3Error("MalformedXML")  # one schema per document, as AWS
    for i, rule in enumerate(v1):
        for used in v1[:i]:
            if rule["prefix"].startswith(used["prefix"]) or \
                    used["prefix"].startswith(rule["prefix"]):
                raise S3Error("InvalidRequest", f"Found overlapping prefixes "
                              f"'{used['prefix']}' and '{rule['prefix']}'")
    if len(rules) > 1 and not v1:
        if any("priority" not in r for r in rules):
            raise S3Error("InvalidRequest", "Priority must be specified for this version of "
                          "Cross Region Replication configuration schema.")
        if len({r["priority"] for r in rules}) != len(rules):
            raise S3Error("InvalidRequest", "Found duplicate priority")


def parse_replication(body: bytes, locations: Mapping[str, str]) -> dict:
    """``<ReplicationConfiguration>`` -> the stored configuration.
    ``locations``: location name -> type (locationConfig.json)."""
    root = parse_xml(body, max_size=MAX_BODY, root=ROOT)
    f = fields(root, ("Role", "Rule"), repeated=("Rule",))
    if "Role" not in f or not f.get("Rule"):
        raise S3Error("MalformedXML")
    if len(f["Rule"]) > MAX_RULES:
        raise S3Error("InvalidRequest", "Number of defined replication rules cannot "
                      "exceed 1000")
    role = _role(f["Role"])
    rules = [_rule(el, locations) for el in f["Rule"]]
    _check_rules(rules)
    return {"v": FORMAT, "role": role, "rules": rules}


def _filter_xml(parent, rule: dict) -> None:
    flt = sub(parent, "Filter")
    tags = sorted((rule.get("tags") or {}).items())
    conditions = len(tags) + (1 if rule.get("prefix") else 0)
    where = sub(flt, "And") if conditions > 1 else flt
    if rule.get("prefix"):
        sub(where, "Prefix", rule["prefix"])
    for key, value in tags:
        tag = sub(where, "Tag")
        sub(tag, "Key", key)
        sub(tag, "Value", value)


def replication_xml(config: dict) -> bytes:
    """GetBucketReplication's answer, each rule in the schema it was put in."""
    root = s3_root(ROOT)
    sub(root, "Role", config["role"])
    for rule in config["rules"]:
        el = sub(root, "Rule")
        sub(el, "ID", rule["id"])
        if "priority" in rule:
            sub(el, "Priority", str(rule["priority"]))
        if rule.get("filter"):
            _filter_xml(el, rule)
        else:
            sub(el, "Prefix", rule.get("prefix", ""))
        sub(el, "Status", "Enabled" if rule["enabled"] else "Disabled")
        if rule.get("filter"):
            dmr = sub(el, "DeleteMarkerReplication")
            sub(dmr, "Status", "Enabled" if rule.get("deleteMarkers") else "Disabled")
        dest = sub(el, "Destination")
        sub(dest, "Bucket", f"arn:aws:s3:::{rule['bucket']}")
        sub(dest, "StorageClass", rule.get("storageClass") or "STANDARD")
    return serialize(root)
