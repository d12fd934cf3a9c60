# -*- test-case-name: tests.unit.test_access -*-
"""What an operation needs to be allowed: declared once, on its route row.

Every row of ``cloudserver.s3.routing.ROUTES`` carries an :class:`Access`:
the IAM action (``s3:GetObject``; another one when the request names a
version), the resource whose rules decide (the account alone, the bucket,
or the object), and the ACL permission those rules must grant.  The one
decision function (``cloudserver.s3.access.decide.authorize``) reads it;
bucket policy, ownership and object-lock guards will read the same
declaration, so no table keyed by operation names runs beside the routes.

WRITE on the bucket covers objects of any owner: a grantee (a group or an
account) may overwrite and delete the bucket owner's objects too, as
upstream does and as ceph/s3-tests records AWS doing (docs/ARCHITECTURE.md,
"AWS and upstream").
"""
from __future__ import annotations

import attrs

from cloudserver.s3.access.acl import OWNER, READ

#: What the bucket owner may always do, whatever its policy says, and what
#: an anonymous caller never reaches.
POLICY_MANAGEMENT = frozenset({"s3:GetBucketPolicy", "s3:PutBucketPolicy",
                               "s3:DeleteBucketPolicy"})

#: Levels: whose rules decide.
ACCOUNT = "account"  # any signed-in account (ListBuckets, CreateBucket): no bucket yet
BUCKET = "bucket"  # the bucket's ACL, or its owner alone (permission OWNER)
OBJECT = "object"  # the object's ACL (the bucket's settings may narrow it)
OPEN = "open"  # nothing to authorize: CORS preflights (the CORS rules decide)


@attrs.frozen
class Access:
    """The access class of an operation."""

    #: the IAM action name, e.g. ``s3:PutObject``; None for OPEN
    action: str | None
    level: str
    #: the ACL permission (READ, WRITE, READ_ACP, WRITE_ACP) or OWNER; None
    #: for ACCOUNT and OPEN
    permission: str | None = None
    #: the action when the request names a version (``s3:GetObjectVersion``)
    version_action: str | None = None

    @property
    def anonymous(self) -> bool:
        """Whether an anonymous request may reach the handler: an ACL grant
        to AllUsers or a bucket policy naming ``*`` can allow it (or, OPEN,
        nothing is checked).  Owner-only operations are reachable too (a
        policy may grant s3:GetBucketTagging to anyone, as on AWS) but for
        the policy's own management, which AWS keeps to the owner's account
        and the principals it names."""
        if self.level == OPEN:
            return True
        return self.level in (BUCKET, OBJECT) and self.action not in POLICY_MANAGEMENT

    def action_for(self, query) -> str | None:
        """The action a request performs (its version variant with ``versionId``)."""
        if self.version_action is not None and "versionId" in query:
            return self.version_action
        return self.action


def account(action: str) -> Access:
    return Access(action, ACCOUNT)


def owner(action: str) -> Access:
    """Bucket configuration and deletion: the bucket owner alone."""
    return Access(action, BUCKET, OWNER)


def on_bucket(permission: str, action: str, version_action: str | None = None) -> Access:
    return Access(action, BUCKET, permission, version_action)


def on_object(permission: str, action: str, version_action: str | None = None) -> Access:
    return Access(action, OBJECT, permission, version_action)


OPEN_ACCESS = Access(None, OPEN)

#: May the caller list the bucket: what decides whether a missing key is
#: NoSuchKey or AccessDenied (existence must not leak).
LIST_BUCKET = on_bucket(READ, "s3:ListBucket")
#: What CopyObject and UploadPartCopy need on their source object.
COPY_SOURCE = on_object(READ, "s3:GetObject", "s3:GetObjectVersion")
#: What lifts GOVERNANCE retention for a request carrying
#: ``x-amz-bypass-governance-retention: true``: the bucket owner has it, others
#: through a bucket policy (access.governance).
BYPASS_GOVERNANCE = owner("s3:BypassGovernanceRetention")
