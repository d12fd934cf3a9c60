# -*- test-case-name: tests.unit.test_policy_document -*-
"""Bucket policy documents: what PutBucketPolicy accepts, and AWS's message
for what it refuses (MalformedPolicy)."""
from __future__ import annotations

import json
import re

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.access.policy import MAX_POLICY_BYTES, MalformedPolicy, compile_policy
from cloudserver.s3.access.policy.actions import S3_ACTIONS
from cloudserver.s3.access.policy.conditions import Check
from cloudserver.s3.access.policy.evaluate import Statement
from cloudserver.s3.access.policy.patterns import Template
from cloudserver.s3.errors import CATALOG
from cloudserver.s3.routing import ROUTES
from tests.unit.policy_helpers import BART, BART_ACCOUNT, BUCKET, KNOWN, statement

V = "2012-10-17"


def doc(*statements, **top) -> str:
    return json.dumps({"Version": V, "Statement": list(statements), **top})


#: (name, document text, AWS's message)
MALFORMED = [
    ("not json", "not json", "Policies must be valid JSON and the first byte must be '{'"),
    ("array", "[]", "Policies must be valid JSON and the first byte must be '{'"),
    ("broken json", '{"Version": ', "This policy contains invalid Json"),
    ("duplicate field", '{"Version": "2012-10-17", "Version": "2012-10-17", '
     '"Statement": []}', "This policy contains invalid Json"),
    ("bad version", json.dumps({"Version": "2020-01-01", "Statement": [statement()]}),
     "The policy must contain a valid version string"),
    ("no statement", json.dumps({"Version": V}), "Missing required field Statement"),
    ("empty statement", doc(), "Could not parse the policy: Statement is empty!"),
    ("unknown top field", doc(statement(), Foo=1), "Unknown field Foo"),
    ("unknown statement field", doc(statement(Foo="x")), "Unknown field Foo"),
    ("duplicate sid", doc(statement(Sid="a"), statement(Sid="a")),
     "Statement IDs (SID) in a single policy must be unique."),
    ("no effect", doc(statement(Effect=None)), "Missing required field Effect"),
    ("bad effect", doc(statement(Effect="allow")), "Invalid effect: allow"),
    ("no principal", doc(statement(Principal=None)), "Missing required field Principal"),
    ("both principals", doc({**statement(), "NotPrincipal": "*"}),
     "Missing required field Principal"),
    ("no action", doc(statement(Action=None)), "Missing required field Action"),
    ("both actions", doc({**statement(), "NotAction": "s3:*"}),
     "Missing required field Action"),
    ("no resource", doc(statement(Resource=None)), "Missing required field Resource"),
    ("other bucket", doc(statement(Resource="arn:aws:s3:::other/*")),
     "Policy has invalid resource"),
    ("bucket prefix only", doc(statement(Resource="arn:aws:s3:::bucketx")),
     "Policy has invalid resource"),
    ("wildcard not naming the bucket", doc(statement(Resource="arn:aws:s3:::other*")),
     "Policy has invalid resource"),
    ("wildcard naming only another bucket's objects",
     doc(statement(Resource="arn:aws:s3:::b?x/*")), "Policy has invalid resource"),
    ("bucket action on objects", doc(statement(Action="s3:ListBucket")),
     "Action does not apply to any resource(s) in statement"),
    ("object actions on the bucket", doc(statement(Action=["s3:GetObject", "s3:PutObject*"],
                                                   Resource="arn:aws:s3:::bucket")),
     "Action does not apply to any resource(s) in statement"),
    ("not s3", doc(statement(Resource="arn:aws:sqs:::bucket")), "Policy has invalid resource"),
    ("bare name", doc(statement(Resource="bucket/*")), "Policy has invalid resource"),
    ("empty resource list", doc(statement(Resource=[])), "Policy has invalid resource"),
    ("unknown action", doc(statement(Action="s3:Frobnicate")), "Policy has invalid action"),
    ("other service", doc(statement(Action="iam:*")), "Policy has invalid action"),
    ("wildcard naming nothing", doc(statement(Action="s3:Frob*")),
     "Policy has invalid action"),
    ("non-string action", doc(statement(Action=[1])), "Policy has invalid action"),
    ("service principal", doc(statement(Principal={"Service": "s3.amazonaws.com"})),
     "Invalid principal in policy"),
    ("empty principal", doc(statement(Principal={})), "Invalid principal in policy"),
    ("bad principal string", doc(statement(Principal="bart")), "Invalid principal in policy"),
    ("unknown account", doc(statement(Principal={"AWS": "999999999999"})),
     "Invalid principal in policy"),
    ("unknown account arn", doc(statement(Principal={"AWS": "arn:aws:iam::999999999999:root"})),
     "Invalid principal in policy"),
    ("unknown canonical", doc(statement(Principal={"CanonicalUser": "f" * 64})),
     "Invalid principal in policy"),
    ("account as canonical", doc(statement(Principal={"CanonicalUser": BART_ACCOUNT})),
     "Invalid principal in policy"),
    ("unknown operator", doc(statement(Condition={"StringSorta": {"s3:prefix": "a"}})),
     "Policy has an invalid condition key"),
    ("unknown key", doc(statement(Condition={"StringEquals": {"aws:frob": "a"}})),
     "Policy has an invalid condition key"),
    ("tag prefix without a tag", doc(statement(
        Condition={"StringEquals": {"s3:ExistingObjectTag/": "a"}})),
     "Policy has an invalid condition key"),
    ("bad qualifier", doc(statement(Condition={"ForSome:StringEquals": {"s3:prefix": "a"}})),
     "Policy has an invalid condition key"),
    ("null ifexists", doc(statement(Condition={"NullIfExists": {"s3:prefix": "true"}})),
     "Policy has an invalid condition key"),
    ("condition not a map", doc(statement(Condition=["x"])),
     "Policy has an invalid condition key"),
    ("empty key map", doc(statement(Condition={"StringEquals": {}})),
     "Policy has an invalid condition key"),
    ("object value", doc(statement(Condition={"StringEquals": {"s3:prefix": {"a": 1}}})),
     "Policy has an invalid condition key"),
    ("empty value list", doc(statement(Condition={"StringEquals": {"s3:prefix": []}})),
     "Policy has an invalid condition key"),
    ("bad number", doc(statement(Condition={"NumericLessThan": {"s3:max-keys": "ten"}})),
     "Policy has an invalid condition key"),
    ("nan", doc(statement(Condition={"NumericLessThan": {"s3:max-keys": "nan"}})),
     "Policy has an invalid condition key"),
    ("underscored number", doc(statement(
        Condition={"NumericLessThan": {"s3:max-keys": "1_000"}})),
     "Policy has an invalid condition key"),
    ("sid not a string", doc(statement(Sid=1)), "This policy contains invalid Json"),
    ("bad date", doc(statement(Condition={"DateLessThan": {"aws:CurrentTime": "soon"}})),
     "Policy has an invalid condition key"),
    ("bad bool", doc(statement(Condition={"Bool": {"aws:SecureTransport": "yes"}})),
     "Policy has an invalid condition key"),
    ("bad cidr", doc(statement(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}})),
     "Policy has an invalid condition key"),
    ("bad base64", doc(statement(
        Condition={"BinaryEquals": {"s3:x-amz-content-sha256": "!!"}})),
     "Policy has an invalid condition key"),
    ("bad arn", doc(statement(Condition={"ArnLike": {"aws:SourceArn": "arn:aws"}})),
     "Policy has an invalid condition key"),
    ("bad null", doc(statement(Condition={"Null": {"s3:prefix": "maybe"}})),
     "Policy has an invalid condition key"),
]

