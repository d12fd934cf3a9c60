# -*- test-case-name: tests.unit.test_locations -*-
"""Where an object's bytes go: the one place the S3 handlers ask.

The location of a new object is, in upstream's order: the
``x-amz-meta-scal-location-constraint`` header of the PUT (or
CreateMultipartUpload, or CopyObject), else the bucket's location
constraint, else the ``restEndpoints`` default of the Host the request came
to.  A name that locationConfig.json does not define is refused with
upstream's InvalidArgument messages.  The chosen location and a
``WriteContext`` (names, size, metadata for remote stores) make a
``Target`` that ``upload.receive_body`` and ``copy.copy_data`` write to.
"""
from __future__ import annotations

from typing import Any, Mapping

import attrs

from cloudserver.data import inline
from cloudserver.data.locations import Locations
from cloudserver.data.write_context import PartTarget, WriteContext
from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.s3.errors import S3Error

LOCATION_HEADER = "x-amz-meta-scal-location-constraint"


def choose_location(locations: Mapping[str, Any], rest_endpoints: Mapping[str, str],
                    header: str | None, bucket_location: str | None, host: str) -> str:
    """The location name for a new object (pure: unit-tested as a table)."""
    if header is not None:
        if header not in locations:
            raise S3Error("InvalidArgument", f'Object Location Error - Your object location '
                          f'"{header}"is not  in your location config - Please update.',
                          ArgumentName=LOCATION_HEADER, ArgumentValue=header)
        return header
    if bucket_location:
        if bucket_location not in locations:
            raise S3Error("InvalidArgument", f'Bucket Location Error - Your bucket location '
                          f'"{bucket_location}"is not  in your location config - Please '
                          'update.')
        return bucket_location
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    default = rest_endpoints.get(name, "us-east-1")
    if default not in locations:
        raise S3Error("InvalidArgument", f'Endpoint Location Error - Your endpoint "{name}" '
                      'is not in restEndpoints in your config OR the default location '
                      f'constraint for request endpoint "{name}" does not match any config '
                      'locationConstraint - Please update.')
    return default


@attrs.frozen
class Target:
    """Where one upload (object, part or copy) is written."""

    location: str | None
    context: WriteContext | None = None
    remote: bool = False


def object_location(ctx, bucket: Mapping[str, Any]) -> str:
    config = ctx.backend.config
    return choose_location(config.locations, config.rest_endpoints,
                           ctx.header(LOCATION_HEADER), bucket.get(Bkt.LOCATION), ctx.host)


def object_target(ctx, bucket: Mapping[str, Any], size: int | None, *,
                  metadata: Mapping[str, str], headers: Mapping[str, str],
                  content_type: str | None, key: str | None = None) -> Target:
    """The target of a PutObject / CopyObject into ``bucket``."""
    name = object_location(ctx, bucket)
    locations: Locations = ctx.backend.locations
    remote = locations.is_remote(name)
    if remote and size is None:
        # A remote PUT needs its length up front (as AWS S3 itself does).
        raise S3Error("MissingContentLength")
    context = WriteContext(
        bucket=ctx.bucket, key=key or ctx.key, size=size, content_type=content_type,
        metadata=dict(metadata), headers=dict(headers), tagging=ctx.header("x-amz-tagging"),
        content_md5=ctx.header("content-md5")) if remote else None
    return Target(name, context, remote)


def upload_context(ctx, upload: Mapping[str, Any]) -> WriteContext:
    """The remote description of a multipart upload's final object."""
    return WriteContext(
        bucket=upload.get("bucket", ctx.bucket), key=upload.get("key", ctx.key),
        content_type=upload.get("content-type"), metadata=upload.get("metadata") or {},
        headers=upload.get("headers") or {},
        tagging=(upload.get("request-headers") or {}).get("x-amz-tagging"))


def part_target(ctx, upload: Mapping[str, Any], number: int, size: int | None,
                content_md5: str | None = None) -> Target:
    """Parts go where their upload was placed when it was created."""
    name = upload.get("data-location")
    locations: Locations = ctx.backend.locations
    remote = locations.is_remote(name)
    if not remote:
        return Target(name)
    if size is None:
        raise S3Error("MissingContentLength")
    context = attrs.evolve(
        upload_context(ctx, upload), size=size, content_md5=content_md5,
        part=PartTarget(upload["uploadId"], upload.get("data-upload-id"), number))
    return Target(name, context, True)


def pieces(ctx, target: Target | None, key: str | None, size: int,
           inline_data: bytes | None = None) -> list[dict]:
    """The ``location`` list of what was just written (empty: no data)."""
    if key is None:
        return []
    if inline_data is not None:
        return [inline.inline_piece(key, inline_data)]
    locations: Locations = ctx.backend.locations
    name = target.location if target is not None else None
    extra = {"remotePart": True} if target is not None and target.remote and \
        target.context is not None and target.context.part is not None else {}
    return [locations.piece(name, key, 0, size, **extra)]


def create_writer(ctx, target: Target | None, inline_size: int | None = None):
    """A writer for ``target``; ``inline_size`` (the declared size of an
    object, not a part) lets a small enough one stay in its record."""
    locations: Locations = ctx.backend.locations
    if target is None:
        return locations.create_writer(None, inline_size=inline_size)
    return locations.create_writer(target.location, target.context, inline_size=inline_size)


async def prepare(producers: list) -> None:
    """Let a remote producer get its answer before the S3 headers go out,
    so an unavailable location is a 503, not a cut connection."""
    if producers and hasattr(producers[0], "prepare"):
        await producers[0].prepare()
