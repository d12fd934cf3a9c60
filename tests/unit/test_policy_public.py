# -*- test-case-name: tests.unit.test_policy_public -*-
"""Policy.is_public, by AWS's "The meaning of public"."""
from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from tests.unit.policy_helpers import BART_ACCOUNT, policy, statement

IP = "aws:SourceIp"

#: (name, statements, public)
PUBLIC = [
    ("star allow", [statement()], True),
    ("aws star allow", [statement(Principal={"AWS": "*"})], True),
    ("star among accounts", [statement(Principal={"AWS": [BART_ACCOUNT, "*"]})], True),
    ("not principal allow", [statement(NotPrincipal={"AWS": BART_ACCOUNT})], True),
    ("fixed account", [statement(Principal={"AWS": BART_ACCOUNT})], False),
    ("deny star", [statement(Effect="Deny")], False),
    ("one public among private", [statement(Principal={"AWS": BART_ACCOUNT}),
                                  statement(Sid="pub")], True),
    ("source ip cidr", [statement(Condition={"IpAddress": {IP: "192.0.2.0/24"}})], False),
    ("source ip v6", [statement(Condition={"IpAddress": {IP: "2001:db8::/32"}})], False),
    ("source ip everything", [statement(Condition={"IpAddress": {IP: "0.0.0.0/0"}})], True),
    ("source ip one of them everything", [statement(Condition={
        "IpAddress": {IP: ["192.0.2.0/24", "::/0"]}})], True),
    ("not ip address", [statement(Condition={"NotIpAddress": {IP: "192.0.2.0/24"}})], True),
    ("fixed source vpce", [statement(Condition={
        "StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}})], False),
    ("fixed source account", [statement(Condition={
        "StringEquals": {"aws:SourceAccount": BART_ACCOUNT}})], False),
    ("fixed source arn", [statement(Condition={
        "ArnEquals": {"aws:SourceArn": "arn:aws:s3:::logs"}})], False),
    ("fixed principal account", [statement(Condition={
        "StringEquals": {"aws:PrincipalAccount": BART_ACCOUNT}})], False),
    ("fixed org", [statement(Condition={
        "StringEquals": {"aws:PrincipalOrgID": "o-abc"}})], False),
    ("fixed userid", [statement(Condition={"StringEquals": {"aws:userid": "AIDAX"}})], False),
    ("userid role pattern", [statement(Condition={
        "StringLike": {"aws:userid": "AROLEID:*"}})], True),
    ("wildcard vpc", [statement(Condition={"StringLike": {"aws:SourceVpc": "vpc-*"}})], True),
    ("negated fixed key", [statement(Condition={
        "StringNotEquals": {"aws:SourceAccount": BART_ACCOUNT}})], True),
    ("ifexists pins nothing", [statement(Condition={
        "StringEqualsIfExists": {"aws:SourceAccount": BART_ACCOUNT}})], True),
    ("qualified pins nothing", [statement(Condition={
        "ForAnyValue:StringEquals": {"aws:SourceAccount": BART_ACCOUNT}})], True),
    ("variable pins nothing", [statement(Condition={
        "StringEquals": {"aws:SourceAccount": "${aws:username}"}})], True),
    ("other key", [statement(Condition={"StringEquals": {"s3:prefix": "a"}})], True),
    ("secure transport only", [statement(Condition={"Bool": {"aws:SecureTransport": "true"}})],
     True),
    ("kms key id", [statement(Condition={"StringEquals": {
        "s3:x-amz-server-side-encryption-aws-kms-key-id": "arn:aws:kms:r:1:key/k"}})], False),
    ("one pinning condition among others", [statement(Condition={
        "Bool": {"aws:SecureTransport": "true"}, "IpAddress": {IP: "10.0.0.0/8"}})], False),
]


class PublicTests(SynchronousTestCase):
    def test_table(self):
        for name, statements, public in PUBLIC:
            with self.subTest(name):
                self.assertEqual(policy(*statements).is_public(), public)
