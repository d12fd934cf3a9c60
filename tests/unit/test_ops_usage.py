# -*- test-case-name: tests.unit.test_ops_usage -*-
"""GET /?usage (ops/usage.py): the caller's buckets' counters, no one else's."""
from __future__ import annotations

import json

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.ops.usage import account_report
from tests.unit.test_http import WRONG, Harness, signed, status
from botocore.credentials import Credentials

OTHER = Credentials("accessKey2", "verySecretKey2")


def body(response: bytes) -> dict:
    return json.loads(response.split(b"\r\n\r\n", 1)[1])


class GetUsageTests(SynchronousTestCase):
    def setUp(self):
        self.h = Harness()
        for path, data in (("/mine", b""), ("/mine/a", b"12345"), ("/mine/b", b"xy"),
                           ("/empty", b"")):
            self.assertEqual(status(self.h.send(signed("PUT", path, data) + data)), 200)
        self.assertEqual(status(self.h.send(signed("PUT", "/theirs", creds=OTHER))), 200)
        self.assertEqual(status(self.h.send(signed("PUT", "/theirs/k", b"z" * 9, creds=OTHER)
                                            + b"z" * 9)), 200)

    def test_own_buckets_only(self):
        out = self.h.send(signed("GET", "/?usage"))
        self.assertEqual(status(out), 200)
        self.assertIn(b"Content-Type: application/json", out)
        report = body(out)
        self.assertEqual(sorted(b["name"] for b in report["buckets"]), ["empty", "mine"])
        mine = next(b for b in report["buckets"] if b["name"] == "mine")
        self.assertEqual((mine["objects"], mine["objectBytes"]), (2, 7))
        self.assertEqual(report["total"]["buckets"], 2)
        self.assertEqual((report["total"]["objects"], report["total"]["objectBytes"]), (2, 7))
        self.assertEqual(report["server"]["status"], "OK")
        self.assertIn("version", report["server"])
        theirs = body(self.h.send(signed("GET", "/?usage", creds=OTHER)))
        self.assertEqual([b["name"] for b in theirs["buckets"]], ["theirs"])
        self.assertEqual(theirs["total"]["objectBytes"], 9)

    def test_signed_requests_only(self):
        anonymous = self.h.send(b"GET /?usage HTTP/1.1\r\nHost: localhost:8000\r\n\r\n")
        self.assertEqual(status(anonymous), 403)
        self.assertIn(b"<Code>AccessDenied</Code>", anonymous)
        self.assertEqual(status(self.h.send(signed("GET", "/?usage", creds=WRONG))), 403)

    def test_no_buckets(self):
        report = account_report({"buckets": [{"name": "x", "objects": 3}]}, set())
        self.assertEqual(report["buckets"], [])
        self.assertEqual(report["total"]["objects"], 0)
        self.assertEqual(report["total"]["buckets"], 0)
