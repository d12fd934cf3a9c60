# -*- test-case-name: tests.unit.test_auth_sigv4 -*-
"""AWS Signature Version 4 for S3: canonical request, string to sign, keys.

Pure functions over a :class:`RequestInfo`; the policy (which errors, which
dates, which payload) lives in :mod:`cloudserver.s3.auth.authenticate`.

Canonical requests are built as *bytes*: header values are the raw bytes the
client sent (RequestInfo keeps them as latin-1 text), while path and query
are ASCII after encoding.  Clients sign the UTF-8 encoding of their text,
which is exactly the bytes they put on the wire.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence

from cloudserver.s3.auth.request_info import RequestInfo, percent_decode, split_query

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
_ENCODE_TABLE = [chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in range(256)]
TIMESTAMP_RE = re.compile(r"^\d{8}T\d{6}Z$")
# Text that UriEncode(percent-decode(text)) gives back unchanged: the
# common case (SDK-encoded keys, dates, signatures), checked in one regex
# call instead of a decode and a re-encode per component.
_PLAIN_RE = re.compile(r"[A-Za-z0-9\-_.~]*")
_PLAIN_PATH_RE = re.compile(r"[A-Za-z0-9\-_.~/]*")
# A query already in canonical form has only unreserved characters, "=",
# "&" and uppercase %XY escapes of reserved bytes (an escaped unreserved
# byte, "%41", would be decoded by the canonical form).  SDKs send presigned
# queries this way (the credential's "%2F"s).
_CANONICAL_CHARS_RE = re.compile(r"[A-Za-z0-9\-_.~%=&]*")
_RESERVED_ESCAPES = frozenset(f"{b:02X}" for b in range(256) if b not in _UNRESERVED)


def uri_encode(data: bytes, *, keep_slash: bool = False) -> str:
    """AWS's UriEncode: every byte but A-Za-z0-9-_.~ as %XY (uppercase)."""
    if keep_slash:
        return "/".join(uri_encode(part) for part in data.split(b"/"))
    return "".join([_ENCODE_TABLE[b] for b in data])


