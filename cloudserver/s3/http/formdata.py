# -*- test-case-name: tests.unit.test_post_object -*-
"""A push parser for ``multipart/form-data`` bodies that streams one file.

Browser-based uploads (POST Object) send their form fields first and the
object's bytes last, in a part named ``file``.  The fields are small and
are collected whole, within a byte budget; the file part is handed out in
pieces as they arrive, never collected, so an upload of any size runs in
bounded memory.  Everything after the file part is ignored, as S3 does.

The parser is a state machine over a small buffer: ``feed`` returns the
events the new bytes complete (:class:`Field`, :class:`FileStart`,
:class:`FileData`, :class:`FileEnd`), at most one FileData per call, and
holds back just enough bytes to recognise a delimiter split across reads.
Malformed input raises S3Error MalformedPOSTRequest.
"""
from __future__ import annotations

import re
from urllib.parse import unquote

import attrs

from cloudserver.s3.errors import S3Error

#: Headers of one part (Content-Disposition, Content-Type) must fit in this.
MAX_PART_HEADER = 8 * 1024
#: All fields before the file together (S3's limit is 20 KB; a little slack).
MAX_FIELDS_SIZE = 64 * 1024
MAX_FIELDS = 1000
MAX_BOUNDARY = 70

_PREAMBLE, _AFTER_DELIMITER, _HEADERS, _BODY, _DONE = range(5)


@attrs.frozen
class Field:
    name: str
    value: bytes
    filename: str | None = None
    content_type: str | None = None


@attrs.frozen
class FileStart:
    name: str
    filename: str | None
    content_type: str | None


@attrs.frozen
class FileData:
    data: bytes


@attrs.frozen
class FileEnd:
    pass


def malformed(detail: str | None = None) -> S3Error:
    return S3Error("MalformedPOSTRequest", detail)


_BOUNDARY_RE = re.compile(r'boundary=(?:"([^"]+)"|([^;,\s]+))', re.IGNORECASE)


def boundary_of(content_type: str | None) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type header."""
    if content_type is None or not content_type.strip().lower().startswith(
            "multipart/form-data"):
        raise S3Error("RequestIsNotMultiPartContent")
    m = _BOUNDARY_RE.search(content_type)
    boundary = (m.group(1) or m.group(2)) if m else None
    if not boundary or len(boundary) > MAX_BOUNDARY:
        raise malformed()
    return boundary.encode("latin-1")


def _params(value: str) -> tuple[str, dict[str, str]]:
    """``form-data; name="a"; filename="b"`` -> ("form-data", {name, filename})."""
    kind, _, rest = value.partition(";")
    params: dict[str, str] = {}
    pos, n = 0, len(rest)
    while pos < n:
        while pos < n and rest[pos] in " \t;":
            pos += 1
        eq = rest.find("=", pos)
        if eq < 0:
            break
        name = rest[pos:eq].strip().lower()
        pos = eq + 1
        if pos < n and rest[pos] == '"':
            pos += 1
            out = []
            while pos < n and rest[pos] != '"':
                if rest[pos] == "\\" and pos + 1 < n and rest[pos + 1] in '"\\':
                    pos += 1  # an escaped quote or backslash; browsers send C:\x as is
                out.append(rest[pos])
                pos += 1
            pos += 1
            params[name] = "".join(out)
        else:
            end = rest.find(";", pos)
            end = n if end < 0 else end
            params[name] = rest[pos:end].strip()
            pos = end
    if "filename*" in params:  # RFC 5987: charset'lang'percent-encoded
        charset, _, encoded = params.pop("filename*").partition("'")
        _, _, encoded = encoded.partition("'")
        try:
            params["filename"] = unquote(encoded, encoding=charset or "utf-8",
                                         errors="strict")
        except (LookupError, UnicodeError):
            raise malformed() from None
    return kind.strip().lower(), params


def _part_headers(block: bytes) -> tuple[str, str | None, str | None]:
    """(name, filename, content type) from a part's header block."""
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        text = block.decode("latin-1")
    disposition = content_type = None
    for line in text.split("\r\n"):
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise malformed()
        name = name.strip().lower()
        if name == "content-disposition":
            disposition = value.strip()
        elif name == "content-type":
            content_type = value.strip()
    if disposition is None:
        raise malformed()
    kind, params = _params(disposition)
    if kind != "form-data" or not params.get("name"):
        raise malformed()
    return params["name"], params.get("filename"), content_type


