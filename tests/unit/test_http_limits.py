# -*- test-case-name: tests.unit.test_http_limits -*-
"""A listener's limits, answered (web/limits.py, s3/http/refusals.py): header
sections too large, too many connections, stalled bodies; over a
StringTransport with a fake clock (no sockets, no sleeps)."""
from __future__ import annotations

from lxml import etree
from twisted.internet.address import IPv4Address
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.internet.interfaces import ISSLTransport
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from cloudserver import tls
from cloudserver.s3.http.refusals import S3Refusals
from cloudserver.web.limits import LINGER, LISTEN_BACKLOG, ConnectionCounts, HttpLimits
from cloudserver.web.site import StreamingSite
from tests.unit.test_http import Harness, signed, status


def error_code(response: bytes) -> str:
    body = response.split(b"\r\n\r\n", 1)[1]
    return etree.fromstring(body).findtext("Code")


S3_REFUSALS = S3Refusals()


class HalfClosingTransport(StringTransport):
    """A transport that can close its write side (as TCP's can)."""

    write_closed = False

    def loseWriteConnection(self):
        self.write_closed = True


@implementer(ISSLTransport)
class SecureHalfClosingTransport(HalfClosingTransport):
    """As TLS's wrapper: its loseWriteConnection would reach the TCP socket."""

    def getPeerCertificate(self):
        return None

    def setTcpNoDelay(self, enabled):
        pass


class LimitsHarness(Harness):
    """test_http's harness, its site with ``limits`` and the S3 refusals."""

    def __init__(self, limits: HttpLimits | None = None, refusals=S3_REFUSALS):
        self._ready = False
        super().__init__()
        self.site = StreamingSite(self.site.resource, reactor=self.clock,
                                  limits=limits or HttpLimits(), refusals=refusals)
        self._ready = True
        self.connect()

    def connect(self, host: str = "10.0.0.1", transport=None):
        if not self._ready:
            return None
        self.proto = self.site.buildProtocol(None)
        self.transport = transport or StringTransport(
            peerAddress=IPv4Address("TCP", host, 40000))
        self.proto.makeConnection(self.transport)
        return self.proto


