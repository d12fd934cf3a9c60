# -*- test-case-name: tests.unit.test_object_lock_config -*-
"""Object lock on buckets: CreateBucket's x-amz-bucket-object-lock-enabled,
Put/GetObjectLockConfiguration (AWS's validation, the versioning it needs),
and versioning that cannot be suspended once a bucket is locked."""
from __future__ import annotations

import base64
import hashlib

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.errors import S3Error
from cloudserver.s3.xml.object_lock import (
    object_lock_configuration_xml, parse_object_lock_configuration)
from tests.unit.test_http import BucketCase, status

LOCK = {"x-amz-bucket-object-lock-enabled": "true"}


def config(enabled="Enabled", retention: str | None = None) -> bytes:
    rule = f"<Rule><DefaultRetention>{retention}</DefaultRetention></Rule>" \
        if retention is not None else ""
    return (f'<ObjectLockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"<ObjectLockEnabled>{enabled}</ObjectLockEnabled>{rule}"
            "</ObjectLockConfiguration>").encode()


def md5(body: bytes) -> dict:
    return {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}


class ParseTests(SynchronousTestCase):
    def code(self, body: bytes) -> str:
        return self.assertRaises(S3Error, parse_object_lock_configuration, body).code

    def test_valid_documents(self):
        self.assertIsNone(parse_object_lock_configuration(config()))
        self.assertEqual(parse_object_lock_configuration(
            config(retention="<Mode>GOVERNANCE</Mode><Days>1</Days>")),
            {"mode": "GOVERNANCE", "days": 1})
        self.assertEqual(parse_object_lock_configuration(
            config(retention="<Mode>COMPLIANCE</Mode><Years>2</Years>")),
            {"mode": "COMPLIANCE", "years": 2})

    def test_malformed(self):
        """AWS's MalformedXML: a status other than Enabled, a bad or lower-case
        mode, both periods or none, no mode, an empty Rule, unknown elements."""
        for body in (config("Disabled"), config(""),
                     config(retention="<Mode>governance</Mode><Days>1</Days>"),
                     config(retention="<Mode>abc</Mode><Years>1</Years>"),
                     config(retention="<Mode>GOVERNANCE</Mode><Days>1</Days><Years>1</Years>"),
                     config(retention="<Mode>GOVERNANCE</Mode>"),
                     config(retention="<Days>1</Days>"),
                     config(retention="<Mode>GOVERNANCE</Mode><Days>x</Days>"),
                     config(retention="<Mode>GOVERNANCE</Mode><Days>1</Days><Other/>"),
                     b"<ObjectLockConfiguration><Rule/></ObjectLockConfiguration>",
                     config().replace(b"</ObjectLockConfiguration>",
                                      b"<Rule></Rule></ObjectLockConfiguration>"),
                     b"<Other/>", b"not xml"):
            self.assertEqual(self.code(body), "MalformedXML", body)

    def test_periods_must_be_positive(self):
        for period in ("<Days>0</Days>", "<Years>-1</Years>", "<Days>36501</Days>",
                       "<Years>101</Years>"):
            body = config(retention="<Mode>GOVERNANCE</Mode>" + period)
            self.assertEqual(self.code(body), "InvalidRetentionPeriod", period)

    def test_round_trip(self):
        for rule in (None, {"mode": "GOVERNANCE", "days": 3},
                     {"mode": "COMPLIANCE", "years": 1}):
            self.assertEqual(parse_object_lock_configuration(
                object_lock_configuration_xml(rule)), rule)


