# -*- test-case-name: tests.unit.test_bucket_settings -*-
"""Put/GetBucketRequestPayment, Put/GetBucketLogging and
GetBucketAccelerateConfiguration: stored and returned.

Request payment only records who pays (``x-amz-request-payer`` is accepted
on every request; nothing is billed).  Logging records the LoggingEnabled
element after AWS's checks on the target bucket (it exists, and the same
account owns it); no access logs are delivered to it yet.  Transfer
acceleration is not offered: GetBucketAccelerateConfiguration answers as
AWS does for a bucket that never enabled it, and PutBucketAccelerate-
Configuration stays NotImplemented (ops.NOT_IMPLEMENTED).
"""
from __future__ import annotations

from cloudserver.metadata import errors as md_errors
from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.bucket_config import check_content_md5, update_bucket_field
from cloudserver.s3.ops.common import load_bucket
from cloudserver.s3.xml.bucket_settings import (
    MAX_BODY, accelerate_xml, logging_xml, parse_logging, parse_request_payment,
    request_payment_xml)


async def get_request_payment(ctx: RequestContext) -> Response:
    attrs = await load_bucket(ctx)
    return Response.xml(request_payment_xml(attrs.get(Bkt.REQUEST_PAYMENT)))


async def put_request_payment(ctx: RequestContext) -> Response:
    await load_bucket(ctx)
    body = await ctx.read_small_body(MAX_BODY)
    check_content_md5(ctx, body)
    payer = parse_request_payment(body)
    # BucketOwner is the default: stored as no value.
    await update_bucket_field(ctx, Bkt.REQUEST_PAYMENT, None if payer == "BucketOwner"
                              else payer)
    return Response(status=200)


async def get_logging(ctx: RequestContext) -> Response:
    attrs = await load_bucket(ctx)
    return Response.xml(logging_xml(attrs.get(Bkt.LOGGING)))


async def _check_target(ctx: RequestContext, source: dict, target: str) -> None:
    """AWS: the target bucket exists and has the source bucket's owner."""
    try:
        attrs = await ctx.backend.metadata.get_bucket(target)
    except md_errors.NoSuchBucket:
        raise S3Error("InvalidTargetBucketForLogging", TargetBucket=target) from None
    if attrs.get(Bkt.OWNER) != source.get(Bkt.OWNER):
        raise S3Error("InvalidTargetBucketForLogging", "The owner for the bucket to be "
                      "logged and the target bucket must be the same.", TargetBucket=target)


async def put_logging(ctx: RequestContext) -> Response:
    attrs = await load_bucket(ctx)
    body = await ctx.read_small_body(MAX_BODY)
    check_content_md5(ctx, body)
    enabled = parse_logging(body)
    if enabled is not None:
        await _check_target(ctx, attrs, enabled["targetBucket"])
    await update_bucket_field(ctx, Bkt.LOGGING, enabled)
    return Response(status=200)


async def get_accelerate(ctx: RequestContext) -> Response:
    await load_bucket(ctx)
    return Response.xml(accelerate_xml())


HANDLERS = {
    "GetBucketRequestPayment": get_request_payment,
    "PutBucketRequestPayment": put_request_payment,
    "GetBucketLogging": get_logging,
    "PutBucketLogging": put_logging,
    "GetBucketAccelerateConfiguration": get_accelerate,
}
