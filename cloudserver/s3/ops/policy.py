# -*- test-case-name: tests.unit.test_access_policy -*-
"""Put, Get and DeleteBucketPolicy, and GetBucketPolicyStatus.

The policy is validated and compiled when it is put (MalformedPolicy with
AWS's messages, before anything is stored), kept as its text in the
bucket's attributes, and answered back as it was put.  BlockPublicPolicy
(PublicAccessBlock) refuses a public policy.  The owner keeps these
operations whatever the policy says (access.declare.POLICY_MANAGEMENT).
"""
from __future__ import annotations

from cloudserver.metadata.schema import BucketRecord
from cloudserver.s3.access import acl
from cloudserver.s3.access.bucket_policy import bucket_policy
from cloudserver.s3.access.policy import MAX_POLICY_BYTES, MalformedPolicy, compile_policy
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.bucket_config import update_bucket_field
from cloudserver.s3.ops.common import load_bucket
from cloudserver.s3.xml.build import s3_root, serialize, sub, xml_bool

def _known_account(accounts):
    """Whether a policy's principal names an account of authdata.json (by
    canonical id or account id)."""
    def known(ident: str) -> bool:
        return (accounts.by_canonical_id(ident) is not None
                or accounts.by_account_id(ident) is not None)
    return known


#: PutBucketPolicy's header confirming the caller may lock itself out of
#: further policy changes.  The owner's account keeps them whatever the
#: policy says (POLICY_MANAGEMENT) and AWS documents no refusal without it,
#: so its value is checked and has no other effect.
CONFIRM_REMOVE_SELF = "x-amz-confirm-remove-self-bucket-access"


def confirm_remove_self(ctx: RequestContext) -> bool:
    """The header's value: true or false (any case); anything else is
    InvalidArgument, as AWS answers a boolean header it cannot read."""
    value = ctx.header(CONFIRM_REMOVE_SELF)
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered not in ("true", "false"):
        raise S3Error("InvalidArgument", f"Invalid value for {CONFIRM_REMOVE_SELF} header",
                      ArgumentName=CONFIRM_REMOVE_SELF, ArgumentValue=value)
    return lowered == "true"


async def put_bucket_policy(ctx: RequestContext) -> Response:
    attrs = await load_bucket(ctx)
    confirm_remove_self(ctx)
    # Twice the limit is read, so the engine answers a document somewhat over
    # 20 KiB with AWS's MalformedPolicy; a much larger body is
    # MaxMessageLengthExceeded before it is read whole.
    body = await ctx.read_small_body(2 * MAX_POLICY_BYTES)
    try:
        policy = compile_policy(body, ctx.bucket,
                                known_accounts=_known_account(ctx.backend.accounts))
    except MalformedPolicy as e:
        raise S3Error(e.code, e.message) from None
    if policy.is_public() and (acl.public_access_block(attrs) or {}).get("BlockPublicPolicy"):
        raise S3Error("AccessDenied")
    await update_bucket_field(ctx, BucketRecord.POLICY, body.decode("utf-8"))
    return Response(status=204)


async def get_bucket_policy(ctx: RequestContext) -> Response:
    text = (await load_bucket(ctx)).get(BucketRecord.POLICY)
    if not text:
        raise S3Error("NoSuchBucketPolicy", BucketName=ctx.bucket)
    body = text.encode("utf-8")
    return Response(body=body, content_type="application/json", length=len(body))


async def delete_bucket_policy(ctx: RequestContext) -> Response:
    await load_bucket(ctx)
    await update_bucket_field(ctx, BucketRecord.POLICY, None)
    return Response(status=204)


async def get_bucket_policy_status(ctx: RequestContext) -> Response:
    policy = bucket_policy(await load_bucket(ctx))
    if policy is None:
        raise S3Error("NoSuchBucketPolicy", BucketName=ctx.bucket)
    root = s3_root("PolicyStatus")
    sub(root, "IsPublic", xml_bool(policy.is_public()))
    return Response.xml(serialize(root))


HANDLERS = {
    "PutBucketPolicy": put_bucket_policy,
    "GetBucketPolicy": get_bucket_policy,
    "DeleteBucketPolicy": delete_bucket_policy,
    "GetBucketPolicyStatus": get_bucket_policy_status,
}
