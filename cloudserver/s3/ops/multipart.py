# -*- test-case-name: tests.functional.test_multipart -*-
"""Multipart uploads: create, upload a part (streamed or copied), abort,
list parts and uploads.  Completion is in multipart_complete, part reads
and GetObjectAttributes in multipart_read.

Upload state lives in the metadata KV (cloudserver.metadata.uploads), part
bytes in the data store, one blob per part.  A part's metadata is written
only once its data is durable; a replaced part's data is freed only once
the new part's metadata is durable.
"""
from __future__ import annotations

import re
import secrets

from cloudserver.metadata.schema import MD_VERSION, VERSION_FIELD, PartRecord
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.metadata.schema import UploadRecord as Upl
from cloudserver.s3.access import acl
from cloudserver.s3.model import checksums, lock, placement
from cloudserver.s3.access import COPY_SOURCE
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops import multipart_complete, multipart_read, multipart_sse
from cloudserver.s3.ops.acl import object_acl_from_request, object_owner
from cloudserver.s3.ops.common import (
    load_bucket, load_object, now, quoted_etag, stored_headers,
    survives_disconnect, user_metadata, website_redirect)
from cloudserver.s3.ops.copy import (
    _load_source_bucket, check_copy_conditions, copy_data, parse_copy_source)
from cloudserver.s3.ops.multipart_checksums import checksum_type
from cloudserver.s3.ops.object_write import delete_data, storage_class
from cloudserver.s3.ops.upload import MAX_PUT_SIZE, expected_from_headers, receive_body
from cloudserver.s3.model.tags import request_tags, set_tags
from cloudserver.s3.sse import apply as sse
from cloudserver.s3.model.numbers import decimal
from cloudserver.s3.model.versions import client_version_id, parse_version_param
from cloudserver.s3.xml import (
    ListPartsResult, ListUploadsResult, PartEntry, Person, UploadEntry,
    copy_part_result_xml, initiate_multipart_xml, iso8601, list_multipart_uploads_xml,
    list_parts_xml, url_encode)

MAX_PART_NUMBER = 10000
MAX_PART_SIZE = MAX_PUT_SIZE
MAX_LIST = 1000

#: Request headers kept verbatim in the upload for the final object
#: (ACL, tagging, encryption, object lock, redirect).
KEPT_PREFIXES = ("x-amz-acl", "x-amz-grant-", "x-amz-tagging", "x-amz-server-side-encryption",
                 "x-amz-object-lock-", "x-amz-website-redirect-location")

_COPY_RANGE_RE = re.compile(r"^bytes=([0-9]+)-([0-9]+)$")
#: A copy-source-range bound past any object's size (more than 19 digits).
_BEYOND = 1 << 63


def new_upload_id(ts: float) -> str:
    """Random and unguessable (192 bits), URL-safe, and sorting by creation
    time (a fixed-width millisecond stamp first), which is the order AWS
    lists uploads of one key in."""
    return f"{int(ts * 1000):012x}" + secrets.token_urlsafe(24)


def part_number(ctx: RequestContext) -> int:
    text = ctx.query.get("partNumber", "")
    number = decimal(text, 10)
    if number is None or not 1 <= number <= MAX_PART_NUMBER:
        raise S3Error("InvalidArgument", "Part number must be an integer between 1 and "
                      "10000, inclusive", ArgumentName="partNumber", ArgumentValue=text)
    return number


def upload_id(ctx: RequestContext) -> str:
    return ctx.query.get("uploadId", "")


async def load_upload(ctx: RequestContext) -> dict:
    """The upload named by the request (NoSuchUpload), after the bucket check."""
    await load_bucket(ctx)
    return await ctx.backend.metadata.get_upload(ctx.bucket, ctx.key, upload_id(ctx))


def _checksum_algorithm(ctx: RequestContext) -> str | None:
    value = ctx.header("x-amz-checksum-algorithm")
    if value is None:
        return None
    try:
        return checksums.normalize_algorithm(value)
    except ValueError:
        raise S3Error("InvalidRequest", "Checksum algorithm provided is unsupported. Please "
                      "try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, "
                      "SHA1, SHA256]") from None


def checksum_headers(checksum: dict | None) -> list[tuple[str, str]]:
    if not checksum or not checksum.get("value"):
        return []
    return [(checksums.header_name(checksum["algorithm"]), checksum["value"])]


# -- CreateMultipartUpload ------------------------------------------------------

