# -*- test-case-name: tests.unit.test_policy_evaluate -*-
"""Evaluate a compiled bucket policy against one request.

AWS's order within one policy: an explicit Deny of any matching statement
wins; otherwise an Allow of any matching statement; otherwise the policy
says nothing (None) and the caller falls back on the ACLs.  A statement
matches when its principal, action, resource and every condition match;
the ``Not...`` forms match what the listed values do not.

Statements are checked cheapest part first (the resources' literal
beginnings, the action regex, principal set, resource, then conditions),
and evaluation stops at the first Deny.
"""
from __future__ import annotations

import re

import attrs

from cloudserver.s3.access.policy.conditions import Check
from cloudserver.s3.access.policy.model import PolicyRequest
from cloudserver.s3.access.policy.patterns import Template, literal_prefix
from cloudserver.s3.access.policy.public import statement_is_public

ALLOW = "Allow"
#: the condition keys of object tags (lower case, as the compiled checks)
EXISTING_TAG = "s3:existingobjecttag/"
REQUEST_TAG = "s3:requestobjecttag/"
REQUEST_TAG_KEYS = "s3:requestobjecttagkeys"
DENY = "Deny"


@attrs.frozen
class Principals:
    """Who a Principal element names: anyone (``*``) and/or these ids."""

    anyone: bool
    ids: frozenset[str]

    def match(self, request: PolicyRequest) -> bool:
        """``*`` names everyone, the anonymous caller too; ids name accounts."""
        return self.anyone or not self.ids.isdisjoint(request.principal_ids)


@attrs.frozen
class Statement:
    """One compiled statement (no JSON left in it)."""

    sid: str | None
    effect: str
    principals: Principals
    not_principal: bool
    actions: re.Pattern[str]
    not_action: bool
    resources: tuple[Template, ...]
    not_resource: bool
    conditions: tuple[Check, ...]
    #: the resources without variables as one regex; those with, apart
    _static: re.Pattern[str] | None = attrs.field(init=False, eq=False, repr=False)
    _dynamic: tuple[Template, ...] = attrs.field(init=False, eq=False, repr=False)
    #: the resources' literal beginnings: a request's resource that starts
    #: with none of them cannot match (None: NotResource, no shortcut)
    _prefixes: tuple[str, ...] | None = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self):
        object.__setattr__(self, "_prefixes", None if self.not_resource else tuple(
            literal_prefix(t) for t in self.resources))
        static = [t.regex.pattern for t in self.resources if t.regex is not None]
        regex = re.compile("|".join(f"(?:{s})" for s in static), re.DOTALL) if static else None
        object.__setattr__(self, "_static", regex)
        object.__setattr__(self, "_dynamic",
                           tuple(t for t in self.resources if t.regex is None))

    def matches(self, request: PolicyRequest) -> bool:
        if self._prefixes is not None and not request.resource.startswith(self._prefixes):
            return False
        if (self.actions.fullmatch(request.action) is None) != self.not_action:
            return False
        if self.principals.match(request) == self.not_principal:
            return False
        if self._resource_hit(request) == self.not_resource:
            return False
        context = request.context
        for check in self.conditions:
            if not check.holds(context):
                return False
        return True

    def _resource_hit(self, request: PolicyRequest) -> bool:
        if self._static is not None and self._static.fullmatch(request.resource):
            return True
        for template in self._dynamic:
            if template.like(request.resource, request.context):
                return True
        return False


@attrs.frozen
class Policy:
    """A bucket policy, compiled once when stored (see ``document``)."""

    version: str
    statements: tuple[Statement, ...]
    #: whether a condition reads s3:ExistingObjectTag/<key> (the decision
    #: then needs the object's record) or s3:RequestObjectTag/<key> and
    #: s3:RequestObjectTagKeys (the request's tags): without them the caller
    #: need not gather those keys, so ordinary requests pay nothing for them
    reads_existing_tags: bool = attrs.field(init=False, eq=False)
    reads_request_tags: bool = attrs.field(init=False, eq=False)

    def __attrs_post_init__(self):
        keys = {check.key for s in self.statements for check in s.conditions}
        object.__setattr__(self, "reads_existing_tags",
                           any(k.startswith(EXISTING_TAG) for k in keys))
        object.__setattr__(self, "reads_request_tags", any(
            k.startswith(REQUEST_TAG) or k == REQUEST_TAG_KEYS for k in keys))

    def evaluate(self, request: PolicyRequest) -> str | None:
        """"Deny", "Allow" or None (no statement applies)."""
        allowed = False
        for statement in self.statements:
            if statement.effect == ALLOW and allowed:
                continue
            if statement.matches(request):
                if statement.effect == DENY:
                    return DENY
                allowed = True
        return ALLOW if allowed else None

    def is_public(self) -> bool:
        """Whether the policy grants public access, by AWS's "The meaning of
        public" (GetBucketPolicyStatus, BlockPublicPolicy)."""
        return any(statement_is_public(s) for s in self.statements)
