# -*- test-case-name: tests.unit.test_policy_document -*-
"""The S3 action names a bucket policy may name.

A static list rather than one read from ``cloudserver.s3.routing``: the
routing table imports the access package, and the engine must import
nothing of the S3 front.  A unit test checks that every action a route
declares is in here.  The list also holds the actions of S3 features this
server has not built (AWS accepts them in policies, so a policy written for
AWS stores here too; such a statement simply never matches a request).
"""
from __future__ import annotations

import re

S3_ACTIONS: frozenset[str] = frozenset("s3:" + name for name in """
AbortMultipartUpload BypassGovernanceRetention CreateAccessPoint
CreateAccessPointForObjectLambda CreateBucket CreateJob CreateMultiRegionAccessPoint
DeleteAccessPoint DeleteAccessPointForObjectLambda DeleteAccessPointPolicy
DeleteAccessPointPolicyForObjectLambda DeleteBucket DeleteBucketOwnershipControls
DeleteBucketPolicy DeleteBucketWebsite DeleteJobTagging DeleteMultiRegionAccessPoint
DeleteObject DeleteObjectTagging DeleteObjectVersion DeleteObjectVersionTagging
DeleteStorageLensConfiguration DeleteStorageLensConfigurationTagging DescribeJob
DescribeMultiRegionAccessPointOperation GetAccelerateConfiguration GetAccessPoint
GetAccessPointConfigurationForObjectLambda GetAccessPointForObjectLambda
GetAccessPointPolicy GetAccessPointPolicyForObjectLambda GetAccessPointPolicyStatus
GetAccessPointPolicyStatusForObjectLambda GetAccountPublicAccessBlock
GetAnalyticsConfiguration GetBucketAcl GetBucketCORS GetBucketLocation GetBucketLogging
GetBucketNotification GetBucketObjectLockConfiguration GetBucketOwnershipControls
GetBucketPolicy GetBucketPolicyStatus GetBucketPublicAccessBlock GetBucketRequestPayment
GetBucketTagging GetBucketVersioning GetBucketWebsite GetEncryptionConfiguration
GetIntelligentTieringConfiguration GetInventoryConfiguration GetJobTagging
GetLifecycleConfiguration GetMetricsConfiguration GetMultiRegionAccessPoint
GetMultiRegionAccessPointPolicy GetMultiRegionAccessPointPolicyStatus GetObject
GetObjectAcl GetObjectAttributes GetObjectLegalHold GetObjectRetention GetObjectTagging
GetObjectTorrent GetObjectVersion GetObjectVersionAcl GetObjectVersionAttributes
GetObjectVersionForReplication GetObjectVersionTagging GetObjectVersionTorrent
GetReplicationConfiguration GetStorageLensConfiguration
GetStorageLensConfigurationTagging GetStorageLensDashboard InitiateReplication
ListAccessPoints ListAccessPointsForObjectLambda ListAllMyBuckets ListBucket
ListBucketMultipartUploads ListBucketVersions ListJobs ListMultiRegionAccessPoints
ListMultipartUploadParts ListStorageLensConfigurations ObjectOwnerOverrideToBucketOwner
PutAccelerateConfiguration PutAccessPointConfigurationForObjectLambda
PutAccessPointPolicy PutAccessPointPolicyForObjectLambda PutAccessPointPublicAccessBlock
PutAccountPublicAccessBlock PutAnalyticsConfiguration PutBucketAcl PutBucketCORS
PutBucketLogging PutBucketNotification PutBucketObjectLockConfiguration
PutBucketOwnershipControls PutBucketPolicy PutBucketPublicAccessBlock
PutBucketRequestPayment PutBucketTagging PutBucketVersioning PutBucketWebsite
PutEncryptionConfiguration PutIntelligentTieringConfiguration PutInventoryConfiguration
PutJobTagging PutLifecycleConfiguration PutMetricsConfiguration
PutMultiRegionAccessPointPolicy PutObject PutObjectAcl PutObjectLegalHold
PutObjectRetention PutObjectTagging PutObjectVersionAcl PutObjectVersionTagging
PutReplicationConfiguration PutStorageLensConfiguration
PutStorageLensConfigurationTagging ReplicateDelete ReplicateObject ReplicateTags
RestoreObject UpdateJobPriority UpdateJobStatus
""".split())

_LOWER = frozenset(name.lower() for name in S3_ACTIONS)


def names_an_action(pattern: str, regex: re.Pattern[str]) -> bool:
    """Whether an Action value names at least one S3 action.

    ``*`` names all of them; ``s3:Get*`` is fine; ``s3:Frobnicate`` and
    ``iam:*`` are not (AWS: "Policy has invalid action").
    """
    if pattern == "*":
        return True
    if "*" not in pattern and "?" not in pattern:
        return pattern.lower() in _LOWER
    return any(regex.fullmatch(name) for name in _LOWER)


#: Actions on objects (resource ``arn:aws:s3:::bucket/key``); BUCKET_ACTIONS
#: act on the bucket itself (``arn:aws:s3:::bucket``).  The other names
#: (access points, jobs, account settings) belong to neither, and a
#: statement naming one is never refused for its resources.
OBJECT_ACTIONS: frozenset[str] = frozenset(
    name.lower() for name in S3_ACTIONS
    if re.match(r"s3:(?:(?:Get|Put|Delete)Object|AbortMultipartUpload|ListMultipartUploadParts"
                r"|RestoreObject|BypassGovernanceRetention|Replicate|InitiateReplication"
                r"|ObjectOwnerOverrideToBucketOwner)", name))
BUCKET_ACTIONS: frozenset[str] = frozenset(
    name.lower() for name in S3_ACTIONS
    if re.match(r"s3:(?:(?:Get|Put|Delete)(?:Bucket|Accelerate|Analytics|Encryption"
                r"|IntelligentTiering|Inventory|Lifecycle|Metrics|Replication)"
                r"|ListBucket|DeleteBucket)", name))


def action_scope(regex: re.Pattern[str]) -> frozenset[str]:
    """What an Action element's actions act on: {"object"}, {"bucket"},
    both, or empty (it names only other kinds, or none of ours)."""
    scope = set()
    if any(regex.fullmatch(name) for name in OBJECT_ACTIONS):
        scope.add("object")
    if any(regex.fullmatch(name) for name in BUCKET_ACTIONS):
        scope.add("bucket")
    if any(regex.fullmatch(name) for name in _LOWER - OBJECT_ACTIONS - BUCKET_ACTIONS):
        scope.update(("object", "bucket"))  # never refused for its resources
    return frozenset(scope)
