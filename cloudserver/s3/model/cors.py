# -*- test-case-name: tests.unit.test_cors -*-
"""The bucket CORS configuration as a value: parse, validate, store, match.

A ``CORSConfiguration`` document becomes a tuple of :class:`CorsRule`; the
bucket attributes keep them as plain dicts under ``"cors"``.  Matching a
request (an origin, a method, the headers a preflight announces) against
the rules, and the headers a matching rule puts on a response, are pure
functions here, so the preflight handler and the one hook in resource.py
that decorates every other response share one definition of "allowed".
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from cloudserver.metadata.schema import BucketRecord
from cloudserver.s3.errors import S3Error
from cloudserver.s3.xml.build import s3_root, serialize, sub
from cloudserver.s3.xml.parse import children, fields, parse_xml, text

#: Bucket attribute holding the rules.
ATTR = BucketRecord.CORS
#: AWS's limits: 100 rules, a 64 KB document, IDs of up to 255 characters.
MAX_RULES = 100
MAX_BODY = 64 * 1024
MAX_ID = 255
METHODS = ("GET", "PUT", "HEAD", "POST", "DELETE")


@attrs.frozen
class CorsRule:
    allowed_methods: tuple[str, ...]
    allowed_origins: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    id: str | None = None

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"methods": list(self.allowed_methods),
                                  "origins": list(self.allowed_origins)}
        if self.allowed_headers:
            record["headers"] = list(self.allowed_headers)
        if self.expose_headers:
            record["expose"] = list(self.expose_headers)
        if self.max_age is not None:
            record["maxAge"] = self.max_age
        if self.id is not None:
            record["id"] = self.id
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> CorsRule:
        return cls(tuple(record["methods"]), tuple(record["origins"]),
                   tuple(record.get("headers", ())), tuple(record.get("expose", ())),
                   record.get("maxAge"), record.get("id"))


# -- the document ---------------------------------------------------------------

def _one_wildcard(kind: str, values: Iterable[str]) -> None:
    for value in values:
        if value.count("*") > 1:
            raise S3Error("InvalidRequest",
                          f'{kind} "{value}" can not have more than one wildcard.')


#: RFC 9110 ``token`` characters: what a header name may be made of.
_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789"
                         "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def check_expose_headers(values: Iterable[str]) -> None:
    """ExposeHeader values are response header names, sent back verbatim in
    Access-Control-Expose-Headers, so each must be a header token.

    A wildcard is InvalidRequest with AWS's message (S3 does not support
    one there, although ``*`` is a token character); any other character
    outside a token (a space, a comma, a colon, non-ASCII) is InvalidRequest
    too, named as AWS words its other rule errors.
    """
    for value in values:
        if "*" in value:
            raise S3Error("InvalidRequest", f'ExposeHeader "{value}" contains wildcard. '
                          "We currently do not support wildcard for ExposeHeader.")
        if not set(value) <= _TOKEN_CHARS:
            raise S3Error("InvalidRequest",
                          f'ExposeHeader "{value}" contains invalid character.')


#: the children of a CORSRule (AWS's schema); anything else is MalformedXML
RULE_FIELDS = ("ID", "AllowedMethod", "AllowedOrigin", "AllowedHeader", "ExposeHeader",
               "MaxAgeSeconds")
_RULE_REPEATED = ("AllowedMethod", "AllowedOrigin", "AllowedHeader", "ExposeHeader")


def _rule(el) -> CorsRule:
    fields(el, RULE_FIELDS, repeated=_RULE_REPEATED)
    methods = tuple((c.text or "").strip() for c in children(el, "AllowedMethod"))
    origins = tuple((c.text or "").strip() for c in children(el, "AllowedOrigin"))
    headers = tuple((c.text or "").strip() for c in children(el, "AllowedHeader"))
    expose = tuple((c.text or "").strip() for c in children(el, "ExposeHeader"))
    if not methods or not origins:
        raise S3Error("MalformedXML")
    for method in methods:
        if method not in METHODS:
            raise S3Error("InvalidRequest", "Found unsupported HTTP method in CORS config. "
                          f"Unsupported method is {method}")
    _one_wildcard("AllowedOrigin", origins)
    _one_wildcard("AllowedHeader", headers)
    check_expose_headers(expose)
    max_age = text(el, "MaxAgeSeconds")
    age = None
    if max_age is not None:
        max_age = max_age.strip()
        if not (max_age.isascii() and max_age.isdigit()) or len(max_age) > 10:
            raise S3Error("MalformedXML")
        age = int(max_age)
    rule_id = text(el, "ID")
    if rule_id is not None and len(rule_id) > MAX_ID:
        raise S3Error("InvalidArgument", "ID length should not exceed allowed limit of 255",
                      ArgumentName="ID", ArgumentValue=rule_id[:MAX_ID + 1])
    return CorsRule(methods, origins, headers, expose, age, rule_id)


def parse_cors_configuration(body: bytes) -> tuple[CorsRule, ...]:
    """The rules of a ``CORSConfiguration`` document, validated as AWS does.

    Shape errors (no rule, a rule without AllowedMethod or AllowedOrigin, a
    non-integer MaxAgeSeconds) are MalformedXML; more than 100 rules, a
    method other than GET/PUT/HEAD/POST/DELETE, an origin / header with two
    wildcards or an ExposeHeader that is not a header name is InvalidRequest.
    """
    root = parse_xml(body, max_size=MAX_BODY, root="CORSConfiguration")
    elements = fields(root, ("CORSRule",), repeated=("CORSRule",)).get("CORSRule", [])
    if not elements:
        raise S3Error("MalformedXML")
    if len(elements) > MAX_RULES:
        raise S3Error("InvalidRequest", "The number of CORS rules should not exceed allowed "
                      f"limit of {MAX_RULES} rules.")
    return tuple(_rule(el) for el in elements)


def cors_xml(rules: Sequence[CorsRule]) -> bytes:
    """``CORSConfiguration`` as GetBucketCors returns it."""
    root = s3_root("CORSConfiguration")
    for rule in rules:
        el = sub(root, "CORSRule")
        if rule.id is not None:
            sub(el, "ID", rule.id)
        for name, values in (("AllowedHeader", rule.allowed_headers),
                             ("AllowedMethod", rule.allowed_methods),
                             ("AllowedOrigin", rule.allowed_origins),
                             ("ExposeHeader", rule.expose_headers)):
            for value in values:
                sub(el, name, value)
        if rule.max_age is not None:
            sub(el, "MaxAgeSeconds", str(rule.max_age))
    return serialize(root)


def rules_of(bucket_attrs: Mapping[str, Any]) -> tuple[CorsRule, ...]:
    """The bucket's rules; empty when it has no CORS configuration."""
    return rules_from_record(bucket_attrs.get(ATTR))


