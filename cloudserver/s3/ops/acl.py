# -*- test-case-name: tests.unit.test_acl_ops -*-
"""GetBucketAcl, PutBucketAcl, GetObjectAcl and PutObjectAcl.

The access checks (READ_ACP to read an ACL, WRITE_ACP to replace it) are
decided where ``load_bucket`` / ``load_object`` load them, from the route's access; these
handlers only turn ACLs into documents and documents (or headers) into ACLs.
"""
from __future__ import annotations

from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.s3.access import acl
from cloudserver.s3.access import ownership as acl_ownership
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.bucket_config import update_bucket_field
from cloudserver.s3.ops.common import load_bucket, load_object
from cloudserver.s3.ops.object_read import load_current
from cloudserver.s3.model import ownership
from cloudserver.s3.model.versions import client_version_id, shown_version_id
from cloudserver.s3.xml import acl_xml


def _document(a: acl.Acl, accounts, fallback_name: str | None) -> bytes:
    return acl_xml(a.owner, acl.owner_name(a.owner, accounts, fallback_name),
                   acl.response_grants(a, accounts))


def object_acl_from_request(ctx: RequestContext, bucket_attrs: dict) -> acl.Acl:
    """The ACL a new object gets (PutObject, CopyObject, CreateMultipartUpload,
    PostObject): from x-amz-acl / x-amz-grant-* headers, private without them.
    Its owner, the object's, is who the bucket's Object Ownership says
    (``ownership.new_object_owner``).  BlockPublicAcls refuses a public ACL;
    BucketOwnerEnforced any but the bucket owner's full control."""
    writer, _ = acl.principal(ctx.account)
    canned_name = ctx.header("x-amz-acl")
    owner = ownership.new_object_owner(bucket_attrs, writer, canned_name)
    requested = acl.acl_from_headers(ctx.header, owner, ctx.backend.accounts,
                                     bucket_attrs.get(Bkt.OWNER))
    acl_ownership.check_acl_allowed(bucket_attrs, canned_name, requested)
    if requested is None or ownership.acls_disabled(bucket_attrs):
        requested = acl.private(owner)
    acl.check_public_acl_allowed(bucket_attrs, requested)
    return requested


def object_owner(ctx: RequestContext, bucket_attrs: dict, new: acl.Acl) -> tuple[str, str]:
    """(canonical id, display name) of the owner of a new object whose ACL
    is ``new`` (from :func:`object_acl_from_request`)."""
    writer, writer_name = acl.principal(ctx.account)
    if new.owner == writer:
        return writer, writer_name
    return new.owner, acl.owner_name(new.owner, ctx.backend.accounts,
                                     bucket_attrs.get(Bkt.OWNER_NAME)) or ""


async def new_acl(ctx: RequestContext, owner: str, bucket_owner: str | None) -> acl.Acl:
    """The ACL a Put*Acl request asks for, from its headers or its body.

    Headers and a body together are UnexpectedContent; neither is
    MissingSecurityHeader; a body naming another owner is AccessDenied.
    """
    accounts = ctx.backend.accounts
    body = await ctx.read_small_body(acl.MAX_ACL_BODY)
    from_headers = acl.acl_from_headers(ctx.header, owner, accounts, bucket_owner)
    if from_headers is not None:
        if body.strip():
            raise S3Error("UnexpectedContent")
        return from_headers
    if not body.strip():
        raise S3Error("MissingSecurityHeader", "Your request was missing a required header",
                      MissingHeaderName="x-amz-acl")
    body_owner, grants = acl.parse_access_control_policy(body, accounts)
    if body_owner != owner:
        raise S3Error("AccessDenied")
    return acl.Acl(owner, tuple(grants))


async def get_bucket_acl(ctx: RequestContext) -> Response:
    attrs = await load_bucket(ctx)
    return Response.xml(_document(acl_ownership.effective_bucket_acl(attrs),
                                  ctx.backend.accounts, attrs.get(Bkt.OWNER_NAME)))


async def put_bucket_acl(ctx: RequestContext) -> Response:
    attrs = await load_bucket(ctx)
    acl.check_canned_name(ctx.header("x-amz-acl"))
    new = await new_acl(ctx, acl.bucket_acl(attrs).owner, None)
    acl_ownership.check_acl_allowed(attrs, ctx.header("x-amz-acl"), new)
    acl.check_public_acl_allowed(attrs, new)
    await update_bucket_field(ctx, Bkt.ACL, new.to_record())
    return Response()


def version_header(md: dict, bucket: dict) -> list[tuple[str, str]]:
    """x-amz-version-id of an answer about record ``md`` (ACL and tagging
    operations): the null version says "null" in a versioned bucket."""
    shown = shown_version_id(md, bucket)
    return [("x-amz-version-id", shown)] if shown is not None else []


async def get_object_acl(ctx: RequestContext) -> Response:
    attrs = await load_bucket(ctx)
    md = await load_current(ctx, ctx.bucket, ctx.key, ctx.query.get("versionId"),
                            bucket_attrs=attrs)
    shown = acl_ownership.effective_object_acl(attrs, md)
    fallback = md.get(Obj.OWNER_NAME) if shown.owner == md.get(Obj.OWNER) \
        else attrs.get(Bkt.OWNER_NAME)
    return Response.xml(_document(shown, ctx.backend.accounts, fallback),
                        headers=version_header(md, attrs))


async def update_in_place(ctx: RequestContext, bucket: str, key: str, md: dict) -> None:
    """Rewrite the record ``md`` of ``key`` (an ACL or tags changed): the same
    version, the same Last-Modified, no new version and no data freed.

    A version with an id of its own is addressed by that id (the service
    updates the master too when it is the latest); a null version that lives
    in the master only, or a record of a never-versioned bucket, is the
    master itself.
    """
    version = md.get(Obj.VERSION_ID)
    options = None
    if version is not None:
        options = {"versionId": version}
        if md.get(Obj.IS_NULL):
            master = await load_object(ctx, bucket, key, access=None)
            if master.get(Obj.VERSION_ID) == version:
                options = None
    await ctx.backend.metadata.put_object(bucket, key, md, *([options] if options else []))


async def put_object_acl(ctx: RequestContext) -> Response:
    attrs = await load_bucket(ctx)
    version_param = ctx.query.get("versionId")
    md = await load_current(ctx, ctx.bucket, ctx.key, version_param, bucket_attrs=attrs)
    acl.check_canned_name(ctx.header("x-amz-acl"))
    new = await new_acl(ctx, acl.object_acl(md).owner, attrs.get(Bkt.OWNER))
    acl_ownership.check_acl_allowed(attrs, ctx.header("x-amz-acl"), new)
    acl.check_public_acl_allowed(attrs, new)
    # The body was read since the check: if a PutObject replaced the object
    # meanwhile, the ACL was meant for another object (409, the client
    # retries).
    checked = md
    md = dict(await load_current(ctx, ctx.bucket, ctx.key,
                                 client_version_id(checked) if version_param else None,
                                 access=None))
    fields = (Obj.OWNER, Obj.LAST_MODIFIED, Obj.VERSION_ID)
    if any(md.get(f) != checked.get(f) for f in fields):
        raise S3Error("OperationAborted")
    md[Obj.ACL] = new.to_record()
    await update_in_place(ctx, ctx.bucket, ctx.key, md)
    return Response(headers=version_header(md, attrs))


HANDLERS = {
    "GetBucketAcl": get_bucket_acl,
    "PutBucketAcl": put_bucket_acl,
    "GetObjectAcl": get_object_acl,
    "PutObjectAcl": put_object_acl,
}
