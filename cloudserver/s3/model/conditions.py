# -*- test-case-name: tests.unit.test_conditions -*-
"""HTTP conditional headers (RFC 7232) against an object's ETag and date.

GET/HEAD, CopyObject and UploadPartCopy read the same four conditions (the
copies with an ``x-amz-copy-source-`` prefix) and differ only in what a
failure answers, so the evaluation lives here once.
"""
from __future__ import annotations

from typing import Callable

from cloudserver.s3.ops.common import parse_http_date

IF_MATCH = "If-Match"
IF_UNMODIFIED_SINCE = "If-Unmodified-Since"
IF_NONE_MATCH = "If-None-Match"
IF_MODIFIED_SINCE = "If-Modified-Since"


def etag_matches(header: str, etag: str) -> bool:
    """An If-Match / If-None-Match list matches ``etag`` (quotes, W/, * allowed)."""
    for tag in header.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/").strip('"') == etag:
            return True
    return False


def failed_condition(md: dict, header: Callable[[str], str | None]) -> str | None:
    """The condition ``md`` fails, in RFC 7232's order of precedence, or None.

    ``header`` looks up a lower-case header name; the result is the
    condition's canonical name (If-Match, ...).

    A true If-Match makes If-Unmodified-Since irrelevant, and an If-None-Match
    present makes If-Modified-Since irrelevant; unparsable dates are ignored.
    """
    etag, mtime = md["etag"], int(md["last-modified"])
    if_match = header(IF_MATCH.lower())
    if if_match is not None:
        if not etag_matches(if_match, etag):
            return IF_MATCH
    else:
        ts = _date(header(IF_UNMODIFIED_SINCE.lower()))
        if ts is not None and mtime > ts:
            return IF_UNMODIFIED_SINCE
    if_none = header(IF_NONE_MATCH.lower())
    if if_none is not None:
        if etag_matches(if_none, etag):
            return IF_NONE_MATCH
    else:
        ts = _date(header(IF_MODIFIED_SINCE.lower()))
        if ts is not None and mtime <= ts:
            return IF_MODIFIED_SINCE
    return None


def _date(value: str | None) -> float | None:
    return parse_http_date(value) if value is not None else None
