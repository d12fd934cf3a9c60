# -*- test-case-name: tests.unit.test_xmlversions -*-
"""ListObjectVersions response document (ListVersionsResult).

Written element by element like the object listings
(:mod:`cloudserver.s3.xml.stream`): one prebuilt ``<Version>`` and one
``<DeleteMarker>``, filled and written for each entry, in listing order.

With ``encoding-type=url`` Key, Prefix, Delimiter, KeyMarker, NextKeyMarker
and CommonPrefixes are percent-encoded, the fields botocore decodes.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import attrs

from cloudserver.s3.xml.build import quote_etag, set_text, xml_bool
from cloudserver.s3.xml.stream import Write, document, encoder, leaf, prefixes_writer, template


class VersionEntry(NamedTuple):
    """One version or delete marker (a tuple: a page makes a thousand)."""

    key: str
    version_id: str
    is_latest: bool
    last_modified: str
    owner_id: str | None
    owner_name: str | None
    delete_marker: bool = False
    etag: str = ""
    size: int = 0
    storage_class: str = "STANDARD"


@attrs.frozen(kw_only=True)
class VersionsListing:
    name: str
    prefix: str = ""
    key_marker: str = ""
    version_id_marker: str = ""
    next_key_marker: str | None = None
    next_version_id_marker: str | None = None
    max_keys: int = 1000
    delimiter: str | None = None
    encoding_type: str | None = None
    is_truncated: bool = False
    entries: Sequence[VersionEntry] = ()
    common_prefixes: Sequence[str] = ()


_OWNER = ("Owner", ("ID", "DisplayName"))
_VERSION = ("Key", "VersionId", "IsLatest", "LastModified", "ETag", "Size", _OWNER,
            "StorageClass")
_MARKER = ("Key", "VersionId", "IsLatest", "LastModified", _OWNER)


def _write_entries(write: Write, entries: Iterable[VersionEntry],
                   encode: Callable[[str], str]) -> None:
    # As listing.py's loop: plain assignments in one ``try``, set_text for
    # the rare text lxml refuses.
    version, v = template("Version", _VERSION)
    marker, m = template("DeleteMarker", _MARKER)
    shared = ("Key", "VersionId", "IsLatest", "LastModified", "ID", "DisplayName")
    version_shared = [v[t] for t in shared]
    marker_shared = [m[t] for t in shared]
    etag_el, size_el, storage_el = v["ETag"], v["Size"], v["StorageClass"]
    for (key, version_id, is_latest, modified, owner_id, owner_name, delete_marker, etag,
         size, storage) in entries:
        if delete_marker:
            el, leaves = marker, marker_shared
        else:
            el, leaves = version, version_shared
            etag = quote_etag(etag)
            try:
                etag_el.text = etag
                storage_el.text = storage
            except (ValueError, UnicodeError):
                set_text(etag_el, etag)
                set_text(storage_el, storage)
            size_el.text = str(size)
        key_el, vid_el, latest_el, modified_el, id_el, name_el = leaves
        k = encode(key)
        try:
            key_el.text = k
            vid_el.text = version_id
            modified_el.text = modified
            id_el.text = owner_id
            name_el.text = owner_name
        except (ValueError, UnicodeError):
            set_text(key_el, k)
            set_text(vid_el, version_id)
            set_text(modified_el, modified)
            set_text(id_el, owner_id)
            set_text(name_el, owner_name)
        latest_el.text = "true" if is_latest else "false"
        write(el)


def list_versions_xml(r: VersionsListing) -> bytes:
    enc = encoder(r.encoding_type)
    head = [leaf("Name", r.name), leaf("Prefix", enc(r.prefix)),
            leaf("KeyMarker", enc(r.key_marker)), leaf("VersionIdMarker", r.version_id_marker)]
    if r.next_key_marker is not None:
        head.append(leaf("NextKeyMarker", enc(r.next_key_marker)))
    if r.next_version_id_marker is not None:
        head.append(leaf("NextVersionIdMarker", r.next_version_id_marker))
    head.append(leaf("MaxKeys", str(r.max_keys)))
    if r.delimiter is not None:
        head.append(leaf("Delimiter", enc(r.delimiter)))
    if r.encoding_type is not None:
        head.append(leaf("EncodingType", r.encoding_type))
    head.append(leaf("IsTruncated", xml_bool(r.is_truncated)))

    def body(write: Write) -> None:
        _write_entries(write, r.entries, enc)
        prefixes_writer(write, r.common_prefixes, enc)

    return document("ListVersionsResult", head, body)
