# -*- test-case-name: tests.unit.test_post_object -*-
"""PostObject: browser-based uploads (an HTML form posted to the bucket).

The body is ``multipart/form-data``: fields first (key, policy, signature,
acl, metadata...), the object's bytes last in the ``file`` part.  It is
parsed as it streams (cloudserver.s3.http.formdata).  When the file part
begins, every field is in: the form is checked then, before any byte is
stored — the signature and policy (cloudserver.s3.auth.post_policy), the
bucket ACL for the signer or the anonymous caller, the object's ACL,
metadata and tags.  The file then streams into the data store as a
PutObject body does, through an UploadChain (hashed on the way); only
when it is complete, within the policy's content-length-range and
matching its checksum field (checked in the writer's ``before_commit``),
is the data made durable and the metadata written.

Form fields play the part PutObject's headers play, so the same helpers
(ACL, metadata, stored headers, storage class, record, commit) read them
from a request context whose headers are the fields.
"""
from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

import attrs
from twisted.internet.defer import Deferred

from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.s3.access import acl
from cloudserver.s3.model import checksums, lock
from cloudserver.s3.access import authorize
from cloudserver.s3.auth.authenticate import AuthResult
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.http.formdata import (
    Field, FileData, FileStart, FormDataParser, boundary_of)
from cloudserver.s3.ops.acl import object_acl_from_request, object_owner
from cloudserver.s3.ops.upload_chain import UploadChain
from cloudserver.s3.ops.common import (
    load_bucket, quoted_etag, stored_headers, user_metadata)
from cloudserver.s3.ops.object_write import (
    commit_object, object_record, set_encryption, storage_class, write_encryption)
from cloudserver.s3.sse import apply as sse
from cloudserver.s3.ops.upload import MAX_PUT_SIZE, Received
from cloudserver.s3.auth.post_policy import check_policy, missing_field, parse_policy, signed_by
from cloudserver.s3.routing import MAX_KEY_BYTES
from cloudserver.s3.model.tags import set_tags
from cloudserver.s3.model.versions import result_version_id, versioning_state, write_options
from cloudserver.s3.xml.build import plain_root, serialize, sub
from cloudserver.s3.xml.parse import MAX_OBJECT_TAGS, parse_tagging

_C1_CONTROLS = re.compile("[\x80-\x9f]")
_SUCCESS_STATUSES = (200, 201, 204)


@attrs.define
class _Target:
    """What the checked form asks for: where the file goes and how."""

    ctx: RequestContext               # the fields as headers, the signer as account
    content_type: str | None
    headers: dict
    metadata: dict
    storage_class: str
    acl: acl.Acl
    tags: list
    min_size: int
    max_size: int
    checksum: tuple[str, str] | None  # (algorithm, expected base64 value)
    status: int
    redirect: str | None
    sse: sse.SseSpec | None = None  # from the x-amz-server-side-encryption* fields
    #: the record's lock fields: the x-amz-object-lock-* fields or the bucket default
    lock: dict = attrs.field(factory=dict)


