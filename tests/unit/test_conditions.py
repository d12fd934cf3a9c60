"""RFC 7232 precedence of the four conditional headers (s3/conditions.py)."""
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.model.conditions import etag_matches, failed_condition

MD = {"etag": "abc", "last-modified": 1_000_000.5}
BEFORE = "Mon, 12 Jan 1970 13:46:39 GMT"  # 999999
AFTER = "Mon, 12 Jan 1970 13:46:41 GMT"   # 1000001


def check(**headers):
    names = {k.replace("_", "-").lower(): v for k, v in headers.items()}
    return failed_condition(MD, names.get)


class ConditionTests(SynchronousTestCase):
    def test_etag_lists(self):
        self.assertTrue(etag_matches('"x", "abc"', "abc"))
        self.assertTrue(etag_matches("*", "abc"))
        self.assertTrue(etag_matches('W/"abc"', "abc"))
        self.assertFalse(etag_matches('"ab"', "abc"))

    def test_table(self):
        cases = [
            ({}, None),
            ({"If_Match": '"abc"'}, None),
            ({"If_Match": '"zzz"'}, "If-Match"),
            ({"If_Unmodified_Since": BEFORE}, "If-Unmodified-Since"),
            ({"If_Unmodified_Since": AFTER}, None),
            # a true If-Match overrides a false If-Unmodified-Since
            ({"If_Match": '"abc"', "If_Unmodified_Since": BEFORE}, None),
            ({"If_None_Match": '"abc"'}, "If-None-Match"),
            ({"If_None_Match": '"zzz"'}, None),
            ({"If_Modified_Since": AFTER}, "If-Modified-Since"),
            ({"If_Modified_Since": BEFORE}, None),
            # If-None-Match present: If-Modified-Since is ignored
            ({"If_None_Match": '"zzz"', "If_Modified_Since": AFTER}, None),
            ({"If_Modified_Since": "not a date"}, None),
        ]
        for headers, expected in cases:
            self.assertEqual(check(**headers), expected, headers)
