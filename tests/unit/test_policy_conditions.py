# -*- test-case-name: tests.unit.test_policy_conditions -*-
"""Condition operators: tables of (Condition block, request context) -> holds.

Each row runs as an Allow statement, so "holds" means the policy allows.
The context is given with real key names (lower-cased by the caller).
"""
from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.access.policy import PolicyRequest
from tests.unit.policy_helpers import BUCKET, policy, statement

IP = "aws:SourceIp"
PFX = "s3:prefix"
TAGS = "s3:RequestObjectTagKeys"
T2019 = "2019-06-01T00:00:00Z"

#: (name, condition block, context, holds)
CONDITIONS = [
    # String
    ("StringEquals", {"StringEquals": {PFX: "a"}}, {PFX: "a"}, True),
    ("StringEquals case", {"StringEquals": {PFX: "a"}}, {PFX: "A"}, False),
    ("StringEquals any value", {"StringEquals": {PFX: ["a", "b"]}}, {PFX: "b"}, True),
    ("StringEquals absent", {"StringEquals": {PFX: "a"}}, {}, False),
    ("StringEquals star is literal", {"StringEquals": {PFX: "a*"}}, {PFX: "ab"}, False),
    ("StringNotEquals", {"StringNotEquals": {PFX: "a"}}, {PFX: "b"}, True),
    ("StringNotEquals same", {"StringNotEquals": {PFX: "a"}}, {PFX: "a"}, False),
    ("StringNotEquals none of", {"StringNotEquals": {PFX: ["a", "b"]}}, {PFX: "b"}, False),
    ("StringNotEquals absent", {"StringNotEquals": {PFX: "a"}}, {}, True),
    ("StringEqualsIgnoreCase", {"StringEqualsIgnoreCase": {PFX: "Abc"}}, {PFX: "aBC"}, True),
    ("StringNotEqualsIgnoreCase", {"StringNotEqualsIgnoreCase": {PFX: "Abc"}}, {PFX: "aBC"},
     False),
    ("StringLike star", {"StringLike": {PFX: "home/*"}}, {PFX: "home/a/b"}, True),
    ("StringLike question", {"StringLike": {PFX: "a?c"}}, {PFX: "abc"}, True),
    ("StringLike no match", {"StringLike": {PFX: "home/*"}}, {PFX: "etc"}, False),
    ("StringLike case", {"StringLike": {PFX: "Home/*"}}, {PFX: "home/x"}, False),
    ("StringNotLike", {"StringNotLike": {PFX: "home/*"}}, {PFX: "etc"}, True),
    ("StringNotLike absent", {"StringNotLike": {PFX: "home/*"}}, {}, True),
    ("referer", {"StringLike": {"aws:Referer": "https://example.com/*"}},
     {"aws:referer": "https://example.com/page"}, True),
    # Numeric
    ("NumericEquals", {"NumericEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "10"}, True),
    ("NumericEquals json number", {"NumericEquals": {"s3:max-keys": 10}},
     {"s3:max-keys": "10.0"}, True),
    ("NumericNotEquals", {"NumericNotEquals": {"s3:max-keys": "10"}}, {"s3:max-keys": "9"},
     True),
    ("NumericLessThan", {"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "9"},
     True),
    ("NumericLessThan equal", {"NumericLessThan": {"s3:max-keys": "10"}},
     {"s3:max-keys": "10"}, False),
    ("NumericLessThanEquals", {"NumericLessThanEquals": {"s3:max-keys": "10"}},
     {"s3:max-keys": "10"}, True),
    ("NumericGreaterThan", {"NumericGreaterThan": {"s3:max-keys": "10"}},
     {"s3:max-keys": "11"}, True),
    ("NumericGreaterThanEquals", {"NumericGreaterThanEquals": {"s3:max-keys": "10"}},
     {"s3:max-keys": "9"}, False),
    ("Numeric unreadable", {"NumericLessThan": {"s3:max-keys": "10"}},
     {"s3:max-keys": "ten"}, False),
    ("Numeric request nan", {"NumericLessThan": {"s3:max-keys": "10"}},
     {"s3:max-keys": "-nan"}, False),
    ("Numeric decimals", {"NumericGreaterThan": {"s3:max-keys": "1.5"}},
     {"s3:max-keys": "2e0"}, True),
    ("NumericNotEquals unreadable", {"NumericNotEquals": {"s3:max-keys": "10"}},
     {"s3:max-keys": "ten"}, False),
    # Date
    ("DateEquals", {"DateEquals": {"aws:CurrentTime": T2019}},
     {"aws:currenttime": "2019-06-01T00:00:00+00:00"}, True),
    ("DateNotEquals", {"DateNotEquals": {"aws:CurrentTime": T2019}},
     {"aws:currenttime": "2019-06-02T00:00:00Z"}, True),
    ("DateLessThan", {"DateLessThan": {"aws:CurrentTime": T2019}},
     {"aws:currenttime": "2019-05-31T23:59:59Z"}, True),
    ("DateLessThan after", {"DateLessThan": {"aws:CurrentTime": T2019}},
     {"aws:currenttime": "2020-01-01T00:00:00Z"}, False),
    ("DateLessThanEquals", {"DateLessThanEquals": {"aws:CurrentTime": "2019-06-01"}},
     {"aws:currenttime": T2019}, True),
    ("DateGreaterThan", {"DateGreaterThan": {"aws:CurrentTime": T2019}},
     {"aws:currenttime": "2019-06-01T00:00:01.500Z"}, True),
    ("DateGreaterThanEquals epoch", {"DateGreaterThanEquals": {"aws:EpochTime": 1559347200}},
     {"aws:epochtime": "1559347200"}, True),
    ("Date epoch against iso", {"DateGreaterThan": {"aws:CurrentTime": "1559347199"}},
     {"aws:currenttime": T2019}, True),
    ("Date unreadable", {"DateLessThan": {"aws:CurrentTime": T2019}},
     {"aws:currenttime": "yesterday"}, False),
    # Bool
    ("Bool true", {"Bool": {"aws:SecureTransport": "true"}},
     {"aws:securetransport": "true"}, True),
    ("Bool json false", {"Bool": {"aws:SecureTransport": False}},
     {"aws:securetransport": "false"}, True),
    ("Bool mismatch", {"Bool": {"aws:SecureTransport": "true"}},
     {"aws:securetransport": "false"}, False),
    ("Bool absent", {"Bool": {"aws:SecureTransport": "false"}}, {}, False),
    # IP
    ("IpAddress v4", {"IpAddress": {IP: "192.0.2.0/24"}}, {IP: "192.0.2.7"}, True),
    ("IpAddress single", {"IpAddress": {IP: "192.0.2.7"}}, {IP: "192.0.2.7"}, True),
    ("IpAddress outside", {"IpAddress": {IP: "192.0.2.0/24"}}, {IP: "198.51.100.1"}, False),
    ("IpAddress v6", {"IpAddress": {IP: "2001:db8::/32"}}, {IP: "2001:db8:1::5"}, True),
    ("IpAddress v6 vs v4", {"IpAddress": {IP: "2001:db8::/32"}}, {IP: "192.0.2.7"}, False),
    ("IpAddress list", {"IpAddress": {IP: ["10.0.0.0/8", "2001:db8::/32"]}},
     {IP: "2001:db8::1"}, True),
    ("NotIpAddress", {"NotIpAddress": {IP: "192.0.2.0/24"}}, {IP: "198.51.100.1"}, True),
    ("NotIpAddress inside", {"NotIpAddress": {IP: "192.0.2.0/24"}}, {IP: "192.0.2.1"}, False),
    ("NotIpAddress absent", {"NotIpAddress": {IP: "192.0.2.0/24"}}, {}, True),
    ("allow range but one", {"IpAddress": {IP: "192.0.2.0/24"},
                             "NotIpAddress": {IP: "192.0.2.188/32"}},
     {IP: "192.0.2.188"}, False),
    ("IpAddress unreadable", {"IpAddress": {IP: "0.0.0.0/0"}}, {IP: "nope"}, False),
    # ARN
    ("ArnEquals", {"ArnEquals": {"aws:SourceArn": "arn:aws:s3:::b"}},
     {"aws:sourcearn": "arn:aws:s3:::b"}, True),
    ("ArnLike", {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}},
     {"aws:principalarn": "arn:aws:iam::123456789012:root"}, True),
    ("ArnLike star stays in its part", {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}},
     {"aws:principalarn": "arn:aws:iam::1:2:root"}, False),
    ("ArnNotEquals", {"ArnNotEquals": {"aws:SourceArn": "arn:aws:s3:::b"}},
     {"aws:sourcearn": "arn:aws:s3:::c"}, True),
    ("ArnNotLike", {"ArnNotLike": {"aws:SourceArn": "arn:aws:s3:::b*"}},
     {"aws:sourcearn": "arn:aws:s3:::bx"}, False),
    ("Arn not an arn", {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}},
     {"aws:sourcearn": "bucket"}, False),
    # Null
    ("Null true absent", {"Null": {PFX: "true"}}, {}, True),
    ("Null true present", {"Null": {PFX: "true"}}, {PFX: "a"}, False),
    ("Null false present", {"Null": {PFX: False}}, {PFX: "a"}, True),
    ("Null false absent", {"Null": {PFX: "false"}}, {}, False),
    # Binary
    ("BinaryEquals", {"BinaryEquals": {"s3:x-amz-content-sha256": "QUJD"}},
     {"s3:x-amz-content-sha256": "QUJD"}, True),
    ("BinaryEquals other", {"BinaryEquals": {"s3:x-amz-content-sha256": "QUJD"}},
     {"s3:x-amz-content-sha256": "QUJE"}, False),
    # IfExists
    ("IfExists absent", {"StringEqualsIfExists": {PFX: "a"}}, {}, True),
    ("IfExists present", {"StringEqualsIfExists": {PFX: "a"}}, {PFX: "b"}, False),
    ("IfExists present matches", {"StringEqualsIfExists": {PFX: "a"}}, {PFX: "a"}, True),
    ("NumericIfExists", {"NumericLessThanEqualsIfExists": {"s3:max-keys": 100}},
     {"s3:max-keys": "1000"}, False),
    ("NotIpAddressIfExists absent", {"NotIpAddressIfExists": {IP: "10.0.0.0/8"}}, {}, True),
    ("BoolIfExists", {"BoolIfExists": {"aws:SecureTransport": "true"}}, {}, True),
    # qualifiers
    ("ForAnyValue one", {"ForAnyValue:StringEquals": {TAGS: ["a", "b"]}},
     {TAGS: ("c", "b")}, True),
    ("ForAnyValue none", {"ForAnyValue:StringEquals": {TAGS: ["a", "b"]}},
     {TAGS: ("c", "d")}, False),
    ("ForAnyValue absent", {"ForAnyValue:StringEquals": {TAGS: "a"}}, {}, False),
    ("ForAllValues all", {"ForAllValues:StringEquals": {TAGS: ["a", "b"]}},
     {TAGS: ("a", "b")}, True),
    ("ForAllValues one outside", {"ForAllValues:StringEquals": {TAGS: ["a", "b"]}},
     {TAGS: ("a", "c")}, False),
    ("ForAllValues absent", {"ForAllValues:StringEquals": {TAGS: "a"}}, {}, True),
    ("ForAllValues like", {"ForAllValues:StringLike": {TAGS: "x-*"}},
     {TAGS: ("x-1", "x-2")}, True),
    ("ForAnyValue negated", {"ForAnyValue:StringNotEquals": {TAGS: "a"}},
     {TAGS: ("a", "b")}, True),
    ("ForAllValues negated", {"ForAllValues:StringNotEquals": {TAGS: "a"}},
     {TAGS: ("a", "b")}, False),
    ("ForAnyValue IfExists absent", {"ForAnyValue:StringEqualsIfExists": {TAGS: "a"}}, {},
     True),
    ("qualifier any case", {"foranyvalue:stringequals": {TAGS: "a"}}, {TAGS: ("a",)}, True),
    # keys
    ("key case-insensitive", {"StringEquals": {"S3:PREFIX": "a"}}, {PFX: "a"}, True),
    ("tag key", {"StringEquals": {"s3:ExistingObjectTag/team": "blue"}},
     {"s3:existingobjecttag/team": "blue"}, True),
    ("acl header", {"StringEquals": {"s3:x-amz-acl": "public-read"}},
     {"s3:x-amz-acl": "public-read"}, True),
]


def ctx_request(context: dict) -> PolicyRequest:
    values = {k.lower(): v if isinstance(v, tuple) else (v,) for k, v in context.items()}
    return PolicyRequest(frozenset(), True, "s3:GetObject", f"arn:aws:s3:::{BUCKET}/k",
                         values)


class ConditionTests(SynchronousTestCase):
    def test_table(self):
        for name, block, context, holds in CONDITIONS:
            with self.subTest(name):
                decision = policy(statement(Condition=block)).evaluate(ctx_request(context))
                self.assertEqual(decision, "Allow" if holds else None)

    def test_every_family(self):
        """The table covers every operator family, each with IfExists and a
        qualifier somewhere."""
        ops = {op for _, block, _, _ in CONDITIONS for op in block}
        for family in ("String", "Numeric", "Date", "Bool", "IpAddress", "Arn", "Null",
                       "Binary"):
            self.assertTrue(any(family in op for op in ops), family)
        self.assertTrue(any(op.endswith("IfExists") for op in ops))
        self.assertTrue(any(op.startswith("ForAnyValue:") for op in ops))
        self.assertTrue(any(op.startswith("ForAllValues:") for op in ops))
