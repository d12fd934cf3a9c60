# -*- test-case-name: tests.unit.test_data_rest -*-
"""IDataStore over the dmd's :9991 /DataFile REST service (``--mode s3``).

Writes: ``create_writer`` starts ``PUT /DataFile`` at once with a body
producer of unknown length (chunked transfer encoding) that the writer
feeds; the transport's backpressure (pauseProducing) becomes the writer's
backpressure (``write`` returns a Deferred once ``HIGH_WATER`` bytes wait),
so nothing is buffered beyond that.  ``finish`` ends the body and fires
with the key from the 201's Location, which the daemon sends only once
the blob is durable.  ``abort`` cancels the request (the daemon drops the
partial blob) or, after ``finish``, deletes the blob.

Reads: ``producer`` returns a producer that GETs the range unbuffered and
writes the response body to the consumer as it arrives; the consumer's
pause/resume pause and resume reading from the daemon's socket.  Missing
blobs fail ``startProducing`` with KeyError (IDataStore's rule for remote
stores).  An unreachable daemon is DaemonUnavailable (S3 503).
"""
from __future__ import annotations

from typing import Any

from twisted.internet import defer, error as net_error
from twisted.internet.protocol import Protocol
from twisted.python.failure import Failure
from twisted.web import client as web_client
from twisted.web._newclient import HTTP11ClientProtocol
from twisted.web.iweb import UNKNOWN_LENGTH, IBodyProducer, IPolicyForHTTPS
from zope.interface import implementer

from cloudserver.data.file import is_valid_key
from cloudserver.data.interfaces import IDataStore, IDataWriter
from cloudserver.data.producers import ShortRead
from cloudserver.data.rest import PREFIX
from cloudserver.errors import DaemonUnavailable
from cloudserver.data.commit import run_before_commit

#: Bytes a writer holds (while the connection is not ready or is paused)
#: before ``write`` asks its caller to wait.
HIGH_WATER = 256 * 1024

_UNREACHABLE = (net_error.ConnectError, net_error.ConnectionLost, net_error.ConnectionDone,
                net_error.TimeoutError, web_client.ResponseNeverReceived,
                web_client.RequestTransmissionFailed, web_client.ResponseFailed)


def _unavailable(failure: Failure) -> Failure:
    """Network failures as DaemonUnavailable; anything else unchanged."""
    if failure.check(*_UNREACHABLE):
        return Failure(DaemonUnavailable(f"data daemon unreachable: {failure.value!r}"))
    return failure


@implementer(IBodyProducer)
class _BodyPipe:
    """The PUT body: bytes pushed by the writer, pulled by the HTTP client."""

    length = UNKNOWN_LENGTH

    def __init__(self) -> None:
        self.consumer = None
        self.paused = False
        self.stopped = False
        self.buffer: list[bytes] = []
        self.buffered = 0
        self.ended = False
        self._done: defer.Deferred | None = None
        self._waiters: list[defer.Deferred] = []

    def startProducing(self, consumer) -> defer.Deferred:
        self.consumer = consumer
        self._done = done = defer.Deferred()
        self._flush()
        return done

    def pauseProducing(self) -> None:
        self.paused = True

    def resumeProducing(self) -> None:
        self.paused = False
        self._flush()

    def stopProducing(self) -> None:
        self.stopped = True
        self.buffer, self.buffered = [], 0
        self.fail_waiters(defer.CancelledError())

    def push(self, data: bytes) -> defer.Deferred | None:
        if self.consumer is not None and not self.paused and not self.buffer:
            self.consumer.write(data)
            return None
        self.buffer.append(bytes(data))
        self.buffered += len(data)
        if self.buffered < HIGH_WATER:
            return None
        d = defer.Deferred()
        self._waiters.append(d)
        return d

    def end(self) -> None:
        self.ended = True
        self._flush()

    def _flush(self) -> None:
        if self.consumer is None or self.stopped:
            return
        while self.buffer and not self.paused:
            data = self.buffer.pop(0)
            self.buffered -= len(data)
            self.consumer.write(data)
        if self.buffered < HIGH_WATER and self._waiters:
            waiters, self._waiters = self._waiters, []
            for d in waiters:
                d.callback(None)
        if self.ended and not self.buffer and self._done is not None:
            done, self._done = self._done, None
            done.callback(None)

    def fail_waiters(self, exc: Exception) -> None:
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.errback(exc)


