# -*- test-case-name: tests.unit.test_data_remote -*-
"""What the remote data stores (aws_s3, azure) share: streaming request
bodies and response bodies over an injected treq client, with backpressure
both ways, timeouts, and remote failures turned into data errors
(cloudserver.data.errors; the S3 front translates them).

Upload: ``StreamingWriter`` starts one HTTP request whose body is an
``UploadBody`` producer of a known length.  Bytes the S3 front receives are
handed straight to the connection; while the remote reads slower, ``write``
returns a Deferred and the front pauses its client.  The last chunk is held
back until ``finish`` has run its ``before_commit`` (the digests' check): a
body whose digests turn out wrong is aborted before the remote has all of
it, so the remote never stores it (and never replaces a good object of the
same name with a bad one).

Download: ``RemoteProducer`` sends a (ranged) GET, ``prepare`` waits for
the status line so a failure can still be answered as an S3 error, and the
body is delivered to the consumer with pause/resume passed through to the
remote connection.

Every wait has a deadline on the injected clock: a remote that does not
answer, or stalls mid-transfer, becomes 503 ServiceUnavailable with the
location named in the log, never a hang.
"""
from __future__ import annotations

from typing import Callable

from twisted.internet import defer
from twisted.internet.error import ConnectionClosed, ConnectError, DNSLookupError, TimeoutError
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.client import ResponseFailed
from twisted.web.http_headers import Headers
from twisted.web.iweb import IBodyProducer
from zope.interface import implementer

from cloudserver.data.interfaces import IDataWriter
from cloudserver.data.errors import DataError, RemoteRefused, RemoteUnavailable

log = Logger(namespace="cloudserver.data.remote")

#: Seconds to wait for a status line, or for progress while a transfer is
#: neither finished nor paused by our own side.
DEFAULT_TIMEOUT = 30.0
#: Error bodies are read for the log, up to this much.
ERROR_BODY_LIMIT = 64 * 1024

_NETWORK_ERRORS = (ConnectError, DNSLookupError, TimeoutError, defer.TimeoutError,
                   ConnectionClosed, ResponseFailed, defer.CancelledError)


# -- keys -------------------------------------------------------------------

def encode_key(name: str, version: str | None = None) -> str:
    """The opaque data key of a remote object: ``<version>/<name>``.

    The version is empty when the remote keeps none; version ids never hold
    a ``/``, so the first one separates them.
    """
    return f"{version or ''}/{name}"


def decode_key(key: str) -> tuple[str, str | None]:
    version, sep, name = key.partition("/")
    if not sep:
        raise ValueError(f"not a remote data key: {key!r}")
    return name, version or None


# -- errors -----------------------------------------------------------------

def unavailable(location: str, what: str, reason) -> RemoteUnavailable:
    """A remote that cannot be reached or failed (5xx, timeout): 503."""
    log.warn("location {location}: {what} failed: {reason}", location=location,
             what=what, reason=reason)
    return RemoteUnavailable(f"location {location}: {what} failed")


def remote_refused(location: str, what: str, status: int, body: bytes) -> RemoteRefused:
    """A remote 4xx on our own data: our configuration or the remote is
    wrong, not the client's request, so the client gets InternalError."""
    log.error("location {location}: {what} answered {status}: {body}", location=location,
              what=what, status=status, body=body[:2048].decode("utf-8", "replace"))
    return RemoteRefused(f"location {location}: {what} answered {status}", status)


def as_data_error(location: str, what: str, failure: Failure) -> Failure:
    """Network failures and timeouts -> RemoteUnavailable; data errors pass;
    the rest stays."""
    if failure.check(DataError):
        return failure
    if failure.check(*_NETWORK_ERRORS):
        return Failure(unavailable(location, what, failure.getErrorMessage()
                                   or failure.type.__name__))
    return failure


class _Collector(Protocol):
    def __init__(self, done: defer.Deferred, limit: int):
        self.done, self.limit, self.parts, self.size = done, limit, [], 0

    def dataReceived(self, data: bytes) -> None:
        if self.size < self.limit:
            self.parts.append(data[:self.limit - self.size])
        self.size += len(data)

    def connectionLost(self, reason=None) -> None:
        self.done.callback(b"".join(self.parts))


