"""
The aws KMS against moto_server's KMS (the emulator the aws_s3 location
tests start; it serves KMS on the same port): the backend itself over the
real reactor, and a server started with ``S3KMS=aws`` pointed at it (its
deep healthcheck, its log when the KMS is down).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import boto3
from treq.client import HTTPClient
from twisted.internet import defer, reactor
from twisted.trial import unittest
from twisted.web.client import Agent, HTTPConnectionPool

from cloudserver.kms.aws import AwsKms
from cloudserver.kms.errors import KmsDecryptFailed, KmsUnavailable, NoSuchKmsKey
from tests.functional import emulators
from tests.functional.s3case import S3TestCase


def moto_or_skip(case) -> emulators.MotoServer:
    try:
        return emulators.shared("moto")
    except emulators.EmulatorUnavailable as error:
        raise case.skipTest(f"moto_server unavailable: {error}") from None


def kms_client(moto: emulators.MotoServer):
    return boto3.client("kms", endpoint_url=f"http://{moto.endpoint}",
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        region_name="us-east-1")


class AwsKmsBackendTests(unittest.TestCase):
    """IKms over HTTP to moto_server, on the real reactor."""

    timeout = 60

    def setUp(self):
        self.moto = moto_or_skip(self)
        self.name = f"testkey-{uuid.uuid4().hex[:8]}"
        self.kms = self.make(f"http://{self.moto.endpoint}")

    def make(self, endpoint: str, timeout: float = 10.0) -> AwsKms:
        pool = HTTPConnectionPool(reactor, persistent=False)
        self.addCleanup(pool.closeCachedConnections)
        return AwsKms(endpoint=endpoint, access_key="testing", secret_key="testing",
                      http=HTTPClient(Agent(reactor, pool=pool)), clock=reactor,
                      key_ids=[self.name], default_key_id=f"{self.name}-default",
                      timeout=timeout)

    @defer.inlineCallbacks
    def test_start_creates_configured_aliases(self):
        yield self.kms.start()
        aliases = {a["AliasName"]: a.get("TargetKeyId")
                   for a in kms_client(self.moto).list_aliases()["Aliases"]}
        self.assertIn(f"alias/{self.name}", aliases)
        self.assertIn(f"alias/{self.name}-default", aliases)
        yield self.kms.start()  # a second start finds them
        again = {a["AliasName"]: a.get("TargetKeyId")
                 for a in kms_client(self.moto).list_aliases()["Aliases"]}
        self.assertEqual(again[f"alias/{self.name}"], aliases[f"alias/{self.name}"])
        self.assertTrue((yield self.kms.has_key(self.name)))

    @defer.inlineCallbacks
    def test_data_key_round_trip(self):
        yield self.kms.start()
        context = {"aws:s3:arn": "arn:aws:s3:::b/k"}
        plain, wrapped = yield self.kms.generate_data_key(self.name, context)
        self.assertEqual(len(plain), 32)
        self.assertNotIn(plain, wrapped)
        got = yield self.kms.decrypt_data_key(self.name, wrapped, context)
        self.assertEqual(got, plain)
        yield self.assertFailure(self.kms.decrypt_data_key(self.name, wrapped,
                                                           {"aws:s3:arn": "other"}),
                                 KmsDecryptFailed)
        # AWS says InvalidCiphertextException; moto says AccessDeniedException
        yield self.assertFailure(self.kms.decrypt_data_key(self.name, b"garbage" * 20,
                                                           context),
                                 KmsDecryptFailed, KmsUnavailable)

    @defer.inlineCallbacks
    def test_unknown_key(self):
        self.assertFalse((yield self.kms.has_key("never-made")))
        yield self.assertFailure(self.kms.generate_data_key("never-made", None), NoSuchKmsKey)

    @defer.inlineCallbacks
    def test_bucket_key_create_and_destroy(self):
        key_id = yield self.kms.create_bucket_key("bucket-1")
        self.assertTrue((yield self.kms.has_key(key_id)))
        plain, wrapped = yield self.kms.generate_data_key(key_id, None)
        self.assertEqual((yield self.kms.decrypt_data_key(key_id, wrapped, None)), plain)
        yield self.kms.destroy_bucket_key(key_id)
        self.assertFalse((yield self.kms.has_key(key_id)))
        state = kms_client(self.moto).describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"]
        self.assertEqual(state, "PendingDeletion")

    @defer.inlineCallbacks
    def test_health(self):
        self.assertIsNone((yield self.kms.health()))

    @defer.inlineCallbacks
    def test_kms_down(self):
        endpoint = f"http://127.0.0.1:{emulators.free_port()}"
        down = self.make(endpoint, timeout=5.0)
        failure = yield self.assertFailure(down.health(), KmsUnavailable)
        self.assertIn(endpoint, str(failure))
        yield self.assertFailure(down.generate_data_key(self.name, None), KmsUnavailable)
        yield down.start()  # logs, does not fail


def deep_health(server) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(server.endpoint + "/_/healthcheck/deep") as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


class AwsKmsServerTests(S3TestCase):
    """A server whose KMS is moto_server's (S3KMS=aws, config.json kmsAWS)."""

    def setUp(self) -> None:
        cls = type(self)
        if not cls.serverEnv:
            moto = moto_or_skip(self)
            cls.serverEnv = {"S3KMS": "aws"}
            cls.serverConfig = {"kmsAWS": {"providerName": "moto",
                                           "endpoint": f"http://{moto.endpoint}",
                                           "ak": "testing", "sk": "testing"}}
        super().setUp()

    def test_configured_keys_exist_and_health(self):
        status, results = deep_health(self.server)
        self.assertEqual((status, results["awsKms"]), (200, {"code": 200, "message": "OK"}))
        aliases = {a["AliasName"] for a in kms_client(emulators.shared("moto"))
                   .list_aliases()["Aliases"]}
        self.assertTrue({"alias/testkey-1", "alias/testkey-2"} <= aliases)
        with open(self.server.log_path, errors="replace") as log:
            self.assertIn("KMS: aws (http://127.0.0.1:", log.read())

    def test_sse_kms_objects_through_moto(self):
        """SSE-KMS and SSE-S3 objects, single and multipart, whose data keys
        moto's KMS made and opens again on every read."""
        bucket = self.make_bucket()
        body = bytes(range(256)) * 4096  # 1 MiB
        put = self.s3.put_object(Bucket=bucket, Key="k", Body=body,
                                 ServerSideEncryption="aws:kms", SSEKMSKeyId="testkey-1")
        self.assertEqual(put["ServerSideEncryption"], "aws:kms")
        self.assertEqual(put["SSEKMSKeyId"], "testkey-1")
        got = self.s3.get_object(Bucket=bucket, Key="k", Range="bytes=1000-70000")
        self.assertEqual(got["Body"].read(), body[1000:70001])
        self.assertEqual(got["SSEKMSKeyId"], "testkey-1")
        self.s3.put_object(Bucket=bucket, Key="s3", Body=body, ServerSideEncryption="AES256")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="s3")["Body"].read(), body)
        up = self.s3.create_multipart_upload(Bucket=bucket, Key="m",
                                             ServerSideEncryption="aws:kms",
                                             SSEKMSKeyId="testkey-2")
        part = self.s3.upload_part(Bucket=bucket, Key="m", UploadId=up["UploadId"],
                                   PartNumber=1, Body=body)
        self.s3.complete_multipart_upload(
            Bucket=bucket, Key="m", UploadId=up["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="m")["Body"].read(), body)
        self.assertS3Error("KMS.NotFoundException", 400, self.s3.put_object, Bucket=bucket,
                           Key="bad", Body=b"x", ServerSideEncryption="aws:kms",
                           SSEKMSKeyId="no-such-key-anywhere")
        self.assertS3Error("404", 404, self.s3.head_object, Bucket=bucket, Key="bad")


class AwsKmsDownServerTests(S3TestCase):
    """A server whose aws KMS cannot be reached: it starts, says so, and its
    deep healthcheck fails naming the KMS."""

    def setUp(self) -> None:
        cls = type(self)
        if not cls.serverEnv:
            cls.dead = f"http://127.0.0.1:{emulators.free_port()}"
            cls.serverEnv = {"S3KMS": "aws"}
            cls.serverConfig = {"kmsAWS": {"endpoint": cls.dead, "ak": "a", "sk": "s"}}
        super().setUp()

    def test_deep_healthcheck_fails(self):
        status, results = deep_health(self.server)
        self.assertEqual(status, 503)
        self.assertEqual(results["awsKms"]["code"], 503)
        self.assertIn(self.dead, results["awsKms"]["error"])
        with open(self.server.log_path, errors="replace") as log:
            self.assertIn(f"KMS aws at {self.dead}: ListKeys failed", log.read())

    def test_encrypted_put_is_503_and_stores_nothing(self):
        """A KMS that is down: 503, nothing stored, never the plaintext."""
        bucket = self.make_bucket()
        self.assertS3Error("ServiceUnavailable", 503, self.s3.put_object, Bucket=bucket,
                           Key="k", Body=b"secret", ServerSideEncryption="AES256")
        self.assertS3Error("404", 404, self.s3.head_object, Bucket=bucket, Key="k")
        self.s3.put_object(Bucket=bucket, Key="clear", Body=b"clear")  # the rest works
