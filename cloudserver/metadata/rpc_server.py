# -*- test-case-name: tests.unit.test_metadata_rpc -*-
"""The daemon end of the :9990 metadata protocol (see cloudserver.metadata.rpc).

One ``MetadataRPCServer`` protocol per connection, all sharing one
MetadataService, which owns the KV (group commit, in-flight write
tracking).  Each request line starts a service call; its reply goes out
when the call's Deferred fires, which for writes is when the LevelDB batch
is synced, so a reply always means durable.  Calls overlap freely and are
answered out of order.

Every piece of state is per connection, so a slow or dead client only
stalls itself: when its transport's send buffer fills, reading from it
stops (it is registered as a streaming producer); past
``max_in_flight`` unanswered calls, reading stops too until replies go
out; a stream whose acks stop coming is abandoned after the ack timeout.
Bad input (too long, not JSON, unknown method, bad params) gets an error
line; nothing a client sends can raise out of this protocol.
"""
from __future__ import annotations

import json
from collections import deque
from typing import Any

from twisted.internet import defer, protocol
from twisted.internet.interfaces import IPushProducer
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from cloudserver.metadata import rpc
from cloudserver.errors import DomainError

log = Logger(namespace="cloudserver.dmd")

#: Unanswered calls per connection before the daemon stops reading from it.
DEFAULT_MAX_IN_FLIGHT = 512


class _Stream:
    """The stream lines of one call still to send, and their flow control."""

    def __init__(self, call_id: Any, chunks: list[dict], final: dict):
        self.call_id = call_id
        self.chunks = deque(chunks)
        self.final = final
        self.pending = 0  # sent, not acknowledged
        self.timer = None


