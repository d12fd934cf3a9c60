# -*- test-case-name: tests.unit.test_routing -*-
"""THE routing table: (method, host, raw path, query, headers) -> Operation.

Every S3 operation is one row of ``ROUTES``; rows are tried in order, so a
more specific condition (a sub-resource in the query, a header) comes
before the default of its method and level.  A row's condition is data
(:class:`When`), not code: the table is compiled once into an index by
(method, level) that skips every query condition at once when the request
names none of those sub-resources (a plain GET, PUT or DELETE of an
object), so routing costs a dict lookup and a set test, not a walk over
the rows.  The raw request-target is parsed here once: twisted.web splits
the path before unquoting, which would lose a ``%2F`` inside a key.
"""
from __future__ import annotations

import re
from typing import Collection, Mapping
from urllib.parse import unquote, unquote_to_bytes

import attrs

from cloudserver.s3.access.declare import (
    OPEN_ACCESS, Access, account, on_bucket, on_object, owner)
from cloudserver.s3.access.acl import READ, READ_ACP, WRITE, WRITE_ACP
from cloudserver.s3.errors import S3Error
from cloudserver.s3.model.website import website_bucket

SERVICE, BUCKET, OBJECT = "service", "bucket", "object"
MAX_KEY_BYTES = 1024
#: A website endpoint's operations: GET and HEAD of a page, anything else
#: 405 (as AWS's website endpoints); each reads an object anonymously.
WEBSITE_OPERATIONS = {"GET": "WebsiteGet", "HEAD": "WebsiteHead"}
WEBSITE_REFUSED = "WebsiteMethodNotAllowed"
WEBSITE_ACCESS = on_object(READ, "s3:GetObject")
#: every operation name a website host routes to
WEBSITE_ROUTES = (*WEBSITE_OPERATIONS.values(), WEBSITE_REFUSED)


@attrs.frozen
class Operation:
    """What a request asks for, decided from its headers alone."""

    name: str
    bucket: str | None
    key: str | None
    query: Mapping[str, str]
    #: what the operation needs to be allowed (declared on its route row)
    access: Access = OPEN_ACCESS
    #: True when the bucket came from the Host header (virtual-hosted style).
    virtual_host: bool = False
    #: True on a ``websiteEndpoints`` host: served as a website (anonymous,
    #: HTML errors; ops/website_serve.py).
    website: bool = False


@attrs.frozen
class When:
    """A row's condition: query parameters present, headers present, and
    query parameters with a given value; all must hold (empty: always)."""

    query: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    values: tuple[tuple[str, str], ...] = ()

    def holds(self, query: Mapping[str, str], headers: Mapping[str, list[str]]) -> bool:
        return (all(n in query for n in self.query)
                and all(n in headers for n in self.headers)
                and all(query.get(n) == v for n, v in self.values))

    def __and__(self, other: "When") -> "When":
        return When(self.query + other.query, self.headers + other.headers,
                    self.values + other.values)


def q(*names: str) -> When:
    """Condition: every named query parameter is present."""
    return When(query=names)


def h(name: str) -> When:
    """Condition: the header is present."""
    return When(headers=(name,))


def qv(name: str, value: str) -> When:
    """Condition: the query parameter has this value."""
    return When(values=((name, value),))


always = When()


