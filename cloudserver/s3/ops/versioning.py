# -*- test-case-name: tests.unit.test_ops_versioning -*-
"""Bucket versioning operations: Put/GetBucketVersioning, ListObjectVersions.

The helpers object handlers share live in cloudserver.s3.model.versions.
"""
from __future__ import annotations

from cloudserver.metadata import version_id as vid
from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.bucket_config import update_bucket_field
from cloudserver.s3.ops.common import load_bucket
from cloudserver.s3.ops.listing import (
    LISTED_FIELDS,
    OWNER_FIELDS,
    iso8601_cached,
    parse_encoding,
    page_size,
    parse_max_keys,
)
from cloudserver.s3.xml import parse_versioning, versioning_xml
from cloudserver.s3.model.versions import NULL, parse_version_param, versioning_state
from cloudserver.s3.xml.versions import VersionEntry, VersionsListing, list_versions_xml

MAX_VERSIONING_BODY = 64 * 1024


def check_mfa(mfa_delete: str | None, mfa_header: str | None) -> None:
    """Refuse what would need MFA delete, which is not implemented.

    Enabling MfaDelete without ``x-amz-mfa`` is AWS's AccessDenied; with the
    header we cannot check the token (no MFA devices here), so any request
    carrying it is NotImplemented rather than accepted unverified.
    MfaDelete Disabled, what every bucket has, is accepted.
    """
    if mfa_header is not None:
        raise S3Error("NotImplemented", "MFA delete is not implemented")
    if mfa_delete == "Enabled":
        raise S3Error("AccessDenied", "Mfa Authentication must be used for this request")


async def put_bucket_versioning(ctx: RequestContext) -> Response:
    bucket = await load_bucket(ctx)
    body = await ctx.read_small_body(MAX_VERSIONING_BODY)
    status, mfa = parse_versioning(body)
    check_mfa(mfa, ctx.header("x-amz-mfa"))
    if bucket.get(Bkt.OBJECT_LOCK_ENABLED) and status == "Suspended":
        raise S3Error("InvalidBucketState", "An Object Lock configuration is present on "
                      "this bucket, so the versioning state cannot be changed.")
    if bucket.get(Bkt.REPLICATION) and status == "Suspended":
        raise S3Error("InvalidBucketState", "A replication configuration is present on this "
                      "bucket, so you cannot change the versioning state. To change the "
                      "versioning state, first delete the replication configuration.")
    await update_bucket_field(ctx, Bkt.VERSIONING, status)
    return Response()


async def get_bucket_versioning(ctx: RequestContext) -> Response:
    bucket = await load_bucket(ctx)
    return Response.xml(versioning_xml(versioning_state(bucket)))


#: What a versions listing renders of each record (the listing returns only these).
VERSION_FIELDS = LISTED_FIELDS + OWNER_FIELDS + [Obj.IS_NULL]


def version_entries(versions: list[dict], owner_id: str | None, owner_name: str | None
                    ) -> list[VersionEntry]:
    """A versions listing's entries as VersionEntry records (owners: the
    record's, else the bucket's)."""
    iso = iso8601_cached()
    encode = vid.encode
    entries = []
    append = entries.append
    # The field names as locals: the loop runs for every entry of a page.
    is_null, modified, owner, owner_name_field = (
        Obj.IS_NULL, Obj.LAST_MODIFIED, Obj.OWNER, Obj.OWNER_NAME)
    etag, size, sc = Obj.ETAG, Obj.SIZE, Obj.STORAGE_CLASS
    for item in versions:
        md = item["value"]
        internal = item["versionId"]
        shown = NULL if internal in (None, NULL) or md.get(is_null) else encode(internal)
        append(VersionEntry(
            item["key"], shown, bool(item["isLatest"]), iso(md[modified]),
            md.get(owner) or owner_id, md.get(owner_name_field) or owner_name,
            bool(item["isDeleteMarker"]), md.get(etag, ""), md.get(size, 0),
            md.get(sc, "STANDARD")))
    return entries


async def list_object_versions(ctx: RequestContext) -> Response:
    bucket = await load_bucket(ctx)
    q = ctx.query
    max_keys = parse_max_keys(q.get("max-keys"))
    encoding = parse_encoding(q.get("encoding-type"))
    key_marker = q.get("key-marker") or ""
    vid_marker = q.get("version-id-marker") or ""
    if vid_marker and not key_marker:
        raise S3Error("InvalidArgument", "A version-id marker cannot be specified without "
                      "a key marker.", ArgumentName="version-id-marker",
                      ArgumentValue=vid_marker)
    params = {
        "listingType": "DelimiterVersions",
        "prefix": q.get("prefix", ""),
        "delimiter": q.get("delimiter") or None,
        "maxKeys": page_size(max_keys),
        "keyMarker": key_marker or None,
        "versionIdMarker": parse_version_param(vid_marker) if vid_marker else None,
        "valueFields": VERSION_FIELDS,
    }
    result = await ctx.backend.metadata.list_objects(ctx.bucket, params)
    entries = version_entries(result["Versions"], bucket.get(Bkt.OWNER), bucket.get(Bkt.OWNER_NAME))
    next_vid = result.get("NextVersionIdMarker")
    if next_vid not in (None, NULL):
        next_vid = vid.encode(next_vid)
    truncated = bool(result["IsTruncated"])
    listing = VersionsListing(
        name=ctx.bucket, prefix=params["prefix"], key_marker=key_marker,
        version_id_marker=vid_marker,
        next_key_marker=result.get("NextKeyMarker") if truncated else None,
        next_version_id_marker=next_vid if truncated else None,
        max_keys=max_keys, delimiter=params["delimiter"], encoding_type=encoding,
        is_truncated=truncated, entries=entries,
        common_prefixes=list(result["CommonPrefixes"]))
    return Response.xml(list_versions_xml(listing))


HANDLERS = {
    "PutBucketVersioning": put_bucket_versioning,
    "GetBucketVersioning": get_bucket_versioning,
    "ListObjectVersions": list_object_versions,
}
