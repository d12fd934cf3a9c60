# -*- test-case-name: tests.unit.test_multipart_checksums -*-
"""The ETag and checksums of a completed multipart upload."""
from __future__ import annotations

import hashlib
import random

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.model import checksums
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.multipart_checksums import (
    checksum_type, composite_checksum, crc_combine, final_etag, full_object_crc)

MIB5 = 5 * 1024 * 1024
# s3-tests test_multipart_use_cksum_helper_*: three 5 MiB parts of A, B, C.
PARTS = [b"A" * MIB5, b"B" * MIB5, b"C" * MIB5]


def b64(algorithm: str, data: bytes) -> str:
    c = checksums.new_checksum(algorithm)
    c.update(data)
    return c.b64digest()


class ETagTests(SynchronousTestCase):

    def test_known_value(self):
        # s3-tests test_multipart_reupload_checksum_and_etag
        etags = [hashlib.md5(p).hexdigest() for p in PARTS]
        self.assertEqual(final_etag(etags), "b2add96cc9702bbf4efb0ccdfc6b7747-3")

    def test_single_part(self):
        md5 = hashlib.md5(b"x").hexdigest()
        self.assertEqual(final_etag([md5]),
                         hashlib.md5(bytes.fromhex(md5)).hexdigest() + "-1")


class CompositeTests(SynchronousTestCase):

    def test_s3_tests_values(self):
        for algorithm, expected in [
                ("SHA256", "uWBwpe1dxI4Vw8Gf0X9ynOdw/SS6VBzfWm9giiv1sf4=-3"),
                ("SHA1", "sizjvY4eud3MrcHdZM3cQ/ol39o=-3")]:
            values = [b64(algorithm, p) for p in PARTS]
            self.assertEqual(composite_checksum(algorithm, values), expected)

    def test_one_part(self):
        # s3-tests test_multipart_checksum_sha256: one part of 1024 "A"
        value = b64("SHA256", b"A" * 1024)
        self.assertEqual(composite_checksum("SHA256", [value]),
                         "Ok6Cs5b96ux6+MWQkJO7UBT5sKPBeXBLwvj/hK89smg=-1")


class FullObjectTests(SynchronousTestCase):

    def test_s3_tests_values(self):
        for algorithm, expected in [("CRC32", "WgDhBQ=="), ("CRC32C", "xU+Krw=="),
                                    ("CRC64NVME", "i+6LR0y3eFo=")]:
            parts = [(b64(algorithm, p), len(p)) for p in PARTS]
            self.assertEqual(full_object_crc(algorithm, parts), expected, algorithm)

    def test_equals_the_crc_of_the_whole(self):
        rnd = random.Random(7)
        for algorithm in ("CRC32", "CRC32C", "CRC64NVME"):
            pieces = [rnd.randbytes(n) for n in (0, 1, 17, 4096, 100_003, 3)]
            parts = [(b64(algorithm, p), len(p)) for p in pieces]
            self.assertEqual(full_object_crc(algorithm, parts),
                             b64(algorithm, b"".join(pieces)), algorithm)

    def test_combine_with_empty(self):
        # the CRC of no bytes is 0 for these CRCs, and shifting by 0 bytes is identity
        self.assertEqual(crc_combine("CRC32", 0, 0x1234, 10), 0x1234)
        self.assertEqual(crc_combine("CRC64NVME", 0x1234, 0, 0), 0x1234)

    def test_sha_cannot_be_combined(self):
        self.assertRaises(ValueError, full_object_crc, "SHA256", [])


class ChecksumTypeTests(SynchronousTestCase):

    def test_defaults(self):
        self.assertIsNone(checksum_type(None, None))
        self.assertEqual(checksum_type("CRC32", None), "COMPOSITE")
        self.assertEqual(checksum_type("CRC32C", None), "COMPOSITE")
        self.assertEqual(checksum_type("SHA256", None), "COMPOSITE")
        self.assertEqual(checksum_type("CRC64NVME", None), "FULL_OBJECT")

    def test_requested(self):
        self.assertEqual(checksum_type("CRC32", "FULL_OBJECT"), "FULL_OBJECT")
        self.assertEqual(checksum_type("CRC32C", "full_object"), "FULL_OBJECT")
        self.assertEqual(checksum_type("SHA1", "COMPOSITE"), "COMPOSITE")

    def test_refused(self):
        for algorithm, requested in [("SHA256", "FULL_OBJECT"), ("CRC64NVME", "COMPOSITE"),
                                     ("CRC32", "BOTH"), (None, "COMPOSITE")]:
            err = self.assertRaises(S3Error, checksum_type, algorithm, requested)
            self.assertEqual(err.code, "InvalidRequest")
