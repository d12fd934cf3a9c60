"""HTTP/1.1 as clients use it, over a StringTransport with a fake clock:
keep-alive, pipelining, Connection: close, HTTP/1.0, 100-continue, chunked
transfer encoding on uploads (and MissingContentLength without a length),
the idle timeout and the slow-header deadline."""
from __future__ import annotations

import re

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.web import connection
from cloudserver.web.site import StreamingSite
from tests.unit.test_auth_helpers import frozen_botocore_clock
from tests.unit.test_http import CREDS, HOST, Harness, HeldWriterStore, signed, status


class ClockHarness(Harness):
    """test_http's harness, with the site's timers on the fake clock."""

    def __init__(self, data=None):
        self._ready = False
        super().__init__(data)
        self.site = StreamingSite(self.site.resource, reactor=self.clock)
        self._ready = True
        self.connect()

    def connect(self):
        if self._ready:  # not with the base class's site (global reactor timers)
            super().connect()


def chunked(body: bytes, size: int = 3) -> bytes:
    pieces = [body[i:i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


def te_chunked(head: bytes) -> bytes:
    """A signed request head with Transfer-Encoding: chunked instead of a length."""
    head = re.sub(rb"Content-Length: \d+\r\n", b"", head)
    return head[:-2] + b"Transfer-Encoding: chunked\r\n\r\n"


class _TokenSigner(S3SigV4Auth):
    """SigV4 with a given x-amz-content-sha256 (botocore would hash the body)."""

    def __init__(self, token, *args):
        super().__init__(*args)
        self.token = token

    def payload(self, request):
        return self.token


def streaming_signed(method: str, path: str, token: str, headers: dict) -> bytes:
    """A request head signed with an aws-chunked x-amz-content-sha256 token."""
    req = AWSRequest(method=method, url="http://" + HOST + path, headers=dict(headers))
    with frozen_botocore_clock():
        _TokenSigner(token, CREDS, "s3", "us-east-1").add_auth(req)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}"]
    lines += [f"{k}: {v}" for k, v in req.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def without_length(head: bytes) -> bytes:
    return re.sub(rb"Content-Length: \d+\r\n", b"", head)


class _Base(SynchronousTestCase):
    def setUp(self):
        self.h = ClockHarness()
        out = self.h.send(signed("PUT", "/bucket"))
        self.assertEqual(status(out), 200, out)


class KeepAliveTests(_Base):

    def test_many_requests_one_connection(self):
        for i in range(5):
            body = b"x" * i
            out = self.h.send(signed("PUT", f"/bucket/k{i}", body) + body)
            self.assertEqual(status(out), 200, out)
            self.assertNotIn(b"Connection: close", out)
        out = self.h.send(signed("GET", "/bucket?list-type=2"))
        self.assertEqual(out.count(b"<Key>"), 5)
        self.assertFalse(self.h.transport.disconnecting)

    def test_connection_close(self):
        out = self.h.send(signed("GET", "/bucket?list-type=2", headers={"Connection": "close"}))
        self.assertEqual(status(out), 200, out)
        self.assertIn(b"Connection: close", out)
        self.assertTrue(self.h.transport.disconnecting)

    def test_connection_close_among_other_tokens(self):
        out = self.h.send(signed("GET", "/bucket?list-type=2",
                                 headers={"Connection": "close, TE", "TE": "trailers"}))
        self.assertIn(b"Connection: close", out)
        self.assertTrue(self.h.transport.disconnecting)

    def test_keep_alive_token(self):
        out = self.h.send(signed("GET", "/bucket?list-type=2",
                                 headers={"Connection": "keep-alive"}))
        self.assertEqual(status(out), 200, out)
        self.assertFalse(self.h.transport.disconnecting)

    def test_http10_closes(self):
        head = signed("GET", "/bucket?list-type=2").replace(b"HTTP/1.1", b"HTTP/1.0", 1)
        out = self.h.send(head)
        self.assertEqual(status(out), 200, out)
        self.assertTrue(self.h.transport.disconnecting)

    def test_error_keeps_connection(self):
        out = self.h.send(signed("GET", "/bucket/missing"))
        self.assertEqual(status(out), 404)
        out = self.h.send(signed("GET", "/nosuchbucket/k"))
        self.assertEqual(status(out), 404)
        self.assertFalse(self.h.transport.disconnecting)


class PipeliningTests(_Base):

    def test_requests_in_one_segment_answered_in_order(self):
        data = (signed("PUT", "/bucket/a", b"first") + b"first"
                + signed("PUT", "/bucket/b", b"second!") + b"second!"
                + signed("GET", "/bucket/a")
                + signed("HEAD", "/bucket/b")
                + signed("GET", "/bucket/missing")
                + signed("GET", "/bucket?list-type=2"))
        out = self.h.send(data)
        statuses = re.findall(rb"HTTP/1.1 (\d+)", out)
        self.assertEqual(statuses, [b"200", b"200", b"200", b"200", b"404", b"200"], out)
        self.assertIn(b"\r\n\r\nfirst", out)
        self.assertLess(out.index(b"\r\n\r\nfirst"), out.index(b"<Code>NoSuchKey"))
        self.assertTrue(out.endswith(b"</ListBucketResult>"), out[-200:])
        self.assertFalse(self.h.transport.disconnecting)

    def test_byte_by_byte(self):
        data = (signed("PUT", "/bucket/a", b"abc") + b"abc" + signed("GET", "/bucket/a"))
        out = b""
        for i in range(len(data)):
            out += self.h.send(data[i:i + 1])
        self.assertEqual(re.findall(rb"HTTP/1.1 (\d+)", out), [b"200", b"200"])
        self.assertTrue(out.endswith(b"\r\n\r\nabc"), out)

    def test_pipelined_after_slow_store(self):
        store = HeldWriterStore()
        h = ClockHarness(data=store)
        h.send(signed("PUT", "/bucket"))
        for d in store.waits:
            d.callback(None)
        out = h.send(signed("PUT", "/bucket/a", b"abc") + b"abc" + signed("GET", "/bucket/a"))
        self.assertEqual(out, b"")  # the write is held: nothing answered yet
        for d in store.waits:
            if not d.called:
                d.callback(None)
        out = h.transport.value()
        self.assertEqual(re.findall(rb"HTTP/1.1 (\d+)", out), [b"200", b"200"], out)
        self.assertTrue(out.endswith(b"\r\n\r\nabc"), out)

    def test_connection_close_stops_the_pipeline(self):
        data = (signed("GET", "/bucket?list-type=2", headers={"Connection": "close"})
                + signed("GET", "/bucket?list-type=2"))
        out = self.h.send(data)
        self.assertEqual(out.count(b"HTTP/1.1 200"), 1, out)
        self.assertTrue(self.h.transport.disconnecting)


class ContinueTests(_Base):

    def test_continue_then_keep_alive(self):
        out = self.h.send(signed("PUT", "/bucket/k", b"data", {"Expect": "100-continue"}))
        self.assertEqual(out, b"HTTP/1.1 100 Continue\r\n\r\n")
        out = self.h.send(b"data")
        self.assertEqual(status(out), 200, out)
        out = self.h.send(signed("GET", "/bucket/k"))
        self.assertTrue(out.endswith(b"\r\n\r\ndata"), out)

    def test_no_continue_for_bucket_error(self):
        out = self.h.send(signed("PUT", "/nosuchbucket/k", b"data",
                                 {"Expect": "100-continue"}))
        self.assertNotIn(b"100 Continue", out)
        self.assertIn(b"<Code>NoSuchBucket</Code>", out)
        # The client will not send the body: the connection cannot be reused.
        self.assertIn(b"Connection: close", out)
        self.assertTrue(self.h.transport.disconnecting)

    def test_http10_expect_ignored(self):
        head = signed("PUT", "/bucket/k", b"data", {"Expect": "100-continue"})
        out = self.h.send(head.replace(b"HTTP/1.1", b"HTTP/1.0", 1) + b"data")
        self.assertNotIn(b"100 Continue", out)
        self.assertEqual(status(out), 200, out)

    def test_continue_with_chunked_body(self):
        head = te_chunked(signed("PUT", "/bucket/k", b"chunked body",
                                 {"Expect": "100-continue"}))
        self.assertEqual(self.h.send(head), b"HTTP/1.1 100 Continue\r\n\r\n")
        out = self.h.send(chunked(b"chunked body"))
        self.assertEqual(status(out), 200, out)


class ChunkedUploadTests(_Base):

    def test_put_object_chunked(self):
        body = b"0123456789" * 50
        out = self.h.send(te_chunked(signed("PUT", "/bucket/k", body)) + chunked(body, 7))
        self.assertEqual(status(out), 200, out)
        out = self.h.send(signed("GET", "/bucket/k"))
        self.assertIn(b"Content-Length: 500", out)
        self.assertTrue(out.endswith(body), out[-100:])
        self.assertFalse(self.h.transport.disconnecting)

    def test_put_object_chunked_bad_sha256(self):
        out = self.h.send(te_chunked(signed("PUT", "/bucket/k", b"good")) + chunked(b"evil"))
        self.assertIn(b"<Code>XAmzContentSHA256Mismatch</Code>", out)
        self.assertEqual(status(self.h.send(signed("GET", "/bucket/k"))), 404)

    def test_upload_part_chunked(self):
        out = self.h.send(signed("POST", "/bucket/mp?uploads"))
        upload_id = re.search(rb"<UploadId>([^<]+)</UploadId>", out).group(1).decode()
        body = b"p" * 1000
        path = f"/bucket/mp?partNumber=1&uploadId={upload_id}"
        out = self.h.send(te_chunked(signed("PUT", path, body)) + chunked(body, 100))
        self.assertEqual(status(out), 200, out)
        etag = re.search(rb'ETag: ("[0-9a-f]+")', out).group(1).decode()
        xml = (f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
               f"<ETag>{etag}</ETag></Part></CompleteMultipartUpload>").encode()
        out = self.h.send(signed("POST", f"/bucket/mp?uploadId={upload_id}", xml) + xml)
        self.assertEqual(status(out), 200, out)
        out = self.h.send(signed("GET", "/bucket/mp"))
        self.assertTrue(out.endswith(body))

    def test_xml_body_chunked(self):
        xml = (b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
               b"<Status>Enabled</Status></VersioningConfiguration>")
        out = self.h.send(te_chunked(signed("PUT", "/bucket?versioning", xml)) + chunked(xml))
        self.assertEqual(status(out), 200, out)
        out = self.h.send(signed("GET", "/bucket?versioning"))
        self.assertIn(b"<Status>Enabled</Status>", out)

    def test_no_length_at_all(self):
        out = self.h.send(without_length(signed("PUT", "/bucket/k", b"")))
        self.assertEqual(status(out), 411, out)
        self.assertIn(b"<Code>MissingContentLength</Code>", out)
        self.assertFalse(self.h.transport.disconnecting)

    def test_aws_chunked_needs_decoded_length(self):
        head = streaming_signed("PUT", "/bucket/k", "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
                                {"Content-Encoding": "aws-chunked",
                                 "x-amz-trailer": "x-amz-checksum-crc32",
                                 "Transfer-Encoding": "chunked"})
        out = self.h.send(head)
        self.assertEqual(status(out), 411, out)
        self.assertIn(b"<Code>MissingContentLength</Code>", out)

    def test_malformed_chunking_is_400(self):
        head = te_chunked(signed("PUT", "/bucket/k", b"abc"))
        out = self.h.send(head + b"zz\r\nabc\r\n")
        self.assertIn(b"400", out.split(b"\r\n", 1)[0] + out)
        self.assertTrue(self.h.transport.disconnecting)


class TimeoutTests(_Base):

    def test_idle_connection_closed(self):
        self.h.clock.advance(connection.IDLE_TIMEOUT - 1)
        self.assertFalse(self.h.transport.disconnecting)
        self.h.clock.advance(1)
        self.assertTrue(self.h.transport.disconnecting)

    def test_activity_postpones_idle_timeout(self):
        for _ in range(3):
            self.h.clock.advance(connection.IDLE_TIMEOUT - 1)
            out = self.h.send(signed("GET", "/bucket?list-type=2"))
            self.assertEqual(status(out), 200)
        self.assertFalse(self.h.transport.disconnecting)

    def test_slow_headers_get_408(self):
        head = signed("GET", "/bucket?list-type=2")
        step = connection.HEADER_TIMEOUT / 10
        out = b""
        for i in range(12):  # one byte every `step` seconds: never idle, always slow
            out += self.h.send(head[i:i + 1])
            self.h.clock.advance(step)
        self.assertTrue(out.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), out)
        self.assertTrue(self.h.transport.disconnecting)

    def test_header_deadline_per_request(self):
        # Two requests, each taking most of the deadline, on one connection.
        for _ in range(2):
            head = signed("GET", "/bucket?list-type=2")
            self.h.send(head[:10])
            self.h.clock.advance(connection.HEADER_TIMEOUT - 1)
            out = self.h.send(head[10:])
            self.assertEqual(status(out), 200, out)
        self.h.clock.advance(connection.HEADER_TIMEOUT + 1)  # idle, not slow: no 408
        self.assertEqual(self.h.transport.value(), b"")

    def test_deadline_of_a_later_request(self):
        # The one timer of the connection runs from the first request; the
        # second request's deadline counts from its own first byte.
        out = self.h.send(signed("GET", "/bucket?list-type=2"))
        self.assertEqual(status(out), 200)
        self.h.clock.advance(20)
        self.h.send(b"GET /bucket HT")
        self.h.clock.advance(connection.HEADER_TIMEOUT - 1)
        self.assertEqual(self.h.transport.value(), b"")
        self.h.clock.advance(1)
        self.assertTrue(self.h.transport.value().startswith(b"HTTP/1.1 408 "))

    def test_one_header_timer_for_many_requests(self):
        for _ in range(5):
            out = self.h.send(signed("GET", "/bucket?list-type=2"))
            self.assertEqual(status(out), 200)
        timers = [c for c in self.h.clock.getDelayedCalls()
                  if c.func == self.h.proto._header_timer_fired]
        self.assertEqual(len(timers), 1)

    def test_slow_body_times_out(self):
        body = b"x" * 100
        self.h.send(signed("PUT", "/bucket/k", body) + body[:50])
        self.h.clock.advance(connection.IDLE_TIMEOUT)
        self.assertTrue(self.h.transport.disconnecting)

    def test_paused_body_does_not_time_out(self):
        store = HeldWriterStore()
        h = ClockHarness(data=store)
        h.send(signed("PUT", "/bucket"))
        for d in store.waits:
            d.callback(None)
        body = b"x" * 1000
        h.send(signed("PUT", "/bucket/k", body) + body[:500])
        self.assertEqual(h.transport.producerState, "paused")
        h.clock.advance(connection.IDLE_TIMEOUT * 3)
        self.assertFalse(h.transport.disconnecting)
        store.waits[0].callback(None)
        h.proto.dataReceived(body[500:])
        for d in store.waits[1:]:
            if not d.called:
                d.callback(None)
        self.assertEqual(status(h.transport.value()), 200)
        h.transport.clear()
        h.clock.advance(connection.IDLE_TIMEOUT)
        self.assertTrue(h.transport.disconnecting)

    def test_no_timer_left_after_close(self):
        self.h.send(b"GET /bucket HT")
        self.h.proto.connectionLost(None)
        self.assertEqual(self.h.clock.getDelayedCalls(), [])

    def test_long_response_not_cut_by_idle_timeout(self):
        # While a request is being handled the idle timer is off (twisted.web).
        store = HeldWriterStore()
        h = ClockHarness(data=store)
        h.send(signed("PUT", "/bucket"))
        for d in store.waits:
            d.callback(None)
        h.send(signed("PUT", "/bucket/k", b"abc") + b"abc")
        h.clock.advance(connection.IDLE_TIMEOUT * 2)  # the store takes its time
        self.assertFalse(h.transport.disconnecting)
        for d in store.waits:
            if not d.called:
                d.callback(None)
        self.assertEqual(status(h.transport.value()), 200)
