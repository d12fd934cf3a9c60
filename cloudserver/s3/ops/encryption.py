# -*- test-case-name: tests.unit.test_bucket_encryption -*-
"""Get, Put and DeleteBucketEncryption: the bucket's default encryption
(``BucketRecord.ENCRYPTION``), applied by ``sse.apply.resolve`` to objects
written without SSE headers.

Only the bucket owner may use these operations (their routes declare
``owner(...)``).  A KMSMasterKeyID must name a key the server's KMS has,
checked before anything is stored.  A bucket created with CloudServer's
bucket-level encryption (``x-amz-scal-server-side-encryption``, its own
master key in ``BucketRecord.BUCKET_KEY_ID``) encrypts every object with
AES256 even without a configuration, so GetBucketEncryption answers AES256
for it (as upstream), also after DeleteBucketEncryption.
"""
from __future__ import annotations

from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.bucket_config import (
    ConfigDocument, check_content_md5, config_handlers, update_bucket_field)
from cloudserver.s3.ops.common import load_bucket
from cloudserver.s3.xml.encryption import (
    AES256, MAX_BODY, encryption_configuration_xml, parse_encryption_configuration)

#: The ServerSideEncryptionConfiguration document.
ENCRYPTION = ConfigDocument(
    field=Bkt.ENCRYPTION, parse=parse_encryption_configuration,
    to_xml=encryption_configuration_xml,
    not_found="ServerSideEncryptionConfigurationNotFoundError",
    max_body=MAX_BODY, check_md5=True)


def configured(bucket_attrs: dict) -> dict | None:
    """The default encryption GetBucketEncryption shows: the stored
    configuration, else AES256 for a bucket with its own master key."""
    stored = ENCRYPTION.read(bucket_attrs)
    if stored:
        return stored
    if bucket_attrs.get(Bkt.BUCKET_KEY_ID):
        return {"algorithm": AES256}
    return None


async def get_bucket_encryption(ctx: RequestContext) -> Response:
    model = configured(await load_bucket(ctx))
    if model is None:
        raise S3Error(ENCRYPTION.not_found, BucketName=ctx.bucket)
    return Response.xml(encryption_configuration_xml(model))


async def put_bucket_encryption(ctx: RequestContext) -> Response:
    await load_bucket(ctx)
    body = await ctx.read_small_body(MAX_BODY)
    check_content_md5(ctx, body)
    model = parse_encryption_configuration(body)
    key_id = model.get("keyId")
    if key_id is not None and not await ctx.backend.kms.has_key(key_id):
        raise S3Error("KMS.NotFoundException")
    await update_bucket_field(ctx, Bkt.ENCRYPTION, model)
    return Response(status=200)


HANDLERS = {
    **config_handlers(ENCRYPTION, get="GetBucketEncryption", put="PutBucketEncryption",
                      delete="DeleteBucketEncryption"),
    "GetBucketEncryption": get_bucket_encryption,
    "PutBucketEncryption": put_bucket_encryption,
}
