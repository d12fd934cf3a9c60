# -*- test-case-name: tests.unit.test_notification_config -*-
"""Put and GetBucketNotificationConfiguration.

The configuration is ``BucketRecord.NOTIFICATION`` (the stored form of
cloudserver.notifications.rules); the write hook of
cloudserver.notifications.hook reads it on every object write of the
bucket.  Owner-only (the routes declare ``owner(...)``).  A bucket without
one answers an empty document, as AWS; a PUT of an empty document removes
it.  Every ARN must name a destination of config.json's
``bucketNotificationDestinations``: an event that could go nowhere is
refused when the configuration is put, as AWS refuses a destination it
cannot validate.
"""
from __future__ import annotations

from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.notifications.rules import NotificationConfig
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.bucket_config import check_content_md5, update_bucket_field
from cloudserver.s3.ops.common import load_bucket
from cloudserver.s3.xml.notification import (
    MAX_BODY, notification_configuration_xml, parse_notification_configuration)

_NOT_CONFIGURED = "The destination is not among this server's bucketNotificationDestinations"


def configured_arns(ctx: RequestContext) -> frozenset[str]:
    destinations = getattr(ctx.backend.config, "notification_destinations", ())
    return frozenset(d.arn for d in destinations)


async def get_notification(ctx: RequestContext) -> Response:
    attrs = await load_bucket(ctx)
    config = NotificationConfig.from_record(attrs.get(Bkt.NOTIFICATION))
    return Response.xml(notification_configuration_xml(config))


async def put_notification(ctx: RequestContext) -> Response:
    await load_bucket(ctx)
    body = await ctx.read_small_body(MAX_BODY)
    check_content_md5(ctx, body)
    config = parse_notification_configuration(body)
    known = configured_arns(ctx)
    unknown = sorted({r.arn for r in config.rules if r.arn not in known})
    if unknown:
        extra: dict[str, str] = {}
        for i, arn in enumerate(unknown, 1):
            extra[f"ArgumentName{i}"] = arn
            extra[f"ArgumentValue{i}"] = _NOT_CONFIGURED
        raise S3Error("InvalidArgument",
                      "Unable to validate the following destination configurations", **extra)
    await update_bucket_field(ctx, Bkt.NOTIFICATION, config.to_record())
    return Response(status=200)


HANDLERS = {
    "GetBucketNotificationConfiguration": get_notification,
    "PutBucketNotificationConfiguration": put_notification,
}
