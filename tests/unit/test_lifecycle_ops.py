# -*- test-case-name: tests.unit.test_lifecycle_ops -*-
"""Put/Get/DeleteBucketLifecycle over the memory metadata service, and the
x-amz-expiration header of the object responses."""
from __future__ import annotations

import base64
import hashlib

from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.s3.ops import NOT_IMPLEMENTED
from cloudserver.s3.ops.lifecycle import expiration_headers
from tests.unit.test_acl import LISA
from tests.unit.test_acl_ops import Harness
from tests.unit.test_lifecycle_xml import EXP, conf, rule


def md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


class FakeConfig:
    locations = {"us-east-1": {}, "cold": {}}
    lifecycle_day = 10


class OperationTests(Harness):
    def put(self, body: bytes, who=None, **headers):
        headers.setdefault("content-md5", md5(body))
        kw = {} if who is None else {"who": who}
        return self.ctx("PUT", "/b", query={"lifecycle": ""}, body=body, headers=headers, **kw)

    def get(self):
        return self.ctx("GET", "/b", query={"lifecycle": ""})

    def stored(self):
        return self.successResultOf(self.backend.metadata.get_bucket("b")).get(Bkt.LIFECYCLE)

    def test_no_longer_not_implemented(self):
        for name in ("GetBucketLifecycleConfiguration", "PutBucketLifecycleConfiguration",
                     "DeleteBucketLifecycle"):
            self.assertNotIn(name, NOT_IMPLEMENTED)

    def test_put_get_delete(self):
        error = self.call_fails(self.get())
        self.assertEqual((error.code, error.status), ("NoSuchLifecycleConfiguration", 404))
        self.assertEqual(self.call(self.put(conf(rule(EXP)))).status, 200)
        self.assertEqual(self.stored(), [{"id": "r1", "status": "Enabled",
                                          "filter": {"prefix": "logs/"},
                                          "expiration": {"days": 3}}])
        self.assertIn(b"<Days>3</Days>", self.call(self.get()).body)
        delete = self.ctx("DELETE", "/b", query={"lifecycle": ""})
        self.assertEqual(self.call(delete).status, 204)
        self.assertIsNone(self.stored())
        self.assertEqual(self.call(delete).status, 204)

    def test_integrity_header_required(self):
        body = conf(rule(EXP))
        error = self.call_fails(self.ctx("PUT", "/b", query={"lifecycle": ""}, body=body))
        self.assertEqual((error.code, error.message), (
            "InvalidRequest", "Missing required header for this request: Content-MD5"))
        self.assertEqual(self.call_fails(self.put(body, **{"content-md5": md5(b"x")})).code,
                         "BadDigest")
        self.assertIsNone(self.stored())

    def test_bad_body_changes_nothing(self):
        self.call(self.put(conf(rule(EXP))))
        before = self.stored()
        self.assertEqual(self.call_fails(self.put(conf(rule(EXP, "a" * 256)))).code,
                         "InvalidArgument")
        self.assertEqual(self.stored(), before)

    def test_owner_only(self):
        self.assertEqual(self.call_fails(self.put(conf(rule(EXP)), who=LISA)).code,
                         "AccessDenied")

    def test_transition_to_a_location(self):
        trans = ("<Transition><Days>1</Days><StorageClass>{}</StorageClass></Transition>")
        self.backend.config = FakeConfig()
        self.call(self.put(conf(rule(trans.format("cold")))))
        self.assertEqual(self.stored()[0]["transitions"], [{"days": 1, "storageClass": "cold"}])
        self.assertEqual(self.call_fails(self.put(conf(rule(trans.format("warm"))))).code,
                         "MalformedXML")


class ExpirationHeaderTests(Harness):
    RULES = [{"id": 'r"1', "status": "Enabled", "filter": {"prefix": "a"},
              "expiration": {"days": 1}}]

    def headers(self, bucket, md, config=None):
        self.backend.config = config
        return expiration_headers(self.ctx("GET", "/b/a"), bucket, md)

    def test_rounded_to_midnight_and_quoted(self):
        md = {"key": "a1", "size": 1, "last-modified": 86400 * 3 + 5}
        self.assertEqual(self.headers({Bkt.LIFECYCLE: self.RULES}, md), [
            ("x-amz-expiration",
             'expiry-date="Tue, 06 Jan 1970 00:00:00 GMT", rule-id="r\\"1"')])

    def test_debug_day(self):
        md = {"key": "a1", "size": 1, "last-modified": 1000}
        [(_, value)] = self.headers({Bkt.LIFECYCLE: self.RULES}, md, FakeConfig())
        self.assertIn("Thu, 01 Jan 1970 00:16:50 GMT", value)

    def test_none(self):
        md = {"key": "b1", "size": 1, "last-modified": 1000}
        self.assertEqual(self.headers({Bkt.LIFECYCLE: self.RULES}, md), [])
        self.assertEqual(self.headers({}, {**md, "key": "a"}), [])
        marker = {"key": "a", "size": 0, "last-modified": 1, "isDeleteMarker": True}
        self.assertEqual(self.headers({Bkt.LIFECYCLE: self.RULES}, marker), [])

    def test_on_head(self):
        attrs = self.successResultOf(self.backend.metadata.get_bucket("b"))
        attrs[Bkt.LIFECYCLE] = [{**self.RULES[0], "filter": {"prefix": "k"}}]
        self.successResultOf(self.backend.metadata.update_bucket("b", attrs))
        resp = self.call(self.ctx("HEAD", "/b/k"))
        self.assertIn("x-amz-expiration", dict(resp.headers))
        # A version asked for by id may be noncurrent: no current-version rule.
        resp = self.call(self.ctx("HEAD", "/b/k", query={"versionId": "null"}))
        self.assertNotIn("x-amz-expiration", dict(resp.headers))
