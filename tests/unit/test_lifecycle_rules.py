"""lifecycle.rules: filters, AWS's day rounding, x-amz-expiration's rule."""
from __future__ import annotations

from twisted.trial import unittest

from cloudserver.lifecycle import rules

MIDNIGHT = 1_900_022_400  # 2030-03-16T00:00:00Z
assert MIDNIGHT % rules.DAY == 0


class FilterTests(unittest.SynchronousTestCase):
    def test_table(self):
        rule = {"filter": {"prefix": "logs/", "tags": {"t": "1"}, "sizeGreaterThan": 10,
                           "sizeLessThan": 100}}
        rows = [("logs/a", {"t": "1"}, 50, True), ("other", {"t": "1"}, 50, False),
                ("logs/a", {}, 50, False), ("logs/a", {"t": "2"}, 50, False),
                ("logs/a", {"t": "1"}, 10, False), ("logs/a", {"t": "1"}, 100, False),
                ("logs/a", {"t": "1", "u": "x"}, 99, True)]
        for key, tags, size, expected in rows:
            self.assertEqual(rules.filter_matches(rule, key, tags, size), expected,
                             (key, tags, size))
        self.assertTrue(rules.filter_matches({}, "anything", None, None))


class DueTests(unittest.SynchronousTestCase):
    def test_rounds_up_to_midnight(self):
        self.assertEqual(rules.due(MIDNIGHT + 3600, 1), MIDNIGHT + 2 * rules.DAY)
        self.assertEqual(rules.due(MIDNIGHT, 1), MIDNIGHT + rules.DAY)

    def test_debug_day(self):
        self.assertEqual(rules.due(100.5, 3, day=10), 130.5)


class ExpirationTests(unittest.SynchronousTestCase):
    def test_earliest_enabled_matching_rule(self):
        configured = [
            {"id": "late", "status": "Enabled", "expiration": {"days": 30}},
            {"id": "early", "status": "Enabled", "filter": {"prefix": "tmp/"},
             "expiration": {"days": 1}},
            {"id": "off", "status": "Disabled", "expiration": {"days": 0}},
            {"id": "markers", "status": "Enabled",
             "expiration": {"expiredObjectDeleteMarker": True}},
        ]
        self.assertEqual(rules.expiration_of(configured, "tmp/x", None, 1, MIDNIGHT),
                         (MIDNIGHT + rules.DAY, "early"))
        self.assertEqual(rules.expiration_of(configured, "keep/x", None, 1, MIDNIGHT),
                         (MIDNIGHT + 30 * rules.DAY, "late"))
        self.assertIsNone(rules.expiration_of(configured[2:], "x", None, 1, MIDNIGHT))
