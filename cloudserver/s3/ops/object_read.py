# -*- test-case-name: tests.unit.test_ops_object -*-
"""GetObject and HeadObject: conditionals, Range, response-* overrides,
checksum mode, and a producer that streams the stored pieces."""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from cloudserver.data.producers import (
    BytesProducer, ChainedProducer, TransformingProducer, transformed)
from cloudserver.metadata import errors as md_errors
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.s3.model import checksums, placement
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.model.conditions import (
    IF_MATCH, IF_UNMODIFIED_SINCE, failed_condition)
from cloudserver.s3.errors import S3Error
from cloudserver.s3.model.numbers import decimal
from cloudserver.s3.model.versions import client_version_id, parse_version_param
from cloudserver.s3.ops.lifecycle import expiration_headers
from cloudserver.s3.ops.replication import replication_headers
from cloudserver.s3.ops.common import (
    http_date, load_bucket, load_bucket_and_object, load_object, object_headers)
from cloudserver.s3.ops.multipart_read import part_read
from cloudserver.s3.sse import apply as sse
from cloudserver.s3.sse.request import customer_key, refuse_on_read, require_secure

_RANGE_RE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")
#: A range bound past any object's size: what a longer number stands for.
_BEYOND = 1 << 63

RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-language": "Content-Language",
    "response-expires": "Expires",
    "response-cache-control": "Cache-Control",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
}


