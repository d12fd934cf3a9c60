# -*- test-case-name: tests.unit.test_multipart_sse -*-
"""Server-side encryption of multipart uploads (cloudserver.s3.sse.apply).

CreateMultipartUpload decides once how the upload is encrypted and keeps
it in ``UploadRecord.SSE`` (SSE-C: the salted HMAC of the key, never the
key); every part, streamed or copied, is then stored with its own data key
and IV from that record.  CompleteMultipartUpload moves no byte: the
object's pieces keep their parts' cipher records (it only checks an SSE-C
key, and needs one only where AWS does).  SSE-C parts must bring the
upload's key again; the SSE-S3/KMS headers a part carries are ignored, as
AWS does (the upload's settings apply).
"""
from __future__ import annotations

from collections.abc import Mapping

from cloudserver.kms.errors import NoSuchKmsKey
from cloudserver.metadata.schema import PartRecord
from cloudserver.metadata.schema import UploadRecord as Upl
from cloudserver.s3.context import RequestContext
from cloudserver.s3.errors import S3Error
from cloudserver.s3.sse import apply
from cloudserver.s3.sse.request import (
    COPY_SOURCE_CUSTOMER, CUSTOMER, KMS, CustomerKey, customer_key, require_secure,
    write_request)

#: Request headers never kept in an upload record: the customer's key (and
#: its MD5, which names it) of the object or of a copy source.
SECRET_HEADERS = (CUSTOMER + "key", COPY_SOURCE_CUSTOMER + "key")

MISSING_PART_KEY = ("The multipart upload initiate requested encryption. Subsequent part "
                    "requests must include the appropriate encryption parameters.")
WRONG_PART_KEY = ("The provided encryption parameters did not match the ones used "
                  "originally.")


def kept_headers(ctx: RequestContext, prefixes: tuple[str, ...]) -> dict[str, str]:
    """The request headers an upload keeps for its object, without any key."""
    return {name: ctx.header(name) for name in ctx.headers
            if name.startswith(prefixes) and not name.startswith(SECRET_HEADERS)}


async def upload_sse(ctx: RequestContext, bucket_attrs: Mapping) -> dict | None:
    """UploadRecord.SSE of a new upload (its request, else the bucket's
    default), None for a clear one; refused before the upload exists: bad
    SSE headers, SSE-C over plain HTTP, a KMS key id the KMS does not know."""
    request = write_request(ctx.header)
    require_secure(request.customer, ctx.secure, ctx.backend.config)
    spec = apply.resolve(ctx.backend.kms, request, bucket_attrs, ctx.bucket, ctx.key)
    if spec is None:
        return None
    if spec.algorithm == KMS and not await ctx.backend.kms.has_key(spec.key_id):
        raise NoSuchKmsKey(f"no master key {spec.key_id!r} in the "
                           f"{ctx.backend.kms.name} KMS")
    return apply.object_record(spec)


def part_customer(ctx: RequestContext, upload: Mapping) -> CustomerKey | None:
    """The SSE-C key a part (or a completion) brings, checked against the
    upload's: missing or another key is AWS's 400 InvalidRequest."""
    customer = customer_key(ctx.header)
    require_secure(customer, ctx.secure, ctx.backend.config)
    record = upload.get(Upl.SSE)
    if record is None or "customerKeyHmac" not in record:
        apply.check_customer(record, customer)  # a key for a clear upload: refused
        return customer
    if customer is None:
        raise S3Error("InvalidRequest", MISSING_PART_KEY)
    try:
        apply.check_customer(record, customer)
    except S3Error:
        raise S3Error("InvalidRequest", WRONG_PART_KEY) from None
    return customer


def check_completion(ctx: RequestContext, upload: Mapping, parts: list[Mapping]) -> None:
    """CompleteMultipartUpload of an SSE-C upload: AWS requires the key
    "only when the object was created using a checksum algorithm" (the
    upload's, or its parts': today's SDKs send one with every part); a key
    that is sent must be well formed and the upload's."""
    customer = customer_key(ctx.header)
    require_secure(customer, ctx.secure, ctx.backend.config)
    record = upload.get(Upl.SSE)
    if record is None or "customerKeyHmac" not in record:
        return
    if customer is None:
        if upload.get(Upl.CHECKSUM) or any(
                (p.get(PartRecord.CHECKSUM) or {}).get("value") for p in parts):
            raise S3Error("InvalidRequest", MISSING_PART_KEY)
        return
    try:
        apply.check_customer(record, customer)
    except S3Error:
        raise S3Error("InvalidRequest", WRONG_PART_KEY) from None


async def part_cipher(ctx: RequestContext, upload: Mapping
                      ) -> tuple[apply.SseSpec | None, apply.PieceCipher | None]:
    """(spec, PieceCipher) of a new part of ``upload``: a fresh data key and
    IV, taken before any byte is read; (None, None) for a clear upload."""
    customer = part_customer(ctx, upload)
    record = upload.get(Upl.SSE)
    if record is None:
        return None, None
    spec = apply.spec_of_record(record, customer)
    return spec, await apply.new_piece(ctx.backend.kms, spec)


async def source_stages(ctx: RequestContext, src: Mapping, start: int, length: int):
    """The stages decrypting ``length`` bytes of copy source ``src`` from
    ``start`` (its SSE-C key from x-amz-copy-source-server-side-encryption-
    customer-*), None for a clear source."""
    customer = customer_key(ctx.header, COPY_SOURCE_CUSTOMER)
    require_secure(customer, ctx.secure, ctx.backend.config)
    return await apply.read_stages(ctx.backend.kms, src, customer, start, length)
