# -*- test-case-name: tests.unit.test_auth_chunked -*-
"""The aws-chunked decoder: framing, splits at any byte, signatures, limits."""

from __future__ import annotations

import hashlib
import hmac
import io
import random

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.auth.authenticate import authenticate
from cloudserver.s3.auth.chunked import AwsChunkedDecoder
from cloudserver.s3.errors import S3Error
from tests.unit.test_auth_helpers import (
    BOTO_NOW,
    EXAMPLE_ACCESS,
    EXAMPLE_SECRET,
    frozen_botocore_clock,
    info_from_botocore,
    store,
)

PAYLOAD = bytes(range(256)) * 7 + b"tail"


def botocore_body(payload=PAYLOAD, chunk_size=100, checksum=True) -> bytes:
    wrapper = AwsChunkedWrapper(io.BytesIO(payload),
                                checksum_cls=Crc32Checksum if checksum else None,
                                checksum_name="x-amz-checksum-crc32", chunk_size=chunk_size)
    return wrapper.read()


def decode(decoder: AwsChunkedDecoder, pieces) -> tuple[bytes, dict[str, str]]:
    out = bytearray()
    for piece in pieces:
        for part in decoder.feed(piece):
            out += part
    return bytes(out), decoder.finish()


def unsigned(**kw) -> AwsChunkedDecoder:
    kw.setdefault("trailer_names", ("x-amz-checksum-crc32",))
    return AwsChunkedDecoder(**kw)


class UnsignedTrailer(SynchronousTestCase):
    """The STREAMING-UNSIGNED-PAYLOAD-TRAILER bodies botocore sends."""

    def setUp(self):
        self.body = botocore_body()
        crc = Crc32Checksum()
        crc.update(PAYLOAD)
        self.trailers = {"x-amz-checksum-crc32": crc.b64digest()}

    def test_wire_format(self):
        self.assertTrue(self.body.startswith(b"64\r\n"))
        self.assertTrue(self.body.endswith(
            b"\r\n0\r\nx-amz-checksum-crc32:" + self.trailers["x-amz-checksum-crc32"].encode()
            + b"\r\n\r\n"))

    def test_whole(self):
        self.assertEqual(decode(unsigned(decoded_length=len(PAYLOAD)), [self.body]),
                         (PAYLOAD, self.trailers))

    def test_every_two_way_split(self):
        for i in range(len(self.body) + 1):
            self.assertEqual(decode(unsigned(), [self.body[:i], self.body[i:]]),
                             (PAYLOAD, self.trailers), i)

    def test_bytewise(self):
        pieces = [self.body[i:i + 1] for i in range(len(self.body))]
        self.assertEqual(decode(unsigned(), pieces), (PAYLOAD, self.trailers))

    def test_random_splits(self):
        rng = random.Random(1234)
        for _ in range(200):
            cuts = sorted(rng.sample(range(1, len(self.body)), rng.randint(1, 30)))
            pieces = [self.body[a:b] for a, b in zip([0] + cuts, cuts + [len(self.body)])]
            self.assertEqual(decode(unsigned(), pieces), (PAYLOAD, self.trailers))

    def test_zero_copy(self):
        pieces = unsigned().feed(self.body)
        self.assertTrue(all(isinstance(p, memoryview) and p.obj is self.body for p in pieces))

    def test_without_checksum(self):
        body = botocore_body(checksum=False)
        self.assertTrue(body.endswith(b"\r\n0\r\n\r\n"))
        self.assertEqual(decode(AwsChunkedDecoder(), [body]), (PAYLOAD, {}))

    def test_empty_payload(self):
        body = botocore_body(b"")
        self.assertEqual(decode(unsigned(decoded_length=0), [body])[0], b"")

    def test_blank_line_before_trailers(self):
        body = b"3\r\nabc\r\n0\r\n\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n"
        self.assertEqual(decode(unsigned(), [body]),
                         (b"abc", {"x-amz-checksum-crc32": "NSRBwg=="}))

    def test_extensions_and_bare_lf_tolerated(self):
        body = b"3;foo=bar;baz\r\nabc\n0\nx-amz-checksum-crc32: v \n\n"
        self.assertEqual(decode(unsigned(), [body]), (b"abc", {"x-amz-checksum-crc32": "v"}))


