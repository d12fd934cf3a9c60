# -*- test-case-name: tests.unit.test_ops_copy -*-
"""CopyObject: source parsing and conditionals, metadata directive, and a
streamed copy of the data (store producer -> UploadChain: digests ->
transforms -> store writer)."""
from __future__ import annotations

from urllib.parse import unquote

from twisted.internet.defer import Deferred
from zope.interface import implementer
from twisted.internet.interfaces import IConsumer

from cloudserver.data.producers import ChainedProducer
from cloudserver.metadata import errors as md_errors
from cloudserver.data.inline import InlineWriter
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.s3.model import checksums, lock, placement
from cloudserver.s3.access import COPY_SOURCE
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.model.conditions import failed_condition
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.lifecycle import expiration_headers
from cloudserver.s3.ops.common import (
    WEBSITE_REDIRECT, load_bucket, now, set_website_redirect, stored_headers,
    user_metadata, website_redirect)
from cloudserver.s3.ops.acl import object_acl_from_request, object_owner
from cloudserver.s3.ops.object_read import load_current, piece_producers
from cloudserver.s3.ops.object_write import (
    commit_object, encrypted_target, set_encryption, storage_class, write_encryption)
from cloudserver.s3.ops.upload import MAX_PUT_SIZE
from cloudserver.s3.model.tags import copy_tags, set_tags
from cloudserver.s3.ops.upload_chain import UploadChain
from cloudserver.s3.sse import apply as sse
from cloudserver.s3.sse.request import (
    COPY_SOURCE_CUSTOMER, CUSTOMER, KMS_KEY_ID, SSE, customer_key, require_secure,
    write_request)
from cloudserver.s3.xml import copy_object_result_xml, iso8601
from cloudserver.s3.model.versions import (
    VERSION_FIELDS, client_version_id, refuse_version_param, result_version_id,
    versioning_state, write_options)


def parse_copy_source(value: str) -> tuple[str, str, str | None]:
    """(bucket, key, versionId) from x-amz-copy-source."""
    source, _, query = value.partition("?")
    version = None
    if query:
        for part in query.split("&"):
            name, _, v = part.partition("=")
            if name == "versionId":
                version = unquote(v)
    source = unquote(source).lstrip("/")
    bucket, _, key = source.partition("/")
    if not bucket or not key:
        raise S3Error("InvalidArgument", "Invalid copy source object key",
                      ArgumentName="x-amz-copy-source", ArgumentValue=value)
    return bucket, key, version


def check_copy_conditions(ctx: RequestContext, md: dict) -> None:
    """x-amz-copy-source-if-*: every failed condition answers 412 (AWS)."""
    failed = failed_condition(md, lambda name: ctx.header("x-amz-copy-source-" + name))
    if failed is not None:
        raise S3Error("PreconditionFailed", Condition="x-amz-copy-source-" + failed)


@implementer(IConsumer)
class WriterConsumer:
    """Feeds a producer's bytes to an UploadChain, pausing it on backpressure."""

    def __init__(self, chain: UploadChain):
        self.chain = chain
        self.producer = None
        #: fires when the producer finished, or fails with the writer's failure
        self.done = Deferred()

    def registerProducer(self, producer, streaming):
        self.producer = producer

    def unregisterProducer(self):
        self.producer = None

    def write(self, data):
        waiting = self.chain.write(data)
        if isinstance(waiting, Deferred) and self.producer is not None:
            producer = self.producer
            producer.pauseProducing()
            waiting.addCallbacks(lambda _: producer.resumeProducing(), self._write_failed)

    def _write_failed(self, failure) -> None:
        """The writer failed (a remote location went away): stop reading and
        fail the copy, instead of leaving the producer paused for ever."""
        if self.producer is not None:
            self.producer.stopProducing()
        if not self.done.called:
            self.done.errback(failure)


async def copy_data(ctx: RequestContext, locations: list[dict], start: int, length: int,
                    checksum: str | None, target=None, writer=None, stages=None,
                    cipher=None):
    """Copy ``length`` bytes of stored pieces into a new blob; (key, digests).

    Pieces are read from the stores their locations name; the copy goes to
    ``target`` (placement.Target; None: the default store), through
    ``writer`` when the caller made it.  ``stages`` decrypt the source
    (object_read.piece_producers), ``cipher`` (sse.apply.PieceCipher)
    encrypts the copy."""
    digests = checksums.BodyDigests(sha256=False, checksum=checksum)
    if length == 0 and not (target is not None and target.remote):
        if writer is not None:
            await writer.abort()  # an empty local copy needs no blob
        return None, digests
    try:
        producers = piece_producers(ctx.backend.locations, locations, start, length, stages)
    except BaseException:
        # e.g. KeyError: the source's data file is gone; the new blob must go too
        if writer is not None:
            await writer.abort()
        raise
    producer = producers[0] if len(producers) == 1 else ChainedProducer(producers)
    if writer is None:
        writer = placement.create_writer(ctx, target)
    chain = UploadChain(digests, writer, () if cipher is None else (cipher.stage(),))
    consumer = WriterConsumer(chain)
    consumer.registerProducer(producer, True)
    try:
        producer.startProducing(consumer).chainDeferred(consumer.done)
        await consumer.done
        key = await chain.finish()  # nothing to verify: we read what we stored
    except BaseException:
        producer.stopProducing()
        await chain.abort()
        raise
    return key, digests