# (method, level, condition, operation, access).  Unknown sub-resources fall
# through to the level default only where AWS does the same (it ignores
# unknown params).  ``access`` (cloudserver.s3.access.declare) is the IAM
# action and the ACL permission on the bucket or object the operation needs;
# ``owner`` is the bucket owner alone.
ROUTES: tuple[tuple[str, str, When, str, Access], ...] = (
    # this server's own: the usage of the caller's buckets (ops/usage.py)
    ("GET", SERVICE, q("usage"), "GetUsage", account("s3:ListAllMyBuckets")),
    ("GET", SERVICE, always, "ListBuckets", account("s3:ListAllMyBuckets")),
    ("HEAD", SERVICE, always, "ListBuckets", account("s3:ListAllMyBuckets")),

    ("GET", BUCKET, q("acl"), "GetBucketAcl", on_bucket(READ_ACP, "s3:GetBucketAcl")),
    ("GET", BUCKET, q("cors"), "GetBucketCors", owner("s3:GetBucketCORS")),
    ("GET", BUCKET, q("lifecycle"), "GetBucketLifecycleConfiguration",
     owner("s3:GetLifecycleConfiguration")),
    ("GET", BUCKET, q("location"), "GetBucketLocation", owner("s3:GetBucketLocation")),
    ("GET", BUCKET, q("logging"), "GetBucketLogging", owner("s3:GetBucketLogging")),
    ("GET", BUCKET, q("notification"), "GetBucketNotificationConfiguration",
     owner("s3:GetBucketNotification")),
    ("GET", BUCKET, q("policyStatus"), "GetBucketPolicyStatus", owner("s3:GetBucketPolicyStatus")),
    ("GET", BUCKET, q("policy"), "GetBucketPolicy", owner("s3:GetBucketPolicy")),
    ("GET", BUCKET, q("replication"), "GetBucketReplication",
     owner("s3:GetReplicationConfiguration")),
    ("GET", BUCKET, q("tagging"), "GetBucketTagging", owner("s3:GetBucketTagging")),
    ("GET", BUCKET, q("versioning"), "GetBucketVersioning", owner("s3:GetBucketVersioning")),
    ("GET", BUCKET, q("website"), "GetBucketWebsite", owner("s3:GetBucketWebsite")),
    ("GET", BUCKET, q("encryption"), "GetBucketEncryption", owner("s3:GetEncryptionConfiguration")),
    ("GET", BUCKET, q("object-lock"), "GetObjectLockConfiguration",
     owner("s3:GetBucketObjectLockConfiguration")),
    ("GET", BUCKET, q("ownershipControls"), "GetBucketOwnershipControls",
     owner("s3:GetBucketOwnershipControls")),
    ("GET", BUCKET, q("publicAccessBlock"), "GetPublicAccessBlock",
     owner("s3:GetBucketPublicAccessBlock")),
    ("GET", BUCKET, q("accelerate"), "GetBucketAccelerateConfiguration",
     owner("s3:GetAccelerateConfiguration")),
    ("GET", BUCKET, q("requestPayment"), "GetBucketRequestPayment",
     owner("s3:GetBucketRequestPayment")),
    ("GET", BUCKET, q("analytics"), "GetBucketAnalyticsConfiguration",
     owner("s3:GetAnalyticsConfiguration")),
    ("GET", BUCKET, q("inventory"), "GetBucketInventoryConfiguration",
     owner("s3:GetInventoryConfiguration")),
    ("GET", BUCKET, q("metrics"), "GetBucketMetricsConfiguration",
     owner("s3:GetMetricsConfiguration")),
    ("GET", BUCKET, q("intelligent-tiering"), "GetBucketIntelligentTieringConfiguration",
     owner("s3:GetIntelligentTieringConfiguration")),
    ("GET", BUCKET, q("uploads"), "ListMultipartUploads",
     on_bucket(READ, "s3:ListBucketMultipartUploads")),
    ("GET", BUCKET, q("versions"), "ListObjectVersions", on_bucket(READ, "s3:ListBucketVersions")),
    ("GET", BUCKET, qv("list-type", "2"), "ListObjectsV2", on_bucket(READ, "s3:ListBucket")),
    ("GET", BUCKET, always, "ListObjects", on_bucket(READ, "s3:ListBucket")),
    ("HEAD", BUCKET, always, "HeadBucket", on_bucket(READ, "s3:ListBucket")),

    ("PUT", BUCKET, q("acl"), "PutBucketAcl", on_bucket(WRITE_ACP, "s3:PutBucketAcl")),
    ("PUT", BUCKET, q("cors"), "PutBucketCors", owner("s3:PutBucketCORS")),
    ("PUT", BUCKET, q("lifecycle"), "PutBucketLifecycleConfiguration",
     owner("s3:PutLifecycleConfiguration")),
    ("PUT", BUCKET, q("logging"), "PutBucketLogging", owner("s3:PutBucketLogging")),
    ("PUT", BUCKET, q("notification"), "PutBucketNotificationConfiguration",
     owner("s3:PutBucketNotification")),
    ("PUT", BUCKET, q("policy"), "PutBucketPolicy", owner("s3:PutBucketPolicy")),
    ("PUT", BUCKET, q("replication"), "PutBucketReplication",
     owner("s3:PutReplicationConfiguration")),
    ("PUT", BUCKET, q("tagging"), "PutBucketTagging", owner("s3:PutBucketTagging")),
    ("PUT", BUCKET, q("versioning"), "PutBucketVersioning", owner("s3:PutBucketVersioning")),
    ("PUT", BUCKET, q("website"), "PutBucketWebsite", owner("s3:PutBucketWebsite")),
    ("PUT", BUCKET, q("encryption"), "PutBucketEncryption", owner("s3:PutEncryptionConfiguration")),
    ("PUT", BUCKET, q("object-lock"), "PutObjectLockConfiguration",
     owner("s3:PutBucketObjectLockConfiguration")),
    ("PUT", BUCKET, q("ownershipControls"), "PutBucketOwnershipControls",
     owner("s3:PutBucketOwnershipControls")),
    ("PUT", BUCKET, q("publicAccessBlock"), "PutPublicAccessBlock",
     owner("s3:PutBucketPublicAccessBlock")),
    ("PUT", BUCKET, q("accelerate"), "PutBucketAccelerateConfiguration",
     owner("s3:PutAccelerateConfiguration")),
    ("PUT", BUCKET, q("requestPayment"), "PutBucketRequestPayment",
     owner("s3:PutBucketRequestPayment")),
    ("PUT", BUCKET, always, "CreateBucket", account("s3:CreateBucket")),

    ("POST", BUCKET, q("delete"), "DeleteObjects",
     on_bucket(WRITE, "s3:DeleteObject", "s3:DeleteObjectVersion")),
    ("POST", BUCKET, always, "PostObject", on_bucket(WRITE, "s3:PutObject")),

    ("DELETE", BUCKET, q("cors"), "DeleteBucketCors", owner("s3:PutBucketCORS")),
    ("DELETE", BUCKET, q("lifecycle"), "DeleteBucketLifecycle",
     owner("s3:PutLifecycleConfiguration")),
    ("DELETE", BUCKET, q("policy"), "DeleteBucketPolicy", owner("s3:DeleteBucketPolicy")),
    ("DELETE", BUCKET, q("replication"), "DeleteBucketReplication",
     owner("s3:PutReplicationConfiguration")),
    ("DELETE", BUCKET, q("tagging"), "DeleteBucketTagging", owner("s3:PutBucketTagging")),
    ("DELETE", BUCKET, q("website"), "DeleteBucketWebsite", owner("s3:DeleteBucketWebsite")),
    ("DELETE", BUCKET, q("encryption"), "DeleteBucketEncryption",
     owner("s3:PutEncryptionConfiguration")),
    ("DELETE", BUCKET, q("ownershipControls"), "DeleteBucketOwnershipControls",
     owner("s3:PutBucketOwnershipControls")),
    ("DELETE", BUCKET, q("publicAccessBlock"), "DeletePublicAccessBlock",
     owner("s3:PutBucketPublicAccessBlock")),
    ("DELETE", BUCKET, always, "DeleteBucket", owner("s3:DeleteBucket")),

    ("GET", OBJECT, q("acl"), "GetObjectAcl",
     on_object(READ_ACP, "s3:GetObjectAcl", "s3:GetObjectVersionAcl")),
    ("GET", OBJECT, q("tagging"), "GetObjectTagging", owner("s3:GetObjectTagging")),
    ("GET", OBJECT, q("retention"), "GetObjectRetention", owner("s3:GetObjectRetention")),
    ("GET", OBJECT, q("legal-hold"), "GetObjectLegalHold", owner("s3:GetObjectLegalHold")),
    ("GET", OBJECT, q("torrent"), "GetObjectTorrent", on_object(READ, "s3:GetObjectTorrent")),
    ("GET", OBJECT, q("attributes"), "GetObjectAttributes",
     on_object(READ, "s3:GetObjectAttributes", "s3:GetObjectVersionAttributes")),
    ("GET", OBJECT, q("uploadId"), "ListParts", on_bucket(READ, "s3:ListMultipartUploadParts")),
    ("GET", OBJECT, always, "GetObject", on_object(READ, "s3:GetObject", "s3:GetObjectVersion")),
    ("HEAD", OBJECT, always, "HeadObject", on_object(READ, "s3:GetObject", "s3:GetObjectVersion")),

    ("PUT", OBJECT, q("partNumber", "uploadId") & h("x-amz-copy-source"),
     "UploadPartCopy", on_bucket(WRITE, "s3:PutObject")),
    ("PUT", OBJECT, q("partNumber", "uploadId"), "UploadPart", on_bucket(WRITE, "s3:PutObject")),
    ("PUT", OBJECT, q("acl"), "PutObjectAcl",
     on_object(WRITE_ACP, "s3:PutObjectAcl", "s3:PutObjectVersionAcl")),
    ("PUT", OBJECT, q("tagging"), "PutObjectTagging", owner("s3:PutObjectTagging")),
    ("PUT", OBJECT, q("retention"), "PutObjectRetention", owner("s3:PutObjectRetention")),
    ("PUT", OBJECT, q("legal-hold"), "PutObjectLegalHold", owner("s3:PutObjectLegalHold")),
    ("PUT", OBJECT, h("x-amz-copy-source"), "CopyObject", on_bucket(WRITE, "s3:PutObject")),
    ("PUT", OBJECT, always, "PutObject", on_bucket(WRITE, "s3:PutObject")),

    ("POST", OBJECT, q("uploads"), "CreateMultipartUpload", on_bucket(WRITE, "s3:PutObject")),
    ("POST", OBJECT, q("uploadId"), "CompleteMultipartUpload", on_bucket(WRITE, "s3:PutObject")),
    ("POST", OBJECT, q("restore"), "RestoreObject", owner("s3:RestoreObject")),
    ("POST", OBJECT, q("select"), "SelectObjectContent", owner("s3:GetObject")),

    ("DELETE", OBJECT, q("uploadId"), "AbortMultipartUpload",
     on_bucket(WRITE, "s3:AbortMultipartUpload")),
    ("DELETE", OBJECT, q("tagging"), "DeleteObjectTagging", owner("s3:DeleteObjectTagging")),
    ("DELETE", OBJECT, always, "DeleteObject",
     on_bucket(WRITE, "s3:DeleteObject", "s3:DeleteObjectVersion")),

    ("OPTIONS", BUCKET, always, "CorsPreflight", OPEN_ACCESS),
    ("OPTIONS", OBJECT, always, "CorsPreflight", OPEN_ACCESS),
)

