# -*- test-case-name: tests.unit.test_http_limits -*-
"""What one HTTP listener holds at most, and how it says no.

A server open to anyone must bound what a client can make it keep: open
connections (in all, and per client address), the size of a request's
header section (one line and all of them), and the time a client may take
to send its headers or leave a request body stalled.  The values come from
config.json ``limits`` (cloudserver/config/limits.py builds an
:class:`HttpLimits`); the listen backlog is the listener's (tls.py).

A refusal is answered, not just a closed socket: the client learns why and
SDKs retry what is retryable.  The site's ``refusals`` (an object with the
methods of :class:`PlainRefusals`) writes the responses; the S3 front gives
S3 error bodies (s3/http/refusals.py), other sites plain HTTP ones.  After a
refusal the connection is half-closed and what the client still sends is
read and dropped for at most :data:`LINGER` seconds: closing a socket with
unread bytes makes the kernel send a reset, and the client could lose the
answer.
"""
from __future__ import annotations

import attrs

#: Seconds without a byte from the client before the connection is closed
#: (between requests, or in the middle of a request body).
IDLE_TIMEOUT = 60.0
#: Seconds a client has, from the first byte of a request, to send the
#: request line and all headers.
HEADER_TIMEOUT = 30.0
#: Bytes a second a request body must bring, over each idle_timeout window.
MIN_BODY_RATE = 1024.0
#: twisted.web's limits on a request's header section, kept as defaults.
MAX_HEADER_SIZE = 16384
MAX_HEADERS = 500
#: The listen queue of every listener (tls.server_service); twisted's default
#: of 50 queued a 2,000-client burst for 33 s (issue 20).  The kernel caps it
#: at net.core.somaxconn.
LISTEN_BACKLOG = 1024
#: Seconds a refused connection is kept half-closed, its input dropped.
LINGER = 2.0


@attrs.frozen
class HttpLimits:
    """The limits of one listener (config.json ``limits``; README "Limits")."""

    #: connections open at once on the listener; more are refused (503)
    max_connections: int = 10_000
    #: connections open at once from one client address
    max_connections_per_client: int = 1_000
    #: seconds from a request's first byte to the end of its headers (408)
    header_timeout: float = HEADER_TIMEOUT
    #: seconds without a byte from the client, between requests or in a body
    idle_timeout: float = IDLE_TIMEOUT
    #: bytes of the request line plus headers, and of any one line of them
    max_header_size: int = MAX_HEADER_SIZE
    #: header fields in one request
    max_headers: int = MAX_HEADERS
    #: bytes a second a request body must average over each idle_timeout
    #: window (a client dripping bytes is never idle); 0: no check
    min_body_rate: float = MIN_BODY_RATE


def _plain(status: bytes) -> bytes:
    return (b"HTTP/1.1 " + status + b"\r\nConnection: close\r\n"
            b"Content-Length: 0\r\n\r\n")


class PlainRefusals:
    """Bodiless HTTP refusals, for sites that speak no S3 (the data daemon)."""

    def header_too_large(self, limit: int) -> bytes:
        return _plain(b"431 Request Header Fields Too Large")

    def too_many_connections(self) -> bytes:
        return _plain(b"503 Service Unavailable")

    def request_timeout(self) -> bytes:
        return _plain(b"408 Request Timeout")

    def content_length_too_large(self, value: bytes) -> bytes:
        return _plain(b"413 Content Too Large")


class ConnectionCounts:
    """The open connections of one site, in all and per client address."""

    def __init__(self, limits: HttpLimits):
        self.limits = limits
        self.total = 0
        self._by_client: dict[str, int] = {}

    def admit(self, client: str) -> bool:
        """Count a new connection from ``client``; False (not counted) when
        either cap is reached."""
        held = self._by_client.get(client, 0)
        if self.total >= self.limits.max_connections or \
                held >= self.limits.max_connections_per_client:
            return False
        self.total += 1
        self._by_client[client] = held + 1
        return True

    def release(self, client: str) -> None:
        held = self._by_client.get(client, 0)
        if held <= 1:
            self._by_client.pop(client, None)
        else:
            self._by_client[client] = held - 1
        self.total = max(0, self.total - 1)

    def of(self, client: str) -> int:
        return self._by_client.get(client, 0)