async def create_multipart_upload(ctx: RequestContext) -> Response:
    bucket = await load_bucket(ctx)
    object_acl = object_acl_from_request(ctx, bucket)
    tags = request_tags(ctx.header)  # refused now, not at completion
    object_lock = lock.requested_lock(ctx.header, bucket, ctx.backend.clock.seconds(),
                                      with_default=False)
    redirect = website_redirect(ctx)
    metadata = user_metadata(ctx)
    headers = stored_headers(ctx)
    sc = storage_class(ctx)
    algorithm = _checksum_algorithm(ctx)
    ctype = checksum_type(algorithm, ctx.header("x-amz-checksum-type"))
    encryption = await multipart_sse.upload_sse(ctx, bucket)
    ts = now()
    uid = new_upload_id(ts)
    initiator, initiator_name = acl.principal(ctx.account)
    owner, owner_name = object_owner(ctx, bucket, object_acl)
    record = {
        VERSION_FIELD: MD_VERSION,
        Upl.UPLOAD_ID: uid,
        Upl.BUCKET: ctx.bucket,
        Upl.KEY: ctx.key,
        Upl.INITIATED: ts,
        Upl.OWNER: owner,
        Upl.OWNER_NAME: owner_name,
        Upl.INITIATOR: {"id": initiator, "name": initiator_name},
        Upl.ACL: object_acl.to_record(),
        Upl.CONTENT_TYPE: ctx.header("content-type"),
        Upl.HEADERS: headers,
        Upl.METADATA: metadata,
        Upl.STORAGE_CLASS: sc,
        Upl.CHECKSUM: {"algorithm": algorithm, "type": ctype} if algorithm else None,
        Upl.REQUEST_HEADERS: multipart_sse.kept_headers(ctx, KEPT_PREFIXES),
    }
    if encryption is not None:
        record[Upl.SSE] = encryption
    # What the object gets at completion, kept as parsed values.
    set_tags(record, tags)
    if redirect is not None:
        record[Upl.WEBSITE_REDIRECT] = redirect
    if object_lock:
        record[Upl.OBJECT_LOCK] = object_lock
    location = placement.object_location(ctx, bucket)
    if ctx.backend.locations.multiple:
        # Parts go where the upload was placed; a remote one gets its own upload.
        record[Upl.DATA_LOCATION] = location
        record[Upl.DATA_UPLOAD_ID] = await ctx.backend.locations.initiate_mpu(
            location, placement.upload_context(ctx, record))
    await ctx.backend.metadata.create_upload(ctx.bucket, ctx.key, uid, record)
    out = sse.response_headers(encryption)
    if algorithm:
        out += [("x-amz-checksum-algorithm", algorithm), ("x-amz-checksum-type", ctype)]
    return Response.xml(initiate_multipart_xml(ctx.bucket, ctx.key, uid), headers=out)


# -- UploadPart and UploadPartCopy ------------------------------------------------

def part_record(number: int, size: int, etag: str, location: list[dict],
                algorithm: str | None, value: str | None) -> dict:
    return {
        VERSION_FIELD: MD_VERSION,
        PartRecord.PART_NUMBER: number,
        PartRecord.SIZE: size,
        PartRecord.ETAG: etag,
        PartRecord.LAST_MODIFIED: now(),
        PartRecord.LOCATION: location,
        PartRecord.CHECKSUM: {"algorithm": algorithm, "value": value} if algorithm else None,
    }


@survives_disconnect
async def store_part(ctx: RequestContext, number: int, record: dict) -> None:
    """Write the part record; on failure free its data; then free the data of
    the part it replaced."""
    try:
        previous = await ctx.backend.metadata.put_part(
            ctx.bucket, ctx.key, upload_id(ctx), number, record)
    except BaseException:
        await delete_data(ctx, record[PartRecord.LOCATION])
        raise
    if previous and previous.get(PartRecord.LOCATION):
        piece_id = ctx.backend.locations.piece_id
        kept = {piece_id(loc) for loc in record[PartRecord.LOCATION]}
        await delete_data(ctx, [loc for loc in previous[PartRecord.LOCATION]
                                if piece_id(loc) not in kept])


def _part_checksum(upload: dict, exp) -> None:
    """A part of an upload with a checksum algorithm carries that algorithm
    (computed here when the client sent none); another one is refused."""
    wanted = (upload.get(Upl.CHECKSUM) or {}).get("algorithm")
    if wanted is None:
        return
    if exp.checksum_algorithm is None:
        exp.checksum_algorithm = wanted
    elif exp.checksum_algorithm != wanted:
        raise S3Error("InvalidRequest", "Checksum Type mismatch occurred, expected checksum "
                      f"Type: {wanted.lower()}, actual checksum Type: "
                      f"{exp.checksum_algorithm.lower()}")


