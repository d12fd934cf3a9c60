# -*- test-case-name: tests.unit.test_ownership -*-
"""S3 Object Ownership: who owns the objects written into a bucket, and
whether its ACLs count at all.

A bucket's setting is one of AWS's three values, kept in the bucket
attributes (``BucketRecord.OBJECT_OWNERSHIP``).  A bucket without one (every
record written before ownership existed, and new buckets unless the request
or config.json ``defaultObjectOwnership`` says otherwise) behaves as
ObjectWriter, as upstream CloudServer and Ceph RGW do, and
GetBucketOwnershipControls answers that it has no controls.

:func:`new_object_owner` is the one rule for who owns a new object; the
handlers that build object and upload records take the owner from it
(through ``ops.acl.object_acl_from_request``).  The guards that refuse ACLs
when they are disabled are in ``cloudserver.s3.access.ownership``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloudserver.metadata.schema import BucketRecord
from cloudserver.s3.errors import S3Error

BUCKET_OWNER_ENFORCED = "BucketOwnerEnforced"
BUCKET_OWNER_PREFERRED = "BucketOwnerPreferred"
OBJECT_WRITER = "ObjectWriter"
#: AWS's ObjectOwnership values.
SETTINGS = (BUCKET_OWNER_ENFORCED, BUCKET_OWNER_PREFERRED, OBJECT_WRITER)
#: What a bucket without a setting behaves as.
DEFAULT = OBJECT_WRITER
#: The CreateBucket header that sets it.
HEADER = "x-amz-object-ownership"
#: The canned ACL by which a writer hands a new object to the bucket owner.
BUCKET_OWNER_FULL_CONTROL = "bucket-owner-full-control"


def stored(bucket_attrs: Mapping[str, Any]) -> str | None:
    """The bucket's configured setting, None when it has no OwnershipControls."""
    return bucket_attrs.get(BucketRecord.OBJECT_OWNERSHIP) or None


def setting(bucket_attrs: Mapping[str, Any]) -> str:
    """The setting the bucket behaves by (ObjectWriter without one)."""
    return stored(bucket_attrs) or DEFAULT


def acls_disabled(bucket_attrs: Mapping[str, Any]) -> bool:
    """BucketOwnerEnforced: ACLs neither grant nor may be set."""
    return bucket_attrs.get(BucketRecord.OBJECT_OWNERSHIP) == BUCKET_OWNER_ENFORCED


def check_setting(value: str, *, header: bool = False) -> str:
    """``value`` when it is one of the three settings.  A bad header is
    InvalidArgument (AWS), a bad document value MalformedXML (it does not
    validate against the schema)."""
    if value in SETTINGS:
        return value
    if header:
        raise S3Error("InvalidArgument", f"Invalid x-amz-object-ownership header: {value}",
                      ArgumentName=HEADER, ArgumentValue=value)
    raise S3Error("MalformedXML")


def new_object_owner(bucket_attrs: Mapping[str, Any], writer: str,
                     canned_acl: str | None) -> str:
    """The canonical id that owns an object ``writer`` creates in the bucket.

    BucketOwnerEnforced: always the bucket owner.  BucketOwnerPreferred:
    the bucket owner when the request carries the bucket-owner-full-control
    canned ACL, else the writer.  ObjectWriter: the writer.
    """
    current = setting(bucket_attrs)
    bucket_owner = bucket_attrs.get(BucketRecord.OWNER) or writer
    if current == BUCKET_OWNER_ENFORCED:
        return bucket_owner
    if current == BUCKET_OWNER_PREFERRED and canned_acl is not None and \
            canned_acl.strip() == BUCKET_OWNER_FULL_CONTROL:
        return bucket_owner
    return writer
