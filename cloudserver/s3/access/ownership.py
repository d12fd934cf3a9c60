# -*- test-case-name: tests.unit.test_ownership -*-
"""The ACL guards of Object Ownership (the setting: ``model.ownership``).

Under BucketOwnerEnforced ACLs are disabled: a request that sets an ACL is
AccessControlListNotSupported unless what it asks for is the bucket owner's
full control (the bucket-owner-full-control canned ACL, or grants of
FULL_CONTROL to the bucket owner alone), ACL reads answer the bucket
owner's FULL_CONTROL, and grants decide nothing.  The handlers call these
where they parse ACL headers or bodies, as they call
``acl.check_public_acl_allowed``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloudserver.metadata.schema import BucketRecord
from cloudserver.s3.access import acl
from cloudserver.s3.errors import S3Error
from cloudserver.s3.model import ownership


def _owner_full_control_only(grants: tuple[acl.Grant, ...], owner: str) -> bool:
    return bool(grants) and all(
        g.type == acl.CANONICAL_USER and g.id == owner and g.permission == acl.FULL_CONTROL
        for g in grants)


def check_acl_allowed(bucket_attrs: Mapping[str, Any], canned_name: str | None,
                      requested: acl.Acl | None) -> None:
    """AccessControlListNotSupported for a request that sets an ACL
    (``requested``, parsed from its headers or body; None: it sets none) on
    a bucket whose ACLs are disabled, unless it is the bucket owner's full
    control."""
    if requested is None or not ownership.acls_disabled(bucket_attrs):
        return
    if canned_name is not None:
        if canned_name.strip() == ownership.BUCKET_OWNER_FULL_CONTROL:
            return
    elif _owner_full_control_only(requested.grants, bucket_attrs.get(BucketRecord.OWNER)):
        return
    raise S3Error("AccessControlListNotSupported")


def check_enforced_allowed(setting: str, bucket_acl: acl.Acl) -> None:
    """InvalidBucketAclWithObjectOwnership: BucketOwnerEnforced needs a
    bucket ACL that grants no one but the bucket owner (CreateBucket,
    PutBucketOwnershipControls)."""
    if setting != ownership.BUCKET_OWNER_ENFORCED:
        return
    if any(g.type != acl.CANONICAL_USER or g.id != bucket_acl.owner
           for g in bucket_acl.grants):
        raise S3Error("InvalidBucketAclWithObjectOwnership")


def effective_bucket_acl(bucket_attrs: Mapping[str, Any]) -> acl.Acl:
    """The bucket ACL that counts: the stored one, or the owner's full
    control when ACLs are disabled."""
    if ownership.acls_disabled(bucket_attrs):
        return acl.private(bucket_attrs.get(BucketRecord.OWNER) or "")
    return acl.bucket_acl(bucket_attrs)


def effective_object_acl(bucket_attrs: Mapping[str, Any], md: Mapping[str, Any]) -> acl.Acl:
    """The object ACL that counts: with ACLs disabled the bucket owner owns
    every object (those written before the setting too) with full control."""
    if ownership.acls_disabled(bucket_attrs):
        return acl.private(bucket_attrs.get(BucketRecord.OWNER) or "")
    return acl.object_acl(md)