def metadata_directive(ctx: RequestContext) -> str:
    """x-amz-metadata-directive: COPY (the default) or REPLACE."""
    directive = (ctx.header("x-amz-metadata-directive") or "COPY").upper()
    if directive not in ("COPY", "REPLACE"):
        raise S3Error("InvalidArgument", "Unknown metadata directive.",
                      ArgumentName="x-amz-metadata-directive", ArgumentValue=directive)
    return directive


def check_not_noop(ctx: RequestContext, directive: str, src_version: str | None) -> None:
    """A copy onto its own source must change something, or name a version
    (restoring an old version is a copy onto the same key)."""
    if src_version is None and directive == "COPY" and all(
            ctx.header(name) is None for name in (
                "x-amz-storage-class", SSE, CUSTOMER + "algorithm", KMS_KEY_ID,
                WEBSITE_REDIRECT)):
        raise S3Error("InvalidRequest", "This copy request is illegal because it is trying "
                      "to copy an object to itself without changing the object's metadata, "
                      "storage class, website redirect location or encryption attributes.")


def copied_metadata(ctx: RequestContext, src: dict, directive: str
                    ) -> tuple[dict, dict, str | None]:
    """(user metadata, content headers, content type) of the copy.

    COPY keeps the source's; REPLACE takes the request's, and what the
    request leaves out is gone (Content-Type falls back to the default)."""
    if directive == "REPLACE":
        return (user_metadata(ctx), stored_headers(ctx),
                ctx.header("content-type") or "binary/octet-stream")
    return (dict(src.get(Obj.METADATA, {})), dict(src.get(Obj.HEADERS, {})),
            src.get(Obj.CONTENT_TYPE))


async def load_source(ctx: RequestContext, bucket: str, key: str,
                      version: str | None) -> dict:
    """The record the copy reads (READ on it), delete markers refused."""
    attrs = await _load_source_bucket(ctx, bucket)
    try:
        return await load_current(ctx, bucket, key, version, access=COPY_SOURCE,
                                  bucket_attrs=attrs)
    except S3Error as e:
        if e.code == "MethodNotAllowed":  # a delete marker named by its version id
            raise S3Error("InvalidRequest", "The source of a copy request may not "
                          "specifically refer to a delete marker by version id.") from None
        raise


