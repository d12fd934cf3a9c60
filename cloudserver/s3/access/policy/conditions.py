# -*- test-case-name: tests.unit.test_policy_conditions -*-
"""Condition operators, compiled once per policy, as IAM documents them.

A Condition block maps operators to ``{key: value | [values]}``; every
operator and every key in it must hold (AND), and a key holds when the
request's value matches ANY of the listed values (OR).

AWS semantics kept here (IAM "Condition operators"):

* A key the request lacks makes a positive operator false and a negated
  one (``StringNotEquals``, ``NotIpAddress``, ``ArnNotLike``...) true.
* A negated operator with several values holds when the request's value
  matches NONE of them (the negation of the OR).
* ``...IfExists``: an absent key holds; a present one is checked as
  without the suffix.  ``Null`` tests absence alone (``true``: absent).
* ``ForAnyValue:``: some request value satisfies the operator (false when
  the key is absent); ``ForAllValues:``: every request value does (true
  when the key is absent, as IAM warns).
* A request value the operator cannot read (a non-number for Numeric, a
  non-date for Date, a non-address for IpAddress) satisfies neither the
  operator nor its negation.
* Policy variables are substituted in String and Arn values only.
"""
from __future__ import annotations

import base64
import binascii
import datetime
import ipaddress
import operator
import re

from cloudserver.s3.access.policy.model import INVALID_CONDITION, MalformedPolicy
from cloudserver.s3.access.policy.patterns import Template

#: the condition keys S3 knows (lower-cased); the prefixes take any suffix
KNOWN_KEYS = frozenset("""
aws:currenttime aws:epochtime aws:multifactorauthage aws:multifactorauthpresent
aws:principalaccount aws:principalarn aws:principalorgid aws:principalorgpaths
aws:principaltype aws:principalisawsservice aws:principalservicename aws:referer
aws:requestedregion aws:securetransport aws:sourceaccount aws:sourcearn aws:sourceip
aws:sourceowner aws:sourcevpc aws:sourcevpce aws:tagkeys aws:tokenissuetime
aws:useragent aws:userid aws:username aws:viaawsservice aws:vpcsourceip
aws:calledvia aws:calledviafirst aws:calledvialast aws:sourceorgid aws:sourceorgpaths
aws:resourceaccount aws:resourceorgid aws:resourceorgpaths
s3:accesspointnetworkorigin s3:authtype
s3:dataaccesspointaccount s3:dataaccesspointarn s3:delimiter s3:locationconstraint
s3:max-keys s3:object-lock-legal-hold s3:object-lock-mode
s3:object-lock-remaining-retention-days s3:object-lock-retain-until-date s3:prefix
s3:requestobjecttagkeys s3:resourceaccount s3:signatureage s3:signatureversion
s3:tlsversion s3:versionid s3:x-amz-acl s3:x-amz-content-sha256 s3:x-amz-copy-source
s3:x-amz-grant-full-control s3:x-amz-grant-read s3:x-amz-grant-read-acp
s3:x-amz-grant-write s3:x-amz-grant-write-acp s3:x-amz-metadata-directive
s3:x-amz-server-side-encryption s3:x-amz-server-side-encryption-aws-kms-key-id
s3:x-amz-server-side-encryption-customer-algorithm s3:x-amz-storage-class
s3:x-amz-website-redirect-location s3:x-amz-object-ownership
s3:objectcreationoperation s3:if-match s3:if-none-match
""".split())
KEY_PREFIXES = ("aws:principaltag/", "aws:requesttag/", "aws:resourcetag/",
                "s3:existingobjecttag/", "s3:requestobjecttag/")


def known_key(key: str) -> bool:
    return key in KNOWN_KEYS or (key.startswith(KEY_PREFIXES)
                                 and len(key) > key.index("/") + 1)


def _bad() -> MalformedPolicy:
    return MalformedPolicy(INVALID_CONDITION)


# --- value readers: policy values are checked at compile time ---------------

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def _number(text: str) -> float | None:
    """A decimal number; not Python's wider float() (``nan``, ``1_0``)."""
    if not _NUMBER.fullmatch(text):
        return None
    return float(text)


_DATE_FORMATS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M%z",
                 "%Y-%m-%d")


def _date(text: str) -> float | None:
    """Epoch seconds of an ISO 8601 date/time or of an epoch number."""
    number = _number(text)
    if number is not None:
        return number
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+0000"
    for fmt in _DATE_FORMATS:
        try:
            parsed = datetime.datetime.strptime(value, fmt)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=datetime.timezone.utc)
        return parsed.timestamp()
    return None


def _address(text: str):
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


