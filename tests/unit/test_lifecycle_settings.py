"""config.json's lifecycle section: parsed, validated, named in errors."""
from __future__ import annotations

from twisted.trial import unittest

from cloudserver.lifecycle.settings import LifecycleSettings, parse_settings


class SettingsTests(unittest.SynchronousTestCase):
    def test_defaults(self):
        self.assertEqual(parse_settings(None), LifecycleSettings())
        self.assertEqual(parse_settings({}).day, 86400)

    def test_values(self):
        s = parse_settings({"interval": 5, "batchSize": 50, "rate": 0,
                            "debugDayLength": 10, "enabled": False})
        self.assertEqual(s, LifecycleSettings(enabled=False, interval=5.0, batch_size=50,
                                              rate=0.0, day=10.0))

    def test_errors_name_the_field(self):
        rows = [([], "lifecycle must be an object"),
                ({"interval": 0}, "lifecycle.interval"),
                ({"interval": "1"}, "lifecycle.interval"),
                ({"batchSize": 0}, "lifecycle.batchSize"),
                ({"batchSize": 1.5}, "lifecycle.batchSize"),
                ({"batchSize": 10001}, "lifecycle.batchSize"),
                ({"rate": -1}, "lifecycle.rate"),
                ({"debugDayLength": 0}, "lifecycle.debugDayLength"),
                ({"debugDayLength": True}, "lifecycle.debugDayLength"),
                ({"enabled": 1}, "lifecycle.enabled"),
                ({"interal": 1}, "lifecycle.interal is not a known field")]
        for raw, text in rows:
            e = self.assertRaises(ValueError, parse_settings, raw)
            self.assertIn(text, str(e), raw)
