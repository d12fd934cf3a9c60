"""The S3 front's object lock rules (model.lock) and documents
(xml.object_retention), driven with a Clock for "now"."""
from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial import unittest

from cloudserver.metadata import object_lock as rules
from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.s3.errors import S3Error
from cloudserver.s3.model import lock
from cloudserver.s3.xml.object_retention import (
    legal_hold_xml, parse_legal_hold, parse_retention, retention_xml)

T0 = rules.parse_date("2030-01-01T00:00:00Z")
LOCKED = {Bkt.OBJECT_LOCK_ENABLED: True}


def headers(**values):
    named = {name.replace("_", "-"): v for name, v in values.items()}
    return lambda name: named.get(name)


def version(mode, until):
    return {Obj.LOCK_MODE: mode, Obj.RETAIN_UNTIL: rules.format_date(until)}


class RequestedLockTests(unittest.TestCase):

    def setUp(self):
        self.clock = Clock()
        self.clock.advance(T0)

    def test_headers_give_the_lock(self):
        got = lock.requested_lock(headers(**{
            "x_amz_object_lock_mode": "COMPLIANCE",
            "x_amz_object_lock_retain_until_date": "2030-01-02T00:00:00Z",
            "x_amz_object_lock_legal_hold": "OFF"}), LOCKED, self.clock.seconds())
        self.assertEqual(got, {Obj.LOCK_MODE: "COMPLIANCE",
                               Obj.RETAIN_UNTIL: "2030-01-02T00:00:00.000Z",
                               Obj.LEGAL_HOLD: False})

    def test_errors(self):
        now = self.clock.seconds()
        cases = [
            ({"x_amz_object_lock_legal_hold": "ON"}, {}, "InvalidRequest"),
            ({"x_amz_object_lock_mode": "GOVERNANCE"}, LOCKED, "InvalidArgument"),
            ({"x_amz_object_lock_retain_until_date": "2031-01-01T00:00:00Z"}, LOCKED,
             "InvalidArgument"),
            ({"x_amz_object_lock_mode": "governance",
              "x_amz_object_lock_retain_until_date": "2031-01-01T00:00:00Z"}, LOCKED,
             "InvalidArgument"),
            ({"x_amz_object_lock_legal_hold": "on"}, LOCKED, "InvalidArgument"),
            ({"x_amz_object_lock_mode": "GOVERNANCE",
              "x_amz_object_lock_retain_until_date": "2029-12-31T23:59:59Z"}, LOCKED,
             "InvalidArgument"),
            ({"x_amz_object_lock_mode": "GOVERNANCE",
              "x_amz_object_lock_retain_until_date": "tomorrow"}, LOCKED, "InvalidArgument"),
        ]
        for given, bucket, code in cases:
            with self.assertRaises(S3Error) as raised:
                lock.requested_lock(headers(**given), bucket, now)
            self.assertEqual(raised.exception.code, code, given)

    def test_bucket_default_when_no_retention_given(self):
        bucket = {**LOCKED, Bkt.OBJECT_LOCK_RULE: {"mode": "GOVERNANCE", "days": 2}}
        got = lock.requested_lock(headers(x_amz_object_lock_legal_hold="ON"), bucket,
                                  self.clock.seconds())
        self.assertEqual(got, {Obj.LOCK_MODE: "GOVERNANCE",
                               Obj.RETAIN_UNTIL: "2030-01-03T00:00:00.000Z",
                               Obj.LEGAL_HOLD: True})
        self.clock.advance(86400)
        self.assertEqual(lock.requested_lock(headers(), bucket, self.clock.seconds()),
                         {Obj.LOCK_MODE: "GOVERNANCE",
                          Obj.RETAIN_UNTIL: "2030-01-04T00:00:00.000Z"})
        years = {**LOCKED, Bkt.OBJECT_LOCK_RULE: {"mode": "COMPLIANCE", "years": 1}}
        self.assertEqual(lock.requested_lock(headers(), years, T0)[Obj.RETAIN_UNTIL],
                         "2031-01-01T00:00:00.000Z")

    def test_multipart_default_at_completion(self):
        bucket = {**LOCKED, Bkt.OBJECT_LOCK_RULE: {"mode": "GOVERNANCE", "days": 1}}
        kept = lock.requested_lock(headers(x_amz_object_lock_legal_hold="ON"), bucket, T0,
                                   with_default=False)
        self.assertEqual(kept, {Obj.LEGAL_HOLD: True})
        self.assertEqual(lock.completed_lock(kept, bucket, T0 + 3600)[Obj.RETAIN_UNTIL],
                         "2030-01-02T01:00:00.000Z")

    def test_integrity_required_with_lock_headers(self):
        given = {"x-amz-object-lock-legal-hold": "ON"}
        with self.assertRaises(S3Error) as raised:
            lock.require_integrity(given, headers(x_amz_object_lock_legal_hold="ON"))
        self.assertEqual(raised.exception.message, lock.INTEGRITY_REQUIRED)
        lock.require_integrity({**given, "x-amz-checksum-crc32": "x"}, headers(
            x_amz_object_lock_legal_hold="ON"))
        lock.require_integrity({}, headers())

    def test_event_holds_refused(self):
        """Not implemented: refused, never ignored."""
        for name in lock.EVENT_HOLD_HEADERS:
            with self.assertRaises(S3Error) as raised:
                lock.requested_lock(headers(**{name.replace("-", "_"): "ON"}), {}, T0)
            self.assertEqual(raised.exception.code, "NotImplemented")

    def test_integrity_required_by_a_default_retention(self):
        """AWS: a PUT the bucket's default retention applies to needs one too."""
        with self.assertRaises(S3Error) as raised:
            lock.require_integrity({}, headers(), retained=True)
        self.assertEqual(raised.exception.message, lock.INTEGRITY_REQUIRED)
        lock.require_integrity({"content-md5": "x"}, headers(content_md5="x"), retained=True)


