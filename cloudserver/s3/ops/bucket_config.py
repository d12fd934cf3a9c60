# -*- test-case-name: tests.unit.test_bucket_config -*-
"""The Get/Put/Delete of a bucket configuration document, written once.

A configuration (CORS, public access block, tags, ownership; next lifecycle,
website, encryption, object lock, policy) is a model, an XML codec and a
:class:`ConfigDocument` declaring which bucket attribute keeps it;
:func:`config_handlers` gives its three operations.  They share what each
family used to repeat: the owner-only access decision (``load_bucket``,
from the route's declaration), a bounded body read, the optional
Content-MD5 check, and a re-read of the attributes before the update so
that a concurrent change to another attribute is not undone.
"""
from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import attrs

from cloudserver.metadata import errors as md_errors
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.model import checksums
from cloudserver.s3.ops.common import load_bucket

Handler = Callable[[RequestContext], Awaitable[Response]]


def _identity(value: Any) -> Any:
    return value


@attrs.frozen
class ConfigDocument:
    """One bucket configuration: where it is kept and how it is exchanged.

    ``parse`` turns a request body into the model (an S3Error for bad
    input, before anything is stored); ``to_record`` / ``from_record``
    convert between the model and the stored value (None, or a stored
    value that is empty, means "none": the attribute is removed); ``to_xml`` renders the model
    for GET, which answers ``not_found`` when there is none.
    """

    field: str
    parse: Callable[[bytes], Any]
    to_xml: Callable[[Any], bytes]
    not_found: str
    max_body: int
    to_record: Callable[[Any], Any] = _identity
    from_record: Callable[[Any], Any] = _identity
    #: Check a Content-MD5 header against the body when one is sent.
    check_md5: bool = False
    put_status: int = 200
    #: ``check(model, bucket_attrs)``: refuse (an S3Error) a valid model the
    #: bucket's current state does not allow, before anything is stored.
    check: Callable[[Any, dict], None] | None = None

    def read(self, bucket_attrs: dict) -> Any:
        """The model in ``bucket_attrs``, or None when there is none."""
        stored = bucket_attrs.get(self.field)
        return self.from_record(stored) if stored else None


async def update_bucket_field(ctx: RequestContext, field: str, value: Any) -> dict:
    """Set one attribute of the bucket (``None`` removes it) and
    return the attributes written.  The attributes are re-read first, so a
    concurrent change to another attribute is not undone."""
    metadata = ctx.backend.metadata
    try:
        latest = dict(await metadata.get_bucket(ctx.bucket))
        if value is None:
            latest.pop(field, None)
        else:
            latest[field] = value
        await metadata.update_bucket(ctx.bucket, latest)
    except md_errors.NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None
    return latest


def check_content_md5(ctx: RequestContext, body: bytes) -> None:
    md5 = ctx.header("content-md5")
    if md5 is not None and base64.b64encode(hashlib.md5(body).digest()).decode() != md5:
        raise S3Error("BadDigest")


def check_integrity(ctx: RequestContext, body: bytes) -> None:
    """For the operations AWS requires an integrity header on (DeleteObjects,
    PutObjectLockConfiguration, PutObjectRetention, PutObjectLegalHold): a
    Content-MD5 or x-amz-checksum-* headers, each matching the body; none
    is InvalidRequest."""
    md5 = ctx.header("content-md5")
    given = [(name, ctx.header(name)) for name in ctx.headers
             if name.startswith("x-amz-checksum-") and name not in (
                 "x-amz-checksum-mode", "x-amz-checksum-type", "x-amz-checksum-algorithm")]
    if md5 is None and not given:
        raise S3Error("InvalidRequest", "Missing required header for this request: "
                      "Content-MD5")
    if md5 is not None and base64.b64encode(hashlib.md5(body).digest()).decode() != md5:
        raise S3Error("BadDigest")
    for name, value in given:
        algorithm = checksums.algorithm_from_header(name)
        if algorithm is None:
            raise S3Error("InvalidRequest", f"The algorithm type you specified in {name} "
                          "header is invalid.")
        c = checksums.new_checksum(algorithm)
        c.update(body)
        if c.b64digest() != value:
            raise S3Error("BadDigest", f"The {algorithm} you specified did not match the "
                          "calculated checksum.")


async def get_config(ctx: RequestContext, doc: ConfigDocument) -> Response:
    model = doc.read(await load_bucket(ctx))
    if not model:
        raise S3Error(doc.not_found, BucketName=ctx.bucket)
    return Response.xml(doc.to_xml(model))


async def put_config(ctx: RequestContext, doc: ConfigDocument) -> Response:
    attrs = await load_bucket(ctx)
    body = await ctx.read_small_body(doc.max_body)
    if doc.check_md5:
        check_content_md5(ctx, body)
    model = doc.parse(body)
    if doc.check is not None:
        doc.check(model, attrs)
    await update_bucket_field(ctx, doc.field, doc.to_record(model))
    return Response(status=doc.put_status)


async def delete_config(ctx: RequestContext, doc: ConfigDocument) -> Response:
    await load_bucket(ctx)
    await update_bucket_field(ctx, doc.field, None)
    return Response(status=204)


def config_handlers(doc: ConfigDocument, *, get: str, put: str,
                    delete: str) -> dict[str, Handler]:
    """The HANDLERS rows of a configuration's three operations."""
    async def get_handler(ctx: RequestContext) -> Response:
        return await get_config(ctx, doc)

    async def put_handler(ctx: RequestContext) -> Response:
        return await put_config(ctx, doc)

    async def delete_handler(ctx: RequestContext) -> Response:
        return await delete_config(ctx, doc)

    for handler, name in ((get_handler, get), (put_handler, put), (delete_handler, delete)):
        handler.__name__ = handler.__qualname__ = name
    return {get: get_handler, put: put_handler, delete: delete_handler}
