"""Graceful stop (cloudserver/web/drain.py): connections drained with a fake
clock over StringTransports -- idle ones closed at once, busy ones closed
after their response, the rest cut at the deadline -- the services stopped
one after the other, the metadata RPC server's drain, and shutdownTimeout."""
from __future__ import annotations

import json
import os

from twisted.application import service
from twisted.internet import defer
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.config import ConfigError, load_config
from cloudserver.metadata.errors import NoSuchKey
from cloudserver.metadata.rpc_server import MetadataRPCFactory
from cloudserver.web.drain import ConnectionDrain, SequentialMultiService
from tests.unit.test_http import Harness, HeldWriterStore, signed, status
from tests.unit.test_metadata_rpc import HeldService, lines, request


class FakeConnection:
    """A connection as ConnectionDrain sees it: busy or not."""

    def __init__(self, drain, busy=False):
        self.drain = drain
        self.busy = busy
        self.transport = StringTransport()
        self.closing = False
        drain.add(self)

    def begin_drain(self):
        self.closing = True
        if not self.busy:
            self.lost()

    def lost(self):
        self.drain.remove(self)


class ConnectionDrainTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.drain = ConnectionDrain(self.clock)

    def test_nothing_open(self):
        self.assertIsNone(self.successResultOf(self.drain.drain(30)))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_idle_closed_busy_awaited(self):
        idle, busy = FakeConnection(self.drain), FakeConnection(self.drain, busy=True)
        d = self.drain.drain(30)
        self.assertTrue(idle.closing and busy.closing)
        self.assertEqual(self.drain.connections, {busy})
        self.assertNoResult(d)
        self.clock.advance(10)
        busy.lost()
        self.successResultOf(d)
        self.assertFalse(busy.transport.disconnected)  # ended by itself, not aborted
        self.assertEqual(self.clock.getDelayedCalls(), [])  # deadline cancelled

    def test_deadline_aborts(self):
        busy = FakeConnection(self.drain, busy=True)
        d = self.drain.drain(5)
        self.clock.advance(4.9)
        self.assertFalse(busy.transport.disconnected)
        self.clock.advance(0.1)
        self.assertTrue(busy.transport.disconnected)  # abortConnection
        self.assertNoResult(d)  # until the connection is actually lost
        busy.lost()
        self.successResultOf(d)

    def test_connection_made_while_draining(self):
        FakeConnection(self.drain, busy=True).lost()
        d = self.drain.drain(5)
        self.successResultOf(d)
        late = FakeConnection(self.drain, busy=True)
        self.assertTrue(late.closing)

    def test_second_drain_waits_too(self):
        busy = FakeConnection(self.drain, busy=True)
        first, second = self.drain.drain(5), self.drain.drain(5)
        self.assertNoResult(second)
        busy.lost()
        self.successResultOf(first)
        self.successResultOf(second)


def held_put(key: str, body: bytes) -> bytes:
    return signed("PUT", "/bucket/" + key, body) + body


