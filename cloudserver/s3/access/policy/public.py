# -*- test-case-name: tests.unit.test_policy_public -*-
"""Whether a bucket policy is public, by AWS's "The meaning of public".

A policy is public when one of its Allow statements names every principal
(``*``, ``{"AWS": "*"}``, or a NotPrincipal, which names all but a few)
and no condition of that statement pins the request down to a fixed
value of one of the keys AWS lists:

* ``aws:SourceIp`` with ``IpAddress`` on CIDR blocks (``0.0.0.0/0`` and
  ``::/0`` pin nothing and stay public);
* a fixed (wildcard-free, variable-free) ``StringEquals``/``ArnEquals``/
  ``...Like`` value of aws:SourceArn, SourceVpc, SourceVpce, SourceOwner,
  SourceAccount, PrincipalAccount, PrincipalArn, PrincipalOrgID, userid,
  or ``s3:x-amz-server-side-encryption-aws-kms-key-id``.

Qualified (``ForAnyValue:``...) and ``...IfExists`` conditions pin nothing:
an absent key passes them.  Duck-typed over the compiled statement so this
module imports nothing of ``evaluate``.
"""
from __future__ import annotations

import ipaddress

FIXED_KEYS = frozenset({
    "aws:sourcearn", "aws:sourcevpc", "aws:sourcevpce", "aws:sourceowner",
    "aws:sourceaccount", "aws:principalaccount", "aws:principalarn",
    "aws:principalorgid", "aws:sourceorgid", "aws:userid",
    "s3:x-amz-server-side-encryption-aws-kms-key-id", "s3:dataaccesspointarn",
    "s3:dataaccesspointaccount",
})
_FIXING_OPERATORS = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike",
                               "ArnEquals", "ArnLike"})


def statement_is_public(statement) -> bool:
    if statement.effect != "Allow":
        return False
    everyone = statement.not_principal or statement.principals.anyone
    if not everyone:
        return False
    return not any(_pins(check) for check in statement.conditions)


def _pins(check) -> bool:
    """Whether one condition restricts the statement to fixed values."""
    if check.qualifier or check.if_exists:
        return False
    if check.key == "aws:sourceip":
        return check.operator == "IpAddress" and all(
            ipaddress.ip_network(v.strip(), strict=False).prefixlen > 0
            for v in check.values)
    if check.key not in FIXED_KEYS or check.operator not in _FIXING_OPERATORS:
        return False
    return all(v and "*" not in v and "?" not in v and "${" not in v
               for v in check.values)
