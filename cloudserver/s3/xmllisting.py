# -*- test-case-name: tests.unit.test_xmllisting -*-
"""ListObjects (v1) and ListObjectsV2 response documents.

Listings are the largest documents we send (1000 entries by default), so
each ``<Contents>`` is a (deep) copy of a prebuilt template whose leaves get
their text, which is about twice as fast as building nine elements one by
one.  Templates are per thread because lxml trees must not be shared
between threads.

With ``encoding-type=url`` the key-like fields are percent-encoded (see
:func:`~cloudserver.s3.xmlbuild.url_encode`): v1 encodes Key,
Delimiter, Marker, NextMarker and CommonPrefixes; v2 encodes Key, Prefix,
Delimiter, StartAfter and CommonPrefixes (continuation tokens are opaque
and left alone), matching what botocore decodes.
"""

import threading
from collections.abc import Callable, Sequence

import attrs
from lxml import etree

from cloudserver.s3.xmlbuild import (
    quote_etag,
    s3_root,
    serialize,
    set_text,
    sub,
    url_encode,
    xml_bool,
)


@attrs.frozen(kw_only=True)
class ListEntry:
    """One object in a listing."""

    key: str
    last_modified: str          # ISO 8601 as produced by xmlbuild.iso8601
    etag: str                   # quoted or not; always sent quoted
    size: int
    storage_class: str = "STANDARD"
    owner_id: str | None = None
    owner_name: str | None = None


@attrs.frozen(kw_only=True)
class ListObjectsV1:
    """Everything a ListObjects (v1) response says."""

    name: str
    prefix: str = ""
    marker: str = ""
    max_keys: int = 1000
    is_truncated: bool = False
    contents: Sequence[ListEntry] = ()
    common_prefixes: Sequence[str] = ()
    delimiter: str | None = None
    next_marker: str | None = None
    encoding_type: str | None = None


@attrs.frozen(kw_only=True)
class ListObjectsV2:
    """Everything a ListObjectsV2 response says.

    ``key_count`` defaults to the number of entries plus common prefixes;
    owners are sent only with ``fetch_owner``.
    """

    name: str
    prefix: str = ""
    max_keys: int = 1000
    is_truncated: bool = False
    contents: Sequence[ListEntry] = ()
    common_prefixes: Sequence[str] = ()
    delimiter: str | None = None
    encoding_type: str | None = None
    continuation_token: str | None = None
    next_continuation_token: str | None = None
    start_after: str | None = None
    fetch_owner: bool = False
    key_count: int | None = None


@attrs.frozen(kw_only=True)
class ListResult:
    """One record for both versions, for callers that branch on ``v2``.

    Owners appear on an entry whenever it carries ``owner_id``: the caller
    decides (always for v1, with fetch-owner for v2).  ``bucket`` is the
    Name element.
    """

    v2: bool
    bucket: str
    prefix: str = ""
    max_keys: int = 1000
    is_truncated: bool = False
    contents: Sequence[ListEntry] = ()
    common_prefixes: Sequence[str] = ()
    delimiter: str | None = None
    encoding_type: str | None = None
    marker: str | None = None
    next_marker: str | None = None
    start_after: str | None = None
    continuation_token: str | None = None
    next_continuation_token: str | None = None
    key_count: int | None = None


def _identity(value: str) -> str:
    return value


class _Templates(threading.local):
    """Prebuilt ``Contents`` / ``CommonPrefixes`` elements, one set per thread."""

    def __init__(self) -> None:
        self.plain = self._contents(owner=False)
        self.owner = self._contents(owner=True)
        self.prefix = s3_root("CommonPrefixes")
        sub(self.prefix, "Prefix")

    @staticmethod
    def _contents(owner: bool) -> etree._Element:
        c = s3_root("Contents")
        for name in ("Key", "LastModified", "ETag", "Size"):
            sub(c, name)
        if owner:
            o = sub(c, "Owner")
            sub(o, "ID")
            sub(o, "DisplayName")
        sub(c, "StorageClass")
        return c


_templates = _Templates()


