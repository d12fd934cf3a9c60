# -*- test-case-name: tests.unit.test_ops_object -*-
"""DeleteObject and DeleteObjects (multi-object delete)."""
from __future__ import annotations

from cloudserver.errors import DomainError
from cloudserver.metadata import errors as md_errors
from cloudserver.metadata.schema import MD_VERSION, VERSION_FIELD
from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.s3.ops.events import MARKER_CREATED, REMOVED, with_event
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import CATALOG, S3Error
from cloudserver.s3.routing import MAX_KEY_BYTES
from cloudserver.s3.ops.bucket_config import check_integrity
from cloudserver.s3.ops.common import load_bucket, now, survives_disconnect
from cloudserver.s3.ops.object_write import delete_data
from cloudserver.s3.access.governance import may_bypass_governance
from cloudserver.s3.model.versions import (
    freed_records, parse_version_param, result_version_id, write_options)
from cloudserver.s3.xml import delete_result_xml, parse_delete_request

#: 1000 keys of up to 1024 bytes each, escaped, plus XML framing.
MAX_DELETE_BODY = 2 * 1024 * 1024


async def _free(ctx: RequestContext, result) -> None:
    for record in freed_records(result):
        await delete_data(ctx, record.get(Obj.LOCATION) or [])


@survives_disconnect
async def remove_object(ctx: RequestContext, bucket_attrs: dict, key: str,
                        version_param: str | None = None, bypass_governance: bool = False
                        ) -> dict:
    """Delete one object (or one version) and free its data.

    Without a version id a versioned bucket gets a delete marker instead.  A
    missing key or version is not an error (S3 answers 204 all the same).
    A version object lock protects is refused by the metadata service
    (ObjectLocked: AccessDenied); ``bypass_governance`` (authorized by
    access.governance) lifts GOVERNANCE retention only.
    Returns what the response reports: VersionId, DeleteMarker,
    DeleteMarkerVersionId.
    """
    metadata = ctx.backend.metadata
    bucket = bucket_attrs[Bkt.NAME] if Bkt.NAME in bucket_attrs else ctx.bucket
    if version_param is not None:
        version = parse_version_param(version_param)
        try:
            options = {"versionId": version}
            if bypass_governance:
                options["bypassGovernanceRetention"] = True
            result = await metadata.delete_object(bucket, key,
                                                  with_event(ctx, options, REMOVED))
        except (md_errors.NoSuchKey, md_errors.NoSuchVersion):
            return {"VersionId": version_param}
        await _free(ctx, result)
        out = {"VersionId": version_param}
        if result.get(Obj.IS_DELETE_MARKER):
            out.update(DeleteMarker=True, DeleteMarkerVersionId=version_param)
        return out
    options = write_options(bucket_attrs)
    if options is None:
        try:
            result = await metadata.delete_object(bucket, key,
                                                  with_event(ctx, None, REMOVED))
        except md_errors.NoSuchKey:
            return {}
        await _free(ctx, result)
        return {}
    account = ctx.account
    marker = {
        VERSION_FIELD: MD_VERSION, Obj.KEY: key, Obj.IS_DELETE_MARKER: True, Obj.SIZE: 0,
        Obj.ETAG: "", Obj.LAST_MODIFIED: now(), Obj.LOCATION: [],
        Obj.OWNER: account.canonical_id if account else None,
        Obj.OWNER_NAME: account.display_name if account else None,
    }
    result = await metadata.put_object(bucket, key, marker,
                                       with_event(ctx, options, MARKER_CREATED))
    await _free(ctx, result)
    return {"DeleteMarker": True, "DeleteMarkerVersionId": result_version_id(result)}


async def delete_object(ctx: RequestContext) -> Response:
    bucket = await load_bucket(ctx)
    out = await remove_object(ctx, bucket, ctx.key, ctx.query.get("versionId"),
                              may_bypass_governance(ctx, bucket, ctx.key))
    headers = []
    if out.get("DeleteMarker"):
        headers.append(("x-amz-delete-marker", "true"))
    version = out.get("DeleteMarkerVersionId") or out.get("VersionId")
    if version:
        headers.append(("x-amz-version-id", version))
    return Response(status=204, headers=headers)


def _check_listed_version(key: str, version_id: str | None) -> None:
    """A malformed VersionId in a DeleteObjects entry is that key's
    NoSuchVersion, not the InvalidArgument of a single DeleteObject: AWS
    answers so (upstream's multi-object delete tests check it against AWS
    too), and a well-formed id that names nothing is simply deleted."""
    if version_id is None:
        return
    try:
        parse_version_param(version_id)
    except S3Error:
        raise S3Error("NoSuchVersion", Key=key, VersionId=version_id) from None


async def delete_objects(ctx: RequestContext) -> Response:
    bucket = await load_bucket(ctx)
    body = await ctx.read_small_body(MAX_DELETE_BODY)
    check_integrity(ctx, body)
    quiet, objects = parse_delete_request(body)
    deleted, errors = [], []
    for key, version_id in objects:
        try:
            if len(key.encode("utf-8")) > MAX_KEY_BYTES:
                raise S3Error("KeyTooLongError")
            _check_listed_version(key, version_id)
            out = await remove_object(ctx, bucket, key, version_id,
                                      may_bypass_governance(ctx, bucket, key))
        except (S3Error, DomainError) as e:
            message = e.message if isinstance(e, S3Error) else None
            errors.append({"Key": key, "VersionId": version_id, "Code": e.code,
                           "Message": message or CATALOG[e.code][1]})
            continue
        deleted.append({"Key": key, **out})
    return Response.xml(delete_result_xml(deleted, errors, quiet))


HANDLERS = {"DeleteObject": delete_object, "DeleteObjects": delete_objects}
