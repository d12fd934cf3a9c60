# -*- test-case-name: tests.functional.test_multipart -*-
"""CompleteMultipartUpload: validate the part list, compute the ETag and
checksum from the parts' own, then write the object and drop the upload in
one metadata batch.  No byte of data is copied: the object's location is
the parts' pieces in order.

A complete retried after it succeeded (the client lost the answer) gets
the same answer again, as AWS gives it: the object remembers the upload id
it was made from.
"""
from __future__ import annotations

from urllib.parse import quote

from cloudserver.metadata import errors as md_errors
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.metadata.schema import PartRecord, PieceRecord
from cloudserver.metadata.schema import UploadRecord as Upl
from cloudserver.metadata.uploads import InvalidPart, NoSuchUpload, part_identity
from cloudserver.s3.model import checksums, lock, placement
from cloudserver.s3.ops.events import with_event
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.lifecycle import expiration_headers
from cloudserver.s3.ops.common import (
    load_bucket, set_website_redirect, survives_disconnect)
from cloudserver.s3.ops.multipart_sse import check_completion
from cloudserver.s3.ops.multipart_checksums import (
    COMPOSITE, composite_checksum, final_etag, full_object_crc)
from cloudserver.s3.ops.object_write import (
    check_write_conditions, delete_data, object_record, with_conditions)
from cloudserver.s3.ops.upload import Received
from cloudserver.s3.model.tags import parse_tagging_header, set_tags, tags_of
from cloudserver.s3.sse.apply import response_headers
from cloudserver.s3.model.versions import (
    client_version_id, freed_records, refuse_version_param, result_version_id,
    versioning_state, write_options)
from cloudserver.s3.xml import complete_multipart_xml, parse_complete_multipart

MIN_PART_SIZE = 5 * 1024 * 1024
#: 10000 parts, each with an ETag and a checksum, plus framing.
MAX_COMPLETE_BODY = 4 * 1024 * 1024
MAX_PARTS = 10000
#: Commits tried when parts are re-uploaded (durably) under a completion.
COMMIT_ATTEMPTS = 4


def _strip_etag(etag: str) -> str:
    return etag.strip().strip('"').lower()


def select_parts(requested: list[tuple[int, str, dict]]) -> list[tuple[int, str, dict]]:
    """The requested parts in order, each number once.

    Numbers must not decrease (InvalidPartOrder); a number listed twice in
    a row counts once, with its last entry (a client that re-sent a part
    while it was uploading lists both answers, s3-tests
    ``test_multipart_resend_first_finishes_last``).
    """
    out: list[tuple[int, str, dict]] = []
    for entry in requested:
        if out and entry[0] < out[-1][0]:
            raise S3Error("InvalidPartOrder")
        if out and entry[0] == out[-1][0]:
            out[-1] = entry
        else:
            out.append(entry)
    return out


def _request_checksum(ctx: RequestContext) -> tuple[str, str] | None:
    for name in ctx.headers:
        algorithm = checksums.algorithm_from_header(name)
        if algorithm is not None:
            return algorithm, ctx.header(name) or ""
    return None


