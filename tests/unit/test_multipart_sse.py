"""Encrypted multipart uploads, through the S3 resource in process (memory
stores, the in-memory KMS): what the upload keeps, each part's own data key
and IV, the SSE-C key rules of parts and completion, UploadPartCopy, and
reads (Range across unaligned parts, partNumber) that decrypt each piece at
its own offset."""
from __future__ import annotations

import base64
import hashlib
import os
import re

from types import SimpleNamespace

import attrs
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.kms.memory import MemoryKms
from cloudserver.s3.ops import multipart_complete, multipart_sse
from cloudserver.s3.ops.multipart import KEPT_PREFIXES
from tests.unit.test_http import Harness, signed, status

MIB = 1024 * 1024
KEY = bytes(range(32))
OTHER = bytes(range(1, 33))


def customer(key: bytes = KEY, prefix: str = "x-amz-server-side-encryption-customer-"
             ) -> dict[str, str]:
    return {prefix + "algorithm": "AES256", prefix + "key": base64.b64encode(key).decode(),
            prefix + "key-MD5": base64.b64encode(hashlib.md5(key).digest()).decode()}


def body_of(response: bytes) -> bytes:
    return response.partition(b"\r\n\r\n")[2]


def header_of(response: bytes, name: str) -> str | None:
    m = re.search(rb"(?im)^" + re.escape(name.encode()) + rb": *(.*?)\r$", response)
    return m.group(1).decode() if m else None


class FakeCtx:
    def __init__(self, headers):
        self.headers = {k.lower(): [v] for k, v in headers.items()}

    def header(self, name):
        values = self.headers.get(name.lower())
        return values[0] if values else None


class KeptHeadersTests(SynchronousTestCase):
    def test_no_customer_key_kept(self):
        ctx = FakeCtx({**customer(), "x-amz-acl": "private",
                       "x-amz-server-side-encryption-context": "e30="})
        kept = multipart_sse.kept_headers(ctx, KEPT_PREFIXES)
        self.assertEqual(kept, {"x-amz-acl": "private",
                                "x-amz-server-side-encryption-customer-algorithm": "AES256",
                                "x-amz-server-side-encryption-context": "e30="})


class RemoteLocationTests(SynchronousTestCase):
    """A remote assembles one blob of the parts: encrypted, the object is a
    piece per part over that blob (each its own key and IV)."""

    def ctx(self):
        from cloudserver.data.locations import Locations
        locations = Locations.single(None)
        return SimpleNamespace(backend=SimpleNamespace(locations=locations))

    def parts(self):
        return [{"partNumber": n, "size": size,
                 "location": [{"key": f"p{n}", "start": 0, "size": size,
                               "cipher": {"iv": f"iv{n}"}}]}
                for n, size in ((1, 10), (2, 7))]

    def test_encrypted_pieces_share_the_blob(self):
        pieces = multipart_complete.remote_pieces(self.ctx(), "aws", "blob", self.parts(), 17,
                                                  encrypted=True)
        self.assertEqual([(p["key"], p["start"], p["size"], p["blobStart"], p["cipher"]["iv"])
                          for p in pieces],
                         [("blob", 0, 10, 0, "iv1"), ("blob", 10, 7, 10, "iv2")])

    def test_clear_object_is_one_piece(self):
        pieces = multipart_complete.remote_pieces(self.ctx(), "aws", "blob", self.parts(), 17,
                                                  encrypted=False)
        self.assertEqual(pieces, [{"key": "blob", "start": 0, "size": 17}])