def _append_entries(root: etree._Element, entries: Sequence[ListEntry], with_owner: bool,
                    encode: Callable[[str], str]) -> None:
    # The hot loop of every listing: plain assignments inside one ``try``
    # (set_text's fallback only runs for the rare unrepresentable text), and
    # lxml's own ``__copy__`` (a deep copy) rather than copy.deepcopy.
    t = _templates
    copy_owner = t.owner.__copy__
    copy_plain = t.plain.__copy__
    made = []
    for e in entries:
        k = encode(e.key)
        tag = e.etag
        if not tag.startswith('"'):
            tag = quote_etag(tag)
        if with_owner and e.owner_id is not None:
            c = copy_owner()
            key, modified, etag, size, owner, storage = c
            owner_id, display = owner
            if e.owner_name is None:
                owner.remove(display)
                display = None
        else:
            c = copy_plain()
            key, modified, etag, size, storage = c
            owner_id = display = None
        try:
            key.text = k
            modified.text = e.last_modified
            etag.text = tag
            storage.text = e.storage_class
            if owner_id is not None:
                owner_id.text = e.owner_id
            if display is not None:
                display.text = e.owner_name
        except (ValueError, UnicodeError):
            set_text(key, k)
            set_text(modified, e.last_modified)
            set_text(etag, tag)
            set_text(storage, e.storage_class)
            if owner_id is not None:
                set_text(owner_id, e.owner_id)
            if display is not None:
                set_text(display, e.owner_name)
        size.text = str(e.size)
        made.append(c)
    root.extend(made)


def _append_prefixes(root: etree._Element, prefixes: Sequence[str],
                     encode: Callable[[str], str]) -> None:
    copy_prefix = _templates.prefix.__copy__
    made = []
    for p in prefixes:
        c = copy_prefix()
        set_text(c[0], encode(p))
        made.append(c)
    root.extend(made)


def list_objects_v1_xml(result: ListObjectsV1) -> bytes:
    """``ListBucketResult`` for ListObjects: Name, Prefix, Marker,
    NextMarker?, MaxKeys, Delimiter?, EncodingType?, IsTruncated, Contents
    (always with Owner when known), CommonPrefixes."""
    enc = url_encode if result.encoding_type == "url" else _identity
    root = s3_root("ListBucketResult")
    sub(root, "Name", result.name)
    sub(root, "Prefix", result.prefix)  # v1: AWS leaves Prefix as sent (botocore agrees)
    sub(root, "Marker", enc(result.marker))
    if result.next_marker is not None:
        sub(root, "NextMarker", enc(result.next_marker))
    sub(root, "MaxKeys", str(result.max_keys))
    if result.delimiter is not None:
        sub(root, "Delimiter", enc(result.delimiter))
    if result.encoding_type is not None:
        sub(root, "EncodingType", result.encoding_type)
    sub(root, "IsTruncated", xml_bool(result.is_truncated))
    _append_entries(root, result.contents, True, enc)
    _append_prefixes(root, result.common_prefixes, enc)
    return serialize(root)


def list_objects_v2_xml(result: ListObjectsV2) -> bytes:
    """``ListBucketResult`` for ListObjectsV2: Name, Prefix, StartAfter?,
    ContinuationToken?, NextContinuationToken?, KeyCount, MaxKeys,
    Delimiter?, EncodingType?, IsTruncated, Contents (Owner only with
    fetch-owner), CommonPrefixes."""
    enc = url_encode if result.encoding_type == "url" else _identity
    key_count = result.key_count
    if key_count is None:
        key_count = len(result.contents) + len(result.common_prefixes)
    root = s3_root("ListBucketResult")
    sub(root, "Name", result.name)
    sub(root, "Prefix", enc(result.prefix))
    if result.start_after is not None:
        sub(root, "StartAfter", enc(result.start_after))
    if result.continuation_token is not None:
        sub(root, "ContinuationToken", result.continuation_token)
    if result.next_continuation_token is not None:
        sub(root, "NextContinuationToken", result.next_continuation_token)
    sub(root, "KeyCount", str(key_count))
    sub(root, "MaxKeys", str(result.max_keys))
    if result.delimiter is not None:
        sub(root, "Delimiter", enc(result.delimiter))
    if result.encoding_type is not None:
        sub(root, "EncodingType", result.encoding_type)
    sub(root, "IsTruncated", xml_bool(result.is_truncated))
    _append_entries(root, result.contents, result.fetch_owner, enc)
    _append_prefixes(root, result.common_prefixes, enc)
    return serialize(root)


def list_objects_xml(result: ListResult) -> bytes:
    """ListObjects or ListObjectsV2 document, as ``result.v2`` says."""
    if result.v2:
        return list_objects_v2_xml(ListObjectsV2(
            name=result.bucket, prefix=result.prefix, max_keys=result.max_keys,
            is_truncated=result.is_truncated, contents=result.contents,
            common_prefixes=result.common_prefixes, delimiter=result.delimiter,
            encoding_type=result.encoding_type, continuation_token=result.continuation_token,
            next_continuation_token=result.next_continuation_token,
            start_after=result.start_after, fetch_owner=True, key_count=result.key_count))
    return list_objects_v1_xml(ListObjectsV1(
        name=result.bucket, prefix=result.prefix, marker=result.marker or "",
        max_keys=result.max_keys, is_truncated=result.is_truncated, contents=result.contents,
        common_prefixes=result.common_prefixes, delimiter=result.delimiter,
        next_marker=result.next_marker, encoding_type=result.encoding_type))