class Malformed(SynchronousTestCase):
    def assertFails(self, code, body, decoder=None, at_finish=False):
        decoder = decoder or AwsChunkedDecoder()
        if at_finish:
            decoder.feed(body)
            err = self.assertRaises(S3Error, decoder.finish)
        else:
            err = self.assertRaises(S3Error, decoder.feed, body)
        self.assertEqual(err.code, code)

    def test_bad_size(self):
        for line in (b"zz\r\n", b"\r\n", b"-1\r\n", b"1" * 17 + b"\r\n", b"0x10\r\n"):
            self.assertFails("IncompleteBody", line)

    def test_header_line_too_long(self):
        self.assertFails("InvalidArgument", b"1;" + b"x" * 5000)
        decoder = AwsChunkedDecoder()
        for _ in range(40):
            decoder.feed(b"1;" + b"x" * 98)
        self.assertFails("InvalidArgument", b"x" * 200, decoder)

    def test_trailers_too_large(self):
        decoder = AwsChunkedDecoder()
        decoder.feed(b"0\r\n")
        self.assertFails("InvalidArgument", b"x-a: b\r\n" * 3000, decoder)

    def test_missing_crlf_after_data(self):
        self.assertFails("InvalidArgument", b"3\r\nabcd\r\n")

    def test_data_after_end(self):
        self.assertFails("InvalidArgument", b"0\r\n\r\nmore")
        decoder = AwsChunkedDecoder()
        decoder.feed(b"0\r\n\r\n\r\n")
        self.assertEqual(decoder.finish(), {})

    def test_longer_than_declared(self):
        self.assertFails("InvalidArgument", b"4\r\nabcd\r\n",
                         AwsChunkedDecoder(decoded_length=3))

    def test_shorter_than_declared(self):
        self.assertFails("IncompleteBody", b"2\r\nab\r\n0\r\n\r\n",
                         AwsChunkedDecoder(decoded_length=3), at_finish=True)

    def test_truncated(self):
        for body in (b"", b"3\r\nab", b"3\r\nabc\r\n", b"0\r\n", b"0\r\nx-amz-a:b\r\n"):
            self.assertFails("IncompleteBody", body, at_finish=True)

    def test_declared_trailer_missing(self):
        self.assertFails("IncompleteBody", b"0\r\nx-amz-other:1\r\n\r\n",
                         unsigned(), at_finish=True)

    def test_malformed_trailer(self):
        self.assertFails("IncompleteBody", b"0\r\nno-colon\r\n\r\n")


TIMESTAMP = "20240229T123015Z"
SCOPE = "20240229/us-east-1/s3/aws4_request"


