# -*- test-case-name: tests.unit.test_auth_chunked -*-
"""Streaming decoder for ``Content-Encoding: aws-chunked`` request bodies.

Framing (SigV4 streaming upload)::

    <hex-size>[;chunk-signature=<sig>][;ext...]\\r\\n<data>\\r\\n   ... repeated
    0[;chunk-signature=<sig>]\\r\\n
    [<trailer-name>:<value>\\r\\n ...]            (the *-TRAILER forms)
    [x-amz-trailer-signature:<sig>\\r\\n]          (signed trailer form)
    \\r\\n

This is what botocore's AwsChunkedWrapper sends for the unsigned-trailer
form ("...\\r\\n0\\r\\nx-amz-checksum-crc32:AAAA==\\r\\n\\r\\n") and what the
AWS documentation describes for the signed forms.

The decoder is a push state machine: :meth:`AwsChunkedDecoder.feed` takes
whatever bytes arrived and returns zero-copy slices of payload; it never
buffers more than one header/trailer line (bounded by ``MAX_LINE``).  Chunk
signatures are checked incrementally: each chunk's data is hashed while it
streams and its signature checked when the chunk ends, chained on the
previous signature (the first one on the seed signature of the request).
"""

from __future__ import annotations

import hashlib

from cloudserver.s3.auth import sigv4
from cloudserver.s3.errors import S3Error

MAX_LINE = 4096
MAX_TRAILER_BYTES = 16384
MAX_HEX_DIGITS = 16

_HEADER, _DATA, _DATA_END, _TRAILER, _DONE = range(5)


def _bad(message: str) -> S3Error:
    return S3Error("InvalidArgument", message, ArgumentName="Content-Encoding",
                   ArgumentValue="aws-chunked")


