"""The aws KMS against a fake KMS JSON 1.1 endpoint (treq's StubTreq over a
twisted.web resource): request shape, SigV4 headers, error mapping, limits."""
from __future__ import annotations

import base64
import json
import os

from treq.testing import StubTreq
from twisted.internet import defer
from twisted.internet.error import ConnectionRefusedError
from twisted.internet.task import Clock
from twisted.trial import unittest
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from cloudserver.kms.aws import RESPONSE_LIMIT, AwsKms, aws_key_id
from cloudserver.kms.errors import KmsDecryptFailed, KmsUnavailable, NoSuchKmsKey
from cloudserver.kms.interfaces import IKms

KEY_UUID = "1234abcd-12ab-34cd-56ef-1234567890ab"


class FakeKms(Resource):
    """Records each request; ``answer(action, payload)`` gives (status, body)."""

    isLeaf = True

    def __init__(self):
        super().__init__()
        self.requests: list[tuple[str, dict, dict]] = []
        self.answers: dict[str, tuple[int, object]] = {}
        self.hang = False

    def render_POST(self, request):
        headers = {k.decode().lower(): v[0].decode()
                   for k, v in request.requestHeaders.getAllRawHeaders()}
        action = headers["x-amz-target"].split(".", 1)[1]
        payload = json.loads(request.content.read())
        self.requests.append((action, payload, headers))
        if self.hang:
            return NOT_DONE_YET
        status, body = self.answers.get(action, (200, {}))
        request.setResponseCode(status)
        request.setHeader("content-type", "application/x-amz-json-1.1")
        return body if isinstance(body, bytes) else json.dumps(body).encode()


class AwsKmsTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.fake = FakeKms()
        self.clock = Clock()
        self.kms = self.make(StubTreq(self.fake))

    def make(self, http) -> AwsKms:
        return AwsKms(endpoint="http://kms.test:4599", access_key="AKTEST",
                      secret_key="SECRETTEST", http=http, clock=self.clock,
                      region="eu-west-1", key_ids=["testkey-1"])

    def test_provides(self):
        self.assertTrue(IKms.providedBy(self.kms))

    def test_key_ids(self):
        self.assertEqual(aws_key_id("testkey-1"), "alias/testkey-1")
        for same in ("alias/x", "arn:aws:kms:r:1:key/" + KEY_UUID, KEY_UUID,
                     "mrk-" + "0" * 32):
            self.assertEqual(aws_key_id(same), same)

    def test_generate_request_shape_and_signature(self):
        plain, blob = os.urandom(32), b"wrapped-by-kms"
        self.fake.answers["GenerateDataKey"] = (200, {
            "Plaintext": base64.b64encode(plain).decode(),
            "CiphertextBlob": base64.b64encode(blob).decode(), "KeyId": "arn:x"})
        got = self.successResultOf(self.kms.generate_data_key("testkey-1", {"b": "k"}))
        self.assertEqual(got, (plain, blob))
        action, payload, headers = self.fake.requests[-1]
        self.assertEqual(action, "GenerateDataKey")
        self.assertEqual(payload, {"KeyId": "alias/testkey-1", "KeySpec": "AES_256",
                                   "EncryptionContext": {"b": "k"}})
        self.assertEqual(headers["content-type"], "application/x-amz-json-1.1")
        self.assertEqual(headers["x-amz-target"], "TrentService.GenerateDataKey")
        self.assertIn("x-amz-date", headers)
        self.assertTrue(headers["authorization"].startswith(
            "AWS4-HMAC-SHA256 Credential=AKTEST/"))
        self.assertIn("/eu-west-1/kms/aws4_request", headers["authorization"])
        self.assertIn("x-amz-target", headers["authorization"])
        self.assertNotIn("SECRETTEST", repr(headers))

    def test_decrypt(self):
        plain = os.urandom(32)
        self.fake.answers["Decrypt"] = (200, {"Plaintext": base64.b64encode(plain).decode()})
        got = self.successResultOf(self.kms.decrypt_data_key(KEY_UUID, b"blob", None))
        self.assertEqual(got, plain)
        _, payload, _ = self.fake.requests[-1]
        self.assertEqual(payload, {"KeyId": KEY_UUID,
                                   "CiphertextBlob": base64.b64encode(b"blob").decode()})

    def test_bucket_keys(self):
        self.fake.answers["CreateKey"] = (200, {"KeyMetadata": {"KeyId": KEY_UUID}})
        self.assertEqual(self.successResultOf(self.kms.create_bucket_key("b")), KEY_UUID)
        self.assertIsNone(self.successResultOf(self.kms.destroy_bucket_key(KEY_UUID)))
        action, payload, _ = self.fake.requests[-1]
        self.assertEqual((action, payload), ("ScheduleKeyDeletion", {
            "KeyId": KEY_UUID, "PendingWindowInDays": 7}))
        self.fake.answers["ScheduleKeyDeletion"] = (400, {"__type": "NotFoundException"})
        self.assertIsNone(self.successResultOf(self.kms.destroy_bucket_key(KEY_UUID)))

    def test_has_key(self):
        self.fake.answers["DescribeKey"] = (200, {"KeyMetadata": {"KeyState": "Enabled"}})
        self.assertTrue(self.successResultOf(self.kms.has_key("testkey-1")))
        self.fake.answers["DescribeKey"] = (200, {"KeyMetadata": {"KeyState": "Disabled"}})
        self.assertFalse(self.successResultOf(self.kms.has_key("testkey-1")))
        self.fake.answers["DescribeKey"] = (400, {
            "__type": "com.amazonaws.kms#NotFoundException", "message": "no alias"})
        self.assertFalse(self.successResultOf(self.kms.has_key("nope")))

    def test_error_mapping(self):
        for status, kind, error in ((400, "NotFoundException", NoSuchKmsKey),
                                    (400, "DisabledException", NoSuchKmsKey),
                                    (400, "InvalidCiphertextException", KmsDecryptFailed),
                                    (500, "KMSInternalException", KmsUnavailable),
                                    (503, "", KmsUnavailable),
                                    (400, "ThrottlingException", KmsUnavailable),
                                    (400, "UnrecognizedClientException", KmsUnavailable)):
            self.fake.answers["Decrypt"] = (status, {"__type": kind, "message": "m"})
            self.failureResultOf(self.kms.decrypt_data_key("k", b"x", None), error)
        self.flushLoggedErrors()

    def test_unavailable_names_the_endpoint(self):
        self.fake.answers["ListKeys"] = (500, b"<html>oops</html>")
        failure = self.failureResultOf(self.kms.health(), KmsUnavailable)
        self.assertIn("http://kms.test:4599", str(failure.value))

    def test_connection_refused(self):
        class Refused:
            def request(self, *args, **kwargs):
                return defer.fail(ConnectionRefusedError("refused"))
        failure = self.failureResultOf(self.make(Refused()).health(), KmsUnavailable)
        self.assertIn("kms.test:4599", str(failure.value))

    def test_timeout(self):
        self.fake.hang = True
        d = self.kms.generate_data_key("testkey-1", None)
        self.assertNoResult(d)
        self.clock.advance(11)
        self.failureResultOf(d, KmsUnavailable)

    def test_response_size_limit(self):
        self.fake.answers["ListKeys"] = (200, b" " * (RESPONSE_LIMIT + 1))
        self.failureResultOf(self.kms.health(), KmsUnavailable)
        self.flushLoggedErrors()

    def test_bad_answers(self):
        self.fake.answers["ListKeys"] = (200, b"not json")
        self.failureResultOf(self.kms.health(), KmsUnavailable)
        self.fake.answers["GenerateDataKey"] = (200, {"Plaintext": "%%%"})
        self.failureResultOf(self.kms.generate_data_key("k", None), KmsUnavailable)
        self.flushLoggedErrors()

    def test_start_creates_missing_aliases(self):
        self.fake.answers["DescribeKey"] = (400, {"__type": "NotFoundException"})
        self.fake.answers["CreateKey"] = (200, {"KeyMetadata": {"KeyId": KEY_UUID}})
        self.successResultOf(self.kms.start())
        calls = [(a, p.get("AliasName")) for a, p, _ in self.fake.requests]
        self.assertEqual(calls, [("DescribeKey", None), ("CreateKey", None),
                                 ("CreateAlias", "alias/cloudserver-default"),
                                 ("DescribeKey", None), ("CreateKey", None),
                                 ("CreateAlias", "alias/testkey-1")])

    def test_start_keeps_existing_keys(self):
        self.successResultOf(self.kms.start())
        self.assertEqual([a for a, _, _ in self.fake.requests], ["DescribeKey"] * 2)

    def test_start_with_kms_down_does_not_fail(self):
        self.fake.answers["DescribeKey"] = (503, b"")
        self.successResultOf(self.kms.start())

    def test_requests_wait_for_start(self):
        pending = []

        class Held:
            def request(self, method, url, headers, data):
                pending.append(json.loads(data))
                return defer.Deferred()
        kms = self.make(Held())
        started = kms.start()
        d = kms.has_key("testkey-1")
        self.assertEqual(len(pending), 1)  # start's first DescribeKey only
        self.clock.advance(11)  # it times out: start gives up (logged)
        self.successResultOf(started)
        self.assertEqual(len(pending), 2)
        self.clock.advance(11)
        self.failureResultOf(d, KmsUnavailable)

    def test_empty_answers(self):
        for body in (b"", b"null"):
            self.fake.answers["ListKeys"] = (200, body)
            self.assertIsNone(self.successResultOf(self.kms.health()))