#: documents PutBucketPolicy stores
ACCEPTED = [
    ("single statement object", json.dumps({"Version": V, "Statement": statement()})),
    ("no version (2008-10-17)", json.dumps({"Statement": [statement()]})),
    ("old version", json.dumps({"Version": "2008-10-17", "Statement": [statement()]})),
    ("id", doc(statement(), Id="MyPolicy")),
    ("leading whitespace", "  \n" + doc(statement())),
    ("bytes", doc(statement()).encode()),
    ("aws star", doc(statement(Principal={"AWS": "*"}))),
    ("account id", doc(statement(Principal={"AWS": BART_ACCOUNT}))),
    ("account arn list", doc(statement(Principal={"AWS": [f"arn:aws:iam::{BART_ACCOUNT}:root",
                                                          BART]}))),
    ("canonical user", doc(statement(Principal={"CanonicalUser": BART}))),
    ("not principal", doc(statement(NotPrincipal={"AWS": BART_ACCOUNT}))),
    ("bucket and keys", doc(statement(Resource=[f"arn:aws:s3:::{BUCKET}",
                                                f"arn:aws:s3:::{BUCKET}/a/*"]))),
    ("bucket wildcard naming it", doc(statement(Resource=f"arn:aws:s3:::{BUCKET[:-1]}?/*"))),
    ("star bucket", doc(statement(Resource="arn:aws:s3:::*"))),
    ("star objects", doc(statement(Resource=["arn:aws:s3:::*/*", "arn:aws:s3:::*"],
                                   Action="s3:ListBucket"))),
    ("bucket star slash", doc(statement(Resource="arn:aws:s3:::b*/*"))),
    ("mixed actions, one resource kind", doc(statement(Action=["s3:ListBucket",
                                                               "s3:GetObject"]))),
    ("action of no resource kind", doc(statement(Action="s3:ListAllMyBuckets"))),
    ("not resource", doc(statement(NotResource=f"arn:aws:s3:::{BUCKET}/private/*"))),
    ("actions any case", doc(statement(Action=["S3:getobject", "s3:List*", "s3:*", "*"]))),
    ("not action", doc(statement(NotAction="s3:Delete*"))),
    ("unbuilt actions", doc(statement(Action=["s3:BypassGovernanceRetention",
                                              "s3:PutObjectRetention",
                                              "s3:ReplicateObject"]))),
    ("every operator", doc(statement(Condition={
        "StringEquals": {"s3:prefix": ["a", "b"]},
        "ForAnyValue:StringLike": {"s3:RequestObjectTagKeys": "x*"},
        "ForAllValues:StringEquals": {"aws:TagKeys": "x"},
        "StringNotEqualsIgnoreCaseIfExists": {"s3:x-amz-acl": "private"},
        "NumericGreaterThanEquals": {"s3:max-keys": 10},
        "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"},
        "DateGreaterThan": {"aws:EpochTime": 1500000000},
        "Bool": {"aws:SecureTransport": True},
        "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]},
        "ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"},
        "Null": {"s3:ExistingObjectTag/team": "false"},
        "BinaryEquals": {"s3:x-amz-content-sha256": "AAEC"},
    }))),
    ("condition keys any case", doc(statement(Condition={"stringequals": {"S3:Prefix": "a"}}))),
]


