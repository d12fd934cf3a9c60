"""The :9991 /DataFile service and its client, without sockets: the server over
a StringTransport, the client (treq) against the server through treq's
in-memory RequestTraversalAgent (iosim underneath)."""
from __future__ import annotations

import treq.client
from treq.testing import RequestTraversalAgent
from twisted.internet import defer
from twisted.internet.error import ConnectionLost
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from cloudserver.data.interfaces import IDataStore, IDataWriter
from cloudserver.data.memory import MemoryDataStore
from cloudserver.data.rest import DataSite, Unsatisfiable, parse_range
from cloudserver.data.rest_client import HIGH_WATER, RestDataStore, _BodyPipe
from cloudserver.metadata.errors import DaemonUnavailable


def status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def body(response: bytes) -> bytes:
    return response.split(b"\r\n\r\n", 1)[1]


class Server:
    def __init__(self, store=None, **options):
        self.store = store if store is not None else MemoryDataStore()
        options.setdefault("reactor", Clock())
        self.site = DataSite(self.store, **options)

    def send(self, data: bytes) -> bytes:
        proto = self.site.buildProtocol(None)
        transport = StringTransport()
        proto.makeConnection(transport)
        proto.dataReceived(data)
        return transport.value()

    def put(self, data: bytes) -> str:
        out = self.send(b"PUT /DataFile HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n"
                        % len(data) + data)
        assert status(out) == 201, out
        location = [line for line in out.split(b"\r\n") if line.lower().startswith(b"location")]
        return location[0].split(b": ", 1)[1].decode()[len("/DataFile/"):]

    def get(self, key: str, headers: bytes = b"") -> bytes:
        return self.send(b"GET /DataFile/%s HTTP/1.1\r\nHost: x\r\n%s\r\n"
                         % (key.encode(), headers))


class RangeTests(SynchronousTestCase):
    def test_parse(self):
        self.assertEqual(parse_range("bytes=0-9", 100), (0, 10))
        self.assertEqual(parse_range("bytes=90-200", 100), (90, 10))
        self.assertEqual(parse_range("bytes=95-", 100), (95, 5))
        self.assertEqual(parse_range("bytes=-10", 100), (90, 10))
        self.assertEqual(parse_range("bytes=-1000", 100), (0, 100))
        for ignored in (None, "", "bytes=5-2", "bytes=0-1,5-6", "items=0-1", "bytes=-"):
            self.assertIsNone(parse_range(ignored, 100), ignored)
        for bad in ("bytes=100-", "bytes=-0", "bytes=0-0"):
            size = 0 if bad == "bytes=0-0" else 100
            self.assertRaises(Unsatisfiable, parse_range, bad, size)


