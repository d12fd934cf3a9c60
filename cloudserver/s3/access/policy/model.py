# -*- test-case-name: tests.unit.test_policy_document -*-
"""The values the policy engine exchanges with its caller.

Kept apart from parsing and evaluation so the decision function can build a
:class:`PolicyRequest` without importing the compiler, and so that no module
of the engine imports anything of the S3 front: the engine is pure code
(no I/O, no Twisted) and the caller maps :class:`MalformedPolicy` to the S3
error of the same code.
"""
from __future__ import annotations

from collections.abc import Mapping

import attrs

#: AWS's answers to a PutBucketPolicy it refuses (code MalformedPolicy).
BAD_FIRST_BYTE = "Policies must be valid JSON and the first byte must be '{'"
INVALID_JSON = "This policy contains invalid Json"
TOO_LARGE = "Policy exceeds the maximum allowed document size."
BAD_VERSION = "The policy must contain a valid version string"
NO_STATEMENT = "Missing required field Statement"
EMPTY_STATEMENT = "Could not parse the policy: Statement is empty!"
DUPLICATE_SID = "Statement IDs (SID) in a single policy must be unique."
INVALID_RESOURCE = "Policy has invalid resource"
ACTION_RESOURCE_MISMATCH = "Action does not apply to any resource(s) in statement"
INVALID_ACTION = "Policy has invalid action"
INVALID_PRINCIPAL = "Invalid principal in policy"
INVALID_CONDITION = "Policy has an invalid condition key"
UNKNOWN_FIELD = "Unknown field {}"


def missing(field: str) -> str:
    return f"Missing required field {field}"


def invalid_effect(effect: object) -> str:
    return f"Invalid effect: {effect}"


class MalformedPolicy(Exception):
    """A policy document AWS would refuse; ``message`` is AWS's text.

    ``code`` is the S3 error code the caller answers with (always
    ``MalformedPolicy``: S3 has no separate code for an oversized policy).
    """

    code = "MalformedPolicy"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@attrs.frozen
class PolicyRequest:
    """What one request asks, as the policy sees it.

    ``principal_ids`` holds every name of the caller (canonical id, account
    id, ``arn:aws:iam::<account>:root``) so a statement naming any one of
    them matches without the engine knowing how accounts are stored; it is
    empty for an anonymous caller.  ``context`` maps lower-cased condition
    keys to their values; a key that is not there is *absent*, which the
    condition operators treat as AWS does (see ``conditions``).
    """

    principal_ids: frozenset[str]
    anonymous: bool
    action: str
    resource: str
    context: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)
