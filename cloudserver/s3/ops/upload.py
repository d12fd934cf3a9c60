# -*- test-case-name: tests.unit.test_ops_object -*-
"""The streaming upload pipeline shared by PutObject and UploadPart:
request headers -> expected digests; body -> decoder -> UploadChain
(digests -> transforms -> data store, verified before the data is
complete); durable data location.

Nothing here touches metadata: the caller writes it only after
``receive_body`` returned, so a failed or aborted upload leaves nothing.
"""
from __future__ import annotations

import base64
import binascii

import attrs

from cloudserver.data.inline import InlineWriter
from cloudserver.s3.model import checksums, placement
from cloudserver.s3.context import RequestContext
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.upload_chain import UploadChain

MAX_PUT_SIZE = 5 * 1024 ** 3


@attrs.define
class Expected:
    """What the body must turn out to be, decided from the headers."""

    length: int | None  # None: chunked transfer encoding, size known at the end
    md5_b64: str | None = None
    sha256: str | None = None
    checksum_algorithm: str | None = None
    checksum_value: str | None = None  # from a header; None when it comes as a trailer
    trailer: str | None = None  # the trailer header name carrying the checksum


@attrs.define
class Received:
    key: str | None  # data store key, None for an empty body
    size: int
    md5_hex: str
    checksum_algorithm: str | None
    checksum_value: str | None
    #: where the data went (placement.Target), None: the default store
    target: object = None
    #: the bytes themselves when they stay in the metadata record
    inline_data: bytes | None = None


def _checksum_headers(ctx: RequestContext) -> tuple[str | None, str | None]:
    found = [(name, ctx.header(name)) for name in ctx.headers
             if name.startswith("x-amz-checksum-") and name not in (
                 "x-amz-checksum-mode", "x-amz-checksum-type", "x-amz-checksum-algorithm")]
    if len(found) > 1:
        raise S3Error("InvalidRequest", "Expecting a single x-amz-checksum- header. "
                      "Multiple checksum Types are not allowed.")
    if not found:
        return None, None
    name, value = found[0]
    algorithm = checksums.algorithm_from_header(name)
    if algorithm is None:
        raise S3Error("InvalidRequest", "The algorithm type you specified in "
                      f"{name} header is invalid.")
    if not checksums.is_valid_b64_digest(algorithm, value or ""):
        # AWS answers BadDigest, not InvalidRequest, for a malformed value.
        raise S3Error("BadDigest", f"The {algorithm} you specified did not match the "
                      "calculated checksum.")
    return algorithm, value


def expected_from_headers(ctx: RequestContext, *, max_size: int = MAX_PUT_SIZE) -> Expected:
    """Validate the upload headers before reading any of the body."""
    chunked = ctx.auth.payload.chunked
    decoded = ctx.header("x-amz-decoded-content-length")
    raw_length = ctx.header("content-length")
    te_chunked = "chunked" in (ctx.header("transfer-encoding") or "").lower()
    length_text = decoded if chunked else raw_length
    if length_text is None:
        # Transfer-Encoding: chunked may stand for Content-Length, not for
        # aws-chunked's x-amz-decoded-content-length (which AWS requires).
        if chunked or not te_chunked:
            raise S3Error("MissingContentLength")
        length = None
    else:
        try:
            length = int(length_text)
            if length < 0:
                raise ValueError
        except ValueError:
            raise S3Error("InvalidArgument", "Invalid content length",
                          ArgumentName="Content-Length", ArgumentValue=length_text) from None
    if length is not None and length > max_size:
        raise S3Error("EntityTooLarge", ProposedSize=str(length),
                      MaxSizeAllowed=str(max_size))
    exp = Expected(length=length, sha256=ctx.auth.payload.sha256)

    md5 = ctx.header("content-md5")
    if md5 is not None:
        try:
            if len(base64.b64decode(md5, validate=True)) != 16:
                raise ValueError
        except (binascii.Error, ValueError):
            raise S3Error("InvalidDigest") from None
        exp.md5_b64 = md5

    algorithm, value = _checksum_headers(ctx)
    sdk_algorithm = ctx.header("x-amz-sdk-checksum-algorithm")
    trailer = ctx.header("x-amz-trailer")
    if trailer is not None:
        trailer = trailer.strip().lower()
        t_alg = checksums.algorithm_from_header(trailer)
        if t_alg is None:
            raise S3Error("InvalidRequest", "The value specified in the x-amz-trailer "
                          "header is not supported")
        if algorithm is not None and algorithm != t_alg:
            raise S3Error("InvalidRequest", "Expecting a single x-amz-checksum- header")
        algorithm, exp.trailer = t_alg, trailer
    if sdk_algorithm is not None:
        sdk = sdk_algorithm.upper()
        if sdk not in checksums.ALGORITHMS:
            raise S3Error("InvalidRequest", "Checksum algorithm provided is unsupported. "
                          "Please try again with any of the valid types: [CRC32, CRC32C, "
                          "CRC64NVME, SHA1, SHA256]")
        if algorithm is None:
            # The value should arrive as a header or trailer; without either,
            # AWS computes and stores this algorithm's checksum.
            algorithm = sdk
        elif algorithm != sdk:
            raise S3Error("InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header "
                          "is invalid.")
    exp.checksum_algorithm = algorithm
    exp.checksum_value = value
    return exp