class HeaderSizeTests(SynchronousTestCase):
    """Issue 20: a 20 KB header line was closed without a word; a header
    section over the limit now gets AWS's 400 RequestHeaderSectionTooLarge."""

    def setUp(self):
        self.h = LimitsHarness()

    def assertTooLarge(self, out: bytes, limit: int = 16384):
        self.assertEqual(status(out), 400, out[:300])
        self.assertEqual(error_code(out), "RequestHeaderSectionTooLarge")
        self.assertIn(b"<MaxSizeAllowed>%d</MaxSizeAllowed>" % limit, out)
        self.assertIn(b"Connection: close", out)
        self.assertTrue(self.h.transport.disconnecting)

    def test_one_line_too_long(self):
        out = self.h.send(b"GET /bucket HTTP/1.1\r\nAuthorization: " + b"a" * 20_000 + b"\r\n\r\n")
        self.assertTooLarge(out)

    def test_one_line_too_long_without_its_end(self):
        """No line break yet: LineReceiver's own limit (it used to drop the
        connection silently)."""
        self.assertTooLarge(self.h.send(b"GET /bucket HTTP/1.1\r\nX: " + b"a" * 17_000))

    def test_header_section_too_large(self):
        headers = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 1000) for i in range(20))
        self.assertTooLarge(self.h.send(b"GET /bucket HTTP/1.1\r\n" + headers + b"\r\n"))

    def test_too_many_header_fields(self):
        headers = b"".join(b"X-%d: v\r\n" % i for i in range(600))
        self.assertTooLarge(self.h.send(b"GET /bucket HTTP/1.1\r\n" + headers + b"\r\n"))

    def test_configured_limit(self):
        self.h = LimitsHarness(HttpLimits(max_header_size=4096))
        out = self.h.send(b"GET /bucket HTTP/1.1\r\nX: " + b"a" * 5000 + b"\r\n\r\n")
        self.assertTooLarge(out, 4096)

    def test_under_the_limit_is_served(self):
        out = self.h.send(signed("PUT", "/bucket", headers={"x-amz-meta-a": "v" * 8000}))
        self.assertEqual(status(out), 200, out)

    def test_content_length_of_10000_digits(self):
        """twisted's int() raised past 4,300 digits and dropped the connection
        with a traceback; now 400 EntityTooLarge (413 on a plain site)."""
        out = self.h.send(b"PUT /bucket/k HTTP/1.1\r\nContent-Length: " + b"9" * 10_000
                          + b"\r\n\r\n")
        self.assertEqual((status(out), error_code(out)), (400, "EntityTooLarge"), out[:300])
        self.assertTrue(self.h.transport.disconnecting)
        self.h = LimitsHarness(refusals=None)
        out = self.h.send(b"PUT /k HTTP/1.1\r\nContent-Length: " + b"9" * 10_000 + b"\r\n\r\n")
        self.assertEqual(status(out), 413)
        self.h = LimitsHarness()
        body = b"x" * 3
        out = self.h.send(b"PUT /bucket HTTP/1.1\r\nContent-Length: 0000000000000000000003"
                          b"\r\n\r\n" + body)
        self.assertNotEqual(error_code(out), "EntityTooLarge")  # leading zeros: a length of 3

    def test_plain_site_answers_431(self):
        self.h = LimitsHarness(refusals=None)
        out = self.h.send(b"GET / HTTP/1.1\r\nX: " + b"a" * 20_000 + b"\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"), out)

    def test_linger_then_close(self):
        """With a transport that half-closes: the write side ends at once, what
        the client still sends is dropped, the connection ends after LINGER."""
        transport = HalfClosingTransport(peerAddress=IPv4Address("TCP", "10.0.0.1", 1))
        self.h.connect(transport=transport)
        out = self.h.send(b"GET / HTTP/1.1\r\nX: " + b"a" * 20_000 + b"\r\n\r\n")
        self.assertEqual(status(out), 400)
        self.assertTrue(transport.write_closed)
        self.assertFalse(transport.disconnecting)
        self.assertEqual(self.h.send(b"more junk" * 1000), b"")
        self.h.clock.advance(LINGER)
        self.assertTrue(transport.disconnecting)
        self.h.proto.connectionLost(ConnectionDone())
        self.assertIsNone(self.h.proto._linger)


    def test_slow_headers_linger_too(self):
        """The 408 of the header deadline lingers as well: a slowloris client
        still dripping would otherwise reset the connection before reading it."""
        self.h = LimitsHarness(HttpLimits(header_timeout=3))
        transport = HalfClosingTransport(peerAddress=IPv4Address("TCP", "10.0.0.1", 1))
        self.h.connect(transport=transport)
        out = b""
        for byte in (b"G", b"E", b"T"):
            out += self.h.send(byte)
            self.h.clock.advance(1.1)
        out += transport.value()
        self.assertTrue(out.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), out)
        self.assertTrue(transport.write_closed)
        self.h.send(b"ET / HTTP/1.1")  # dropped
        self.h.clock.advance(LINGER)
        self.assertTrue(transport.disconnecting)

    def test_no_half_close_under_tls(self):
        transport = SecureHalfClosingTransport(peerAddress=IPv4Address("TCP", "10.0.0.1", 1))
        self.h.connect(transport=transport)
        out = self.h.send(b"GET / HTTP/1.1\r\nX: " + b"a" * 20_000 + b"\r\n\r\n")
        self.assertEqual(status(out), 400)
        self.assertFalse(transport.write_closed)
        self.assertTrue(transport.disconnecting)


class ConnectionCapTests(SynchronousTestCase):
    """Connections over the caps get 503 SlowDown before anything is read."""

    def setUp(self):
        self.h = LimitsHarness(HttpLimits(max_connections=3, max_connections_per_client=2))

    def test_per_client_and_total(self):
        first = (self.h.proto, self.h.transport)
        second = self.h.connect("10.0.0.1"), self.h.transport
        self.assertEqual(second[1].value(), b"")
        self.h.connect("10.0.0.1")  # a third from the same address
        out = self.h.transport.value()
        self.assertEqual((status(out), error_code(out)), (503, "SlowDown"))
        self.assertTrue(self.h.transport.disconnecting)
        self.h.proto.connectionLost(ConnectionDone())
        self.h.connect("10.0.0.2")  # another address: served
        self.assertEqual(self.h.transport.value(), b"")
        self.h.connect("10.0.0.3")  # the fourth in all
        self.assertEqual(status(self.h.transport.value()), 503)
        self.h.proto.connectionLost(ConnectionDone())
        # one closes: its place is free again
        first[0].connectionLost(ConnectionDone())
        self.assertEqual(self.h.site.connections.total, 2)
        self.h.connect("10.0.0.1")
        self.assertEqual(self.h.transport.value(), b"")
        self.assertEqual(status(self.h.send(signed("PUT", "/bucket"))), 200)

    def test_counts(self):
        counts = ConnectionCounts(HttpLimits(max_connections=2, max_connections_per_client=1))
        self.assertTrue(counts.admit("a"))
        self.assertFalse(counts.admit("a"))
        self.assertTrue(counts.admit("b"))
        self.assertFalse(counts.admit("c"))
        counts.release("a")
        self.assertEqual((counts.total, counts.of("a")), (1, 0))
        self.assertTrue(counts.admit("c"))


