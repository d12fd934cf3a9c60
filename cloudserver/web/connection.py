# -*- test-case-name: tests.unit.test_http_protocol -*-
"""HTTP/1.1 connection policy for the streaming channel: timeouts and persistence.

twisted.web's HTTPChannel already keeps connections alive, queues pipelined
requests and has an idle timeout (``timeOut``, reset by every byte
received).  What it lacks, and this mixin adds:

- **A header deadline.**  The idle timer restarts at every byte, so a client
  sending a header byte every few seconds ("slowloris") would hold a
  connection forever.  The request line and headers must be complete within
  ``header_timeout`` seconds of their first byte; otherwise the answer is
  ``408 Request Timeout`` and the connection closes.
- **No idle timeout while the server itself stopped reading.**  A request
  body is paused (TCP backpressure) while the data store catches up; the
  client cannot send then, so the silence is not the client's.  The idle
  timer is re-armed instead of firing.  A client that does not read its
  responses (the transport's buffers full) still times out, as in Twisted.
- **``Connection`` tokens** are split on commas as RFC 9110 says
  (``Connection: close, TE`` closes; twisted.web splits on spaces only).
- **Graceful stop** (drain.py): the channel registers with its site's
  ``drain``; when the process stops, an idle channel closes at once and a
  busy one answers with ``Connection: close`` and closes after its response.
- **Limits answered** (limits.py, the site's ``limits`` and ``refusals``):
  a connection over the site's caps (in all, per client address) gets a
  503 before anything is read; a header section or one of its lines over
  ``max_header_size``, or more than ``max_headers`` fields, gets a 400/431
  (twisted would close a too-long line without a word); a request body
  stalled for ``idle_timeout`` gets a 408/400 RequestTimeout.  Each closes
  the connection after a short linger (limits.LINGER).
"""
from __future__ import annotations

from twisted.logger import Logger

from cloudserver.web.limits import (HEADER_TIMEOUT, IDLE_TIMEOUT, LINGER, HttpLimits,
                                    PlainRefusals)

__all__ = ["HEADER_TIMEOUT", "IDLE_TIMEOUT", "ConnectionPolicyMixin"]

#: More digits than any byte count (2^63 has 19): no int() is asked of it.
CONTENT_LENGTH_DIGITS = 19

REQUEST_TIMEOUT_RESPONSE = (b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\n"
                            b"Content-Length: 0\r\n\r\n")

log = Logger(namespace="cloudserver.http")


def _drop(data: bytes) -> None:
    """A refused connection's input: read and dropped."""


class _PauseTracking:
    """The transport as the channel's push producer, remembering whether
    reading is paused (every other attribute is the transport's)."""

    def __init__(self, producer):
        self._producer = producer
        self.paused = False
        #: how many times reading was paused (the body-rate check skips a
        #: window in which we, not the client, held the bytes back)
        self.pauses = 0

    def pauseProducing(self):
        self.paused = True
        self.pauses += 1
        self._producer.pauseProducing()

    def resumeProducing(self):
        self.paused = False
        self._producer.resumeProducing()

    def __getattr__(self, name):
        return getattr(self._producer, name)


