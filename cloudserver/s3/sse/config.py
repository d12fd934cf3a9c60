# -*- test-case-name: tests.unit.test_bucket_encryption -*-
"""CloudServer's bucket-level encryption: CreateBucket with
``x-amz-scal-server-side-encryption`` (what upstream's
``bin/create_encrypted_bucket.js`` sends).

``AES256`` (or ``aws:kms`` without a key id) gives the bucket its own master
key in the KMS (``BucketRecord.BUCKET_KEY_ID``), created before the bucket
record and retired after the bucket record is gone (DeleteBucket);
``aws:kms`` with ``x-amz-scal-server-side-encryption-aws-kms-key-id`` uses
that existing key as the bucket's default (``BucketRecord.ENCRYPTION``).
Upstream ignores a value it does not know; this server refuses it (400), as
it refuses what it does not implement.
"""
from __future__ import annotations

from twisted.logger import Logger

from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.s3.errors import S3Error

HEADER = "x-amz-scal-server-side-encryption"
KEY_ID_HEADER = "x-amz-scal-server-side-encryption-aws-kms-key-id"
AES256, KMS = "AES256", "aws:kms"

log = Logger()


def requested(header) -> tuple[str | None, str | None]:
    """(algorithm, key id) a CreateBucket asks for; S3Error for a refusal."""
    algorithm, key_id = header(HEADER), header(KEY_ID_HEADER)
    if algorithm is None and key_id is None:
        return None, None
    if algorithm not in (AES256, KMS):
        raise S3Error("InvalidArgument", "The encryption method specified is not supported",
                      ArgumentName=HEADER, ArgumentValue=algorithm or "")
    if key_id is not None and algorithm != KMS:
        raise S3Error("InvalidArgument", "Server Side Encryption with AWS KMS managed key "
                      "requires HTTP header x-amz-scal-server-side-encryption : aws:kms",
                      ArgumentName=KEY_ID_HEADER)
    return algorithm, key_id or None


async def bucket_encryption_attrs(ctx) -> dict:
    """The attributes a new bucket gets from the request's bucket-level
    encryption headers (a new master key is created in the KMS: give it
    back with :func:`retire_bucket_key` if the bucket is not created)."""
    algorithm, key_id = requested(ctx.header)
    if algorithm is None:
        return {}
    kms = ctx.backend.kms
    if key_id is not None:
        if not await kms.has_key(key_id):
            raise S3Error("KMS.NotFoundException")
        return {Bkt.ENCRYPTION: {"algorithm": KMS, "keyId": key_id}}
    bucket_key = await kms.create_bucket_key(ctx.bucket)
    attrs: dict = {Bkt.BUCKET_KEY_ID: bucket_key}
    if algorithm == KMS:
        attrs[Bkt.ENCRYPTION] = {"algorithm": KMS, "keyId": bucket_key}
    return attrs


async def retire_bucket_key(ctx, bucket_attrs: dict) -> None:
    """Destroy the bucket's own master key, if it has one.  The bucket
    (and with it every object the key protects) is already gone, so a KMS
    failure is logged (the key id, never key material) and not answered."""
    key_id = bucket_attrs.get(Bkt.BUCKET_KEY_ID)
    if not key_id:
        return
    try:
        await ctx.backend.kms.destroy_bucket_key(key_id)
    except Exception as exc:  # noqa: BLE001 - the request has succeeded already
        log.warn("bucket {bucket}: could not destroy its master key {key_id} in the KMS "
                 "{kms}: {error}", bucket=ctx.bucket, key_id=key_id,
                 kms=getattr(ctx.backend.kms, "name", "?"), error=repr(exc))
