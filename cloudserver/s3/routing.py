# -*- test-case-name: tests.unit.test_routing -*-
"""THE routing table: (method, host, raw path, query, headers) -> Operation.

Every S3 operation is one row of ``ROUTES``; rows are tried in order, so a
more specific guard (a sub-resource in the query, a header) comes before
the default of its method and level.  The raw request-target is parsed
here once: twisted.web splits the path before unquoting, which would lose
a ``%2F`` inside a key.
"""
from __future__ import annotations

import re
from typing import Callable, Mapping
from urllib.parse import parse_qsl, unquote_to_bytes

import attrs

from cloudserver.s3.errors import S3Error

SERVICE, BUCKET, OBJECT = "service", "bucket", "object"
MAX_KEY_BYTES = 1024


@attrs.frozen
class Operation:
    """What a request asks for, decided from its headers alone."""

    name: str
    bucket: str | None
    key: str | None
    query: Mapping[str, str]
    #: True when the bucket came from the Host header (virtual-hosted style).
    virtual_host: bool = False


Guard = Callable[[Mapping[str, str], Mapping[str, list[str]]], bool]


def q(*names: str) -> Guard:
    """Guard: every named query parameter is present."""
    return lambda query, headers: all(n in query for n in names)


def h(name: str) -> Guard:
    """Guard: the header is present."""
    return lambda query, headers: name in headers


def both(a: Guard, b: Guard) -> Guard:
    return lambda query, headers: a(query, headers) and b(query, headers)


def always(query: Mapping[str, str], headers: Mapping[str, list[str]]) -> bool:
    return True


def _list_v2(query: Mapping[str, str], headers: Mapping[str, list[str]]) -> bool:
    return query.get("list-type") == "2"


