# -*- test-case-name: tests.unit.test_tagging -*-
"""Get/Put/DeleteObjectTagging and Get/Put/DeleteBucketTagging.

Object tags live in the object's record (``md["tags"]``, see
cloudserver.s3.model.tags) and are rewritten in place: a tag change is not a new
version and keeps Last-Modified.  Bucket tags live in the bucket
attributes.  Both are the owner's business (``load_bucket`` checks it from
the operation's name), as tags are not governed by ACLs.
"""
from __future__ import annotations

from cloudserver.metadata import errors as md_errors
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.acl import update_in_place, version_header
from cloudserver.s3.ops.common import load_bucket
from cloudserver.s3.ops.object_read import load_current
from cloudserver.s3.model.tags import set_tags, tags_of
from cloudserver.s3.model.versions import client_version_id
from cloudserver.s3.xml import MAX_BUCKET_TAGS, MAX_OBJECT_TAGS, parse_tagging, tagging_xml

#: 50 tags of 128 + 256 characters, up to 4 UTF-8 bytes each, plus markup.
MAX_TAGGING_BODY = 256 * 1024


async def _load_target(ctx: RequestContext, version_param: str | None) -> dict:
    return await load_current(ctx, ctx.bucket, ctx.key, version_param, access=None)


async def _rewrite_tags(ctx: RequestContext, checked: dict,
                        pairs: list[tuple[str, str]]) -> dict:
    """Re-read the record ``checked`` was read as and store ``pairs`` in it.

    A body was read since ``checked``: if a PutObject replaced the object
    meanwhile, the tags were meant for another object (409, the client
    retries) rather than silently landing on the new one.
    """
    version_param = ctx.query.get("versionId")
    md = dict(await _load_target(ctx, client_version_id(checked) if version_param else None))
    if any(md.get(f) != checked.get(f) for f in ("owner", "last-modified", "versionId")):
        raise S3Error("OperationAborted")
    set_tags(md, pairs)
    await update_in_place(ctx, ctx.bucket, ctx.key, md)
    return md


async def get_object_tagging(ctx: RequestContext) -> Response:
    attrs = await load_bucket(ctx)
    md = await _load_target(ctx, ctx.query.get("versionId"))
    return Response.xml(tagging_xml(tags_of(md)), headers=version_header(md, attrs))


async def put_object_tagging(ctx: RequestContext) -> Response:
    attrs = await load_bucket(ctx)
    checked = await _load_target(ctx, ctx.query.get("versionId"))
    body = await ctx.read_small_body(MAX_TAGGING_BODY)
    pairs = parse_tagging(body, max_tags=MAX_OBJECT_TAGS)
    md = await _rewrite_tags(ctx, checked, pairs)
    return Response(headers=version_header(md, attrs))


async def delete_object_tagging(ctx: RequestContext) -> Response:
    attrs = await load_bucket(ctx)
    checked = await _load_target(ctx, ctx.query.get("versionId"))
    md = checked
    if checked.get("tags"):
        md = await _rewrite_tags(ctx, checked, [])
    return Response(status=204, headers=version_header(md, attrs))


async def _update_bucket_tags(ctx: RequestContext, pairs: list[tuple[str, str]]) -> None:
    metadata = ctx.backend.metadata
    try:
        # Re-read so a concurrent change to another attribute is not undone.
        latest = dict(await metadata.get_bucket(ctx.bucket))
        set_tags(latest, pairs)
        await metadata.update_bucket(ctx.bucket, latest)
    except md_errors.NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None


async def get_bucket_tagging(ctx: RequestContext) -> Response:
    pairs = tags_of(await load_bucket(ctx))
    if not pairs:
        raise S3Error("NoSuchTagSet", BucketName=ctx.bucket)
    return Response.xml(tagging_xml(pairs))


async def put_bucket_tagging(ctx: RequestContext) -> Response:
    await load_bucket(ctx)
    body = await ctx.read_small_body(MAX_TAGGING_BODY)
    pairs = parse_tagging(body, max_tags=MAX_BUCKET_TAGS)
    await _update_bucket_tags(ctx, pairs)
    return Response(status=204)


async def delete_bucket_tagging(ctx: RequestContext) -> Response:
    await load_bucket(ctx)
    await _update_bucket_tags(ctx, [])
    return Response(status=204)


HANDLERS = {
    "GetObjectTagging": get_object_tagging,
    "PutObjectTagging": put_object_tagging,
    "DeleteObjectTagging": delete_object_tagging,
    "GetBucketTagging": get_bucket_tagging,
    "PutBucketTagging": put_bucket_tagging,
    "DeleteBucketTagging": delete_bucket_tagging,
}
