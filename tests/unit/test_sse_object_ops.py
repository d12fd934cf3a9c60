# -*- test-case-name: tests.unit.test_sse_object_ops -*-
"""Server-side encryption on the single-object operations, through the S3
site over a fake transport with the memory data store and KMS: what is
stored is ciphertext (inline too), GET/HEAD/Copy/GetObjectAttributes check
the SSE-C key and echo the encryption, a remote write never carries the
plaintext Content-MD5."""
from __future__ import annotations

import base64
import hashlib

import attrs
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.data.write_context import WriteContext
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.metadata.schema import PieceRecord as P
from cloudserver.s3.model.placement import Target
from cloudserver.s3.ops.object_write import encrypted_target
from cloudserver.s3.sse.apply import SseSpec
from tests.unit.test_http import BucketCase, status
from tests.unit.test_ops_copy import header

BODY = b"plaintext that must never be stored " * 100  # 3600 bytes: inline
KEY = bytes(range(32))
SSEC = {"x-amz-server-side-encryption-customer-algorithm": "AES256",
        "x-amz-server-side-encryption-customer-key": base64.b64encode(KEY).decode(),
        "x-amz-server-side-encryption-customer-key-MD5":
            base64.b64encode(hashlib.md5(KEY).digest()).decode()}
OTHER = bytes(range(1, 33))
SSEC_OTHER = {"x-amz-server-side-encryption-customer-algorithm": "AES256",
              "x-amz-server-side-encryption-customer-key": base64.b64encode(OTHER).decode(),
              "x-amz-server-side-encryption-customer-key-MD5":
                  base64.b64encode(hashlib.md5(OTHER).digest()).decode()}
S3 = {"x-amz-server-side-encryption": "AES256"}
KMS = {"x-amz-server-side-encryption": "aws:kms"}
COPY_SSEC = {k.replace("x-amz-", "x-amz-copy-source-"): v for k, v in SSEC.items()}


class SseObjectCase(BucketCase, SynchronousTestCase):
    def setUp(self):
        super().setUp()
        backend = self.h.site.resource.backend
        backend.config = attrs.evolve(backend.config, sse_customer_key_over_http=True)

    def record(self, key: str) -> dict:
        return self.successResultOf(self.h.metadata.get_object("bucket", key))


class PutGetTests(SseObjectCase):
    def test_each_mode_stores_ciphertext_and_reads_back(self):
        for name, headers in (("s3", S3), ("kms", KMS), ("c", SSEC)):
            out = self.send("PUT", f"/bucket/{name}", BODY, headers)
            self.assertEqual(status(out), 200, out)
            md = self.record(name)
            self.assertTrue(md[Obj.SSE])
            self.assertTrue(all(P.CIPHER in loc for loc in md[Obj.LOCATION]))
            stored = b"".join(base64.b64decode(loc["data"]) if "data" in loc
                              else self.h.data._blobs[loc["key"]] for loc in md[Obj.LOCATION])
            self.assertEqual(len(stored), len(BODY))
            self.assertNotIn(b"never be stored", stored)
            read = SSEC if name == "c" else {}
            out = self.send("GET", f"/bucket/{name}", headers=read)
            self.assertEqual(status(out), 200, out)
            self.assertTrue(out.endswith(BODY))
            out = self.send("GET", f"/bucket/{name}", headers={**read, "Range": "bytes=17-40"})
            self.assertEqual(status(out), 206, out)
            self.assertTrue(out.endswith(BODY[17:41]), out[-60:])

    def test_echo_and_etags(self):
        out = self.send("PUT", "/bucket/s3", BODY, S3)
        self.assertEqual(header(out, "x-amz-server-side-encryption"), "AES256")
        self.assertEqual(header(out, "ETag"), f'"{hashlib.md5(BODY).hexdigest()}"')
        out = self.send("PUT", "/bucket/kms", BODY, KMS)
        self.assertEqual(header(out, "x-amz-server-side-encryption"), "aws:kms")
        self.assertIsNotNone(header(out, "x-amz-server-side-encryption-aws-kms-key-id"))
        self.assertNotEqual(header(out, "ETag"), f'"{hashlib.md5(BODY).hexdigest()}"')
        for method in ("GET", "HEAD"):
            out = self.send(method, "/bucket/kms")
            self.assertEqual(header(out, "x-amz-server-side-encryption"), "aws:kms")
        self.send("PUT", "/bucket/c", b"x", SSEC)
        out = self.send("HEAD", "/bucket/c", headers=SSEC)
        self.assertEqual(header(out, "x-amz-server-side-encryption-customer-algorithm"),
                         "AES256")

    def test_ssec_key_checks_on_get_head_and_attributes(self):
        self.send("PUT", "/bucket/c", BODY, SSEC)
        for method, wrong in (("GET", 400), ("HEAD", 403)):
            self.assertEqual(status(self.send(method, "/bucket/c")), 400)
            self.assertEqual(status(self.send(method, "/bucket/c", headers=SSEC_OTHER)), wrong)
        attrs_headers = {"x-amz-object-attributes": "ObjectSize"}
        self.assertEqual(status(self.send("GET", "/bucket/c?attributes",
                                          headers=attrs_headers)), 400)
        out = self.send("GET", "/bucket/c?attributes", headers={**attrs_headers, **SSEC})
        self.assertEqual(status(out), 200, out)

    def test_kms_headers_refused_on_get(self):
        self.send("PUT", "/bucket/s3", BODY, S3)
        out = self.send("GET", "/bucket/s3", headers=S3)
        self.assertEqual(status(out), 400, out)
        self.assertIn(b"InvalidArgument", out)

    def test_ssec_refused_over_http_by_default(self):
        backend = self.h.site.resource.backend
        backend.config = attrs.evolve(backend.config, sse_customer_key_over_http=False)
        out = self.send("PUT", "/bucket/c", BODY, SSEC)
        self.assertEqual(status(out), 400, out)
        self.assertEqual(status(self.send("HEAD", "/bucket/c")), 404)