def final_checksum(ctx: RequestContext, upload: dict, parts: list[dict],
                   requested: list[tuple[int, str, dict]]) -> dict | None:
    """The object's checksum record ({algorithm, value, type}) or None; checks
    what the request claims about it."""
    declared = upload.get(Upl.CHECKSUM) or {}
    algorithm, ctype = declared.get("algorithm"), declared.get("type")
    claimed = _request_checksum(ctx)
    type_header = ctx.header("x-amz-checksum-type")
    if type_header is not None and type_header.strip().upper() != (ctype or ""):
        raise S3Error("InvalidRequest", "The upload was created using the "
                      f"{ctype or 'null'} checksum mode. The complete request must use "
                      "the same checksum mode.")
    if algorithm is None:
        return None
    values = []
    for record, (number, _, xml_checks) in zip(parts, requested):
        stored = record.get(PartRecord.CHECKSUM) or {}
        if stored.get("algorithm") != algorithm or not stored.get("value"):
            raise S3Error("InvalidRequest", f"The upload was created using a "
                          f"{algorithm.lower()} checksum. Part {number} has none.")
        sent = xml_checks.get("Checksum" + algorithm)
        if sent is not None and sent != stored["value"]:
            raise S3Error("InvalidPart", PartNumber=str(number))
        values.append(stored["value"])
    if ctype == COMPOSITE:
        value = composite_checksum(algorithm, values)
    else:
        value = full_object_crc(algorithm,
                                [(v, p[PartRecord.SIZE]) for v, p in zip(values, parts)])
    if claimed is not None:
        c_alg, c_value = claimed
        if c_alg != algorithm:
            raise S3Error("InvalidRequest", f"The upload was created using a "
                          f"{algorithm.lower()} checksum. The complete request must use the "
                          "same checksum algorithm.")
        if c_value.strip().partition("-")[0] != value.partition("-")[0]:
            raise S3Error("BadDigest", f"The {algorithm.lower()} you specified did not "
                          "match the calculated checksum.")
    return {"algorithm": algorithm, "value": value, "type": ctype}


def _result(ctx: RequestContext, md: dict, version: str | None, bucket: dict) -> Response:
    checks = None
    checksum = md.get(Obj.CHECKSUM)
    if checksum:
        checks = {checksum["algorithm"]: checksum["value"],
                  "ChecksumType": checksum.get("type", COMPOSITE)}
    location = f"http://{ctx.host}/{quote(ctx.bucket)}/{quote(ctx.key)}"
    body = complete_multipart_xml(location, ctx.bucket, ctx.key, md[Obj.ETAG], checks)
    headers = [("x-amz-version-id", version)] if version is not None else []
    headers += response_headers(md.get(Obj.SSE)) + expiration_headers(ctx, bucket, md)
    return Response.xml(body, headers=headers)


async def _completed_before(ctx: RequestContext, uid: str, bucket: dict) -> Response:
    """The answer to a retried complete, or NoSuchUpload."""
    try:
        current = await ctx.backend.metadata.get_object(ctx.bucket, ctx.key)
    except md_errors.NoSuchKey:
        current = None
    if current is None or current.get(Obj.UPLOAD_ID) != uid:
        raise S3Error("NoSuchUpload")
    enabled = versioning_state(bucket) == "Enabled"
    return _result(ctx, current, client_version_id(current) if enabled else None, bucket)


def remote_pieces(ctx: RequestContext, location: str, key: str, parts: list[dict],
                  total: int, encrypted: bool) -> list[dict]:
    """The pieces of an object a remote assembled from its parts: one piece;
    encrypted, a piece per part (each with its own key and IV) over the
    same blob, ``blobStart`` telling where the part begins in it."""
    locations = ctx.backend.locations
    if not encrypted:
        return [locations.piece(location, key, 0, total)]
    pieces, offset = [], 0
    for part in parts:
        for loc in part.get(PartRecord.LOCATION) or ():
            extra = {PieceRecord.BLOB_START: offset}
            if loc.get(PieceRecord.CIPHER) is not None:
                extra[PieceRecord.CIPHER] = loc[PieceRecord.CIPHER]
            pieces.append(locations.piece(location, key, offset, loc["size"], **extra))
            offset += loc["size"]
    return pieces


def object_location(parts: list[dict]) -> list[dict]:
    """The parts' data pieces, one after the other, as one object."""
    location, offset = [], 0
    for part in parts:
        for loc in part.get(PartRecord.LOCATION) or ():
            location.append({**loc, "start": offset + loc["start"]})
        offset += part[PartRecord.SIZE]
    return location


