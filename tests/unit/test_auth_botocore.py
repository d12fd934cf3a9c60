# -*- test-case-name: tests.unit.test_auth_botocore -*-
"""Round trips: requests signed by botocore itself must authenticate, and
any change to a signed byte must not.

Two levels: botocore's signer classes over hand-built AWSRequests, and a
whole botocore S3 client whose HTTP sending is replaced by a capture hook
(so the headers, URL encoding and aws-chunked bodies are exactly what the
SDK sends).
"""

from __future__ import annotations

import calendar
import hashlib
import io
import time
from email.utils import parsedate_to_datetime
from unittest import mock
from urllib.parse import urlsplit

import botocore.session
from botocore.auth import HmacV1Auth, HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest, AWSResponse
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.utils import percent_encode
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.auth.authenticate import authenticate
from cloudserver.s3.auth.request_info import RequestInfo
from cloudserver.s3.errors import S3Error
from tests.unit.test_auth_helpers import (
    BOTO_NOW,
    frozen_botocore_clock,
    info_from_botocore,
    store,
)

KEYS = ["plain.txt", "a b c", "ünïcödé/ключ/鍵", "a+b", "a%2Fb", "tilde~x", "sp!ce'(*)", "a=b&c?d",
        "dir/sub/", "x;y,z:@$"]