class CopyTests(SseObjectCase):
    def test_copy_decrypts_source_and_encrypts_target(self):
        self.send("PUT", "/bucket/src", BODY, SSEC)
        out = self.send("PUT", "/bucket/dst", headers={"x-amz-copy-source": "/bucket/src",
                                                      **COPY_SSEC, **KMS})
        self.assertEqual(status(out), 200, out)
        self.assertEqual(header(out, "x-amz-server-side-encryption"), "aws:kms")
        src, dst = self.record("src"), self.record("dst")
        self.assertNotEqual(src[Obj.LOCATION][0][P.CIPHER]["iv"],
                            dst[Obj.LOCATION][0][P.CIPHER]["iv"])
        self.assertTrue(self.send("GET", "/bucket/dst").endswith(BODY))
        # Without the source's key: refused.
        out = self.send("PUT", "/bucket/dst2", headers={"x-amz-copy-source": "/bucket/src"})
        self.assertEqual(status(out), 400, out)

    def test_copy_onto_itself_changing_only_encryption(self):
        self.send("PUT", "/bucket/o", BODY)
        self.assertEqual(status(self.send("PUT", "/bucket/o", headers={
            "x-amz-copy-source": "/bucket/o"})), 400)
        for headers in (KMS, SSEC):
            out = self.send("PUT", "/bucket/o", headers={"x-amz-copy-source": "/bucket/o",
                                                        **headers})
            self.assertEqual(status(out), 200, out)
        self.assertIn("customerKeyHmac", self.record("o")[Obj.SSE])
        self.assertTrue(self.send("GET", "/bucket/o", headers=SSEC).endswith(BODY))

    def test_metadata_only_copy_keeps_the_pieces(self):
        self.send("PUT", "/bucket/o", BODY, KMS)
        before = self.record("o")[Obj.LOCATION]
        out = self.send("PUT", "/bucket/o", headers={
            "x-amz-copy-source": "/bucket/o", "x-amz-metadata-directive": "REPLACE",
            "x-amz-meta-a": "b"})
        self.assertEqual(status(out), 200, out)
        self.assertEqual(header(out, "x-amz-server-side-encryption"), "aws:kms")
        self.assertEqual(self.record("o")[Obj.LOCATION], before)
        self.assertTrue(self.send("GET", "/bucket/o").endswith(BODY))


class PostObjectTests(SseObjectCase):
    def test_form_fields_encrypt_the_file(self):
        boundary = "sse-boundary"
        fields = {"key": "posted", "x-amz-server-side-encryption": "aws:kms"}
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'
                 for n, v in fields.items()]
        body = ("".join(parts) + f'--{boundary}\r\nContent-Disposition: form-data; '
                'name="file"; filename="f"\r\n\r\n').encode() + BODY + \
            f"\r\n--{boundary}--\r\n".encode()
        out = self.send("POST", "/bucket", body,
                        {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        self.assertIn(status(out), (200, 204), out)
        self.assertEqual(header(out, "x-amz-server-side-encryption"), "aws:kms")
        md = self.record("posted")
        self.assertEqual(md[Obj.SSE]["algorithm"], "aws:kms")
        self.assertNotIn(b"never be stored", repr(md).encode())
        self.assertTrue(self.send("GET", "/bucket/posted").endswith(BODY))

    def test_bad_field_stores_nothing(self):
        boundary = "b"
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="key"\r\n\r\nk\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; '
                'name="X-Amz-Server-Side-Encryption"\r\n\r\nAES512\r\n'
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                'filename="f"\r\n\r\n').encode() + b"data" + f"\r\n--{boundary}--\r\n".encode()
        out = self.send("POST", "/bucket", body,
                        {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        self.assertEqual(status(out), 400, out)
        self.assertEqual(status(self.send("HEAD", "/bucket/k")), 404)


class RemoteTargetTests(SynchronousTestCase):
    def test_encrypted_write_drops_the_plaintext_md5(self):
        context = WriteContext(bucket="b", key="k", size=3, content_md5="abc=")
        target = Target("aws", context, remote=True)
        self.assertIs(encrypted_target(target, None), target)
        spec = SseSpec(algorithm="AES256", key_id="k")
        self.assertIsNone(encrypted_target(target, spec).context.content_md5)
        local = Target(None)
        self.assertIs(encrypted_target(local, spec), local)
