# -*- test-case-name: tests.unit.test_cors -*-
"""PutBucketCors, GetBucketCors, DeleteBucketCors, the OPTIONS preflight,
and the Access-Control-* headers of ordinary requests.

The configuration is owner-only (``load_bucket`` decides it from the
route's access declaration).  A preflight is never authenticated: browsers send it
without credentials, so the bucket's rules alone decide.
"""
from __future__ import annotations

from collections.abc import Mapping

from cloudserver.metadata import errors as md_errors
from cloudserver.s3.model import cors
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.bucket_config import ConfigDocument, config_handlers
from cloudserver.s3.ops.common import load_bucket

#: The CORS configuration document (its model and codec: cloudserver.s3.model.cors).
CORS = ConfigDocument(
    field=cors.ATTR, parse=cors.parse_cors_configuration, to_xml=cors.cors_xml,
    not_found="NoSuchCORSConfiguration", max_body=cors.MAX_BODY,
    to_record=cors.to_record, from_record=cors.rules_from_record, check_md5=True)


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
    **config_handlers(CORS, get="GetBucketCors", put="PutBucketCors",
                      delete="DeleteBucketCors"),
    "CorsPreflight": cors_preflight,
}