class Base(SynchronousTestCase):
    over_http = True

    def setUp(self):
        self.h = Harness()
        backend = self.h.site.resource.backend
        backend.kms = MemoryKms(key_ids=["testkey-1"])
        backend.config = attrs.evolve(backend.config,
                                      sse_customer_key_over_http=self.over_http)
        self.assertEqual(status(self.send("PUT", "/bucket")), 200)

    def send(self, method, path, body=b"", headers=None) -> bytes:
        if self.h.transport.disconnecting:  # an early error closed the last one
            self.h.connect()
        return self.h.send(signed(method, path, body, headers) + body)

    def create(self, headers=None, key="k") -> tuple[str, bytes]:
        out = self.send("POST", f"/bucket/{key}?uploads", headers=headers)
        self.assertEqual(status(out), 200, out[:2000])
        return re.search(rb"<UploadId>(.*?)</UploadId>", out).group(1).decode(), out

    def part(self, uid, number, data, headers=None, key="k") -> bytes:
        return self.send("PUT", f"/bucket/{key}?partNumber={number}&uploadId={uid}", data,
                         headers)

    def complete(self, uid, etags, headers=None, key="k") -> bytes:
        xml = "<CompleteMultipartUpload>" + "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>"
            for n, e in enumerate(etags, 1)) + "</CompleteMultipartUpload>"
        return self.send("POST", f"/bucket/{key}?uploadId={uid}", xml.encode(), headers)

    def upload(self, parts, create_headers=None, part_headers=None, key="k"):
        uid, _ = self.create(create_headers, key)
        etags = []
        for n, data in enumerate(parts, 1):
            out = self.part(uid, n, data, part_headers, key)
            self.assertEqual(status(out), 200, out)
            etags.append(header_of(out, "ETag"))
        out = self.complete(uid, etags, part_headers, key)
        self.assertEqual(status(out), 200, out)
        return uid, etags, out

    def blobs(self) -> list[bytes]:
        return list(self.h.data._blobs.values())

    def assertNoPlaintext(self, parts):
        for blob in self.blobs():
            for data in parts:
                self.assertFalse(data[100:164] in blob, "plaintext stored")

    def unaligned(self):
        return [os.urandom(5 * MIB + 1), os.urandom(5 * MIB + 1), os.urandom(1000)]

    def get(self, headers=None, query="", key="k") -> bytes:
        out = self.send("GET", f"/bucket/{key}{query}", headers=headers)
        return out



