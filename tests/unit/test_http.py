"""The streaming HTTP layer and the S3 resource, driven in process over a
StringTransport with the memory backend: 100-continue, early answers,
backpressure, raw-path keys, error rendering."""
from __future__ import annotations

import hashlib
import os

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.config import load_config
from cloudserver.data.memory import MemoryDataStore
from cloudserver.metadata.kv import MemoryKV
from cloudserver.metadata.service import MetadataService
from cloudserver.s3.context import Backend
from cloudserver.web.site import StreamingSite
from cloudserver.s3.http.resource import S3Resource
from tests.unit.test_auth_helpers import BOTO_NOW, frozen_botocore_clock

HOST = "localhost:8000"
CREDS = Credentials("accessKey1", "verySecretKey1")
WRONG = Credentials("accessKey1", "wrongSecret")


def signed(method: str, path: str, body: bytes = b"", headers: dict | None = None,
           creds: Credentials = CREDS) -> bytes:
    """Raw HTTP/1.1 request bytes signed with SigV4 by botocore at BOTO_NOW."""
    url = "http://" + HOST + path
    req = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    req.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    with frozen_botocore_clock():
        S3SigV4Auth(creds, "s3", "us-east-1").add_auth(req)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}"]
    lines += [f"{k}: {v}" for k, v in req.headers.items()]
    if body or method in ("PUT", "POST"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class HeldWriterStore(MemoryDataStore):
    """A memory store whose writers ask the caller to wait after every write."""

    def __init__(self):
        super().__init__()
        self.waits: list[Deferred] = []

    def create_writer(self):
        writer = super().create_writer()
        store = self
        real_write = writer.write

        def write(data):
            real_write(data)
            d = Deferred()
            store.waits.append(d)
            return d

        writer.write = write
        return writer


class Harness:
    """One S3 site over a StringTransport connection."""

    def __init__(self, data=None):
        self.clock = Clock()
        self.clock.advance(BOTO_NOW)
        env = {k: v for k, v in os.environ.items()
               if k not in ("S3_CONFIG_FILE", "S3AUTH_CONFIG", "S3_LOCATION_FILE",
                            "SCALITY_ACCESS_KEY_ID", "SCALITY_SECRET_ACCESS_KEY")}
        env["S3BACKEND"] = "mem"
        config = load_config(env)
        self.metadata = MetadataService(MemoryKV())
        self.data = data if data is not None else MemoryDataStore()
        backend = Backend(config=config, metadata=self.metadata, data=self.data,
                          clock=self.clock, accounts=config.accounts)
        self.site = StreamingSite(S3Resource(backend, self.clock), reactor=self.clock)
        self.connect()

    def connect(self):
        self.proto = self.site.buildProtocol(None)
        self.transport = StringTransport()
        self.proto.makeConnection(self.transport)

    def send(self, data: bytes) -> bytes:
        self.proto.dataReceived(data)
        out = self.transport.value()
        self.transport.clear()
        return out


def status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


class BucketCase:
    """Mixin for SynchronousTestCase: a Harness with the bucket ``bucket``,
    and ``send`` of signed requests through it."""

    def setUp(self):
        self.h = Harness()
        self.assertEqual(status(self.send("PUT", "/bucket")), 200)

    def send(self, method: str, path: str, body: bytes = b"", headers=None) -> bytes:
        return self.h.send(signed(method, path, body, headers) + body)


class HTTPLayerTests(SynchronousTestCase):
    def setUp(self):
        self.h = Harness()
        out = self.h.send(signed("PUT", "/bucket"))
        self.assertEqual(status(out), 200, out)

    def test_put_get_roundtrip(self):
        out = self.h.send(signed("PUT", "/bucket/a%2Fb", b"hello") + b"hello")
        self.assertEqual(status(out), 200, out)
        self.assertIn(b'ETag: "5d41402abc4b2a76b9719d911017c592"', out)
        out = self.h.send(signed("GET", "/bucket/a%2Fb"))
        self.assertEqual(status(out), 200, out)
        self.assertTrue(out.endswith(b"\r\n\r\nhello"), out)
        # %2F stayed in the key: a listing shows one key "a/b", not a path.
        out = self.h.send(signed("GET", "/bucket?list-type=2"))
        self.assertIn(b"<Key>a/b</Key>", out)

    def test_continue_sent_only_when_body_is_read(self):
        head = signed("PUT", "/bucket/k", b"data", {"Expect": "100-continue"})
        out = self.h.send(head)
        self.assertEqual(out, b"HTTP/1.1 100 Continue\r\n\r\n")
        out = self.h.send(b"data")
        self.assertEqual(status(out), 200, out)

    def test_failed_auth_never_asks_for_body(self):
        head = signed("PUT", "/bucket/k", b"data", {"Expect": "100-continue"}, creds=WRONG)
        out = self.h.send(head)
        self.assertNotIn(b"100 Continue", out)
        self.assertEqual(status(out), 403)
        self.assertIn(b"<Code>SignatureDoesNotMatch</Code>", out)
        self.assertIn(b"Connection: close", out)
        self.assertTrue(self.h.transport.disconnecting)

    def test_early_error_drains_small_body_and_keeps_connection(self):
        bad = signed("PUT", "/nosuchbucket/k", b"data") + b"data"
        good = signed("GET", "/bucket?list-type=2")
        out = self.h.send(bad + good)
        self.assertIn(b"<Code>NoSuchBucket</Code>", out)
        self.assertIn(b"<ListBucketResult", out)
        self.assertFalse(self.h.transport.disconnecting)

    def test_error_document(self):
        out = self.h.send(signed("GET", "/bucket/missing"))
        self.assertEqual(status(out), 404)
        self.assertIn(b"x-amz-request-id", out.lower())
        for part in (b"<Code>NoSuchKey</Code>", b"<Key>missing</Key>",
                     b"<Resource>/bucket/missing</Resource>", b"<RequestId>"):
            self.assertIn(part, out)

    def test_not_implemented(self):
        out = self.h.send(signed("GET", "/bucket?analytics"))
        self.assertEqual(status(out), 501, out)
        self.assertIn(b"<Code>NotImplemented</Code>", out)

    def test_anonymous_denied(self):
        out = self.h.send(b"GET /bucket HTTP/1.1\r\nHost: localhost\r\n\r\n")
        self.assertEqual(status(out), 403, out)

    def test_sha256_mismatch_leaves_nothing(self):
        head = signed("PUT", "/bucket/k", b"good")
        out = self.h.send(head + b"evil")
        self.assertIn(b"<Code>XAmzContentSHA256Mismatch</Code>", out)
        out = self.h.send(signed("GET", "/bucket/k"))
        self.assertEqual(status(out), 404)
        self.assertEqual(len(self.h.data), 0)


class BackpressureTests(SynchronousTestCase):
    def test_slow_store_pauses_the_socket(self):
        store = HeldWriterStore()
        h = Harness(data=store)
        h.send(signed("PUT", "/bucket"))
        body = b"x" * 1000
        h.send(signed("PUT", "/bucket/k", body))
        h.proto.dataReceived(body[:500])
        self.assertEqual(h.transport.producerState, "paused")
        store.waits[0].callback(None)
        self.assertEqual(h.transport.producerState, "producing")
        h.proto.dataReceived(body[500:])
        for d in store.waits[1:]:
            if not d.called:
                d.callback(None)
        out = h.transport.value()
        self.assertEqual(status(out), 200, out)


class HeadTests(SynchronousTestCase):
    def test_head_has_length_no_body(self):
        h = Harness()
        h.send(signed("PUT", "/bucket"))
        h.send(signed("PUT", "/bucket/k", b"12345") + b"12345")
        out = h.send(signed("HEAD", "/bucket/k"))
        self.assertEqual(status(out), 200)
        self.assertIn(b"Content-Length: 5", out)
        self.assertTrue(out.endswith(b"\r\n\r\n"))




class HeldPutMetadata:
    """Delegates to a MetadataService but holds put_object until released."""

    def __init__(self, inner):
        self.inner = inner
        self.held: list = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def put_object(self, *args):
        d = Deferred()
        self.held.append((d, args))
        return d

    def release(self):
        for d, args in self.held:
            self.inner.put_object(*args).chainDeferred(d)


class DisconnectTests(SynchronousTestCase):
    def test_client_gone_during_commit_keeps_object_whole(self):
        """A client that disconnects while its PUT's metadata write is in flight
        must not make the server delete the data that write points to."""
        h = Harness()
        h.send(signed("PUT", "/bucket"))
        held = HeldPutMetadata(h.metadata)
        h.site.resource.backend.metadata = held
        h.send(signed("PUT", "/bucket/k", b"precious") + b"precious")
        self.assertEqual(len(held.held), 1)
        h.proto.connectionLost(ConnectionDone())
        held.release()
        h.site.resource.backend.metadata = h.metadata
        h.connect()
        out = h.send(signed("GET", "/bucket/k"))
        self.assertEqual(status(out), 200, out)
        self.assertTrue(out.endswith(b"precious"))


class ExpectedOwnerTests(SynchronousTestCase):
    def test_expected_bucket_owner(self):
        h = Harness()
        h.send(signed("PUT", "/bucket"))
        owner = h.site.resource.backend.accounts.by_access_key("accessKey1")
        for value, code in ((owner.canonical_id, 200), (owner.shortid, 200),
                            (owner.canonical_id + "foo", 403)):
            out = h.send(signed("GET", "/bucket", headers={
                "x-amz-expected-bucket-owner": value}))
            self.assertEqual(status(out), code, (value, out))


class DateHeaderTests(SynchronousTestCase):
    """twisted.web's Date header, formatted once a second."""

    def test_cache(self):
        from cloudserver.web.site import _DateCache
        dates = _DateCache()
        first = dates.value(0.2)
        self.assertEqual(first, b"Thu, 01 Jan 1970 00:00:00 GMT")
        self.assertIs(dates.value(0.9), first)
        self.assertEqual(dates.value(86400 + 61), b"Fri, 02 Jan 1970 00:01:01 GMT")

    def test_response_has_date_and_server(self):
        h = Harness()
        out = h.send(signed("PUT", "/bucket"))
        self.assertEqual(status(out), 200, out)
        head = out.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        self.assertEqual(sum(1 for line in head if line.startswith(b"Date: ")), 1, head)
        self.assertIn(b"Server: cloudserver", head)


class ResponseHeaderTests(SynchronousTestCase):
    """Headers set straight into twisted's dict are what its methods would set."""

    def test_same_as_public_methods(self):
        from twisted.web.http_headers import Headers

        from cloudserver.s3.context import Response
        from cloudserver.s3.http.resource import S3Resource, _set_headers_public
        responses = [
            Response(status=200, headers=[("Last-Modified", "Thu, 01 Jan 1970 00:00:00 GMT"),
                                          ("ETag", '"abc"'), ("Accept-Ranges", "bytes"),
                                          ("x-amz-version-id", "v1"),
                                          ("x-amz-meta-Mixed", "caf\u00e9"),
                                          ("x-amz-meta-two", "a\r\nb"),
                                          ("Content-Disposition", "x\ny"),
                                          ("content-language", "\u2713")],
                     content_type="text/plain\r\nX: y", length=5),
            Response(status=204),
            Response(status=304, headers=[("ETag", '"e"')]),
            Response.xml(b"<a/>", status=404),
        ]
        for response in responses:
            length = response.length if response.length is not None else len(response.body)
            fast, public = Headers(), Headers()
            for h in (fast, public):
                h.setRawHeaders(b"Server", [b"TwistedWeb"])
                h.setRawHeaders(b"Date", [b"now"])
                h.setRawHeaders(b"Content-Type", [b"text/html"])
            S3Resource._set_headers(fast, response, "RID", length)
            _set_headers_public(public, response, "RID", length)
            self.assertEqual(list(fast.getAllRawHeaders()), list(public.getAllRawHeaders()))


class RequestLineParserTests(SynchronousTestCase):
    """Our request-line parser answers as twisted.web's does."""

    def test_same_answers(self):
        import random

        from cloudserver.web.site import (
            _PARSER_SAMPLES, TWISTED_REQUEST_LINE_PARSER, _answer, parse_request_line)
        rng = random.Random(3)
        alphabet = [bytes([b]) for b in (0, 9, 32, 33, 34, 47, 65, 127, 128, 176, 177, 255)]
        alphabet += [b"GET", b"/", b"HTTP/1.1", b"HTTP/1.0", b"%2F", b" ", b"a"]
        lines = list(_PARSER_SAMPLES)
        for _ in range(5000):
            lines.append(b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8))))
        for line in lines:
            self.assertEqual(_answer(parse_request_line, line),
                             _answer(TWISTED_REQUEST_LINE_PARSER, line), line)

    def test_install(self):
        from twisted.web import http

        from cloudserver.web import site as web_site
        saved = http._parseRequestLine
        self.addCleanup(setattr, http, "_parseRequestLine", saved)
        http._parseRequestLine = web_site.TWISTED_REQUEST_LINE_PARSER
        self.assertTrue(web_site.install_request_line_parser())
        self.assertIs(http._parseRequestLine, web_site.parse_request_line)
        self.assertTrue(web_site.install_request_line_parser())

    def test_not_installed_over_a_different_parser(self):
        from twisted.web import http

        from cloudserver.web import site as web_site
        saved = http._parseRequestLine
        self.addCleanup(setattr, http, "_parseRequestLine", saved)

        def strict(line):  # refuses HTTP/1.0: not what ours does
            method, target, version = web_site.TWISTED_REQUEST_LINE_PARSER(line)
            if version != b"HTTP/1.1":
                raise ValueError(version)
            return method, target, version
        http._parseRequestLine = strict
        self.assertFalse(web_site.install_request_line_parser())
        self.assertIs(http._parseRequestLine, strict)

    def test_site_answers_bad_request_lines_with_400(self):
        h = Harness()
        out = h.send(b"GET /a\x7f\x00b HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 400 "), out)