def read_body(response, limit: int = ERROR_BODY_LIMIT) -> defer.Deferred:
    """At most ``limit`` bytes of a (small) response body; the rest is
    read and dropped so the connection can be reused."""
    d: defer.Deferred = defer.Deferred()
    response.deliverBody(_Collector(d, limit))
    return d


async def probe(request: defer.Deferred, timeout: float, clock, ok_message: str,
                what: str) -> dict:
    """A healthcheck answer from one remote request: 200 and ``ok_message``,
    or the remote's status / 503 when it cannot be reached in ``timeout``."""
    request.addTimeout(timeout, clock)
    try:
        response = await request
    except Exception as e:  # noqa: BLE001 - reported in the result
        return {"code": 503, "message": f"unreachable: {type(e).__name__}"}
    await read_body(response)
    if response.code == 200:
        return {"code": 200, "message": ok_message}
    return {"code": response.code, "message": f"{what} answered {response.code}"}


async def check_status(location: str, what: str, response, ok=(200, 201, 204, 206)):
    """Return the response when its status is one of ``ok``; raise the data
    error for the others (5xx -> 503, 4xx -> InternalError, both logged)."""
    if response.code in ok:
        return response
    body = await read_body(response)
    if response.code >= 500:
        raise unavailable(location, what, f"HTTP {response.code}: "
                          f"{body[:512].decode('utf-8', 'replace')}")
    raise remote_refused(location, what, response.code, body)


class _Watchdog:
    """Calls ``expired`` when ``timeout`` seconds pass without ``touch`` while
    armed.  One timer per transfer, re-checked lazily: a chunk costs a clock
    read, not a callLater."""

    def __init__(self, clock, timeout: float, expired: Callable[[], None]):
        self._clock, self._timeout, self._expired = clock, timeout, expired
        self._last = clock.seconds()
        self._call = None
        self.armed = False

    def touch(self) -> None:
        self._last = self._clock.seconds()

    def arm(self) -> None:
        self.touch()
        self.armed = True
        if self._call is None:
            self._call = self._clock.callLater(self._timeout, self._check)

    def disarm(self) -> None:
        self.armed = False

    def stop(self) -> None:
        self.armed = False
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None

    def _check(self) -> None:
        self._call = None
        if not self.armed:
            return
        idle = self._clock.seconds() - self._last
        if idle >= self._timeout:
            self.armed = False
            self._expired()
        else:
            self._call = self._clock.callLater(self._timeout - idle, self._check)


# -- upload -----------------------------------------------------------------