def rules_from_record(stored: list[dict[str, Any]] | None) -> tuple[CorsRule, ...]:
    return tuple(CorsRule.from_record(r) for r in stored or ())


def to_record(rules: Sequence[CorsRule]) -> list[dict[str, Any]]:
    return [r.to_record() for r in rules]


# -- matching -------------------------------------------------------------------

def wildcard_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """``pattern`` with at most one ``*`` (any run of characters) matches ``value``."""
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    head, star, tail = pattern.partition("*")
    if not star:
        return pattern == value
    return (len(value) >= len(head) + len(tail) and value.startswith(head)
            and value.endswith(tail))


def split_header_list(value: str | None) -> list[str]:
    """``Access-Control-Request-Headers``: comma-separated names, lowercased."""
    if not value:
        return []
    return [v.strip().lower() for v in value.split(",") if v.strip()]


def find_rule(rules: Iterable[CorsRule], origin: str, method: str,
              request_headers: Sequence[str] = ()) -> CorsRule | None:
    """The first rule allowing ``origin`` to use ``method`` with those headers.

    Origins and methods compare case-sensitively, header names do not (as
    S3 evaluates them); every requested header must match an AllowedHeader.
    """
    for rule in rules:
        if method not in rule.allowed_methods:
            continue
        if not any(wildcard_match(p, origin) for p in rule.allowed_origins):
            continue
        if all(any(wildcard_match(p, h, ignore_case=True) for p in rule.allowed_headers)
               for h in request_headers):
            return rule
    return None


def response_headers(rule: CorsRule, origin: str,
                     request_headers: Sequence[str] = ()) -> list[tuple[str, str]]:
    """The Access-Control-* headers a matching rule answers with.

    A rule open to every origin answers ``*`` (credentials cannot go with
    it); otherwise the origin is echoed with credentials allowed.  Preflights
    also get the requested headers back in Access-Control-Allow-Headers.
    """
    out = []
    if "*" in rule.allowed_origins:
        out.append(("Access-Control-Allow-Origin", "*"))
    else:
        out.append(("Access-Control-Allow-Origin", origin))
        out.append(("Access-Control-Allow-Credentials", "true"))
    out.append(("Access-Control-Allow-Methods", ", ".join(rule.allowed_methods)))
    if request_headers:
        out.append(("Access-Control-Allow-Headers", ", ".join(request_headers)))
    if rule.expose_headers:
        out.append(("Access-Control-Expose-Headers", ", ".join(rule.expose_headers)))
    if rule.max_age is not None:
        out.append(("Access-Control-Max-Age", str(rule.max_age)))
    out.append(("Vary", "Origin, Access-Control-Request-Headers, "
                        "Access-Control-Request-Method"))
    return out