@implementer(IDataWriter)
class RestDataWriter:
    """One ``PUT /DataFile`` in progress; see the module docstring."""

    def __init__(self, store: "RestDataStore"):
        self._store = store
        self.size = 0
        self._pipe = _BodyPipe()
        self._state = "open"
        self._error: Failure | None = None
        self._key: str | None = None
        self._request = store.http.request("PUT", store.url(PREFIX), data=self._pipe,
                                           headers={b"content-type":
                                                    [b"application/octet-stream"]})
        self._request.addErrback(_unavailable)
        self._request.addCallbacks(self._responded, self._failed)

    def _responded(self, response) -> Any:
        if response.code != 201:
            # An early or error answer: the daemon kept nothing.
            exc: Exception = (DaemonUnavailable("data daemon busy") if response.code == 503
                              else IOError(f"data daemon answered PUT with {response.code}"))
            self._failed(Failure(exc))
            return response
        location = (response.headers.getRawHeaders(b"location") or [b""])[0].decode("latin-1")
        key = location[len(PREFIX) + 1:] if location.startswith(PREFIX + "/") else ""
        if not is_valid_key(key):
            self._failed(Failure(IOError(f"data daemon sent a bad Location {location!r}")))
            return response
        self._key = key
        return response

    def _failed(self, failure: Failure) -> None:
        if self._error is None:
            self._error = failure
        self._pipe.fail_waiters(failure.value)

    def write(self, data) -> defer.Deferred | None:
        if self._state == "aborted":
            raise defer.CancelledError("writer aborted")
        if self._state != "open":
            raise RuntimeError(f"cannot write to a writer that is {self._state}")
        if self._error is not None:
            return defer.fail(self._error)
        self.size += len(data)
        return self._pipe.push(data)

    def finish(self, before_commit=None) -> defer.Deferred:
        """End the body once ``before_commit`` passed (a raise there cancels
        the PUT: the daemon drops the partial blob); fires with the key."""
        if self._state != "open":
            return defer.fail(RuntimeError(f"cannot finish a writer that is {self._state}"))
        failed = run_before_commit(before_commit, self.abort)
        if failed is not None:
            return failed
        self._state = "finishing"
        self._pipe.end()
        return defer.Deferred.fromCoroutine(self._finish())

    async def _finish(self) -> str:
        await self._request
        if self._state == "aborted":
            raise defer.CancelledError("writer aborted")
        if self._error is not None:
            self._state = "failed"
            self._error.raiseException()
        self._state = "finished"
        assert self._key is not None
        return self._key

    def abort(self) -> defer.Deferred:
        previous, self._state = self._state, "aborted"
        if previous == "finished" and self._key is not None:
            return self._store.delete(self._key)
        if not self._request.called:
            self._request.cancel()
        self._pipe.stopProducing()
        return defer.succeed(None)


class _BodyReader(Protocol):
    """Hands a response body to the producer's consumer."""

    def __init__(self, producer: "RestBlobProducer"):
        self.producer = producer

    def connectionMade(self) -> None:
        self.producer._body_started(self.transport)

    def dataReceived(self, data: bytes) -> None:
        self.producer._data(data)

    def connectionLost(self, reason: Failure = None) -> None:
        self.producer._body_ended(reason)


@implementer(IBodyProducer)
class RestBlobProducer:
    """Streams ``length`` bytes of a blob from ``offset`` over GET /DataFile/<key>."""

    def __init__(self, store: "RestDataStore", key: str, offset: int, length: int):
        self.length = length
        self._store = store
        self._key = key
        self._offset = offset
        self._received = 0
        self._consumer = None
        self._transport = None
        self._paused = False
        self._stopped = False
        self._done: defer.Deferred | None = None
        self._request: defer.Deferred | None = None

    def startProducing(self, consumer) -> defer.Deferred:
        self._consumer = consumer
        self._done = done = defer.Deferred()
        if self.length == 0:
            self._done = None
            done.callback(None)
            return done
        last = self._offset + self.length - 1
        headers = {b"range": [f"bytes={self._offset}-{last}".encode()]}
        self._request = self._store.http.get(self._store.url(f"{PREFIX}/{self._key}"),
                                             headers=headers, unbuffered=True)
        self._request.addErrback(_unavailable)
        self._request.addCallbacks(self._responded, self._fail)
        return done

    def _responded(self, response) -> None:
        if self._stopped:
            return
        if response.code not in (200, 206):
            exc: Exception
            if response.code == 404:
                exc = KeyError(self._key)
            elif response.code == 416:
                exc = ValueError(f"range outside blob {self._key}")
            elif response.code == 503:
                exc = DaemonUnavailable("data daemon busy")
            else:
                exc = IOError(f"data daemon answered GET with {response.code}")
            self._fail(Failure(exc))
            response.deliverBody(_Discard())
            return
        if response.code == 200 and self._offset:
            self._fail(Failure(IOError("data daemon ignored the Range")))
            response.deliverBody(_Discard())
            return
        response.deliverBody(_BodyReader(self))

    def _body_started(self, transport) -> None:
        self._transport = transport
        if self._paused:
            transport.pauseProducing()

    def _data(self, data: bytes) -> None:
        if self._stopped or self._done is None:
            return
        if self._received + len(data) > self.length:
            data = data[:self.length - self._received]
        self._received += len(data)
        if data:
            self._consumer.write(data)

    def _body_ended(self, reason: Failure | None) -> None:
        if self._stopped or self._done is None:
            return
        if self._received < self.length:
            self._fail(Failure(ShortRead(
                f"{self.length - self._received} bytes of {self._key} missing")))
            return
        done, self._done = self._done, None
        done.callback(None)

    def _fail(self, failure: Failure) -> None:
        if self._stopped or self._done is None:
            return
        done, self._done = self._done, None
        done.errback(failure)

    def pauseProducing(self) -> None:
        self._paused = True
        if self._transport is not None:
            self._transport.pauseProducing()

    def resumeProducing(self) -> None:
        self._paused = False
        if self._transport is not None:
            self._transport.resumeProducing()

    def stopProducing(self) -> None:
        self._stopped = True
        if self._transport is not None:
            self._transport.stopProducing()
        elif self._request is not None and not self._request.called:
            self._request.cancel()