_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_RE = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
_C1_CONTROLS = re.compile("[\x80-\x9f]")


def valid_bucket_name(name: str) -> bool:
    """AWS's bucket naming rules for new buckets (3-63 chars, DNS-compatible)."""
    if not _BUCKET_RE.match(name) or _IP_RE.match(name):
        return False
    if ".." in name or ".-" in name or "-." in name:
        return False
    if name.startswith("xn--") or name.endswith("-s3alias") or name.endswith("--ol-s3"):
        return False
    return True


def _unquote(text: str) -> str:
    """``unquote(text, errors="strict")``; for ASCII text (what a client
    sends) the one decode it comes down to, without its generator."""
    if "%" not in text:
        return text
    if text.isascii():
        return unquote_to_bytes(text).decode("utf-8")
    return unquote(text, errors="strict")


def parse_query(raw_query: str) -> dict[str, str]:
    """First value of each parameter, percent-decoded as UTF-8.

    What ``urllib.parse.parse_qsl(raw, keep_blank_values=True,
    errors="strict")`` gives (a "+" is a space, a name without "=" has the
    value ""), without its per-parameter calls when there is nothing to
    decode: SDK queries (X-Amz-* of a presigned URL) are plain ASCII.
    Bad UTF-8 in an escape raises UnicodeDecodeError.
    """
    out: dict[str, str] = {}
    if not raw_query:
        return out
    for segment in raw_query.split("&"):
        if not segment:
            continue
        name, _, value = segment.partition("=")
        if "+" in segment:
            name = name.replace("+", " ")
            value = value.replace("+", " ")
        if "%" in segment:
            name = _unquote(name)
            value = _unquote(value)
        if name not in out:
            out[name] = value
    return out


