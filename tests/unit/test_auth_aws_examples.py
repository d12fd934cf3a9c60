# -*- test-case-name: tests.unit.test_auth_aws_examples -*-
"""The worked examples of AWS's S3 authentication documentation.

SigV4: "Signature Calculations for the Authorization Header: Transferring
Payload in a Single Chunk", "Authenticating Requests: Using Query
Parameters" and "... Transferring Payload in Multiple Chunks".  SigV2:
"Signing and Authenticating REST Requests".
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.auth import sigv4
from cloudserver.s3.auth.authenticate import authenticate
from cloudserver.s3.errors import S3Error
from tests.unit.test_auth_helpers import (
    EXAMPLE_ACCESS,
    EXAMPLE_NOW,
    epoch,
    raw_info,
    store,
)

CRED = f"{EXAMPLE_ACCESS}/20130524/us-east-1/s3/aws4_request"
EMPTY = sigv4.EMPTY_SHA256


def v4(signed: str, signature: str) -> str:
    return f"AWS4-HMAC-SHA256 Credential={CRED},SignedHeaders={signed},Signature={signature}"


class SigV4HeaderExamples(SynchronousTestCase):
    def check(self, method, target, headers, signed, signature,
              host="examplebucket.s3.amazonaws.com"):
        headers = {"Host": host, "x-amz-date": "20130524T000000Z", **headers,
                   "Authorization": v4(signed, signature)}
        result = authenticate(raw_info(method, target, headers), store(), EXAMPLE_NOW)
        self.assertEqual(result.account.access_key, EXAMPLE_ACCESS)
        self.assertEqual(result.version, 4)
        # One changed hex digit must fail.
        bad = signature[:-1] + ("0" if signature[-1] != "0" else "1")
        headers["Authorization"] = v4(signed, bad)
        err = self.assertRaises(S3Error, authenticate, raw_info(method, target, headers),
                                store(), EXAMPLE_NOW)
        self.assertEqual(err.code, "SignatureDoesNotMatch")
        return result

    def test_get_object(self):
        result = self.check("GET", "/test.txt",
                            {"Range": "bytes=0-9", "x-amz-content-sha256": EMPTY},
                            "host;range;x-amz-content-sha256;x-amz-date",
                            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        self.assertEqual(result.payload.sha256, EMPTY)
        self.assertIsNone(result.payload.make_decoder())

    def test_put_object(self):
        # The request line carries a literal "$"; the signer encoded it.
        sha = "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
        result = self.check(
            "PUT", "/test$file.text",
            {"Date": "Fri, 24 May 2013 00:00:00 GMT", "x-amz-storage-class": "REDUCED_REDUNDANCY",
             "x-amz-content-sha256": sha, "Content-Length": "21"},
            "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
        self.assertEqual(result.payload.sha256, sha)

    def test_get_bucket_lifecycle(self):
        self.check("GET", "/?lifecycle", {"x-amz-content-sha256": EMPTY},
                   "host;x-amz-content-sha256;x-amz-date",
                   "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")

    def test_list_objects(self):
        self.check("GET", "/?max-keys=2&prefix=J", {"x-amz-content-sha256": EMPTY},
                   "host;x-amz-content-sha256;x-amz-date",
                   "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")

    def test_signing_key_is_cached(self):
        sigv4.signing_key.cache_clear()
        self.test_list_objects()
        self.test_get_bucket_lifecycle()
        info = sigv4.signing_key.cache_info()
        self.assertEqual(info.misses, 1)
        self.assertGreaterEqual(info.hits, 3)


PRESIGNED = ("/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
             "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
             "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
             "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404")


class PresignedExample(SynchronousTestCase):
    def info(self, target=PRESIGNED, **headers):
        return raw_info("GET", target, {"Host": "examplebucket.s3.amazonaws.com", **headers})

    def test_valid_until_expiry(self):
        for when in (EXAMPLE_NOW, EXAMPLE_NOW + 86400):
            result = authenticate(self.info(), store(), when)
            self.assertEqual((result.account.access_key, result.version), (EXAMPLE_ACCESS, 4))
            self.assertIsNone(result.payload.sha256)
            self.assertIsNone(result.payload.chunked)

    def test_expired(self):
        err = self.assertRaises(S3Error, authenticate, self.info(), store(), EXAMPLE_NOW + 86401)
        self.assertEqual((err.code, err.message), ("AccessDenied", "Request has expired"))

    def test_tampered(self):
        for target in (PRESIGNED.replace("test.txt", "test.txu"),
                       PRESIGNED + "&extra=1",
                       PRESIGNED.replace("86400", "86401")):
            err = self.assertRaises(S3Error, authenticate, self.info(target), store(), EXAMPLE_NOW)
            self.assertEqual(err.code, "SignatureDoesNotMatch")
        err = self.assertRaises(S3Error, authenticate,
                                self.info(Host="otherbucket.s3.amazonaws.com"), store(),
                                EXAMPLE_NOW)
        self.assertEqual(err.code, "SignatureDoesNotMatch")

    def test_unsigned_amz_header(self):
        err = self.assertRaises(S3Error, authenticate, self.info(**{"x-amz-acl": "public-read"}),
                                store(), EXAMPLE_NOW)
        self.assertEqual(err.code, "AccessDenied")
        self.assertEqual(err.extra["HeadersNotSigned"], "x-amz-acl")


SEED = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
CHUNK_SIGS = ["ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
              "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
              "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"]
CHUNKED_BODY = (b"10000;chunk-signature=" + CHUNK_SIGS[0].encode() + b"\r\n" + b"a" * 65536
                + b"\r\n400;chunk-signature=" + CHUNK_SIGS[1].encode() + b"\r\n" + b"a" * 1024
                + b"\r\n0;chunk-signature=" + CHUNK_SIGS[2].encode() + b"\r\n\r\n")


def chunked_info(seed=SEED):
    signed = ("content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
              "x-amz-decoded-content-length;x-amz-storage-class")
    return raw_info("PUT", "/examplebucket/chunkObject.txt", {
        "Host": "s3.amazonaws.com", "x-amz-date": "20130524T000000Z",
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": "66560",
        "Content-Length": "66824", "Authorization": v4(signed, seed)})


class ChunkedExample(SynchronousTestCase):
    def decoder(self):
        result = authenticate(chunked_info(), store(), EXAMPLE_NOW)
        self.assertEqual(result.payload.chunked, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        self.assertIsNone(result.payload.sha256)
        return result.payload.make_decoder()

    def test_body_length(self):
        self.assertEqual(len(CHUNKED_BODY), 66824)

    def test_decode_whole(self):
        decoder = self.decoder()
        out = b"".join(bytes(p) for p in decoder.feed(CHUNKED_BODY))
        self.assertEqual(decoder.finish(), {})
        self.assertEqual(out, b"a" * 66560)

    def test_decode_bytewise(self):
        decoder = self.decoder()
        out = bytearray()
        for i in range(len(CHUNKED_BODY)):
            for piece in decoder.feed(CHUNKED_BODY[i:i + 1]):
                out += piece
        self.assertEqual(decoder.finish(), {})
        self.assertEqual(bytes(out), b"a" * 66560)

    def test_each_chunk_signature_checked(self):
        for sig in CHUNK_SIGS:
            body = CHUNKED_BODY.replace(sig.encode(), b"0" * 64)
            decoder = self.decoder()
            err = self.assertRaises(S3Error, decoder.feed, body)
            self.assertEqual(err.code, "SignatureDoesNotMatch")

    def test_data_tampered(self):
        body = bytearray(CHUNKED_BODY)
        body[66000] = ord("b")
        err = self.assertRaises(S3Error, self.decoder().feed, bytes(body))
        self.assertEqual(err.code, "SignatureDoesNotMatch")

    def test_truncated(self):
        decoder = self.decoder()
        decoder.feed(CHUNKED_BODY[:-2])
        err = self.assertRaises(S3Error, decoder.finish)
        self.assertEqual(err.code, "IncompleteBody")


class SigV2Examples(SynchronousTestCase):
    """AWS's SigV2 examples (bucket awsexamplebucket1, us-west-1)."""

    def check(self, method, target, headers, signature, now, bucket=None):
        host = (f"{bucket}.s3.us-west-1.amazonaws.com" if bucket else "s3.us-west-1.amazonaws.com")
        headers = {"Host": host, **headers, "Authorization": f"AWS {EXAMPLE_ACCESS}:{signature}"}
        result = authenticate(raw_info(method, target, headers), store(), now,
                              bucket_from_host=bucket)
        self.assertEqual((result.account.access_key, result.version), (EXAMPLE_ACCESS, 2))
        headers["Authorization"] = f"AWS {EXAMPLE_ACCESS}:{'A' + signature[1:]}"
        err = self.assertRaises(S3Error, authenticate, raw_info(method, target, headers),
                                store(), now, bucket_from_host=bucket)
        self.assertEqual(err.code, "SignatureDoesNotMatch")

    def test_object_get(self):
        self.check("GET", "/photos/puppy.jpg", {"Date": "Tue, 27 Mar 2007 19:36:42 +0000"},
                   "qgk2+6Sv9/oM7G3qLEjTH1a1l1g=", epoch(2007, 3, 27, 19, 36, 42),
                   "awsexamplebucket1")

    def test_object_put(self):
        self.check("PUT", "/photos/puppy.jpg",
                   {"Content-Type": "image/jpeg", "Content-Length": "94328",
                    "Date": "Tue, 27 Mar 2007 21:15:45 +0000"},
                   "iqRzw+ileNPu1fhspnRs8nOjjIA=", epoch(2007, 3, 27, 21, 15, 45),
                   "awsexamplebucket1")

    def test_list(self):
        self.check("GET", "/?prefix=photos&max-keys=50&marker=puppy",
                   {"User-Agent": "Mozilla/5.0", "Date": "Tue, 27 Mar 2007 19:42:41 +0000"},
                   "m0WP8eCtspQl5Ahe6L1SozdX9YA=", epoch(2007, 3, 27, 19, 42, 41),
                   "awsexamplebucket1")

    def test_fetch_acl(self):
        self.check("GET", "/?acl", {"Date": "Tue, 27 Mar 2007 19:44:46 +0000"},
                   "82ZHiFIjc+WbcwFKGUVEQspPn+0=", epoch(2007, 3, 27, 19, 44, 46),
                   "awsexamplebucket1")

    def test_delete_with_x_amz_date(self):
        self.check("DELETE", "/awsexamplebucket1/photos/puppy.jpg",
                   {"User-Agent": "dotnet", "Date": "Tue, 27 Mar 2007 21:20:27 +0000",
                    "x-amz-date": "Tue, 27 Mar 2007 21:20:26 +0000"},
                   "XbyTlbQdu9Xw5o8P4iMwPktxQd8=", epoch(2007, 3, 27, 21, 20, 26))

    def test_list_all_buckets(self):
        self.check("GET", "/", {"Date": "Wed, 28 Mar 2007 01:29:59 +0000"},
                   "qGdzdERIC03wnaRNKh6OqZehG9s=", epoch(2007, 3, 28, 1, 29, 59))

    def test_unicode_keys(self):
        self.check("GET", "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
                   {"Date": "Wed, 28 Mar 2007 01:49:49 +0000"},
                   "DNEZGsoieTZ92F3bUfSPQcbGmlM=", epoch(2007, 3, 28, 1, 49, 49))
