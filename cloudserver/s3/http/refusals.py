# -*- test-case-name: tests.unit.test_http_limits -*-
"""The S3 front's answers to what goes over a listener's limits (web/limits.py).

The connection layer refuses before there is a request to route (too many
connections, a header section too large, a body stalled), so these answers
are whole HTTP responses written to the transport, with AWS's codes:

- a header section over the limit: 400 RequestHeaderSectionTooLarge with
  MaxSizeAllowed (AWS's answer; RFC 6585 would say 431, which the plain
  sites send);
- too many connections: 503 SlowDown, which SDKs retry with backoff;
- a request body stalled: 400 RequestTimeout;
- a Content-Length of more than 19 digits: 400 EntityTooLarge.
"""
from __future__ import annotations

import os

from cloudserver.s3.errors import CATALOG
from cloudserver.s3.ops.upload import MAX_PUT_SIZE
from cloudserver.s3.xml.responses import error_xml

_REASONS = {400: b"Bad Request", 503: b"Service Unavailable"}


def _response(code: str, message: str | None = None, **extra: object) -> bytes:
    status, default = CATALOG[code]
    request_id = os.urandom(8).hex().upper()
    body = error_xml(code, message or default, None, request_id, extra)
    head = (b"HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\n"
            b"x-amz-request-id: %s\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
            % (status, _REASONS[status], request_id.encode(), len(body)))
    return head + body


class S3Refusals:
    """The ``refusals`` of the S3 front's StreamingSite."""

    def header_too_large(self, limit: int) -> bytes:
        return _response("RequestHeaderSectionTooLarge", MaxSizeAllowed=limit)

    def too_many_connections(self) -> bytes:
        return _response("SlowDown")

    def request_timeout(self) -> bytes:
        return _response("RequestTimeout")

    def content_length_too_large(self, value: bytes) -> bytes:
        """A Content-Length of more digits than any size: over the 5 GiB of a
        PUT, as AWS answers a length above it (ProposedSize left out: it
        would echo thousands of digits)."""
        return _response("EntityTooLarge", MaxSizeAllowed=MAX_PUT_SIZE)
