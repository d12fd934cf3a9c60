# -*- test-case-name: tests.unit.test_checksums -*-
"""Checksums: known vectors, agreement with botocore, header helpers,
validation of client-supplied values and BodyDigests."""
import base64
import hashlib

from botocore import httpchecksum
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.model import checksums
from cloudserver.s3.model.checksums import (
    ALGORITHMS,
    BodyDigests,
    algorithm_from_header,
    decode_b64_digest,
    header_name,
    is_valid_b64_digest,
    new_checksum,
)

BOTOCORE = {
    "CRC32": httpchecksum.Crc32Checksum,
    "CRC32C": httpchecksum.CrtCrc32cChecksum,
    "CRC64NVME": httpchecksum.CrtCrc64NvmeChecksum,
    "SHA1": httpchecksum.Sha1Checksum,
    "SHA256": httpchecksum.Sha256Checksum,
}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class VectorTests(SynchronousTestCase):
    def test_check_values(self):
        """The catalogued check values of each CRC over "123456789"."""
        for name, value, size in [("CRC32", 0xCBF43926, 4), ("CRC32C", 0xE3069283, 4),
                                  ("CRC64NVME", 0xAE8B14860A799888, 8)]:
            c = new_checksum(name)
            c.update(b"123456789")
            self.assertEqual(c.digest(), value.to_bytes(size, "big"), name)
            self.assertEqual(c.b64digest(), b64(value.to_bytes(size, "big")), name)

    def test_hashes(self):
        for name, h in [("SHA1", hashlib.sha1), ("SHA256", hashlib.sha256)]:
            c = new_checksum(name)
            c.update(b"hello ")
            c.update(memoryview(b"world"))
            self.assertEqual(c.b64digest(), b64(h(b"hello world").digest()))

    def test_agrees_with_botocore(self):
        for name in ALGORITHMS:
            theirs = BOTOCORE[name]()
            theirs.update(b"hello world")
            ours = new_checksum(name)
            ours.update(b"hello world")
            self.assertEqual(ours.b64digest(), theirs.b64digest(), name)

    def test_incremental_equals_whole(self):
        data = bytes(range(256)) * 1000
        for name in ALGORITHMS:
            whole = new_checksum(name)
            whole.update(data)
            pieces = new_checksum(name)
            for start in range(0, len(data), 7001):
                pieces.update(memoryview(data)[start:start + 7001])
            self.assertEqual(whole.b64digest(), pieces.b64digest(), name)
            theirs = BOTOCORE[name]()
            theirs.update(data)
            self.assertEqual(whole.b64digest(), theirs.b64digest(), name)

    def test_empty(self):
        self.assertEqual(new_checksum("CRC32").b64digest(), "AAAAAA==")
        self.assertEqual(new_checksum("CRC64NVME").b64digest(), "AAAAAAAAAAA=")

    def test_names(self):
        self.assertEqual(new_checksum("crc32c").algorithm, "CRC32C")
        self.assertRaises(ValueError, new_checksum, "MD5")
        self.assertRaises(ValueError, new_checksum, "")


class HeaderTests(SynchronousTestCase):
    def test_header_name(self):
        self.assertEqual(header_name("CRC32"), "x-amz-checksum-crc32")
        self.assertEqual(header_name("crc64nvme"), "x-amz-checksum-crc64nvme")
        self.assertRaises(ValueError, header_name, "xxhash")

    def test_algorithm_from_header(self):
        for name in ALGORITHMS:
            self.assertEqual(algorithm_from_header(header_name(name)), name)
        self.assertEqual(algorithm_from_header("X-Amz-Checksum-SHA256"), "SHA256")
        self.assertEqual(algorithm_from_header(b"x-amz-checksum-crc32c"), "CRC32C")
        for other in ["x-amz-checksum-algorithm", "x-amz-checksum-type", "x-amz-checksum-",
                      "x-amz-checksum-md5", "content-md5", "x-amz-content-sha256"]:
            self.assertIsNone(algorithm_from_header(other), other)

    def test_valid_digests(self):
        for name in ALGORITHMS:
            c = new_checksum(name)
            c.update(b"x")
            self.assertTrue(is_valid_b64_digest(name, c.b64digest()), name)
            self.assertTrue(is_valid_b64_digest(name, c.b64digest().encode()), name)
            self.assertEqual(decode_b64_digest(name, c.b64digest()), c.digest())

    def test_invalid_digests(self):
        crc32 = b64(b"\x01\x02\x03\x04")
        for value in ["", "AAAA", b64(b"\x01\x02\x03"), b64(b"\x01" * 5), crc32[:-1],
                      crc32 + "=", "!!!!!!==", "AQIDBA", "AQID BA==", "é" * 8, crc32 + "AA=="]:
            self.assertFalse(is_valid_b64_digest("CRC32", value), value)
        self.assertTrue(is_valid_b64_digest("CRC32", crc32))
        self.assertFalse(is_valid_b64_digest("SHA256", crc32))
        self.assertRaises(ValueError, is_valid_b64_digest, "MD5", crc32)


