# -*- test-case-name: tests.unit.test_ops_bucket -*-
"""Bucket operations: create, head, delete, location."""
from __future__ import annotations

from cloudserver.metadata import errors as md_errors
from cloudserver.metadata.schema import MD_VERSION, VERSION_FIELD
from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.metadata.schema import PartRecord
from cloudserver.s3.access import acl
from cloudserver.s3.access import ownership as acl_ownership
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.model import ownership
from cloudserver.s3.ops.common import load_bucket, now
from cloudserver.s3.ops.object_write import delete_data
from cloudserver.s3.routing import valid_bucket_name
from cloudserver.s3.sse.config import bucket_encryption_attrs, retire_bucket_key
from cloudserver.s3.xml import location_constraint_xml, parse_create_bucket_configuration

MAX_CREATE_BODY = 64 * 1024
#: Location constraints that are legacy names of a region: AWS keeps ``EU``
#: as the bucket's LocationConstraint but the bucket is in eu-west-1.
REGION_OF_LOCATION = {"EU": "eu-west-1"}


def bucket_region(location: str | None) -> str:
    """The region a bucket of ``location`` is in (HeadBucket's x-amz-bucket-region)."""
    location = location or "us-east-1"
    return REGION_OF_LOCATION.get(location, location)


def new_bucket_ownership(ctx: RequestContext, new_acl: acl.Acl) -> str | None:
    """The Object Ownership a new bucket is created with: the
    x-amz-object-ownership header, else config.json's
    ``defaultObjectOwnership``; None (no OwnershipControls, behaving as
    ObjectWriter) when neither names one.  BucketOwnerEnforced with an ACL
    that grants others is InvalidBucketAclWithObjectOwnership."""
    header = ctx.header(ownership.HEADER)
    if header is not None:
        setting = ownership.check_setting(header.strip(), header=True)
    else:
        setting = ctx.backend.config.default_object_ownership
    if setting is None or setting == ownership.DEFAULT and header is None:
        return None
    acl_ownership.check_enforced_allowed(setting, new_acl)
    return setting


#: CreateBucket's request for a write-once (object lock) bucket.
OBJECT_LOCK_HEADER = "x-amz-bucket-object-lock-enabled"


def object_lock_requested(ctx: RequestContext) -> bool:
    """Whether CreateBucket asks for object lock: ``true`` or ``false``
    (any case, as AWS); another value is InvalidArgument, refused before
    anything is created."""
    value = ctx.header(OBJECT_LOCK_HEADER)
    if value is None:
        return False
    value = value.strip().lower()
    if value not in ("true", "false"):
        raise S3Error("InvalidArgument", f"Invalid value for header {OBJECT_LOCK_HEADER}",
                      ArgumentName=OBJECT_LOCK_HEADER, ArgumentValue=ctx.header(
                          OBJECT_LOCK_HEADER))
    return value == "true"


async def create_bucket(ctx: RequestContext) -> Response:
    name = ctx.bucket
    if not valid_bucket_name(name):
        raise S3Error("InvalidBucketName", BucketName=name)
    account = ctx.account
    new_acl = acl.acl_from_headers(ctx.header, account.canonical_id, ctx.backend.accounts) \
        or acl.private(account.canonical_id)
    object_ownership = new_bucket_ownership(ctx, new_acl)
    locked = object_lock_requested(ctx)
    body = await ctx.read_small_body(MAX_CREATE_BODY)
    location = parse_create_bucket_configuration(body) if body.strip() else None
    config = ctx.backend.config
    if location is None or location == "":
        location = config.location_for_host(ctx.host.rsplit(":", 1)[0])
    elif location not in config.locations:
        raise S3Error("InvalidLocationConstraint",
                      "The specified location constraint is not valid.",
                      LocationConstraint=location)
    attrs = {
        VERSION_FIELD: MD_VERSION,
        Bkt.NAME: name,
        Bkt.OWNER: account.canonical_id,
        Bkt.OWNER_NAME: account.display_name,
        Bkt.CREATION_DATE: now(),
        Bkt.LOCATION: location,
        Bkt.VERSIONING: None,
        Bkt.ACL: new_acl.to_record(),
    }
    if object_ownership is not None:
        attrs[Bkt.OBJECT_OWNERSHIP] = object_ownership
    if locked:  # a lock protects versions: the bucket is versioned from the start
        attrs[Bkt.VERSIONING] = "Enabled"
        attrs[Bkt.OBJECT_LOCK_ENABLED] = True
    encryption = await bucket_encryption_attrs(ctx)
    attrs.update(encryption)
    created = False
    try:
        created = await _create_record(ctx, attrs, new_acl)
    finally:
        if not created:  # a master key made for a bucket that was not created
            await retire_bucket_key(ctx, encryption)
    return Response(headers=[("Location", "/" + name)])


async def _create_record(ctx: RequestContext, attrs: dict, new_acl: acl.Acl) -> bool:
    """Store the new bucket's record (True); an existing bucket of that name
    gives AWS's answer: BucketAlreadyOwnedByYou, or (False) 200 to its owner
    on a legacy location."""
    name, account, config = ctx.bucket, ctx.account, ctx.backend.config
    try:
        await ctx.backend.metadata.create_bucket(name, attrs)
    except md_errors.BucketAlreadyExists:
        existing = await ctx.backend.metadata.get_bucket(name)
        if existing.get(Bkt.OWNER) == account.canonical_id:
            # A legacy (us-east-1 style) location answers 200 to its owner, as AWS,
            # unless the request asks for another ACL than the bucket has.
            if config.locations.get(existing.get(Bkt.LOCATION), {}).get("legacyAwsBehavior"):
                if not acl.equivalent(acl.bucket_acl(existing), new_acl):
                    raise S3Error("BucketAlreadyExists", BucketName=name) from None
                return False
            raise S3Error("BucketAlreadyOwnedByYou", BucketName=name) from None
        raise S3Error("BucketAlreadyExists", BucketName=name) from None
    return True


async def head_bucket(ctx: RequestContext) -> Response:
    attrs = await load_bucket(ctx)
    return Response(headers=[("x-amz-bucket-region", bucket_region(attrs.get(Bkt.LOCATION)))])


async def delete_bucket(ctx: RequestContext) -> Response:
    attrs = await load_bucket(ctx)
    try:
        await ctx.backend.metadata.delete_bucket(ctx.bucket)
    except md_errors.BucketNotEmpty:
        raise S3Error("BucketNotEmpty", BucketName=ctx.bucket) from None
    except md_errors.NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None
    # Unfinished multipart uploads go with the bucket, as on AWS.
    more = True
    while more:
        parts, more = await ctx.backend.metadata.delete_bucket_uploads(ctx.bucket)
        for part in parts:
            await delete_data(ctx, part.get(PartRecord.LOCATION) or [])
    # Its own master key goes once nothing it protects is left.
    await retire_bucket_key(ctx, attrs)
    return Response(status=204)


async def get_bucket_location(ctx: RequestContext) -> Response:
    attrs = await load_bucket(ctx)
    location = attrs.get(Bkt.LOCATION) or ""
    if location == "us-east-1":
        location = ""
    return Response.xml(location_constraint_xml(location))


HANDLERS = {
    "CreateBucket": create_bucket,
    "HeadBucket": head_bucket,
    "DeleteBucket": delete_bucket,
    "GetBucketLocation": get_bucket_location,
}
