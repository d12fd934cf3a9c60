# -*- test-case-name: tests.unit.test_xmlversions -*-
"""ListObjectVersions response document (ListVersionsResult).

With ``encoding-type=url`` Key, Prefix, Delimiter, KeyMarker, NextKeyMarker
and CommonPrefixes are percent-encoded, the fields botocore decodes.
"""
from __future__ import annotations

from collections.abc import Sequence

import attrs

from cloudserver.s3.xmlbuild import quote_etag, s3_root, serialize, sub, url_encode, xml_bool


@attrs.frozen(kw_only=True)
class VersionEntry:
    key: str
    version_id: str
    is_latest: bool
    last_modified: str
    owner_id: str
    owner_name: str
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


def list_versions_xml(r: VersionsListing) -> bytes:
    enc = url_encode if r.encoding_type == "url" else (lambda s: s)
    root = s3_root("ListVersionsResult")
    sub(root, "Name", r.name)
    sub(root, "Prefix", enc(r.prefix))
    sub(root, "KeyMarker", enc(r.key_marker))
    sub(root, "VersionIdMarker", r.version_id_marker)
    if r.next_key_marker is not None:
        sub(root, "NextKeyMarker", enc(r.next_key_marker))
    if r.next_version_id_marker is not None:
        sub(root, "NextVersionIdMarker", r.next_version_id_marker)
    sub(root, "MaxKeys", str(r.max_keys))
    if r.delimiter is not None:
        sub(root, "Delimiter", enc(r.delimiter))
    if r.encoding_type is not None:
        sub(root, "EncodingType", r.encoding_type)
    sub(root, "IsTruncated", xml_bool(r.is_truncated))
    for e in r.entries:
        el = sub(root, "DeleteMarker" if e.delete_marker else "Version")
        sub(el, "Key", enc(e.key))
        sub(el, "VersionId", e.version_id)
        sub(el, "IsLatest", xml_bool(e.is_latest))
        sub(el, "LastModified", e.last_modified)
        if not e.delete_marker:
            sub(el, "ETag", quote_etag(e.etag))
            sub(el, "Size", str(e.size))
        owner = sub(el, "Owner")
        sub(owner, "ID", e.owner_id)
        sub(owner, "DisplayName", e.owner_name)
        if not e.delete_marker:
            sub(el, "StorageClass", e.storage_class)
    for p in r.common_prefixes:
        sub(sub(root, "CommonPrefixes"), "Prefix", enc(p))
    return serialize(root)
