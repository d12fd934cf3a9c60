# -*- test-case-name: tests.unit.test_ops_object -*-
"""PutObject: conditional checks, streaming upload, then the metadata write."""
from __future__ import annotations

import attrs
from twisted.logger import Logger

from cloudserver.metadata import conditions
from cloudserver.metadata import errors as md_errors
from cloudserver.metadata.schema import MD_VERSION, VERSION_FIELD
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.s3.access import acl
from cloudserver.s3.model import checksums, lock, placement
from cloudserver.s3.ops.events import with_event
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.lifecycle import expiration_headers
from cloudserver.s3.ops.common import (
    load_bucket, now, quoted_etag, set_website_redirect, stored_headers,
    survives_disconnect, user_metadata, website_redirect)
from cloudserver.s3.ops.acl import object_acl_from_request, object_owner
from cloudserver.s3.ops.upload import Received, expected_from_headers, receive_body
from cloudserver.s3.model.tags import request_tags, set_tags
from cloudserver.s3.sse import apply as sse
from cloudserver.s3.sse.request import require_secure, write_request
from cloudserver.s3.model.versions import (
    freed_records, refuse_version_param, result_version_id, versioning_state, write_options)

_log = Logger(namespace="cloudserver.s3")


def _condition_tags(header: str) -> list[str]:
    return [t.strip().strip('"') for t in header.split(",")]


async def check_write_conditions(ctx: RequestContext, bucket: str, key: str) -> None:
    """If-None-Match: * and If-Match on PutObject (conditional writes): the
    early, cheap refusal before the body is read.  The metadata service
    checks them again, atomically, as it plans the write
    (``with_conditions``; cloudserver.metadata.conditions)."""
    if_none = ctx.header("if-none-match")
    if_match = ctx.header("if-match")
    if if_none is None and if_match is None:
        return
    try:
        current = await ctx.backend.metadata.get_object(bucket, key)
    except md_errors.NoSuchKey:
        current = None
    if current is not None and current.get(Obj.IS_DELETE_MARKER):
        current = None  # a deleted object does not exist for conditions
    if if_none is not None and current is not None:
        tags = _condition_tags(if_none)
        if "*" in tags or current[Obj.ETAG] in tags:
            raise S3Error("PreconditionFailed", Condition="If-None-Match")
    if if_match is not None:
        if current is None:
            raise S3Error("NoSuchKey", Key=key)
        tags = _condition_tags(if_match)
        if "*" not in tags and current[Obj.ETAG] not in tags:
            raise S3Error("PreconditionFailed", Condition="If-Match")


def with_conditions(ctx: RequestContext, options: dict | None) -> dict | None:
    """``options`` plus the request's If-None-Match / If-Match tags, for the
    metadata service's check at commit time."""
    extra = {}
    for header, name in (("if-none-match", conditions.IF_NONE_MATCH),
                         ("if-match", conditions.IF_MATCH)):
        value = ctx.header(header)
        if value is not None:
            extra[name] = _condition_tags(value)
    return {**(options or {}), **extra} if extra else options


def object_record(ctx: RequestContext, received: Received, *, content_type: str | None,
                  headers: dict, metadata: dict, etag: str | None = None,
                  owner: tuple[str, str] | None = None) -> dict:
    """The metadata record of a new object (``schema.ObjectRecord``), owned
    by ``owner`` ((id, name), ``ops.acl.object_owner``; default: the
    requester)."""
    owner, owner_name = owner or acl.principal(ctx.account)
    md = {
        VERSION_FIELD: MD_VERSION,
        Obj.KEY: ctx.key,
        Obj.SIZE: received.size,
        Obj.ETAG: etag or received.md5_hex,
        Obj.LAST_MODIFIED: now(),
        Obj.CONTENT_TYPE: content_type or "binary/octet-stream",
        Obj.HEADERS: headers,
        Obj.METADATA: metadata,
        Obj.OWNER: owner,
        Obj.OWNER_NAME: owner_name,
        Obj.LOCATION: placement.pieces(ctx, received.target, received.key, received.size,
                                       received.inline_data),
        Obj.STORAGE_CLASS: "STANDARD",
    }
    if received.checksum_algorithm is not None:
        md[Obj.CHECKSUM] = {"algorithm": received.checksum_algorithm,
                            "value": received.checksum_value, "type": "FULL_OBJECT"}
    return md


async def delete_data(ctx: RequestContext, locations: list[dict]) -> None:
    """Remove the data of an overwritten or deleted object (best effort);
    a blob several pieces share (an encrypted remote multipart object) once."""
    seen = set()
    for loc in locations or ():
        blob = ctx.backend.locations.piece_id(loc)
        if blob in seen:
            continue
        seen.add(blob)
        try:
            await ctx.backend.locations.delete(loc)
        except Exception as e:  # an orphan is not worth failing the request for
            # (a local file keeps its intent entry: the orphan sweep removes it)
            _log.warn("could not delete data {key} at {loc}: {error!r}", key=loc.get("key"),
                      loc=loc.get("loc") or "default", error=e)


