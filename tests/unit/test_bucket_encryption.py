# -*- test-case-name: tests.unit.test_bucket_encryption -*-
"""Bucket default encryption: the ServerSideEncryptionConfiguration codec,
Get/Put/DeleteBucketEncryption, and CloudServer's bucket-level encryption
(x-amz-scal-server-side-encryption on CreateBucket, its master key retired
on DeleteBucket), over the memory metadata service and the memory KMS."""
from __future__ import annotations

import base64
import hashlib

from twisted.internet import defer
from twisted.internet.task import Clock

from cloudserver.config import load_config
from cloudserver.kms.memory import MemoryKms
from cloudserver.metadata.kv import MemoryKV
from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.metadata.service import MetadataService
from cloudserver.s3.context import Backend
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops import NOT_IMPLEMENTED
from cloudserver.s3.sse import apply
from cloudserver.s3.sse.request import SseRequest
from cloudserver.s3.xml.encryption import (
    encryption_configuration_xml, parse_encryption_configuration)
from tests.unit.test_acl import LISA
from tests.unit.test_acl_ops import Harness

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


def conf(algorithm: str | None = "AES256", key_id: str | None = None,
         bucket_key: str | None = None, rules: int = 1, extra: str = "") -> bytes:
    inner = ""
    if algorithm is not None:
        inner += f"<SSEAlgorithm>{algorithm}</SSEAlgorithm>"
    if key_id is not None:
        inner += f"<KMSMasterKeyID>{key_id}</KMSMasterKeyID>"
    rule = f"<ApplyServerSideEncryptionByDefault>{inner}</ApplyServerSideEncryptionByDefault>"
    if bucket_key is not None:
        rule += f"<BucketKeyEnabled>{bucket_key}</BucketKeyEnabled>"
    body = "".join(f"<Rule>{rule}{extra}</Rule>" for _ in range(rules))
    return f"<ServerSideEncryptionConfiguration {NS}>{body}</ServerSideEncryptionConfiguration>"\
        .encode()


def md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


class CodecTests(Harness):
    def test_accepted(self):
        for body, model in [
                (conf(), {"algorithm": "AES256"}),
                (conf("AES256", bucket_key="true"),
                 {"algorithm": "AES256", "bucketKeyEnabled": True}),
                (conf("aws:kms"), {"algorithm": "aws:kms"}),
                (conf("aws:kms", "testkey-1", "false"),
                 {"algorithm": "aws:kms", "keyId": "testkey-1"})]:
            with self.subTest(body=body):
                self.assertEqual(parse_encryption_configuration(body), model)
                self.assertEqual(parse_encryption_configuration(
                    encryption_configuration_xml(model)), model)

    def test_refused(self):
        for body, code in [
                (b"", "MalformedXML"),
                (conf(rules=0), "MalformedXML"),
                (conf(rules=2), "MalformedXML"),
                (conf(None), "MalformedXML"),
                (conf("AES128"), "MalformedXML"),
                (conf("AES256", bucket_key="yes"), "MalformedXML"),
                (conf(extra="<Other/>"), "MalformedXML"),
                (conf("AES256", "testkey-1"), "InvalidArgument"),
                (conf("aws:kms:dsse"), "NotImplemented"),
                (f"<Other {NS}/>".encode(), "MalformedXML")]:
            with self.subTest(body=body):
                error = self.assertRaises(S3Error, parse_encryption_configuration, body)
                self.assertEqual(error.code, code)
        error = self.assertRaises(S3Error, parse_encryption_configuration,
                                  conf("AES256", "testkey-1"))
        self.assertEqual(error.message, "a KMSMasterKeyID is not applicable if the default "
                         "sse algorithm is not aws:kms or aws:kms:dsse")

    def test_get_always_tells_bucket_key_enabled(self):
        self.assertIn(b"<BucketKeyEnabled>false</BucketKeyEnabled>",
                      encryption_configuration_xml({"algorithm": "AES256"}))


