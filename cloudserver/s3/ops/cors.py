# -*- test-case-name: tests.unit.test_cors -*-
"""PutBucketCors, GetBucketCors, DeleteBucketCors, the OPTIONS preflight,
and the Access-Control-* headers of ordinary requests.

The configuration is owner-only (``load_bucket`` checks it from the
operation's name).  A preflight is never authenticated: browsers send it
without credentials, so the bucket's rules alone decide.
"""
from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping

from cloudserver.metadata import errors as md_errors
from cloudserver.s3.model import cors
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.common import load_bucket


async def _update_rules(ctx: RequestContext, rules: list | None) -> None:
    metadata = ctx.backend.metadata
    try:
        # Re-read so a concurrent change to another attribute is not undone.
        latest = dict(await metadata.get_bucket(ctx.bucket))
        if rules is None:
            latest.pop(cors.ATTR, None)
        else:
            latest[cors.ATTR] = rules
        await metadata.update_bucket(ctx.bucket, latest)
    except md_errors.NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None


async def put_bucket_cors(ctx: RequestContext) -> Response:
    await load_bucket(ctx)
    body = await ctx.read_small_body(cors.MAX_BODY)
    md5 = ctx.header("content-md5")
    if md5 is not None and base64.b64encode(hashlib.md5(body).digest()).decode() != md5:
        raise S3Error("BadDigest")
    rules = cors.parse_cors_configuration(body)
    await _update_rules(ctx, cors.to_record(rules))
    return Response()


async def get_bucket_cors(ctx: RequestContext) -> Response:
    rules = cors.rules_of(await load_bucket(ctx))
    if not rules:
        raise S3Error("NoSuchCORSConfiguration", BucketName=ctx.bucket)
    return Response.xml(cors.cors_xml(rules))


async def delete_bucket_cors(ctx: RequestContext) -> Response:
    await load_bucket(ctx)
    await _update_rules(ctx, None)
    return Response(status=204)


async def cors_preflight(ctx: RequestContext) -> Response:
    """OPTIONS: may ``Origin`` send ``Access-Control-Request-Method`` (with
    ``Access-Control-Request-Headers``) to this bucket?"""
    origin = ctx.header("origin")
    if not origin:
        raise S3Error("BadRequest", "Insufficient information. Origin request header needed.")
    method = ctx.header("access-control-request-method")
    if not method or method not in cors.METHODS:
        raise S3Error("BadRequest", f"Invalid Access-Control-Request-Method: {method}")
    bucket = await load_bucket(ctx)
    rules = cors.rules_of(bucket)
    if not rules:
        raise S3Error("AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.",
                      Method=method, ResourceType="BUCKET" if ctx.op.key is None else "OBJECT")
    wanted = cors.split_header_list(ctx.header("access-control-request-headers"))
    rule = cors.find_rule(rules, origin, method, wanted)
    if rule is None:
        raise S3Error("AccessForbidden", Method=method,
                      ResourceType="BUCKET" if ctx.op.key is None else "OBJECT")
    return Response(headers=cors.response_headers(rule, origin, wanted))


async def actual_request_headers(metadata, bucket: str, headers: Mapping[str, list[str]],
                                 method: str) -> list[tuple[str, str]]:
    """The Access-Control-* headers for a (non-preflight) request carrying
    ``Origin``, errors included, as S3 adds them; [] when no rule matches.

    The method matched is the request's own, or the one an
    ``Access-Control-Request-Method`` header names (what ceph/s3-tests
    expects of a PUT announcing GET).
    """
    origin = (headers.get("origin") or [""])[0]
    if not origin:
        return []
    try:
        attrs = await metadata.get_bucket(bucket)
    except md_errors.MetadataError:
        return []
    rules = cors.rules_of(attrs)
    if not rules:
        return []
    wanted = (headers.get("access-control-request-method") or [method])[0]
    rule = cors.find_rule(rules, origin, wanted)
    return cors.response_headers(rule, origin) if rule is not None else []


HANDLERS = {
    "PutBucketCors": put_bucket_cors,
    "GetBucketCors": get_bucket_cors,
    "DeleteBucketCors": delete_bucket_cors,
    "CorsPreflight": cors_preflight,
}
