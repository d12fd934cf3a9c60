# -*- test-case-name: tests.unit.test_multipart_read -*-
"""Reading a multipart object part by part: GET/HEAD ``?partNumber=N``
(used by object_read) and GetObjectAttributes.

A completed object keeps ``md["parts"]`` (``ObjectRecord.PARTS``): one ``{"size", "checksum"?}``
per part, in order, so a part's byte range is the sum of the sizes before
it.  An object without it (a PutObject) has one part, the whole object.
"""
from __future__ import annotations

import attrs

from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.s3.model import checksums
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.common import http_date, load_bucket, load_object
from cloudserver.s3.model.numbers import decimal
from cloudserver.s3.model.versions import client_version_id, parse_version_param
from cloudserver.s3.sse.apply import check_customer
from cloudserver.s3.sse.request import customer_key, require_secure
from cloudserver.s3.xml import ObjectAttributes, PartEntry, object_attributes_xml

MAX_PART_NUMBER = 10000
ATTRIBUTES = ("ETag", "Checksum", "ObjectParts", "StorageClass", "ObjectSize")


@attrs.frozen
class PartRead:
    #: (start, length) to send, or None for the whole object
    range: tuple[int, int] | None
    headers: list[tuple[str, str]]


def _number(text: str) -> int:
    number = decimal(text, 10)
    if number is None or not 1 <= number <= MAX_PART_NUMBER:
        raise S3Error("InvalidArgument", "Part number must be an integer between 1 and "
                      "10000, inclusive", ArgumentName="partNumber", ArgumentValue=text)
    return number


def part_read(ctx: RequestContext, md: dict) -> PartRead:
    """What GET/HEAD ``?partNumber=N`` sends of ``md``."""
    number = _number(ctx.query.get("partNumber", ""))
    if ctx.header("range") is not None:
        raise S3Error("InvalidRequest", "Cannot specify both Range header and partNumber "
                      "query parameter")
    parts = md.get(Obj.PARTS)
    if not parts:
        if number != 1:
            raise S3Error("InvalidPartNumber", PartNumberRequested=str(number),
                          ActualPartCount="1")
        return PartRead(None, [])
    if number > len(parts):
        raise S3Error("InvalidPartNumber", PartNumberRequested=str(number),
                      ActualPartCount=str(len(parts)))
    start = sum(p["size"] for p in parts[:number - 1])
    part = parts[number - 1]
    headers = [("x-amz-mp-parts-count", str(len(parts)))]
    checksum = md.get(Obj.CHECKSUM)
    if checksum and part.get("checksum") and \
            (ctx.header("x-amz-checksum-mode") or "").upper() == "ENABLED":
        headers.append((checksums.header_name(checksum["algorithm"]), part["checksum"]))
        headers.append(("x-amz-checksum-type", checksum.get("type", "COMPOSITE")))
    return PartRead((start, part["size"]) if part["size"] else None, headers)


def _header_int(ctx: RequestContext, name: str, default: int) -> int:
    text = ctx.header(name)
    if text is None:
        return default
    text = text.strip()
    value = decimal(text, 10)
    if value is None:
        raise S3Error("InvalidArgument", f"Invalid value for {name}",
                      ArgumentName=name, ArgumentValue=text)
    return value


def _wanted(ctx: RequestContext) -> set[str]:
    raw = ctx.header("x-amz-object-attributes")
    names = {n.strip() for n in (raw or "").split(",") if n.strip()}
    if not names:
        raise S3Error("InvalidRequest", "The x-amz-object-attributes header specifying the "
                      "attributes to be retrieved is either missing or empty")
    unknown = names - set(ATTRIBUTES)
    if unknown:
        raise S3Error("InvalidArgument", "Invalid attribute name specified.",
                      ArgumentName="x-amz-object-attributes",
                      ArgumentValue=sorted(unknown)[0])
    return names


async def get_object_attributes(ctx: RequestContext) -> Response:
    attrs = await load_bucket(ctx)
    wanted = _wanted(ctx)
    version = parse_version_param(ctx.query.get("versionId"))
    customer = customer_key(ctx.header)
    require_secure(customer, ctx.secure, ctx.backend.config)
    md = await load_object(ctx, ctx.bucket, ctx.key, bucket_attrs=attrs,
                           options={"versionId": version} if version else None)
    check_customer(md.get(Obj.SSE), customer)  # AWS: an SSE-C object's key is required
    out = ObjectAttributes()
    if "ETag" in wanted:
        out.etag = md[Obj.ETAG]
    checksum = md.get(Obj.CHECKSUM)
    if "Checksum" in wanted and checksum and checksum.get("value"):
        out.checksums = {checksum["algorithm"]: checksum["value"],
                         "ChecksumType": checksum.get("type", "FULL_OBJECT")}
    if "StorageClass" in wanted:
        out.storage_class = md.get(Obj.STORAGE_CLASS, "STANDARD")
    if "ObjectSize" in wanted:
        out.object_size = md[Obj.SIZE]
    parts = md.get(Obj.PARTS)
    if "ObjectParts" in wanted and parts:
        max_parts = min(_header_int(ctx, "x-amz-max-parts", 1000), 1000)
        marker = _header_int(ctx, "x-amz-part-number-marker", 0)
        chosen = list(enumerate(parts, 1))[marker:marker + max_parts]
        algorithm = checksum["algorithm"] if checksum else None
        out.parts_count = len(parts)
        out.part_number_marker = marker
        out.max_parts = max_parts
        out.parts_truncated = marker + max_parts < len(parts)
        if chosen:
            out.next_part_number_marker = chosen[-1][0]
        out.parts = [PartEntry(number=n, size=p["size"],
                               checksums={algorithm: p["checksum"]}
                               if algorithm and p.get("checksum") else None)
                     for n, p in chosen]
    headers = [("Last-Modified", http_date(md[Obj.LAST_MODIFIED]))]
    if client_version_id(md) is not None:
        headers.append(("x-amz-version-id", client_version_id(md)))
    return Response.xml(object_attributes_xml(out), headers=headers)