class OperationTests(Harness):
    def setUp(self):
        super().setUp()
        self.backend.kms = MemoryKms(key_ids=("testkey-1",))

    def put(self, body: bytes, **headers):
        headers.setdefault("content-md5", md5(body))
        return self.ctx("PUT", "/b", query={"encryption": ""}, body=body, headers=headers)

    def get(self):
        return self.ctx("GET", "/b", query={"encryption": ""})

    def stored(self):
        return self.successResultOf(self.backend.metadata.get_bucket("b")).get(Bkt.ENCRYPTION)

    def test_no_longer_not_implemented(self):
        for name in ("GetBucketEncryption", "PutBucketEncryption", "DeleteBucketEncryption"):
            self.assertNotIn(name, NOT_IMPLEMENTED)

    def test_none_by_default(self):
        error = self.call_fails(self.get())
        self.assertEqual((error.code, error.status, error.message),
                         ("ServerSideEncryptionConfigurationNotFoundError", 404,
                          "The server side encryption configuration was not found"))

    def test_put_get_delete(self):
        self.assertEqual(self.call(self.put(conf("aws:kms", "testkey-1", "true"))).status, 200)
        self.assertEqual(self.stored(), {"algorithm": "aws:kms", "keyId": "testkey-1",
                                         "bucketKeyEnabled": True})
        body = self.call(self.get()).body
        self.assertIn(b"<SSEAlgorithm>aws:kms</SSEAlgorithm>", body)
        self.assertIn(b"<KMSMasterKeyID>testkey-1</KMSMasterKeyID>", body)
        self.assertIn(b"<BucketKeyEnabled>true</BucketKeyEnabled>", body)
        self.assertEqual(self.call(self.ctx("DELETE", "/b", query={"encryption": ""})).status,
                         204)
        self.assertIsNone(self.stored())
        self.assertEqual(self.call_fails(self.get()).status, 404)

    def test_resolve_reads_the_stored_shape(self):
        self.call(self.put(conf("aws:kms", "testkey-1")))
        attrs = self.successResultOf(self.backend.metadata.get_bucket("b"))
        spec = apply.resolve(self.backend.kms, SseRequest(), attrs, "b", "k")
        self.assertEqual((spec.algorithm, spec.key_id), ("aws:kms", "testkey-1"))

    def test_unknown_kms_key_refused_and_nothing_stored(self):
        error = self.call_fails(self.put(conf("aws:kms", "no-such-key")))
        self.assertEqual((error.code, error.status), ("KMS.NotFoundException", 400))
        self.assertIsNone(self.stored())

    def test_bad_body_changes_nothing(self):
        self.call(self.put(conf()))
        for body in (conf("AES256", "testkey-1"), conf(rules=2)):
            self.call_fails(self.put(body))
        self.assertEqual(self.stored(), {"algorithm": "AES256"})

    def test_content_md5_checked(self):
        error = self.call_fails(self.put(conf(), **{"content-md5": md5(b"other")}))
        self.assertEqual(error.code, "BadDigest")


class _FailingKms(MemoryKms):
    def destroy_bucket_key(self, key_id):
        return defer.fail(RuntimeError("kms down"))


