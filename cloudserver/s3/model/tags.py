# -*- test-case-name: tests.unit.test_tagging -*-
"""Object tags as values: the ``x-amz-tagging`` header, the record field, the
copy directive.

Pure and free of handler imports, so PutObject, CopyObject and the
multipart operations can use it without import cycles.  A record keeps its
tags as ``md[TAGS]``, a dict sorted by key (the order S3 lists them
in, and JSON keeps it), absent when there are none; buckets and uploads
keep theirs the same way.

Tag rules (lengths, ``aws:`` prefix) live in one place,
``xml.parse.parse_tagging``; the header's pairs are checked by rendering
them as the ``Tagging`` document they stand for and parsing that.  What
only the header can get wrong is answered as S3 answers it: a pair that
is not ``key=value``, bad UTF-8 and duplicate keys are InvalidArgument,
more than 10 tags BadRequest (the XML form says InvalidTag for both).
PutObject, CopyObject and CreateMultipartUpload all read the header here.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus

from cloudserver.metadata.schema import ObjectRecord
from cloudserver.s3.errors import S3Error
from cloudserver.s3.xml.parse import MAX_OBJECT_TAGS, parse_tagging
from cloudserver.s3.xml.responses import tagging_xml

#: The tags field of object, bucket and upload records (one name for all three).
TAGS = ObjectRecord.TAGS
HEADER = "x-amz-tagging"
DIRECTIVE_HEADER = "x-amz-tagging-directive"
#: A header of 10 maximal tags, every byte percent-encoded, is about 35 KB.
MAX_HEADER = 64 * 1024

Header = Callable[[str], "str | None"]


def check_tags(pairs: Iterable[tuple[str, str]], *,
               max_tags: int = MAX_OBJECT_TAGS) -> list[tuple[str, str]]:
    """The pairs, after AWS's tag rules (InvalidTag).

    A key or value holding what XML cannot carry (control characters) makes
    a document that does not parse: that is the tag's fault, not the
    request's XML, so it is InvalidTag too.
    """
    pairs = list(pairs)
    try:
        return parse_tagging(tagging_xml(pairs), max_tags=max_tags)
    except S3Error as e:
        if e.code != "MalformedXML":
            raise
    bad_key = any(_unrenderable(k) for k, _ in pairs)
    raise S3Error("InvalidTag", "The TagKey you have provided is invalid" if bad_key
                  else "The TagValue you have provided is invalid")


def _unrenderable(text: str) -> bool:
    try:
        parse_tagging(tagging_xml([(text or "k", "")]))
    except S3Error as e:
        return e.code == "MalformedXML"
    return False


def parse_tagging_header(value: str | None) -> list[tuple[str, str]] | None:
    """``x-amz-tagging`` ("k1=v1&k2=v2", URL-encoded) -> pairs; None if absent.

    A key without ``=`` has an empty value and empty pairs are skipped, as
    S3 reads them (s3-tests ``test_put_obj_with_tags``).  Header bytes
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
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for piece in value.split("&"):
        if not piece:
            continue
        key, value_part = _header_pair(value, piece)
        if key in seen:
            raise _bad_header(value)
        seen.add(key)
        pairs.append((key, value_part))
    if len(pairs) > MAX_OBJECT_TAGS:
        raise S3Error("BadRequest", f"Object tags cannot be greater than {MAX_OBJECT_TAGS}")
    return check_tags(pairs)


def _header_pair(header: str, piece: str) -> tuple[str, str]:
    """One ``key=value`` of the header, decoded; a second ``=``, an empty key
    before ``=`` or bytes that are not UTF-8 are InvalidArgument, as S3."""
    if piece.count("=") > 1 or piece.startswith("="):
        raise _bad_header(header)
    key, _, value = piece.partition("=")
    try:
        return (unquote_plus(key, errors="strict"), unquote_plus(value, errors="strict"))
    except UnicodeError:
        raise _bad_header(header) from None


def _bad_header(header: str) -> S3Error:
    return S3Error("InvalidArgument", "The header 'x-amz-tagging' shall be encoded as "
                   "UTF-8 then URLEncoded URL query parameters without tag name "
                   "duplicates.", ArgumentName=HEADER, ArgumentValue=header)


def request_tags(header: Header) -> list[tuple[str, str]] | None:
    """The tags a write asks for with ``x-amz-tagging`` (None: no header)."""
    return parse_tagging_header(header(HEADER))


def tags_of(md: Mapping[str, Any]) -> list[tuple[str, str]]:
    """A record's tags, in order."""
    return tag_pairs(md.get(TAGS))


def tag_pairs(stored: Any) -> list[tuple[str, str]]:
    """Stored tags as pairs, in order (a dict, or pairs from older writers)."""
    stored = stored or ()
    if isinstance(stored, Mapping):
        return list(stored.items())
    return [(k, v) for k, v in stored]


def tags_record(pairs: Iterable[tuple[str, str]] | None) -> dict[str, str] | None:
    """The stored form of ``pairs``: a dict sorted by key, None for no tags."""
    return dict(sorted(pairs or ())) or None


def set_tags(md: dict, pairs: Iterable[tuple[str, str]] | None) -> None:
    """Store ``pairs`` in the record, sorted by key; none at all removes the field."""
    tags = tags_record(pairs)
    if tags:
        md[TAGS] = tags
    else:
        md.pop(TAGS, None)


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
