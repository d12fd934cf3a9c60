# -*- test-case-name: tests.unit.test_ops_object -*-
"""DeleteObject and DeleteObjects (multi-object delete)."""
from __future__ import annotations

import base64
import hashlib

from cloudserver.metadata import errors as md_errors
from cloudserver.s3 import checksums
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.common import load_bucket
from cloudserver.s3.ops.object_write import delete_data
from cloudserver.s3.xml import delete_result_xml, parse_delete_request

#: 1000 keys of up to 1024 bytes each, escaped, plus XML framing.
MAX_DELETE_BODY = 2 * 1024 * 1024


async def remove_object(ctx: RequestContext, bucket: str, key: str) -> None:
    """Delete one object's metadata, then its data; a missing key is not an error."""
    try:
        previous = await ctx.backend.metadata.delete_object(bucket, key)
    except md_errors.NoSuchKey:
        return
    if isinstance(previous, dict):
        await delete_data(ctx, previous.get("location") or [])


async def delete_object(ctx: RequestContext) -> Response:
    await load_bucket(ctx)
    await remove_object(ctx, ctx.bucket, ctx.key)
    return Response(status=204)


def _check_integrity(ctx: RequestContext, body: bytes) -> None:
    md5 = ctx.header("content-md5")
    algorithm = None
    for name in ctx.headers:
        if name.startswith("x-amz-checksum-") and name not in (
                "x-amz-checksum-mode", "x-amz-checksum-type", "x-amz-checksum-algorithm"):
            algorithm = (checksums.algorithm_from_header(name), ctx.header(name))
    if md5 is None and algorithm is None:
        raise S3Error("InvalidRequest", "Missing required header for this request: "
                      "Content-MD5")
    if md5 is not None and base64.b64encode(hashlib.md5(body).digest()).decode() != md5:
        raise S3Error("BadDigest")
    if algorithm is not None:
        name, value = algorithm
        if name is None:
            raise S3Error("InvalidRequest", "Invalid checksum header")
        c = checksums.new_checksum(name)
        c.update(body)
        if c.b64digest() != value:
            raise S3Error("BadDigest", f"The {name} you specified did not match the "
                          "calculated checksum.")


async def delete_objects(ctx: RequestContext) -> Response:
    await load_bucket(ctx)
    decoder = ctx.auth.make_decoder() if ctx.auth.payload.chunked else None
    body = await ctx.body.read_all(MAX_DELETE_BODY, decoder)
    if ctx.auth.payload.sha256 is not None and \
            hashlib.sha256(body).hexdigest() != ctx.auth.payload.sha256:
        raise S3Error("XAmzContentSHA256Mismatch")
    _check_integrity(ctx, body)
    quiet, objects = parse_delete_request(body)
    deleted, errors = [], []
    for key, version_id in objects:
        try:
            if version_id is not None and version_id != "null":
                raise S3Error("NoSuchVersion")
            await remove_object(ctx, ctx.bucket, key)
        except S3Error as e:
            errors.append({"Key": key, "VersionId": version_id, "Code": e.code,
                           "Message": e.message})
            continue
        entry = {"Key": key}
        if version_id is not None:
            entry["VersionId"] = version_id
        deleted.append(entry)
    return Response.xml(delete_result_xml(deleted, errors, quiet))


HANDLERS = {"DeleteObject": delete_object, "DeleteObjects": delete_objects}