class _Discard(Protocol):
    def connectionLost(self, reason=None) -> None:
        pass


@implementer(IDataStore)
class RestDataStore:
    """IDataStore of a front end whose data lives behind a dmd's :9991.

    ``http`` is a treq HTTPClient (production: over an Agent with a
    persistent connection pool; tests: treq.testing.StubTreq over a
    DataResource).  ``base`` is ``http://host:port`` or ``https://host:port``.
    """

    def __init__(self, base: str, http: Any, pool: Any = None):
        self.base = base.rstrip("/")
        self.http = http
        self._pool = pool

    def url(self, path: str) -> str:
        return self.base + path

    def create_writer(self) -> RestDataWriter:
        return RestDataWriter(self)

    def producer(self, key: str, offset: int, length: int) -> RestBlobProducer:
        if not is_valid_key(key):
            raise KeyError(key)
        if offset < 0 or length < 0:
            raise ValueError("negative range")
        return RestBlobProducer(self, key, offset, length)

    def delete(self, key: str) -> defer.Deferred:
        if not is_valid_key(key):
            return defer.fail(KeyError(key))
        d = self.http.delete(self.url(f"{PREFIX}/{key}"))
        d.addErrback(_unavailable)

        def check(response):
            if response.code not in (204, 404):
                raise IOError(f"data daemon answered DELETE with {response.code}")
            return response.text().addCallback(lambda _: None) if hasattr(response, "text") \
                else None

        return d.addCallback(check)

    def close(self) -> defer.Deferred | None:
        if self._pool is not None:
            return self._pool.closeCachedConnections()
        return None


class _NoDelayHTTP11ClientProtocol(HTTP11ClientProtocol):
    """A chunked PUT body is several small writes: without TCP_NODELAY the
    last one (the terminating chunk) can wait for the peer's delayed ACK."""

    def connectionMade(self) -> None:
        super().connectionMade()
        set_no_delay = getattr(self.transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            try:
                set_no_delay(True)
            except OSError:
                pass


class _QuietHTTP11ClientFactory(web_client._HTTP11ClientFactory):
    noisy = False

    def buildProtocol(self, addr):
        return _NoDelayHTTP11ClientProtocol(self._quiescentCallback)


class _UnixEndpoints:
    """An Agent's endpoint factory dialling one Unix socket whatever the
    URL's host (a supervisor's workers reach their dmd so)."""

    def __init__(self, reactor: Any, path: str):
        self.reactor = reactor
        self.path = path

    def endpointForURI(self, uri: Any) -> Any:
        from twisted.internet.endpoints import UNIXClientEndpoint

        return UNIXClientEndpoint(self.reactor, self.path, timeout=5)


def make_rest_store(reactor: Any, host: str, port: int, *,
                    https_policy: IPolicyForHTTPS | None = None,
                    unix_path: str | None = None) -> RestDataStore:
    """A RestDataStore for ``host:port`` with its own persistent connection
    pool; given ``https_policy`` (e.g. ``tls.https_policy(ca)``), over TLS
    verified by that policy; given ``unix_path``, over that Unix socket
    (plain HTTP, ``host`` and ``port`` only name it in URLs)."""
    import treq.client

    pool = web_client.HTTPConnectionPool(reactor, persistent=True)
    pool._factory = _QuietHTTP11ClientFactory  # no log line per connection
    pool.maxPersistentPerHost = 64
    pool.cachedConnectionTimeout = 60
    if unix_path is not None:
        agent = web_client.Agent.usingEndpointFactory(
            reactor, _UnixEndpoints(reactor, unix_path), pool=pool)
    elif https_policy is not None:
        agent = web_client.Agent(reactor, contextFactory=https_policy,
                                 connectTimeout=5, pool=pool)
    else:
        agent = web_client.Agent(reactor, connectTimeout=5, pool=pool)
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    scheme = "http" if https_policy is None else "https"
    return RestDataStore(f"{scheme}://{netloc}", treq.client.HTTPClient(agent), pool)
