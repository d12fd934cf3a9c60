# -*- test-case-name: tests.unit.test_ops_listing -*-
"""ListObjects (v1) and ListObjectsV2: parameters in, listing algorithm, XML out."""
from __future__ import annotations

import re
from collections.abc import Callable

from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.common import load_bucket
from cloudserver.s3.xml import ListEntry, ListResult, iso8601, list_objects_xml

MAX_KEYS = 1000
#: AWS's bound for max-keys (a signed 32-bit integer).
MAX_KEYS_ARG = 2**31 - 1
_INTEGER = re.compile(r"[+-]?[0-9]+")


def parse_max_keys(value: str | None) -> int:
    """The max-keys a listing asked for, default 1000.

    This is the value the response echoes in MaxKeys, as upstream does even
    above 1000 (AWS does not document the echo); what is fetched is capped
    by :func:`page_size`.  Not an integer, or outside 0..2^31-1, is
    InvalidArgument with AWS's messages.
    """
    if value is None:
        return MAX_KEYS
    # The length first: int() refuses (ValueError) strings of over 4,300 digits.
    if len(value) > 12 or _INTEGER.fullmatch(value) is None or int(value) > MAX_KEYS_ARG:
        raise S3Error("InvalidArgument", "Provided max-keys not an integer or within "
                      "integer range", ArgumentName="max-keys", ArgumentValue=value)
    n = int(value)
    if n < 0:
        raise S3Error("InvalidArgument", "Argument maxKeys must be an integer between 0 "
                      "and 2147483647", ArgumentName="maxKeys", ArgumentValue=value)
    return n


def page_size(max_keys: int) -> int:
    """How many entries a listing returns at most: AWS's 1000 is a hard limit."""
    return min(max_keys, MAX_KEYS)


def parse_encoding(value: str | None) -> str | None:
    if value is None:
        return None
    if value.lower() != "url":
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request",
                      ArgumentName="encoding-type", ArgumentValue=value)
    return "url"


_MILLIS = [f".{ms:03d}Z" for ms in range(1000)]


def iso8601_cached() -> Callable[[float], str]:
    """``iso8601`` for a page of timestamps: the date and time part is
    formatted once per second (objects written together share it), only
    the milliseconds per entry."""
    seconds: dict[int, str] = {}

    def iso(ts: float) -> str:
        secs, ms = divmod(round(ts * 1000), 1000)
        head = seconds.get(secs)
        if head is None:
            head = seconds[secs] = iso8601(secs)[:-5]  # without ".000Z"
        return head + _MILLIS[ms]

    return iso


#: What a listing renders of each record (the listing returns only these).
LISTED_FIELDS = [Obj.LAST_MODIFIED, Obj.ETAG, Obj.SIZE, Obj.STORAGE_CLASS]
OWNER_FIELDS = [Obj.OWNER, Obj.OWNER_NAME]


def list_entries(contents: list[dict], owner: tuple[str | None, str | None] | None
                 ) -> list[ListEntry]:
    """A listing's Contents as ListEntry records; owners (the record's, else
    ``owner``, the bucket's) only when ``owner`` is given."""
    iso = iso8601_cached()
    entries = []
    append = entries.append
    # The field names as locals: these loops run for every entry of a page.
    modified, etag, size, sc = Obj.LAST_MODIFIED, Obj.ETAG, Obj.SIZE, Obj.STORAGE_CLASS
    if owner is None:
        for item in contents:
            md = item["value"]
            append(ListEntry(item["key"], iso(md[modified]), md[etag], md[size],
                             md.get(sc, "STANDARD")))
        return entries
    owner_id, owner_name = owner
    owner_field, owner_name_field = Obj.OWNER, Obj.OWNER_NAME
    for item in contents:
        md = item["value"]
        append(ListEntry(item["key"], iso(md[modified]), md[etag], md[size],
                         md.get(sc, "STANDARD"), md.get(owner_field) or owner_id,
                         md.get(owner_name_field) or owner_name))
    return entries


async def _list(ctx: RequestContext, v2: bool) -> Response:
    bucket = await load_bucket(ctx)
    q = ctx.query
    max_keys = parse_max_keys(q.get("max-keys"))
    encoding = parse_encoding(q.get("encoding-type"))
    fetch_owner = (not v2) or q.get("fetch-owner", "").lower() == "true"
    params = {
        "listingType": "DelimiterMaster",
        "prefix": q.get("prefix", ""),
        "delimiter": q.get("delimiter") or None,
        "maxKeys": page_size(max_keys),
        "v2": v2,
        "valueFields": LISTED_FIELDS + OWNER_FIELDS if fetch_owner else LISTED_FIELDS,
    }
    if v2:
        params["startAfter"] = q.get("start-after") or None
        params["continuationToken"] = q.get("continuation-token") or None
    else:
        params["marker"] = q.get("marker") or None
    result = await ctx.backend.metadata.list_objects(ctx.bucket, params)
    owner = (bucket.get(Bkt.OWNER), bucket.get(Bkt.OWNER_NAME)) if fetch_owner else None
    listing = ListResult(
        v2=v2, bucket=ctx.bucket, prefix=params["prefix"], delimiter=params["delimiter"],
        max_keys=max_keys, encoding_type=encoding, is_truncated=bool(result["IsTruncated"]),
        contents=list_entries(result["Contents"], owner),
        common_prefixes=list(result["CommonPrefixes"]),
        marker=q.get("marker", "") if not v2 else None,
        next_marker=(result.get("NextMarker") if not v2 and result["IsTruncated"]
                     and params["delimiter"] else None),
        start_after=q.get("start-after") if v2 else None,
        continuation_token=q.get("continuation-token") if v2 else None,
        next_continuation_token=(result.get("NextContinuationToken")
                                 if v2 and result["IsTruncated"] else None),
    )
    return Response.xml(list_objects_xml(listing))


async def list_objects(ctx: RequestContext) -> Response:
    return await _list(ctx, v2=False)


async def list_objects_v2(ctx: RequestContext) -> Response:
    return await _list(ctx, v2=True)


HANDLERS = {"ListObjects": list_objects, "ListObjectsV2": list_objects_v2}
