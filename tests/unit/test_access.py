# -*- test-case-name: tests.unit.test_access -*-
"""Access declarations (one per route row) and the one decision function."""
from __future__ import annotations

import attrs
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.access import acl
from cloudserver.s3.access import COPY_SOURCE, LIST_BUCKET, authorize, gate
from cloudserver.s3.access.declare import ACCOUNT, BUCKET, OBJECT, OPEN
from cloudserver.s3.access.acl import OWNER, READ, READ_ACP, WRITE, WRITE_ACP
from cloudserver.s3.ops import HANDLERS, NOT_IMPLEMENTED
from cloudserver.s3.routing import ROUTES, WEBSITE_ROUTES, route

BART = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
LISA = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2bf"


def declared(name: str):
    """The one access an operation's rows declare."""
    found = {access for _, _, _, op, access in ROUTES if op == name}
    assert len(found) == 1, (name, found)
    return found.pop()


@attrs.frozen
class _Account:
    canonical_id: str


@attrs.frozen
class _Ctx:
    """What the decision reads of a RequestContext."""

    op: object
    account: object


def ctx(method: str, path: str, who: str | None, query: str = "", headers=None) -> _Ctx:
    op = route(method, "localhost", path, query, headers or {}, {"localhost": "us-east-1"})
    return _Ctx(op, _Account(who) if who else None)


class DeclarationTests(SynchronousTestCase):
    def test_every_route_has_a_handler_or_is_not_implemented(self):
        # the website hosts' routes (routing.WEBSITE_ROUTES) count as routes
        names = {op for _, _, _, op, _ in ROUTES} | set(WEBSITE_ROUTES)
        missing = sorted(n for n in names if n not in HANDLERS and n not in NOT_IMPLEMENTED)
        self.assertEqual(missing, [])
        self.assertEqual(sorted(NOT_IMPLEMENTED & set(HANDLERS)), [])
        self.assertEqual(sorted(NOT_IMPLEMENTED - names), [])
        self.assertEqual(sorted(set(HANDLERS) - names), [])

    def test_one_access_per_operation_with_an_action(self):
        for _, _, _, name, access in ROUTES:
            declared(name)
            if access.level != OPEN:
                self.assertTrue(access.action.startswith("s3:"), name)

    def test_bucket_permissions(self):
        for name, permission in [("ListObjectsV2", READ), ("PutObject", WRITE),
                                 ("GetBucketAcl", READ_ACP), ("PutBucketAcl", WRITE_ACP),
                                 ("PutBucketVersioning", OWNER), ("DeleteBucket", OWNER)]:
            access = declared(name)
            self.assertEqual((access.level, access.permission), (BUCKET, permission), name)
        self.assertEqual(declared("GetObject").level, OBJECT)

    def test_object_permissions(self):
        self.assertEqual(declared("HeadObject").permission, READ)
        self.assertEqual(declared("PutObjectAcl").permission, WRITE_ACP)
        self.assertEqual(declared("PutObject").level, BUCKET)

    def test_anonymous_ops_are_acl_or_policy_governed(self):
        """Owner-only operations are reachable anonymously (a bucket policy
        may open them), but for the policy's own management."""
        for _, _, _, name, access in ROUTES:
            if access.level in (BUCKET, OBJECT):
                self.assertEqual(access.anonymous, not name.endswith("BucketPolicy"), name)
        self.assertFalse(declared("ListBuckets").anonymous)
        self.assertFalse(declared("CreateBucket").anonymous)
        self.assertEqual(declared("CreateBucket").level, ACCOUNT)
        self.assertTrue(declared("CorsPreflight").anonymous)

    def test_version_actions(self):
        self.assertEqual(declared("GetObject").action_for({}), "s3:GetObject")
        self.assertEqual(declared("GetObject").action_for({"versionId": "x"}),
                         "s3:GetObjectVersion")
        self.assertEqual(declared("PutObject").action_for({"versionId": "x"}), "s3:PutObject")


class GateTests(SynchronousTestCase):
    def test_anonymous_reaches_only_what_a_grant_could_allow(self):
        for method, path, query, allowed in [
                ("GET", "/", "", False), ("PUT", "/b", "", False),
                ("PUT", "/b", "versioning", True), ("GET", "/b", "", True),
                ("GET", "/b/k", "", True), ("PUT", "/b/k", "", True),
                ("OPTIONS", "/b/k", "", True), ("GET", "/b/k", "tagging", True),
                ("GET", "/b", "policy", False), ("PUT", "/b", "policy", False),
                ("DELETE", "/b", "policy", False), ("GET", "/b", "policyStatus", True)]:
            self.assertEqual(gate(ctx(method, path, None, query)).allowed, allowed,
                             (method, path, query))
            self.assertTrue(gate(ctx(method, path, BART, query)).allowed)


