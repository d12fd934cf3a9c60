# -*- test-case-name: tests.unit.test_http -*-
"""A twisted.web Request and HTTPChannel that stream request bodies.

Stock twisted.web spools the whole body (to memory or a temp file) before
``render`` is called.  Here the request is handed to the resource as soon
as its headers are in, the body flows to a RequestBody with TCP
backpressure, and ``Expect: 100-continue`` is answered only when a handler
actually starts reading the body, so a request that fails routing or
authentication gets its error without the body being sent at all.
"""
from __future__ import annotations

import functools
import re

from twisted.internet import defer
from twisted.python import failure
from twisted.web import http, resource, server
from twisted.web.http_headers import Headers

from cloudserver.web.body import RequestBody
from cloudserver.web.connection import ConnectionPolicyMixin
from cloudserver.web.drain import ConnectionDrain
from cloudserver.web.limits import ConnectionCounts, HttpLimits

#: An early answer keeps the connection if at most this much body is left
#: to read and throw away; otherwise the connection is closed.
DRAIN_LIMIT = 1 << 20


def add_header_exact(headers, name: bytes, value: bytes) -> None:
    """Add a response header keeping the name's case as given.

    twisted.web writes every header name in Http-Header-Case; S3 returns user
    metadata names (x-amz-meta-*) in lower case and clients (botocore) turn
    the case they see into the metadata keys they give the user.
    """
    raw = getattr(headers, "_rawHeaders", None)
    if raw is None:  # a future twisted without the private dict: case is lost
        headers.addRawHeader(name, value)
    else:
        raw.setdefault(name, []).append(value.replace(b"\r", b" ").replace(b"\n", b" "))


def canonical_header_name(name: str) -> bytes:
    """The name as twisted.web writes it ("etag" -> b"ETag"), cached: response
    headers are set straight into the Headers' dict (see resource._send)."""
    cached = _CANONICAL_NAMES.get(name)
    if cached is None:
        probe = Headers()
        probe.addRawHeader(name.encode("latin-1"), b"")
        cached = next(iter(probe.getAllRawHeaders()))[0]
        if len(_CANONICAL_NAMES) < 4096:  # names come from code, but bound it
            _CANONICAL_NAMES[name] = cached
    return cached


_CANONICAL_NAMES: dict[str, bytes] = {}


def sanitize_header_value(value: bytes) -> bytes:
    """What twisted.web does to a header value: line breaks become spaces."""
    if b"\n" in value or b"\r" in value:
        return b" ".join(value.splitlines())
    return value


class _DateCache:
    """The HTTP ``Date`` value, formatted once per second of the clock.

    twisted.web formats it for every response (``datetimeToString``, a
    gmtime and a %-format), the same text a thousand times a second.
    """

    def __init__(self):
        self._second: int | None = None
        self._value = b""

    def value(self, now: float) -> bytes:
        second = int(now)
        if second != self._second:
            self._value = http.datetimeToString(second)
            self._second = second
        return self._value


_dates = _DateCache()


#: twisted.web's own request-line parser (for the tests, and to compare with)
TWISTED_REQUEST_LINE_PARSER = getattr(http, "_parseRequestLine", None)
_TOKEN_RE = re.compile(rb"[A-Za-z0-9!#$%&'*+\-.^_`|~]+")
_TARGET_RE = re.compile(rb"[\x21-\xb0]+")


def parse_request_line(line: bytes) -> tuple[bytes, bytes, bytes]:
    """twisted.web's ``_parseRequestLine``, with its checks done by regexes.

    Twisted checks the request-target byte by byte in a Python loop — a
    presigned URL is ~350 bytes, 4 % of a HEAD's CPU.  Same answers, same
    ValueError for what it refuses (method a token; target of bytes 0x21 to
    0xB0, non-empty; HTTP/1.0 or 1.1).
    """
    method, request, version = line.split(b" ")
    if not _TOKEN_RE.fullmatch(method):
        raise ValueError("Invalid method")
    if not _TARGET_RE.fullmatch(request):
        raise ValueError("Invalid request-target")
    if version != b"HTTP/1.1" and version != b"HTTP/1.0":
        raise ValueError("Invalid version")
    return method, request, version


