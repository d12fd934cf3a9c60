# -*- test-case-name: tests.unit.test_metadata_rpc -*-
"""The :9990 metadata protocol: framing, message schema and the method table.

Newline-delimited JSON, one message per line (docs/PROTOCOL.md is the
reference).  A client sends ``{"id", "method", "params"}``; the daemon
answers ``{"id", "result"}`` or ``{"id", "error": {"code", "message"}}``,
in whatever order the calls complete.  Listings stream: every list field of
the result goes out first as ``{"id", "seq", "field", "items"}`` lines that
the client acknowledges with ``{"ack": id, "seq": seq}``, then the rest of
the result as the final reply.

This module holds what both ends share; rpc_server.py and rpc_client.py
hold the two ends.  The method table (``METHODS``) mirrors
MetadataService's public calls one for one, so the client can offer the
very same methods and the S3 front cannot tell which one it has.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import attrs
from twisted.internet import protocol

from cloudserver.metadata import errors, uploads

#: Longest line either end accepts (bytes, newline excluded).  An object
#: record is a few KiB; a multipart completion with 10,000 parts is ~2 MiB.
DEFAULT_MAX_LINE = 16 * 1024 * 1024
#: Calls that get no answer within this time fail (upstream's default).
DEFAULT_CALL_TIMEOUT_MS = 30000
#: Stream lines the daemon keeps in flight without an ack (upstream: 5).
DEFAULT_STREAM_MAX_PENDING_ACK = 5
#: How long the daemon waits for the ack of a stream line (upstream: 5000).
DEFAULT_STREAM_ACK_TIMEOUT_MS = 5000
#: Items per stream line.
DEFAULT_STREAM_CHUNK = 100

# Protocol-level error codes (domain errors use their class name).
LINE_TOO_LONG = "LineTooLong"
BAD_REQUEST = "BadRequest"
UNKNOWN_METHOD = "UnknownMethod"
BAD_PARAMS = "BadParams"
INTERNAL = "InternalError"
STREAM_ACK_TIMEOUT = "StreamAckTimeout"
BUSY = "Busy"

_DOMAIN_ERRORS: dict[str, type[errors.MetadataError]] = {
    "NoSuchUpload": uploads.NoSuchUpload,
    "InvalidPart": uploads.InvalidPart,
}


def error_code(exc: errors.DomainError) -> str:
    """The wire code of a domain error: its class name (rebuilt by ``error_from_wire``)."""
    return type(exc).__name__


def error_from_wire(code: str, message: str | None) -> Exception:
    """The exception a client raises for an error line.

    Domain errors come back as their own class (so the S3 front maps them
    as it does in-process); protocol errors and unknown codes become
    RPCError, which the S3 front treats as an internal error, except the
    ones that mean "try again later" (ServiceUnavailable).
    """
    cls = _DOMAIN_ERRORS.get(code)
    if cls is not None:
        return cls(message=message)
    if code in (STREAM_ACK_TIMEOUT, BUSY):
        return errors.DaemonUnavailable(f"metadata daemon: {code}: {message}")
    exc = errors.from_name(code, message)
    if type(exc) is errors.MetadataError:
        return RPCError(code, message)
    return exc


class RPCError(errors.MetadataError):
    """A protocol-level error reported by the daemon (bad params, internal error)."""

    def __init__(self, wire_code: str, message: str | None = None):
        super().__init__(detail=f"{wire_code}: {message}")
        self.wire_code = wire_code


class CallStats:
    """Plain counters of one end of the protocol: calls by method, calls in
    flight, connections made (the client's reconnects are all but its
    first).  Increments only: the metrics port reads them when scraped."""

    __slots__ = ("calls", "in_flight", "connections")

    def __init__(self) -> None:
        self.calls: dict[str, int] = {}
        self.in_flight = 0
        self.connections = 0

    def started(self, method: str) -> None:
        calls = self.calls
        calls[method] = calls.get(method, 0) + 1
        self.in_flight += 1


def encode(message: Mapping[str, Any]) -> bytes:
    """One message as one line (ASCII JSON: no raw newline can appear inside)."""
    return json.dumps(message, separators=(",", ":"), allow_nan=False).encode("ascii") + b"\n"


# -- the method table -----------------------------------------------------------

def _names(value: Any) -> bool:
    return isinstance(value, str)


def _dict_or_none(value: Any) -> bool:
    return value is None or isinstance(value, dict)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _str_or_none(value: Any) -> bool:
    return value is None or isinstance(value, str)


@attrs.frozen
class Method:
    """One RPC method: its named parameters (in call order) and how to carry
    arguments and results that JSON cannot (int-keyed dicts, tuples)."""

    params: tuple[str, ...]
    required: int  # the first ``required`` params must be present
    checks: Mapping[str, Callable[[Any], bool]] = attrs.field(factory=dict)
    stream: bool = False
    #: client side: python args -> wire params (default: as they are)
    encode_params: Callable[[dict], dict] | None = None
    #: server side: wire params -> python args
    decode_params: Callable[[dict], dict] | None = None
    #: server side: python result -> wire result
    encode_result: Callable[[Any], Any] | None = None
    #: client side: wire result -> python result
    decode_result: Callable[[Any], Any] | None = None


_S = {"name": _names, "bucket": _names, "key": _names, "upload_id": _names}
_OPT = {"attrs": _dict_or_none, "md": _dict_or_none, "record": _dict_or_none,
        "options": _dict_or_none, "params": _dict_or_none}


def _checks(*names: str) -> dict[str, Callable[[Any], bool]]:
    table = {**_S, **_OPT, "part_number": _int, "marker": _int, "max_parts": _int,
             "limit": _int, "cursor": _str_or_none, "replace": lambda v: isinstance(v, bool),
             "items": lambda v: isinstance(v, list)}
    return {n: table[n] for n in names if n in table}


def _m(params: tuple[str, ...], required: int | None = None, **kw: Any) -> Method:
    return Method(params, len(params) if required is None else required, _checks(*params), **kw)


def _expected_to_wire(p: dict) -> dict:
    return {**p, "expected": [[int(n), e] for n, e in (p.get("expected") or {}).items()]}


def _expected_from_wire(p: dict) -> dict:
    pairs = p.get("expected")
    if not isinstance(pairs, list) or not all(
            isinstance(x, list) and len(x) == 2 and _int(x[0]) and isinstance(x[1], str)
            for x in pairs):
        raise ValueError("expected must be a list of [partNumber, etag] pairs")
    return {**p, "expected": {n: e for n, e in pairs}}


METHODS: dict[str, Method] = {
    "create_bucket": _m(("name", "attrs")),
    "get_bucket": _m(("name",)),
    "update_bucket": _m(("name", "attrs")),
    "delete_bucket": _m(("name",)),
    "list_buckets": _m((), stream=True,
                       encode_result=lambda r: {"buckets": [[n, a] for n, a in r]},
                       decode_result=lambda r: [(n, a) for n, a in r["buckets"]]),
    "put_object": _m(("bucket", "key", "md", "options"), 3),
    "get_object": _m(("bucket", "key", "options"), 2),
    "delete_object": _m(("bucket", "key", "options"), 2),
    "get_bucket_and_object": _m(("bucket", "key", "options"), 2),
    "list_objects": _m(("bucket", "params"), stream=True),
    "create_upload": _m(("bucket", "name", "upload_id", "record")),
    "get_upload": _m(("bucket", "name", "upload_id")),
    "list_uploads": _m(("bucket", "params"), stream=True),
    "put_part": _m(("bucket", "name", "upload_id", "part_number", "record")),
    "list_parts": _m(("upload_id", "marker", "max_parts"), 1, stream=True,
                     encode_result=lambda r: {"parts": r[0], "truncated": r[1]},
                     decode_result=lambda r: (r["parts"], r["truncated"])),
    "complete_upload": _m(("bucket", "name", "upload_id", "md", "expected", "options"), 5,
                          encode_params=_expected_to_wire,
                          decode_params=_expected_from_wire),
    "abort_upload": _m(("bucket", "name", "upload_id")),
    "delete_bucket_uploads": _m(("bucket", "limit"), 1,
                                encode_result=lambda r: {"removed": r[0], "more": r[1]},
                                decode_result=lambda r: (r["removed"], r["more"])),
    # operator tools (bin/cloudserver-usage, bin/cloudserver-metadata)
    "get_usage": Method(("bucket",), 0, {"bucket": _str_or_none}, stream=True),
    "export_bucket": _m(("bucket", "cursor", "limit"), 1, stream=True),
    "import_bucket": _m(("name", "record", "replace"), 2),
    "import_records": _m(("bucket", "items")),
    # the dmd's data check and repair (bin/cloudserver-check, cloudserver.check)
    "check_data": _m(("options",), 0),
}


def check_params(method: Method, params: Any) -> dict[str, Any]:
    """Validate wire params against ``method``; ValueError says what is wrong."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ValueError("params must be an object")
    unknown = set(params) - set(method.params)
    if unknown:
        raise ValueError(f"unknown params: {', '.join(sorted(unknown))}")
    for name in method.params[:method.required]:
        if name not in params:
            raise ValueError(f"missing param: {name}")
    if method.decode_params is not None:
        params = method.decode_params(params)
    for name, value in params.items():
        check = method.checks.get(name)
        if check is not None and not check(value):
            raise ValueError(f"bad type for param {name}")
    return params


