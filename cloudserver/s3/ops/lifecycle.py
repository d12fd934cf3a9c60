# -*- test-case-name: tests.unit.test_lifecycle_ops -*-
"""Put, Get and DeleteBucketLifecycle(Configuration): the bucket's
lifecycle rules (``BucketRecord.LIFECYCLE``, executed by
cloudserver.lifecycle), and the ``x-amz-expiration`` header of the object
responses a rule's expiration selects.

PutBucketLifecycleConfiguration and the legacy PutBucketLifecycle share the
``?lifecycle`` sub-resource and this handler; both require an integrity
header (Content-MD5 or an x-amz-checksum-*), as AWS.  A Transition may name
a location of locationConfig.json, so the parse is given the server's
location names.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloudserver.lifecycle.rules import DAY, expiration_of
from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.ops.bucket_config import (
    ConfigDocument, check_integrity, config_handlers, update_bucket_field)
from cloudserver.s3.ops.common import http_date, load_bucket
from cloudserver.s3.xml.lifecycle import (
    MAX_BODY, lifecycle_configuration_xml, parse_lifecycle_configuration, storage_classes)

EXPIRATION_HEADER = "x-amz-expiration"

#: The LifecycleConfiguration document (its Put is :func:`put_bucket_lifecycle`).
LIFECYCLE = ConfigDocument(
    field=Bkt.LIFECYCLE, parse=lambda body: parse_lifecycle_configuration(
        body, storage_classes(())),
    to_xml=lifecycle_configuration_xml, not_found="NoSuchLifecycleConfiguration",
    max_body=MAX_BODY)


def lifecycle_day(config: Any) -> float:
    """The length of a rule's "day": config.json's lifecycle debug day
    length (as Ceph's rgw_lc_debug_interval) or 86400 s."""
    return getattr(config, "lifecycle_day", DAY) or DAY


async def put_bucket_lifecycle(ctx: RequestContext) -> Response:
    await load_bucket(ctx)
    body = await ctx.read_small_body(MAX_BODY)
    check_integrity(ctx, body)
    locations = getattr(ctx.backend.config, "locations", None) or {}
    rules = parse_lifecycle_configuration(body, storage_classes(set(locations)))
    await update_bucket_field(ctx, Bkt.LIFECYCLE, rules)
    return Response(status=200)


def _tags(md: Mapping[str, Any]) -> dict:
    tags = md.get(Obj.TAGS) or {}
    return dict(tags) if isinstance(tags, list) else tags


def expiration_headers(ctx: RequestContext, bucket: Mapping[str, Any] | None,
                       md: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``x-amz-expiration: expiry-date="...", rule-id="..."`` for a current
    object one of the bucket's enabled rules expires; [] otherwise."""
    rules = (bucket or {}).get(Bkt.LIFECYCLE)
    if not rules or md.get(Obj.IS_DELETE_MARKER):
        return []
    found = expiration_of(rules, md.get(Obj.KEY, ctx.key), _tags(md), md.get(Obj.SIZE),
                          md[Obj.LAST_MODIFIED], lifecycle_day(ctx.backend.config))
    if found is None:
        return []
    when, rule_id = found
    rule_id = rule_id.replace("\\", "\\\\").replace('"', '\\"')
    return [(EXPIRATION_HEADER, f'expiry-date="{http_date(when)}", rule-id="{rule_id}"')]


HANDLERS = {
    **config_handlers(LIFECYCLE, get="GetBucketLifecycleConfiguration",
                      put="PutBucketLifecycleConfiguration", delete="DeleteBucketLifecycle"),
    "PutBucketLifecycleConfiguration": put_bucket_lifecycle,
}