def _key() -> bytes:
    key = ("AWS4" + EXAMPLE_SECRET).encode()
    for part in ("20240229", "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _hmac(text: str) -> str:
    return hmac.new(_key(), text.encode(), hashlib.sha256).hexdigest()


def signed_body(seed: str, chunks: list[bytes], trailers: list[tuple[str, str]] | None) -> bytes:
    """What an SDK sends for the STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] forms."""
    empty = hashlib.sha256(b"").hexdigest()
    previous, out = seed, bytearray()
    for data in chunks + [b""]:
        sig = _hmac("\n".join(["AWS4-HMAC-SHA256-PAYLOAD", TIMESTAMP, SCOPE, previous, empty,
                               hashlib.sha256(data).hexdigest()]))
        out += b"%x;chunk-signature=%s\r\n" % (len(data), sig.encode())
        if data:
            out += data + b"\r\n"
        previous = sig
    if trailers is None:
        return bytes(out) + b"\r\n"
    canonical = "".join(f"{n}:{v}\n" for n, v in trailers)
    trailer_sig = _hmac("\n".join(["AWS4-HMAC-SHA256-TRAILER", TIMESTAMP, SCOPE, previous,
                                   hashlib.sha256(canonical.encode()).hexdigest()]))
    for name, value in trailers:
        out += f"{name}:{value}\r\n".encode()
    return bytes(out) + f"x-amz-trailer-signature:{trailer_sig}\r\n\r\n".encode()


class SignedStreaming(SynchronousTestCase):
    """Through authenticate(): the seed signature comes from a botocore-signed request."""

    def authenticated(self, token: str, length: int, trailer: str | None = None):
        headers = {"x-amz-content-sha256": token, "Content-Encoding": "aws-chunked",
                   "x-amz-decoded-content-length": str(length)}
        if trailer:
            headers["x-amz-trailer"] = trailer
        request = AWSRequest(method="PUT", url="http://localhost/bucket/key", headers=headers)

        class StreamingAuth(S3SigV4Auth):
            def payload(self, request):
                return token  # what SDKs sign for a streaming body

        with frozen_botocore_clock():
            StreamingAuth(Credentials(EXAMPLE_ACCESS, EXAMPLE_SECRET), "s3",
                          "us-east-1").add_auth(request)
        self.assertEqual(request.headers["X-Amz-Content-SHA256"], token)
        info = info_from_botocore(request)
        result = authenticate(info, store(), BOTO_NOW)
        seed = info.header("authorization").rsplit("Signature=", 1)[1]
        return result, seed

    def test_signed_chunks(self):
        chunks = [b"x" * 8192, b"y" * 8192, b"z" * 10]
        result, seed = self.authenticated("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", 16394)
        body = signed_body(seed, chunks, None)
        for step in (len(body), 1, 7, 4096):
            decoder = result.payload.make_decoder()
            pieces = [body[i:i + step] for i in range(0, len(body), step)]
            self.assertEqual(decode(decoder, pieces), (b"".join(chunks), {}))

    def test_signed_trailer(self):
        trailers = [("x-amz-checksum-crc32c", "sOO8/Q==")]
        result, seed = self.authenticated("STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", 5,
                                          "x-amz-checksum-crc32c")
        body = signed_body(seed, [b"hello"], trailers)
        self.assertEqual(decode(result.payload.make_decoder(), [body]),
                         (b"hello", dict(trailers)))
        for i in range(len(body) + 1):
            self.assertEqual(decode(result.payload.make_decoder(), [body[:i], body[i:]]),
                             (b"hello", dict(trailers)))
        tampered = body.replace(b"sOO8/Q==", b"sOO8/R==")
        err = self.assertRaises(S3Error, decode, result.payload.make_decoder(), [tampered])
        self.assertEqual(err.code, "SignatureDoesNotMatch")
        unsigned_trailer = body[:body.index(b"x-amz-trailer-signature")] + b"\r\n"
        err = self.assertRaises(S3Error, decode, result.payload.make_decoder(),
                                [unsigned_trailer])
        self.assertEqual(err.code, "SignatureDoesNotMatch")

    def test_wrong_seed(self):
        result, _ = self.authenticated("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", 5)
        body = signed_body("0" * 64, [b"hello"], None)
        err = self.assertRaises(S3Error, result.payload.make_decoder().feed, body)
        self.assertEqual(err.code, "SignatureDoesNotMatch")

    def test_chunks_reordered(self):
        result, seed = self.authenticated("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", 6)
        body = signed_body(seed, [b"abc", b"def"], None)
        swapped = body.replace(b"abc", b"XXX").replace(b"def", b"abc").replace(b"XXX", b"def")
        err = self.assertRaises(S3Error, result.payload.make_decoder().feed, swapped)
        self.assertEqual(err.code, "SignatureDoesNotMatch")

    def test_missing_chunk_signature(self):
        result, _ = self.authenticated("STREAMING-AWS4-HMAC-SHA256-PAYLOAD", 5)
        err = self.assertRaises(S3Error, result.payload.make_decoder().feed, b"5\r\nhello\r\n")
        self.assertEqual(err.code, "SignatureDoesNotMatch")

    def test_unsigned_trailer_through_authenticate(self):
        result, _ = self.authenticated("STREAMING-UNSIGNED-PAYLOAD-TRAILER", len(PAYLOAD),
                                       "x-amz-checksum-crc32")
        self.assertEqual(result.payload.trailer_names, ("x-amz-checksum-crc32",))
        data, trailers = decode(result.payload.make_decoder(), [botocore_body()])
        self.assertEqual(data, PAYLOAD)
        self.assertIn("x-amz-checksum-crc32", trailers)