class ConnectionPolicyMixin:
    """Mix into an ``http.HTTPChannel`` subclass (of a twisted.web Site: the
    clock is ``self.site.reactor``), before it in the bases."""

    header_timeout: float | None = HEADER_TIMEOUT
    _awaiting_request = True
    #: when the headers of the request being received are due (None: no
    #: request under way, or its headers are in)
    _header_deadline: float | None = None
    #: one timer per connection, not one per request: it is left running
    #: when headers complete and, when it fires, re-arms itself for the
    #: deadline of the request then under way, if any
    _header_timer = None
    #: the client address counted in the site's ConnectionCounts (None: not counted)
    _counted: str | None = None
    #: the timer ending a refused connection's linger
    _linger = None
    #: bytes a second a request body must bring, per idle_timeout window (0: no check)
    min_body_rate: float = 0
    _body_timer = None
    _body_bytes = 0
    _body_pauses = 0
    _discard_all = False

    def connectionMade(self):
        super().connectionMade()
        self._networkProducer = _PauseTracking(self._networkProducer)
        drain = getattr(self.site, "drain", None)
        if drain is not None:
            drain.add(self)
        limits: HttpLimits | None = getattr(self.site, "limits", None)
        if limits is None:
            return
        self.header_timeout = limits.header_timeout
        self.min_body_rate = limits.min_body_rate
        self.totalHeadersSize = self.MAX_LENGTH = limits.max_header_size
        self.maxHeaders = limits.max_headers
        counts = getattr(self.site, "connections", None)
        if counts is None:
            return
        client = getattr(self.transport.getPeer(), "host", "")
        if counts.admit(client):
            self._counted = client
            return
        log.info("refusing {client}: {n} connections open (limits: {total} in all, "
                 "{each} per client)", client=client, n=counts.total,
                 total=limits.max_connections, each=limits.max_connections_per_client)
        self.refuse(self._refusals().too_many_connections())

    # -- refusals -------------------------------------------------------------
    def _refusals(self):
        refusals = getattr(self.site, "refusals", None)
        return refusals if refusals is not None else PlainRefusals()

    def refuse(self, response: bytes, *, linger: bool = True) -> None:
        """Answer ``response`` (a whole HTTP response) and close: the write side
        now, the connection after LINGER seconds in which the client's bytes
        are read and dropped (closing with unread input resets the
        connection, and the client could lose the answer).  Without
        ``linger`` (a stalled client: nothing to drop; a handler waits for
        the connection's end) the connection closes once the answer is out."""
        self._cancel_header_timer()
        self._cancel_body_timer()
        self.setTimeout(None)
        discard = getattr(self, "discard_rest", None)
        if discard is not None:
            discard()
        self.persistent = False
        self.dataReceived = _drop
        self.transport.write(response)
        # Not under TLS: its wrapper would hand the call to the TCP socket
        # below, ending the stream without close_notify.
        if linger and not self.isSecure():
            half_close = getattr(self.transport, "loseWriteConnection", None)
        else:
            half_close = None
        try:
            if half_close is None:
                raise NotImplementedError
            half_close()
        except NotImplementedError:
            self.loseConnection()
            return
        self._linger = self.callLater(LINGER, self._end_linger)

    def _end_linger(self):
        self._linger = None
        self.transport.loseConnection()

    def _headers_too_large(self):
        limit = self.totalHeadersSize
        log.info("refusing {peer}: request header section over {limit} bytes",
                 peer=str(self.transport.getPeer()), limit=limit)
        self.refuse(self._refusals().header_too_large(limit))

    def lineReceived(self, line):
        # Before twisted's own check, which answers a bare 400.
        if self._receivedHeaderSize + len(line) > self.totalHeadersSize:
            self._headers_too_large()
            return
        super().lineReceived(line)

    def lineLengthExceeded(self, line):
        # twisted's LineReceiver drops the connection without an answer.
        self._headers_too_large()

    def headerReceived(self, line):
        if self._receivedHeaderCount >= self.maxHeaders:
            self._headers_too_large()
            return False
        name, _, value = line.partition(b":")
        if len(value) > CONTENT_LENGTH_DIGITS and name.strip().lower() == b"content-length" \
                and value.strip().isdigit() \
                and len(value.strip().lstrip(b"0")) > CONTENT_LENGTH_DIGITS:
            # twisted would call int() on it: past 4,300 digits a ValueError
            # that drops the connection with a traceback
            log.info("refusing {peer}: Content-Length of {n} digits",
                     peer=str(self.transport.getPeer()), n=len(value.strip()))
            self.refuse(self._refusals().content_length_too_large(value.strip()))
            return False
        return super().headerReceived(line)

    def _draining(self) -> bool:
        drain = getattr(self.site, "drain", None)
        return drain is not None and drain.draining

    def begin_drain(self):
        """The process is stopping: close now if no request is under way, else
        after the current response (which says ``Connection: close`` if its
        headers are not sent yet); a request whose first bytes are in counts
        as under way; a pipelined request is not read."""
        if not self.requests:
            if self._header_deadline is None:
                self.loseConnection()
            # else: its first line is not in yet; twisted would drop it on a
            # non-persistent channel, so checkPersistence says close instead
            return
        self.persistent = False
        for request in self.requests:
            if not request.startedWriting:
                request.responseHeaders.setRawHeaders(b"connection", [b"close"])

    def dataReceived(self, data):
        if self._body_timer is not None:
            self._body_bytes += len(data)
        if self._awaiting_request and self._header_deadline is None:
            self._start_header_timer()
        super().dataReceived(data)

    def allHeadersReceived(self):
        self._awaiting_request = False
        self._header_deadline = None
        super().allHeadersReceived()
        if self.min_body_rate and self.timeOut and self._transferDecoder is not None \
                and self._body_timer is None and not self._discard_all:
            self._start_body_window()

    # -- the body rate --------------------------------------------------------
    def _start_body_window(self):
        self._body_bytes = 0
        self._body_pauses = getattr(self._networkProducer, "pauses", 0)
        self._body_timer = self.callLater(self.timeOut, self._check_body_rate)

    def _check_body_rate(self):
        """Each ``idle_timeout`` window of a request body must bring
        ``min_body_rate`` bytes a second: a client dripping a byte now and
        then would never be idle, and would hold its connection (and an
        upload in flight) for as long as it likes."""
        self._body_timer = None
        if self._transferDecoder is None or self._discard_all:
            return  # the body is in (or being dropped)
        producer = self._networkProducer
        if getattr(producer, "paused", False) or \
                getattr(producer, "pauses", 0) != self._body_pauses:
            self._start_body_window()  # we held the bytes back, not the client
            return
        if self._body_bytes >= self.min_body_rate * self.timeOut:
            self._start_body_window()
            return
        log.info("closing {peer}: request body at {n} bytes in {t}s, under {rate} B/s",
                 peer=str(self.transport.getPeer()), n=self._body_bytes, t=self.timeOut,
                 rate=self.min_body_rate)
        self.refuse(self._refusals().request_timeout(), linger=False)

    def _cancel_body_timer(self):
        timer, self._body_timer = self._body_timer, None
        if timer is not None and timer.active():
            timer.cancel()

    def requestDone(self, request):
        # Before the base class: it replays pipelined bytes, which may hold
        # the next request's headers already.
        self._awaiting_request = True
        if any(self._dataBuffer):
            self._start_header_timer()
        super().requestDone(request)

    def checkPersistence(self, request, version):
        if self._draining():
            request.responseHeaders.setRawHeaders(b"connection", [b"close"])
            return False
        persistent = super().checkPersistence(request, version)
        if persistent:
            values = request.requestHeaders.getRawHeaders(b"connection")
            if not values:  # most clients: nothing to split
                return persistent
            tokens = b",".join(values)
            if b"close" in (t.strip().lower() for t in tokens.split(b",")):
                request.responseHeaders.setRawHeaders(b"connection", [b"close"])
                return False
        return persistent

    def timeoutConnection(self):
        producer = self._networkProducer
        if getattr(producer, "paused", False) and not self._waitingForTransport:
            # We paused reading (backpressure): wait for the store, not the client.
            self.setTimeout(self.timeOut)
            return
        if self.requests and not self._awaiting_request and \
                not self.requests[-1].startedWriting:
            # A request body stalled: say so (S3: 400 RequestTimeout); the
            # handler sees the connection lost and leaves nothing behind.
            log.info("closing {peer}: request body stalled for {t}s",
                     peer=str(self.transport.getPeer()), t=self.timeOut)
            self.refuse(self._refusals().request_timeout(), linger=False)
            return
        super().timeoutConnection()

    def connectionLost(self, reason):
        self._cancel_header_timer()
        self._cancel_body_timer()
        linger, self._linger = self._linger, None
        if linger is not None and linger.active():
            linger.cancel()
        if self._counted is not None:
            counts = getattr(self.site, "connections", None)
            if counts is not None:
                counts.release(self._counted)
            self._counted = None
        super().connectionLost(reason)
        drain = getattr(self.site, "drain", None)
        if drain is not None:
            drain.remove(self)

    # -- the header deadline ------------------------------------------------
    def _start_header_timer(self):
        if not self.header_timeout:
            return
        self._header_deadline = self.site.reactor.seconds() + self.header_timeout
        if self._header_timer is None:
            self._header_timer = self.callLater(self.header_timeout, self._header_timer_fired)

    def _cancel_header_timer(self):
        self._header_deadline = None
        timer, self._header_timer = self._header_timer, None
        if timer is not None and timer.active():
            timer.cancel()

    def _header_timer_fired(self):
        self._header_timer = None
        deadline = self._header_deadline
        if deadline is None:
            return  # no request under way: the next one starts a timer
        left = deadline - self.site.reactor.seconds()
        if left > 0:  # a later request's deadline
            self._header_timer = self.callLater(left, self._header_timer_fired)
            return
        self._headers_too_slow()

    def _headers_too_slow(self):
        self._header_deadline = None
        peer = self.transport.getPeer()
        log.info("closing {peer}: request headers not complete after {t}s",
                 peer=str(peer), t=self.header_timeout)
        # a slow client may still be sending: linger, so its bytes do not
        # reset the connection before it reads the 408
        self.refuse(REQUEST_TIMEOUT_RESPONSE)