async def complete_multipart_upload(ctx: RequestContext) -> Response:
    refuse_version_param(ctx.query)
    bucket = await load_bucket(ctx)
    uid = ctx.query.get("uploadId", "")
    body = await ctx.read_small_body(MAX_COMPLETE_BODY)
    meta = ctx.backend.metadata
    try:
        upload = await meta.get_upload(ctx.bucket, ctx.key, uid)
    except NoSuchUpload:
        return await _completed_before(ctx, uid, bucket)
    requested = select_parts(parse_complete_multipart(body))
    stored, _ = await meta.list_parts(uid, 0, MAX_PARTS)
    by_number = {r[PartRecord.PART_NUMBER]: r for r in stored}
    parts = []
    for number, etag, _ in requested:
        record = by_number.get(number)
        if record is None or record[PartRecord.ETAG] != _strip_etag(etag):
            raise S3Error("InvalidPart", PartNumber=str(number), ETag=etag)
        parts.append(record)
    check_completion(ctx, upload, parts)
    for record in parts[:-1]:
        if record[PartRecord.SIZE] < MIN_PART_SIZE:
            raise S3Error("EntityTooSmall", ProposedSize=str(record[PartRecord.SIZE]),
                          MinSizeAllowed=str(MIN_PART_SIZE),
                          PartNumber=str(record[PartRecord.PART_NUMBER]),
                          ETag=record[PartRecord.ETAG])
    total = sum(p[PartRecord.SIZE] for p in parts)
    size_header = ctx.header("x-amz-mp-object-size")
    if size_header is not None and size_header.strip() != str(total):
        raise S3Error("InvalidRequest", "The provided 'x-amz-mp-object-size' header value "
                      f"{size_header} does not match what was computed: {total}")
    checksum = final_checksum(ctx, upload, parts, requested)
    await check_write_conditions(ctx, ctx.bucket, ctx.key)

    etag = final_etag([p[PartRecord.ETAG] for p in parts])
    received = Received(key=None, size=total, md5_hex=etag, checksum_algorithm=None,
                        checksum_value=None)
    md = object_record(ctx, received, content_type=upload.get(Upl.CONTENT_TYPE),
                       headers=upload.get(Upl.HEADERS) or {},
                       metadata=upload.get(Upl.METADATA) or {}, etag=etag)
    data_location = upload.get(Upl.DATA_LOCATION)
    if ctx.backend.locations.is_remote(data_location):
        # The remote assembles its own object from the parts it staged.
        key = await ctx.backend.locations.complete_mpu(
            data_location, placement.upload_context(ctx, upload),
            upload.get(Upl.DATA_UPLOAD_ID),
            [(p[PartRecord.PART_NUMBER], p[PartRecord.LOCATION][0]["key"])
             for p in parts if p.get(PartRecord.LOCATION)])
        pieces = remote_pieces(ctx, data_location, key, parts, total,
                               encrypted=upload.get(Upl.SSE) is not None)
    else:
        pieces = object_location(parts)
    md.update({
        Obj.LOCATION: pieces,
        Obj.STORAGE_CLASS: upload.get(Upl.STORAGE_CLASS, "STANDARD"),
        Obj.OWNER: upload.get(Upl.OWNER, md[Obj.OWNER]),
        Obj.OWNER_NAME: upload.get(Upl.OWNER_NAME, md[Obj.OWNER_NAME]),
        Obj.UPLOAD_ID: uid,
        Obj.PARTS: [_part_summary(p, checksum is not None) for p in parts],
    })
    if checksum is not None:
        md[Obj.CHECKSUM] = checksum
    if upload.get(Upl.ACL) is not None:
        md[Obj.ACL] = upload[Upl.ACL]
    if upload.get(Upl.SSE) is not None:
        md[Obj.SSE] = upload[Upl.SSE]  # each piece keeps its part's cipher
    if upload.get(Upl.REQUEST_HEADERS):
        md[Obj.REQUEST_HEADERS] = upload[Upl.REQUEST_HEADERS]
    set_tags(md, upload_tags(upload))
    set_website_redirect(md, upload.get(Upl.WEBSITE_REDIRECT))
    lock.set_lock(md, lock.completed_lock(upload.get(Upl.OBJECT_LOCK), bucket,
                                          ctx.backend.clock.seconds()))
    done = await _commit_completion(ctx, uid, md, parts,
                                    with_conditions(ctx, write_options(bucket)),
                                    relocate=not ctx.backend.locations.is_remote(data_location))
    # AWS names the version only in a versioning-enabled bucket (s3-tests
    # test_versioning_bucket_multipart_upload_return_version_id)
    enabled = versioning_state(bucket) == "Enabled"
    version = result_version_id(done["result"]) if enabled else None
    return _result(ctx, md, version, bucket)


