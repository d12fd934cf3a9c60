# -*- test-case-name: tests.unit.test_acl_public_access -*-
"""Get, Put and DeletePublicAccessBlock: the bucket's four switches, kept in
its attributes (``acl.PUBLIC_ACCESS_BLOCK_ATTR``).

BlockPublicAcls and IgnorePublicAcls are enforced by the ACL checks
(cloudserver.s3.access.acl, through the decision in cloudserver.s3.access); the
two policy switches are stored and returned for the bucket policy code to
honour.  Only the bucket owner may use these operations (their routes
declare ``owner(...)``).
"""
from __future__ import annotations

from cloudserver.metadata import errors as md_errors
from cloudserver.s3.access import acl
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.common import load_bucket
from cloudserver.s3.xml.build import s3_root, serialize, sub, xml_bool
from cloudserver.s3.xml.parse import child, parse_xml

MAX_BODY = 16 * 1024
ROOT = "PublicAccessBlockConfiguration"


def parse_public_access_block(body: bytes) -> dict[str, bool]:
    """The four switches of a PublicAccessBlockConfiguration (absent: false)."""
    root = parse_xml(body, max_size=MAX_BODY, root=ROOT)
    config = {}
    for name in acl.PUBLIC_ACCESS_BLOCK_FIELDS:
        el = child(root, name)
        value = (el.text or "").strip().lower() if el is not None else "false"
        if value not in ("true", "false"):
            raise S3Error("MalformedXML")
        config[name] = value == "true"
    return config


def public_access_block_xml(config: dict[str, bool]) -> bytes:
    root = s3_root(ROOT)
    for name in acl.PUBLIC_ACCESS_BLOCK_FIELDS:
        sub(root, name, xml_bool(bool(config.get(name))))
    return serialize(root)


async def _set(ctx: RequestContext, config: dict[str, bool] | None) -> None:
    metadata = ctx.backend.metadata
    try:
        attrs = dict(await metadata.get_bucket(ctx.bucket))
        if config is None:
            attrs.pop(acl.PUBLIC_ACCESS_BLOCK_ATTR, None)
        else:
            attrs[acl.PUBLIC_ACCESS_BLOCK_ATTR] = config
        await metadata.update_bucket(ctx.bucket, attrs)
    except md_errors.NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None


async def get_public_access_block(ctx: RequestContext) -> Response:
    attrs = await load_bucket(ctx)
    config = acl.public_access_block(attrs)
    if config is None:
        raise S3Error("NoSuchPublicAccessBlockConfiguration", BucketName=ctx.bucket)
    return Response.xml(public_access_block_xml(config))


async def put_public_access_block(ctx: RequestContext) -> Response:
    await load_bucket(ctx)
    body = await ctx.read_small_body(MAX_BODY)
    await _set(ctx, parse_public_access_block(body))
    return Response()


async def delete_public_access_block(ctx: RequestContext) -> Response:
    await load_bucket(ctx)
    await _set(ctx, None)
    return Response(status=204)


HANDLERS = {
    "GetPublicAccessBlock": get_public_access_block,
    "PutPublicAccessBlock": put_public_access_block,
    "DeletePublicAccessBlock": delete_public_access_block,
}