class MalformedTests(SynchronousTestCase):
    """Every document AWS refuses raises MalformedPolicy with AWS's text."""

    def test_table(self):
        for name, text, message in MALFORMED:
            with self.subTest(name):
                exc = self.assertRaises(MalformedPolicy, compile_policy, text, BUCKET,
                                        known_accounts=KNOWN.__contains__)
                self.assertEqual((exc.code, exc.message), ("MalformedPolicy", message))

    def test_too_large(self):
        """Over 20 KiB is refused before it is parsed."""
        text = doc(statement(Sid="x" * MAX_POLICY_BYTES))
        exc = self.assertRaises(MalformedPolicy, compile_policy, text, BUCKET)
        self.assertEqual(exc.message, "Policy exceeds the maximum allowed document size.")

    def test_not_utf8(self):
        exc = self.assertRaises(MalformedPolicy, compile_policy, b'{"\xff": 1}', BUCKET)
        self.assertEqual(exc.message, "This policy contains invalid Json")

    def test_deep_nesting(self):
        """A document nested past the parser's recursion limit is bad JSON, not
        a crash."""
        text = '{"Statement": ' + "[" * 10000 + "]" * 10000 + "}"
        exc = self.assertRaises(MalformedPolicy, compile_policy, text, BUCKET)
        self.assertEqual(exc.message, "This policy contains invalid Json")

    def test_any_account_without_directory(self):
        """Without ``known_accounts`` any well-formed account id is accepted."""
        compile_policy(doc(statement(Principal={"AWS": "999999999999"})), BUCKET)

    def test_catalog(self):
        """The S3 error the caller answers with exists, with AWS's status."""
        self.assertEqual(CATALOG["MalformedPolicy"][0], 400)


class AcceptedTests(SynchronousTestCase):
    def test_table(self):
        for name, text in ACCEPTED:
            with self.subTest(name):
                policy = compile_policy(text, BUCKET, known_accounts=KNOWN.__contains__)
                self.assertTrue(policy.statements)

    def test_version_default(self):
        policy = compile_policy(json.dumps({"Statement": [statement()]}), BUCKET)
        self.assertEqual(policy.version, "2008-10-17")

    def test_compiled_form_holds_no_json(self):
        """Compile once: the stored form holds regexes, sets and checks only,
        nothing evaluate would have to re-parse."""
        text = doc(*[statement(Sid=str(i), Condition={
            "StringLike": {"s3:prefix": "home/${aws:username}/*"},
            "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}) for i in range(20)])
        policy = compile_policy(text, BUCKET)
        self.assertEqual(len(policy.statements), 20)
        for stmt in policy.statements:
            self.assertIsInstance(stmt, Statement)
            self.assertIsInstance(stmt.actions, re.Pattern)
            self.assertIsInstance(stmt.principals.ids, frozenset)
            for template in stmt.resources:
                self.assertIsInstance(template, Template)
                self.assertIsInstance(template.regex, re.Pattern)
            for check in stmt.conditions:
                self.assertIsInstance(check, Check)
                self.assertFalse(isinstance(check.values, (dict, list)))


class ActionListTests(SynchronousTestCase):
    def test_every_route_action_is_known(self):
        """Every action a route declares can be named in a policy."""
        for *_, op, access in ROUTES:
            for action in (access.action, access.version_action):
                if action is not None:
                    with self.subTest(op=op, action=action):
                        self.assertIn(action, S3_ACTIONS)

    def test_issue_actions(self):
        for action in ("s3:GetObject", "s3:PutObject", "s3:ListBucket",
                       "s3:ListBucketVersions", "s3:GetObjectVersion",
                       "s3:DeleteObjectVersion", "s3:PutObjectAcl", "s3:GetBucketPolicy",
                       "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
                       "s3:PutObjectTagging", "s3:BypassGovernanceRetention"):
            self.assertIn(action, S3_ACTIONS)