#: Request lines the installed parser must answer as twisted's does.
_PARSER_SAMPLES = (
    b"GET /b/k?X-Amz-Date=1&a=%2F HTTP/1.1", b"HEAD / HTTP/1.0", b"PUT * HTTP/1.1",
    b"GET /\x21\xb0~ HTTP/1.1", b"GET /\x20 HTTP/1.1", b"GET /a\xb1 HTTP/1.1",
    b"GET /a\x7f HTTP/1.1", b"GET /a\x00 HTTP/1.1", b"GET  HTTP/1.1", b"GET / HTTP/2.0",
    b"GET / http/1.1", b"G(T / HTTP/1.1", b" / HTTP/1.1", b"GET /  HTTP/1.1",
    b"GET / HTTP/1.1 x", b"GET /", b"", b"M-SEARCH!#$%&'*+-.^_`|~ / HTTP/1.1",
    b"GET\t/ HTTP/1.1", b"GE\xe9 / HTTP/1.1",
)


def _answer(parse, line: bytes):
    try:
        return parse(line)
    except ValueError:
        return ValueError


def install_request_line_parser() -> bool:
    """Have twisted.web parse request lines with :func:`parse_request_line`.

    A process-wide change (tap.makeService makes it), made only if
    twisted's own function is there and answers the samples exactly as
    ours does; True when ours is in place.
    """
    current = getattr(http, "_parseRequestLine", None)
    if current is parse_request_line:
        return True
    if current is None:
        return False
    if any(_answer(current, line) != _answer(parse_request_line, line)
           for line in _PARSER_SAMPLES):
        return False
    http._parseRequestLine = parse_request_line
    return True


def _buffered(transport) -> int:
    """Bytes a TCP transport still holds (twisted's FileDescriptor buffers;
    0 for a transport without them, e.g. TLS or a test's)."""
    try:
        data = transport.dataBuffer
        pending = len(data) - transport.offset + transport._tempDataLen
    except (AttributeError, TypeError):
        return 0
    return pending if isinstance(pending, int) and pending > 0 else 0


def _ignore(*args) -> None:
    return None


class StreamingChannel(ConnectionPolicyMixin, http.HTTPChannel):
    """HTTPChannel that lets the request decide when to send 100 Continue
    (timeouts and Connection handling: see connection.py)."""

    _discard_all = False

    def _send100Continue(self):
        # Sent by RequestBody.start() instead; see StreamingRequest.send_continue.
        pass

    def send_continue(self):
        self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    @functools.cached_property
    def secure(self) -> bool:
        """Whether the connection is TLS, found once per connection
        (``isSecure`` adapts the transport to ISSLTransport every call)."""
        return self.isSecure()

    def discard_rest(self):
        """Ignore everything the peer sends from now on (connection closing).

        The three entry points are replaced on the instance (as twisted.web
        itself does for a non-persistent connection) rather than checked on
        every line of every request.
        """
        self._discard_all = True
        self.persistent = False
        self.lineReceived = self.rawDataReceived = self.allContentReceived = _ignore