class AwsChunkedDecoder:
    """Incremental aws-chunked decoder; see the module docstring.

    ``signing`` is None for STREAMING-UNSIGNED-PAYLOAD-TRAILER, else a
    ``(signing_key, scope, timestamp, seed_signature)`` tuple.
    ``signed_trailer`` requires an ``x-amz-trailer-signature`` trailer.
    ``decoded_length`` is x-amz-decoded-content-length (None: unchecked);
    ``trailer_names`` the names declared in x-amz-trailer.
    """

    def __init__(self, *, signing: tuple[bytes, str, str, str] | None = None,
                 signed_trailer: bool = False, decoded_length: int | None = None,
                 trailer_names: tuple[str, ...] = ()):
        self._signing = signing
        self._previous = signing[3] if signing else ""
        self._signed_trailer = signed_trailer
        self._decoded_length = decoded_length
        self._trailer_names = tuple(n.lower() for n in trailer_names)
        self._state = _HEADER
        self._line = bytearray()
        self._remaining = 0
        self._chunk_sig: str | None = None
        self._hash = hashlib.sha256() if signing else None
        self._total = 0
        self._crlf_seen = 0
        self._trailers: list[tuple[str, str]] = []
        self._trailer_bytes = 0
        self._trailer_signature: str | None = None

    # -- public -----------------------------------------------------------

    @property
    def decoded_bytes(self) -> int:
        """Payload bytes returned so far."""
        return self._total

    def feed(self, data: bytes | bytearray | memoryview) -> list[memoryview]:
        """Consume raw body bytes; return the decoded payload they complete."""
        view = memoryview(data).cast("B")
        out: list[memoryview] = []
        pos, end = 0, len(view)
        while pos < end:
            state = self._state
            if state == _DATA:
                take = min(self._remaining, end - pos)
                piece = view[pos:pos + take]
                if self._hash is not None:
                    self._hash.update(piece)
                out.append(piece)
                pos += take
                self._remaining -= take
                if self._remaining == 0:
                    self._end_of_chunk_data(final=False)
            elif state == _DATA_END:
                pos = self._eat_crlf(view, pos, end)
            elif state in (_HEADER, _TRAILER):
                pos = self._eat_line(view, pos, end)
            else:  # _DONE: tolerate stray line ends, nothing else.
                rest = bytes(view[pos:end])
                if rest.strip(b"\r\n"):
                    raise _bad("Unexpected data after the end of the aws-chunked body")
                pos = end
        return out

    def finish(self) -> dict[str, str]:
        """The raw body ended: check completeness, return the trailers."""
        if self._state != _DONE:
            raise S3Error("IncompleteBody", "The aws-chunked body ended before its final chunk")
        if self._decoded_length is not None and self._total != self._decoded_length:
            raise S3Error("IncompleteBody", "You did not provide the number of bytes specified "
                          "by the x-amz-decoded-content-length HTTP header.")
        trailers = dict(self._trailers)
        for name in self._trailer_names:
            if name not in trailers:
                raise S3Error("IncompleteBody", f"The trailing header {name} declared in "
                              "x-amz-trailer was not sent")
        return trailers

    # -- states -----------------------------------------------------------

    def _eat_crlf(self, view: memoryview, pos: int, end: int) -> int:
        # After chunk data: "\r\n" (a bare "\n" is tolerated).
        byte = view[pos]
        if byte == 0x0D and self._crlf_seen == 0:
            self._crlf_seen = 1
            return pos + 1
        if byte == 0x0A:
            self._crlf_seen = 0
            self._state = _HEADER
            return pos + 1
        raise _bad("Chunk data is not followed by CRLF")

    def _eat_line(self, view: memoryview, pos: int, end: int) -> int:
        nl = _find_newline(view, pos, end)
        stop = end if nl == -1 else nl
        if len(self._line) + (stop - pos) > MAX_LINE:
            raise _bad("aws-chunked header line too long")
        self._line += view[pos:stop]
        if nl == -1:
            return end
        line = bytes(self._line)
        self._line.clear()
        if line.endswith(b"\r"):
            line = line[:-1]
        if self._state == _HEADER:
            self._chunk_header(line)
        else:
            self._trailer_line(line)
        return nl + 1

    def _chunk_header(self, line: bytes) -> None:
        size_part, *extensions = line.split(b";")
        size_text = size_part.strip()
        if not size_text or len(size_text) > MAX_HEX_DIGITS or \
                size_text.strip(b"0123456789abcdefABCDEF"):
            raise S3Error("IncompleteBody", "Invalid aws-chunked chunk size")
        size = int(size_text, 16)
        self._chunk_sig = None
        for ext in extensions:
            name, _, value = ext.partition(b"=")
            if name.strip().lower() == b"chunk-signature":
                self._chunk_sig = value.strip().decode("latin-1")
        if self._signing is not None and self._chunk_sig is None:
            raise S3Error("SignatureDoesNotMatch", "A chunk of the aws-chunked body is "
                          "missing its chunk-signature")
        if self._decoded_length is not None and self._total + size > self._decoded_length:
            raise _bad("The aws-chunked body is longer than x-amz-decoded-content-length")
        self._total += size
        self._remaining = size
        if size == 0:
            self._end_of_chunk_data(final=True)
        else:
            self._state = _DATA

    def _end_of_chunk_data(self, *, final: bool) -> None:
        if self._signing is not None:
            key, scope, timestamp, _ = self._signing
            assert self._hash is not None and self._chunk_sig is not None
            sts = sigv4.chunk_string_to_sign(timestamp, scope, self._previous,
                                             self._hash.hexdigest())
            expected = sigv4.sign(key, sts)
            if not sigv4.same_signature(expected, self._chunk_sig.lower()):
                raise S3Error("SignatureDoesNotMatch", "The chunk signature we calculated "
                              "does not match the signature you provided.")
            self._previous = expected
            self._hash = hashlib.sha256()
        # After the final, empty chunk come the trailers (possibly none).
        self._state = _TRAILER if final else _DATA_END

    def _trailer_line(self, line: bytes) -> None:
        self._trailer_bytes += len(line) + 2
        if self._trailer_bytes > MAX_TRAILER_BYTES:
            raise _bad("aws-chunked trailers too large")
        if not line.strip():
            expecting = self._trailer_names and not self._trailers
            if expecting:
                return  # a blank line between the last chunk and the trailers
            self._check_trailer_signature()
            self._state = _DONE
            return
        name, colon, value = line.partition(b":")
        if not colon or not name.strip():
            raise S3Error("IncompleteBody", "Malformed aws-chunked trailer")
        name_s = name.strip().lower().decode("latin-1")
        value_s = value.strip().decode("latin-1")
        if name_s == "x-amz-trailer-signature":
            self._trailer_signature = value_s
        else:
            self._trailers.append((name_s, value_s))

    def _check_trailer_signature(self) -> None:
        if not self._signed_trailer:
            return
        assert self._signing is not None
        if self._trailer_signature is None:
            raise S3Error("SignatureDoesNotMatch", "The aws-chunked body is missing "
                          "x-amz-trailer-signature")
        key, scope, timestamp, _ = self._signing
        sts = sigv4.trailer_string_to_sign(timestamp, scope, self._previous, self._trailers)
        if not sigv4.same_signature(sigv4.sign(key, sts),
                                     self._trailer_signature.lower()):
            raise S3Error("SignatureDoesNotMatch", "The trailer signature we calculated does "
                          "not match the signature you provided.")


def _find_newline(view: memoryview, pos: int, end: int) -> int:
    # memoryview has no find(); look through bounded windows to stay cheap.
    limit = min(end, pos + MAX_LINE + 2)
    index = bytes(view[pos:limit]).find(b"\n")
    return -1 if index == -1 else pos + index
