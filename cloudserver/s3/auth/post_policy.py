# -*- test-case-name: tests.unit.test_post_object -*-
"""POST Object policies: who signed the form, and does the form obey it.

A browser form carries a base64 JSON policy document (an expiration and a
list of conditions on the other form fields) signed with the uploader's
secret key, SigV4 (``x-amz-algorithm``, ``x-amz-credential``,
``x-amz-date``, ``x-amz-signature``) or SigV2 (``AWSAccessKeyId``,
``signature``).  Everything here is pure: form fields come in as a dict
with lowercased names, time as seconds since the epoch.

Errors follow S3: a form missing what it needs is InvalidArgument, a
document that is not a policy InvalidPolicyDocument (400); a bad key or
signature InvalidAccessKeyId / SignatureDoesNotMatch, an expired policy, a
failed condition or a field no condition mentions AccessDenied (403).
"""
from __future__ import annotations

import base64
import binascii
import calendar
import json
import re
import time
from collections.abc import Mapping
from typing import Any

import attrs

from cloudserver.s3.auth import sigv2, sigv4
from cloudserver.s3.errors import S3Error
from cloudserver.s3.model.numbers import signed_decimal

EQ, STARTS_WITH, LENGTH_RANGE = "eq", "starts-with", "content-length-range"
#: Fields that never need a condition (S3's list, plus the signature's own
#: inputs and integrity checks, which cannot widen what the policy allows).
EXEMPT_FIELDS = frozenset(("policy", "signature", "awsaccesskeyid", "x-amz-signature",
                           "file", "bucket", "x-amz-algorithm", "x-amz-credential",
                           "x-amz-date", "x-amz-security-token"))
EXEMPT_PREFIXES = ("x-ignore-", "x-amz-checksum-")
MAX_POLICY = 20 * 1024

_EXPIRATION_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?Z$")
_AMZ_DATE_RE = re.compile(r"^\d{8}T\d{6}Z$")


@attrs.frozen
class Condition:
    op: str
    field: str                   # lowercased, without "$"
    value: str = ""
    low: int = 0                 # content-length-range bounds
    high: int = 0
    text: str = ""               # the condition as written, for error messages


@attrs.frozen
class PostPolicy:
    expiration: float
    conditions: tuple[Condition, ...]

    def length_range(self) -> tuple[int, int] | None:
        ranges = [(c.low, c.high) for c in self.conditions if c.op == LENGTH_RANGE]
        if not ranges:
            return None
        return max(r[0] for r in ranges), min(r[1] for r in ranges)


def _invalid(detail: str) -> S3Error:
    return S3Error("InvalidPolicyDocument", f"Invalid Policy: {detail}")


def _denied(detail: str) -> S3Error:
    return S3Error("AccessDenied", f"Invalid according to Policy: {detail}")


def missing_field(name: str) -> S3Error:
    return S3Error("InvalidArgument", f"Bucket POST must contain a field named '{name}'.  "
                   "If it is specified, please check the order of the fields.",
                   ArgumentName=name, ArgumentValue="")


def parse_expiration(value: Any) -> float:
    m = _EXPIRATION_RE.match(value) if isinstance(value, str) else None
    if m is None:
        raise _invalid(f"Invalid 'expiration' value: '{value}'")
    fields = [int(g) for g in m.groups()[:6]]
    try:
        ts = calendar.timegm(time.struct_time(fields + [0, 0, 0]))
        time.gmtime(ts)
    except (OverflowError, ValueError):
        raise _invalid(f"Invalid 'expiration' value: '{value}'") from None
    if not (1 <= fields[1] <= 12 and 1 <= fields[2] <= 31 and fields[3] <= 23
            and fields[4] <= 59 and fields[5] <= 60):
        raise _invalid(f"Invalid 'expiration' value: '{value}'")
    return float(ts) + (float(m.group(7)) if m.group(7) else 0.0)


def _bound(value: Any, text: str) -> int:
    if isinstance(value, bool):
        raise _invalid(f"Invalid content-length-range: {text}")
    if isinstance(value, str):
        value = signed_decimal(value.strip())  # None past 19 digits: refused
    if not isinstance(value, int) or value < 0:
        raise _invalid(f"Invalid content-length-range: {text}")
    return value


def _condition(item: Any) -> Condition:
    text = json.dumps(item)
    if isinstance(item, dict):
        if len(item) != 1:
            raise _invalid("Invalid Simple-Condition: Simple-Conditions must have exactly "
                           "one property specified.")
        (name, value), = item.items()
        if not isinstance(value, str):
            raise _invalid(f"Invalid Simple-Condition: value must be a string: {text}")
        return Condition(EQ, name.lower().lstrip("$"), value, text=text)
    if not isinstance(item, list) or not item or not isinstance(item[0], str):
        raise _invalid(f"Invalid Condition: {text}")
    op = item[0].lower()
    if op == LENGTH_RANGE:
        if len(item) != 3:
            raise _invalid(f"Invalid content-length-range: {text}")
        low, high = _bound(item[1], text), _bound(item[2], text)
        return Condition(LENGTH_RANGE, "content-length", low=low, high=high, text=text)
    if op not in (EQ, STARTS_WITH):
        raise _invalid(f"Invalid Condition: unknown operation {item[0]!r}")
    if len(item) != 3 or not isinstance(item[1], str) or not isinstance(item[2], str) \
            or not item[1].startswith("$"):
        raise _invalid(f"Invalid {item[0]} condition: {text}")
    return Condition(op, item[1][1:].lower(), item[2], text=text)