def split_host(host: str, endpoints: Mapping[str, str]) -> tuple[str | None, str]:
    """(bucket from a virtual-hosted Host, endpoint) — bucket None for path style."""
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    hostname = hostname.lower()
    if hostname in endpoints or _IP_RE.match(hostname) or hostname.startswith("["):
        return None, hostname
    for endpoint in sorted(endpoints, key=len, reverse=True):
        suffix = "." + endpoint
        if hostname.endswith(suffix) and len(hostname) > len(suffix):
            return hostname[: -len(suffix)], endpoint
    return None, hostname


def _decode_path(raw: str) -> str:
    if "%" not in raw and raw.isascii():
        return raw  # nothing to decode (the common case)
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise S3Error("InvalidURI") from None


@attrs.frozen
class _Candidates:
    """The rows of one (method, level), compiled from ``ROUTES``."""

    #: every query parameter name a condition of these rows reads
    names: frozenset[str]
    #: (condition or None for "always", operation, access), in table order
    rows: tuple[tuple[When | None, str, Access], ...]
    #: the same without the rows that need a query parameter: what can
    #: match when the query names none of ``names``
    plain: tuple[tuple[When | None, str, Access], ...]


def _compile(routes: tuple[tuple[str, str, When, str, Access], ...]
             ) -> dict[tuple[str, str], _Candidates]:
    grouped: dict[tuple[str, str], list[tuple[When, str, Access]]] = {}
    for method, level, when, name, access in routes:
        grouped.setdefault((method, level), []).append((when, name, access))
    index = {}
    for slot, rows in grouped.items():
        names = frozenset(n for when, _, _ in rows
                          for n in when.query + tuple(n for n, _ in when.values))
        compiled = tuple((None if when == always else when, name, access)
                         for when, name, access in rows)
        plain = tuple(row for row in compiled
                      if row[0] is None or not (row[0].query or row[0].values))
        index[slot] = _Candidates(names, compiled, plain)
    return index