class BodyDigestsTests(SynchronousTestCase):
    def test_md5_only(self):
        digests = BodyDigests()
        digests.update(b"hello ")
        digests.update(bytearray(b"world"))
        self.assertEqual(digests.md5_hex(), hashlib.md5(b"hello world").hexdigest())
        self.assertEqual(digests.md5_b64(), b64(hashlib.md5(b"hello world").digest()))
        self.assertEqual(digests.md5_digest(), hashlib.md5(b"hello world").digest())
        self.assertIsNone(digests.sha256_hex())
        self.assertIsNone(digests.checksum)
        self.assertEqual(digests.size, 11)

    def test_all(self):
        digests = BodyDigests(sha256=True, checksum="crc64nvme")
        for piece in (b"hello", memoryview(b" "), b"world"):
            digests.update(piece)
        self.assertEqual(digests.sha256_hex(), hashlib.sha256(b"hello world").hexdigest())
        theirs = BOTOCORE["CRC64NVME"]()
        theirs.update(b"hello world")
        self.assertEqual(digests.checksum, ("CRC64NVME", theirs.b64digest()))
        self.assertEqual(digests.md5_hex(), hashlib.md5(b"hello world").hexdigest())
        self.assertEqual(digests.size, 11)

    def test_checksum_without_sha(self):
        digests = BodyDigests(checksum="SHA1")
        digests.update(b"abc")
        self.assertIsNone(digests.sha256_hex())
        self.assertEqual(digests.checksum, ("SHA1", b64(hashlib.sha1(b"abc").digest())))

    def test_empty_body(self):
        digests = BodyDigests(sha256=True)
        self.assertEqual(digests.md5_hex(), "d41d8cd98f00b204e9800998ecf8427e")
        self.assertEqual(digests.sha256_hex(), hashlib.sha256(b"").hexdigest())
        self.assertEqual(digests.size, 0)

    def test_unknown_algorithm(self):
        self.assertRaises(ValueError, BodyDigests, checksum="MD5")

    def test_hand_over_hashing(self):
        """After the hand-over, update() only counts; the returned function
        (a writer's I/O thread) feeds every digest."""
        digests = BodyDigests(sha256=True, checksum="CRC32C")
        digests.update(b"hel")  # before: hashed here
        feed = digests.hand_over_hashing()
        for piece in (b"lo ", memoryview(b"world")):
            digests.update(piece)
        self.assertEqual(digests.size, 11)
        self.assertEqual(digests.md5_hex(), hashlib.md5(b"hel").hexdigest())
        for piece in (b"lo ", memoryview(b"world")):
            feed(piece)
        self.assertEqual(digests.md5_hex(), hashlib.md5(b"hello world").hexdigest())
        self.assertEqual(digests.sha256_hex(), hashlib.sha256(b"hello world").hexdigest())
        theirs = BOTOCORE["CRC32C"]()
        theirs.update(b"hello world")
        self.assertEqual(digests.checksum, ("CRC32C", theirs.b64digest()))
        self.assertEqual(digests.size, 11)

    def test_hand_over_md5_only_is_the_bare_update(self):
        digests = BodyDigests()
        feed = digests.hand_over_hashing()
        feed(b"abc")
        digests.update(b"abc")
        self.assertEqual(digests.md5_hex(), hashlib.md5(b"abc").hexdigest())
        self.assertEqual(digests.size, 3)

    def test_digest_sizes_cover_algorithms(self):
        self.assertEqual(set(checksums.DIGEST_SIZES), set(ALGORITHMS))