def _decode(name: str, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise S3Error("InvalidArgument", "Form fields must be UTF-8", ArgumentName=name,
                      ArgumentValue="") from None


def _final_key(text: str, filename: str | None) -> str:
    """The key field with ``${filename}`` replaced by the file's base name."""
    if "${filename}" in text:
        base = re.split(r"[/\\]", filename or "")[-1]
        text = text.replace("${filename}", base)
    if not text:
        raise S3Error("InvalidArgument", "User key must have a length greater than 0.",
                      ArgumentName="key", ArgumentValue="")
    if len(text.encode("utf-8")) > MAX_KEY_BYTES:
        raise S3Error("KeyTooLongError", Size=str(len(text.encode("utf-8"))),
                      MaxSizeAllowed=str(MAX_KEY_BYTES))
    if _C1_CONTROLS.search(text):
        raise S3Error("InvalidArgument", "Invalid key", ArgumentName="key",
                      ArgumentValue=text)
    return text


def _checksum_field(fields: dict[str, str]) -> tuple[str, str] | None:
    found = [(n, v) for n, v in fields.items() if n.startswith("x-amz-checksum-")
             and n not in ("x-amz-checksum-algorithm", "x-amz-checksum-type")]
    if not found:
        return None
    if len(found) > 1:
        raise S3Error("InvalidRequest", "Expecting a single x-amz-checksum- field. Multiple "
                      "checksum Types are not allowed.")
    name, value = found[0]
    algorithm = checksums.algorithm_from_header(name)
    if algorithm is None:
        raise S3Error("InvalidRequest", f"The algorithm type you specified in {name} "
                      "field is invalid.")
    if not checksums.is_valid_b64_digest(algorithm, value):
        raise S3Error("InvalidRequest", f"Value for {name} field is invalid.")
    return algorithm, value


def _success_status(value: str | None) -> int:
    """success_action_status: 200, 201 or 204; anything else is 204 (S3)."""
    try:
        status = int(value) if value is not None else 204
    except ValueError:
        return 204
    return status if status in _SUCCESS_STATUSES else 204


def _redirect(value: str | None) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    return value if parts.scheme in ("http", "https") and parts.netloc else None


class _FormUpload:
    """One form being received: fields, then the checked file into the store."""

    def __init__(self, ctx: RequestContext, bucket: dict, boundary: bytes):
        self.ctx = ctx
        self.bucket = bucket
        self.parser = FormDataParser(boundary)
        self.raw: dict[str, bytes] = {}
        self.target: _Target | None = None
        self.digests: checksums.BodyDigests | None = None
        #: the file's way into the store, from its first byte on
        self.chain: UploadChain | None = None
        #: the file's cipher (an encrypted upload), once the KMS gave its data key
        self.cipher: sse.PieceCipher | None = None
        #: file bytes that arrived while the data key was on its way
        self._pending: list[bytes] | None = None

    # -- the body, as it arrives ---------------------------------------------------
    def on_data(self, piece: bytes):
        waiting = None
        for event in self.parser.feed(piece):
            if isinstance(event, FileData):
                waiting = self._write(event.data) or waiting
            elif isinstance(event, Field):
                name = event.name.lower()
                if name in self.raw:
                    raise S3Error("InvalidArgument", "Duplicate form field",
                                  ArgumentName=event.name, ArgumentValue="")
                self.raw[name] = event.value
            elif isinstance(event, FileStart):
                self.target = self._check_form(event)
                self.digests = checksums.BodyDigests(
                    checksum=self.target.checksum[0] if self.target.checksum else None)
                if self.target.sse is not None:
                    waiting = self._await_cipher(self.target.sse)
        return waiting

    def _await_cipher(self, spec: sse.SseSpec) -> Deferred:
        """Ask the KMS for the file's data key before any byte is stored;
        the body waits (the Deferred is its backpressure) and the bytes of
        the piece being parsed wait in ``_pending``."""
        self._pending = []

        def ready(cipher: sse.PieceCipher):
            self.cipher = cipher
            pending, self._pending = self._pending or [], None
            waiting = None
            for data in pending:
                waiting = self._write(data) or waiting
            return waiting
        return Deferred.fromCoroutine(sse.new_piece(self.ctx.backend.kms, spec)
                                      ).addCallback(ready)

    def _write(self, data: bytes):
        assert self.target is not None and self.digests is not None
        if self._pending is not None:
            self._pending.append(bytes(data))
            return None
        size = self.digests.size + len(data)
        if size > self.target.max_size:
            raise S3Error("EntityTooLarge", ProposedSize=str(size),
                          MaxSizeAllowed=str(self.target.max_size))
        if self.chain is None:
            stages = () if self.cipher is None else (self.cipher.stage(),)
            self.chain = UploadChain(self.digests, self.ctx.backend.data.create_writer(),
                                     stages)
        return self.chain.write(data)

    # -- the form, when the file begins ------------------------------------------------
    def _check_form(self, start: FileStart) -> _Target:
        ctx = self.ctx
        fields = {name: _decode(name, raw) for name, raw in self.raw.items()}
        if "key" not in fields:
            raise missing_field("key")
        key = _final_key(fields["key"], start.filename)
        account, version = signed_by(fields, ctx.backend.accounts)
        if version is None:
            account = ctx.account  # a header-signed POST, or anonymous
        low, high = 0, MAX_PUT_SIZE
        if version is not None:
            policy = parse_policy(fields["policy"])
            check_policy(policy, {**fields, "bucket": ctx.bucket, "key": key},
                         ctx.backend.clock.seconds())
            limits = policy.length_range()
            if limits is not None:
                low, high = limits[0], min(limits[1], MAX_PUT_SIZE)
        # The fields stand in for PutObject's headers (bytes as latin-1 text,
        # as header values are kept); ``acl`` is x-amz-acl.
        headers = {name: [raw.decode("latin-1")] for name, raw in self.raw.items()
                   if name not in ("acl", "key", "policy")}
        if "acl" in self.raw:
            headers["x-amz-acl"] = [self.raw["acl"].decode("latin-1")]
        obj_ctx = attrs.evolve(
            ctx, op=attrs.evolve(ctx.op, key=key), headers=headers,
            auth=AuthResult(account, version or ctx.auth.version))
        authorize(obj_ctx, self.bucket).require()  # the form's signer, or anonymous
        tags = []
        if "tagging" in self.raw:
            tags = parse_tagging(self.raw["tagging"], max_tags=MAX_OBJECT_TAGS)
        # The SSE fields are read as PutObject's headers are (names case-insensitive).
        spec = write_encryption(obj_ctx, obj_ctx.header, self.bucket, ctx.bucket, key)
        object_lock = lock.requested_lock(obj_ctx.header, self.bucket,
                                          ctx.backend.clock.seconds())
        return _Target(
            ctx=obj_ctx, content_type=obj_ctx.header("content-type"),
            headers=stored_headers(obj_ctx), metadata=user_metadata(obj_ctx),
            storage_class=storage_class(obj_ctx),
            acl=object_acl_from_request(obj_ctx, self.bucket), tags=tags,
            min_size=low, max_size=high, checksum=_checksum_field(fields),
            status=_success_status(fields.get("success_action_status")),
            redirect=_redirect(fields.get("success_action_redirect")
                               or fields.get("redirect")), sse=spec, lock=object_lock)

    # -- the end ---------------------------------------------------------------------
    async def finish(self) -> Received:
        """The body is in: check it and make the data durable."""
        self.parser.finish()
        target, digests = self.target, self.digests
        if target is None or digests is None:
            raise S3Error("IncorrectNumberOfFilesInPostRequest")
        if digests.size < target.min_size:
            raise S3Error("EntityTooSmall", ProposedSize=str(digests.size),
                          MinSizeAllowed=str(target.min_size))

        def verify() -> None:
            if target.checksum is not None and digests.checksum[1] != target.checksum[1]:
                raise S3Error("BadDigest", f"The {target.checksum[0]} you specified did "
                              "not match the calculated checksum.")

        chain = self.chain if self.chain is not None else UploadChain(digests, None)
        key = await chain.finish(verify)
        self.chain = None
        value = digests.checksum[1] if target.checksum is not None else None
        return Received(key=key, size=digests.size, md5_hex=digests.md5_hex(),
                        checksum_algorithm=target.checksum[0] if target.checksum else None,
                        checksum_value=value)

    async def abort(self) -> None:
        chain, self.chain = self.chain, None
        if chain is not None:
            await chain.abort()


def _post_response(location: str, bucket: str, key: str, etag: str) -> bytes:
    root = plain_root("PostResponse")
    for name, value in (("Location", location), ("Bucket", bucket), ("Key", key),
                        ("ETag", etag)):
        sub(root, name, value)
    return serialize(root)


def _location(ctx: RequestContext, key: str) -> str:
    if ctx.op.virtual_host:
        return f"http://{ctx.host}/{quote(key)}"
    return f"http://{ctx.host}/{quote(ctx.bucket)}/{quote(key)}"


async def post_object(ctx: RequestContext) -> Response:
    boundary = boundary_of(ctx.header("content-type"))
    bucket = await load_bucket(ctx, check=False)  # the form decides who may write
    upload = _FormUpload(ctx, bucket, boundary)
    decoder = ctx.auth.payload.make_decoder() if ctx.auth.payload.chunked else None
    try:
        await ctx.body.start(upload.on_data, decoder)
        received = await upload.finish()
    except BaseException:
        await upload.abort()
        raise
    target = upload.target
    assert target is not None
    obj_ctx = target.ctx
    md = object_record(obj_ctx, received, content_type=target.content_type,
                       headers=target.headers, metadata=target.metadata,
                       owner=object_owner(obj_ctx, bucket, target.acl))
    md[Obj.STORAGE_CLASS] = target.storage_class
    md[Obj.ACL] = target.acl.to_record()
    set_tags(md, target.tags)
    set_encryption(md, target.sse, upload.cipher, received.md5_hex)
    lock.set_lock(md, target.lock)
    result = await commit_object(obj_ctx, md, write_options(bucket))  # frees data on failure
    etag = quoted_etag(md[Obj.ETAG])
    key = obj_ctx.key
    location = _location(ctx, key)
    headers = [("ETag", etag), ("Location", location)] + sse.response_headers(md.get(Obj.SSE))
    if versioning_state(bucket) == "Enabled":
        version = result_version_id(result)
        if version is not None:
            headers.append(("x-amz-version-id", version))
    if target.redirect is not None:
        sep = "&" if "?" in target.redirect else "?"
        url = (f"{target.redirect}{sep}bucket={quote(ctx.bucket, safe='')}"
               f"&key={quote(key, safe='')}&etag={quote(etag, safe='')}")
        return Response(status=303, headers=headers[:1] + [("Location", url)] + headers[2:])
    if target.status == 201:
        return Response.xml(_post_response(location, ctx.bucket, key, etag), status=201,
                            headers=headers)
    return Response(status=target.status, headers=headers)


HANDLERS = {"PostObject": post_object}