QUERIES = [
    {}, {"prefix": "a b+c", "delimiter": "/"}, {"marker": ""}, {"list-type": "2",
                                                                "start-after": "ü"},
    {"versionId": "3/L4kqtJl40Nr8X8gdRQBpUMLUo"}, {"uploadId": "x y", "partNumber": "2"},
    {"response-content-disposition": 'attachment; filename="x y.txt"'},
]
CREDS = [("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
         ("accessKey1b", "other+Secret/Key==")]


def url_for(key: str, query: dict[str, str], extra: str = "") -> str:
    url = "http://localhost:8000/bucket/" + percent_encode(key, safe="/~")
    parts = [f"{percent_encode(k)}={percent_encode(v)}" for k, v in query.items()]
    if extra:
        parts.append(extra)
    return url + ("?" + "&".join(parts) if parts else "")


class _FixedDateV1(HmacV1Auth):
    def _get_date(self):
        return "Thu, 29 Feb 2024 12:30:15 GMT"


class _FixedDateV1Query(HmacV1QueryAuth):
    def _get_date(self):
        return str(int(BOTO_NOW + int(self._expires)))


def mutations(info: RequestInfo, signed_headers: set[str]):
    """Every variant of ``info`` with one character of a signed element replaced."""
    def swap(text: str, i: int) -> str:
        return text[:i] + ("Y" if text[i] == "X" else "X") + text[i + 1:]

    target = info.raw_path + ("?" + info.raw_query if info.raw_query else "")
    for i in range(len(target)):
        changed = swap(target, i)
        path, _, query = changed.partition("?")
        yield f"target[{i}]", RequestInfo(info.method, path, query, info.headers, info.host)
    for name, values in info.headers.items():
        if name not in signed_headers:
            continue
        for i in range(len(values[0])):
            headers = dict(info.headers)
            headers[name] = (swap(values[0], i),) + tuple(values[1:])
            yield f"{name}[{i}]", RequestInfo(info.method, info.raw_path, info.raw_query,
                                              headers, info.host)
    yield "method", RequestInfo("POST" if info.method != "POST" else "PUT", info.raw_path,
                                info.raw_query, info.headers, info.host)


class SignerRoundTrip(SynchronousTestCase):
    def assertAccepted(self, info, access, **kw):
        result = authenticate(info, store(), BOTO_NOW, **kw)
        self.assertEqual(result.account.access_key, access, info)
        return result

    def assertTamperProof(self, info, signed, **kw):
        for where, variant in mutations(info, signed):
            try:
                result = authenticate(variant, store(), BOTO_NOW, **kw)
            except S3Error:
                continue
            self.assertIsNone(result.account, f"accepted after changing {where}: {variant}")

    def v4_request(self, method, key, query, headers=None, body=b""):
        return AWSRequest(method=method, url=url_for(key, query), headers=headers or {},
                          data=body)

    def test_sigv4_header(self):
        for access, secret in CREDS:
            for key in KEYS:
                for query in QUERIES:
                    request = self.v4_request("PUT", key, query,
                                              {"x-amz-meta-note": "  two  spaces  ",
                                               "Content-Type": "text/plain"}, b"data")
                    with frozen_botocore_clock():
                        S3SigV4Auth(Credentials(access, secret), "s3", "eu-west-3").add_auth(
                            request)
                    result = self.assertAccepted(info_from_botocore(request), access)
                    self.assertEqual(result.version, 4)
                    self.assertEqual(len(result.payload.sha256), 64)

    def test_sigv4_header_tamper(self):
        request = self.v4_request("GET", "ünï cödé+~", {"prefix": "a b", "uploads": "",
                                                          "max-keys": "5"},
                                  {"Range": "bytes=1-2"})
        with frozen_botocore_clock():
            S3SigV4Auth(Credentials(*CREDS[0]), "s3", "us-east-1").add_auth(request)
        info = info_from_botocore(request)
        self.assertAccepted(info, CREDS[0][0])
        signed = {"host", "range", "x-amz-date", "x-amz-content-sha256", "authorization"}
        self.assertTamperProof(info, signed)

    def test_sigv4_query(self):
        for access, secret in CREDS:
            for key in KEYS:
                for query in QUERIES:
                    request = self.v4_request("GET", key, query)
                    with frozen_botocore_clock():
                        S3SigV4QueryAuth(Credentials(access, secret), "s3", "us-west-2",
                                         expires=600).add_auth(request)
                    result = self.assertAccepted(info_from_botocore(request), access)
                    self.assertIsNone(result.payload.sha256)
        err = self.assertRaises(S3Error, authenticate, info_from_botocore(request), store(),
                                BOTO_NOW + 601)
        self.assertEqual(err.message, "Request has expired")

    def test_sigv4_query_tamper(self):
        request = self.v4_request("GET", "k e+y", {"response-content-type": "a/b c"})
        with frozen_botocore_clock():
            S3SigV4QueryAuth(Credentials(*CREDS[1]), "s3", "us-east-1").add_auth(request)
        info = info_from_botocore(request)
        self.assertAccepted(info, CREDS[1][0])
        self.assertTamperProof(info, {"host"})

    def test_sigv2_header(self):
        subresources = ["", "acl", "uploads", "versioning", "tagging", "delete", "encryption",
                        "object-lock", "retention", "legal-hold"]
        for access, secret in CREDS:
            for key in KEYS:
                for query in QUERIES:
                    for sub in subresources:
                        request = AWSRequest(method="PUT", url=url_for(key, query, sub),
                                             headers={"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==",
                                                      "Content-Type": "text/plain",
                                                      "x-amz-meta-a": " v ",
                                                      "x-amz-acl": "private"}, data=b"")
                        _FixedDateV1(Credentials(access, secret)).add_auth(request)
                        result = self.assertAccepted(info_from_botocore(request), access)
                        self.assertEqual(result.version, 2)

    def test_sigv2_virtual_host(self):
        request = AWSRequest(method="GET", url="http://bucket.s3.example.com/a%20b?acl",
                             auth_path="/bucket/a%20b")
        _FixedDateV1(Credentials(*CREDS[0])).add_auth(request)
        info = info_from_botocore(request)
        self.assertAccepted(info, CREDS[0][0], bucket_from_host="bucket")
        err = self.assertRaises(S3Error, authenticate, info, store(), BOTO_NOW)
        self.assertEqual(err.code, "SignatureDoesNotMatch")

    def test_sigv2_header_tamper(self):
        request = AWSRequest(method="PUT",
                             url=url_for("ü k+", {"uploadId": "u", "partNumber": "3"}),
                             headers={"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg==",
                                      "Content-Type": "text/plain", "x-amz-meta-a": "v"},
                             data=b"")
        _FixedDateV1(Credentials(*CREDS[0])).add_auth(request)
        info = info_from_botocore(request)
        self.assertAccepted(info, CREDS[0][0])
        signed = {"content-md5", "content-type", "date", "x-amz-meta-a", "authorization"}
        for where, variant in mutations(info, signed):
            if where.startswith("target[") and "?" in (info.raw_path + "?" + info.raw_query)[
                    :int(where[7:-1])]:
                # Only sub-resources of the query are signed in SigV2.
                continue
            try:
                authenticate(variant, store(), BOTO_NOW)
            except S3Error:
                continue
            self.fail(f"accepted after changing {where}")

    def test_sigv2_query(self):
        for access, secret in CREDS:
            for key in KEYS:
                for query in QUERIES:
                    request = AWSRequest(method="GET", url=url_for(key, query))
                    _FixedDateV1Query(Credentials(access, secret), expires=60).add_auth(request)
                    result = self.assertAccepted(info_from_botocore(request), access)
                    self.assertEqual(result.version, 2)
        err = self.assertRaises(S3Error, authenticate, info_from_botocore(request), store(),
                                BOTO_NOW + 61)
        self.assertEqual(err.message, "Request has expired")


class _Capture:
    """A botocore S3 client whose requests are captured instead of sent."""

    def __init__(self, signature_version, endpoint="https://s3.example.test", **s3):
        session = botocore.session.get_session()
        self.client = session.create_client(
            "s3", region_name="us-east-1", endpoint_url=endpoint,
            aws_access_key_id="accessKey1", aws_secret_access_key="verySecretKey1",
            config=Config(s3={"addressing_style": "path", **s3},
                          signature_version=signature_version,
                          retries={"max_attempts": 1}))
        self.client.meta.events.register("before-send.s3", self._send)
        self.sent: list[tuple[RequestInfo, bytes]] = []

    def _send(self, request, **kwargs):
        body = request.body
        if hasattr(body, "read"):
            body = body.read()
        parts = urlsplit(request.url)
        target = parts.path + ("?" + parts.query if parts.query else "")
        headers = list(request.headers.items())
        if not any(k.lower() == "host" for k, _ in headers):
            headers.append(("Host", parts.netloc))
        self.sent.append((RequestInfo.from_raw(request.method, target, headers), body or b""))

        class Raw:
            def stream(self, *a, **k):
                return iter([b""])
        return AWSResponse(request.url, 200, {}, Raw())

    def call(self, operation, **params):
        getattr(self.client, operation)(**params)
        return self.sent[-1]


def operations():
    """Fresh each time: a streamed body can be read once."""
    return [
        ("list_objects_v2", {"Bucket": "b", "Prefix": "a b+ü", "Delimiter": "/",
                             "StartAfter": ""}),
        ("get_object", {"Bucket": "b", "Key": "dir/ü k+y~!", "VersionId": "v+1",
                        "ResponseContentDisposition": 'attachment; filename="a b"'}),
        ("head_object", {"Bucket": "b", "Key": "%2F", "Range": "bytes=0-1"}),
        ("put_object_acl", {"Bucket": "b", "Key": "k", "ACL": "public-read"}),
        ("get_bucket_encryption", {"Bucket": "b"}),
        ("put_object", {"Bucket": "b", "Key": "x y", "Body": b"hello", "Metadata": {"m": "v"}}),
        ("put_object", {"Bucket": "b", "Key": "s", "Body": io.BytesIO(b"0123456789" * 300)}),
        ("put_object", {"Bucket": "b", "Key": "e", "Body": b""}),
        ("upload_part", {"Bucket": "b", "Key": "k", "UploadId": "u/p+id", "PartNumber": 2,
                         "Body": b"part"}),
        ("delete_objects", {"Bucket": "b", "Delete": {"Objects": [{"Key": "a"}]}}),
        ("put_object_tagging", {"Bucket": "b", "Key": "k",
                                "Tagging": {"TagSet": [{"Key": "t", "Value": "v"}]}}),
    ]


def stamped_time(info: RequestInfo) -> float:
    """The time the SDK stamped on the request (it may sign through awscrt,
    whose clock cannot be patched): authentication is checked "then"."""
    amz = info.header("x-amz-date") or info.query_dict().get("X-Amz-Date")
    if amz:
        return calendar.timegm(time.strptime(amz, "%Y%m%dT%H%M%SZ"))
    return parsedate_to_datetime(info.header("date")).timestamp()


class ClientRoundTrip(SynchronousTestCase):
    def run_all(self, capture: _Capture, version: int):
        for operation, params in operations():
            info, body = capture.call(operation, **params)
            result = authenticate(info, store(), stamped_time(info))
            self.assertEqual((result.account.name, result.version), ("Bart", version),
                             operation)
            decoder = result.payload.make_decoder()
            if decoder is not None:
                data = b"".join(bytes(p) for p in decoder.feed(body))
                trailers = decoder.finish()
                if "Body" in params:
                    expected = params["Body"]
                    self.assertEqual(data, expected if isinstance(expected, bytes)
                                     else expected.getvalue())
                self.assertIn("x-amz-checksum-crc32", trailers)
            elif result.payload.sha256 is not None:
                self.assertEqual(hashlib.sha256(body).hexdigest(), result.payload.sha256)

    def test_sigv4_https(self):
        self.run_all(_Capture("s3v4"), 4)

    def test_sigv4_http(self):
        self.run_all(_Capture("s3v4", endpoint="http://127.0.0.1:8000"), 4)

    def test_sigv2(self):
        self.run_all(_Capture("s3"), 2)

    def test_virtual_host(self):
        for version, number in (("s3v4", 4), ("s3", 2)):
            capture = _Capture(version, endpoint="http://s3.example.test",
                               addressing_style="virtual")
            for operation, params in (("get_object", {"Bucket": "bkt", "Key": "a b/c"}),
                                      ("list_objects", {"Bucket": "bkt", "Prefix": "p"}),
                                      ("get_bucket_acl", {"Bucket": "bkt"})):
                info, _ = capture.call(operation, **params)
                self.assertEqual(info.host, "bkt.s3.example.test")
                result = authenticate(info, store(), stamped_time(info),
                                      bucket_from_host="bkt")
                self.assertEqual((result.account.name, result.version), ("Bart", number))

    def test_presigned(self):
        for version, number in (("s3v4", 4), ("s3", 2)):
            capture = _Capture(version)
            with mock.patch("botocore.auth.time.time", return_value=BOTO_NOW):
                url = capture.client.generate_presigned_url(
                    "get_object", Params={"Bucket": "b", "Key": "ü/a b+c",
                                          "ResponseContentType": "text/plain; x=y"},
                    ExpiresIn=300)
            parts = urlsplit(url)
            info = RequestInfo.from_raw("GET", parts.path + "?" + parts.query,
                                        [("Host", parts.netloc)])
            start = stamped_time(info) if number == 4 else BOTO_NOW
            result = authenticate(info, store(), start + 299)
            self.assertEqual((result.account.name, result.version), ("Bart", number))
            err = self.assertRaises(S3Error, authenticate, info, store(), start + 301)
            self.assertEqual(err.code, "AccessDenied")
