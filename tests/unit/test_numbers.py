# -*- test-case-name: tests.unit.test_numbers -*-
"""Numbers of requests are length-checked before int(): 10,000 digits are an
S3 answer (or the value AWS gives them), never a ValueError (a 500)."""
from __future__ import annotations

from lxml import etree
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata.object_lock import parse_date
from cloudserver.s3.errors import S3Error
from cloudserver.s3.model.numbers import decimal, hexadecimal, signed_decimal
from cloudserver.s3.ops import multipart, multipart_read
from cloudserver.s3.ops.object_read import parse_range
from cloudserver.s3.xml import lifecycle, website

HUGE = "9" * 10_000


class NumberTests(SynchronousTestCase):

    def test_decimal(self):
        self.assertEqual(decimal("0042"), 42)
        self.assertEqual(decimal(b"7"), 7)
        for bad in (None, "", HUGE, "1_000", "+5", " 7", "1e3", "\u0663", "-1", "0x1"):
            self.assertIsNone(decimal(bad), bad)
        self.assertIsNone(decimal("12345", 4))
        self.assertEqual(signed_decimal("-12"), -12)
        self.assertIsNone(signed_decimal("-" + HUGE))
        self.assertEqual(hexadecimal(b"ff", 16), 255)
        self.assertIsNone(hexadecimal("f" * 17, 16))
        self.assertIsNone(hexadecimal("fg", 16))


class RangeTests(SynchronousTestCase):
    """Range bounds too long for int() mean "past the end", as AWS answers."""

    def test_huge_start_is_unsatisfiable(self):
        err = self.assertRaises(S3Error, parse_range, f"bytes={HUGE}-", 10)
        self.assertEqual((err.code, err.status), ("InvalidRange", 416))
        self.assertIn(("Content-Range", "bytes */10"), list(err.headers.items())
                      if isinstance(err.headers, dict) else err.headers)

    def test_huge_end_and_suffix_are_the_whole_object(self):
        self.assertEqual(parse_range(f"bytes=2-{HUGE}", 10), (2, 8))
        self.assertEqual(parse_range(f"bytes=-{HUGE}", 10), (0, 10))
        self.assertEqual(parse_range(f"bytes={'0' * 10_000}3-4", 10), (3, 2))

    def test_non_ascii_digits_are_ignored(self):
        self.assertIsNone(parse_range("bytes=\u0663-", 10))

    def test_copy_source_range(self):
        err = self.assertRaises(S3Error, multipart._requested_range, f"bytes=0-{HUGE}", 10)
        self.assertEqual(err.code, "InvalidRange")
        err = self.assertRaises(S3Error, multipart._requested_range, f"bytes={HUGE}-0", 10)
        self.assertEqual(err.code, "InvalidArgument")
        self.assertEqual(multipart._requested_range("bytes=1-2", 10), (1, 2))


class PartNumberTests(SynchronousTestCase):

    def test_part_numbers(self):
        for parse in (multipart_read._number,):
            self.assertEqual(parse("0000000017"), 17)
            for bad in (HUGE, "0", "10001", "\u0663", "", "1_0"):
                err = self.assertRaises(S3Error, parse, bad)
                self.assertEqual(err.code, "InvalidArgument")


class DateTests(SynchronousTestCase):
    """Dates whose UTC form leaves years 1..9999 are refused, not a 500 when
    they are converted or written back."""

    def test_retention_dates(self):
        for value in ("9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00"):
            self.assertRaises(ValueError, parse_date, value)
        self.assertEqual(parse_date("1970-01-02T00:00:00Z"), 86400)

    def test_lifecycle_dates(self):
        err = self.assertRaises(S3Error, lifecycle.parse_date, "0001-01-01T00:00:00+14:00")
        self.assertEqual(err.code, "MalformedXML")


class WebsiteCodeTests(SynchronousTestCase):

    def code(self, value: str):
        el = etree.fromstring(f"<HttpRedirectCode>{value}</HttpRedirectCode>")
        return website._code(el, "redirect", 301, 399, "3XX except 300")

    def test_codes(self):
        self.assertEqual(self.code("302"), 302)
        self.assertEqual(self.code("0302"), 302)
        err = self.assertRaises(S3Error, self.code, HUGE)
        self.assertEqual(err.code, "InvalidRequest")
        for bad in ("\u0663", "", "3o2"):
            err = self.assertRaises(S3Error, self.code, bad)
            self.assertEqual(err.code, "MalformedXML")