@implementer(IBodyProducer)
class UploadBody:
    """The body of a streamed upload request, fed by ``feed``.

    ``feed`` passes bytes to the connection at once when it can, else keeps
    them and returns a Deferred that fires once the connection took them
    (the writer's backpressure).  The newest chunk stays here until the next
    one or ``release``: only then can the remote see a complete body.
    """

    def __init__(self, length: int):
        self.length = length
        self._consumer = None
        self._paused = False
        self._pending: list[bytes] = []
        self._tail = b""
        self._released = False
        self._stopped = False
        self._done: defer.Deferred | None = None
        self._waiter: defer.Deferred | None = None
        self.on_progress: Callable[[], None] = lambda: None

    # IBodyProducer, driven by the HTTP client
    def startProducing(self, consumer) -> defer.Deferred:
        self._consumer = consumer
        self._done = defer.Deferred()
        self._flush()
        return self._done

    def pauseProducing(self) -> None:
        self._paused = True

    def resumeProducing(self) -> None:
        self._paused = False
        self.on_progress()
        self._flush()

    def stopProducing(self) -> None:
        self._stopped = True
        self._pending = []
        self._fail_waiter(Failure(defer.CancelledError("upload stopped")))

    # the writer's side
    def feed(self, data: bytes) -> defer.Deferred | None:
        if not data:
            return self._wait()
        # The newest chunk waits for the next one (or ``release``): no copy,
        # and at most one chunk more in memory.
        if self._tail:
            self._pending.append(self._tail)
        self._tail = data if isinstance(data, bytes) else bytes(data)
        self._flush()
        return self._wait()

    def release(self) -> None:
        """Everything was fed: send the held-back byte and end the body."""
        if self._tail:
            self._pending.append(self._tail)
            self._tail = b""
        self._released = True
        self._flush()

    def fail(self, failure: Failure) -> None:
        self._fail_waiter(failure)

    def _wait(self) -> defer.Deferred | None:
        if not self._pending and not self._paused and self._consumer is not None:
            return None
        if self._waiter is None:
            self._waiter = defer.Deferred()
        return self._waiter

    def _flush(self) -> None:
        consumer = self._consumer
        if consumer is None or self._stopped:
            return
        while self._pending and not self._paused:
            consumer.write(self._pending.pop(0))
            self.on_progress()
        if self._pending or self._paused:
            return
        if self._waiter is not None:
            waiter, self._waiter = self._waiter, None
            waiter.callback(None)
        if self._released and self._done is not None and not self._done.called:
            self._done.callback(None)

    def _fail_waiter(self, failure: Failure) -> None:
        if self._waiter is not None:
            waiter, self._waiter = self._waiter, None
            waiter.errback(failure)


@implementer(IDataWriter)
class StreamingWriter:
    """One remote object (or part) written by one streamed request.

    ``send(body)`` starts the request and returns the treq Deferred of its
    response; ``accept(response)`` checks it and returns (a Deferred of) the
    data key; ``delete(key)`` removes a finished object (``abort`` after
    ``finish``: the metadata write failed).
    """

    def __init__(self, *, location: str, what: str, length: int,
                 send: Callable[[UploadBody], defer.Deferred],
                 accept: Callable[[object], object],
                 delete: Callable[[str], defer.Deferred] | None,
                 clock, timeout: float = DEFAULT_TIMEOUT):
        self.size = 0
        self._location, self._what = location, what
        self._length = length
        self._accept, self._delete = accept, delete
        self._state = "open"
        self._key: str | None = None
        self._failure: Failure | None = None
        self._body = UploadBody(length)
        self._watchdog = _Watchdog(clock, timeout, self._stalled)
        self._body.on_progress = self._watchdog.touch
        self._response: defer.Deferred = defer.Deferred()
        self._result = None
        self._request = send(self._body)
        self._request.addBoth(self._answered)

    def _answered(self, result) -> None:
        if self._state == "aborted":
            result = Failure(defer.CancelledError("writer was aborted"))
        elif isinstance(result, Failure):
            result = as_data_error(self._location, self._what, result)
        if self._state == "open":
            # An answer or a failure before the body was complete.
            failure = result if isinstance(result, Failure) else Failure(unavailable(
                self._location, self._what, f"answered HTTP {result.code} early"))
            self._failure = failure
            self._body.fail(failure)
        self._result = result
        self._response.callback(None)

    def _stalled(self) -> None:
        failure = Failure(unavailable(self._location, self._what,
                                      "no progress, timed out"))
        self._failure = failure
        self._body.fail(failure)
        self._request.cancel()

    def write(self, data) -> defer.Deferred | None:
        if self._state == "aborted":
            raise defer.CancelledError("writer was aborted")
        if self._state != "open":
            raise RuntimeError("writer already finished")
        if self._failure is not None:
            return defer.fail(self._failure)
        self.size += len(data)
        if self.size > self._length:
            return defer.fail(ValueError(f"more than the {self._length} bytes announced"))
        waiting = self._body.feed(data)
        if waiting is not None:
            self._watchdog.arm()
            waiting.addBoth(self._progressed)
        return waiting

    def _progressed(self, result):
        self._watchdog.disarm()
        return result

    async def _finish(self, before_commit) -> str:
        if self._failure is not None:
            raise self._failure.value
        if self.size != self._length:
            raise ValueError(f"{self.size} bytes written, {self._length} announced")
        if before_commit is not None:
            try:
                before_commit()
            except Exception:
                # The last chunk never left: the remote has no complete body.
                self.abort()
                raise
        self._state = "finishing"
        self._body.release()
        self._watchdog.arm()
        try:
            await self._response
        finally:
            self._watchdog.stop()
        response = self._result
        if isinstance(response, Failure):
            response.raiseException()
        if self._failure is not None:
            raise self._failure.value
        key = await defer.maybeDeferred(self._accept, response)
        if self._state == "aborted":
            if self._delete is not None:
                await self._delete(key)
            raise defer.CancelledError("writer was aborted")
        self._state = "finished"
        self._key = key
        return key

    def finish(self, before_commit=None) -> defer.Deferred:
        """Release the held-back chunk once ``before_commit`` passed; fires
        with the data key when the remote stored the object."""
        if self._state != "open":
            return defer.fail(RuntimeError(f"cannot finish a writer that is {self._state}"))
        return defer.Deferred.fromCoroutine(self._finish(before_commit))

    def abort(self) -> defer.Deferred:
        """Cut the request (the remote never gets the whole body) or, after
        ``finish``, delete what it stored."""
        state, self._state = self._state, "aborted"
        self._watchdog.stop()
        if state in ("open", "finishing"):
            if not self._request.called:
                self._request.cancel()
            return defer.succeed(None)
        if state == "finished" and self._key is not None and self._delete is not None:
            key, self._key = self._key, None
            return self._delete(key).addErrback(self._delete_failed, key)
        return defer.succeed(None)

    @staticmethod
    def _delete_failed(failure: Failure, key: str) -> None:
        """Best effort: the remote object is left behind, said in the log."""
        log.warn("could not delete {key} after a failed write, left on the remote: "
                 "{reason}", key=key, reason=failure.getErrorMessage())


