# -*- test-case-name: tests.unit.test_object_lock_config -*-
"""Put/GetObjectLockConfiguration: a bucket's object lock and default retention.

A bucket has object lock when it was created with
``x-amz-bucket-object-lock-enabled: true`` or, as AWS allows since 2023,
when PutObjectLockConfiguration is sent to a bucket whose versioning is
Enabled (anything else is InvalidBucketState: a lock needs versions to
protect).  Lock is never turned off again; the default rule
(``BucketRecord.OBJECT_LOCK_RULE``) may be replaced or removed (a document
without ``Rule``).  There is no DeleteObjectLockConfiguration in S3.  AWS
requires a Content-MD5 (or an x-amz-checksum-*) on the PUT.

Both operations are the owner's unless a bucket policy grants
s3:Put/GetBucketObjectLockConfiguration (the route's declaration).
"""
from __future__ import annotations

from cloudserver.metadata import errors as md_errors
from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.model.versions import versioning_state
from cloudserver.s3.ops.bucket_config import check_integrity
from cloudserver.s3.ops.common import load_bucket
from cloudserver.s3.xml.object_lock import (
    MAX_BODY,
    object_lock_configuration_xml,
    parse_object_lock_configuration,
)


def lock_enabled(bucket_attrs: dict) -> bool:
    return bool(bucket_attrs.get(Bkt.OBJECT_LOCK_ENABLED))


async def get_object_lock_configuration(ctx: RequestContext) -> Response:
    bucket = await load_bucket(ctx)
    if not lock_enabled(bucket):
        raise S3Error("ObjectLockConfigurationNotFoundError", BucketName=ctx.bucket)
    return Response.xml(object_lock_configuration_xml(bucket.get(Bkt.OBJECT_LOCK_RULE)))


async def put_object_lock_configuration(ctx: RequestContext) -> Response:
    await load_bucket(ctx)
    body = await ctx.read_small_body(MAX_BODY)
    check_integrity(ctx, body)
    rule = parse_object_lock_configuration(body)
    metadata = ctx.backend.metadata
    try:
        # Re-read: a concurrent change to another attribute is not undone.
        latest = dict(await metadata.get_bucket(ctx.bucket))
        if not lock_enabled(latest) and versioning_state(latest) != "Enabled":
            raise S3Error("InvalidBucketState", "Versioning must be 'Enabled' on the "
                          "bucket to apply a Object Lock configuration")
        latest[Bkt.OBJECT_LOCK_ENABLED] = True
        if rule is None:
            latest.pop(Bkt.OBJECT_LOCK_RULE, None)
        else:
            latest[Bkt.OBJECT_LOCK_RULE] = rule
        await metadata.update_bucket(ctx.bucket, latest)
    except md_errors.NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None
    return Response()


HANDLERS = {
    "GetObjectLockConfiguration": get_object_lock_configuration,
    "PutObjectLockConfiguration": put_object_lock_configuration,
}
