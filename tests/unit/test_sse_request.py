# -*- test-case-name: tests.unit.test_sse_request -*-
"""The SSE headers of a request: what a write asks for, and every refusal
with AWS's code, message and ArgumentName/Value (tables of header sets)."""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import os

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.config import ConfigError, load_config
from cloudserver.s3.errors import S3Error
from cloudserver.s3.sse import request as sse
from cloudserver.s3.sse.request import (
    COPY_SOURCE_CUSTOMER, CustomerKey, SseRequest, check_context, customer_key,
    refuse_insecure_customer_key, refuse_on_read, require_secure, write_request)

KEY = bytes(range(32))
KEY_B64 = base64.b64encode(KEY).decode()
KEY_MD5 = base64.b64encode(hashlib.md5(KEY).digest()).decode()
C = "x-amz-server-side-encryption-customer-"
SSE_C = {C + "algorithm": "AES256", C + "key": KEY_B64, C + "key-md5": KEY_MD5}
CONTEXT = base64.b64encode(json.dumps({"a": "b"}).encode()).decode()


def reader(headers: dict):
    lowered = {k.lower(): v for k, v in headers.items()}
    return lowered.get


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


CUSTOMER = CustomerKey(algorithm="AES256", key=KEY, key_md5=KEY_MD5)

#: header set -> the SseRequest a write asks for
ACCEPTED = [
    ({}, SseRequest()),
    ({"x-amz-server-side-encryption": "AES256"}, SseRequest(algorithm="AES256")),
    ({"x-amz-server-side-encryption": "aws:kms"}, SseRequest(algorithm="aws:kms")),
    ({"x-amz-server-side-encryption": "aws:kms",
      "x-amz-server-side-encryption-aws-kms-key-id": "testkey-1",
      "x-amz-server-side-encryption-context": CONTEXT,
      "x-amz-server-side-encryption-bucket-key-enabled": "true"},
     SseRequest(algorithm="aws:kms", kms_key_id="testkey-1", context=CONTEXT,
                bucket_key=True)),
    ({"x-amz-server-side-encryption": "AES256",
      "x-amz-server-side-encryption-bucket-key-enabled": "False"},
     SseRequest(algorithm="AES256", bucket_key=False)),
    (SSE_C, SseRequest(customer=CUSTOMER)),
]

UNSUPPORTED = "The encryption method specified is not supported"
NEEDS_KMS = ("Server Side Encryption with AWS KMS managed key requires HTTP header "
             "x-amz-server-side-encryption : aws:kms")
BAD_CONTEXT = ("The header 'x-amz-server-side-encryption-context' shall be Base64-encoded "
               "UTF-8 string holding JSON which represents a string-string map")
SSEC_ALGO = ("Requests specifying Server Side Encryption with Customer provided keys must "
             "provide a valid encryption algorithm.")
SSEC_KEY = ("Requests specifying Server Side Encryption with Customer provided keys must "
            "provide an appropriate secret key.")
SSEC_MD5 = ("Requests specifying Server Side Encryption with Customer provided keys must "
            "provide the client calculated MD5 of the secret key.")
SSEC_BAD_MD5 = "The calculated MD5 hash of the key did not match the hash that was provided."
SSEC_BAD_KEY = "The secret key was invalid for the specified algorithm."
SSEC_ALGO_NOT_AES = ("The Encryption request you specified is not valid. "
                     "Supported value: AES256.")
WITH_SSE = ("Server Side Encryption with Customer provided key is incompatible with the "
            "encryption method specified")


def _ctx(raw: bytes) -> str:
    return b64(raw)