_INDEX = _compile(ROUTES)


def _check_key(key: str) -> None:
    if key.isascii():  # no C1 controls, one byte a character
        size = len(key)
    else:
        if _C1_CONTROLS.search(key):
            # AWS refuses keys holding C1 control characters (U+0080-U+009F).
            raise S3Error("InvalidURI")
        size = len(key.encode("utf-8"))
    if size > MAX_KEY_BYTES:
        raise S3Error("KeyTooLongError", Size=str(size),
                      MaxSizeAllowed=str(MAX_KEY_BYTES))


def _website(method: str, bucket: str, raw_path: str) -> Operation:
    """A request to ``<bucket>.<website endpoint>``: the page at the path
    (the empty key is the site's root); the query is not S3's here."""
    key = _decode_path(raw_path[1:])
    _check_key(key)
    name = WEBSITE_OPERATIONS.get(method.upper(), WEBSITE_REFUSED)
    return Operation(name, bucket, key, {}, WEBSITE_ACCESS, True, True)


def route(method: str, host: str, raw_path: str, raw_query: str,
          headers: Mapping[str, list[str]], endpoints: Mapping[str, str],
          website_endpoints: Collection[str] = ()) -> Operation:
    """Map a request to its Operation, or raise the S3Error AWS would answer."""
    if not raw_path.startswith("/"):
        # absolute-form request-target: http://host/path
        m = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*(/.*)?$", raw_path)
        if not m:
            raise S3Error("InvalidURI")
        raw_path = m.group(1) or "/"
    if website_endpoints:
        site = website_bucket(host, website_endpoints)
        if site is not None:
            return _website(method, site, raw_path)
    try:
        query = parse_query(raw_query)
    except UnicodeDecodeError:
        raise S3Error("InvalidURI") from None
    vbucket, _ = split_host(host, endpoints)
    if vbucket is not None:
        bucket: str | None = vbucket
        rest = raw_path[1:]
        key = _decode_path(rest) if rest else None
    else:
        bucket_raw, sep, rest = raw_path[1:].partition("/")
        bucket = _decode_path(bucket_raw) or None
        key = _decode_path(rest) if rest else None
    if key is not None:
        _check_key(key)
    level = OBJECT if key is not None else BUCKET if bucket else SERVICE
    method = method.upper()
    candidates = _INDEX.get((method, level))
    if candidates is not None:
        rows = candidates.plain if candidates.names.isdisjoint(query) else candidates.rows
        for when, name, access in rows:
            if when is None or when.holds(query, headers):
                return Operation(name, bucket, key, query, access, vbucket is not None)
    raise S3Error("MethodNotAllowed" if method in ("GET", "PUT", "POST", "DELETE", "HEAD")
                  else "NotImplemented")
