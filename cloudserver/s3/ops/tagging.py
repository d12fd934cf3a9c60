# -*- test-case-name: tests.unit.test_tagging -*-
"""Get/Put/DeleteObjectTagging and Get/Put/DeleteBucketTagging.

Object tags live in the object's record (``tags.TAGS``, see
cloudserver.s3.model.tags) and are rewritten in place: a tag change is not a new
version and keeps Last-Modified.  Bucket tags live in the bucket
attributes, a configuration document (``bucket_config``).  Both are the
owner's business (the route's bucket-level access), as tags are not
governed by ACLs; object tagging is decided once the record is loaded, so
a bucket policy's s3:ExistingObjectTag and s3:RequestObjectTag conditions
see the stored tags and the body's.
"""
from __future__ import annotations

from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.s3.access import authorize
from cloudserver.s3.access.bucket_policy import bucket_policy
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.acl import update_in_place, version_header
from cloudserver.s3.ops.bucket_config import ConfigDocument, config_handlers
from cloudserver.s3.ops.common import load_bucket
from cloudserver.s3.ops.object_read import load_current
from cloudserver.s3.model.tags import TAGS, set_tags, tag_pairs, tags_of, tags_record
from cloudserver.s3.model.versions import client_version_id
from cloudserver.s3.xml import MAX_BUCKET_TAGS, MAX_OBJECT_TAGS, parse_tagging, tagging_xml

#: 50 tags of 128 + 256 characters, up to 4 UTF-8 bytes each, plus markup.
MAX_TAGGING_BODY = 256 * 1024


async def _load_target(ctx: RequestContext, version_param: str | None) -> dict:
    return await load_current(ctx, ctx.bucket, ctx.key, version_param, access=None)


async def _load_decided(ctx: RequestContext, *, decide: bool = True) -> tuple[dict, dict]:
    """The bucket and the record tagged, the operation's access decided on
    the record: a policy's s3:ExistingObjectTag conditions read its tags,
    and the record is read once either way.  A missing object or version
    is answered only once the bucket-level decision allows it, so existence
    does not leak.  ``decide=False``: the caller decides (the tags of the
    body are needed first)."""
    attrs = await load_bucket(ctx, check=False)
    try:
        md = await _load_target(ctx, ctx.query.get("versionId"))
    except S3Error:
        authorize(ctx, attrs).require()
        raise
    if decide:
        authorize(ctx, attrs, md).require()
    return attrs, md


async def _rewrite_tags(ctx: RequestContext, checked: dict,
                        pairs: list[tuple[str, str]]) -> dict:
    """Re-read the record ``checked`` was read as and store ``pairs`` in it.

    A body was read since ``checked``: if a PutObject replaced the object
    meanwhile, the tags were meant for another object (409, the client
    retries) rather than silently landing on the new one.
    """
    version_param = ctx.query.get("versionId")
    md = dict(await _load_target(ctx, client_version_id(checked) if version_param else None))
    if any(md.get(f) != checked.get(f) for f in (Obj.OWNER, Obj.LAST_MODIFIED, Obj.VERSION_ID)):
        raise S3Error("OperationAborted")
    set_tags(md, pairs)
    await update_in_place(ctx, ctx.bucket, ctx.key, md)
    return md


async def get_object_tagging(ctx: RequestContext) -> Response:
    attrs, md = await _load_decided(ctx)
    return Response.xml(tagging_xml(tags_of(md)), headers=version_header(md, attrs))


async def put_object_tagging(ctx: RequestContext) -> Response:
    """A policy reading s3:RequestObjectTag keys decides once the body's
    tags are known (a body it cannot parse is answered after a denial);
    any other decides before the body is read."""
    attrs, checked = await _load_decided(ctx, decide=False)
    policy = bucket_policy(attrs)
    late = policy is not None and policy.reads_request_tags
    if not late:
        authorize(ctx, attrs, checked).require()
    body = await ctx.read_small_body(MAX_TAGGING_BODY)
    try:
        pairs = parse_tagging(body, max_tags=MAX_OBJECT_TAGS)
    except S3Error:
        if late:
            authorize(ctx, attrs, checked).require()
        raise
    if late:
        authorize(ctx, attrs, checked, request_tags=pairs).require()
    md = await _rewrite_tags(ctx, checked, pairs)
    return Response(headers=version_header(md, attrs))


async def delete_object_tagging(ctx: RequestContext) -> Response:
    attrs, checked = await _load_decided(ctx)
    md = checked
    if checked.get(TAGS):
        md = await _rewrite_tags(ctx, checked, [])
    return Response(status=204, headers=version_header(md, attrs))


#: Bucket tags: a configuration document kept in the bucket's attributes.
BUCKET_TAGGING = ConfigDocument(
    field=TAGS, parse=lambda body: parse_tagging(body, max_tags=MAX_BUCKET_TAGS),
    to_xml=tagging_xml, not_found="NoSuchTagSet", max_body=MAX_TAGGING_BODY,
    to_record=tags_record, from_record=tag_pairs, put_status=204)


HANDLERS = {
    "GetObjectTagging": get_object_tagging,
    "PutObjectTagging": put_object_tagging,
    "DeleteObjectTagging": delete_object_tagging,
    **config_handlers(BUCKET_TAGGING, get="GetBucketTagging", put="PutBucketTagging",
                      delete="DeleteBucketTagging"),
}
