# -*- test-case-name: tests.unit.test_access_policy -*-
"""The bucket policy in the one decision: AWS's order (explicit deny > allow
> ACL), principals and condition keys from the request, and the policy
operations themselves."""
from __future__ import annotations

import json

import attrs
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.accounts import Account
from cloudserver.s3.access import acl, authorize
from cloudserver.s3.routing import route
from tests.unit.test_http import BucketCase, status

NOW = 1_796_000_000.0  # 2026-11-30

BART = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
LISA = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2bf"
ACCOUNTS = {
    BART: Account("Bart", "b@x", "arn:aws:iam::123456789012:root", BART, "123456789012",
                  "ak1", "sk1"),
    LISA: Account("Lisa", "l@x", "arn:aws:iam::123456789013:root", LISA, "123456789013",
                  "ak2", "sk2"),
}


@attrs.frozen
class _Auth:
    version: int | None


@attrs.frozen
class _Ctx:
    op: object
    account: object
    headers: dict
    auth: _Auth
    client_ip: str = "127.0.0.1"
    secure: bool = False
    #: the injected clock the decision reads aws:CurrentTime from
    backend: object = attrs.field(factory=lambda: _Backend(_fixed_clock()))


@attrs.frozen
class _Backend:
    clock: object


def _fixed_clock():
    clock = Clock()
    clock.advance(NOW)
    return clock


def ctx(method, path, who, query="", headers=None, ip="127.0.0.1", secure=False):
    headers = {k: [v] for k, v in (headers or {}).items()}
    op = route(method, "localhost", path, query, headers, {"localhost": "us-east-1"})
    account = ACCOUNTS.get(who) if who else None
    return _Ctx(op, account, headers, _Auth(4 if account else None), ip, secure)


def bucket(policy: dict | None, canned="private", **pab) -> dict:
    attrs_ = {"name": "b", "owner": BART, "acl": acl.canned(canned, BART).to_record()}
    if policy is not None:
        attrs_["policy"] = json.dumps(policy)
    if pab:
        attrs_["publicAccessBlock"] = pab
    return attrs_


def obj(owner=BART) -> dict:
    return {"key": "k", "owner": owner, "acl": acl.private(owner).to_record()}


def statement(effect, principal, action, resource, condition=None) -> dict:
    s = {"Effect": effect, "Principal": principal, "Action": action, "Resource": resource}
    if condition:
        s["Condition"] = condition
    return s


def doc(*statements) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


READ_ALL = statement("Allow", "*", "s3:GetObject", "arn:aws:s3:::b/*")
LIST_FOR_LISA = statement("Allow", {"AWS": "123456789013"}, "s3:ListBucket", "arn:aws:s3:::b")
DENY_PLAIN_HTTP = statement("Deny", "*", "s3:*", ["arn:aws:s3:::b", "arn:aws:s3:::b/*"],
                            {"Bool": {"aws:SecureTransport": "false"}})


class DecisionTests(SynchronousTestCase):
    def allowed(self, context, attrs_, record=None) -> bool:
        return authorize(context, attrs_, record).allowed

    def test_allow_opens_what_the_acl_does_not(self):
        self.assertFalse(self.allowed(ctx("GET", "/b/k", None), bucket(None), obj()))
        self.assertTrue(self.allowed(ctx("GET", "/b/k", None), bucket(doc(READ_ALL)), obj()))
        self.assertFalse(self.allowed(ctx("GET", "/b/k", None, "acl"), bucket(doc(READ_ALL)),
                                      obj()))
        self.assertTrue(self.allowed(ctx("GET", "/b", LISA), bucket(doc(LIST_FOR_LISA))))
        self.assertFalse(self.allowed(ctx("GET", "/b", None), bucket(doc(LIST_FOR_LISA))))

    def test_explicit_deny_wins_over_the_acl_and_the_owner(self):
        policy = bucket(doc(DENY_PLAIN_HTTP), canned="public-read")
        self.assertFalse(self.allowed(ctx("GET", "/b", BART), policy))
        self.assertFalse(self.allowed(ctx("GET", "/b", None), policy))
        self.assertTrue(self.allowed(ctx("GET", "/b", BART, secure=True), policy))
        self.assertTrue(self.allowed(ctx("GET", "/b", None, secure=True), policy))

    def test_the_owner_keeps_the_policy_itself(self):
        deny_all = bucket(doc(statement("Deny", "*", "s3:*", ["arn:aws:s3:::b",
                                                               "arn:aws:s3:::b/*"])))
        for method in ("GET", "PUT", "DELETE"):
            self.assertTrue(self.allowed(ctx(method, "/b", BART, "policy"), deny_all), method)
        self.assertFalse(self.allowed(ctx("GET", "/b", BART, "versioning"), deny_all))
        self.assertFalse(self.allowed(ctx("GET", "/b", LISA, "policy"), deny_all))

    def test_conditions_see_the_request(self):
        from_net = bucket(doc(statement("Allow", "*", "s3:GetObject", "arn:aws:s3:::b/*",
                                        {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})))
        self.assertTrue(self.allowed(ctx("GET", "/b/k", None, ip="10.1.2.3"), from_net, obj()))
        self.assertFalse(self.allowed(ctx("GET", "/b/k", None, ip="192.0.2.1"), from_net,
                                      obj()))
        prefix = bucket(doc(statement("Allow", {"AWS": "123456789013"}, "s3:ListBucket",
                                      "arn:aws:s3:::b",
                                      {"StringLike": {"s3:prefix": "home/lisa/*"}})))
        self.assertTrue(self.allowed(ctx("GET", "/b", LISA, "prefix=home/lisa/x"), prefix))
        self.assertFalse(self.allowed(ctx("GET", "/b", LISA, "prefix=home/bart/"), prefix))

    def test_version_actions(self):
        latest_only = bucket(doc(statement("Allow", "*", "s3:GetObject", "arn:aws:s3:::b/*")))
        self.assertFalse(self.allowed(ctx("GET", "/b/k", None, "versionId=abc"), latest_only,
                                      obj()))

    def test_restrict_public_buckets(self):
        restricted = bucket(doc(READ_ALL), RestrictPublicBuckets=True)
        self.assertFalse(self.allowed(ctx("GET", "/b/k", None), restricted, obj()))
        self.assertFalse(self.allowed(ctx("GET", "/b/k", LISA), restricted, obj()))


