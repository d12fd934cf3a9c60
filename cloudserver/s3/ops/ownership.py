# -*- test-case-name: tests.unit.test_ownership -*-
"""Get, Put and DeleteBucketOwnershipControls: the bucket's Object
Ownership setting (``model.ownership``), kept in its attributes
(``BucketRecord.OBJECT_OWNERSHIP``).

Only the bucket owner may use these operations (their routes declare
``owner(...)``).  BucketOwnerEnforced is refused while the bucket ACL grants
anyone but the owner (InvalidBucketAclWithObjectOwnership, as AWS).
"""
from __future__ import annotations

from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.s3.access import acl
from cloudserver.s3.access import ownership as acl_ownership
from cloudserver.s3.ops.bucket_config import ConfigDocument, config_handlers
from cloudserver.s3.xml.ownership import (
    MAX_BODY, ownership_controls_xml, parse_ownership_controls)


def _check(setting: str, bucket_attrs: dict) -> None:
    acl_ownership.check_enforced_allowed(setting, acl.bucket_acl(bucket_attrs))


#: The OwnershipControls configuration document.
OWNERSHIP_CONTROLS = ConfigDocument(
    field=Bkt.OBJECT_OWNERSHIP, parse=parse_ownership_controls,
    to_xml=ownership_controls_xml, not_found="OwnershipControlsNotFoundError",
    max_body=MAX_BODY, check_md5=True, check=_check)

HANDLERS = config_handlers(OWNERSHIP_CONTROLS, get="GetBucketOwnershipControls",
                           put="PutBucketOwnershipControls",
                           delete="DeleteBucketOwnershipControls")
