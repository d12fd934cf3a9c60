# -*- test-case-name: tests.unit.test_auth_request_info -*-
"""What authentication needs to know about an HTTP request, as sent.

Signatures are computed over the request *as the client sent it*: the raw,
still percent-encoded path, the raw query string and the header bytes.  Web
frameworks tend to normalise all three (twisted.web splits ``postpath`` before
unquoting, merges headers, ...), so the S3 front builds one of these from the
raw request line and header list and hands it to
:func:`cloudserver.s3.auth.authenticate.authenticate`.

Strings are decoded from bytes as latin-1 so that ``s.encode("latin-1")``
gives back the exact bytes received.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import unquote_to_bytes

import attrs


def _freeze_headers(headers: Mapping[str, Iterable[str]]) -> Mapping[str, tuple[str, ...]]:
    return {name.lower(): tuple(values) for name, values in headers.items()}


def percent_decode(text: str, *, plus_is_space: bool) -> bytes:
    """Percent-decode ``text`` (a latin-1 view of raw bytes) to bytes.

    Malformed escapes ("%zz", a lone "%") are kept literally, as browsers and
    AWS do, rather than rejected.
    """
    raw = text.encode("latin-1")
    if plus_is_space:
        raw = raw.replace(b"+", b" ")
    return unquote_to_bytes(raw)


def split_query(raw_query: str) -> list[tuple[str, bool, str]]:
    """Split a raw query string into ``(raw_name, has_equals, raw_value)``.

    Empty segments ("a=1&&b=2") are dropped; nothing is decoded.
    """
    out = []
    for segment in raw_query.split("&"):
        if not segment:
            continue
        name, eq, value = segment.partition("=")
        out.append((name, bool(eq), value))
    return out


@attrs.frozen
class RequestInfo:
    """The parts of an HTTP request that authentication reads.

    ``headers`` maps lowercased names to every value received, in order.
    """

    method: str
    raw_path: str
    raw_query: str
    headers: Mapping[str, tuple[str, ...]] = attrs.field(converter=_freeze_headers)
    host: str = ""
    #: The query as :meth:`query_dict` would decode it, when the caller has it
    #: already (routing decodes it once per request): saves a second parse.
    parsed_query: Mapping[str, str] | None = attrs.field(default=None, eq=False,
                                                         repr=False)

    @classmethod
    def from_raw(cls, method: bytes | str, target: bytes | str,
                 headers: Iterable[tuple[bytes | str, bytes | str]],
                 host: str | None = None) -> RequestInfo:
        """Build from a request-target ("/b/k?x=1") and a raw header list.

        ``host`` defaults to the Host header.  An absolute-form target
        ("http://h/b/k") is reduced to its path and query.
        """
        def text(v: bytes | str) -> str:
            return v.decode("latin-1") if isinstance(v, bytes) else v

        target_s = text(target)
        if "://" in target_s.split("?", 1)[0]:
            after = target_s.split("://", 1)[1]
            slash = after.find("/")
            qmark = after.find("?")
            if slash == -1 or (qmark != -1 and qmark < slash):
                target_s = "/" + (after[qmark:] if qmark != -1 else "")
            else:
                target_s = after[slash:]
        path, _, query = target_s.partition("?")
        query = query.split("#", 1)[0]
        collected: dict[str, list[str]] = {}
        for name, value in headers:
            collected.setdefault(text(name).lower(), []).append(text(value))
        if host is None:
            host = collected.get("host", [""])[0]
        return cls(method=text(method).upper(), raw_path=path or "/", raw_query=query,
                   headers=collected, host=host)

    def header(self, name: str) -> str | None:
        """The header's value, several values joined with ",", or None."""
        values = self.headers.get(name.lower())
        if not values:
            return None
        return ",".join(values)

    def query_params(self) -> list[tuple[str, str]]:
        """Decoded ``(name, value)`` pairs in request order.

        Values are percent-decoded as UTF-8 (undecodable bytes replaced).
        A "+" means a space, as in HTML forms and as AWS S3 reads it; SDKs
        never send a literal "+" unescaped (they send "%2B"), so this only
        matters for hand-written URLs.  Blank values and names without "="
        are kept (value "").
        """
        return [
            (percent_decode(n, plus_is_space=True).decode("utf-8", "replace"),
             percent_decode(v, plus_is_space=True).decode("utf-8", "replace"))
            for n, _, v in split_query(self.raw_query)
        ]

    def query_dict(self) -> dict[str, str]:
        """Decoded query as a dict; for a repeated name the first value wins."""
        if self.parsed_query is not None:
            return dict(self.parsed_query)
        out: dict[str, str] = {}
        for name, value in self.query_params():
            out.setdefault(name, value)
        return out