# -- framing ----------------------------------------------------------------------

class LineProtocol(protocol.Protocol):
    """Splits the byte stream on ``\\n`` with a size limit and pausing.

    Unlike LineReceiver's default, a line over ``max_line`` is reported to
    ``line_too_long`` and then skipped up to its newline, so the lines after
    it are read normally: one bad message costs one error reply, not the
    connection.  Reading can be paused for several independent reasons
    (the peer does not read our replies; too many calls in flight); bytes
    already received wait in the buffer while paused.
    """

    max_line = DEFAULT_MAX_LINE

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._skipping = False
        self._pause_reasons: set[str] = set()
        self._delivering = False

    def connectionMade(self) -> None:
        # Small request and reply lines, pipelined: without TCP_NODELAY,
        # Nagle's algorithm holds a line back until the previous one is
        # acknowledged (up to the peer's delayed-ACK time, 40 ms on Linux).
        set_no_delay = getattr(self.transport, "setTcpNoDelay", None)
        if set_no_delay is not None:
            try:
                set_no_delay(True)
            except OSError:
                pass

    def line_received(self, line: bytes) -> None:
        raise NotImplementedError

    def line_too_long(self) -> None:
        raise NotImplementedError

    def dataReceived(self, data: bytes) -> None:
        self._buffer += data
        self._deliver()

    def _deliver(self) -> None:
        if self._delivering:
            return
        self._delivering = True
        try:
            buf = self._buffer
            while not self._pause_reasons and buf:
                end = buf.find(b"\n")
                if self._skipping:
                    if end < 0:
                        del buf[:]
                        return
                    del buf[:end + 1]
                    self._skipping = False
                    continue
                if end < 0:
                    if len(buf) > self.max_line:
                        del buf[:]
                        self._skipping = True
                        self.line_too_long()
                    return
                line = bytes(buf[:end])
                del buf[:end + 1]
                if len(line) > self.max_line:
                    self.line_too_long()
                    continue
                if line.strip():
                    self.line_received(line)
                if self.transport is None or getattr(self.transport, "disconnecting", False):
                    return
        finally:
            self._delivering = False

    # -- pausing ---------------------------------------------------------------

    def pause_reading(self, reason: str) -> None:
        if not self._pause_reasons and self.transport is not None:
            self.transport.pauseProducing()
        self._pause_reasons.add(reason)

    def resume_reading(self, reason: str) -> None:
        if reason not in self._pause_reasons:
            return
        self._pause_reasons.discard(reason)
        if not self._pause_reasons:
            if self.transport is not None:
                self.transport.resumeProducing()
            self._deliver()

    @property
    def paused(self) -> bool:
        return bool(self._pause_reasons)

    def send(self, message: Mapping[str, Any]) -> None:
        if self.transport is not None:
            self.transport.write(encode(message))