def header(response, name: str) -> str | None:
    """One response header as text (the first value)."""
    values = response.headers.getRawHeaders(name.encode("latin-1"))
    return values[0].decode("latin-1") if values else None


class _ExactHeaders(Headers):
    """Headers whose copies (the Agent copies them) keep metadata names' case."""

    def copy(self) -> "_ExactHeaders":
        new = _ExactHeaders()
        raw = getattr(self, "_rawHeaders", None)
        if raw is None:  # a future twisted without the private dict
            return super().copy()
        new._rawHeaders = {k: list(v) for k, v in raw.items()}
        return new


def to_headers(headers: dict[str, str]) -> Headers:
    """Twisted Headers from text names and values (UTF-8 where not latin-1)."""
    out = _ExactHeaders()
    raw_dict = getattr(out, "_rawHeaders", None)
    for name, value in headers.items():
        try:
            raw = value.encode("latin-1")
        except UnicodeEncodeError:
            raw = value.encode("utf-8")
        raw = raw.replace(b"\r", b" ").replace(b"\n", b" ")
        if raw_dict is not None and name.lower().startswith(("x-ms-meta-", "x-amz-meta-")):
            # twisted writes Http-Header-Case; metadata names keep their case.
            raw_dict[name.encode("latin-1")] = [raw]
        else:
            out.setRawHeaders(name.encode("latin-1"), [raw])
    return out


def put_writer(store, url: str, headers: dict[str, str], what: str, size: int,
               ok: tuple[int, ...], result: Callable, *, deletable: bool) -> "StreamingWriter":
    """An IDataWriter streaming one remote PUT; ``result(response)`` gives the
    data key (or part id) once the remote answered one of ``ok``.  A whole
    object (``deletable``) is removed again if we abort after it landed."""
    def send(body):
        return store.request("PUT", url, headers, body)

    async def accept(response) -> str:
        await check_status(store.name, what, response, ok)
        await read_body(response)
        return result(response)

    return StreamingWriter(
        location=store.name, what=what, length=size, send=send,
        accept=lambda r: defer.Deferred.fromCoroutine(accept(r)),
        delete=store.delete if deletable else None,
        clock=store._clock, timeout=store._timeout)