class HTTPDrainTests(SynchronousTestCase):
    """The S3 site's channels (StreamingChannel) under a drain."""

    def setUp(self):
        self.store = HeldWriterStore()
        self.h = Harness(self.store)
        self.assertEqual(status(self.h.send(signed("PUT", "/bucket"))), 200)
        self.store.waits.clear()

    def lose(self):
        self.h.proto.connectionLost(Failure(ConnectionDone()))

    def release_writes(self):
        while self.store.waits:
            self.store.waits.pop(0).callback(None)

    def test_idle_keepalive_closed_at_once(self):
        d = self.h.site.drain.drain(30)
        self.assertTrue(self.h.transport.disconnecting)
        self.assertFalse(self.h.transport.disconnected)  # closed, not aborted
        self.lose()
        self.successResultOf(d)

    def test_busy_finishes_with_connection_close(self):
        out = self.h.send(held_put("k", b"hello"))
        self.assertEqual(out, b"")  # the write is held: no response yet
        d = self.h.site.drain.drain(30)
        idle = self.h.site.when_idle()  # the handler runs
        self.assertFalse(self.h.transport.disconnecting)
        self.assertNoResult(idle)
        self.release_writes()
        self.successResultOf(idle)
        out = self.h.transport.value()
        self.assertEqual(status(out), 200, out)
        self.assertIn(b"Connection: close", out)
        self.assertTrue(self.h.transport.disconnecting)
        self.assertNoResult(d)
        self.lose()
        self.successResultOf(d)
        self.assertEqual(len(self.store), 1)

    def test_request_during_drain_answered_with_close(self):
        """A request whose headers arrive while draining (its first bytes
        came before) is answered, with Connection: close."""
        head = signed("GET", "/bucket?list-type=2")
        self.h.proto.dataReceived(head[:10])  # a request under way
        d = self.h.site.drain.drain(30)
        self.assertFalse(self.h.transport.disconnecting)
        self.h.proto.dataReceived(head[10:])
        out = self.h.transport.value()
        self.assertEqual(status(out), 200, out)
        self.assertIn(b"Connection: close", out)
        self.assertTrue(self.h.transport.disconnecting)
        self.lose()
        self.successResultOf(d)

    def test_deadline_cuts_upload_leaving_nothing(self):
        body = b"x" * 100
        self.h.proto.dataReceived(signed("PUT", "/bucket/cut", body) + body[:40])
        d = self.h.site.drain.drain(2)
        self.h.clock.advance(2)
        self.assertTrue(self.h.transport.disconnected)  # aborted
        self.lose()
        self.release_writes()
        self.successResultOf(d)
        self.assertEqual(len(self.store), 0)
        self.failureResultOf(self.h.metadata.get_object("bucket", "cut"), NoSuchKey)


class SequentialStopTests(SynchronousTestCase):
    def test_last_first_each_after_the_previous(self):
        stopped, pending = [], {}

        class Child(service.Service):
            def __init__(self, name):
                self.name = name

            def stopService(self):
                super().stopService()
                stopped.append(self.name)
                pending[self.name] = defer.Deferred()
                return pending[self.name]

        top = SequentialMultiService()
        for name in ("pool", "stores", "front"):
            Child(name).setServiceParent(top)
        top.startService()
        d = top.stopService()
        self.assertEqual(stopped, ["front"])
        pending["front"].callback(None)
        self.assertEqual(stopped, ["front", "stores"])
        pending["stores"].errback(RuntimeError("close failed"))  # logged, next one stops
        self.assertEqual(stopped, ["front", "stores", "pool"])
        self.assertNoResult(d)
        pending["pool"].callback(None)
        self.successResultOf(d)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


class RPCDrainTests(SynchronousTestCase):
    """The metadata daemon's connections: calls in flight are answered, new
    ones refused with Busy (a front's 503), then the connection closes."""

    def setUp(self):
        self.clock = Clock()
        self.service = HeldService()
        self.factory = MetadataRPCFactory(self.service, self.clock)
        self.factory.drain = ConnectionDrain(self.clock, "metadata daemon")
        self.server = self.factory.buildProtocol(None)
        self.transport = StringTransport()
        self.server.makeConnection(self.transport)

    def lose(self):
        self.server.connectionLost(Failure(ConnectionDone()))

    def test_idle_closed(self):
        d = self.factory.drain.drain(30)
        self.assertTrue(self.transport.disconnecting)
        self.lose()
        self.successResultOf(d)

    def test_in_flight_answered_then_closed(self):
        self.server.dataReceived(request(1, "get_bucket", name="a"))
        d = self.factory.drain.drain(30)
        self.server.dataReceived(request(2, "get_bucket", name="b"))
        self.assertEqual(len(self.service.calls), 1)  # call 2 never started
        self.assertEqual(lines(self.transport), [
            {"id": 2, "error": {"code": "Busy", "message": "metadata daemon stopping"}}])
        self.assertFalse(self.transport.disconnecting)
        self.service.calls[0][2].callback({"a": 1})
        self.assertEqual(lines(self.transport), [{"id": 1, "result": {"a": 1}}])
        self.assertTrue(self.transport.disconnecting)
        self.lose()
        self.successResultOf(d)


