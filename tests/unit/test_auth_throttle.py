# -*- test-case-name: tests.unit.test_auth_throttle -*-
"""Failed signatures per client address (s3/auth/throttle.py, resource.py)."""
from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.config import load_config
from cloudserver.config.errors import ConfigError
from cloudserver.s3.auth import throttle
from cloudserver.s3.auth.throttle import AuthFailures
from tests.unit.test_http import WRONG, Harness, signed, status


class AuthFailuresTests(SynchronousTestCase):
    def test_burst_then_rate(self):
        clock = Clock()
        f = AuthFailures(clock, burst=3, per_minute=60)
        for _ in range(3):
            self.assertFalse(f.blocked("10.0.0.1"))
            f.failed("10.0.0.1")
        self.assertTrue(f.blocked("10.0.0.1"))
        self.assertFalse(f.blocked("10.0.0.2"))
        clock.advance(1.0)  # one token back
        self.assertFalse(f.blocked("10.0.0.1"))
        f.failed("10.0.0.1")
        self.assertTrue(f.blocked("10.0.0.1"))
        clock.advance(3600)
        self.assertFalse(f.blocked("10.0.0.1"))

    def test_off(self):
        f = AuthFailures(Clock(), burst=0, per_minute=60)
        for _ in range(100):
            f.failed("a")
        self.assertFalse(f.blocked("a"))
        self.assertEqual(f._buckets, {})

    def test_bounded(self):
        self.patch(throttle, "MAX_CLIENTS", 10)
        clock = Clock()
        f = AuthFailures(clock, burst=2, per_minute=1)
        for i in range(25):
            f.failed(f"10.0.0.{i}")
            f.failed(f"10.0.0.{i}")
        self.assertLessEqual(len(f._buckets), 10)
        self.assertTrue(f.blocked("10.0.0.24"))  # the newest are kept

    def test_config(self):
        limits = load_config({"S3BACKEND": "mem"}).limits
        self.assertEqual((limits.auth_failure_burst, limits.auth_failures_per_minute), (50, 60))
        from cloudserver.config.limits import parse_limits
        parsed = parse_limits({"limits": {"authFailureBurst": 0, "authFailuresPerMinute": 6}})
        self.assertEqual((parsed.auth_failure_burst, parsed.auth_failures_per_minute), (0, 6))
        self.assertRaises(ConfigError, parse_limits, {"limits": {"authFailureBurst": -1}})
        self.assertRaises(ConfigError, parse_limits, {"limits": {"authFailuresPerMinute": 0}})


class ResourceThrottleTests(SynchronousTestCase):
    def test_guessing_slows_down(self):
        h = Harness()
        burst = h.site.resource.auth_failures.burst
        for _ in range(burst):
            out = h.send(signed("GET", "/", creds=WRONG))
            self.assertIn(b"<Code>SignatureDoesNotMatch</Code>", out)
        out = h.send(signed("GET", "/", creds=WRONG))
        self.assertEqual(status(out), 503)
        self.assertIn(b"<Code>SlowDown</Code>", out)
        # right or wrong, the same answer while the address has no failure left
        out = h.send(signed("GET", "/"))
        self.assertEqual(status(out), 503)
        self.assertIn(b"<Code>SlowDown</Code>", out)
        # unsigned requests are not affected (they guess nothing)
        anon = h.send(b"GET /_/console/ HTTP/1.1\r\nHost: localhost:8000\r\n\r\n")
        self.assertEqual(status(anon), 200)
        h.clock.advance(1.0)
        self.assertEqual(status(h.send(signed("GET", "/"))), 200)
