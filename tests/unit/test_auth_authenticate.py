# -*- test-case-name: tests.unit.test_auth_authenticate -*-
"""authenticate(): mechanism selection and every refusal, with AWS's codes."""

from __future__ import annotations

from botocore.auth import HmacV1Auth, S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.auth import sigv4
from cloudserver.s3.auth.authenticate import _parse_amz_timestamp, authenticate
from cloudserver.s3.auth.request_info import RequestInfo
from cloudserver.s3.errors import S3Error
from tests.unit.test_auth_helpers import (
    BOTO_NOW,
    EXAMPLE_ACCESS,
    EXAMPLE_SECRET,
    frozen_botocore_clock,
    info_from_botocore,
    raw_info,
    store,
)

URL = "http://localhost:8000/bucket/key?x=1"
GOOD = Credentials(EXAMPLE_ACCESS, EXAMPLE_SECRET)


def v4_header(creds=GOOD, url=URL, region="us-east-1", signer=S3SigV4Auth, headers=None,
              body=b""):
    request = AWSRequest(method="PUT", url=url, headers=headers or {}, data=body)
    with frozen_botocore_clock():
        signer(creds, "s3", region).add_auth(request)
    return info_from_botocore(request)


def v4_query(creds=GOOD, url=URL, expires=3600):
    request = AWSRequest(method="GET", url=url)
    with frozen_botocore_clock():
        S3SigV4QueryAuth(creds, "s3", "us-east-1", expires=expires).add_auth(request)
    return info_from_botocore(request)


class _V1(HmacV1Auth):
    def _get_date(self):
        return "Thu, 29 Feb 2024 12:30:15 GMT"


def v2_header(creds=GOOD):
    request = AWSRequest(method="GET", url=URL)
    _V1(creds).add_auth(request)
    return info_from_botocore(request)


def replace_header(info: RequestInfo, name: str, value: str | None) -> RequestInfo:
    headers = dict(info.headers)
    if value is None:
        headers.pop(name, None)
    else:
        headers[name] = (value,)
    return RequestInfo(info.method, info.raw_path, info.raw_query, headers, info.host)


def with_auth(info: RequestInfo, old: str, new: str) -> RequestInfo:
    return replace_header(info, "authorization", info.header("authorization").replace(old, new))


