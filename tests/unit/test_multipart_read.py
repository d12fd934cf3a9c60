# -*- test-case-name: tests.unit.test_multipart_read -*-
"""The pure parts of the multipart handlers: part reads, the part list of a
complete, its checksum rules, copy ranges, part numbers and upload ids."""
from __future__ import annotations

import base64
import hashlib

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.multipart import copy_range, new_upload_id, part_number
from cloudserver.s3.ops.multipart_complete import (
    final_checksum, object_location, select_parts)
from cloudserver.s3.ops.multipart_read import part_read


class FakeCtx:
    def __init__(self, query=None, headers=None):
        self.query = query or {}
        self.headers = {k.lower(): [v] for k, v in (headers or {}).items()}

    def header(self, name):
        values = self.headers.get(name)
        return values[0] if values else None


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


MPU = {"size": 25, "parts": [{"size": 10, "checksum": "c1"}, {"size": 10, "checksum": "c2"},
                             {"size": 5, "checksum": "c3"}],
       "checksum": {"algorithm": "SHA256", "value": "x-3", "type": "COMPOSITE"}}


class PartReadTests(SynchronousTestCase):

    def test_range_of_a_part(self):
        got = part_read(FakeCtx({"partNumber": "2"}), MPU)
        self.assertEqual(got.range, (10, 10))
        self.assertEqual(got.headers, [("x-amz-mp-parts-count", "3")])

    def test_part_checksum_with_checksum_mode(self):
        got = part_read(FakeCtx({"partNumber": "3"}, {"x-amz-checksum-mode": "ENABLED"}), MPU)
        self.assertEqual(got.range, (20, 5))
        self.assertIn(("x-amz-checksum-sha256", "c3"), got.headers)
        self.assertIn(("x-amz-checksum-type", "COMPOSITE"), got.headers)

    def test_out_of_range(self):
        # AWS: 416 InvalidPartNumber (not 400 InvalidPart, a complete's error)
        err = self.assertRaises(S3Error, part_read, FakeCtx({"partNumber": "4"}), MPU)
        self.assertEqual((err.code, err.status), ("InvalidPartNumber", 416))
        self.assertEqual(err.message, "The requested partnumber is not satisfiable")
        self.assertEqual(err.extra["ActualPartCount"], "3")

    def test_invalid_numbers(self):
        for text in ("0", "10001", "x", "-1", ""):
            err = self.assertRaises(S3Error, part_read, FakeCtx({"partNumber": text}), MPU)
            self.assertEqual(err.code, "InvalidArgument")

    def test_with_range_header(self):
        err = self.assertRaises(S3Error, part_read,
                                FakeCtx({"partNumber": "1"}, {"range": "bytes=0-1"}), MPU)
        self.assertEqual(err.code, "InvalidRequest")

    def test_single_part_object(self):
        got = part_read(FakeCtx({"partNumber": "1"}), {"size": 4})
        self.assertIsNone(got.range)  # the whole object
        err = self.assertRaises(S3Error, part_read, FakeCtx({"partNumber": "2"}), {"size": 4})
        self.assertEqual((err.code, err.status), ("InvalidPartNumber", 416))


class SelectPartsTests(SynchronousTestCase):

    def test_ascending(self):
        parts = [(1, "a", {}), (3, "b", {}), (7, "c", {})]
        self.assertEqual(select_parts(parts), parts)

    def test_order(self):
        err = self.assertRaises(S3Error, select_parts, [(2, "a", {}), (1, "b", {})])
        self.assertEqual(err.code, "InvalidPartOrder")

    def test_repeated_number_last_wins(self):
        self.assertEqual(select_parts([(1, "a", {}), (1, "b", {}), (2, "c", {})]),
                         [(1, "b", {}), (2, "c", {})])


class LocationTests(SynchronousTestCase):

    def test_parts_in_order(self):
        parts = [{"size": 3, "location": [{"key": "a", "start": 0, "size": 3}]},
                 {"size": 0, "location": []},
                 {"size": 4, "location": [{"key": "b", "start": 0, "size": 4}]}]
        self.assertEqual(object_location(parts), [{"key": "a", "start": 0, "size": 3},
                                                  {"key": "b", "start": 3, "size": 4}])


