"""The bucket policy engine: pure code, no I/O, no Twisted.

``compile_policy`` parses and validates a document once, when it is
stored; ``Policy.evaluate`` decides one :class:`PolicyRequest` ("Deny",
"Allow" or None) and ``Policy.is_public`` answers GetBucketPolicyStatus
and BlockPublicPolicy.  Nothing here imports the S3 front: the caller
maps :class:`MalformedPolicy` to the S3 error of its ``code``.
"""
from cloudserver.s3.access.policy.document import MAX_POLICY_BYTES, compile_policy
from cloudserver.s3.access.policy.evaluate import ALLOW, DENY, Policy
from cloudserver.s3.access.policy.model import MalformedPolicy, PolicyRequest

__all__ = ["ALLOW", "DENY", "MAX_POLICY_BYTES", "MalformedPolicy", "Policy",
           "PolicyRequest", "compile_policy"]