class RetentionChangeTests(unittest.TestCase):

    def test_governance(self):
        md = version("GOVERNANCE", T0 + 100)
        self.assertEqual(lock.retention_change(md, "GOVERNANCE", T0 + 200, T0), "ok")
        self.assertEqual(lock.retention_change(md, "GOVERNANCE", T0 + 50, T0), "bypass")
        self.assertEqual(lock.retention_change(md, "COMPLIANCE", T0 + 200, T0), "bypass")
        self.assertEqual(lock.retention_change(md, None, None, T0), "bypass")

    def test_compliance_only_extends(self):
        md = version("COMPLIANCE", T0 + 100)
        self.assertEqual(lock.retention_change(md, "COMPLIANCE", T0 + 200, T0), "ok")
        self.assertEqual(lock.retention_change(md, "COMPLIANCE", T0 + 50, T0), "denied")
        self.assertEqual(lock.retention_change(md, "GOVERNANCE", T0 + 200, T0), "denied")
        self.assertEqual(lock.retention_change(md, None, None, T0), "denied")

    def test_expired_retention_is_none(self):
        clock = Clock()
        clock.advance(T0)
        md = version("COMPLIANCE", T0 + 10)
        self.assertEqual(lock.retention_change(md, "GOVERNANCE", T0 + 20, clock.seconds()),
                         "denied")
        clock.advance(11)
        self.assertEqual(lock.retention_change(md, "GOVERNANCE", T0 + 20, clock.seconds()),
                         "ok")

    def test_condition_keys(self):
        keys = lock.condition_keys({**version("GOVERNANCE", T0 + 3 * 86400 + 5),
                                    Obj.LEGAL_HOLD: True}, T0)
        self.assertEqual(keys, {"s3:object-lock-mode": ("GOVERNANCE",),
                                "s3:object-lock-retain-until-date":
                                    ("2030-01-04T00:00:05.000Z",),
                                "s3:object-lock-remaining-retention-days": ("3",),
                                "s3:object-lock-legal-hold": ("ON",)})

    def test_response_headers(self):
        md = {**version("GOVERNANCE", T0), Obj.LEGAL_HOLD: False}
        self.assertEqual(lock.response_headers(md), [
            ("x-amz-object-lock-mode", "GOVERNANCE"),
            ("x-amz-object-lock-retain-until-date", "2030-01-01T00:00:00.000Z"),
            ("x-amz-object-lock-legal-hold", "OFF")])
        self.assertEqual(lock.response_headers({}), [])


class DocumentTests(unittest.TestCase):
    NS = b' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'

    def test_retention(self):
        body = (b"<Retention" + self.NS + b"><Mode>COMPLIANCE</Mode>"
                b"<RetainUntilDate>2030-01-01T00:00:00Z</RetainUntilDate></Retention>")
        self.assertEqual(parse_retention(body), ("COMPLIANCE", T0))
        self.assertEqual(parse_retention(b"<Retention/>"), (None, None))
        for bad in (b"<Retention><Mode>GOVERNANCE</Mode></Retention>",
                    b"<Retention><Mode>abc</Mode><RetainUntilDate>2030-01-01T00:00:00Z"
                    b"</RetainUntilDate></Retention>",
                    b"<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>soon"
                    b"</RetainUntilDate></Retention>",
                    b"<Other/>"):
            with self.assertRaises(S3Error) as raised:
                parse_retention(bad)
            self.assertEqual(raised.exception.code, "MalformedXML")
        self.assertIn(b"<Mode>GOVERNANCE</Mode>",
                      retention_xml("GOVERNANCE", "2030-01-01T00:00:00.000Z"))

    def test_legal_hold(self):
        self.assertTrue(parse_legal_hold(b"<LegalHold><Status>ON</Status></LegalHold>"))
        self.assertFalse(parse_legal_hold(b"<LegalHold><Status>OFF</Status></LegalHold>"))
        with self.assertRaises(S3Error) as raised:
            parse_legal_hold(b"<LegalHold><Status>abc</Status></LegalHold>")
        self.assertEqual(raised.exception.code, "MalformedXML")
        self.assertIn(b"<Status>OFF</Status>", legal_hold_xml(False))