def _network(text: str):
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _binary(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


# --- matchers: (compiled policy values) -> fn(request value, context) -> bool|None

def _strings(values, variables, *, fold=False, like=False, arn=False):
    if arn:
        return _arn_matcher(values, variables)
    templates = [Template(v, variables=variables, ignore_case=fold) for v in values]
    if like:
        return lambda value, context: any(t.like(value, context) for t in templates)
    if fold:
        return _folded(templates)
    static = frozenset(t.text for t in templates if t.text is not None)
    dynamic = [t for t in templates if t.text is None]

    def match_exact(value, context):
        if value in static:
            return True
        return any(t.render(context) == value for t in dynamic)
    return match_exact


def _folded(templates):
    static = frozenset(t.text.casefold() for t in templates if t.text is not None)
    dynamic = [t for t in templates if t.text is None]

    def match(value, context):
        value = value.casefold()
        if value in static:
            return True
        for template in dynamic:
            text = template.render(context)
            if text is not None and text.casefold() == value:
                return True
        return False
    return match


def _arn_matcher(values, variables):
    """ARN operators compare the six colon-separated parts one by one."""
    compiled = []
    for value in values:
        parts = value.split(":", 5)
        if len(parts) != 6:
            raise _bad()
        compiled.append([Template(p, variables=variables) for p in parts])

    def match(value, context):
        parts = value.split(":", 5)
        if len(parts) != 6:
            return None
        return any(all(t.like(p, context) for t, p in zip(arn, parts)) for arn in compiled)
    return match


def _ordered(values, reader, compare):
    numbers = [reader(v) for v in values]
    if any(n is None for n in numbers):
        raise _bad()

    def match(value, context):
        number = reader(value)
        if number is None:
            return None
        return any(compare(number, n) for n in numbers)
    return match


def _bool(values):
    lowered = {v.lower() for v in values}
    if not lowered <= {"true", "false"}:
        raise _bad()
    return lambda value, context: value.lower() in lowered


def _ip(values):
    networks = [_network(v) for v in values]
    if any(n is None for n in networks):
        raise _bad()

    def match(value, context):
        address = _address(value)
        if address is None:
            return None
        return any(address.version == n.version and address in n for n in networks)
    return match


def _binary_equals(values):
    blobs = [_binary(v) for v in values]
    if any(b is None for b in blobs):
        raise _bad()

    def match(value, context):
        blob = _binary(value)
        return None if blob is None else blob in blobs
    return match


_COMPARISONS = {"Equals": operator.eq, "NotEquals": operator.eq,
                "LessThan": operator.lt, "LessThanEquals": operator.le,
                "GreaterThan": operator.gt, "GreaterThanEquals": operator.ge}


def _base(name: str, values: list[str], variables: bool):
    """(matcher, negated) for an operator name without qualifier or IfExists."""
    strings = {"StringEquals": {}, "StringNotEquals": {},
               "StringEqualsIgnoreCase": {"fold": True},
               "StringNotEqualsIgnoreCase": {"fold": True},
               "StringLike": {"like": True}, "StringNotLike": {"like": True},
               "ArnEquals": {"arn": True}, "ArnLike": {"arn": True},
               "ArnNotEquals": {"arn": True}, "ArnNotLike": {"arn": True}}
    negated = "Not" in name
    if name in strings:
        return _strings(values, variables, **strings[name]), negated
    for family, reader in (("Numeric", _number), ("Date", _date)):
        if name.startswith(family) and name[len(family):] in _COMPARISONS:
            return _ordered(values, reader, _COMPARISONS[name[len(family):]]), negated
    if name == "Bool":
        return _bool(values), False
    if name in ("IpAddress", "NotIpAddress"):
        return _ip(values), negated
    if name == "BinaryEquals":
        return _binary_equals(values), False
    raise _bad()


_CANONICAL = {n.lower(): n for n in (
    "StringEquals StringNotEquals StringEqualsIgnoreCase StringNotEqualsIgnoreCase "
    "StringLike StringNotLike ArnEquals ArnLike ArnNotEquals ArnNotLike Bool "
    "IpAddress NotIpAddress BinaryEquals Null").split() + [
    family + cmp for family in ("Numeric", "Date") for cmp in _COMPARISONS]}


class Check:
    """One (operator, key, values) of a Condition block, ready to evaluate."""

    __slots__ = ("operator", "key", "values", "qualifier", "if_exists", "negated",
                 "_match", "_null")

    def __init__(self, op: str, key: str, values: list[str], variables: bool):
        qualifier, _, name = op.rpartition(":")
        qualifier = qualifier.lower()
        if qualifier not in ("", "foranyvalue", "forallvalues"):
            raise _bad()
        if_exists = name.lower().endswith("ifexists")
        if if_exists:
            name = name[:-len("IfExists")]
        name = _CANONICAL.get(name.lower())
        if name is None or (if_exists and name == "Null") or not known_key(key):
            raise _bad()
        self.operator, self.key, self.values = name, key, tuple(values)
        self.qualifier, self.if_exists = qualifier, if_exists
        self._null = None
        if name == "Null":
            lowered = {v.lower() for v in values}
            if not lowered or not lowered <= {"true", "false"}:
                raise _bad()
            self._null = lowered
            self._match, self.negated = None, False
        else:
            self._match, self.negated = _base(name, values, variables)

    def holds(self, context) -> bool:
        present = context.get(self.key)
        if self._null is not None:
            return ("true" if not present else "false") in self._null
        if not present:
            if self.if_exists:
                return True
            if self.qualifier == "forallvalues":
                return True
            if self.qualifier == "foranyvalue":
                return False
            return self.negated
        results = (self._one(value, context) for value in present)
        if self.qualifier == "forallvalues":
            return all(results)
        return any(results)

    def _one(self, value: str, context) -> bool:
        matched = self._match(value, context)
        if matched is None:
            return False
        return not matched if self.negated else matched


def compile_block(block, variables: bool) -> tuple[Check, ...]:
    """Every check of a Condition block; MalformedPolicy for what IAM refuses."""
    if not isinstance(block, dict):
        raise _bad()
    checks = []
    for op, keys in block.items():
        if not isinstance(keys, dict) or not keys:
            raise _bad()
        for key, raw in keys.items():
            checks.append(Check(op, key.lower(), _values(raw), variables))
    return tuple(checks)


def _values(raw) -> list[str]:
    """Condition values as strings: JSON booleans and numbers are allowed."""
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise _bad()
    out = []
    for item in items:
        if isinstance(item, bool):
            out.append("true" if item else "false")
        elif isinstance(item, (int, float, str)):
            out.append(item if isinstance(item, str) else str(item))
        else:
            raise _bad()
    return out

