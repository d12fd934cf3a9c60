# -*- test-case-name: tests.unit.test_xmlresponses -*-
"""Response documents other than listings, as pure functions to bytes.

Element names and order are AWS's; each function takes plain values so the
operations need no lxml knowledge and the output is golden-testable.
"""

from collections.abc import Iterable, Mapping, Sequence

from lxml import etree

from cloudserver.s3.xml.build import (
    XSI_NS,
    plain_root,
    quote_etag,
    s3_root,
    serialize,
    set_text,
    sub,
    xml_bool,
)

# Order of the checksum elements in AWS's responses.
_CHECKSUM_ORDER = ("ChecksumCRC32", "ChecksumCRC32C", "ChecksumCRC64NVME", "ChecksumSHA1",
                   "ChecksumSHA256", "ChecksumType")

# Regions whose LocationConstraint AWS reports as an empty element.
_DEFAULT_REGIONS = ("", "us-east-1")


def checksum_elements(parent: etree._Element, checksums: Mapping[str, str] | None) -> None:
    """Append ``Checksum*`` elements: known names in AWS order, then others.

    Keys may be AWS element names (``ChecksumCRC32``, ``ChecksumType``) or
    bare algorithm names as cloudserver.s3.model.checksums spells them (``CRC32``,
    ``SHA256``); the latter get the ``Checksum`` prefix.
    """
    if not checksums:
        return
    named = {(k if k.startswith("Checksum") else "Checksum" + k): v
             for k, v in checksums.items() if v is not None}
    for name in _CHECKSUM_ORDER:
        value = named.pop(name, None)
        if value is not None:
            sub(parent, name, value)
    for name, value in named.items():
        sub(parent, name, value)


def error_xml(code: str, message: str, resource: str | None, request_id: str,
              extra: Mapping[str, object] | None = None, *,
              host_id: str | None = None) -> bytes:
    """``<Error>``: Code, Message, the extra elements in order, Resource,
    RequestId (and HostId when given).  No namespace, as AWS."""
    root = plain_root("Error")
    sub(root, "Code", code)
    sub(root, "Message", message)
    for name, value in (extra or {}).items():
        sub(root, name, "" if value is None else str(value))
    if resource is not None:
        sub(root, "Resource", resource)
    sub(root, "RequestId", request_id)
    if host_id is not None:
        sub(root, "HostId", host_id)
    return serialize(root)


def list_buckets_xml(owner_id: str, owner_display_name: str,
                     buckets: Iterable[tuple[str, str]], *,
                     continuation_token: str | None = None, prefix: str | None = None,
                     region: str | None = None) -> bytes:
    """``ListAllMyBucketsResult``; ``buckets`` are (name, creation ISO date).

    ``region`` adds each bucket's BucketRegion (AWS sends it when paginating).
    """
    root = s3_root("ListAllMyBucketsResult")
    owner = sub(root, "Owner")
    sub(owner, "ID", owner_id)
    sub(owner, "DisplayName", owner_display_name)
    parent = sub(root, "Buckets")
    for name, created in buckets:
        b = sub(parent, "Bucket")
        sub(b, "Name", name)
        sub(b, "CreationDate", created)
    if continuation_token is not None:
        sub(root, "ContinuationToken", continuation_token)
    if prefix is not None:
        sub(root, "Prefix", prefix)
    return serialize(root)


def location_constraint_xml(location: str) -> bytes:
    """``LocationConstraint``, empty for us-east-1 as AWS answers."""
    root = s3_root("LocationConstraint")
    if location not in _DEFAULT_REGIONS:
        set_text(root, location)
    return serialize(root)


def _copy_result(root_name: str, etag: str, last_modified_iso: str,
                 checksums: Mapping[str, str] | None) -> bytes:
    root = s3_root(root_name)
    sub(root, "LastModified", last_modified_iso)
    sub(root, "ETag", quote_etag(etag))
    checksum_elements(root, checksums)
    return serialize(root)


def copy_object_result_xml(etag: str, last_modified_iso: str,
                           checksums: Mapping[str, str] | None = None) -> bytes:
    """``CopyObjectResult``: LastModified, ETag (quoted), then checksums."""
    return _copy_result("CopyObjectResult", etag, last_modified_iso, checksums)


def copy_part_result_xml(etag: str, last_modified_iso: str,
                         checksums: Mapping[str, str] | None = None) -> bytes:
    """``CopyPartResult`` for UploadPartCopy: same shape as CopyObject's."""
    return _copy_result("CopyPartResult", etag, last_modified_iso, checksums)