#: header set -> (code, message, ArgumentName, ArgumentValue or None)
REFUSED = [
    ({"x-amz-server-side-encryption": "AES192"},
     ("InvalidArgument", UNSUPPORTED, "x-amz-server-side-encryption", "AES192")),
    ({"x-amz-server-side-encryption": "aws:kms:dsse"},
     ("InvalidArgument", UNSUPPORTED, "x-amz-server-side-encryption", "aws:kms:dsse")),
    ({"x-amz-server-side-encryption": ""},
     ("InvalidArgument", UNSUPPORTED, "x-amz-server-side-encryption", "")),
    ({"x-amz-server-side-encryption-aws-kms-key-id": "testkey-2"},
     ("InvalidArgument", NEEDS_KMS, "x-amz-server-side-encryption-aws-kms-key-id", None)),
    ({"x-amz-server-side-encryption": "AES256",
      "x-amz-server-side-encryption-aws-kms-key-id": "testkey-2"},
     ("InvalidArgument", NEEDS_KMS, "x-amz-server-side-encryption-aws-kms-key-id", None)),
    ({"x-amz-server-side-encryption-context": CONTEXT},
     ("InvalidArgument", NEEDS_KMS, "x-amz-server-side-encryption-context", None)),
    ({"x-amz-server-side-encryption": "aws:kms",
      "x-amz-server-side-encryption-context": "not base64!"},
     ("InvalidArgument", BAD_CONTEXT, "x-amz-server-side-encryption-context", "not base64!")),
    ({"x-amz-server-side-encryption": "aws:kms",
      "x-amz-server-side-encryption-context": _ctx(b"[1, 2]")},
     ("InvalidArgument", BAD_CONTEXT, "x-amz-server-side-encryption-context",
      _ctx(b"[1, 2]"))),
    ({"x-amz-server-side-encryption": "aws:kms",
      "x-amz-server-side-encryption-context": _ctx(b'{"a": 1}')},
     ("InvalidArgument", BAD_CONTEXT, "x-amz-server-side-encryption-context",
      _ctx(b'{"a": 1}'))),
    ({"x-amz-server-side-encryption": "aws:kms",
      "x-amz-server-side-encryption-context": _ctx(b"\xff\xfe")},
     ("InvalidArgument", BAD_CONTEXT, "x-amz-server-side-encryption-context",
      _ctx(b"\xff\xfe"))),
    ({"x-amz-server-side-encryption": "AES256",
      "x-amz-server-side-encryption-bucket-key-enabled": "yes"},
     ("InvalidArgument", "Invalid value for x-amz-server-side-encryption-bucket-key-enabled",
      "x-amz-server-side-encryption-bucket-key-enabled", "yes")),
    ({**SSE_C, "x-amz-server-side-encryption": "AES256"},
     ("InvalidArgument", WITH_SSE, "x-amz-server-side-encryption", "AES256")),
    ({C + "key": KEY_B64, C + "key-md5": KEY_MD5},
     ("InvalidArgument", SSEC_ALGO, C + "algorithm", None)),
    ({**SSE_C, C + "algorithm": "AES128"},
     ("InvalidEncryptionAlgorithmError", SSEC_ALGO_NOT_AES, C + "algorithm", "AES128")),
    ({C + "algorithm": "AES256"}, ("InvalidArgument", SSEC_KEY, C + "key", None)),
    ({C + "algorithm": "AES256", C + "key": KEY_B64},
     ("InvalidArgument", SSEC_MD5, C + "key-md5", None)),
    ({**SSE_C, C + "key-md5": "AAAAAAAAAAAAAAAAAAAAAA=="},
     ("InvalidArgument", SSEC_BAD_MD5, C + "key-md5", None)),
    ({**SSE_C, C + "key": b64(KEY[:16])},
     ("InvalidArgument", SSEC_BAD_KEY, C + "key", None)),
    ({**SSE_C, C + "key": "%%%not base64%%%"},
     ("InvalidArgument", SSEC_BAD_KEY, C + "key", None)),
]


class WriteRequestTests(SynchronousTestCase):
    def test_accepted(self):
        for headers, expected in ACCEPTED:
            with self.subTest(headers=sorted(headers)):
                self.assertEqual(write_request(reader(headers)), expected)

    def test_refused(self):
        for headers, (code, message, name, value) in REFUSED:
            with self.subTest(headers=headers):
                error = self.assertRaises(S3Error, write_request, reader(headers))
                self.assertEqual((error.code, error.status), (code, 400))
                self.assertEqual(error.message, message)
                self.assertEqual(error.extra.get("ArgumentName"), name)
                self.assertEqual(error.extra.get("ArgumentValue"), value)

    def test_empty(self):
        self.assertTrue(SseRequest().empty)
        self.assertFalse(SseRequest(algorithm="AES256").empty)
        self.assertFalse(SseRequest(customer=CUSTOMER).empty)

    def test_copy_source_key(self):
        headers = {COPY_SOURCE_CUSTOMER + k[len(C):]: v for k, v in SSE_C.items()}
        self.assertIsNone(customer_key(reader(headers)))
        self.assertEqual(customer_key(reader(headers), COPY_SOURCE_CUSTOMER), CUSTOMER)
        headers[COPY_SOURCE_CUSTOMER + "key-md5"] = "AAAAAAAAAAAAAAAAAAAAAA=="
        error = self.assertRaises(S3Error, customer_key, reader(headers),
                                  COPY_SOURCE_CUSTOMER)
        self.assertEqual(error.extra["ArgumentName"], COPY_SOURCE_CUSTOMER + "key-md5")

    def test_context_decoded(self):
        self.assertEqual(check_context(CONTEXT), {"a": "b"})