class StreamingRequest(server.Request):
    """A Request processed from its headers, whose body streams to ``self.body``."""

    expect_continue = False
    continue_sent = False
    body: RequestBody
    _content_done = False
    _finish_pending = False
    #: body bytes handed to the connection (what the access log reports)
    bytes_written = 0
    #: of those, what was still in the transport's buffer when the
    #: connection was lost (never reached the peer)
    bytes_unsent = 0

    def gotLength(self, length):
        channel = self.channel
        self.content = None
        self.method = channel._command
        self.uri = channel._path
        self.clientproto = channel._version
        self.path = self.uri.split(b"?", 1)[0]
        self.args = {}
        self.prepath = []
        self.postpath = []
        # self.client and self.host: set by http.Request.__init__, same channel
        self.body = RequestBody(self, length)
        expect = self.requestHeaders.getRawHeaders(b"expect")
        self.expect_continue = bool(
            expect and expect[0].lower() == b"100-continue" and self.clientproto == b"HTTP/1.1")
        # Process on the same turn: the resource answers from the headers.
        self.site = channel.site
        self.process()

    def process(self):
        """What ``server.Request.process`` does for our single leaf resource.

        Kept: the Server and Date headers, ``OPTIONS *``, resource lookup,
        encoders, ``render`` and ``processingFailed``.  Left out: splitting
        and unquoting the path into ``postpath`` (the S3 resource parses the
        raw request-target itself and is a leaf, so nothing traverses it),
        and the Date is formatted once a second instead of per request.
        """
        site = self.site
        date = _dates.value(site.reactor.seconds())
        raw = getattr(self.responseHeaders, "_rawHeaders", None)
        if raw is not None:  # the names as twisted.web stores them
            raw[b"Server"] = [server.version]
            raw[b"Date"] = [date]
        else:
            self.setHeader(b"Server", server.version)
            self.setHeader(b"Date", date)
        if self.path == b"*":
            self._handleStar()
            return
        try:
            resrc = site.getResourceFor(self)
            if resource._IEncodingResource.providedBy(resrc):
                encoder = resrc.getEncoder(self)
                if encoder is not None:
                    self._encoder = encoder
            self.render(resrc)
        except BaseException:
            self.processingFailed(failure.Failure())

    def send_continue(self):
        if self.expect_continue and not self.continue_sent and not self.startedWriting:
            self.continue_sent = True
            self.channel.send_continue()

    def handleContentChunk(self, data):
        self.body.feed(data)

    def requestReceived(self, command, path, version):
        # The whole body has been received (the stock method would process now).
        self._content_done = True
        self.body.end()
        if self._finish_pending:
            self._finish_pending = False
            server.Request.finish(self)

    def write(self, data):
        if not self.startedWriting and not self._content_done and not self._disconnected:
            # Answering before the body is in: decide now, while the headers can
            # still say "Connection: close", whether to drain or to close.
            self._maybe_close_early()
        if not self._disconnected:
            self.bytes_written += len(data)
        server.Request.write(self, data)

    @property
    def bytes_sent(self) -> int:
        """Body bytes that left this process: written, less what a lost
        connection still held (an aborted download counts what it got)."""
        return self.bytes_written - self.bytes_unsent

    def connectionLost(self, reason):
        if not self.finished:
            self.bytes_unsent = min(self.bytes_written, _buffered(self.channel.transport))
        server.Request.connectionLost(self, reason)

    def finish(self):
        """Finish the response; if the body is still arriving, drain or close."""
        if not self.startedWriting and not self._disconnected:
            self.write(b"")
        if self._content_done or self._disconnected or self.channel._discard_all:
            return server.Request.finish(self)
        # Drain what is left (bounded) before the channel parses the next request.
        self._finish_pending = True
        self.body.discard()

    def _maybe_close_early(self):
        remaining = self.body.remaining()
        unsent = self.expect_continue and not self.continue_sent
        if unsent or remaining is None or remaining > DRAIN_LIMIT:
            self.responseHeaders.setRawHeaders(b"connection", [b"close"])
            self.channel.discard_rest()

    def processingFailed(self, reason):
        # Never reached: the resources render their own errors.
        return server.Request.processingFailed(self, reason)


class StreamingSite(server.Site):
    """Site whose requests stream; access logging is left to the resource (the S3
    front logs its own access lines).

    ``limits`` (web/limits.py, config.json ``limits``) bounds its connections,
    header sections and timeouts; ``refusals`` words the answers to what goes
    over them (default: plain HTTP; the S3 front's: S3 error bodies).
    """

    requestFactory = StreamingRequest
    protocol = StreamingChannel

    def __init__(self, resource, *, timeout=None, reactor=None, name="http",
                 limits: HttpLimits | None = None, refusals=None):
        self.limits = limits if limits is not None else HttpLimits()
        if timeout is None:
            timeout = self.limits.idle_timeout
        super().__init__(resource, timeout=timeout, reactor=reactor)
        #: the open connections, ended on stop (drain.DrainingServerService)
        self.drain = ConnectionDrain(self.reactor, name)
        #: the open connections, counted against the limits
        self.connections = ConnectionCounts(self.limits)
        self.refusals = refusals

    def when_idle(self):
        """Fires once the resource runs no handler (its ``when_idle``, if it
        has one): a graceful stop waits for it after the connections close."""
        when_idle = getattr(self.resource, "when_idle", None)
        return when_idle() if when_idle is not None else defer.succeed(None)

    def log(self, request):
        pass