@implementer(IPushProducer)
class MetadataRPCServer(rpc.LineProtocol):
    """One client connection of the metadata daemon."""

    def __init__(self, service: Any, clock: Any, *,
                 max_pending_ack: int = rpc.DEFAULT_STREAM_MAX_PENDING_ACK,
                 ack_timeout: float = rpc.DEFAULT_STREAM_ACK_TIMEOUT_MS / 1000,
                 chunk_items: int = rpc.DEFAULT_STREAM_CHUNK,
                 max_in_flight: int = DEFAULT_MAX_IN_FLIGHT,
                 max_line: int = rpc.DEFAULT_MAX_LINE):
        super().__init__()
        self.service = service
        self.clock = clock
        self.max_pending_ack = max_pending_ack
        self.ack_timeout = ack_timeout
        self.chunk_items = chunk_items
        self.max_in_flight = max_in_flight
        self.max_line = max_line
        self._in_flight: dict[int, defer.Deferred] = {}
        self._next_token = 0
        self._streams: dict[Any, _Stream] = {}
        self._connected = False
        #: the process is stopping: no new call, close once idle
        self._stopping = False

    # -- connection --------------------------------------------------------

    def connectionMade(self) -> None:
        super().connectionMade()
        self._connected = True
        # Told to pause when our replies pile up in the send buffer.
        self.transport.registerProducer(self, True)
        drain = getattr(getattr(self, "factory", None), "drain", None)
        if drain is not None:
            drain.add(self)

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self._connected = False
        for stream in self._streams.values():
            if stream.timer is not None and stream.timer.active():
                stream.timer.cancel()
        self._streams.clear()
        drain = getattr(getattr(self, "factory", None), "drain", None)
        if drain is not None:
            drain.remove(self)
        # Calls in flight are left to finish (a write handed to the KV cannot
        # be recalled, and cancelling it would release the service's
        # in-flight bookkeeping before the batch is durable); their replies
        # are dropped, since nobody is left to answer.

    def begin_drain(self) -> None:
        """The daemon is stopping (web/drain.py): calls in flight and streams
        under way finish and are answered, a new call is refused with Busy
        (the front answers 503), and the connection closes once idle."""
        self._stopping = True
        self._close_if_idle()

    def _close_if_idle(self) -> None:
        if self._stopping and self._connected and not self._in_flight and not self._streams:
            self.transport.loseConnection()

    # IPushProducer, driven by the transport's send buffer
    def pauseProducing(self) -> None:
        self.pause_reading("send-buffer")

    def resumeProducing(self) -> None:
        self.resume_reading("send-buffer")

    def stopProducing(self) -> None:
        pass

    # -- input ---------------------------------------------------------------

    def line_too_long(self) -> None:
        self.send({"id": None, "error": {"code": rpc.LINE_TOO_LONG,
                                         "message": f"line longer than {self.max_line} bytes"}})

    def line_received(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except ValueError:
            self._error(None, rpc.BAD_REQUEST, "not a JSON line")
            return
        if not isinstance(message, dict):
            self._error(None, rpc.BAD_REQUEST, "a message is a JSON object")
            return
        if "ack" in message:
            self._ack(message.get("ack"), message.get("seq"))
            return
        call_id = message.get("id")
        if not isinstance(call_id, (int, str)) or isinstance(call_id, bool):
            self._error(None, rpc.BAD_REQUEST, "a request needs an id (integer or string)")
            return
        name = message.get("method")
        method = rpc.METHODS.get(name) if isinstance(name, str) else None
        if method is None:
            self._error(call_id, rpc.UNKNOWN_METHOD, f"unknown method {str(name)[:64]!r}")
            return
        try:
            params = rpc.check_params(method, message.get("params"))
        except (ValueError, TypeError) as e:
            self._error(call_id, rpc.BAD_PARAMS, str(e)[:200])
            return
        self._start(call_id, name, method, params)

    def _start(self, call_id: Any, name: str, method: rpc.Method, params: dict) -> None:
        if self._stopping:
            self._error(call_id, rpc.BUSY, "metadata daemon stopping")
            return
        try:
            d = defer.maybeDeferred(getattr(self.service, name), **params)
        except Exception:  # noqa: BLE001 - maybeDeferred already catches; belt and braces
            d = defer.fail()
        token = self._next_token
        self._next_token += 1
        self._in_flight[token] = d
        stats = getattr(self.factory, "stats", None)
        if stats is not None:
            stats.started(name)
        if len(self._in_flight) >= self.max_in_flight:
            self.pause_reading("in-flight")
        d.addCallbacks(self._reply, self._failed, callbackArgs=(call_id, method),
                       errbackArgs=(call_id, name))
        d.addBoth(self._done, token)

    def _done(self, result: Any, token: int) -> None:
        self._in_flight.pop(token, None)
        stats = getattr(self.factory, "stats", None)
        if stats is not None:
            stats.in_flight -= 1
        if len(self._in_flight) < self.max_in_flight:
            self.resume_reading("in-flight")
        self._close_if_idle()
        return None

    # -- output --------------------------------------------------------------

    def _reply(self, result: Any, call_id: Any, method: rpc.Method) -> None:
        if not self._connected:
            return
        if method.encode_result is not None:
            result = method.encode_result(result)
        if method.stream and isinstance(result, dict):
            self._start_stream(call_id, result)
        else:
            self._send_checked(call_id, {"id": call_id, "result": result})

    def _send_checked(self, call_id: Any, message: dict) -> None:
        try:
            line = rpc.encode(message)
        except (TypeError, ValueError):
            log.failure("metadata reply to call {id} is not JSON", id=call_id)
            line = rpc.encode({"id": call_id, "error": {"code": rpc.INTERNAL,
                                                         "message": "reply not serializable"}})
        self.transport.write(line)

    def _failed(self, failure: Failure, call_id: Any, name: str) -> None:
        if failure.check(defer.CancelledError) or not self._connected:
            return
        exc = failure.value
        if isinstance(exc, DomainError):
            self._error(call_id, rpc.error_code(exc), exc.message)
        elif isinstance(exc, (TypeError, ValueError)):
            log.info("metadata call {name} {id}: bad params: {exc!r}", name=name, id=call_id,
                     exc=exc)
            self._error(call_id, rpc.BAD_PARAMS, str(exc)[:200])
        else:
            log.failure("metadata call {name} {id} failed", failure, name=name, id=call_id)
            self._error(call_id, rpc.INTERNAL, "internal error")

    def _error(self, call_id: Any, code: str, message: str | None) -> None:
        self.send({"id": call_id, "error": {"code": code, "message": message}})

    # -- streams ---------------------------------------------------------------

    def _start_stream(self, call_id: Any, result: dict) -> None:
        if call_id in self._streams:  # a client reusing a live id: refuse, never mix
            self._error(call_id, rpc.BAD_REQUEST, "a stream with this id is running")
            return
        final: dict = {}
        chunks: list[dict] = []
        seq = 0
        for field, value in result.items():
            if isinstance(value, list) and value:
                for i in range(0, len(value), self.chunk_items):
                    chunks.append({"id": call_id, "seq": seq, "field": field,
                                   "items": value[i:i + self.chunk_items]})
                    seq += 1
                final[field] = []
            else:
                final[field] = value
        stream = _Stream(call_id, chunks, {"id": call_id, "result": final, "streamed": seq})
        self._streams[call_id] = stream
        self._pump(stream)

    def _pump(self, stream: _Stream) -> None:
        while stream.chunks and stream.pending < self.max_pending_ack:
            self._send_checked(stream.call_id, stream.chunks.popleft())
            stream.pending += 1
        if not stream.chunks and stream.pending == 0:
            self._end_stream(stream)
            self._send_checked(stream.call_id, stream.final)
            self._close_if_idle()
            return
        self._arm(stream)

    def _arm(self, stream: _Stream) -> None:
        if stream.timer is not None and stream.timer.active():
            stream.timer.cancel()
        stream.timer = None
        if stream.pending:
            stream.timer = self.clock.callLater(self.ack_timeout, self._ack_timed_out, stream)

    def _ack(self, call_id: Any, seq: Any) -> None:
        stream = self._streams.get(call_id) if isinstance(call_id, (int, str)) else None
        if stream is None or stream.pending == 0:
            return  # late ack of an abandoned stream: nothing to do
        stream.pending -= 1
        self._pump(stream)

    def _ack_timed_out(self, stream: _Stream) -> None:
        stream.timer = None
        if self._streams.get(stream.call_id) is not stream:
            return
        self._end_stream(stream)
        log.info("metadata stream {id}: no ack in {t}s, abandoned", id=stream.call_id,
                 t=self.ack_timeout)
        self._error(stream.call_id, rpc.STREAM_ACK_TIMEOUT,
                    f"no ack within {int(self.ack_timeout * 1000)} ms")
        self._close_if_idle()

    def _end_stream(self, stream: _Stream) -> None:
        self._streams.pop(stream.call_id, None)
        if stream.timer is not None and stream.timer.active():
            stream.timer.cancel()
        stream.timer = None


class MetadataRPCFactory(protocol.Factory):
    """Builds one MetadataRPCServer per connection over a shared service."""

    noisy = False
    #: set by the dmd (daemons.py): the connections a stop drains (web/drain.py)
    drain: Any = None

    def __init__(self, service: Any, clock: Any, **options: Any):
        self.service = service
        self.clock = clock
        self.options = options
        #: calls served, by method, and in flight, over every connection
        #: (plain counters: the metrics port reads them when scraped)
        self.stats = rpc.CallStats()

    def buildProtocol(self, addr) -> MetadataRPCServer:
        p = MetadataRPCServer(self.service, self.clock, **self.options)
        p.factory = self
        self.stats.connections += 1
        return p
