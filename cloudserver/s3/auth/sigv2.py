# -*- test-case-name: tests.unit.test_auth_sigv2 -*-
"""AWS Signature Version 2 (HMAC-SHA1) for S3: the StringToSign.

StringToSign = Method \\n Content-MD5 \\n Content-Type \\n Date \\n
CanonicalizedAmzHeaders CanonicalizedResource.

Clients disagree on details AWS's own documentation leaves ambiguous, so
:func:`strings_to_sign` yields the few variants real clients produce; each
covers the same request elements, so accepting any of them does not weaken
what the signature protects:

- with ``x-amz-date``, the Date line is empty (AWS's text), holds the
  x-amz-date value (AWS's DELETE example), or holds the Date header
  (botocore, which signs both);
- sub-resources: the full list below, or botocore's shorter list (which
  lacks e.g. ``encryption``) when the request carries one of the extras;
- a value-less sub-resource sent as "acl=" is signed as "acl=" (botocore)
  or "acl";
- a path-style bucket request "/bucket" is signed as "/bucket" or, as
  botocore does, "/bucket/".
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator, Mapping

from cloudserver.s3.auth.request_info import RequestInfo, percent_decode, split_query

# Query parameters that are part of the CanonicalizedResource.
BOTOCORE_SUBRESOURCES = frozenset([
    "accelerate", "acl", "cors", "defaultObjectAcl", "location", "logging", "partNumber",
    "policy", "requestPayment", "torrent", "versioning", "versionId", "versions", "website",
    "uploads", "uploadId", "response-content-type", "response-content-language",
    "response-expires", "response-cache-control", "response-content-disposition",
    "response-content-encoding", "delete", "lifecycle", "tagging", "restore", "storageClass",
    "notification", "replication", "analytics", "metrics", "inventory", "select",
    "select-type", "object-lock",
])
SUBRESOURCES = BOTOCORE_SUBRESOURCES | frozenset([
    "retention", "legal-hold", "encryption", "ownershipControls", "publicAccessBlock",
    "intelligent-tiering", "attributes",
])


def sign(secret: str, string_to_sign: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), string_to_sign, hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def _clean(value: str) -> bytes:
    return value.strip().encode("latin-1")


def canonical_amz_headers(amz: Mapping[str, list[str]]) -> bytes:
    """"x-amz-name:v1,v2\\n" for each x-amz-* header, sorted by name."""
    return b"".join(name.encode("latin-1") + b":" + b",".join(_clean(v) for v in values) + b"\n"
                    for name, values in sorted(amz.items()))


def canonical_resources(info: RequestInfo, bucket_from_host: str | None) -> list[bytes]:
    """Candidate CanonicalizedResources: "/bucket" + raw path + sub-resources."""
    path = info.raw_path or "/"
    if bucket_from_host:
        path = "/" + bucket_from_host + path
    base = path.encode("latin-1")
    pairs = [(percent_decode(n, plus_is_space=False).decode("utf-8", "replace"), eq, v)
             for n, eq, v in split_query(info.raw_query)]

    def build(base: bytes, names: frozenset[str], keep_empty_equals: bool) -> bytes:
        chosen = sorted(((n, eq, v) for n, eq, v in pairs if n in names), key=lambda p: p[0])
        if not chosen:
            return base
        parts = []
        for name, eq, value in chosen:
            part = name.encode("utf-8")
            if value or (eq and keep_empty_equals):
                part += b"=" + percent_decode(value, plus_is_space=False)
            parts.append(part)
        return base + b"?" + b"&".join(parts)

    bases = [base]
    if base.count(b"/") == 1 and len(base) > 1:
        # Path-style bucket request "/bucket": botocore signs "/bucket/".
        bases.append(base + b"/")
    candidates: list[bytes] = []
    for base in bases:
        for names in (SUBRESOURCES, BOTOCORE_SUBRESOURCES):
            for keep in (True, False):
                candidate = build(base, names, keep)
                if candidate not in candidates:
                    candidates.append(candidate)
    return candidates


def strings_to_sign(info: RequestInfo, *, date_line: str | None, amz: Mapping[str, list[str]],
                    bucket_from_host: str | None) -> Iterator[bytes]:
    """Every acceptable StringToSign, most likely first.

    ``date_line`` is the Expires value for query authentication, or None for
    header authentication (then the Date / x-amz-date rules apply).
    """
    method = info.method.upper().encode("latin-1")
    md5 = _clean(info.header("content-md5") or "")
    ctype = _clean(info.header("content-type") or "")
    amz_block = canonical_amz_headers(amz)
    if date_line is not None:
        date_variants = [(date_line.encode("latin-1"), amz_block)]
    else:
        date = _clean(info.header("date") or "")
        xdate = amz.get("x-amz-date")
        if xdate:
            without = canonical_amz_headers({k: v for k, v in amz.items() if k != "x-amz-date"})
            date_variants = [(b"", amz_block), (_clean(xdate[0]), without), (date, amz_block)]
        else:
            date_variants = [(date, amz_block)]
    seen = set()
    for resource in canonical_resources(info, bucket_from_host):
        for date_value, block in date_variants:
            sts = b"\n".join([method, md5, ctype, date_value]) + b"\n" + block + resource
            if sts not in seen:
                seen.add(sts)
                yield sts