class Mechanisms(SynchronousTestCase):
    def fails(self, code, info, now=BOTO_NOW, **kw):
        err = self.assertRaises(S3Error, authenticate, info, store(), now, **kw)
        self.assertEqual(err.code, code, err.message)
        return err

    def test_anonymous(self):
        result = authenticate(raw_info("GET", "/b/k?acl", {"Host": "h"}), store(), BOTO_NOW)
        self.assertEqual((result.account, result.version), (None, None))
        self.assertIsNone(result.payload.make_decoder())
        sha = "a" * 64
        result = authenticate(raw_info("PUT", "/b/k", {"x-amz-content-sha256": sha.upper(),
                                                       "content-length": "3"}),
                              store(), BOTO_NOW)
        self.assertEqual(result.payload.sha256, sha)

    def test_anonymous_unsigned_trailer(self):
        result = authenticate(raw_info("PUT", "/b/k", {
            "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            "x-amz-trailer": "x-amz-checksum-crc32", "x-amz-decoded-content-length": "3"}),
            store(), BOTO_NOW)
        self.assertEqual(result.payload.decoded_length, 3)
        self.assertIsNotNone(result.payload.make_decoder())

    def test_signed_streaming_needs_v4(self):
        self.fails("InvalidRequest", raw_info("PUT", "/b/k", {
            "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"}))

    def test_both_mechanisms(self):
        info = v4_query()
        info = replace_header(info, "authorization", v4_header().header("authorization"))
        err = self.fails("InvalidArgument", info)
        self.assertIn("Only one auth mechanism allowed", err.message)
        info = RequestInfo("GET", "/b/k", "AWSAccessKeyId=a&Signature=b&Expires=1",
                           {"authorization": ("AWS a:b",)}, "h")
        self.fails("InvalidArgument", info)

    def test_unsupported_scheme(self):
        err = self.fails("InvalidArgument", raw_info("GET", "/", {"Authorization": "Bearer x"}))
        self.assertEqual(err.extra["ArgumentName"], "Authorization")
        self.fails("NotImplemented", raw_info("GET", "/", {
            "Authorization": "AWS4-ECDSA-P256-SHA256 Credential=a/b/c/s3/aws4_request"}))

    def test_bad_content_sha256(self):
        for value in ("abc", "g" * 64, "unsigned-payload", ""):
            self.fails("InvalidArgument", raw_info("PUT", "/b/k",
                                                   {"x-amz-content-sha256": value}))
        self.fails("NotImplemented", raw_info("PUT", "/b/k", {
            "x-amz-content-sha256": "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"}))


class HeaderV4(SynchronousTestCase):
    fails = Mechanisms.fails

    def test_accepted_any_region(self):
        for region in ("us-east-1", "eu-central-1", "us-east-1-custom"):
            result = authenticate(v4_header(region=region), store(), BOTO_NOW)
            self.assertEqual(result.version, 4)

    def test_skew(self):
        info = v4_header()
        authenticate(info, store(), BOTO_NOW + 900)
        authenticate(info, store(), BOTO_NOW - 900)
        err = self.fails("RequestTimeTooSkewed", info, BOTO_NOW + 901)
        self.assertEqual(err.extra["RequestTime"], "20240229T123015Z")
        self.assertEqual(err.extra["MaxAllowedSkewMilliseconds"], "900000")
        self.fails("RequestTimeTooSkewed", info, BOTO_NOW - 61, max_skew=60)

    def test_missing_or_bad_date(self):
        info = v4_header()
        self.fails("AccessDenied", replace_header(info, "x-amz-date", None))
        self.fails("AccessDenied", replace_header(info, "x-amz-date", "2024-02-29T12:30:15Z"))

    def test_malformed_credential(self):
        info = v4_header()
        scope = "/20240229/us-east-1/s3/aws4_request"
        for old, new in ((scope, "/20240229/us-east-1/s3"),
                         ("/s3/", "/s3x/"),
                         ("aws4_request", "aws4_requestx"),
                         (scope, "/2024022/us-east-1/s3/aws4_request"),
                         ("Signature=", "Sig="),
                         ("SignedHeaders=", "Signed=")):
            self.fails("AuthorizationHeaderMalformed", with_auth(info, old, new))
        err = self.fails("AuthorizationHeaderMalformed",
                         with_auth(info, "/20240229/", "/20240228/"))
        self.assertIn("Invalid credential date", err.message)

    def test_host_must_be_signed(self):
        info = v4_header()
        self.fails("AuthorizationHeaderMalformed", with_auth(info, "SignedHeaders=host;",
                                                             "SignedHeaders="))

    def test_unknown_key(self):
        err = self.fails("InvalidAccessKeyId", v4_header(Credentials("NOPE", EXAMPLE_SECRET)))
        self.assertEqual(err.extra["AWSAccessKeyId"], "NOPE")

    def test_wrong_secret(self):
        err = self.fails("SignatureDoesNotMatch", v4_header(Credentials(EXAMPLE_ACCESS, "x")))
        self.assertEqual(err.extra["AWSAccessKeyId"], EXAMPLE_ACCESS)
        self.assertTrue(err.extra["StringToSign"].startswith("AWS4-HMAC-SHA256\n"))
        self.assertTrue(err.extra["CanonicalRequest"].startswith("PUT\n/bucket/key\nx=1\n"))

    def test_second_key_of_account(self):
        result = authenticate(v4_header(Credentials("accessKey1b", "other+Secret/Key==")),
                              store(), BOTO_NOW)
        self.assertEqual((result.account.name, result.account.access_key),
                         ("Bart", "accessKey1b"))

    def test_without_content_sha256(self):
        # A generic SigV4 signer omits x-amz-content-sha256 and signs the body hash.
        result = authenticate(v4_header(url="http://localhost/bucket/key", signer=SigV4Auth),
                              store(), BOTO_NOW)
        self.assertEqual(result.payload.sha256, sigv4.EMPTY_SHA256)
        self.fails("InvalidRequest", v4_header(url="http://localhost/bucket/key",
                                               signer=SigV4Auth, body=b"data"))

    def test_unsigned_payload(self):
        class Unsigned(S3SigV4Auth):
            def payload(self, request):
                return "UNSIGNED-PAYLOAD"

        info = v4_header(signer=Unsigned, body=b"abc")
        self.assertEqual(info.header("x-amz-content-sha256"), "UNSIGNED-PAYLOAD")
        result = authenticate(info, store(), BOTO_NOW)
        self.assertIsNone(result.payload.sha256)
        self.assertIsNone(result.payload.chunked)


class QueryV4(SynchronousTestCase):
    fails = Mechanisms.fails

    def edit(self, info, old, new):
        return RequestInfo(info.method, info.raw_path, info.raw_query.replace(old, new),
                           info.headers, info.host)

    def test_expiry(self):
        info = v4_query(expires=10)
        authenticate(info, store(), BOTO_NOW + 10)
        err = self.fails("AccessDenied", info, BOTO_NOW + 11)
        self.assertEqual(err.message, "Request has expired")
        # No skew rule for presigned URLs: old but unexpired is fine.
        authenticate(v4_query(expires=604800), store(), BOTO_NOW + 600000)

    def test_not_yet_valid(self):
        self.fails("AccessDenied", v4_query(), BOTO_NOW - 3600)

    def test_expires_bounds(self):
        # AWS: 400 AuthorizationQueryParametersError for a value that is out of
        # range or not a number (issue 20: this was 403 AccessDenied); 0 is a
        # URL already expired (403).
        info = v4_query()

        def with_expires(value):
            return self.edit(info, "X-Amz-Expires=3600", "X-Amz-Expires=" + value)

        week = ("X-Amz-Expires must be less than a week (in seconds); that is, the given "
                "X-Amz-Expires must be less than 604800 seconds")
        for value, message in (("604801", week), ("9" * 10_000, week), ("0" * 50 + "604801", week),
                               ("-1", "X-Amz-Expires must be non-negative"),
                               ("-" + "9" * 10_000, "X-Amz-Expires must be non-negative"),
                               ("abc", "X-Amz-Expires should be a number"),
                               ("1e3", "X-Amz-Expires should be a number"),
                               ("%D9%A3", "X-Amz-Expires should be a number"),
                               ("-", "X-Amz-Expires should be a number")):
            err = self.fails("AuthorizationQueryParametersError", with_expires(value))
            self.assertEqual((err.status, err.message), (400, message), value[:20])
        err = self.fails("AccessDenied", with_expires("0"), BOTO_NOW + 1)
        self.assertEqual(err.message, "Request has expired")

    def test_missing_parameters(self):
        info = v4_query()
        for name in ("X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires", "X-Amz-SignedHeaders",
                     "X-Amz-Signature"):
            self.fails("AuthorizationQueryParametersError", self.edit(info, name, "Other"))

    def test_bad_values(self):
        info = v4_query()
        for old, new in (("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-HMAC-SHA1"),
                         ("X-Amz-Date=20240229T123015Z", "X-Amz-Date=20240229"),
                         ("%2Fs3%2F", "%2Fs4%2F"),
                         ("20240229%2F", "20240228%2F"),
                         ("X-Amz-SignedHeaders=host", "X-Amz-SignedHeaders=range")):
            self.fails("AuthorizationQueryParametersError", self.edit(info, old, new))
        self.fails("NotImplemented", self.edit(
            info, "X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256"))

    def test_unknown_key_and_wrong_secret(self):
        self.fails("InvalidAccessKeyId", v4_query(Credentials("NOPE", "x")))
        self.fails("SignatureDoesNotMatch", v4_query(Credentials(EXAMPLE_ACCESS, "x")))

    def test_content_sha256_header(self):
        sha = "b" * 64
        request = AWSRequest(method="PUT", url=URL, headers={"X-Amz-Content-SHA256": sha,
                                                             "Content-Length": "3"})
        with frozen_botocore_clock():
            S3SigV4QueryAuth(GOOD, "s3", "us-east-1").add_auth(request)
        result = authenticate(info_from_botocore(request), store(), BOTO_NOW)
        self.assertEqual(result.payload.sha256, sha)


class DigestWithoutBody(SynchronousTestCase):
    """A hex x-amz-content-sha256 on a request without a body must be the
    empty body's: no handler reads a GET's body, so nothing else would
    notice (found by the fuzzer: a mismatched GET was served)."""

    def fails(self, info):
        with self.assertRaises(S3Error) as caught:
            authenticate(info, store(), BOTO_NOW)
        self.assertEqual(caught.exception.code, "XAmzContentSHA256Mismatch")
        return caught.exception

    def test_signed_get(self):
        other = "c" * 64

        class Other(S3SigV4Auth):
            def payload(self, request):
                return other

        info = v4_header(signer=Other)
        self.assertEqual(info.header("x-amz-content-sha256"), other)
        error = self.fails(info)
        self.assertEqual(error.extra["ClientComputedContentSHA256"], other)
        self.assertEqual(error.extra["S3ComputedContentSHA256"], sigv4.EMPTY_SHA256)

    def test_presigned_and_anonymous(self):
        request = AWSRequest(method="GET", url=URL, headers={"X-Amz-Content-SHA256": "d" * 64})
        with frozen_botocore_clock():
            S3SigV4QueryAuth(GOOD, "s3", "us-east-1").add_auth(request)
        self.fails(info_from_botocore(request))
        self.fails(raw_info("GET", "/b/k", {"x-amz-content-sha256": "e" * 64}))

    def test_empty_digest_and_bodies_pass(self):
        result = authenticate(v4_header(), store(), BOTO_NOW)
        self.assertEqual(result.payload.sha256, sigv4.EMPTY_SHA256)
        result = authenticate(v4_header(body=b"data"), store(), BOTO_NOW)
        self.assertEqual(result.payload.sha256,
                         "3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7")


class V2(SynchronousTestCase):
    fails = Mechanisms.fails

    def test_skew_and_date(self):
        info = v2_header()
        authenticate(info, store(), BOTO_NOW + 900)
        self.fails("RequestTimeTooSkewed", info, BOTO_NOW + 901)
        self.fails("AccessDenied", replace_header(info, "date", None))
        self.fails("AccessDenied", replace_header(info, "date", "yesterday"))

    def test_malformed_header(self):
        for value in ("AWS ", "AWS nocolon", "AWS :sig", "AWS key:"):
            self.fails("InvalidArgument", raw_info("GET", "/", {"Authorization": value}))

    def test_unknown_key_and_wrong_secret(self):
        self.fails("InvalidAccessKeyId", v2_header(Credentials("NOPE", "x")))
        err = self.fails("SignatureDoesNotMatch", v2_header(Credentials(EXAMPLE_ACCESS, "x")))
        self.assertEqual(err.extra["StringToSign"],
                         "GET\n\n\nThu, 29 Feb 2024 12:30:15 GMT\n/bucket/key")

    def test_query_missing_parameters(self):
        for query in ("AWSAccessKeyId=a", "Signature=s&Expires=1", "AWSAccessKeyId=a&Signature=s",
                      "AWSAccessKeyId=a&Signature=s&Expires=soon"):
            self.fails("AccessDenied", raw_info("GET", "/b?" + query, {}))

    def test_query_expired(self):
        err = self.fails("AccessDenied", raw_info(
            "GET", f"/b?AWSAccessKeyId={EXAMPLE_ACCESS}&Signature=x&Expires={int(BOTO_NOW) - 1}",
            {}))
        self.assertEqual(err.message, "Request has expired")


    def test_query_expires_digits(self):
        """A v2 Expires of 10,000 digits is a date past any clock (the
        signature is then checked), not a 500 from int(); Unicode digits are
        not a date."""
        err = self.fails("SignatureDoesNotMatch", raw_info(
            "GET", f"/b?AWSAccessKeyId={EXAMPLE_ACCESS}&Signature=x&Expires={'9' * 10_000}", {}))
        self.assertNotIn("Expires", err.extra)
        err = self.fails("AccessDenied", raw_info(
            "GET", f"/b?AWSAccessKeyId={EXAMPLE_ACCESS}&Signature=x&Expires=%D9%A3", {}))
        self.assertIn("Invalid date", err.message)


class AmzTimestamp(SynchronousTestCase):
    """X-Amz-Date is parsed by slicing: same results as strptime + timegm."""

    def test_valid(self):
        self.assertEqual(_parse_amz_timestamp("19700101T000000Z"), 0)
        self.assertEqual(_parse_amz_timestamp("20240229T235959Z"), 1709251199)
        # strptime accepts leap seconds 60 and 61.
        self.assertEqual(_parse_amz_timestamp("19700101T000060Z"), 60)

    def test_invalid(self):
        for value in ("20230229T000000Z", "20231301T000000Z", "20230100T000000Z",
                      "20230431T000000Z", "20230101T240000Z", "20230101T006000Z",
                      "20230101T000062Z", "00000101T000000Z", "2023-01-01T00:00:00Z",
                      "20230101T000000", ""):
            self.assertIsNone(_parse_amz_timestamp(value), value)
