# -*- test-case-name: tests.unit.test_body -*-
"""RequestBody's socket read size: large bodies are read in big pieces, and
the transport gets its own size back when the body is in."""
from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.web.body import LARGE_BODY, LARGE_READ_SIZE, RequestBody


class FakeTCPTransport:
    bufferSize = 65536


class FakeProducer:
    def __init__(self):
        self.paused = False

    def pauseProducing(self):
        self.paused = True

    def resumeProducing(self):
        self.paused = False


class FakeChannel:
    def __init__(self, transport):
        self.transport = transport
        self._networkProducer = FakeProducer()


class FakeRequest:
    def __init__(self, transport):
        self.channel = FakeChannel(transport)
        self.continues = 0

    def send_continue(self):
        self.continues += 1


class ReadSizeTests(SynchronousTestCase):
    def start(self, length, transport=None):
        transport = transport if transport is not None else FakeTCPTransport()
        self.transport = transport
        self.pieces = []
        body = RequestBody(FakeRequest(transport), length)
        done = body.start(self.pieces.append)
        return body, done

    def test_large_body_reads_large_pieces_until_it_ends(self):
        body, done = self.start(LARGE_BODY * 4)
        self.assertEqual(self.transport.bufferSize, LARGE_READ_SIZE)
        body.feed(b"x" * 10)
        body.end()
        self.assertEqual(self.successResultOf(done), {})
        self.assertEqual(self.transport.bufferSize, 65536)
        self.assertEqual(self.pieces, [b"x" * 10])

    def test_unknown_length_counts_as_large(self):
        body, done = self.start(None)
        self.assertEqual(self.transport.bufferSize, LARGE_READ_SIZE)
        body.end()
        self.assertEqual(self.transport.bufferSize, 65536)

    def test_small_body_keeps_the_transport_size(self):
        body, done = self.start(LARGE_BODY - 1)
        self.assertEqual(self.transport.bufferSize, 65536)
        body.end()
        self.assertEqual(self.transport.bufferSize, 65536)

    def test_failed_body_restores_when_the_rest_is_in(self):
        def failing(piece):
            raise ValueError("no")

        transport = FakeTCPTransport()
        body = RequestBody(FakeRequest(transport), LARGE_BODY)
        done = body.start(failing)
        body.feed(b"abc")
        self.failureResultOf(done, ValueError)
        self.assertEqual(transport.bufferSize, LARGE_READ_SIZE)  # draining the rest
        body.end()
        self.assertEqual(transport.bufferSize, 65536)

    def test_transport_without_read_size_untouched(self):
        class Other:
            pass

        transport = Other()
        body, done = self.start(LARGE_BODY, transport)
        self.assertFalse(hasattr(transport, "bufferSize"))
        body.end()
        self.successResultOf(done)

    def test_tls_wrapper_untouched(self):
        """TLSMemoryBIOProtocol forwards unknown attributes to the TCP
        transport underneath: setting one on the wrapper would do nothing."""
        tcp = FakeTCPTransport()

        class TLSLike:
            def __getattr__(self, name):
                return getattr(tcp, name)

        transport = TLSLike()
        body, done = self.start(LARGE_BODY, transport)
        self.assertNotIn("bufferSize", vars(transport))
        self.assertEqual(tcp.bufferSize, 65536)
        body.end()
        self.successResultOf(done)

    def test_already_large_transport_untouched(self):
        transport = FakeTCPTransport()
        transport.bufferSize = LARGE_READ_SIZE * 2
        body, done = self.start(LARGE_BODY, transport)
        body.end()
        self.assertEqual(transport.bufferSize, LARGE_READ_SIZE * 2)

    def test_body_complete_before_start(self):
        transport = FakeTCPTransport()
        body = RequestBody(FakeRequest(transport), LARGE_BODY)
        body.feed(b"abc")
        body.end()
        pieces = []
        self.successResultOf(body.start(pieces.append))
        self.assertEqual(transport.bufferSize, 65536)
        self.assertEqual(pieces, [b"abc"])

    def test_backpressure_still_pauses(self):
        waits = []

        def slow(piece):
            d = Deferred()
            waits.append(d)
            return d

        transport = FakeTCPTransport()
        request = FakeRequest(transport)
        body = RequestBody(request, LARGE_BODY)
        done = body.start(slow)
        body.feed(b"abc")
        self.assertTrue(request.channel._networkProducer.paused)
        waits[0].callback(None)
        self.assertFalse(request.channel._networkProducer.paused)
        body.end()
        self.successResultOf(done)
