# -*- test-case-name: tests.unit.test_data_remote -*-
"""Remote GET bodies as producers: a remote location's response streamed to
our consumer with backpressure both ways (see cloudserver.data.remote for
what the remote stores share on the way in and for errors)."""
from __future__ import annotations

from typing import Callable

from twisted.internet import defer
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from twisted.web.client import ResponseDone
from twisted.web.iweb import IBodyProducer
from zope.interface import implementer

from cloudserver.data.producers import BytesProducer, ShortRead  # noqa: F401 - aws, azure
from cloudserver.data.remote import (
    DEFAULT_TIMEOUT, _Watchdog, as_data_error, check_status, unavailable)

class _BodyReceiver(Protocol):
    def __init__(self, producer: "RemoteProducer"):
        self.producer = producer
        self.received = 0

    def connectionMade(self) -> None:
        if self.producer._paused:
            self.transport.pauseProducing()

    def dataReceived(self, data: bytes) -> None:
        self.received += len(data)
        self.producer._data(data)

    def connectionLost(self, reason: Failure = None) -> None:
        self.producer._ended(reason, self.received)


@implementer(IBodyProducer)
class RemoteProducer:
    """Stream ``length`` bytes of a remote object into a consumer.

    ``open()`` sends the request and returns a Deferred of the response
    whose status was checked (``check_status``).  ``prepare`` may be called
    before ``startProducing`` to surface errors while the S3 response can
    still be an error.
    """

    def __init__(self, *, location: str, length: int,
                 open: Callable[[], defer.Deferred], clock,
                 timeout: float = DEFAULT_TIMEOUT):
        self.length = length
        self._location = location
        self._open = open
        self._clock, self._timeout = clock, timeout
        self._opened: defer.Deferred | None = None
        self._open_failure: Failure | None = None
        self._waiters: list[defer.Deferred] = []
        self._response = None
        self._receiver: _BodyReceiver | None = None
        self._consumer = None
        self._paused = False
        self._stopped = False
        self._done: defer.Deferred | None = None
        self._watchdog = _Watchdog(clock, timeout, self._stalled)

    def prepare(self) -> defer.Deferred:
        """Fire once the remote answered with the data (or fail)."""
        if self._opened is None:
            self._opened = d = self._open()
            d.addTimeout(self._timeout, self._clock)
            d.addErrback(lambda f: as_data_error(self._location, "GET", f))
            d.addCallback(self._got_response)
            d.addErrback(self._open_failed)
        if self._response is not None:
            return defer.succeed(None)
        if self._open_failure is not None:
            return defer.fail(self._open_failure)
        waiter: defer.Deferred = defer.Deferred()
        self._waiters.append(waiter)
        return waiter

    def _open_failed(self, failure: Failure) -> None:
        self._open_failure = failure
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.errback(failure)

    def _got_response(self, response) -> None:
        self._response = response
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.callback(None)

    def startProducing(self, consumer) -> defer.Deferred:
        if self._done is not None:
            raise RuntimeError("a producer can only be started once")
        self._consumer = consumer
        self._done = defer.Deferred()
        self.prepare().addCallbacks(self._deliver, self._fail)
        return self._done

    def _deliver(self, _ignored) -> None:
        if self._stopped:
            return
        self._receiver = _BodyReceiver(self)
        if not self._paused:
            self._watchdog.arm()
        self._response.deliverBody(self._receiver)

    def _data(self, data: bytes) -> None:
        self._watchdog.touch()
        if not self._stopped:
            self._consumer.write(data)

    def _ended(self, reason: Failure, received: int) -> None:
        self._watchdog.stop()
        if self._stopped or self._done.called:
            return
        if reason is not None and not reason.check(ResponseDone):
            self._fail(as_data_error(self._location, "GET body", reason))
        elif received != self.length:
            self._fail(Failure(ShortRead(
                f"location {self._location}: {received} bytes of {self.length}")))
        else:
            self._done.callback(None)

    def _fail(self, failure: Failure) -> None:
        self._watchdog.stop()
        if not self._stopped and self._done is not None and not self._done.called:
            self._done.errback(failure)

    def _stalled(self) -> None:
        self._fail(Failure(unavailable(self._location, "GET body", "stalled, timed out")))
        self._stop_transport()

    def _stop_transport(self) -> None:
        transport = getattr(self._receiver, "transport", None)
        if transport is not None:
            transport.stopProducing()

    def pauseProducing(self) -> None:
        self._paused = True
        self._watchdog.disarm()
        transport = getattr(self._receiver, "transport", None)
        if transport is not None:
            transport.pauseProducing()

    def resumeProducing(self) -> None:
        self._paused = False
        transport = getattr(self._receiver, "transport", None)
        if transport is not None:
            self._watchdog.arm()
            transport.resumeProducing()

    def stopProducing(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._watchdog.stop()
        if self._receiver is not None:
            self._stop_transport()
        elif self._opened is not None and not self._opened.called:
            self._opened.cancel()
        elif self._response is not None:
            # Opened but not delivered: drop the body and the connection.
            self._response.deliverBody(_Discard())


class _Discard(Protocol):
    def connectionMade(self) -> None:
        self.transport.stopProducing()


@implementer(IBodyProducer)
def ranged_get(store, url: str, headers: dict[str, str], what: str, length: int):
    """A producer of ``length`` bytes from one ranged GET of a remote store
    (``store`` has ``name``, ``request``, ``_clock`` and ``_timeout``)."""
    if length == 0:
        return BytesProducer(b"")

    async def open_():
        d = store.request("GET", url, headers)
        d.addTimeout(store._timeout, store._clock)
        response = await d
        return await check_status(store.name, what, response, (200, 206))

    return RemoteProducer(location=store.name, length=length, clock=store._clock,
                          timeout=store._timeout,
                          open=lambda: defer.Deferred.fromCoroutine(open_()))