async def receive_body(ctx: RequestContext, exp: Expected, *,
                       max_size: int = MAX_PUT_SIZE, target=None,
                       inline: bool = False, cipher=None) -> Received:
    """Stream the body into the data store and verify it; durable on return.

    ``target`` (placement.Target) names the location; None is the default
    store.  A remote location gets a writer even for an empty body (the
    remote object must exist).  ``inline``: a whole object (not a part),
    which may stay in its metadata record when its declared size is small
    (the bytes are durable with that record, not on return).  The body goes
    through an UploadChain; its digests are checked in the writer's
    ``before_commit``, before the data is complete.  ``cipher``
    (sse.apply.PieceCipher) encrypts what is stored, after the digests saw
    the plaintext."""
    digests = checksums.BodyDigests(sha256=exp.sha256 is not None,
                                    checksum=exp.checksum_algorithm)
    decoder = ctx.auth.payload.make_decoder() if ctx.auth.payload.chunked else None
    remote = target is not None and target.remote
    writer = placement.create_writer(ctx, target, exp.length if inline else None) \
        if exp.length != 0 or remote else None
    chain = UploadChain(digests, writer, () if cipher is None else (cipher.stage(),))
    limit = exp.length if exp.length is not None else max_size
    write = chain.write

    def on_data(piece):
        if digests.size + len(piece) > limit:
            if exp.length is None:
                raise S3Error("EntityTooLarge", MaxSizeAllowed=str(max_size))
            raise S3Error("IncompleteBody", "The request body is longer than its "
                          "declared length.")
        return write(piece)

    try:
        trailers = await ctx.body.start(on_data, decoder)
        if exp.length is not None and digests.size != exp.length:
            raise S3Error("IncompleteBody")
        key = await chain.finish(lambda: _verify(exp, digests, trailers),
                                 keep_empty=remote)
    except BaseException:
        await chain.abort()
        raise
    value = exp.checksum_value
    if exp.checksum_algorithm is not None:
        value = digests.checksum[1]
    inline_data = writer.data if isinstance(writer, InlineWriter) else None
    return Received(key=key, size=digests.size, md5_hex=digests.md5_hex(),
                    checksum_algorithm=exp.checksum_algorithm, checksum_value=value,
                    target=target, inline_data=inline_data)


def _verify(exp: Expected, digests, trailers: dict[str, str]) -> None:
    if exp.sha256 is not None and digests.sha256_hex() != exp.sha256:
        raise S3Error("XAmzContentSHA256Mismatch", ClientComputedContentSHA256=exp.sha256,
                      S3ComputedContentSHA256=digests.sha256_hex())
    if exp.md5_b64 is not None and digests.md5_b64() != exp.md5_b64:
        raise S3Error("BadDigest", ExpectedDigest=exp.md5_b64,
                      CalculatedDigest=digests.md5_b64())
    if exp.checksum_algorithm is None:
        return
    expected = exp.checksum_value
    if exp.trailer is not None:
        expected = trailers.get(exp.trailer)
        if expected is None:
            raise S3Error("InvalidRequest", "The x-amz-trailer header did not match the "
                          "trailing checksum sent.")
        if not checksums.is_valid_b64_digest(exp.checksum_algorithm, expected):
            raise S3Error("InvalidRequest", f"Value for {exp.trailer} trailing header is "
                          "invalid.")
    if expected is not None and expected != digests.checksum[1]:
        raise S3Error("BadDigest", f"The {exp.checksum_algorithm} you specified did not "
                      "match the calculated checksum.")