def bucket(canned: str = "private", *, ignore_public: bool = False) -> dict:
    attrs_ = {"owner": BART, "acl": acl.canned(canned, BART).to_record()}
    if ignore_public:
        attrs_["publicAccessBlock"] = {"IgnorePublicAcls": True}
    return attrs_


def obj(owner: str = BART, canned: str = "private") -> dict:
    return {"owner": owner, "acl": acl.canned(canned, owner, BART).to_record()}


class AuthorizeTests(SynchronousTestCase):
    """(bucket, object, request) -> decision, as tables."""

    def check(self, rows):
        for context, bucket_attrs, record, kwargs, allowed in rows:
            decision = authorize(context, bucket_attrs, record, **kwargs)
            self.assertEqual(decision.allowed, allowed, (context.op.name, decision))

    def test_bucket_level(self):
        self.check([
            (ctx("GET", "/b", BART), bucket(), None, {}, True),
            (ctx("GET", "/b", LISA), bucket(), None, {}, False),
            (ctx("GET", "/b", None), bucket(), None, {}, False),
            (ctx("GET", "/b", None), bucket("public-read"), None, {}, True),
            (ctx("PUT", "/b/k", None), bucket("public-read"), None, {}, False),
            (ctx("PUT", "/b/k", None), bucket("public-read-write"), None, {}, True),
            (ctx("PUT", "/b/k", LISA), bucket("authenticated-read"), None, {}, False),
            (ctx("GET", "/b", LISA), bucket("authenticated-read"), None, {}, True),
            (ctx("PUT", "/b", LISA, "versioning"), bucket("public-read-write"), None, {},
             False),
            (ctx("PUT", "/b", BART, "versioning"), bucket(), None, {}, True),
            (ctx("GET", "/b", None), bucket("public-read", ignore_public=True), None, {},
             False),
        ])

    def test_object_level(self):
        self.check([
            (ctx("GET", "/b/k", BART), bucket(), obj(), {}, True),
            (ctx("GET", "/b/k", LISA), bucket(), obj(), {}, False),
            (ctx("GET", "/b/k", None), bucket(), obj(canned="public-read"), {}, True),
            (ctx("GET", "/b/k", None, "acl"), bucket(), obj(canned="public-read"), {}, False),
            (ctx("GET", "/b/k", None), bucket(ignore_public=True), obj(canned="public-read"),
             {}, False),
            # the object's owner may, the bucket's owner needs a grant
            (ctx("GET", "/b/k", LISA), bucket(), obj(LISA), {}, True),
            (ctx("GET", "/b/k", BART), bucket(), obj(LISA), {}, False),
            (ctx("GET", "/b/k", BART), bucket(), obj(LISA, "bucket-owner-read"), {}, True),
        ])

    def test_declared_access_other_than_the_operations(self):
        self.check([
            (ctx("PUT", "/b/k", LISA), bucket(), obj(), {"access": COPY_SOURCE}, False),
            (ctx("PUT", "/b/k", LISA), bucket(), obj(canned="public-read"),
             {"access": COPY_SOURCE}, True),
            (ctx("GET", "/b/nope", LISA), bucket(), None, {"access": LIST_BUCKET}, False),
            (ctx("GET", "/b/nope", None), bucket("public-read"), None,
             {"access": LIST_BUCKET}, True),
        ])

    def test_account_and_open_levels(self):
        self.assertTrue(authorize(ctx("PUT", "/b", LISA), {}).allowed)
        self.assertFalse(authorize(ctx("PUT", "/b", None), {}).allowed)
        self.assertTrue(authorize(ctx("OPTIONS", "/b", None), {}).allowed)

    def test_object_access_needs_the_record(self):
        """An object permission is never decided on the bucket's ACL (a bucket
        READ_ACP grant must not open GetObjectAcl)."""
        self.assertRaises(ValueError, authorize, ctx("GET", "/b/k", LISA, "acl"),
                          bucket("public-read"))

    def test_a_denial_is_access_denied(self):
        from cloudserver.s3.errors import S3Error
        decision = authorize(ctx("GET", "/b", LISA), bucket())
        self.assertEqual(self.assertRaises(S3Error, decision.require).code, "AccessDenied")