class EncryptedMultipartTests(Base):

    def test_sse_s3_parts_ranges_and_part_numbers(self):
        parts = self.unaligned()
        data = b"".join(parts)
        uid, _ = self.create({"x-amz-server-side-encryption": "AES256"})
        out = self.part(uid, 1, parts[0])
        self.assertEqual(header_of(out, "x-amz-server-side-encryption"), "AES256")
        # SSE-S3: the part ETag is the MD5 of the plaintext, as AWS.
        self.assertEqual(header_of(out, "ETag"), f'"{hashlib.md5(parts[0]).hexdigest()}"')
        etags = [header_of(out, "ETag")]
        for n, body in enumerate(parts[1:], 2):
            etags.append(header_of(self.part(uid, n, body), "ETag"))
        out = self.complete(uid, etags)
        self.assertEqual(status(out), 200, out)
        self.assertEqual(header_of(out, "x-amz-server-side-encryption"), "AES256")
        joined = b"".join(hashlib.md5(p).digest() for p in parts)
        self.assertIn(f"{hashlib.md5(joined).hexdigest()}-3".encode(), out)
        self.assertNoPlaintext(parts)
        self.assertEqual(body_of(self.get()), data)
        # From part 1 at 5 MiB - 7 to inside part 3: three pieces, three keys.
        first, last = 5 * MIB - 7, 2 * (5 * MIB + 1) + 500
        out = self.get({"Range": f"bytes={first}-{last}"})
        self.assertEqual(status(out), 206)
        self.assertEqual(body_of(out), data[first:last + 1])
        for n, body in enumerate(parts, 1):
            out = self.get(query=f"?partNumber={n}")
            self.assertEqual(status(out), 206, out[:500])
            self.assertEqual(body_of(out), body)

    def test_every_part_has_its_own_key_and_iv(self):
        parts = self.unaligned()
        self.upload(parts, {"x-amz-server-side-encryption": "aws:kms",
                            "x-amz-server-side-encryption-aws-kms-key-id": "testkey-1"})
        md = self.successResultOf(self.h.metadata.get_object("bucket", "k"))
        self.assertEqual(md["sse"]["algorithm"], "aws:kms")
        self.assertEqual(md["sse"]["keyId"], "testkey-1")
        ciphers = [loc["cipher"] for loc in md["location"]]
        self.assertEqual(len(ciphers), 3)
        self.assertEqual(len({c["iv"] for c in ciphers}), 3)
        self.assertEqual(len({c["dataKey"] for c in ciphers}), 3)
        self.assertEqual({c["keyId"] for c in ciphers}, {"testkey-1"})
        self.assertEqual(body_of(self.get()), b"".join(parts))

    def test_kms_part_etag_is_not_the_md5(self):
        uid, out = self.create({"x-amz-server-side-encryption": "aws:kms",
                                "x-amz-server-side-encryption-aws-kms-key-id": "testkey-1"})
        self.assertEqual(header_of(out, "x-amz-server-side-encryption"), "aws:kms")
        self.assertEqual(header_of(out, "x-amz-server-side-encryption-aws-kms-key-id"),
                         "testkey-1")
        # A part's own SSE headers are ignored (s3-tests sse_kms_multipart_invalid_chunks).
        out = self.part(uid, 1, b"hello", {"x-amz-server-side-encryption": "aws:kms",
                                           "x-amz-server-side-encryption-aws-kms-key-id":
                                           "testkey-not-present"})
        self.assertEqual(status(out), 200, out)
        self.assertNotEqual(header_of(out, "ETag"), f'"{hashlib.md5(b"hello").hexdigest()}"')
        self.assertEqual(header_of(out, "x-amz-server-side-encryption-aws-kms-key-id"),
                         "testkey-1")

    def test_unknown_kms_key_refused_at_create(self):
        out = self.send("POST", "/bucket/k?uploads", headers={
            "x-amz-server-side-encryption": "aws:kms",
            "x-amz-server-side-encryption-aws-kms-key-id": "nope"})
        self.assertEqual(status(out), 400, out)
        self.assertIn(b"<Code>KMS.NotFoundException</Code>", out)
        self.assertNotIn(b"<Upload>", self.send("GET", "/bucket?uploads"))

    def test_bucket_default_applies_to_uploads(self):
        attrs = self.successResultOf(self.h.metadata.get_bucket("bucket"))
        self.successResultOf(self.h.metadata.update_bucket(
            "bucket", {**attrs, "encryption": {"algorithm": "AES256"}}))
        uid, out = self.create()
        self.assertEqual(header_of(out, "x-amz-server-side-encryption"), "AES256")

    def test_sse_c_upload(self):
        parts = self.unaligned()
        uid, out = self.create(customer())
        self.assertEqual(header_of(out, "x-amz-server-side-encryption-customer-key-MD5"),
                         customer()["x-amz-server-side-encryption-customer-key-MD5"])
        upload = self.successResultOf(self.h.metadata.get_upload("bucket", "k", uid))
        text = repr(upload)
        self.assertNotIn(customer()["x-amz-server-side-encryption-customer-key"], text)
        self.assertNotIn(KEY.hex(), text)
        self.assertNotIn("customer-key", " ".join(upload.get("request-headers") or {}))
        missing = self.part(uid, 1, parts[0])
        self.assertEqual(status(missing), 400)
        self.assertIn(b"Subsequent part requests must include", missing)
        wrong = self.part(uid, 1, parts[0], customer(OTHER))
        self.assertEqual(status(wrong), 400)
        self.assertIn(b"did not match the ones used originally", wrong)
        etags = []
        for n, body in enumerate(parts, 1):
            out = self.part(uid, n, body, customer())
            self.assertEqual(status(out), 200, out)
            self.assertEqual(header_of(out, "x-amz-server-side-encryption-customer-algorithm"),
                             "AES256")
            self.assertNotEqual(header_of(out, "ETag"), f'"{hashlib.md5(body).hexdigest()}"')
            etags.append(header_of(out, "ETag"))
        self.assertEqual(status(self.complete(uid, etags, customer(OTHER))), 400)
        out = self.complete(uid, etags)  # parts without checksums: no key needed (AWS)
        self.assertEqual(status(out), 200, out)
        self.assertNoPlaintext(parts)
        self.assertEqual(status(self.get()), 400)
        # Another key: refused (its exact code is sse.apply.check_customer's).
        self.assertIn(status(self.get(customer(OTHER))), (400, 403))
        self.assertEqual(body_of(self.get(customer())), b"".join(parts))
        out = self.get(customer(), "?partNumber=2")
        self.assertEqual(body_of(out), parts[1])

    def test_sse_c_completion_needs_the_key_with_checksums(self):
        uid, _ = self.create(customer())
        out = self.part(uid, 1, b"data", {**customer(), "x-amz-sdk-checksum-algorithm": "CRC32"})
        self.assertEqual(status(out), 200, out)
        etags = [header_of(out, "ETag")]
        out = self.complete(uid, etags)
        self.assertEqual(status(out), 400, out)
        self.assertIn(b"must include the appropriate encryption parameters", out)
        self.assertEqual(status(self.complete(uid, etags, customer(OTHER))), 400)
        out = self.complete(uid, etags, customer())
        self.assertEqual(status(out), 200, out)
        self.assertEqual(body_of(self.get(customer())), b"data")

    def test_upload_part_copy_from_encrypted_and_clear_sources(self):
        secret = os.urandom(6 * MIB)
        self.upload([secret], customer(OTHER), customer(OTHER), key="src-c")
        clear = os.urandom(1000)
        self.assertEqual(status(self.send("PUT", "/bucket/src", clear)), 200)
        uid, _ = self.create({"x-amz-server-side-encryption": "AES256"})
        copy = {"x-amz-copy-source": "/bucket/src-c",
                "x-amz-copy-source-range": "bytes=7-5242886"}
        out = self.part(uid, 1, b"", copy)
        self.assertEqual(status(out), 400, out)  # the source's key is needed
        out = self.part(uid, 1, b"", {**copy, **customer(
            OTHER, "x-amz-copy-source-server-side-encryption-customer-")})
        self.assertEqual(status(out), 200, out)
        self.assertEqual(header_of(out, "x-amz-server-side-encryption"), "AES256")
        first = re.search(rb"<ETag>(.*?)</ETag>", out).group(1).decode()
        self.assertEqual(first.strip('"'), hashlib.md5(secret[7:5242887]).hexdigest())
        out = self.part(uid, 2, b"", {"x-amz-copy-source": "/bucket/src"})
        self.assertEqual(status(out), 200, out)
        second = re.search(rb"<ETag>(.*?)</ETag>", out).group(1).decode()
        self.assertEqual(status(self.complete(uid, [first, second])), 200)
        self.assertEqual(body_of(self.get()), secret[7:5242887] + clear)
        md = self.successResultOf(self.h.metadata.get_object("bucket", "k"))
        self.assertEqual([("cipher" in loc) for loc in md["location"]], [True, True])

    def test_customer_key_on_a_clear_upload_part(self):
        uid, _ = self.create()
        out = self.part(uid, 1, b"data", customer())
        self.assertEqual(status(out), 400)


class PlainHttpTests(Base):
    over_http = False

    def test_sse_c_over_http_refused(self):
        out = self.send("POST", "/bucket/k?uploads", headers=customer())
        self.assertEqual(status(out), 400, out)
        self.assertIn(b"must be made over a secure connection", out)
        self.assertNotIn(b"<Upload>", self.send("GET", "/bucket?uploads"))