class SecrecyTests(SynchronousTestCase):
    def test_key_never_in_repr(self):
        request = write_request(reader(SSE_C))
        for text in (repr(request), str(request), repr(request.customer)):
            self.assertNotIn(KEY_B64, text)
            self.assertNotIn(repr(KEY), text)
            self.assertNotIn(KEY.hex(), text)

    def test_key_never_logged(self):
        """Refusing a request logs nothing of its key (the error carries
        only the header names)."""
        with self.assertLogs(level=logging.DEBUG) as logs:
            logging.getLogger("cloudserver").debug("marker")
            for headers in (SSE_C, {**SSE_C, C + "key-md5": "AAAAAAAAAAAAAAAAAAAAAA=="},
                            {**SSE_C, "x-amz-server-side-encryption": "AES256"}):
                try:
                    request = write_request(reader(headers))
                    logging.getLogger("cloudserver").info("request %r", request)
                except S3Error as error:
                    logging.getLogger("cloudserver").info("refused %r %s %r", error,
                                                          error.message, error.extra)
                    self.assertNotIn(KEY_B64, repr(error.extra))
        for line in logs.output:
            self.assertNotIn(KEY_B64, line)
            self.assertNotIn(KEY.hex(), line)


class ReadRequestTests(SynchronousTestCase):
    def test_sse_headers_refused_on_read(self):
        for name in (sse.SSE, sse.KMS_KEY_ID, sse.CONTEXT):
            with self.subTest(name=name):
                error = self.assertRaises(S3Error, refuse_on_read, reader({name: "x"}))
                self.assertEqual((error.code, error.status), ("InvalidArgument", 400))
                self.assertEqual(error.extra["ArgumentName"], name)

    def test_customer_headers_allowed_on_read(self):
        self.assertIsNone(refuse_on_read(reader(SSE_C)))


class _Config:
    def __init__(self, allow: bool) -> None:
        self.sse_customer_key_over_http = allow


class _Backend:
    def __init__(self, allow: bool) -> None:
        self.config = _Config(allow)


class _Ctx:
    def __init__(self, secure: bool, allow: bool) -> None:
        self.secure = secure
        self.backend = _Backend(allow)


class SecureTransportTests(SynchronousTestCase):
    MESSAGE = ("Requests specifying Server Side Encryption with Customer provided keys must "
               "be made over a secure connection.")

    def test_plain_http_refused(self):
        for check in (lambda: require_secure(CUSTOMER, False, _Config(False)),
                      lambda: refuse_insecure_customer_key(_Ctx(False, False), CUSTOMER)):
            error = self.assertRaises(S3Error, check)
            self.assertEqual((error.code, error.status, error.message),
                             ("InvalidRequest", 400, self.MESSAGE))

    def test_allowed(self):
        require_secure(CUSTOMER, True, _Config(False))
        require_secure(CUSTOMER, False, _Config(True))
        require_secure(None, False, _Config(False))
        refuse_insecure_customer_key(_Ctx(True, False), CUSTOMER)
        refuse_insecure_customer_key(_Ctx(False, True), CUSTOMER)


class ConfigSwitchTests(SynchronousTestCase):
    """config.json ``sseCustomerKeyOverHttp``: false unless set, a boolean."""

    def load(self, extra: dict):
        path = self.mktemp()
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "conf",
                               "config.json")) as f:
            raw = json.load(f)
        raw.update(extra)
        with open(path, "w") as f:
            json.dump(raw, f)
        return load_config({"S3BACKEND": "mem", "S3_CONFIG_FILE": path})

    def test_repository_default_is_false(self):
        self.assertFalse(self.load({}).sse_customer_key_over_http)

    def test_true(self):
        config = self.load({"sseCustomerKeyOverHttp": True})
        self.assertTrue(config.sse_customer_key_over_http)
        require_secure(CUSTOMER, False, config)

    def test_not_a_boolean(self):
        for value in ("true", 1, None):
            error = self.assertRaises(ConfigError, self.load, {"sseCustomerKeyOverHttp": value})
            self.assertIn("sseCustomerKeyOverHttp", str(error))