def delete_result_xml(deleted: Iterable[Mapping[str, object]],
                      errors: Iterable[Mapping[str, object]], quiet: bool) -> bytes:
    """``DeleteResult`` of DeleteObjects.

    ``deleted`` items have Key and optionally VersionId, DeleteMarker (bool)
    and DeleteMarkerVersionId; ``errors`` items have Key, optional
    VersionId, Code and Message.  In quiet mode only errors are listed.
    """
    root = s3_root("DeleteResult")
    if not quiet:
        for d in deleted:
            el = sub(root, "Deleted")
            sub(el, "Key", str(d["Key"]))
            if d.get("VersionId") is not None:
                sub(el, "VersionId", str(d["VersionId"]))
            if d.get("DeleteMarker") is not None:
                sub(el, "DeleteMarker", xml_bool(bool(d["DeleteMarker"])))
            if d.get("DeleteMarkerVersionId") is not None:
                sub(el, "DeleteMarkerVersionId", str(d["DeleteMarkerVersionId"]))
    for e in errors:
        el = sub(root, "Error")
        sub(el, "Key", str(e["Key"]))
        if e.get("VersionId") is not None:
            sub(el, "VersionId", str(e["VersionId"]))
        sub(el, "Code", str(e["Code"]))
        sub(el, "Message", str(e["Message"]))
    return serialize(root)


def initiate_multipart_xml(bucket: str, key: str, upload_id: str) -> bytes:
    """``InitiateMultipartUploadResult``: Bucket, Key, UploadId."""
    root = s3_root("InitiateMultipartUploadResult")
    sub(root, "Bucket", bucket)
    sub(root, "Key", key)
    sub(root, "UploadId", upload_id)
    return serialize(root)


def complete_multipart_xml(location: str, bucket: str, key: str, etag: str,
                           checksums: Mapping[str, str] | None = None) -> bytes:
    """``CompleteMultipartUploadResult``: Location, Bucket, Key, ETag,
    then the checksums (element names as AWS: ``ChecksumCRC32``...)."""
    root = s3_root("CompleteMultipartUploadResult")
    sub(root, "Location", location)
    sub(root, "Bucket", bucket)
    sub(root, "Key", key)
    sub(root, "ETag", quote_etag(etag))
    checksum_elements(root, checksums)
    return serialize(root)


def versioning_xml(status: str | None, mfa_delete: str | None = None) -> bytes:
    """``VersioningConfiguration``; empty when versioning was never set."""
    root = s3_root("VersioningConfiguration")
    if status is not None:
        sub(root, "Status", status)
    if mfa_delete is not None:
        sub(root, "MfaDelete", mfa_delete)
    return serialize(root)


def tagging_xml(tags: Iterable[tuple[str, str]]) -> bytes:
    """``Tagging/TagSet/Tag(Key, Value)``."""
    root = s3_root("Tagging")
    tagset = sub(root, "TagSet")
    for key, value in tags:
        tag = sub(tagset, "Tag")
        sub(tag, "Key", key)
        sub(tag, "Value", value)
    return serialize(root)


# grantee_type -> the element that names the grantee
_GRANTEE_ELEMENT = {
    "CanonicalUser": "ID",
    "Group": "URI",
    "AmazonCustomerByEmail": "EmailAddress",
}


def acl_xml(owner_id: str, owner_name: str | None,
            grants: Sequence[tuple[str, str, str | None, str]]) -> bytes:
    """``AccessControlPolicy``.

    ``grants`` are (grantee_type, id/uri/email, display_name or None,
    permission) with grantee_type one of CanonicalUser, Group,
    AmazonCustomerByEmail.  The Grantee carries ``xsi:type`` as AWS sends.
    """
    root = s3_root("AccessControlPolicy")
    owner = sub(root, "Owner")
    sub(owner, "ID", owner_id)
    if owner_name is not None:
        sub(owner, "DisplayName", owner_name)
    acl = sub(root, "AccessControlList")
    for grantee_type, ident, display_name, permission in grants:
        grant = sub(acl, "Grant")
        grantee = etree.SubElement(grant, grant.tag.rsplit("}", 1)[0] + "}Grantee",
                                   nsmap={"xsi": XSI_NS})
        grantee.set(f"{{{XSI_NS}}}type", grantee_type)
        sub(grantee, _GRANTEE_ELEMENT.get(grantee_type, "ID"), ident)
        if display_name is not None and grantee_type == "CanonicalUser":
            sub(grantee, "DisplayName", display_name)
        sub(grant, "Permission", permission)
    return serialize(root)