# (method, level, guard, operation).  Unknown sub-resources fall through to
# the level default only where AWS does the same (it ignores unknown params).
ROUTES: tuple[tuple[str, str, Guard, str], ...] = (
    ("GET", SERVICE, always, "ListBuckets"),
    ("HEAD", SERVICE, always, "ListBuckets"),

    ("GET", BUCKET, q("acl"), "GetBucketAcl"),
    ("GET", BUCKET, q("cors"), "GetBucketCors"),
    ("GET", BUCKET, q("lifecycle"), "GetBucketLifecycleConfiguration"),
    ("GET", BUCKET, q("location"), "GetBucketLocation"),
    ("GET", BUCKET, q("logging"), "GetBucketLogging"),
    ("GET", BUCKET, q("notification"), "GetBucketNotificationConfiguration"),
    ("GET", BUCKET, q("policyStatus"), "GetBucketPolicyStatus"),
    ("GET", BUCKET, q("policy"), "GetBucketPolicy"),
    ("GET", BUCKET, q("replication"), "GetBucketReplication"),
    ("GET", BUCKET, q("tagging"), "GetBucketTagging"),
    ("GET", BUCKET, q("versioning"), "GetBucketVersioning"),
    ("GET", BUCKET, q("website"), "GetBucketWebsite"),
    ("GET", BUCKET, q("encryption"), "GetBucketEncryption"),
    ("GET", BUCKET, q("object-lock"), "GetObjectLockConfiguration"),
    ("GET", BUCKET, q("ownershipControls"), "GetBucketOwnershipControls"),
    ("GET", BUCKET, q("publicAccessBlock"), "GetPublicAccessBlock"),
    ("GET", BUCKET, q("accelerate"), "GetBucketAccelerateConfiguration"),
    ("GET", BUCKET, q("requestPayment"), "GetBucketRequestPayment"),
    ("GET", BUCKET, q("analytics"), "GetBucketAnalyticsConfiguration"),
    ("GET", BUCKET, q("inventory"), "GetBucketInventoryConfiguration"),
    ("GET", BUCKET, q("metrics"), "GetBucketMetricsConfiguration"),
    ("GET", BUCKET, q("intelligent-tiering"), "GetBucketIntelligentTieringConfiguration"),
    ("GET", BUCKET, q("uploads"), "ListMultipartUploads"),
    ("GET", BUCKET, q("versions"), "ListObjectVersions"),
    ("GET", BUCKET, _list_v2, "ListObjectsV2"),
    ("GET", BUCKET, always, "ListObjects"),
    ("HEAD", BUCKET, always, "HeadBucket"),

    ("PUT", BUCKET, q("acl"), "PutBucketAcl"),
    ("PUT", BUCKET, q("cors"), "PutBucketCors"),
    ("PUT", BUCKET, q("lifecycle"), "PutBucketLifecycleConfiguration"),
    ("PUT", BUCKET, q("logging"), "PutBucketLogging"),
    ("PUT", BUCKET, q("notification"), "PutBucketNotificationConfiguration"),
    ("PUT", BUCKET, q("policy"), "PutBucketPolicy"),
    ("PUT", BUCKET, q("replication"), "PutBucketReplication"),
    ("PUT", BUCKET, q("tagging"), "PutBucketTagging"),
    ("PUT", BUCKET, q("versioning"), "PutBucketVersioning"),
    ("PUT", BUCKET, q("website"), "PutBucketWebsite"),
    ("PUT", BUCKET, q("encryption"), "PutBucketEncryption"),
    ("PUT", BUCKET, q("object-lock"), "PutObjectLockConfiguration"),
    ("PUT", BUCKET, q("ownershipControls"), "PutBucketOwnershipControls"),
    ("PUT", BUCKET, q("publicAccessBlock"), "PutPublicAccessBlock"),
    ("PUT", BUCKET, q("accelerate"), "PutBucketAccelerateConfiguration"),
    ("PUT", BUCKET, q("requestPayment"), "PutBucketRequestPayment"),
    ("PUT", BUCKET, always, "CreateBucket"),

    ("POST", BUCKET, q("delete"), "DeleteObjects"),
    ("POST", BUCKET, always, "PostObject"),

    ("DELETE", BUCKET, q("cors"), "DeleteBucketCors"),
    ("DELETE", BUCKET, q("lifecycle"), "DeleteBucketLifecycle"),
    ("DELETE", BUCKET, q("policy"), "DeleteBucketPolicy"),
    ("DELETE", BUCKET, q("replication"), "DeleteBucketReplication"),
    ("DELETE", BUCKET, q("tagging"), "DeleteBucketTagging"),
    ("DELETE", BUCKET, q("website"), "DeleteBucketWebsite"),
    ("DELETE", BUCKET, q("encryption"), "DeleteBucketEncryption"),
    ("DELETE", BUCKET, q("ownershipControls"), "DeleteBucketOwnershipControls"),
    ("DELETE", BUCKET, q("publicAccessBlock"), "DeletePublicAccessBlock"),
    ("DELETE", BUCKET, always, "DeleteBucket"),

    ("GET", OBJECT, q("acl"), "GetObjectAcl"),
    ("GET", OBJECT, q("tagging"), "GetObjectTagging"),
    ("GET", OBJECT, q("retention"), "GetObjectRetention"),
    ("GET", OBJECT, q("legal-hold"), "GetObjectLegalHold"),
    ("GET", OBJECT, q("torrent"), "GetObjectTorrent"),
    ("GET", OBJECT, q("attributes"), "GetObjectAttributes"),
    ("GET", OBJECT, q("uploadId"), "ListParts"),
    ("GET", OBJECT, always, "GetObject"),
    ("HEAD", OBJECT, always, "HeadObject"),

    ("PUT", OBJECT, both(q("partNumber", "uploadId"), h("x-amz-copy-source")),
     "UploadPartCopy"),
    ("PUT", OBJECT, q("partNumber", "uploadId"), "UploadPart"),
    ("PUT", OBJECT, q("acl"), "PutObjectAcl"),
    ("PUT", OBJECT, q("tagging"), "PutObjectTagging"),
    ("PUT", OBJECT, q("retention"), "PutObjectRetention"),
    ("PUT", OBJECT, q("legal-hold"), "PutObjectLegalHold"),
    ("PUT", OBJECT, h("x-amz-copy-source"), "CopyObject"),
    ("PUT", OBJECT, always, "PutObject"),

    ("POST", OBJECT, q("uploads"), "CreateMultipartUpload"),
    ("POST", OBJECT, q("uploadId"), "CompleteMultipartUpload"),
    ("POST", OBJECT, q("restore"), "RestoreObject"),
    ("POST", OBJECT, q("select"), "SelectObjectContent"),

    ("DELETE", OBJECT, q("uploadId"), "AbortMultipartUpload"),
    ("DELETE", OBJECT, q("tagging"), "DeleteObjectTagging"),
    ("DELETE", OBJECT, always, "DeleteObject"),

    ("OPTIONS", BUCKET, always, "CorsPreflight"),
    ("OPTIONS", OBJECT, always, "CorsPreflight"),
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


def parse_query(raw_query: str) -> dict[str, str]:
    """First value of each parameter, percent-decoded as UTF-8."""
    out: dict[str, str] = {}
    for k, v in parse_qsl(raw_query, keep_blank_values=True, errors="strict"):
        out.setdefault(k, v)
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
    try:
        return unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise S3Error("InvalidURI") from None


def route(method: str, host: str, raw_path: str, raw_query: str,
          headers: Mapping[str, list[str]], endpoints: Mapping[str, str]) -> Operation:
    """Map a request to its Operation, or raise the S3Error AWS would answer."""
    if not raw_path.startswith("/"):
        # absolute-form request-target: http://host/path
        m = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://[^/]*(/.*)?$", raw_path)
        if not m:
            raise S3Error("InvalidURI")
        raw_path = m.group(1) or "/"
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
    if key is not None and _C1_CONTROLS.search(key):
        # AWS refuses keys holding C1 control characters (U+0080-U+009F).
        raise S3Error("InvalidURI")
    if key is not None and len(key.encode("utf-8")) > MAX_KEY_BYTES:
        raise S3Error("KeyTooLongError", Size=str(len(key.encode("utf-8"))),
                      MaxSizeAllowed=str(MAX_KEY_BYTES))
    level = OBJECT if key is not None else BUCKET if bucket else SERVICE
    method = method.upper()
    for r_method, r_level, guard, name in ROUTES:
        if r_method == method and r_level == level and guard(query, headers):
            return Operation(name, bucket, key, query, vbucket is not None)
    raise S3Error("MethodNotAllowed" if method in ("GET", "PUT", "POST", "DELETE", "HEAD")
                  else "NotImplemented")