class FinalChecksumTests(SynchronousTestCase):
    upload = {"checksum": {"algorithm": "SHA256", "type": "COMPOSITE"}}
    parts = [{"size": 3, "checksum": {"algorithm": "SHA256", "value": sha256_b64(b"abc")}}]
    requested = [(1, "e", {})]

    def test_composite(self):
        got = final_checksum(FakeCtx(), self.upload, self.parts, self.requested)
        self.assertEqual(got["type"], "COMPOSITE")
        self.assertTrue(got["value"].endswith("-1"))

    def test_claimed_value_checked(self):
        value = final_checksum(FakeCtx(), self.upload, self.parts, self.requested)["value"]
        for claim in (value, value.partition("-")[0]):
            final_checksum(FakeCtx(headers={"x-amz-checksum-sha256": claim}),
                           self.upload, self.parts, self.requested)
        err = self.assertRaises(S3Error, final_checksum,
                                FakeCtx(headers={"x-amz-checksum-sha256": "bad"}),
                                self.upload, self.parts, self.requested)
        self.assertEqual(err.code, "BadDigest")

    def test_part_checksum_in_the_list_must_match(self):
        err = self.assertRaises(S3Error, final_checksum, FakeCtx(), self.upload, self.parts,
                                [(1, "e", {"ChecksumSHA256": sha256_b64(b"abd")})])
        self.assertEqual(err.code, "InvalidPart")

    def test_other_algorithm_or_type(self):
        err = self.assertRaises(S3Error, final_checksum,
                                FakeCtx(headers={"x-amz-checksum-crc32": "AAAAAA=="}),
                                self.upload, self.parts, self.requested)
        self.assertEqual(err.code, "InvalidRequest")
        err = self.assertRaises(S3Error, final_checksum,
                                FakeCtx(headers={"x-amz-checksum-type": "FULL_OBJECT"}),
                                self.upload, self.parts, self.requested)
        self.assertEqual(err.code, "InvalidRequest")

    def test_no_algorithm(self):
        self.assertIsNone(final_checksum(FakeCtx(), {}, self.parts, self.requested))

    def test_full_object(self):
        upload = {"checksum": {"algorithm": "CRC32", "type": "FULL_OBJECT"}}
        parts = [{"size": 1, "checksum": {"algorithm": "CRC32", "value": "6Jsemw=="}}]
        got = final_checksum(FakeCtx(), upload, parts, self.requested)
        self.assertEqual(got, {"algorithm": "CRC32", "value": "6Jsemw==",
                               "type": "FULL_OBJECT"})


class RequestParsingTests(SynchronousTestCase):

    def test_copy_range(self):
        self.assertEqual(copy_range(None, 10), (0, 10))
        self.assertEqual(copy_range("bytes=2-5", 10), (2, 4))
        self.assertEqual(copy_range("bytes=9-9", 10), (9, 1))
        for bad in ("0-2", "bytes=0", "bytes=hello-world", "bytes=0-bar", "bytes=hello-",
                    "bytes=0-2,3-5", "bytes=5-2", "bytes=-3"):
            err = self.assertRaises(S3Error, copy_range, bad, 10)
            self.assertEqual(err.code, "InvalidArgument", bad)
        err = self.assertRaises(S3Error, copy_range, "bytes=0-21", 5)
        self.assertEqual(err.code, "InvalidRange")

    def test_copy_of_more_than_5_gib(self):
        """A part copied from a source over 5 GiB needs a range of at most
        5 GiB: more is EntityTooLarge, before anything is read."""
        gib = 1024 ** 3
        self.assertEqual(copy_range(None, 5 * gib), (0, 5 * gib))
        self.assertEqual(copy_range(f"bytes={gib}-{6 * gib - 1}", 7 * gib), (gib, 5 * gib))
        for value in (None, f"bytes=0-{5 * gib}", f"bytes=1-{6 * gib}"):
            err = self.assertRaises(S3Error, copy_range, value, 7 * gib)
            self.assertEqual((err.code, err.status), ("EntityTooLarge", 400), value)
            self.assertEqual(err.message, "Your proposed upload exceeds the maximum "
                             "allowed object size.")
        # a range past a small source's end is InvalidRange, however long it is
        err = self.assertRaises(S3Error, copy_range, f"bytes=0-{6 * gib}", 10)
        self.assertEqual((err.code, err.status), ("InvalidRange", 416))

    def test_part_number(self):
        self.assertEqual(part_number(FakeCtx({"partNumber": "10000"})), 10000)
        for bad in ("0", "10001", "1.5", "", "٣"):
            err = self.assertRaises(S3Error, part_number, FakeCtx({"partNumber": bad}))
            self.assertEqual(err.code, "InvalidArgument")

    def test_upload_ids(self):
        a, b = new_upload_id(1000.0), new_upload_id(1000.0)
        self.assertNotEqual(a, b)
        self.assertLess(new_upload_id(999.0)[:12], a[:12])
        self.assertRegex(a, r"^[0-9a-f]{12}[A-Za-z0-9_-]{32}$")