async def upload_part(ctx: RequestContext) -> Response:
    number = part_number(ctx)
    upload = await load_upload(ctx)
    exp = expected_from_headers(ctx, max_size=MAX_PART_SIZE)
    _part_checksum(upload, exp)
    spec, cipher = await multipart_sse.part_cipher(ctx, upload)
    # With a cipher the Content-MD5 is checked here, not by a remote store
    # that only sees the ciphertext.
    target = placement.part_target(ctx, upload, number, exp.length,
                                   exp.md5_b64 if cipher is None else None)
    received = await receive_body(ctx, exp, max_size=MAX_PART_SIZE, target=target,
                                  cipher=cipher)
    location = sse.with_cipher(placement.pieces(ctx, target, received.key, received.size),
                               cipher)
    record = part_record(number, received.size,
                         sse.stored_etag(spec, cipher, received.md5_hex), location,
                         received.checksum_algorithm, received.checksum_value)
    await store_part(ctx, number, record)
    return Response(headers=[("ETag", quoted_etag(record[PartRecord.ETAG]))]
                    + checksum_headers(record[PartRecord.CHECKSUM])
                    + sse.response_headers(upload.get(Upl.SSE)))


def copy_range(value: str | None, size: int) -> tuple[int, int]:
    """(start, length) from x-amz-copy-source-range, as AWS validates it.

    The range is checked against the source first (a range past its end is
    InvalidRange whatever its length), then the bytes to copy against the
    part limit: more than 5 GiB, from a whole source or a range of it, is
    EntityTooLarge (as upstream's setUpCopyLocator).  All before any byte
    is read.
    """
    first, length = _requested_range(value, size)
    if length > MAX_PART_SIZE:
        raise S3Error("EntityTooLarge", ProposedSize=str(length),
                      MaxSizeAllowed=str(MAX_PART_SIZE))
    return first, length


def _bound(digits: str) -> int:
    value = decimal(digits.lstrip("0") or "0")
    return _BEYOND if value is None else value


def _requested_range(value: str | None, size: int) -> tuple[int, int]:
    if value is None:
        return 0, size
    m = _COPY_RANGE_RE.match(value.strip())
    first, last = (_bound(m.group(1)), _bound(m.group(2))) if m else (1, 0)
    if first > last:
        raise S3Error("InvalidArgument", "The x-amz-copy-source-range value must be of the "
                      "form bytes=first-last where first and last are the zero-based offsets "
                      "of the first and last bytes to copy",
                      ArgumentName="x-amz-copy-source-range", ArgumentValue=value)
    if last >= size:
        raise S3Error("InvalidRange", "The requested range is not satisfiable",
                      RangeRequested=value, ActualObjectSize=str(size))
    return first, last - first + 1


async def upload_part_copy(ctx: RequestContext) -> Response:
    number = part_number(ctx)
    upload = await load_upload(ctx)
    src_bucket, src_key, src_version = parse_copy_source(ctx.header("x-amz-copy-source"))
    src_attrs = await _load_source_bucket(ctx, src_bucket)
    version = parse_version_param(src_version)
    src = await load_object(ctx, src_bucket, src_key, access=COPY_SOURCE, bucket_attrs=src_attrs,
                            options={"versionId": version} if version else None)
    check_copy_conditions(ctx, src)
    start, length = copy_range(ctx.header("x-amz-copy-source-range"), src[Obj.SIZE])
    algorithm = (upload.get(Upl.CHECKSUM) or {}).get("algorithm")
    stages = await multipart_sse.source_stages(ctx, src, start, length)
    spec, cipher = await multipart_sse.part_cipher(ctx, upload)
    target = placement.part_target(ctx, upload, number, length)
    key, digests = await copy_data(ctx, src[Obj.LOCATION], start, length, algorithm, target,
                                   stages=stages, cipher=cipher)
    location = sse.with_cipher(placement.pieces(ctx, target, key, length), cipher)
    value = digests.checksum[1] if algorithm else None
    record = part_record(number, length, sse.stored_etag(spec, cipher, digests.md5_hex()),
                         location, algorithm, value)
    await store_part(ctx, number, record)
    checks = {algorithm: value} if algorithm else None
    body = copy_part_result_xml(record[PartRecord.ETAG],
                                iso8601(record[PartRecord.LAST_MODIFIED]), checks)
    headers = sse.response_headers(upload.get(Upl.SSE))
    if src_version is not None and client_version_id(src) is not None:
        headers.append(("x-amz-copy-source-version-id", client_version_id(src)))
    return Response.xml(body, headers=headers)


# -- AbortMultipartUpload ---------------------------------------------------------

async def abort_multipart_upload(ctx: RequestContext) -> Response:
    upload = await load_upload(ctx)
    parts = await ctx.backend.metadata.abort_upload(ctx.bucket, ctx.key, upload_id(ctx))
    for part in parts:
        await delete_data(ctx, part.get(PartRecord.LOCATION) or [])
    if ctx.backend.locations.is_remote(upload.get(Upl.DATA_LOCATION)):
        try:
            await ctx.backend.locations.abort_mpu(
                upload[Upl.DATA_LOCATION], placement.upload_context(ctx, upload),
                upload.get(Upl.DATA_UPLOAD_ID))
        except Exception:  # the remote expires it; the upload is gone here
            pass
    return Response(status=204)