class AccessLineBytesTests(SynchronousTestCase):
    """The access line counts the body bytes that went out, and a client
    that leaves mid-body is not logged as a 200 (it was, with out=0)."""

    def setUp(self):
        from twisted.internet.task import Cooperator
        from twisted.logger import LogPublisher

        from cloudserver.s3.http.accesslog import AccessLog

        self.steps = []
        store = MemoryDataStore(cooperator=Cooperator(
            terminationPredicateFactory=lambda: lambda: True, scheduler=self.steps.append))
        self.h = Harness(data=store)
        self.events = []
        self.h.site.resource.access_log = AccessLog(self.h.clock,
                                                    LogPublisher(self.events.append))
        self.h.send(signed("PUT", "/bucket"))
        self.body = os.urandom(1 << 20)
        out = self.h.send(signed("PUT", "/bucket/big", self.body) + self.body)
        self.assertEqual(status(out), 200, out)

    def get(self):
        self.h.proto.dataReceived(signed("GET", "/bucket/big"))

    def test_client_gone_mid_get(self):
        self.get()
        self.steps.pop(0)()  # one block out, then the client leaves
        self.assertEqual(self.events[-1]["op"], "PutObject")
        sent = self.h.transport.value().split(b"\r\n\r\n", 1)[1]
        self.assertTrue(0 < len(sent) < len(self.body), len(sent))
        self.h.proto.connectionLost(ConnectionDone())
        event = self.events[-1]
        self.assertEqual(event["op"], "GetObject")
        self.assertEqual(event["status"], 499)
        self.assertEqual(event["bytes_out"], len(sent))
        self.assertIn(f" 499 - in=0 out={len(sent)} ", event["line"])

    def test_whole_get_counts_the_body(self):
        self.get()
        while self.steps:
            self.steps.pop(0)()
        self.assertTrue(self.h.transport.value().endswith(self.body))
        event = self.events[-1]
        self.assertEqual((event["op"], event["status"], event["bytes_out"]),
                         ("GetObject", 200, len(self.body)))

    def test_unsent_buffer_is_not_counted(self):
        self.get()
        self.steps.pop(0)()
        sent = len(self.h.transport.value().split(b"\r\n\r\n", 1)[1])
        transport = self.h.transport
        transport.dataBuffer, transport.offset, transport._tempDataLen = b"x" * 1000, 100, 50
        self.h.proto.connectionLost(ConnectionDone())
        self.assertEqual(self.events[-1]["bytes_out"], sent - 950)

    def test_client_gone_before_the_answer(self):
        held = HeldPutMetadata(self.h.metadata)
        self.h.site.resource.backend.metadata = held
        self.h.send(signed("PUT", "/bucket/k", b"data") + b"data")
        self.h.proto.connectionLost(ConnectionDone())
        held.release()
        event = self.events[-1]
        self.assertEqual((event["op"], event["status"], event["bytes_in"], event["bytes_out"]),
                         ("PutObject", 499, 4, 0))

    def test_store_failure_mid_body_is_not_a_200(self):
        from cloudserver.data.producers import BlockProducer
        from tests.unit.test_data_producers import ListSource

        store = self.h.site.resource.backend.data

        def failing(key, offset, length):
            source = ListSource(store._blobs[key][offset:offset + length], fail_after=1)
            return BlockProducer(source, length, block_size=store._block_size,
                                 cooperator=store._cooperator)
        store.producer = failing
        self.h.transport.abortConnection = lambda: None
        self.get()
        while self.steps:
            self.steps.pop(0)()
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)
        event = self.events[-1]
        self.assertEqual((event["op"], event["status"], event["error"]),
                         ("GetObject", 500, "InternalError"))
        self.assertGreater(event["bytes_out"], 0)