async def copy_object(ctx: RequestContext) -> Response:
    dest = await load_bucket(ctx)
    refuse_version_param(ctx.query)
    object_acl = object_acl_from_request(ctx, dest)  # the source's ACL is not copied
    redirect = website_redirect(ctx)
    # The copy's lock is the request's or the bucket default, never the source's.
    object_lock = lock.requested_lock(ctx.header, dest, ctx.backend.clock.seconds())
    src_bucket, src_key, src_version = parse_copy_source(ctx.header("x-amz-copy-source"))
    src_customer = customer_key(ctx.header, COPY_SOURCE_CUSTOMER)
    require_secure(src_customer, ctx.secure, ctx.backend.config)
    asked = write_request(ctx.header)
    spec = write_encryption(ctx, ctx.header, dest, ctx.bucket, ctx.key)
    src = await load_source(ctx, src_bucket, src_key, src_version)
    sse.check_customer(src.get(Obj.SSE), src_customer)
    check_copy_conditions(ctx, src)
    tags = copy_tags(ctx.header, src)
    if src[Obj.SIZE] > MAX_PUT_SIZE:
        raise S3Error("InvalidRequest", "The specified copy source is larger than the "
                      "maximum allowable size for a copy source: 5368709120")
    directive = metadata_directive(ctx)
    same = (src_bucket, src_key) == (ctx.bucket, ctx.key)
    if same:
        check_not_noop(ctx, directive, src_version)
    metadata, headers, content_type = copied_metadata(ctx, src, directive)
    sc_header = ctx.header("x-amz-storage-class")
    sc = storage_class(ctx) if sc_header is not None else \
        src.get(Obj.STORAGE_CLASS, "STANDARD")
    owner, owner_name = object_owner(ctx, dest, object_acl)
    md = dict(src)
    md.update({
        Obj.KEY: ctx.key, Obj.LAST_MODIFIED: now(), Obj.CONTENT_TYPE: content_type,
        Obj.HEADERS: headers, Obj.METADATA: metadata, Obj.STORAGE_CLASS: sc,
        Obj.OWNER: owner, Obj.OWNER_NAME: owner_name, Obj.ACL: object_acl.to_record(),
    })
    for field in VERSION_FIELDS:
        md.pop(field, None)
    md.pop(Obj.REQUEST_HEADERS, None)  # a multipart source's: not the copy's
    set_tags(md, tags)
    # AWS: the redirect "is unique to each object and is not copied" by
    # either directive; the copy has the request's, or none.
    set_website_redirect(md, redirect)
    lock.set_lock(md, object_lock)
    options = write_options(dest)
    # Without versioning a copy onto itself only rewrites metadata (the data is
    # shared with the record it replaces); with versioning the old version stays,
    # so the new one gets its own copy of the bytes.
    # A copy that asks for no encryption change keeps the pieces, and with
    # them their data keys and IVs; any SSE header re-encrypts.
    copied = not same or options is not None or not asked.empty
    if copied:
        await _copy_bytes(ctx, dest, src, md, src_customer, spec)
    # A failed commit of a copy onto itself must not free the pieces it shares.
    result = await commit_object(ctx, md, options, new_data=copied)
    resp = _copy_response(dest, src, md, result)
    resp.headers.extend(expiration_headers(ctx, dest, md))
    return resp


async def _copy_bytes(ctx: RequestContext, dest: dict, src: dict, md: dict,
                      src_customer, spec: sse.SseSpec | None) -> None:
    """Copy the source's data where the new object goes; point ``md`` at it,
    with the ETag and checksum of what was written.  The source is
    decrypted (``src_customer``: its SSE-C key) and the copy encrypted as
    ``spec`` says, with a data key and IV of its own."""
    md.pop(Obj.PARTS, None)  # the copy is one piece, whatever the source was
    md.pop(Obj.UPLOAD_ID, None)
    checksum = src.get(Obj.CHECKSUM)
    algorithm = checksum["algorithm"] if checksum else None
    target = placement.object_target(ctx, dest, src[Obj.SIZE], metadata=md[Obj.METADATA],
                                     headers=md[Obj.HEADERS],
                                     content_type=md[Obj.CONTENT_TYPE])
    target = encrypted_target(target, spec)
    kms = ctx.backend.kms
    piece = await sse.new_piece(kms, spec) if spec is not None else None
    stages = await sse.read_stages(kms, src, src_customer, 0, src[Obj.SIZE])
    writer = placement.create_writer(ctx, target, src[Obj.SIZE])
    key, digests = await copy_data(ctx, src[Obj.LOCATION], 0, src[Obj.SIZE], algorithm,
                                   target, writer, stages=stages, cipher=piece)
    md[Obj.LOCATION] = placement.pieces(
        ctx, target, key, src[Obj.SIZE],
        writer.data if isinstance(writer, InlineWriter) else None)
    md[Obj.ETAG] = digests.md5_hex()
    set_encryption(md, spec, piece, md[Obj.ETAG])
    if algorithm:
        md[Obj.CHECKSUM] = {"algorithm": algorithm, "value": digests.checksum[1],
                            "type": "FULL_OBJECT"}


def _copy_response(dest: dict, src: dict, md: dict, result: dict) -> Response:
    checks = None
    if md.get(Obj.CHECKSUM):
        checks = {md[Obj.CHECKSUM]["algorithm"]: md[Obj.CHECKSUM]["value"]}
    body = copy_object_result_xml(md[Obj.ETAG], iso8601(md[Obj.LAST_MODIFIED]), checks)
    headers = sse.response_headers(md.get(Obj.SSE))
    src_shown = client_version_id(src)
    if src_shown is not None:
        headers.append(("x-amz-copy-source-version-id", src_shown))
    if versioning_state(dest) == "Enabled":
        version = result_version_id(result)
        if version is not None:
            headers.append(("x-amz-version-id", version))
    return Response.xml(body, headers=headers)


async def _load_source_bucket(ctx: RequestContext, name: str) -> dict:
    try:
        attrs = await ctx.backend.metadata.get_bucket(name)
    except md_errors.NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=name) from None
    return attrs


HANDLERS = {"CopyObject": copy_object}
