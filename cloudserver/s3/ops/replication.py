# -*- test-case-name: tests.unit.test_replication_ops -*-
"""Put, Get and DeleteBucketReplication: the bucket's replication rules
(``BucketRecord.REPLICATION``, executed by cloudserver.replication), and
the ``x-amz-replication-status`` header of GET and HEAD.

The access decision (owner only, or what a bucket policy grants) is the
route's declaration, made before the handler runs.  A rule's StorageClass
names a location, so the parse is given the server's locations; a replica
kept on this server may not go to the source bucket itself.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.bucket_config import (
    ConfigDocument, check_content_md5, config_handlers, update_bucket_field)
from cloudserver.s3.ops.common import load_bucket
from cloudserver.s3.xml.replication import MAX_BODY, parse_replication, replication_xml

STATUS_HEADER = "x-amz-replication-status"
REMOTE_TYPES = ("aws_s3", "azure")

REPLICATION = ConfigDocument(
    field=Bkt.REPLICATION, parse=lambda body: parse_replication(body, {}),
    to_xml=replication_xml, not_found="ReplicationConfigurationNotFoundError",
    max_body=MAX_BODY)


def location_types(config: Any) -> dict[str, str]:
    """Location name -> type, from locationConfig.json."""
    locations = getattr(config, "locations", None) or {}
    return {name: str((loc or {}).get("type", "")) for name, loc in locations.items()}


def _check(ctx: RequestContext, bucket: Mapping[str, Any], model: dict,
           types: Mapping[str, str]) -> None:
    if bucket.get(Bkt.VERSIONING) != "Enabled":
        raise S3Error("InvalidRequest", "Versioning must be 'Enabled' on the bucket to apply "
                      "a replication configuration")
    for rule in model["rules"]:
        local = types.get(rule.get("storageClass", ""), "file") not in REMOTE_TYPES
        if local and rule["bucket"] == ctx.bucket:
            raise S3Error("InvalidRequest", "Destination bucket cannot be the same as the "
                          "source bucket.")


async def put_bucket_replication(ctx: RequestContext) -> Response:
    bucket = await load_bucket(ctx)
    body = await ctx.read_small_body(MAX_BODY)
    check_content_md5(ctx, body)
    types = location_types(ctx.backend.config)
    model = parse_replication(body, types)
    _check(ctx, bucket, model, types)
    await update_bucket_field(ctx, Bkt.REPLICATION, model)
    return Response(status=200)


def replication_headers(md: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``x-amz-replication-status`` of a version that has one."""
    status = md.get(Obj.REPLICATION_STATUS)
    return [(STATUS_HEADER, status)] if status else []


HANDLERS = {
    **config_handlers(REPLICATION, get="GetBucketReplication", put="PutBucketReplication",
                      delete="DeleteBucketReplication"),
    "PutBucketReplication": put_bucket_replication,
}
