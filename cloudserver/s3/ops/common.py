# -*- test-case-name: tests.unit.test_ops_common -*-
"""Helpers shared by the operation handlers: bucket access, dates, ETags,
object headers."""
from __future__ import annotations

import time
from email.utils import formatdate, parsedate_to_datetime

from cloudserver.metadata import errors as md_errors
from cloudserver.s3.context import RequestContext
from cloudserver.s3.errors import S3Error

#: Headers stored with an object and returned on GET/HEAD as they were sent.
STORED_HEADERS = ("cache-control", "content-disposition", "content-encoding",
                  "content-language", "expires")
USER_META_PREFIX = "x-amz-meta-"
MAX_USER_METADATA = 2048


def http_date(ts: float) -> str:
    """RFC 7231 date, as in Last-Modified."""
    return formatdate(ts, usegmt=True)


def parse_http_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def quoted_etag(md5_hex: str) -> str:
    return f'"{md5_hex}"'


def now() -> float:
    return time.time()


async def load_bucket(ctx: RequestContext, *, owner_only: bool = True) -> dict:
    """The bucket's attributes, after checking the caller may use it.

    Until ACLs exist, only the owner may use a bucket (others: AccessDenied),
    as AWS with private buckets.
    """
    try:
        attrs = await ctx.backend.metadata.get_bucket(ctx.bucket)
    except md_errors.NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None
    account = ctx.account
    if owner_only and (account is None or attrs.get("owner") != account.canonical_id):
        raise S3Error("AccessDenied")
    return attrs


async def load_object(ctx: RequestContext, bucket: str, key: str) -> dict:
    try:
        return await ctx.backend.metadata.get_object(bucket, key)
    except md_errors.NoSuchKey:
        raise S3Error("NoSuchKey", Key=key) from None


def user_metadata(ctx: RequestContext) -> dict[str, str]:
    """x-amz-meta-* headers (names lowercased, as AWS), with the 2 KB limit."""
    meta: dict[str, str] = {}
    size = 0
    for name, values in ctx.headers.items():
        if name.startswith(USER_META_PREFIX):
            # Kept as the bytes the client sent (latin-1 decoded), and sent back
            # the same way: clients differ in how they encode non-ASCII values.
            value = ",".join(values)
            meta[name] = value
            size += len(name) - len(USER_META_PREFIX) + len(value)
    if size > MAX_USER_METADATA:
        raise S3Error("MetadataTooLarge", Size=str(size), MaxSizeAllowed=str(MAX_USER_METADATA))
    return meta


def stored_headers(ctx: RequestContext) -> dict[str, str]:
    out = {}
    for name in STORED_HEADERS:
        value = ctx.header(name)
        if value is None:
            continue
        if name == "content-encoding":
            # aws-chunked describes this request's framing, not the object.
            codings = [c.strip() for c in value.split(",")]
            value = ", ".join(c for c in codings if c and c.lower() != "aws-chunked")
            if not value:
                continue
        out[name] = value
    return out


def object_headers(md: dict) -> list[tuple[str, str]]:
    """The headers GET and HEAD return for an object's metadata."""
    headers = [
        ("Last-Modified", http_date(md["last-modified"])),
        ("ETag", quoted_etag(md["etag"])),
        ("Accept-Ranges", "bytes"),
    ]
    for name, value in md.get("headers", {}).items():
        headers.append((name, value))
    for name, value in md.get("metadata", {}).items():
        headers.append((name, value))
    if md.get("version-id"):
        headers.append(("x-amz-version-id", md["version-id"]))
    sc = md.get("storage-class", "STANDARD")
    if sc != "STANDARD":
        headers.append(("x-amz-storage-class", sc))
    if md.get("tags"):
        headers.append(("x-amz-tagging-count", str(len(md["tags"]))))
    return headers