class PolicyOperationTests(BucketCase, SynchronousTestCase):
    POLICY = json.dumps(doc(statement("Allow", "*", "s3:GetObject", "arn:aws:s3:::bucket/*")))

    def test_put_get_status_delete(self):
        body = self.POLICY.encode()
        self.assertEqual(status(self.send("GET", "/bucket?policy")), 404)
        self.assertEqual(status(self.send("PUT", "/bucket?policy", body)), 204)
        out = self.send("GET", "/bucket?policy")
        self.assertEqual(status(out), 200)
        self.assertEqual(json.loads(out.split(b"\r\n\r\n", 1)[1]), json.loads(self.POLICY))
        out = self.send("GET", "/bucket?policyStatus")
        self.assertIn(b"<IsPublic>true</IsPublic>", out)
        self.assertEqual(status(self.send("DELETE", "/bucket?policy")), 204)
        self.assertEqual(status(self.send("GET", "/bucket?policy")), 404)

    def test_malformed_policies_store_nothing(self):
        for body in (b"not json", b"{}", json.dumps(doc(statement(
                "Allow", "*", "s3:GetObject", "arn:aws:s3:::other/*"))).encode(),
                     b"{" + b" " * (21 * 1024) + b"}"):
            out = self.send("PUT", "/bucket?policy", body)
            self.assertEqual(status(out), 400, out)
            self.assertIn(b"<Code>MalformedPolicy</Code>", out)
        self.assertEqual(status(self.send("GET", "/bucket?policy")), 404)

    def test_block_public_policy(self):
        pab = (b"<PublicAccessBlockConfiguration><BlockPublicPolicy>true</BlockPublicPolicy>"
               b"</PublicAccessBlockConfiguration>")
        self.assertEqual(status(self.send("PUT", "/bucket?publicAccessBlock", pab)), 200)
        out = self.send("PUT", "/bucket?policy", self.POLICY.encode())
        self.assertEqual(status(out), 403, out)
        self.assertEqual(status(self.send("GET", "/bucket?policy")), 404)


def tagged(tags: dict, owner=BART) -> dict:
    return {**obj(owner), "tags": tags}


EXISTING_PUBLIC = {"StringEquals": {"s3:ExistingObjectTag/security": "public"}}
REQUEST_PUBLIC = {"StringEquals": {"s3:RequestObjectTag/security": "public"}}


