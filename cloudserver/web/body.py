# -*- test-case-name: tests.unit.test_body -*-
"""A request body as a stream with backpressure.

Bytes arrive from the channel through ``feed``.  Until a handler calls
``start`` they wait in a small buffer with the transport paused; after it,
each piece goes (through an optional decoder such as aws-chunked) to the
handler's callback.  A callback that returns a Deferred pauses the socket
until it fires: that is how a slow disk slows the client down instead of
filling memory.
"""
from __future__ import annotations

from typing import Callable, Protocol

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure

from cloudserver.errors import DomainError

#: Bytes held before ``start`` (or while a callback is busy) before pausing.
PREBUFFER = 256 * 1024

#: Socket read size while a large body streams in.  Twisted reads 64 KiB at
#: a time; each read then climbs the HTTP parser, this class and the
#: handler's callback, and becomes one digest call.  1 MiB reads make that
#: 16 times fewer (they return what the socket holds, often less).
LARGE_READ_SIZE = 1024 * 1024
#: Bodies of at least this size (or of unknown length) get the large reads.
LARGE_BODY = 1024 * 1024


class BodyTooLarge(DomainError):
    """A body read whole (``read_all``) is longer than its limit."""

    code = "MaxMessageLengthExceeded"


class Decoder(Protocol):
    def feed(self, data: bytes) -> list: ...
    def finish(self) -> dict[str, str]: ...


OnData = Callable[[bytes], "Deferred | None"]


class RequestBody:
    """The body of one request; see the module docstring."""

    def __init__(self, request, length: int | None):
        self._request = request
        self.length = length
        self.received = 0
        self._buffer: list[bytes] = []
        self._buffered = 0
        self._ended = False
        self._discarding = False
        self._paused = False
        self._on_data: OnData | None = None
        self._decoder: Decoder | None = None
        self._done: Deferred | None = None
        self._waiting: Deferred | None = None
        self._failed = False
        self._read_size: tuple[object, int] | None = None  # (transport, its own size)

    # -- channel side -------------------------------------------------------
    def remaining(self) -> int | None:
        """Bytes of body not yet received (None: unknown, chunked transfer)."""
        if self._ended:
            return 0
        if self.length is None:
            return None
        return self.length - self.received

    def feed(self, data: bytes) -> None:
        self.received += len(data)
        if self._discarding or self._failed:
            return
        if self._on_data is None:
            self._buffer.append(data)
            self._buffered += len(data)
            if self._buffered > PREBUFFER:
                self._pause()
            return
        self._deliver(data)

    def end(self) -> None:
        self._ended = True
        self._restore_reads()
        if self._on_data is not None and not self._failed and not self._discarding:
            self._complete()

    def discard(self) -> None:
        """Throw away the rest of the body (the response has been sent)."""
        self._discarding = True
        self._buffer = []
        self._resume()

    # -- handler side -------------------------------------------------------
    def start(self, on_data: OnData, decoder: Decoder | None = None) -> Deferred:
        """Stream the body to ``on_data``; fires with the decoder's trailers ({})."""
        if self._on_data is not None:
            raise RuntimeError("body already started")
        self._on_data = on_data
        self._decoder = decoder
        self._done = Deferred(lambda d: self._cancelled())
        done = self._done
        self._request.send_continue()
        if not self._ended:
            self._widen_reads()
        buffered, self._buffer = self._buffer, []
        for data in buffered:
            if self._failed:
                break
            self._deliver(data)
        if self._ended and not self._failed:
            self._complete()
        elif not self._failed and self._waiting is None:
            self._resume()
        return done

    async def read_all(self, limit: int, decoder: Decoder | None = None) -> bytes:
        """The whole (small) body; BodyTooLarge past ``limit``."""
        if self.length is not None and self.length > limit:
            raise BodyTooLarge(f"request body over {limit} bytes")
        parts: list[bytes] = []
        size = 0

        def collect(piece: bytes) -> None:
            nonlocal size
            size += len(piece)
            if size > limit:
                raise BodyTooLarge(f"request body over {limit} bytes")
            parts.append(bytes(piece))

        await self.start(collect, decoder)
        return b"".join(parts)

    # -- internals ----------------------------------------------------------
    def _widen_reads(self) -> None:
        """Read a large body from the socket in LARGE_READ_SIZE pieces
        (plain TCP transports; a TLS transport keeps its own reads)."""
        if self.length is not None and self.length < LARGE_BODY:
            return
        transport = getattr(self._request.channel, "transport", None)
        # A class attribute: TLS wrappers forward unknown attributes to the
        # TCP transport underneath, whose reads they do not control.
        if type(getattr(type(transport), "bufferSize", None)) is not int:
            return
        size = transport.bufferSize
        if type(size) is int and size < LARGE_READ_SIZE:
            self._read_size = (transport, size)
            transport.bufferSize = LARGE_READ_SIZE

    def _restore_reads(self) -> None:
        """Back to the transport's own read size: the next request on the
        connection starts small (bufferSize also bounds buffered writes)."""
        saved, self._read_size = self._read_size, None
        if saved is not None:
            transport, size = saved
            transport.bufferSize = size

    def _deliver(self, data: bytes) -> None:
        try:
            pieces = self._decoder.feed(data) if self._decoder is not None else (data,)
            for piece in pieces:
                if not piece:
                    continue
                waiting = self._on_data(piece)
                if isinstance(waiting, Deferred):
                    self._wait_on(waiting)
        except Exception:
            self._fail(Failure())

    def _wait_on(self, d: Deferred) -> None:
        self._pause()
        self._waiting = d

        def ready(result):
            if self._waiting is d:
                self._waiting = None
                if not self._failed:
                    self._resume()
            return result

        def failed(f):
            if self._waiting is d:
                self._waiting = None
            self._fail(f)

        d.addCallbacks(ready, failed)

    def _complete(self) -> None:
        try:
            trailers = self._decoder.finish() if self._decoder is not None else {}
        except Exception:
            self._fail(Failure())
            return
        if self._waiting is not None:
            # The last piece is still being written: report completion after it
            # (a failure of that write is reported by _fail instead).
            self._waiting.addBoth(lambda result: self._succeed(trailers))
        else:
            self._succeed(trailers)

    def _succeed(self, trailers: dict[str, str]) -> None:
        done, self._done = self._done, None
        if done is not None and not self._failed:
            done.callback(trailers)

    def _cancelled(self) -> None:
        # The handler went away (client disconnected): stop delivering.
        self._failed = True
        self._discarding = True
        self._done = None
        self._resume()

    def _fail(self, failure: Failure) -> None:
        if self._failed:
            return
        self._failed = True
        self._discarding = True
        done, self._done = self._done, None
        self._resume()
        if done is not None:
            done.errback(failure)

    def _pause(self) -> None:
        if not self._paused:
            self._paused = True
            producer = getattr(self._request.channel, "_networkProducer", None)
            if producer is not None:
                producer.pauseProducing()

    def _resume(self) -> None:
        if self._paused:
            self._paused = False
            channel = self._request.channel
            producer = getattr(channel, "_networkProducer", None)
            if producer is not None:
                producer.resumeProducing()
