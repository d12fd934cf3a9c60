# -*- test-case-name: tests.unit.test_multipart_xml -*-
"""Response documents of the multipart family: ListParts,
ListMultipartUploads and GetObjectAttributes.

Each function takes plain values (dataclasses below) so that the
operations need no lxml knowledge and the output is golden-testable.
Element names and order follow AWS's documentation.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from lxml import etree

from cloudserver.s3.xml.build import quote_etag, s3_root, serialize, sub, xml_bool
from cloudserver.s3.xml.responses import checksum_elements


@dataclass(frozen=True)
class PartEntry:
    number: int
    size: int
    etag: str | None = None
    last_modified: str | None = None  # ISO 8601
    #: algorithm (CRC32...) or element name -> base64 value
    checksums: Mapping[str, str] | None = None


@dataclass(frozen=True)
class Person:
    id: str
    name: str


@dataclass
class ListPartsResult:
    bucket: str
    key: str
    upload_id: str
    initiator: Person
    owner: Person
    storage_class: str
    part_number_marker: int
    max_parts: int
    is_truncated: bool
    parts: Sequence[PartEntry] = ()
    next_part_number_marker: int | None = None
    checksum_algorithm: str | None = None
    checksum_type: str | None = None


@dataclass(frozen=True)
class UploadEntry:
    key: str
    upload_id: str
    initiated: str  # ISO 8601
    initiator: Person
    owner: Person
    storage_class: str = "STANDARD"
    checksum_algorithm: str | None = None
    checksum_type: str | None = None


@dataclass
class ListUploadsResult:
    bucket: str
    max_uploads: int
    is_truncated: bool
    key_marker: str = ""
    upload_id_marker: str = ""
    prefix: str = ""
    delimiter: str | None = None
    next_key_marker: str | None = None
    next_upload_id_marker: str | None = None
    encoding_type: str | None = None
    uploads: Sequence[UploadEntry] = ()
    common_prefixes: Sequence[str] = ()


@dataclass
class ObjectAttributes:
    """What GetObjectAttributes asked for; None fields are left out."""

    etag: str | None = None
    checksums: Mapping[str, str] | None = None  # includes ChecksumType
    storage_class: str | None = None
    object_size: int | None = None
    #: ObjectParts, when asked for and the object is multipart
    parts_count: int | None = None
    part_number_marker: int = 0
    next_part_number_marker: int | None = None
    max_parts: int = 1000
    parts_truncated: bool = False
    parts: Sequence[PartEntry] = field(default_factory=list)


def _person(parent: etree._Element, name: str, who: Person) -> None:
    el = sub(parent, name)
    sub(el, "ID", who.id)
    sub(el, "DisplayName", who.name)


def _part(parent: etree._Element, part: PartEntry, *, with_etag: bool) -> None:
    el = sub(parent, "Part")
    sub(el, "PartNumber", str(part.number))
    if with_etag:
        sub(el, "LastModified", part.last_modified or "")
        sub(el, "ETag", quote_etag(part.etag or ""))
    sub(el, "Size", str(part.size))
    checksum_elements(el, part.checksums)


def list_parts_xml(result: ListPartsResult) -> bytes:
    """``ListPartsResult``."""
    root = s3_root("ListPartsResult")
    sub(root, "Bucket", result.bucket)
    sub(root, "Key", result.key)
    sub(root, "UploadId", result.upload_id)
    _person(root, "Initiator", result.initiator)
    _person(root, "Owner", result.owner)
    sub(root, "StorageClass", result.storage_class)
    sub(root, "PartNumberMarker", str(result.part_number_marker))
    if result.next_part_number_marker is not None:
        sub(root, "NextPartNumberMarker", str(result.next_part_number_marker))
    sub(root, "MaxParts", str(result.max_parts))
    sub(root, "IsTruncated", xml_bool(result.is_truncated))
    if result.checksum_algorithm:
        sub(root, "ChecksumAlgorithm", result.checksum_algorithm)
    if result.checksum_type:
        sub(root, "ChecksumType", result.checksum_type)
    for part in result.parts:
        _part(root, part, with_etag=True)
    return serialize(root)


def list_multipart_uploads_xml(result: ListUploadsResult,
                               encode: Callable[[str], str] | None = None) -> bytes:
    """``ListMultipartUploadsResult``; ``encode`` is applied to keys and
    prefixes (url encoding when ``encoding-type=url``)."""
    enc = encode or (lambda s: s)
    root = s3_root("ListMultipartUploadsResult")
    sub(root, "Bucket", result.bucket)
    sub(root, "KeyMarker", enc(result.key_marker))
    sub(root, "UploadIdMarker", result.upload_id_marker)
    if result.next_key_marker is not None:
        sub(root, "NextKeyMarker", enc(result.next_key_marker))
    if result.next_upload_id_marker is not None:
        sub(root, "NextUploadIdMarker", result.next_upload_id_marker)
    if result.encoding_type:
        sub(root, "EncodingType", result.encoding_type)
    if result.delimiter:
        sub(root, "Delimiter", enc(result.delimiter))
    sub(root, "Prefix", enc(result.prefix))
    sub(root, "MaxUploads", str(result.max_uploads))
    sub(root, "IsTruncated", xml_bool(result.is_truncated))
    for up in result.uploads:
        el = sub(root, "Upload")
        sub(el, "Key", enc(up.key))
        sub(el, "UploadId", up.upload_id)
        _person(el, "Initiator", up.initiator)
        _person(el, "Owner", up.owner)
        sub(el, "StorageClass", up.storage_class)
        sub(el, "Initiated", up.initiated)
        if up.checksum_algorithm:
            sub(el, "ChecksumAlgorithm", up.checksum_algorithm)
        if up.checksum_type:
            sub(el, "ChecksumType", up.checksum_type)
    for prefix in result.common_prefixes:
        sub(sub(root, "CommonPrefixes"), "Prefix", enc(prefix))
    return serialize(root)


def object_attributes_xml(attrs: ObjectAttributes) -> bytes:
    """``GetObjectAttributesResponse`` (the ETag unquoted, as AWS sends it)."""
    root = s3_root("GetObjectAttributesResponse")
    if attrs.etag is not None:
        sub(root, "ETag", attrs.etag)
    if attrs.checksums:
        checksum_elements(sub(root, "Checksum"), attrs.checksums)
    if attrs.parts_count is not None:
        el = sub(root, "ObjectParts")
        sub(el, "PartsCount", str(attrs.parts_count))
        sub(el, "PartNumberMarker", str(attrs.part_number_marker))
        if attrs.next_part_number_marker is not None:
            sub(el, "NextPartNumberMarker", str(attrs.next_part_number_marker))
        sub(el, "MaxParts", str(attrs.max_parts))
        sub(el, "IsTruncated", xml_bool(attrs.parts_truncated))
        for part in attrs.parts:
            _part(el, part, with_etag=False)
    if attrs.storage_class is not None:
        sub(root, "StorageClass", attrs.storage_class)
    if attrs.object_size is not None:
        sub(root, "ObjectSize", str(attrs.object_size))
    return serialize(root)