class ServerTests(SynchronousTestCase):
    def setUp(self):
        self.server = Server()

    def test_put_get_delete(self):
        key = self.server.put(b"hello world")
        self.assertEqual(len(key), 40)
        self.assertIn(key, self.server.store)
        out = self.server.get(key)
        self.assertEqual((status(out), body(out)), (200, b"hello world"))
        out = self.server.get(key, b"Range: bytes=6-\r\n")
        self.assertEqual((status(out), body(out)), (206, b"world"))
        self.assertIn(b"Content-Range: bytes 6-10/11", out)
        out = self.server.get(key, b"Range: bytes=-5\r\n")
        self.assertEqual(body(out), b"world")
        out = self.server.get(key, b"Range: bytes=11-\r\n")
        self.assertEqual(status(out), 416)
        self.assertIn(b"Content-Range: bytes */11", out)
        out = self.server.send(b"DELETE /DataFile/%s HTTP/1.1\r\nHost: x\r\n\r\n" % key.encode())
        self.assertEqual(status(out), 204)
        self.assertNotIn(key, self.server.store)
        self.assertEqual(status(self.server.get(key)), 404)
        out = self.server.send(b"DELETE /DataFile/%s HTTP/1.1\r\nHost: x\r\n\r\n" % key.encode())
        self.assertEqual(status(out), 404)

    def test_chunked_put(self):
        out = self.server.send(b"PUT /DataFile HTTP/1.1\r\nHost: x\r\n"
                               b"Transfer-Encoding: chunked\r\n\r\n"
                               b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        self.assertEqual(status(out), 201, out)
        key = out.split(b"Location: /DataFile/")[1][:40].decode()
        self.assertEqual(body(self.server.get(key)), b"abcde")

    def test_empty_blob(self):
        key = self.server.put(b"")
        out = self.server.get(key)
        self.assertEqual((status(out), body(out)), (200, b""))

    def test_keys_cannot_escape(self):
        for path in (b"/DataFile/../../etc/passwd", b"/DataFile/%2e%2e%2fetc",
                     b"/DataFile/" + b"A" * 40, b"/DataFile/abc", b"/etc/passwd", b"/"):
            out = self.server.send(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path)
            self.assertEqual(status(out), 404, path)

    def test_methods(self):
        out = self.server.send(b"GET /DataFile HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual(status(out), 405)
        key = self.server.put(b"x")
        out = self.server.send(b"POST /DataFile/%s HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Length: 0\r\n\r\n" % key.encode())
        self.assertEqual(status(out), 405)

    def test_too_large(self):
        server = Server(max_size=10)
        out = server.send(b"PUT /DataFile HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n")
        self.assertEqual(status(out), 413)
        out = server.send(b"PUT /DataFile HTTP/1.1\r\nHost: x\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n"
                          b"6\r\nabcdef\r\n6\r\nghijkl\r\n0\r\n\r\n")
        self.assertEqual(status(out), 413)
        self.assertEqual(len(server.store), 0)

    def test_disconnect_mid_upload_leaves_nothing(self):
        proto = self.server.site.buildProtocol(None)
        transport = StringTransport()
        proto.makeConnection(transport)
        proto.dataReceived(b"PUT /DataFile HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n"
                           + b"x" * 50)
        proto.connectionLost(Failure(ConnectionLost()))
        self.assertEqual(len(self.server.store), 0)
        self.assertEqual(transport.value(), b"")


class _Agent(RequestTraversalAgent):
    """treq's in-memory agent, serving our streaming DataSite."""

    def __init__(self, site):
        super().__init__(site.resource)
        self._serverFactory = site


class Collector:
    def __init__(self):
        self.data = []

    def write(self, data):
        self.data.append(data)

    def value(self):
        return b"".join(self.data)


class ClientTests(SynchronousTestCase):
    def setUp(self):
        self.backing = MemoryDataStore()
        self.agent = _Agent(DataSite(self.backing, reactor=Clock()))
        self.store = RestDataStore("http://127.0.0.1:9991", treq.client.HTTPClient(self.agent))

    def ok(self, d):
        self.agent.flush()
        return self.successResultOf(d)

    def write_blob(self, *chunks: bytes) -> str:
        writer = self.store.create_writer()
        for chunk in chunks:
            writer.write(chunk)
            self.agent.flush()
        return self.ok(writer.finish())

    def read(self, key, offset, length) -> bytes:
        consumer = Collector()
        d = self.store.producer(key, offset, length).startProducing(consumer)
        self.ok(d)
        return consumer.value()

    def test_interfaces(self):
        verifyObject(IDataStore, self.store)
        verifyObject(IDataWriter, self.store.create_writer())

    def test_round_trip(self):
        key = self.write_blob(b"hello ", b"streaming ", b"world")
        self.assertEqual(self.backing._blobs[key], b"hello streaming world")
        self.assertEqual(self.read(key, 0, 21), b"hello streaming world")
        self.assertEqual(self.read(key, 6, 9), b"streaming")
        self.assertEqual(self.read(key, 0, 0), b"")
        self.ok(self.store.delete(key))
        self.assertNotIn(key, self.backing)
        self.ok(self.store.delete(key))  # missing: fine

    def test_missing_blob(self):
        consumer = Collector()
        d = self.store.producer("a" * 40, 0, 5).startProducing(consumer)
        self.agent.flush()
        self.failureResultOf(d, KeyError)
        self.assertRaises(KeyError, self.store.producer, "../etc", 0, 1)

    def test_finish_before_connection(self):
        """All the bytes written and finished before the request even started."""
        writer = self.store.create_writer()
        writer.write(b"early")
        d = writer.finish()
        key = self.ok(d)
        self.assertEqual(self.backing._blobs[key], b"early")

    def test_abort_before_finish(self):
        writer = self.store.create_writer()
        writer.write(b"partial")
        self.agent.flush()
        self.ok(writer.abort())
        self.agent.flush()
        self.assertEqual(len(self.backing), 0)
        self.assertRaises(defer.CancelledError, writer.write, b"more")

    def test_before_commit_runs_before_the_body_ends(self):
        writer = self.store.create_writer()
        writer.write(b"data")
        self.agent.flush()
        ended = []
        d = writer.finish(before_commit=lambda: ended.append(writer._pipe.ended))
        key = self.ok(d)
        self.assertEqual(ended, [False])
        self.assertEqual(self.backing._blobs[key], b"data")

    def test_before_commit_that_raises_stores_nothing(self):
        writer = self.store.create_writer()
        writer.write(b"data")
        self.agent.flush()

        def mismatch():
            raise ValueError("BadDigest")

        d = writer.finish(before_commit=mismatch)
        self.agent.flush()
        self.failureResultOf(d, ValueError)
        self.ok(writer.abort())
        self.agent.flush()
        self.assertEqual(len(self.backing), 0)

    def test_abort_after_finish_deletes(self):
        writer = self.store.create_writer()
        writer.write(b"data")
        key = self.ok(writer.finish())
        self.ok(writer.abort())
        self.assertNotIn(key, self.backing)

    def test_server_error_fails_writer(self):
        site = DataSite(self.backing, max_size=4, reactor=Clock())
        self.agent = _Agent(site)
        self.store = RestDataStore("http://x", treq.client.HTTPClient(self.agent))
        writer = self.store.create_writer()
        writer.write(b"too much data")
        d = writer.finish()
        self.agent.flush()
        self.failureResultOf(d, IOError)
        self.assertEqual(len(self.backing), 0)


class FakeConsumer:
    def __init__(self):
        self.data = []

    def write(self, data):
        self.data.append(data)


class PipeTests(SynchronousTestCase):
    """The PUT body pipe: backpressure without buffering more than HIGH_WATER."""

    def test_backpressure(self):
        pipe = _BodyPipe()
        consumer = FakeConsumer()
        done = pipe.startProducing(consumer)
        self.assertIsNone(pipe.push(b"a"))
        self.assertEqual(consumer.data, [b"a"])
        pipe.pauseProducing()
        self.assertIsNone(pipe.push(b"b" * (HIGH_WATER - 1)))
        wait = pipe.push(b"c")
        self.assertNoResult(wait)
        self.assertEqual(len(consumer.data), 1)
        pipe.resumeProducing()
        self.successResultOf(wait)
        self.assertEqual(b"".join(consumer.data), b"a" + b"b" * (HIGH_WATER - 1) + b"c")
        pipe.end()
        self.successResultOf(done)

    def test_buffer_before_start(self):
        pipe = _BodyPipe()
        self.assertIsNone(pipe.push(b"x"))
        wait = pipe.push(b"y" * HIGH_WATER)
        self.assertNoResult(wait)
        pipe.end()
        consumer = FakeConsumer()
        done = pipe.startProducing(consumer)
        self.successResultOf(wait)
        self.successResultOf(done)
        self.assertEqual(len(b"".join(consumer.data)), HIGH_WATER + 1)

    def test_stop_fails_waiters(self):
        pipe = _BodyPipe()
        wait = pipe.push(b"y" * HIGH_WATER)
        pipe.stopProducing()
        self.failureResultOf(wait, defer.CancelledError)


class UnreachableTests(SynchronousTestCase):
    def test_refused_is_daemon_unavailable(self):
        from twisted.internet.error import ConnectionRefusedError

        class Refusing:
            def request(self, *a, **kw):
                return defer.fail(ConnectionRefusedError())

            def get(self, *a, **kw):
                return defer.fail(ConnectionRefusedError())

            def delete(self, *a, **kw):
                return defer.fail(ConnectionRefusedError())

        store = RestDataStore("http://x", Refusing())
        writer = store.create_writer()
        self.failureResultOf(writer.write(b"x" * HIGH_WATER) or writer.finish(),
                             DaemonUnavailable)
        self.failureResultOf(store.producer("a" * 40, 0, 1).startProducing(FakeConsumer()),
                             DaemonUnavailable)
        self.failureResultOf(store.delete("a" * 40), DaemonUnavailable)