@survives_disconnect
async def _commit_completion(ctx: RequestContext, uid: str, md: dict, parts: list,
                             options: dict | None, relocate: bool = True) -> dict:
    """Write the object and drop the upload in one batch, then free the data
    nothing refers to any more (replaced versions, parts left out, parts
    re-uploaded while this ran).

    The metadata service refuses the batch (InvalidPart) when a part was
    re-uploaded, durably, since it was read: its old data is being freed.
    The parts are then read again and, if each still has the ETag the
    request named (a client retrying a part sends the same bytes), the
    object is made of the new ones (``relocate``: a local object's pieces
    are the parts'; a remote one was assembled by the remote already).
    """
    for attempt in range(COMMIT_ATTEMPTS):
        expected = {p[PartRecord.PART_NUMBER]: part_identity(p) for p in parts}
        try:
            done = await ctx.backend.metadata.complete_upload(
                ctx.bucket, ctx.key, uid, md, expected, with_event(ctx, options))
            break
        except InvalidPart:
            if attempt == COMMIT_ATTEMPTS - 1:
                raise S3Error("InvalidPart") from None
        parts = await _reread_parts(ctx, uid, parts)
        if relocate:
            md[Obj.LOCATION] = object_location(parts)
    piece_id = ctx.backend.locations.piece_id
    kept = {piece_id(loc) for loc in md[Obj.LOCATION]}
    garbage = [loc for record in freed_records(done["result"])
               for loc in record.get(Obj.LOCATION) or () if piece_id(loc) not in kept]
    for part in done["unused"]:
        garbage.extend(part.get(PartRecord.LOCATION) or [])
    await delete_data(ctx, garbage)
    return done


def upload_tags(upload: dict) -> list[tuple[str, str]] | None:
    """The tags CreateMultipartUpload asked for: the upload's ``tags``, or
    for uploads created before it kept them, its x-amz-tagging header."""
    if Upl.TAGS in upload or not upload.get(Upl.REQUEST_HEADERS):
        return tags_of(upload)
    try:
        return parse_tagging_header(upload[Upl.REQUEST_HEADERS].get("x-amz-tagging"))
    except S3Error:  # refused by today's rules: complete without them, not never
        return None


async def _reread_parts(ctx: RequestContext, uid: str, parts: list[dict]) -> list[dict]:
    """The current records of ``parts``; InvalidPart unless each has the
    same ETag, size and checksum (what the object's record was made of)."""
    stored, _ = await ctx.backend.metadata.list_parts(uid, 0, MAX_PARTS)
    by_number = {r[PartRecord.PART_NUMBER]: r for r in stored}
    out = []
    for old in parts:
        new = by_number.get(old[PartRecord.PART_NUMBER])
        if new is None or any(new.get(f) != old.get(f) for f in ("etag", "size", "checksum")):
            raise S3Error("InvalidPart", PartNumber=str(old[PartRecord.PART_NUMBER]),
                          ETag=old[PartRecord.ETAG])
        out.append(new)
    return out


def _part_summary(part: dict, with_checksum: bool) -> dict:
    """What the object keeps of each part: GET ?partNumber and
    GetObjectAttributes answer from it."""
    out = {"size": part[PartRecord.SIZE]}
    checksum = part.get(PartRecord.CHECKSUM)
    if with_checksum and checksum and checksum.get("value"):
        out["checksum"] = checksum["value"]
    return out