class ObjectTagKeyTests(SynchronousTestCase):
    """s3:ExistingObjectTag/<key> reads the record decided on;
    s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys the tags a write sets."""

    def allowed(self, context, attrs_, record=None, **kw) -> bool:
        return authorize(context, attrs_, record, **kw).allowed

    def test_existing_tag_on_object_operations(self):
        for action, method, query in (("s3:GetObject", "GET", ""),
                                      ("s3:GetObjectAcl", "GET", "acl"),
                                      ("s3:PutObjectAcl", "PUT", "acl")):
            policy = bucket(doc(statement("Allow", {"AWS": "123456789013"}, action,
                                          "arn:aws:s3:::b/*", EXISTING_PUBLIC)))
            request = ctx(method, "/b/k", LISA, query)
            self.assertTrue(self.allowed(request, policy, tagged({"security": "public"})),
                            action)
            self.assertFalse(self.allowed(request, policy, tagged({"security": "private"})),
                             action)
            self.assertFalse(self.allowed(request, policy, tagged({"security1": "public"})),
                             action)

    def test_existing_tag_on_tagging_operations(self):
        """Object tagging is decided at bucket level (the owner's), given the record."""
        for action, method in (("s3:GetObjectTagging", "GET"), ("s3:PutObjectTagging", "PUT"),
                               ("s3:DeleteObjectTagging", "DELETE")):
            policy = bucket(doc(statement("Allow", {"AWS": "123456789013"}, action,
                                          "arn:aws:s3:::b/*", EXISTING_PUBLIC)))
            request = ctx(method, "/b/k", LISA, "tagging")
            self.assertTrue(self.allowed(request, policy, tagged({"security": "public"})))
            self.assertFalse(self.allowed(request, policy, tagged({})))
            self.assertFalse(self.allowed(request, policy), action)  # no record: absent

    def test_request_tags_from_the_header(self):
        policy = bucket(doc(statement("Allow", {"AWS": "123456789013"}, "s3:PutObject",
                                      "arn:aws:s3:::b/*", REQUEST_PUBLIC)))
        self.assertFalse(self.allowed(ctx("PUT", "/b/k", LISA), policy))
        self.assertTrue(self.allowed(ctx("PUT", "/b/k", LISA, headers={
            "x-amz-tagging": "security=public&a=b"}), policy))
        self.assertFalse(self.allowed(ctx("PUT", "/b/k", LISA, headers={
            "x-amz-tagging": "security=private"}), policy))
        self.assertFalse(self.allowed(ctx("PUT", "/b/k", LISA, headers={
            "x-amz-tagging": "=bad"}), policy))  # the handler answers the 400

    def test_request_tag_keys_and_body_tags(self):
        only_these = bucket(doc(statement(
            "Allow", {"AWS": "123456789013"}, "s3:PutObjectTagging", "arn:aws:s3:::b/*",
            {"ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["a", "b"]},
             "Null": {"s3:RequestObjectTagKeys": "false"}})))
        request = ctx("PUT", "/b/k", LISA, "tagging")
        self.assertTrue(self.allowed(request, only_these, obj(), request_tags=[("a", "1")]))
        self.assertFalse(self.allowed(request, only_these, obj(),
                                      request_tags=[("a", "1"), ("c", "2")]))
        self.assertFalse(self.allowed(request, only_these, obj(), request_tags=[]))

    def test_policies_without_tag_keys_do_not_read_them(self):
        from cloudserver.s3.access.bucket_policy import bucket_policy
        self.assertFalse(bucket_policy(bucket(doc(READ_ALL))).reads_existing_tags)
        self.assertFalse(bucket_policy(bucket(doc(READ_ALL))).reads_request_tags)
        with_tags = bucket_policy(bucket(doc(statement("Allow", "*", "s3:GetObject",
                                                       "arn:aws:s3:::b/*", EXISTING_PUBLIC))))
        self.assertTrue(with_tags.reads_existing_tags)
        self.assertFalse(with_tags.reads_request_tags)



class MissingKeyDecisionTests(SynchronousTestCase):
    def test_list_check_reads_the_key_as_prefix(self):
        from cloudserver.s3.access import LIST_BUCKET
        prefix = bucket(doc(statement("Allow", {"AWS": "123456789013"}, "s3:ListBucket",
                                      "arn:aws:s3:::b",
                                      {"StringLike": {"s3:prefix": "public/*"}})))
        for key, expected in (("public/x", True), ("private/x", False)):
            decision = authorize(ctx("HEAD", "/b/" + key, LISA), prefix, access=LIST_BUCKET,
                                 context_keys={"s3:prefix": (key,)})
            self.assertEqual(decision.allowed, expected, key)


class OwnerOperationTests(SynchronousTestCase):
    def test_policy_opens_owner_operations_to_anonymous(self):
        from cloudserver.s3.access import gate
        tagging = bucket(doc(statement("Allow", "*", "s3:GetBucketTagging", "arn:aws:s3:::b")))
        request = ctx("GET", "/b", None, "tagging")
        self.assertTrue(gate(request).allowed)
        self.assertTrue(authorize(request, tagging).allowed)
        self.assertFalse(authorize(request, bucket(None)).allowed)
        self.assertFalse(gate(ctx("GET", "/b", None, "policy")).allowed)


class ConfirmRemoveSelfTests(BucketCase, SynchronousTestCase):
    POLICY = PolicyOperationTests.POLICY.encode()

    def test_header_values(self):
        for value, expected in (("true", 204), ("FALSE", 204), ("yes", 400), ("", 400)):
            out = self.send("PUT", "/bucket?policy", self.POLICY,
                            {"x-amz-confirm-remove-self-bucket-access": value})
            self.assertEqual(status(out), expected, (value, out))
            if expected == 400:
                self.assertIn(b"<Code>InvalidArgument</Code>", out)
                self.assertIn(b"<ArgumentName>x-amz-confirm-remove-self-bucket-access"
                              b"</ArgumentName>", out)
