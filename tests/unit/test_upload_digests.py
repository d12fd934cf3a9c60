# -*- test-case-name: tests.unit.test_upload_digests -*-
"""PutObject and UploadPart through the S3 site with the file store, whose
writer computes the digests in its I/O thread: ETags, Content-MD5,
x-amz-content-sha256, x-amz-checksum-* headers and aws-chunked trailers are
checked exactly as when the reactor hashes (the memory store), and a
mismatch leaves no file and no object."""
from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import zlib

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.data import file_writer
from cloudserver.data.file import FileDataStore
from cloudserver.data.memory import MemoryDataStore
from tests.unit.test_auth_helpers import frozen_botocore_clock
from tests.unit.test_data_file import files_under, inline
from tests.unit.test_data_mixin import clock_cooperator
from tests.unit.test_http import CREDS, HOST, Harness, signed, status

BODY = os.urandom(300_001)
#: The body arrives in pieces of this size, so that the last flush happens
#: only in finish() (the digests are incomplete before it).
PIECE = 30_000


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def crc32_b64(data: bytes) -> str:
    return b64(zlib.crc32(data).to_bytes(4, "big"))


def trailer_put(path: str, payload: bytes, checksum: bool = True) -> bytes:
    """An aws-chunked PUT with an unsigned payload and a CRC32 trailer, as
    botocore sends it (its AwsChunkedWrapper frames the body)."""
    body = AwsChunkedWrapper(io.BytesIO(payload), checksum_cls=Crc32Checksum if checksum else None,
                             checksum_name="x-amz-checksum-crc32", chunk_size=64 * 1024).read()
    headers = {"Content-Encoding": "aws-chunked", "x-amz-trailer": "x-amz-checksum-crc32",
               "x-amz-decoded-content-length": str(len(payload))}
    req = AWSRequest(method="PUT", url="http://" + HOST + path, data=body, headers=headers)
    req.context["checksum"] = {"request_algorithm": {"in": "trailer",
                                                     "name": "x-amz-checksum-crc32"}}
    with frozen_botocore_clock():
        S3SigV4Auth(CREDS, "s3", "us-east-1").add_auth(req)
    lines = [f"PUT {path} HTTP/1.1", f"Host: {HOST}"]
    lines += [f"{k}: {v}" for k, v in req.headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class UploadDigestsMixin:
    """Run against both stores: the answers must be the same."""

    def make_data(self):
        raise NotImplementedError

    def setUp(self):
        self.h = Harness(data=self.make_data())
        out = self.h.send(signed("PUT", "/bucket"))
        self.assertEqual(status(out), 200, out)

    def send(self, request: bytes) -> bytes:
        for i in range(0, len(request), PIECE):
            self.h.proto.dataReceived(request[i:i + PIECE])
        out = self.h.transport.value()
        self.h.transport.clear()
        return out

    def put(self, key: str, body: bytes, headers: dict | None = None,
            sent: bytes | None = None) -> bytes:
        head = signed("PUT", "/bucket/" + key, body, headers)
        return self.send(head + (body if sent is None else sent))

    def assertStored(self, key: str, present: bool) -> None:
        out = self.h.send(signed("HEAD", "/bucket/" + key))
        self.assertEqual(status(out), 200 if present else 404, out)

    def test_etag_is_md5(self):
        out = self.put("k", BODY)
        self.assertEqual(status(out), 200, out)
        self.assertIn(f'ETag: "{hashlib.md5(BODY).hexdigest()}"'.encode(), out)
        self.assertStored("k", True)
        self.assertStoredBytes(BODY)

    def test_content_md5(self):
        good = {"Content-MD5": b64(hashlib.md5(BODY).digest())}
        self.assertEqual(status(self.put("good", BODY, good)), 200)
        bad = {"Content-MD5": b64(hashlib.md5(b"other").digest())}
        out = self.put("bad", BODY, bad)
        self.assertIn(b"<Code>BadDigest</Code>", out)
        self.assertIn(f"<CalculatedDigest>{good['Content-MD5']}</CalculatedDigest>".encode(),
                      out)
        self.assertStored("bad", False)
        self.assertStoredBytes(BODY)  # only "good"

    def test_payload_sha256_mismatch(self):
        out = self.put("k", BODY, sent=BODY[:-1] + b"!")
        self.assertIn(b"<Code>XAmzContentSHA256Mismatch</Code>", out)
        self.assertStored("k", False)
        self.assertStoredBytes(None)

    def test_checksum_headers(self):
        sha = b64(hashlib.sha256(BODY).digest())
        out = self.put("k", BODY, {"x-amz-checksum-sha256": sha})
        self.assertEqual(status(out), 200, out)
        self.assertIn(f"x-amz-checksum-sha256: {sha}".lower().encode(), out.lower())
        out = self.put("bad", BODY, {"x-amz-checksum-crc32": crc32_b64(b"nope")})
        self.assertIn(b"<Code>BadDigest</Code>", out)
        self.assertStored("bad", False)
        self.assertStoredBytes(BODY)

    def test_trailer_checksum(self):
        out = self.send(trailer_put("/bucket/k", BODY))
        self.assertEqual(status(out), 200, out)
        self.assertIn(f"x-amz-checksum-crc32: {crc32_b64(BODY)}".lower().encode(), out.lower())
        self.assertIn(f'ETag: "{hashlib.md5(BODY).hexdigest()}"'.encode(), out)
        self.assertStoredBytes(BODY)

    def test_trailer_checksum_mismatch(self):
        request = trailer_put("/bucket/k", BODY)
        good = crc32_b64(BODY).encode()
        self.assertIn(good, request)
        out = self.send(request.replace(good, crc32_b64(b"nope").encode()))
        self.assertIn(b"<Code>BadDigest</Code>", out)
        self.assertStored("k", False)
        self.assertStoredBytes(None)

    def test_upload_part_etag_and_bad_digest(self):
        out = self.h.send(signed("POST", "/bucket/mp?uploads"))
        upload_id = re.search(rb"<UploadId>([^<]+)</UploadId>", out).group(1).decode()
        out = self.put(f"mp?partNumber=1&uploadId={upload_id}", BODY)
        self.assertEqual(status(out), 200, out)
        self.assertIn(f'ETag: "{hashlib.md5(BODY).hexdigest()}"'.encode(), out)
        bad = {"Content-MD5": b64(hashlib.md5(b"other").digest())}
        out = self.put(f"mp?partNumber=2&uploadId={upload_id}", BODY, bad)
        self.assertIn(b"<Code>BadDigest</Code>", out)
        self.assertStoredBytes(BODY)  # part 1 only


class FileStoreTests(UploadDigestsMixin, SynchronousTestCase):
    def make_data(self):
        self.root = self.mktemp()
        # Small flushes, half of them hashed beside the write.
        self.patch(file_writer, "SPLIT_DIGEST_SIZE", 100_000)
        return FileDataStore(self.root, reactor=None, defer_to_thread=inline,
                             cooperator=clock_cooperator()[1], sync=False,
                             flush_size=64 * 1024)

    def assertStoredBytes(self, body: bytes | None) -> None:
        files = files_under(self.root)
        if body is None:
            self.assertEqual(files, [])
            return
        self.assertEqual(len(files), 1, files)
        with open(files[0], "rb") as f:
            self.assertEqual(f.read(), body)

    def test_hashing_left_the_reactor(self):
        """The writer is handed the digests: the reactor side only counts."""
        seen = []
        real = file_writer.FileDataWriter.digest_with
        self.patch(file_writer.FileDataWriter, "digest_with",
                   lambda writer, update, *stages: seen.append(update)
                   or real(writer, update, *stages))
        self.assertEqual(status(self.put("k", BODY)), 200)
        self.assertEqual(len(seen), 1)


class MemoryStoreTests(UploadDigestsMixin, SynchronousTestCase):
    def make_data(self):
        self.store = MemoryDataStore()
        return self.store

    def assertStoredBytes(self, body: bytes | None) -> None:
        blobs = list(self.store._blobs.values())
        self.assertEqual(blobs, [] if body is None else [body])