class BucketLevelEncryptionTests(Harness):
    def setUp(self):
        super().setUp()
        config = load_config({"S3BACKEND": "mem"})
        self.kms = MemoryKms(key_ids=("testkey-1",))
        self.backend = Backend(config=config, metadata=MetadataService(MemoryKV()), data=None,
                               clock=Clock(), accounts=self.accounts, kms=self.kms)

    def create(self, name: str, **headers):
        return self.ctx("PUT", f"/{name}", headers=headers)

    def attrs(self, name: str) -> dict:
        return self.successResultOf(self.backend.metadata.get_bucket(name))

    def has_key(self, key_id: str) -> bool:
        return self.successResultOf(self.kms.has_key(key_id))

    def test_aes256_creates_a_bucket_key(self):
        self.call(self.create("enc", **{"x-amz-scal-server-side-encryption": "AES256"}))
        key_id = self.attrs("enc")[Bkt.BUCKET_KEY_ID]
        self.assertTrue(self.has_key(key_id))
        self.assertNotIn(Bkt.ENCRYPTION, self.attrs("enc"))
        spec = apply.resolve(self.kms, SseRequest(), self.attrs("enc"), "enc", "k")
        self.assertEqual((spec.algorithm, spec.key_id), ("AES256", key_id))
        body = self.call(self.ctx("GET", "/enc", query={"encryption": ""})).body
        self.assertIn(b"<SSEAlgorithm>AES256</SSEAlgorithm>", body)
        self.call(self.ctx("DELETE", "/enc", query={"encryption": ""}))
        self.assertEqual(self.call(self.ctx("GET", "/enc", query={"encryption": ""})).status,
                         200)
        self.assertEqual(self.call(self.ctx("DELETE", "/enc")).status, 204)
        self.assertFalse(self.has_key(key_id))

    def test_kms_with_existing_key(self):
        self.call(self.create("enc", **{"x-amz-scal-server-side-encryption": "aws:kms",
                                        "x-amz-scal-server-side-encryption-aws-kms-key-id":
                                        "testkey-1"}))
        attrs = self.attrs("enc")
        self.assertEqual(attrs[Bkt.ENCRYPTION], {"algorithm": "aws:kms", "keyId": "testkey-1"})
        self.assertNotIn(Bkt.BUCKET_KEY_ID, attrs)
        self.call(self.ctx("DELETE", "/enc"))
        self.assertTrue(self.has_key("testkey-1"))

    def test_kms_without_key_creates_one(self):
        self.call(self.create("enc", **{"x-amz-scal-server-side-encryption": "aws:kms"}))
        attrs = self.attrs("enc")
        self.assertEqual(attrs[Bkt.ENCRYPTION]["keyId"], attrs[Bkt.BUCKET_KEY_ID])

    def test_refused_without_a_bucket_or_key(self):
        for headers, code in [
                ({"x-amz-scal-server-side-encryption": "AES128"}, "InvalidArgument"),
                ({"x-amz-scal-server-side-encryption": ""}, "InvalidArgument"),
                ({"x-amz-scal-server-side-encryption-aws-kms-key-id": "testkey-1"},
                 "InvalidArgument"),
                ({"x-amz-scal-server-side-encryption": "AES256",
                  "x-amz-scal-server-side-encryption-aws-kms-key-id": "testkey-1"},
                 "InvalidArgument"),
                ({"x-amz-scal-server-side-encryption": "aws:kms",
                  "x-amz-scal-server-side-encryption-aws-kms-key-id": "nope"},
                 "KMS.NotFoundException")]:
            with self.subTest(headers=headers):
                error = self.call_fails(self.create("refused", **headers))
                self.assertEqual((error.code, error.status), (code, 400))
                self.failureResultOf(self.backend.metadata.get_bucket("refused"))
        self.assertEqual(len(self.kms._keys), 2)  # the default and testkey-1 only

    def test_key_of_a_bucket_not_created_is_retired(self):
        """Another's bucket (an error), or the owner's on a legacy location
        (200): neither keeps the master key made for the request."""
        self.call(self.create("taken"))
        self.call(self.create("taken", **{"x-amz-scal-server-side-encryption": "AES256"}))
        self.assertNotIn(Bkt.BUCKET_KEY_ID, self.attrs("taken"))
        error = self.call_fails(self.ctx("PUT", "/taken", who=LISA, headers={
            "x-amz-scal-server-side-encryption": "AES256"}))
        self.assertEqual(error.code, "BucketAlreadyExists")
        self.assertEqual(len(self.kms._keys), 2)

    def test_kms_failure_on_delete_still_deletes(self):
        self.kms = _FailingKms()
        self.backend.kms = self.kms
        self.call(self.create("enc", **{"x-amz-scal-server-side-encryption": "AES256"}))
        self.assertEqual(self.call(self.ctx("DELETE", "/enc")).status, 204)
        self.failureResultOf(self.backend.metadata.get_bucket("enc"))
        self.flushLoggedErrors()