@survives_disconnect
async def commit_object(ctx: RequestContext, md: dict, options: dict | None = None,
                        *, bucket: str | None = None, key: str | None = None,
                        new_data: bool = True) -> dict:
    """Write the metadata (with the bucket's versioning ``options``); on failure
    remove the new data (``new_data`` False: ``md`` points at data another
    record holds, a copy onto itself, which stays); then drop the data of
    records nothing refers to any more.  Returns the metadata service's result."""
    bucket = bucket or ctx.bucket
    key = key or ctx.key
    options = with_event(ctx, options)
    try:
        if options:
            result = await ctx.backend.metadata.put_object(bucket, key, md, options)
        else:
            result = await ctx.backend.metadata.put_object(bucket, key, md)
    except BaseException:
        if new_data:
            await delete_data(ctx, md[Obj.LOCATION])
        raise
    piece_id = ctx.backend.locations.piece_id
    kept = {piece_id(loc) for loc in md[Obj.LOCATION]}
    for record in freed_records(result):
        await delete_data(ctx, [loc for loc in record.get(Obj.LOCATION) or ()
                                if piece_id(loc) not in kept])
    return result if isinstance(result, dict) else {}


def write_encryption(ctx: RequestContext, header, bucket: dict, bucket_name: str,
                     key: str) -> sse.SseSpec | None:
    """How a new object is encrypted (sse.apply.resolve), from ``header``
    (the request's headers, or a form's fields); refuses before any byte
    is read."""
    request = write_request(header)
    require_secure(request.customer, ctx.secure, ctx.backend.config)
    return sse.resolve(ctx.backend.kms, request, bucket, bucket_name, key)


def encrypted_target(target, spec: sse.SseSpec | None):
    """A remote store receives ciphertext: the plaintext's Content-MD5 must
    not go with it (the remote would refuse it, and it tells the MD5 of
    the plaintext of an SSE-KMS/SSE-C object)."""
    if spec is None or target is None or target.context is None:
        return target
    return attrs.evolve(target, context=attrs.evolve(target.context, content_md5=None))


def set_encryption(md: dict, spec: sse.SseSpec | None, piece: sse.PieceCipher | None,
                   md5_hex: str) -> None:
    """Record how the new object ``md`` was encrypted: its pieces' cipher,
    ObjectRecord.SSE, and the ETag AWS gives it (``sse.stored_etag``)."""
    if spec is None:
        md.pop(Obj.SSE, None)
        return
    md[Obj.LOCATION] = sse.with_cipher(md[Obj.LOCATION], piece)
    md[Obj.SSE] = sse.object_record(spec)
    md[Obj.ETAG] = sse.stored_etag(spec, piece, md5_hex)


def storage_class(ctx: RequestContext) -> str:
    sc = ctx.header("x-amz-storage-class")
    if sc is None:
        return "STANDARD"
    if sc not in ("STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA",
                  "INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR"):
        raise S3Error("InvalidStorageClass", StorageClassRequested=sc)
    return sc


async def put_object(ctx: RequestContext) -> Response:
    bucket = await load_bucket(ctx)
    refuse_version_param(ctx.query)
    object_acl = object_acl_from_request(ctx, bucket)
    tags = request_tags(ctx.header)
    object_lock = lock.requested_lock(ctx.header, bucket, ctx.backend.clock.seconds())
    lock.require_integrity(ctx.headers, ctx.header,
                           retained=Obj.RETAIN_UNTIL in object_lock)
    exp = expected_from_headers(ctx)
    metadata = user_metadata(ctx)
    headers = stored_headers(ctx)
    sc = storage_class(ctx)
    redirect = website_redirect(ctx)
    spec = write_encryption(ctx, ctx.header, bucket, ctx.bucket, ctx.key)
    await check_write_conditions(ctx, ctx.bucket, ctx.key)
    target = placement.object_target(ctx, bucket, exp.length, metadata=metadata,
                                     headers=headers, content_type=ctx.header("content-type"))
    target = encrypted_target(target, spec)
    # The data key before the body: a bad KMS key id fails before any byte is stored.
    piece = await sse.new_piece(ctx.backend.kms, spec) if spec is not None else None
    received = await receive_body(ctx, exp, target=target, inline=True, cipher=piece)
    md = object_record(ctx, received, content_type=ctx.header("content-type"),
                       headers=headers, metadata=metadata,
                       owner=object_owner(ctx, bucket, object_acl))
    set_encryption(md, spec, piece, received.md5_hex)
    md[Obj.STORAGE_CLASS] = sc
    md[Obj.ACL] = object_acl.to_record()
    set_tags(md, tags)
    set_website_redirect(md, redirect)
    lock.set_lock(md, object_lock)
    result = await commit_object(ctx, md, with_conditions(ctx, write_options(bucket)))
    out = [("ETag", quoted_etag(md[Obj.ETAG]))]
    if versioning_state(bucket) == "Enabled":
        version = result_version_id(result)
        if version is not None:
            out.append(("x-amz-version-id", version))
    if received.checksum_algorithm is not None:
        out.append((checksums.header_name(received.checksum_algorithm),
                    received.checksum_value))
        out.append(("x-amz-checksum-type", "FULL_OBJECT"))
    out.extend(sse.response_headers(md.get(Obj.SSE)))
    out.extend(expiration_headers(ctx, bucket, md))
    return Response(headers=out)


HANDLERS = {"PutObject": put_object}