class FormDataParser:
    """See the module docstring.  ``file_field`` names the streamed part
    (compared case-insensitively)."""

    def __init__(self, boundary: bytes, *, file_field: str = "file",
                 max_fields_size: int = MAX_FIELDS_SIZE):
        self._delimiter = b"\r\n--" + boundary
        # A CRLF in front makes the first delimiter look like every other one.
        self._buf = bytearray(b"\r\n")
        self._state = _PREAMBLE
        self._file_field = file_field.lower()
        self._max_fields_size = max_fields_size
        self._fields_size = 0
        self._fields = 0
        self._part: tuple[str, str | None, str | None] | None = None
        self._in_file = False
        self._value = bytearray()
        self.file_seen = False
        self.closed = False  # the close delimiter was read

    @property
    def done(self) -> bool:
        """The file part has ended (what follows is ignored)."""
        return self._state == _DONE

    def feed(self, data: bytes) -> list:
        if self._state == _DONE:
            return []
        buf = self._buf
        buf += data
        events: list = []
        delimiter = self._delimiter
        while True:
            state = self._state
            if state in (_PREAMBLE, _BODY):
                idx = buf.find(delimiter)
                if idx < 0:
                    keep = len(delimiter) - 1
                    if len(buf) > keep:
                        self._body(bytes(buf[:-keep]) if keep else bytes(buf), events)
                        del buf[:-keep]
                    return events
                self._body(bytes(buf[:idx]), events)
                del buf[:idx + len(delimiter)]
                if state == _BODY:
                    self._end_part(events)
                    if self._state == _DONE:
                        buf.clear()
                        return events
                self._state = _AFTER_DELIMITER
            elif state == _AFTER_DELIMITER:
                if buf[:2] == b"--":
                    self.closed = True
                    self._state = _DONE
                    buf.clear()
                    return events
                idx = buf.find(b"\r\n")
                if idx < 0:
                    if len(buf) > 256:
                        raise malformed()
                    return events
                if buf[:idx].strip(b" \t"):
                    raise malformed()
                del buf[:idx + 2]
                self._state = _HEADERS
            elif state == _HEADERS:
                if buf[:2] == b"\r\n":
                    raise malformed()  # a part without Content-Disposition
                idx = buf.find(b"\r\n\r\n")
                if idx < 0:
                    if len(buf) > MAX_PART_HEADER:
                        raise malformed()
                    return events
                if idx > MAX_PART_HEADER:
                    raise malformed()
                self._start_part(bytes(buf[:idx]), events)
                del buf[:idx + 4]
                self._state = _BODY
            else:
                return events

    def finish(self) -> None:
        """The body ended: it must have ended after the file or the close delimiter."""
        if self._state != _DONE:
            raise malformed()

    # -- parts ----------------------------------------------------------------
    def _start_part(self, block: bytes, events: list) -> None:
        name, filename, content_type = _part_headers(block)
        self._part = (name, filename, content_type)
        self._in_file = name.lower() == self._file_field
        if self._in_file:
            self.file_seen = True
            events.append(FileStart(name, filename, content_type))
        else:
            self._fields += 1
            self._fields_size += len(block)  # names are kept too
            if self._fields > MAX_FIELDS or self._fields_size > self._max_fields_size:
                raise S3Error("MaxPostPreDataLengthExceededError")
            self._value = bytearray()

    def _body(self, data: bytes, events: list) -> None:
        if self._state != _BODY or not data:
            return  # the preamble is ignored
        if self._in_file:
            events.append(FileData(data))
            return
        self._fields_size += len(data)
        if self._fields_size > self._max_fields_size:
            raise S3Error("MaxPostPreDataLengthExceededError")
        self._value += data

    def _end_part(self, events: list) -> None:
        assert self._part is not None
        name, filename, content_type = self._part
        if self._in_file:
            events.append(FileEnd())
            self._state = _DONE
        else:
            events.append(Field(name, bytes(self._value), filename, content_type))
        self._part = None
        self._value = bytearray()