@functools.lru_cache(maxsize=512)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC chain over date, region, service, "aws4_request".

    Cached: the four HMACs are the costliest part of checking a request and
    their inputs change once a day per key.
    """
    key = hmac.new(f"AWS4{secret}".encode(), date.encode("utf-8"), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def sign(key: bytes, string_to_sign: bytes) -> str:
    return hmac.digest(key, string_to_sign, "sha256").hex()


def same_signature(expected: str, provided: str) -> bool:
    """Constant-time comparison that tolerates any text the client sent."""
    return hmac.compare_digest(expected.encode("ascii"),
                               provided.encode("utf-8", "replace"))


def canonical_uris(raw_path: str) -> list[str]:
    """Candidate canonical URIs for S3, most likely first.

    S3 signs the path exactly as sent (SDKs encode once, and S3 does not
    double-encode or normalise).  A client that sent some bytes unescaped
    (e.g. "!" or raw UTF-8) but signed the UriEncode'd form is also
    accepted: both name the same resource, so accepting either does not let
    anyone change what was signed.  Segments are re-encoded one by one so an
    escaped "%2F" stays distinct from "/".
    """
    path = raw_path or "/"
    candidates = [path]
    if _PLAIN_PATH_RE.fullmatch(path):
        return candidates
    recoded = "/".join(uri_encode(percent_decode(seg, plus_is_space=False))
                       for seg in path.split("/"))
    if recoded != path:
        candidates.append(recoded)
    return candidates


def canonical_queries(raw_query: str, *, exclude: Iterable[str] = ()) -> list[str]:
    """Candidate canonical query strings (decoded, UriEncode'd, sorted).

    A raw "+" is read as a literal plus first, then as an encoded space (the
    form-encoding habit of URLSearchParams and friends); AWS accepts both.
    ``exclude`` names (decoded) parameters left out, i.e. X-Amz-Signature.
    """
    excluded = set(exclude)
    pairs = _canonical_pairs(raw_query, excluded)
    if pairs is not None:  # nothing to decode or re-encode
        pairs.sort()
        return ["&".join([f"{n}={v}" for n, v in pairs])]

    plain = _PLAIN_RE.fullmatch

    def build(plus_is_space: bool) -> str:
        pairs = []
        for name, _, value in split_query(raw_query):
            if plain(name):
                if name in excluded:
                    continue
                cname = name
            else:
                dname = percent_decode(name, plus_is_space=plus_is_space)
                if dname.decode("utf-8", "replace") in excluded:
                    continue
                cname = uri_encode(dname)
            pairs.append((cname, value if plain(value) else
                          uri_encode(percent_decode(value, plus_is_space=plus_is_space))))
        pairs.sort()
        return "&".join(f"{n}={v}" for n, v in pairs)

    candidates = [build(False)]
    if "+" in raw_query:
        alternative = build(True)
        if alternative != candidates[0]:
            candidates.append(alternative)
    return candidates


def _canonical_pairs(raw_query: str, excluded: set[str]) -> list[tuple[str, str]] | None:
    """The (name, value) pairs of a query already in canonical form, but
    those ``excluded``; None when some component needs decoding."""
    if not raw_query or not _CANONICAL_CHARS_RE.fullmatch(raw_query):
        return None
    if "%" in raw_query:
        for chunk in raw_query.split("%")[1:]:
            if chunk[:2] not in _RESERVED_ESCAPES:
                return None
    pairs = []
    for segment in raw_query.split("&"):
        name, _, value = segment.partition("=")
        if not name or "=" in value:
            return None
        if name not in excluded:
            pairs.append((name, value))
    return pairs


def _trim(value: str) -> bytes:
    # Trimall over the raw bytes: only ASCII whitespace counts.
    return b" ".join(value.encode("latin-1").split())


def canonical_headers(info: RequestInfo, signed: Sequence[str]) -> bytes:
    """"name:value\\n" for each signed header, values trimmed and collapsed.

    A header listed as signed but absent contributes an empty value (the
    signature then fails to match, as it should).  ``host`` falls back to
    the request's host when the header itself is missing (HTTP/1.0).
    """
    lines = []
    for name in signed:
        values = info.headers.get(name)
        if not values and name == "host" and info.host:
            values = (info.host,)
        joined = b",".join(_trim(v) for v in values or ())
        lines.append(name.encode("latin-1") + b":" + joined + b"\n")
    return b"".join(lines)


def canonical_request(method: str, uri: str, query: str, headers: bytes,
                      signed_headers: str, payload_hash: str) -> bytes:
    return b"\n".join([
        method.encode("latin-1"), uri.encode("latin-1"), query.encode("latin-1"),
        headers, signed_headers.encode("latin-1"), payload_hash.encode("latin-1"),
    ])


def string_to_sign(timestamp: str, scope: str, canonical: bytes) -> bytes:
    return "\n".join([ALGORITHM, timestamp, scope,
                      hashlib.sha256(canonical).hexdigest()]).encode("latin-1")


def chunk_string_to_sign(timestamp: str, scope: str, previous: str, chunk_hash: str) -> bytes:
    """The string signed for one aws-chunked chunk (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)."""
    text = (f"AWS4-HMAC-SHA256-PAYLOAD\n{timestamp}\n{scope}\n{previous}\n"
            f"{EMPTY_SHA256}\n{chunk_hash}")
    return text.encode("latin-1")


def trailer_string_to_sign(timestamp: str, scope: str, previous: str,
                           trailers: list[tuple[str, str]]) -> bytes:
    """The string signed for the trailing headers (x-amz-trailer-signature).

    Trailers are canonicalised like headers: "name:value\\n", sorted by name.
    """
    canonical = b"".join(n.encode("latin-1") + b":" + _trim(v) + b"\n"
                         for n, v in sorted(trailers))
    return "\n".join(["AWS4-HMAC-SHA256-TRAILER", timestamp, scope, previous,
                      hashlib.sha256(canonical).hexdigest()]).encode("latin-1")
