# -*- test-case-name: tests.unit.test_object_lock_delete -*-
"""Whether a request may lift GOVERNANCE retention (object lock).

AWS lifts it only for a request that asks (``x-amz-bypass-governance-retention:
true``) from a caller allowed s3:BypassGovernanceRetention on the object.
Asking without the permission is not an error by itself: the request goes
on without the bypass, and the metadata service refuses what the retention
protects.  The question goes to the one decision point (decide.authorize),
so a bucket policy's Allow or explicit Deny counts as for any action.
"""
from __future__ import annotations

from typing import Any, Mapping

from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.s3.access.decide import authorize
from cloudserver.s3.access.declare import BYPASS_GOVERNANCE

HEADER = "x-amz-bypass-governance-retention"


def bypass_requested(ctx: Any) -> bool:
    value = ctx.header(HEADER)
    return value is not None and value.strip().lower() == "true"


def may_bypass_governance(ctx: Any, bucket: Mapping[str, Any], key: str) -> bool:
    """The request asks for the bypass and the decision point allows it on
    ``key`` (the object's ARN is the policy's resource)."""
    if not bypass_requested(ctx):
        return False
    return authorize(ctx, bucket, {Obj.KEY: key}, access=BYPASS_GOVERNANCE).allowed