# -- ListParts and ListMultipartUploads ------------------------------------------

def _int_param(ctx: RequestContext, name: str, default: int) -> int:
    text = ctx.query.get(name)
    if text is None:
        return default
    value = decimal(text, 10)
    if value is None:
        raise S3Error("InvalidArgument", f"Provided {name} not an integer or within "
                      "integer range", ArgumentName=name, ArgumentValue=text)
    return value


def _person(who: dict | None, fallback: tuple[str, str]) -> Person:
    if who:
        return Person(who.get("id", fallback[0]), who.get("name", fallback[1]))
    return Person(*fallback)


def part_entry(record: dict) -> PartEntry:
    checksum = record.get(PartRecord.CHECKSUM)
    checks = {checksum["algorithm"]: checksum["value"]} if checksum and \
        checksum.get("value") else None
    return PartEntry(number=record[PartRecord.PART_NUMBER], size=record[PartRecord.SIZE],
                     etag=record[PartRecord.ETAG],
                     last_modified=iso8601(record[PartRecord.LAST_MODIFIED]),
                     checksums=checks)


async def list_parts(ctx: RequestContext) -> Response:
    upload = await load_upload(ctx)
    max_parts = min(_int_param(ctx, "max-parts", MAX_LIST), MAX_LIST)
    marker = _int_param(ctx, "part-number-marker", 0)
    records, truncated = await ctx.backend.metadata.list_parts(
        upload_id(ctx), marker, max_parts)
    owner = (upload[Upl.OWNER], upload.get(Upl.OWNER_NAME, ""))
    checksum = upload.get(Upl.CHECKSUM) or {}
    result = ListPartsResult(
        bucket=ctx.bucket, key=ctx.key, upload_id=upload_id(ctx),
        initiator=_person(upload.get(Upl.INITIATOR), owner), owner=Person(*owner),
        storage_class=upload.get(Upl.STORAGE_CLASS, "STANDARD"),
        part_number_marker=marker, max_parts=max_parts, is_truncated=truncated,
        parts=[part_entry(r) for r in records],
        next_part_number_marker=records[-1]["partNumber"] if records else None,
        checksum_algorithm=checksum.get("algorithm"), checksum_type=checksum.get("type"))
    return Response.xml(list_parts_xml(result))


async def list_multipart_uploads(ctx: RequestContext) -> Response:
    await load_bucket(ctx)
    q = ctx.query
    max_uploads = min(_int_param(ctx, "max-uploads", MAX_LIST), MAX_LIST)
    encoding = q.get("encoding-type")
    if encoding is not None and encoding.lower() != "url":
        raise S3Error("InvalidArgument", "Invalid Encoding Method specified in Request",
                      ArgumentName="encoding-type", ArgumentValue=encoding)
    params = {"prefix": q.get("prefix") or "", "delimiter": q.get("delimiter") or "",
              "keyMarker": q.get("key-marker") or "",
              "uploadIdMarker": q.get("upload-id-marker") or "", "maxUploads": max_uploads}
    found = await ctx.backend.metadata.list_uploads(ctx.bucket, params)
    uploads = []
    for rec in found["Uploads"]:
        owner = (rec["owner"], rec.get("owner-name", ""))
        checksum = rec.get("checksum") or {}
        uploads.append(UploadEntry(
            key=rec["key"], upload_id=rec["uploadId"], initiated=iso8601(rec["initiated"]),
            initiator=_person(rec.get("initiator"), owner), owner=Person(*owner),
            storage_class=rec.get("storage-class", "STANDARD"),
            checksum_algorithm=checksum.get("algorithm"),
            checksum_type=checksum.get("type")))
    result = ListUploadsResult(
        bucket=ctx.bucket, max_uploads=max_uploads, is_truncated=found["IsTruncated"],
        key_marker=params["keyMarker"], upload_id_marker=params["uploadIdMarker"],
        prefix=params["prefix"], delimiter=params["delimiter"] or None,
        next_key_marker=found["NextKeyMarker"],
        next_upload_id_marker=found["NextUploadIdMarker"],
        encoding_type="url" if encoding is not None else None,
        uploads=uploads, common_prefixes=found["CommonPrefixes"])
    encode = url_encode if encoding is not None else None
    return Response.xml(list_multipart_uploads_xml(result, encode))


HANDLERS = {
    "CreateMultipartUpload": create_multipart_upload,
    "UploadPart": upload_part,
    "UploadPartCopy": upload_part_copy,
    "AbortMultipartUpload": abort_multipart_upload,
    "ListParts": list_parts,
    "ListMultipartUploads": list_multipart_uploads,
    "CompleteMultipartUpload": multipart_complete.complete_multipart_upload,
    "GetObjectAttributes": multipart_read.get_object_attributes,
}
