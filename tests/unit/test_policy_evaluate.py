# -*- test-case-name: tests.unit.test_policy_evaluate -*-
"""Bucket policy decisions: tables of (statements, request) -> decision."""
from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from tests.unit.policy_helpers import (BART, BART_ACCOUNT, BUCKET, LISA, LISA_ACCOUNT, policy,
                                       request, statement)

B = f"arn:aws:s3:::{BUCKET}"
DENY_ALL = statement(Effect="Deny", Action="s3:*", Resource=[B, B + "/*"])

#: (name, statements, request, decision)
DECISIONS = [
    # principals
    ("star allows the anonymous", [statement()], request(who=None), "Allow"),
    ("star allows an account", [statement()], request(who=LISA), "Allow"),
    ("aws star allows the anonymous", [statement(Principal={"AWS": "*"})],
     request(who=None), "Allow"),
    ("account id", [statement(Principal={"AWS": LISA_ACCOUNT})], request(who=LISA), "Allow"),
    ("account id, other caller", [statement(Principal={"AWS": LISA_ACCOUNT})],
     request(who=BART), None),
    ("account id, anonymous", [statement(Principal={"AWS": LISA_ACCOUNT})],
     request(who=None), None),
    ("account arn", [statement(Principal={"AWS": f"arn:aws:iam::{LISA_ACCOUNT}:root"})],
     request(who=LISA), "Allow"),
    ("canonical id as AWS", [statement(Principal={"AWS": LISA})], request(who=LISA), "Allow"),
    ("canonical user", [statement(Principal={"CanonicalUser": LISA})],
     request(who=LISA), "Allow"),
    ("principal list", [statement(Principal={"AWS": [BART_ACCOUNT, LISA_ACCOUNT]})],
     request(who=LISA), "Allow"),
    ("not principal excludes", [statement(NotPrincipal={"AWS": LISA_ACCOUNT})],
     request(who=LISA), None),
    ("not principal includes others", [statement(NotPrincipal={"AWS": LISA_ACCOUNT})],
     request(who=BART), "Allow"),
    ("not principal includes the anonymous", [statement(NotPrincipal={"AWS": LISA_ACCOUNT})],
     request(who=None), "Allow"),
    ("deny all but the owner", [statement(Action="s3:*"),
                                statement(Effect="Deny", Action="s3:*", Resource=[B, B + "/*"],
                                          NotPrincipal={"AWS": BART_ACCOUNT})],
     request(who=LISA), "Deny"),
    # actions
    ("other action", [statement()], request(action="s3:PutObject"), None),
    ("action case-insensitive", [statement(Action="S3:GETOBJECT")], request(), "Allow"),
    ("action star", [statement(Action="s3:Get*")], request(action="s3:GetObjectAcl"), "Allow"),
    ("action question mark", [statement(Action="s3:?etObject")], request(), "Allow"),
    ("action question is one char", [statement(Action="s3:GetObjec?")],
     request(action="s3:GetObjectAcl"), None),
    ("bare star", [statement(Action="*")], request(action="s3:DeleteObject"), "Allow"),
    ("action list", [statement(Action=["s3:PutObject", "s3:GetObject"])], request(), "Allow"),
    ("not action", [statement(NotAction="s3:Delete*")], request(), "Allow"),
    ("not action excludes", [statement(NotAction="s3:Delete*")],
     request(action="s3:DeleteObject"), None),
    # resources
    ("key outside prefix", [statement(Resource=B + "/public/*")], request(key="a"), None),
    ("key in prefix", [statement(Resource=B + "/public/*")], request(key="public/a/b"),
     "Allow"),
    ("star spans slashes", [statement(Resource=B + "/*.jpg")], request(key="a/b/c.jpg"),
     "Allow"),
    ("question mark", [statement(Resource=B + "/?.jpg")], request(key="a.jpg"), "Allow"),
    ("resource case-sensitive", [statement(Resource=B + "/Photo.jpg")], request(), None),
    ("bucket resource", [statement(Action="s3:ListBucket", Resource=B)],
     request(action="s3:ListBucket", key=None), "Allow"),
    ("objects resource is not the bucket",
     [statement(Action=["s3:ListBucket", "s3:GetObject"])],
     request(action="s3:ListBucket", key=None), None),
    ("not resource", [statement(NotResource=B + "/private/*")], request(), "Allow"),
    ("star bucket names this one", [statement(Resource="arn:aws:s3:::*")], request(),
     "Allow"),
    ("star objects", [statement(Action="s3:ListBucket",
                                Resource=["arn:aws:s3:::*", "arn:aws:s3:::*/*"])],
     request(action="s3:ListBucket", key=None), "Allow"),
    ("not resource excludes", [statement(NotResource=B + "/private/*")],
     request(key="private/x"), None),
    ("regex characters are literal", [statement(Resource=B + "/a.c")], request(key="abc"),
     None),
    # effects
    ("explicit deny wins", [statement(), statement(Effect="Deny")], request(), "Deny"),
    ("deny first", [statement(Effect="Deny"), statement()], request(), "Deny"),
    ("deny of another action", [statement(), statement(Effect="Deny",
                                                       Action="s3:PutObject")],
     request(), "Allow"),
    ("deny only", [DENY_ALL], request(), "Deny"),
    ("nothing applies", [statement(Action="s3:PutObject")], request(), None),
    # conditions in a statement
    ("deny plain http", [statement(), statement(Effect="Deny", Condition={
        "Bool": {"aws:SecureTransport": "false"}})],
     request(aws__SecureTransport="false"), "Deny"),
    ("https passes", [statement(), statement(Effect="Deny", Condition={
        "Bool": {"aws:SecureTransport": "false"}})],
     request(aws__SecureTransport="true"), "Allow"),
    ("two operators AND", [statement(Condition={
        "StringEquals": {"s3:prefix": "a"}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})],
     request(s3__prefix="a", aws__SourceIp="192.0.2.1"), None),
    ("two operators both hold", [statement(Condition={
        "StringEquals": {"s3:prefix": "a"}, "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})],
     request(s3__prefix="a", aws__SourceIp="10.1.2.3"), "Allow"),
    ("two keys AND", [statement(Condition={
        "StringEquals": {"s3:prefix": "a", "s3:delimiter": "/"}})],
     request(s3__prefix="a"), None),
    ("condition fails the deny", [statement(), statement(Effect="Deny", Condition={
        "IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})],
     request(aws__SourceIp="192.0.2.1"), "Allow"),
    # policy variables
    ("username in resource", [statement(Resource=B + "/home/${aws:username}/*")],
     request(key="home/bart/x", aws__username="bart"), "Allow"),
    ("username of another", [statement(Resource=B + "/home/${aws:username}/*")],
     request(key="home/lisa/x", aws__username="bart"), None),
    ("variable absent", [statement(Resource=B + "/home/${aws:username}/*")],
     request(key="home/bart/x"), None),
    ("variable value is literal", [statement(Resource=B + "/home/${aws:username}")],
     request(key="home/bxrt", aws__username="b*"), None),
    ("escaped star", [statement(Resource=B + "/a${*}b")], request(key="a*b"), "Allow"),
    ("escaped star is no wildcard", [statement(Resource=B + "/a${*}b")],
     request(key="axxb"), None),
    ("escaped question and dollar", [statement(Resource=B + "/${?}${$}")],
     request(key="?$"), "Allow"),
    ("no variables in 2008-10-17", [statement(Resource=B + "/home/${aws:username}")],
     request(key="home/${aws:username}", aws__username="bart"), "Allow", "2008-10-17"),
    ("variable in a condition", [statement(Action="s3:ListBucket", Resource=B, Condition={
        "StringLike": {"s3:prefix": "home/${aws:username}/*"}})],
     request(action="s3:ListBucket", key=None, s3__prefix="home/bart/docs",
             aws__username="bart"), "Allow"),
    ("userid variable", [statement(Condition={
        "StringEquals": {"s3:prefix": "${aws:userid}"}})],
     request(s3__prefix=BART, aws__userid=BART), "Allow"),
]


class DecisionTests(SynchronousTestCase):
    def test_table(self):
        for row in DECISIONS:
            name, statements, req, decision = row[:4]
            version = row[4] if len(row) > 4 else "2012-10-17"
            with self.subTest(name):
                self.assertEqual(policy(*statements, version=version).evaluate(req),
                                 decision)

    def test_twenty_statements(self):
        """A large policy decides as its one matching statement says."""
        statements = [statement(Sid=str(i), Resource=f"{B}/p{i}/*") for i in range(19)]
        statements.append(statement(Sid="deny", Effect="Deny", Resource=B + "/p7/secret"))
        compiled = policy(*statements)
        self.assertEqual(compiled.evaluate(request(key="p3/x")), "Allow")
        self.assertEqual(compiled.evaluate(request(key="p7/secret")), "Deny")
        self.assertIsNone(compiled.evaluate(request(key="q/x")))


class GlobCoversTests(SynchronousTestCase):
    def test_table(self):
        from cloudserver.s3.access.policy.patterns import glob_covers
        for glob, text, expected in (
                ("*", "b", (True, True)), ("*/*", "b/", (True, True)), ("*/*", "b", (False, True)),
                ("b", "b", (True, False)), ("b/", "b/", (True, False)),
                ("b/*", "b/", (True, True)), ("b?/*", "bc/", (True, True)),
                ("other*", "b", (False, False)), ("*x/*", "b/", (False, True)),
                ("b?x/*", "bcd/", (False, False)),
                ("b*", "b/", (True, True)), ("*/k", "b/", (False, True)),
                ("b", "bc", (False, False))):
            self.assertEqual(glob_covers(glob, text), expected, (glob, text))


class LiteralPrefixTests(SynchronousTestCase):
    """The resources' literal beginnings: the cheap test before the regex."""

    def test_table(self):
        from cloudserver.s3.access.policy.patterns import Template, literal_prefix
        rows = [("arn:aws:s3:::b/team1/*", True, "arn:aws:s3:::b/team1/"),
                ("arn:aws:s3:::b", True, "arn:aws:s3:::b"),
                ("arn:aws:s3:::b/a?c", True, "arn:aws:s3:::b/a"),
                ("arn:aws:s3:::*", True, "arn:aws:s3:::"),
                ("arn:aws:s3:::b/home/${aws:username}/*", True, "arn:aws:s3:::b/home/"),
                ("arn:aws:s3:::b/${*}x*", True, "arn:aws:s3:::b/*x"),
                ("arn:aws:s3:::b/${aws:username}", False, "arn:aws:s3:::b/${aws:username}")]
        for value, variables, expected in rows:
            self.assertEqual(literal_prefix(Template(value, variables=variables)), expected,
                             value)