def parse_range(value: str | None, size: int) -> tuple[int, int] | None:
    """(start, length) of a single byte range, None to send the whole object.

    As AWS: a syntactically invalid or multi-range header is ignored; a range
    that starts past the end answers 416 InvalidRange.
    """
    if value is None:
        return None
    m = _RANGE_RE.match(value.strip().replace(" ", ""))
    if not m:
        return None
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":
        n = _bound(last)
        if n == 0:
            raise S3Error("InvalidRange", RangeRequested=value, ActualObjectSize=str(size))
        n = min(n, size)
        return (size - n, n) if size else _unsatisfiable(value, size)
    start = _bound(first)
    end = _bound(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        _unsatisfiable(value, size)
    end = min(end, size - 1)
    return start, end - start + 1


def _bound(digits: str) -> int:
    """A range bound of ASCII digits; one of more than 19 significant digits
    is past the end of any object (``int()`` would refuse 4,301 digits, and
    the answer does not need the exact value)."""
    value = decimal(digits.lstrip("0") or "0")
    return _BEYOND if value is None else value


def _unsatisfiable(value: str, size: int):
    raise S3Error("InvalidRange", headers={"Content-Range": f"bytes */{size}"},
                  RangeRequested=value, ActualObjectSize=str(size))


def check_read_conditions(ctx: RequestContext, md: dict) -> None:
    """GET and HEAD: a failed match answers 412, a "not modified" 304."""
    failed = failed_condition(md, ctx.header)
    if failed in (IF_MATCH, IF_UNMODIFIED_SINCE):
        raise S3Error("PreconditionFailed", Condition=failed)
    if failed is not None:
        raise S3Error("NotModified", headers={
            "ETag": f'"{md[Obj.ETAG]}"', "Last-Modified": http_date(md[Obj.LAST_MODIFIED])})


def piece_producers(registry, locations: list[dict], offset: int, length: int,
                    stages: Callable[[dict, int], Sequence] | None = None):
    """Producers for ``length`` bytes from ``offset`` across the stored pieces,
    each from the store its location names (``ctx.backend.locations``).

    ``stages(piece, inner_offset)``, when given, names the read-side
    transforms of a piece read from ``inner_offset`` (a decrypting stage
    needs to know where it starts); each producer is then wrapped in them
    (``producers.transformed``)."""
    out = []
    for loc in locations:
        start, size = loc["start"], loc["size"]
        if length <= 0:
            break
        if offset >= start + size:
            continue
        inner = offset - start
        n = min(size - inner, length)
        producer = registry.producer(loc, inner, n)
        if stages is not None:
            producer = transformed(producer, stages(loc, inner))
        out.append(producer)
        offset += n
        length -= n
    return out


async def load_current(ctx: RequestContext, bucket: str, key: str,
                       version_param: str | None, **check) -> dict:
    """The record a read addresses: the master, or the version asked for.

    A delete marker answers 404 NoSuchKey when it is the current version and
    405 MethodNotAllowed when asked for by id, with x-amz-delete-marker.  A
    well-formed id that names nothing is NoSuchVersion, with the Key and
    VersionId asked for (as AWS).
    """
    version = parse_version_param(version_param)
    options = {"versionId": version} if version is not None else None
    try:
        md = await load_object(ctx, bucket, key, options=options, **check)
    except S3Error as e:
        if e.code == "NoSuchKey":  # S3 says so explicitly: not hidden by a marker
            e.headers.setdefault("x-amz-delete-marker", "false")
        raise
    except md_errors.NoSuchVersion:
        raise S3Error("NoSuchVersion", Key=key, VersionId=version_param) from None
    if md.get(Obj.IS_DELETE_MARKER):
        raise _marker_error(ctx, md, key, by_id=version is not None)
    return md


def _marker_error(ctx: RequestContext, md: dict, key: str, by_id: bool) -> S3Error:
    """What reading delete marker ``md`` answers.  Named by id it is AWS's
    405: x-amz-delete-marker, the marker's id and Last-Modified, and Allow
    naming DELETE, the one method a marker takes."""
    headers = {"x-amz-delete-marker": "true"}
    shown = client_version_id(md)
    if shown is not None:
        headers["x-amz-version-id"] = shown
    if not by_id:
        return S3Error("NoSuchKey", headers=headers, Key=key)
    headers["Allow"] = "DELETE"
    if md.get(Obj.LAST_MODIFIED) is not None:
        headers["Last-Modified"] = http_date(md[Obj.LAST_MODIFIED])
    return S3Error("MethodNotAllowed", "The specified method is not allowed against "
                   "this resource.", headers=headers, Method=ctx.method,
                   ResourceType="DeleteMarker")


async def load_for_read(ctx: RequestContext, with_data: bool = True) -> tuple[dict, dict]:
    """GetObject / HeadObject: what ``load_bucket`` then ``load_current``
    return (bucket attributes, record), from one metadata call when the
    record is there.

    A bad versionId, a missing object or version and a delete marker are
    answered by those two, in their order (they read again: rare paths).
    """
    version_param = ctx.query.get("versionId")
    try:
        version = parse_version_param(version_param)
    except S3Error:  # the bucket's errors come first
        await load_bucket(ctx)
        raise
    attrs, md = await load_bucket_and_object(ctx, version, with_data)
    if md is None or md.get(Obj.IS_DELETE_MARKER):
        return attrs, await load_current(ctx, ctx.bucket, ctx.key, version_param,
                                         bucket_attrs=attrs)
    return attrs, md


def read_customer(ctx: RequestContext):
    """The SSE-C key a read brings (None: none), the other SSE headers
    refused as AWS does on GET and HEAD."""
    refuse_on_read(ctx.header)
    customer = customer_key(ctx.header)
    require_secure(customer, ctx.secure, ctx.backend.config)
    return customer


def _in_memory(producer) -> bytes | None:
    """The bytes of an inline object's producer (decrypted when it is
    encrypted), None for a producer that streams from a store."""
    if type(producer) is BytesProducer:
        return producer.data
    if type(producer) is TransformingProducer and type(producer.source) is BytesProducer:
        return producer.apply(producer.source.data)
    return None


async def _read(ctx: RequestContext, with_body: bool) -> Response:
    customer = read_customer(ctx)
    attrs, md = await load_for_read(ctx, with_body)
    return await respond_read(ctx, attrs, md, customer, with_body)


async def respond_read(ctx: RequestContext, attrs: dict, md: dict, customer,
                       with_body: bool, conditions: bool = True) -> Response:
    """The GET / HEAD answer for record ``md`` (loaded and decided by
    :func:`load_for_read`): the website endpoint serves objects through it
    too (``conditions=False`` for its error document)."""
    # Without the object's key 400; with a wrong one GET 400, HEAD 403.
    sse.check_customer(md.get(Obj.SSE), customer,
                       wrong_key_status=400 if with_body else 403)
    if conditions:
        check_read_conditions(ctx, md)
    size = md[Obj.SIZE]
    headers = object_headers(md, attrs)
    headers.extend(replication_headers(md))
    if "versionId" not in ctx.query:  # Expiration rules speak of current versions
        headers.extend(expiration_headers(ctx, attrs, md))
    part = part_read(ctx, md) if "partNumber" in ctx.query else None
    if part is not None:
        rng = part.range
        headers.extend(part.headers)
    else:
        rng = parse_range(ctx.header("range"), size)
    status = 200
    if rng is not None:
        status = 206
        start, length = rng
        headers.append(("Content-Range", f"bytes {start}-{start + length - 1}/{size}"))
    else:
        start, length = 0, size
        checksum = md.get(Obj.CHECKSUM)
        if checksum and part is None and \
                (ctx.header("x-amz-checksum-mode") or "").upper() == "ENABLED":
            headers.append((checksums.header_name(checksum["algorithm"]), checksum["value"]))
            headers.append(("x-amz-checksum-type", checksum.get("type", "FULL_OBJECT")))
    content_type = md.get(Obj.CONTENT_TYPE)
    for param, header in RESPONSE_OVERRIDES.items():
        if param in ctx.query:
            if header == "Content-Type":
                content_type = ctx.query[param]
            else:
                headers = [(n, v) for n, v in headers if n.lower() != header.lower()]
                headers.append((header, ctx.query[param]))
    resp = Response(status=status, headers=headers, length=length,
                    content_type=content_type)
    if with_body and length > 0:
        stages = await sse.read_stages(ctx.backend.kms, md, customer, start, length)
        producers = piece_producers(ctx.backend.locations, md[Obj.LOCATION], start, length,
                                    stages)
        await placement.prepare(producers)
        data = _in_memory(producers[0]) if len(producers) == 1 else None
        if data is not None:
            resp.body = data  # in memory already (an inline object)
        else:
            resp.producer = producers[0] if len(producers) == 1 else ChainedProducer(producers)
    return resp


async def get_object(ctx: RequestContext) -> Response:
    return await _read(ctx, with_body=True)


async def head_object(ctx: RequestContext) -> Response:
    return await _read(ctx, with_body=False)


async def get_object_torrent(ctx: RequestContext) -> Response:
    """No torrents are kept: answered as a missing torrent, as S3 without them."""
    await load_bucket(ctx)
    await load_object(ctx, ctx.bucket, ctx.key)
    raise S3Error("NoSuchKey", Key=ctx.key)


HANDLERS = {"GetObject": get_object, "HeadObject": head_object,
            "GetObjectTorrent": get_object_torrent}
