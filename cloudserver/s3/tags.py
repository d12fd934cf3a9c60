# -*- test-case-name: tests.unit.test_tagging -*-
"""Object tags as values: the ``x-amz-tagging`` header, the record field, the
copy directive.

Pure and free of handler imports, so PutObject, CopyObject and the
multipart operations can use it without import cycles.  A record keeps its
tags as ``md["tags"]``, a dict sorted by key (the order S3 lists them in,
and JSON keeps it), absent when there are none.

Tag rules (count, lengths, ``aws:`` prefix, duplicates) live in one place,
``xmlparse.parse_tagging``; the header's pairs are checked by rendering
them as the ``Tagging`` document they stand for and parsing that.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from cloudserver.s3.errors import S3Error
from cloudserver.s3.xmlparse import MAX_OBJECT_TAGS, parse_tagging
from cloudserver.s3.xmlresponses import tagging_xml

HEADER = "x-amz-tagging"
DIRECTIVE_HEADER = "x-amz-tagging-directive"
#: A header of 10 maximal tags, every byte percent-encoded, is about 35 KB.
MAX_HEADER = 64 * 1024

Header = Callable[[str], "str | None"]


def check_tags(pairs: Iterable[tuple[str, str]], *,
               max_tags: int = MAX_OBJECT_TAGS) -> list[tuple[str, str]]:
    """The pairs, after AWS's tag rules (InvalidTag)."""
    return parse_tagging(tagging_xml(pairs), max_tags=max_tags)


def parse_tagging_header(value: str | None) -> list[tuple[str, str]] | None:
    """``x-amz-tagging`` ("k1=v1&k2=v2", URL-encoded) -> pairs; None if absent.

    A key without ``=`` has an empty value, as S3 reads it.  Header bytes
    arrive latin-1 decoded; text that is valid UTF-8 is read as such.
    """
    if value is None:
        return None
    if len(value) > MAX_HEADER:
        raise S3Error("InvalidTag", "The header 'x-amz-tagging' is too long")
    try:
        value = value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        pass
    try:
        pairs = parse_qsl(value, keep_blank_values=True, errors="strict")
    except (UnicodeError, ValueError):
        raise S3Error("InvalidArgument", "The header 'x-amz-tagging' shall be encoded as "
                      "UTF-8 then URLEncoded URL query parameters without tag name "
                      "duplicates.", ArgumentName=HEADER, ArgumentValue=value) from None
    return check_tags(pairs)


def request_tags(header: Header) -> list[tuple[str, str]] | None:
    """The tags a write asks for with ``x-amz-tagging`` (None: no header)."""
    return parse_tagging_header(header(HEADER))


def tags_of(md: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A record's tags, in order (a dict, or pairs from older writers)."""
    stored = md.get("tags") or ()
    if isinstance(stored, Mapping):
        return list(stored.items())
    return [(k, v) for k, v in stored]


def set_tags(md: dict, pairs: Iterable[tuple[str, str]] | None) -> None:
    """Store ``pairs`` in the record, sorted by key; none at all removes the field."""
    tags = dict(sorted(pairs or ()))
    if tags:
        md["tags"] = tags
    else:
        md.pop("tags", None)


def copy_tags(header: Header, source: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The tags of a copy: the source's (COPY, the default) or the request's
    ``x-amz-tagging`` (REPLACE)."""
    directive = (header(DIRECTIVE_HEADER) or "COPY").strip().upper()
    if directive not in ("COPY", "REPLACE"):
        raise S3Error("InvalidArgument", "Unknown tagging directive.",
                      ArgumentName=DIRECTIVE_HEADER, ArgumentValue=directive)
    if directive == "COPY":
        return tags_of(source)
    return request_tags(header) or []