class LockBucketTests(BucketCase, SynchronousTestCase):
    def put_config(self, bucket: str, body: bytes, headers=None) -> bytes:
        return self.send("PUT", f"/{bucket}?object-lock", body,
                         md5(body) if headers is None else headers)

    def test_create_with_lock_is_versioned_and_locked(self):
        self.assertEqual(status(self.send("PUT", "/locked", headers=LOCK)), 200)
        self.assertIn(b"<Status>Enabled</Status>", self.send("GET", "/locked?versioning"))
        out = self.send("GET", "/locked?object-lock")
        self.assertEqual(status(out), 200, out)
        self.assertIn(b"<ObjectLockEnabled>Enabled</ObjectLockEnabled>", out)
        self.assertNotIn(b"<Rule>", out)

    def test_create_with_false_is_a_plain_bucket(self):
        out = self.send("PUT", "/plain", headers={"x-amz-bucket-object-lock-enabled": "false"})
        self.assertEqual(status(out), 200)
        self.assertNotIn(b"<Status>", self.send("GET", "/plain?versioning"))
        out = self.send("GET", "/plain?object-lock")
        self.assertEqual(status(out), 404)
        self.assertIn(b"<Code>ObjectLockConfigurationNotFoundError</Code>", out)

    def test_create_with_a_bad_value_creates_nothing(self):
        out = self.send("PUT", "/bad", headers={"x-amz-bucket-object-lock-enabled": "yes"})
        self.assertEqual(status(out), 400, out)
        self.assertIn(b"<Code>InvalidArgument</Code>", out)
        self.assertEqual(status(self.send("HEAD", "/bad")), 404)

    def test_default_rule_put_get_replace_remove(self):
        self.send("PUT", "/locked", headers=LOCK)
        body = config(retention="<Mode>GOVERNANCE</Mode><Days>1</Days>")
        self.assertEqual(status(self.put_config("locked", body)), 200)
        out = self.send("GET", "/locked?object-lock")
        self.assertIn(b"<DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days>"
                      b"</DefaultRetention>", out)
        body = config(retention="<Mode>COMPLIANCE</Mode><Years>1</Years>")
        self.assertEqual(status(self.put_config("locked", body)), 200)
        self.assertIn(b"<Years>1</Years>", self.send("GET", "/locked?object-lock"))
        self.assertEqual(status(self.put_config("locked", config())), 200)
        out = self.send("GET", "/locked?object-lock")
        self.assertIn(b"<ObjectLockEnabled>Enabled</ObjectLockEnabled>", out)
        self.assertNotIn(b"<Rule>", out)
        attrs = self.successResultOf(self.h.metadata.get_bucket("locked"))
        self.assertNotIn("objectLockConfiguration", attrs)
        self.assertTrue(attrs["objectLockEnabled"])

    def test_put_needs_enabled_versioning(self):
        """InvalidBucketState (409) on a bucket never versioned or suspended;
        once versioning is Enabled, lock is turned on (and then stays)."""
        body = config(retention="<Mode>GOVERNANCE</Mode><Days>1</Days>")
        for state in (None, "Suspended"):
            if state:
                self.send("PUT", "/bucket?versioning",
                          b"<VersioningConfiguration><Status>Suspended</Status>"
                          b"</VersioningConfiguration>")
            out = self.put_config("bucket", body)
            self.assertEqual(status(out), 409, out)
            self.assertIn(b"<Code>InvalidBucketState</Code>", out)
            self.assertEqual(status(self.send("GET", "/bucket?object-lock")), 404)
        self.send("PUT", "/bucket?versioning",
                  b"<VersioningConfiguration><Status>Enabled</Status>"
                  b"</VersioningConfiguration>")
        self.assertEqual(status(self.put_config("bucket", body)), 200)
        self.assertIn(b"<Days>1</Days>", self.send("GET", "/bucket?object-lock"))

    def test_put_needs_an_integrity_header(self):
        self.send("PUT", "/locked", headers=LOCK)
        body = config(retention="<Mode>GOVERNANCE</Mode><Days>1</Days>")
        out = self.put_config("locked", body, headers={})
        self.assertEqual(status(out), 400, out)
        self.assertIn(b"Missing required header for this request: Content-MD5", out)
        out = self.put_config("locked", body, headers=md5(b"other"))
        self.assertIn(b"<Code>BadDigest</Code>", out)
        self.assertNotIn(b"<Rule>", self.send("GET", "/locked?object-lock"))

    def test_bad_documents_store_nothing(self):
        self.send("PUT", "/locked", headers=LOCK)
        for body, code in ((config("Disabled"), b"MalformedXML"),
                           (config(retention="<Mode>GOVERNANCE</Mode><Days>0</Days>"),
                            b"InvalidRetentionPeriod")):
            out = self.put_config("locked", body)
            self.assertEqual(status(out), 400, out)
            self.assertIn(b"<Code>" + code + b"</Code>", out)
        self.assertNotIn(b"<Rule>", self.send("GET", "/locked?object-lock"))

    def test_versioning_of_a_locked_bucket_cannot_be_suspended(self):
        self.send("PUT", "/locked", headers=LOCK)
        out = self.send("PUT", "/locked?versioning",
                        b"<VersioningConfiguration><Status>Suspended</Status>"
                        b"</VersioningConfiguration>")
        self.assertEqual(status(out), 409, out)
        self.assertIn(b"<Code>InvalidBucketState</Code>", out)
        self.assertIn(b"<Status>Enabled</Status>", self.send("GET", "/locked?versioning"))
        out = self.send("PUT", "/locked?versioning",
                        b"<VersioningConfiguration><Status>Enabled</Status>"
                        b"</VersioningConfiguration>")
        self.assertEqual(status(out), 200, out)
