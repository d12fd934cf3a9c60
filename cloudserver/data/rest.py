# -*- test-case-name: tests.unit.test_data_rest -*-
"""The :9991 data service: CloudServer's /DataFile REST interface over an IDataStore.

``PUT /DataFile`` stores the body as a new blob and answers ``201 Created``
with ``Location: /DataFile/<key>`` once the store made it durable (the file
store fdatasyncs in ``finish``).  ``GET /DataFile/<key>`` streams the blob,
honouring one byte range (206, or 416 with ``Content-Range: bytes */size``;
several ranges are ignored and the whole blob is sent, as upstream);
``DELETE /DataFile/<key>`` answers 204.  A key that is not one the store
could have issued (40 lower-case hex digits) or names no blob is a 404, so
no request can reach a path outside the data directory.

Bodies stream both ways with backpressure, through the same streaming
request machinery as the S3 front (StreamingSite / StreamingRequest / RequestBody): an
upload is written to the store as it arrives and the socket is paused
while the store is busy; a download is a producer registered on the
request.  A client that disconnects mid-upload leaves nothing behind
(the writer is aborted).
"""
from __future__ import annotations

import os
import re
from typing import Any

from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from cloudserver.data.file import is_valid_key
from cloudserver.web.site import StreamingSite

log = Logger(namespace="cloudserver.dmd.data")

PREFIX = "/DataFile"
#: Largest blob accepted (S3's single PUT limit; parts are smaller).
DEFAULT_MAX_SIZE = 5 * 1024 ** 3

_RANGE_RE = re.compile(r"bytes=(\d*)-(\d*)$")


class Unsatisfiable(ValueError):
    """A Range that starts past the end of the blob (416)."""


def parse_range(value: str | None, size: int) -> tuple[int, int] | None:
    """(offset, length) of a single byte range; None for the whole blob.

    Malformed and multi-range headers are ignored (whole blob), as HTTP
    allows; a range starting at or past the end raises Unsatisfiable.
    """
    if not value:
        return None
    m = _RANGE_RE.match(value.strip().replace(" ", ""))
    if not m or (not m.group(1) and not m.group(2)):
        return None
    first, last = m.group(1), m.group(2)
    if not first:
        n = int(last)
        if n == 0 or size == 0:
            raise Unsatisfiable(value)
        n = min(n, size)
        return size - n, n
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise Unsatisfiable(value)
    end = min(end, size - 1)
    return start, end - start + 1


def blob_size(store: Any, key: str) -> int:
    """The size of blob ``key``; KeyError when there is none.

    Asks the store (``blob_size``) when it can say, else knows the two
    local stores: the file store's path (a stat, as its ``producer`` does)
    and the memory store's dict.
    """
    if not is_valid_key(key):
        raise KeyError(key)
    sizer = getattr(store, "blob_size", None)
    if sizer is not None:
        return sizer(key)
    path_for = getattr(store, "path_for", None)
    if path_for is not None:
        try:
            return os.stat(path_for(key)).st_size
        except FileNotFoundError:
            raise KeyError(key) from None
    blobs = getattr(store, "_blobs", None)
    if blobs is not None:
        return len(blobs[key])
    raise TypeError(f"{type(store).__name__} cannot tell blob sizes")


class _HTTPError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