class ShutdownTimeoutConfigTests(SynchronousTestCase):
    def write(self, value):
        path = self.mktemp()
        conf = os.path.join(os.path.dirname(__file__), "..", "..", "conf", "config.json")
        with open(conf) as f:
            raw = json.load(f)
        raw["shutdownTimeout"] = value
        with open(path, "w") as f:
            json.dump(raw, f)
        return {"S3_CONFIG_FILE": path}

    def test_default(self):
        self.assertEqual(load_config({}).shutdown_timeout, 30.0)

    def test_value(self):
        self.assertEqual(load_config(self.write(2.5)).shutdown_timeout, 2.5)
        self.assertEqual(load_config(self.write(0)).shutdown_timeout, 0.0)

    def test_bad_values(self):
        for bad in (-1, "30", True, None, 3601):
            e = self.assertRaises(ConfigError, load_config, self.write(bad))
            self.assertIn("shutdownTimeout", str(e))


class DrainingServerServiceTests(SynchronousTestCase):
    def test_stop_closes_port_then_drains(self):
        from twisted.internet.testing import MemoryReactorClock

        from cloudserver import tls
        reactor = MemoryReactorClock()
        drain = ConnectionDrain(reactor)
        svc = tls.server_service(reactor, 8000, object(), drain=drain, drain_timeout=7)
        svc.privilegedStartService()
        svc.startService()
        busy = FakeConnection(drain, busy=True)
        d = svc.stopService()
        self.assertEqual(reactor.tcpServers[0][0], 8000)
        self.assertTrue(drain.draining)
        self.assertNoResult(d)
        reactor.advance(7)  # the deadline: aborted
        self.assertTrue(busy.transport.disconnected)
        busy.lost()
        self.successResultOf(d)


class HandlerWaitTests(SynchronousTestCase):
    """After the connections, the stop waits for the handlers still running
    (a cut upload removing its data), at most HANDLER_GRACE seconds."""

    def start(self):
        from twisted.internet.testing import MemoryReactorClock

        from cloudserver import tls

        class Factory:
            def __init__(self):
                self.idle = defer.Deferred()

            def when_idle(self):
                return self.idle

        self.reactor = MemoryReactorClock()
        self.factory = Factory()
        svc = tls.server_service(self.reactor, 8000, self.factory,
                                 drain=ConnectionDrain(self.reactor), drain_timeout=1)
        svc.privilegedStartService()
        svc.startService()
        return svc.stopService()

    def test_waits_for_handlers(self):
        d = self.start()
        self.assertNoResult(d)
        self.factory.idle.callback(None)
        self.successResultOf(d)

    def test_gives_up_after_grace(self):
        from cloudserver.web.drain import HANDLER_GRACE
        d = self.start()
        self.reactor.advance(HANDLER_GRACE)
        self.successResultOf(d)


class ProcessServiceTests(SynchronousTestCase):
    """A stop asked by SIGTERM that ran to its end exits with status 0."""

    def stop(self, signal_number):
        from cloudserver.tap import ProcessService

        class Reactor:
            _exitSignal = signal_number

        reactor = Reactor()
        top = ProcessService(reactor)
        top.startService()
        self.successResultOf(top.stopService())
        return reactor._exitSignal

    def test_sigterm_and_sigint_exit_cleanly(self):
        import signal
        self.assertIsNone(self.stop(signal.SIGTERM))
        self.assertIsNone(self.stop(signal.SIGINT))
        self.assertEqual(self.stop(signal.SIGHUP), signal.SIGHUP)
