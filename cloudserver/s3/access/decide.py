# -*- test-case-name: tests.unit.test_access -*-
"""THE authorization decision: every request's access is decided here.

``gate`` runs in the request pipeline before the handler (and before any
body byte is read): an anonymous request reaches only operations an ACL
grant could allow.  ``authorize`` runs where the pipeline has loaded what
the rules live in (``ops.common.load_bucket`` / ``load_object``): the
bucket's attributes and, for object-level access, the object's record.
Both see the whole request context (account, operation, headers, query,
client address, TLS, signature version), which is where bucket policy
(explicit deny > allow > ACL), object ownership, public access block and
object-lock guards plug in.

Decisions are values (``Decision``), so the reasons can be logged and
table-tested; ``require`` turns a denial into S3's AccessDenied.  The ACL
grants decide first; a bucket with a policy then asks it
(``bucket_policy.verdict``: the declared IAM action, the resource ARN and
the request's condition keys) and applies AWS's order.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import attrs

from cloudserver.metadata.schema import BucketRecord, ObjectRecord
from cloudserver.s3.access import acl, bucket_policy
from cloudserver.s3.access.ownership import effective_bucket_acl
from cloudserver.s3.access.declare import (ACCOUNT, BUCKET, OBJECT, OPEN,
                                           POLICY_MANAGEMENT, Access)
from cloudserver.s3.errors import S3Error
from cloudserver.s3.model.ownership import acls_disabled


@attrs.frozen
class Decision:
    allowed: bool
    #: why, for logs and tests: "owner", "acl", "anonymous", "no grant", ...
    reason: str

    def require(self) -> None:
        if not self.allowed:
            raise S3Error("AccessDenied")


# The decisions, made once (a request costs no allocation for its verdict).
ALLOW_OPEN = Decision(True, "open")
ALLOW_SIGNED = Decision(True, "signed")
ALLOW_ANONYMOUS = Decision(True, "anonymous may")
ALLOW_OWNER = Decision(True, "owner")
ALLOW_ACL = Decision(True, "acl")
ALLOW_PUBLIC_ACL = Decision(True, "public acl")
DENY_ANONYMOUS = Decision(False, "anonymous")
DENY_NO_GRANT = Decision(False, "no grant")
DENY_PUBLIC_IGNORED = Decision(False, "public acl ignored")
ALLOW_POLICY = Decision(True, "policy")
DENY_POLICY = Decision(False, "policy denies")
DENY_REQUESTER_PAYS = Decision(False, "requester pays not acknowledged")



def requester(account: Any) -> str | None:
    """The canonical id of the caller, None when anonymous."""
    return account.canonical_id if account is not None else None


def gate(ctx: Any) -> Decision:
    """Before the handler: may this caller reach the operation at all?
    Anonymous callers reach what an ACL or a bucket policy could open
    (``Access.anonymous``); the decision is made on the bucket loaded."""
    access: Access = ctx.op.access
    if ctx.account is not None:
        return ALLOW_SIGNED
    return ALLOW_ANONYMOUS if access.anonymous else DENY_ANONYMOUS


def authorize(ctx: Any, bucket: Mapping[str, Any], obj: Mapping[str, Any] | None = None, *,
              access: Access | None = None,
              request_tags: Sequence[tuple[str, str]] | None = None,
              context_keys: Mapping[str, tuple[str, ...]] | None = None) -> Decision:
    """The decision for ``access`` (default: the operation's) on ``bucket``
    and, for object-level access, ``obj`` (without it, the bucket decides).

    Where the identity comes from the body (a browser POST's signed form),
    the caller passes a context whose ``auth`` is that identity.  A
    bucket-level decision may be given the record too: a policy's
    s3:ExistingObjectTag keys read its tags (object tagging), and
    ``request_tags`` are the tags a body sets (s3:RequestObjectTag);
    ``context_keys`` replace condition keys of the request (the s3:prefix of
    the ListBucket check on a missing key).
    """
    access = access if access is not None else ctx.op.access
    who = requester(ctx.account)
    if access.level == OPEN:
        return ALLOW_OPEN
    if access.level == ACCOUNT:
        return ALLOW_SIGNED if who is not None else DENY_ANONYMOUS
    if access.level == BUCKET:
        by_acl = _by_bucket_acl(bucket, who, access.permission)
    elif access.level == OBJECT:
        if obj is None:
            # Never fall back to the bucket's ACL with an object permission:
            # a missing object is decided as LIST_BUCKET by the caller.
            raise ValueError("object-level access is decided on the object's record")
        by_acl = _by_object_acl(bucket, obj, who, access.permission)
    else:
        raise ValueError(f"unknown access level {access.level!r}")
    if BucketRecord.REQUEST_PAYMENT in bucket and not _pays(ctx, bucket, who):
        return DENY_REQUESTER_PAYS
    if BucketRecord.POLICY not in bucket:
        return by_acl  # no policy: the ACL alone decides (no cost to the request)
    return _with_policy(ctx, bucket, obj, access, who, by_acl, request_tags, context_keys)


def _with_policy(ctx: Any, bucket: Mapping[str, Any], obj: Mapping[str, Any] | None,
                 access: Access, who: str | None, by_acl: Decision,
                 request_tags: Sequence[tuple[str, str]] | None = None,
                 context_keys: Mapping[str, tuple[str, ...]] | None = None) -> Decision:
    """AWS's order: an explicit Deny wins, then an Allow of the policy or of
    the ACL.  The bucket owner keeps the management of the policy itself
    (a policy cannot lock its owner out of changing it)."""
    answer = bucket_policy.verdict(ctx, bucket, obj, access, request_tags, context_keys)
    owner = bucket.get(BucketRecord.OWNER)
    if answer == "Deny":
        if who is not None and who == owner and access.action in POLICY_MANAGEMENT:
            return by_acl
        return DENY_POLICY
    if answer == "Allow" and not by_acl.allowed:
        if who != owner and (acl.public_access_block(bucket) or {}).get(
                "RestrictPublicBuckets") and bucket_policy.bucket_policy(bucket).is_public():
            return DENY_PUBLIC_IGNORED  # a public policy grants only the owner's account
        return ALLOW_POLICY
    return by_acl


def _pays(ctx: Any, bucket: Mapping[str, Any], who: str | None) -> bool:
    """AWS's Requester Pays: anyone but the owner must say they pay
    (``x-amz-request-payer: requester``); anonymous requests never can."""
    if bucket.get(BucketRecord.REQUEST_PAYMENT) != "Requester" or \
            who == bucket.get(BucketRecord.OWNER):
        return True
    header = getattr(ctx, "header", None)
    payer = header("x-amz-request-payer") if header is not None else None
    return who is not None and (payer or "").lower() == "requester"


def _by_bucket_acl(bucket: Mapping[str, Any], who: str | None, permission: str) -> Decision:
    if acl.allows(effective_bucket_acl(bucket), who, permission,
                  ignore_public=acl.ignores_public_acls(bucket)):
        return ALLOW_ACL
    return DENY_NO_GRANT


def _acl_owner(record: Mapping[str, Any]) -> str:
    """The owner ``acl.object_acl(record)`` would name, without building it."""
    stored = record.get(ObjectRecord.ACL)
    return (stored.get("owner") if stored else None) or record.get(ObjectRecord.OWNER) or ""


def _by_object_acl(bucket: Mapping[str, Any], obj: Mapping[str, Any], who: str | None,
                   permission: str) -> Decision:
    if acls_disabled(bucket):
        # BucketOwnerEnforced: the bucket owner owns every object, grants count for nothing.
        owner = bucket.get(BucketRecord.OWNER)
        return ALLOW_OWNER if who is not None and who == owner else DENY_NO_GRANT
    if who is not None and who == _acl_owner(obj):
        return ALLOW_OWNER  # the owner may do anything with what it owns
    object_acl = acl.object_acl(obj)
    if acl.allows(object_acl, who, permission, ignore_public=True):
        return ALLOW_ACL
    if acl.allows(object_acl, who, permission):
        return DENY_PUBLIC_IGNORED if acl.ignores_public_acls(bucket) else ALLOW_PUBLIC_ACL
    return DENY_NO_GRANT