class DataResource(Resource):
    """The one leaf of the data service."""

    isLeaf = True

    def __init__(self, store: Any, max_size: int = DEFAULT_MAX_SIZE):
        super().__init__()
        self.store = store
        self.max_size = max_size

    def render(self, request):
        d = Deferred.fromCoroutine(self._handle(request))

        def cancel(_):
            if not d.called:
                d.cancel()

        request.notifyFinish().addErrback(cancel)
        d.addErrback(self._last_resort, request)
        return NOT_DONE_YET

    async def _handle(self, request) -> None:
        path = request.uri.split(b"?", 1)[0].decode("latin-1")
        method = request.method.decode("latin-1").upper()
        try:
            if path in (PREFIX, PREFIX + "/"):
                if method != "PUT":
                    raise _HTTPError(405, "only PUT on /DataFile", {"Allow": "PUT"})
                await self._put(request)
                return
            if not path.startswith(PREFIX + "/"):
                raise _HTTPError(404, "not a /DataFile URL")
            key = path[len(PREFIX) + 1:]
            if method in ("GET", "HEAD"):
                await self._get(request, key, method == "HEAD")
            elif method == "DELETE":
                await self._delete(request, key)
            else:
                raise _HTTPError(405, "GET, HEAD or DELETE on a blob",
                                 {"Allow": "GET, HEAD, DELETE"})
        except CancelledError:
            return
        except _HTTPError as e:
            self._plain(request, e.status, str(e), e.headers)

    # -- PUT -----------------------------------------------------------------

    async def _put(self, request) -> None:
        body = request.body
        if body.length is not None and body.length > self.max_size:
            raise _HTTPError(413, f"blobs are at most {self.max_size} bytes")
        writer = self.store.create_writer()
        written = 0

        def on_data(data: bytes):
            nonlocal written
            written += len(data)
            if written > self.max_size:
                raise _HTTPError(413, f"blobs are at most {self.max_size} bytes")
            return writer.write(data)

        try:
            await body.start(on_data)
            key = await writer.finish()
        except GeneratorExit:  # collected while waiting: nobody awaits the clean-up
            writer.abort()
            raise
        except BaseException as e:
            await writer.abort()
            if isinstance(e, (_HTTPError, CancelledError)):
                raise
            log.failure("data PUT failed", Failure())
            raise _HTTPError(500, "could not store the blob") from None
        if request._disconnected:
            # Nobody will learn the key: the blob would be an orphan.
            await writer.abort()
            return
        request.setResponseCode(201)
        request.responseHeaders.setRawHeaders(b"location", [f"{PREFIX}/{key}".encode()])
        request.responseHeaders.setRawHeaders(b"content-length", [b"0"])
        request.finish()

    # -- GET / HEAD -------------------------------------------------------------

    async def _get(self, request, key: str, head: bool) -> None:
        try:
            size = blob_size(self.store, key)
        except KeyError:
            raise _HTTPError(404, "no such blob") from None
        try:
            rng = parse_range(_header(request, b"range"), size)
        except Unsatisfiable:
            raise _HTTPError(416, "range not satisfiable",
                             {"Content-Range": f"bytes */{size}"}) from None
        headers = request.responseHeaders
        headers.setRawHeaders(b"accept-ranges", [b"bytes"])
        headers.setRawHeaders(b"content-type", [b"application/octet-stream"])
        if rng is None:
            offset, length = 0, size
            request.setResponseCode(200)
        else:
            offset, length = rng
            request.setResponseCode(206)
            headers.setRawHeaders(
                b"content-range", [f"bytes {offset}-{offset + length - 1}/{size}".encode()])
        headers.setRawHeaders(b"content-length", [str(length).encode()])
        if head or length == 0:
            request.finish()
            return
        try:
            producer = self.store.producer(key, offset, length)
        except KeyError:  # deleted since the stat
            raise _HTTPError(404, "no such blob") from None
        request.registerProducer(producer, True)
        try:
            await producer.startProducing(request)
        except CancelledError:
            producer.stopProducing()
            raise
        except Exception:
            # Headers are out: cutting the connection is the only signal left.
            log.failure("data GET {key} failed mid-body", Failure(), key=key)
            request.unregisterProducer()
            if not request._disconnected:
                request.channel.transport.abortConnection()
            return
        request.unregisterProducer()
        if not request._disconnected:
            request.finish()

    # -- DELETE ---------------------------------------------------------------------

    async def _delete(self, request, key: str) -> None:
        try:
            blob_size(self.store, key)
        except KeyError:
            raise _HTTPError(404, "no such blob") from None
        await self.store.delete(key)
        request.setResponseCode(204)
        request.finish()

    # -- helpers -----------------------------------------------------------------

    @staticmethod
    def _plain(request, status: int, message: str, headers: dict[str, str]) -> None:
        if request._disconnected or request.startedWriting:
            return
        body = (message + "\n").encode()
        request.setResponseCode(status)
        for name, value in headers.items():
            request.responseHeaders.setRawHeaders(name.encode(), [value.encode()])
        request.responseHeaders.setRawHeaders(b"content-type", [b"text/plain"])
        request.responseHeaders.setRawHeaders(b"content-length", [str(len(body)).encode()])
        if request.method != b"HEAD":
            request.write(body)
        request.finish()

    @staticmethod
    def _last_resort(failure: Failure, request) -> None:
        log.failure("data request failed", failure)
        if not request._disconnected and not request.startedWriting:
            request.setResponseCode(500)
            request.finish()


def _header(request, name: bytes) -> str | None:
    values = request.requestHeaders.getRawHeaders(name)
    return values[0].decode("latin-1") if values else None


class DataSite(StreamingSite):
    """The :9991 site: streaming requests (as the S3 front) over a DataResource."""

    def __init__(self, store: Any, max_size: int = DEFAULT_MAX_SIZE, **kwargs: Any):
        super().__init__(DataResource(store, max_size), **kwargs)
