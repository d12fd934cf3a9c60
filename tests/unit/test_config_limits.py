# -*- test-case-name: tests.unit.test_config_limits -*-
"""config.json ``limits`` (config/limits.py): defaults, values, refusals."""
from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.config import ConfigError
from cloudserver.config.limits import DEFAULT_BACKLOG, Limits, parse_limits
from cloudserver.web.limits import HttpLimits


class LimitsConfigTests(SynchronousTestCase):

    def test_defaults(self):
        self.assertEqual(parse_limits({}), Limits())
        limits = parse_limits({"limits": {}})
        self.assertEqual((limits.backlog, limits.http), (DEFAULT_BACKLOG, HttpLimits()))
        self.assertEqual(DEFAULT_BACKLOG, 1024)
        http = HttpLimits()
        self.assertEqual((http.max_connections, http.max_connections_per_client,
                          http.header_timeout, http.idle_timeout, http.max_header_size,
                          http.min_body_rate),
                         (10_000, 1_000, 30, 60, 16384, 1024))

    def test_values(self):
        limits = parse_limits({"limits": {
            "backlog": 4096, "maxConnections": 50, "maxConnectionsPerClient": 5,
            "headerTimeout": 0.5, "idleTimeout": 2, "maxHeaderSize": 8192, "minBodyRate": 0}})
        self.assertEqual(limits.backlog, 4096)
        self.assertEqual(limits.http, HttpLimits(
            max_connections=50, max_connections_per_client=5, header_timeout=0.5,
            idle_timeout=2, max_header_size=8192, min_body_rate=0))

    def test_refused(self):
        for section in ([], {"backlog": 0}, {"backlog": True}, {"backlog": "10"},
                        {"maxConnections": 1.5}, {"idleTimeout": 0}, {"headerTimeout": -1},
                        {"maxHeaderSize": 10}, {"unknown": 1},
                        {"maxConnections": 5, "maxConnectionsPerClient": 6}):
            self.assertRaises(ConfigError, parse_limits, {"limits": section})