def parse_policy(encoded: str) -> PostPolicy:
    """The policy document of the ``policy`` field (base64 JSON)."""
    if len(encoded) > MAX_POLICY * 4 // 3 + 4:
        raise _invalid("Policy document too large.")
    try:
        raw = base64.b64decode(encoded.strip(), validate=False)
        doc = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise _invalid("Invalid JSON.") from None
    if not isinstance(doc, dict):
        raise _invalid("Invalid JSON.")
    if "expiration" not in doc:
        raise _invalid("Policy missing expiration.")
    expiration = parse_expiration(doc["expiration"])
    conditions = doc.get("conditions")
    if "conditions" not in doc:
        raise _invalid("Policy missing conditions.")
    if not isinstance(conditions, list):
        raise _invalid("Invalid 'conditions' value: must be a list.")
    return PostPolicy(expiration, tuple(_condition(c) for c in conditions))


def check_policy(policy: PostPolicy, fields: Mapping[str, str], now: float) -> None:
    """AccessDenied unless the policy is live, every condition holds for
    ``fields`` (lowercased names, the bucket and final key included) and
    every field is mentioned by a condition."""
    if now > policy.expiration:
        raise _denied("Policy expired.")
    named = set()
    for cond in policy.conditions:
        if cond.op == LENGTH_RANGE:
            continue  # checked against the file as it arrives
        named.add(cond.field)
        value = fields.get(cond.field, "")
        ok = value == cond.value if cond.op == EQ else value.startswith(cond.value)
        if not ok:
            raise _denied(f"Policy Condition failed: {cond.text}")
    extra = [name for name in fields if name not in named and name not in EXEMPT_FIELDS
             and not name.startswith(EXEMPT_PREFIXES)]
    if extra:
        raise _denied(f"Extra input fields: {', '.join(sorted(extra))}")


# -- signatures -------------------------------------------------------------------

def signed_by(fields: Mapping[str, str], accounts: Any):
    """(account, signature version) of a signed form; (None, None) for an
    anonymous one (no policy and no credentials)."""
    if "x-amz-algorithm" in fields or "x-amz-credential" in fields:
        return _v4(fields, accounts), 4
    if "awsaccesskeyid" in fields or "signature" in fields:
        return _v2(fields, accounts), 2
    if "policy" in fields:
        raise missing_field("AWSAccessKeyId")
    return None, None


def _lookup(accounts: Any, access_key: str):
    account = accounts.by_access_key(access_key)
    if account is None:
        raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=access_key)
    return account


def _v2(fields: Mapping[str, str], accounts: Any):
    for name, shown in (("awsaccesskeyid", "AWSAccessKeyId"), ("signature", "Signature"),
                        ("policy", "Policy")):
        if not fields.get(name):
            raise missing_field(shown)
    account = _lookup(accounts, fields["awsaccesskeyid"])
    expected = sigv2.sign(account.secret_key, fields["policy"].encode("utf-8"))
    if not sigv4.same_signature(expected, fields["signature"]):
        raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=account.access_key)
    return account


def _v4(fields: Mapping[str, str], accounts: Any):
    for name in ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature",
                 "policy"):
        if not fields.get(name):
            raise missing_field(name if name != "policy" else "Policy")
    if fields["x-amz-algorithm"] != sigv4.ALGORITHM:
        raise S3Error("InvalidArgument", "Unsupported algorithm",
                      ArgumentName="x-amz-algorithm", ArgumentValue=fields["x-amz-algorithm"])
    credential = fields["x-amz-credential"]
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request" or parts[3] != "s3" \
            or not re.match(r"^\d{8}$", parts[1]):
        raise S3Error("InvalidArgument", "Invalid credential",
                      ArgumentName="x-amz-credential", ArgumentValue=credential)
    if not _AMZ_DATE_RE.match(fields["x-amz-date"]):
        raise S3Error("InvalidArgument", "Invalid x-amz-date",
                      ArgumentName="x-amz-date", ArgumentValue=fields["x-amz-date"])
    account = _lookup(accounts, parts[0])
    key = sigv4.signing_key(account.secret_key, parts[1], parts[2], parts[3])
    expected = sigv4.sign(key, fields["policy"].encode("utf-8"))
    if not sigv4.same_signature(expected, fields["x-amz-signature"].lower()):
        raise S3Error("SignatureDoesNotMatch", AWSAccessKeyId=account.access_key)
    return account