class BodyStallTests(SynchronousTestCase):
    """A request body that stops for idle_timeout gets 400 RequestTimeout, and
    the upload leaves nothing behind (no object, no data)."""

    def setUp(self):
        self.h = LimitsHarness(HttpLimits(idle_timeout=5, min_body_rate=0))
        self.assertEqual(status(self.h.send(signed("PUT", "/bucket"))), 200)

    def test_stalled_body(self):
        body = b"x" * 200_000
        self.h.send(signed("PUT", "/bucket/stalled", body) + body[:1000])
        self.h.clock.advance(4)
        self.assertFalse(self.h.transport.disconnecting)
        self.h.send(body[1000:2000])  # a byte resets the timer
        self.h.clock.advance(4.9)
        self.assertFalse(self.h.transport.disconnecting)
        self.h.clock.advance(0.2)
        out = self.h.transport.value()
        self.assertEqual((status(out), error_code(out)), (400, "RequestTimeout"), out)
        self.assertTrue(self.h.transport.disconnecting)
        self.h.proto.connectionLost(ConnectionDone())
        self.h.clock.advance(1)
        self.h.connect()
        out = self.h.send(signed("GET", "/bucket?list-type=2"))
        self.assertNotIn(b"<Key>stalled</Key>", out)
        self.assertEqual(len(self.h.data), 0)  # the writer aborted: no data kept

    def test_idle_between_requests_just_closes(self):
        self.h.clock.advance(5)
        self.assertTrue(self.h.transport.disconnecting)
        self.assertEqual(self.h.transport.value(), b"")


class BodyRateTests(SynchronousTestCase):
    """A body dripping under min_body_rate per idle_timeout window is cut
    (it is never idle); one at a fair pace is not."""

    def setUp(self):
        self.h = LimitsHarness(HttpLimits(idle_timeout=5, min_body_rate=100))
        self.assertEqual(status(self.h.send(signed("PUT", "/bucket"))), 200)

    def test_dripping_body_is_cut(self):
        body = b"x" * 10_000
        self.h.send(signed("PUT", "/bucket/drip", body))
        for i in range(5):  # 10 bytes a second: never idle, far too slow
            self.h.send(body[i * 10:(i + 1) * 10])
            self.h.clock.advance(0.99)
        self.h.clock.advance(0.1)
        out = self.h.transport.value()
        self.assertEqual((status(out), error_code(out)), (400, "RequestTimeout"), out)
        self.assertTrue(self.h.transport.disconnecting)
        self.h.proto.connectionLost(ConnectionDone())
        self.assertEqual(len(self.h.data), 0)

    def test_fair_pace_is_served(self):
        body = b"x" * 3000
        self.h.send(signed("PUT", "/bucket/fair", body))
        out = b""
        for i in range(15):  # 200 bytes a second over three windows
            out += self.h.send(body[i * 200:(i + 1) * 200])
            self.h.clock.advance(1)
        self.assertEqual(status(out), 200, out)
        self.assertFalse(self.h.transport.disconnecting)


class BacklogTests(SynchronousTestCase):

    def test_listeners_queue_the_configured_backlog(self):
        self.assertEqual(LISTEN_BACKLOG, 1024)
        self.assertEqual(tls.server_endpoint(None, 0)._backlog, 1024)
        self.assertEqual(tls.server_endpoint(None, 0, backlog=7)._backlog, 7)
        service = tls.server_service(None, 0, None, backlog=99)
        self.assertEqual(service.endpoint._backlog, 99)
