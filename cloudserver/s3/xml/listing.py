# -*- test-case-name: tests.unit.test_xmllisting -*-
"""ListObjects (v1) and ListObjectsV2 response documents.

Listings are the largest documents we send (1000 entries by default) and
the hot path of a listing: they are written element by element
(:mod:`cloudserver.s3.xml.stream`), one prebuilt ``<Contents>`` per shape of
entry filled and written for each.  Entries are :class:`ListEntry` named
tuples: built ~3 times faster than attrs instances, a thousand times a
page, and unpacked in one step.

With ``encoding-type=url`` the key-like fields are percent-encoded (see
:func:`~cloudserver.s3.xml.build.url_encode`): v1 encodes Key,
Delimiter, Marker, NextMarker and CommonPrefixes; v2 encodes Key, Prefix,
Delimiter, StartAfter and CommonPrefixes (continuation tokens are opaque
and left alone), matching what botocore decodes.
"""

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import attrs

from cloudserver.s3.xml.build import quote_etag, set_text, xml_bool
from cloudserver.s3.xml.stream import Write, document, encoder, leaf, prefixes_writer, template


class ListEntry(NamedTuple):
    """One object in a listing."""

    key: str
    last_modified: str          # ISO 8601 as produced by build.iso8601
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


def _contents_template(*owner: str) -> tuple:
    """A ``<Contents>`` element and its leaves: Key, LastModified, ETag,
    Size, StorageClass, then ID and DisplayName (None when absent)."""
    shape: list = ["Key", "LastModified", "ETag", "Size"]
    if owner:
        shape.append(("Owner", owner))
    shape.append("StorageClass")
    c, leaves = template("Contents", shape)
    return (c, leaves["Key"], leaves["LastModified"], leaves["ETag"], leaves["Size"],
            leaves["StorageClass"], leaves.get("ID"), leaves.get("DisplayName"))


def _write_entries(write: Write, entries: Iterable[ListEntry], with_owner: bool,
                   encode: Callable[[str], str]) -> None:
    # The hot loop of every listing: one template per shape of entry, its
    # leaves' text replaced (plain assignments inside one ``try``: set_text's
    # fallback only runs for the rare unrepresentable text), then written.
    plain = _contents_template()
    named = _contents_template("ID", "DisplayName")
    anonymous = _contents_template("ID")
    for key, modified, etag, size, storage, owner_id, owner_name in entries:
        if with_owner and owner_id is not None:
            t = named if owner_name is not None else anonymous
        else:
            t = plain
        c, key_el, modified_el, etag_el, size_el, storage_el, id_el, name_el = t
        k = encode(key)
        if not etag.startswith('"'):
            etag = quote_etag(etag)
        try:
            key_el.text = k
            modified_el.text = modified
            etag_el.text = etag
            storage_el.text = storage
            if id_el is not None:
                id_el.text = owner_id
            if name_el is not None:
                name_el.text = owner_name
        except (ValueError, UnicodeError):
            set_text(key_el, k)
            set_text(modified_el, modified)
            set_text(etag_el, etag)
            set_text(storage_el, storage)
            if id_el is not None:
                set_text(id_el, owner_id)
            if name_el is not None:
                set_text(name_el, owner_name)
        size_el.text = str(size)
        write(c)


def _document(head: Sequence, entries: Iterable[ListEntry], with_owner: bool,
              prefixes: Iterable[str], encode: Callable[[str], str]) -> bytes:
    def body(write: Write) -> None:
        _write_entries(write, entries, with_owner, encode)
        prefixes_writer(write, prefixes, encode)

    return document("ListBucketResult", head, body)


def list_objects_v1_xml(result: ListObjectsV1) -> bytes:
    """``ListBucketResult`` for ListObjects: Name, Prefix, Marker,
    NextMarker?, MaxKeys, Delimiter?, EncodingType?, IsTruncated, Contents
    (always with Owner when known), CommonPrefixes."""
    enc = encoder(result.encoding_type)
    head = [leaf("Name", result.name),
            leaf("Prefix", result.prefix),  # v1: AWS leaves Prefix as sent (botocore agrees)
            leaf("Marker", enc(result.marker))]
    if result.next_marker is not None:
        head.append(leaf("NextMarker", enc(result.next_marker)))
    head.append(leaf("MaxKeys", str(result.max_keys)))
    if result.delimiter is not None:
        head.append(leaf("Delimiter", enc(result.delimiter)))
    if result.encoding_type is not None:
        head.append(leaf("EncodingType", result.encoding_type))
    head.append(leaf("IsTruncated", xml_bool(result.is_truncated)))
    return _document(head, result.contents, True, result.common_prefixes, enc)


def list_objects_v2_xml(result: ListObjectsV2) -> bytes:
    """``ListBucketResult`` for ListObjectsV2: Name, Prefix, StartAfter?,
    ContinuationToken?, NextContinuationToken?, KeyCount, MaxKeys,
    Delimiter?, EncodingType?, IsTruncated, Contents (Owner only with
    fetch-owner), CommonPrefixes."""
    enc = encoder(result.encoding_type)
    key_count = result.key_count
    if key_count is None:
        key_count = len(result.contents) + len(result.common_prefixes)
    head = [leaf("Name", result.name), leaf("Prefix", enc(result.prefix))]
    if result.start_after is not None:
        head.append(leaf("StartAfter", enc(result.start_after)))
    if result.continuation_token is not None:
        head.append(leaf("ContinuationToken", result.continuation_token))
    if result.next_continuation_token is not None:
        head.append(leaf("NextContinuationToken", result.next_continuation_token))
    head.append(leaf("KeyCount", str(key_count)))
    head.append(leaf("MaxKeys", str(result.max_keys)))
    if result.delimiter is not None:
        head.append(leaf("Delimiter", enc(result.delimiter)))
    if result.encoding_type is not None:
        head.append(leaf("EncodingType", result.encoding_type))
    head.append(leaf("IsTruncated", xml_bool(result.is_truncated)))
    return _document(head, result.contents, result.fetch_owner, result.common_prefixes, enc)


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
