# -*- test-case-name: tests.unit.test_xmlparse -*-
"""A hardened parser for request bodies and the S3 request documents.

Request XML comes from anyone who can reach the port, so the parser never
expands entities, never loads a DTD, never touches the network, refuses
huge trees, and a body that declares a DOCTYPE at all is rejected before
libxml2 sees it (the billion-laughs and external-entity attacks both need
one).  Clients disagree on whether they send the S3 namespace, so lookups
match on local names only.

Every failure is an :class:`~cloudserver.s3.errors.S3Error`; nothing here
can surface as a 500.
"""

from collections.abc import Iterator

from lxml import etree

from cloudserver.s3.errors import S3Error

DEFAULT_MAX_SIZE = 1 << 20

# AWS's limits on request documents.
MAX_DELETE_OBJECTS = 1000
# 1000 keys of up to 1024 bytes, some escaped, plus framing, exceed 1 MiB.
MAX_DELETE_BODY = 2 << 20
MAX_OBJECT_TAGS = 10
MAX_BUCKET_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
MAX_PARTS = 10000
#: 10,000 parts, each with an ETag and a SHA-256 checksum (~1.6 MB), and framing
MAX_COMPLETE_BODY = 4 << 20
#: DeleteObjects' per-object conditions (AWS 2024), not implemented here
DELETE_CONDITIONS = ("ETag", "LastModifiedTime", "Size")

VERSIONING_STATUSES = ("Enabled", "Suspended")
MFA_DELETE_STATUSES = ("Enabled", "Disabled")

# The element names of the additional checksums, in AWS's order.
CHECKSUM_ELEMENTS = ("ChecksumCRC32", "ChecksumCRC32C", "ChecksumCRC64NVME",
                     "ChecksumSHA1", "ChecksumSHA256")
#: what a CompleteMultipartUpload Part may hold
PART_FIELDS = ("PartNumber", "ETag") + CHECKSUM_ELEMENTS


def _new_parser() -> etree.XMLParser:
    # A parser instance must not be shared between threads; a new one costs
    # about a microsecond, so each parse gets its own.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_blank_text=True,
                           remove_comments=True, remove_pis=True, collect_ids=False)


def local_name(el: etree._Element) -> str:
    tag = el.tag
    if not isinstance(tag, str):       # comment or processing instruction
        return ""
    return tag[tag.index("}") + 1:] if tag[0] == "{" else tag


def parse_xml(body: bytes, *, max_size: int = DEFAULT_MAX_SIZE,
              root: str | None = None) -> etree._Element:
    """Parse a request body into its root element, or raise S3Error.

    ``MaxMessageLengthExceeded`` when over ``max_size`` bytes; ``MalformedXML``
    when empty, not well-formed, carrying a DOCTYPE or entity declarations,
    or when the root's local name is not ``root``.
    """
    if len(body) > max_size:
        raise S3Error("MaxMessageLengthExceeded")
    if not body.strip():
        raise S3Error("MalformedXML")
    # Cheap early refusal; the docinfo check below also covers encodings
    # (UTF-16) where these bytes would not appear literally.
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        raise S3Error("MalformedXML")
    try:
        el = etree.fromstring(body, _new_parser())
    except (etree.XMLSyntaxError, ValueError):
        raise S3Error("MalformedXML") from None
    docinfo = el.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise S3Error("MalformedXML")
    if root is not None and local_name(el) != root:
        raise S3Error("MalformedXML")
    return el


def children(el: etree._Element, name: str) -> Iterator[etree._Element]:
    """Child elements whose local name is ``name``, in any namespace."""
    for c in el:
        if local_name(c) == name:
            yield c


def child(el: etree._Element, name: str) -> etree._Element | None:
    """The first child element named ``name`` (any namespace), or None."""
    return next(children(el, name), None)


def fields(el: etree._Element, allowed: tuple[str, ...],
           repeated: tuple[str, ...] = (), *, error: str = "MalformedXML") -> dict:
    """The child elements of ``el`` by local name, for a schema with no
    order: each among ``allowed`` and at most once, except the ``repeated``
    names, which map to lists; anything else is ``error`` (MalformedXML,
    as AWS answers an element its schema does not have)."""
    found: dict = {}
    for c in el:
        name = local_name(c)
        if not name:
            continue  # a comment
        if name not in allowed or (name in found and name not in repeated):
            raise S3Error(error)
        if name in repeated:
            found.setdefault(name, []).append(c)
        else:
            found[name] = c
    return found


def text(el: etree._Element, name: str, default: str | None = None) -> str | None:
    """The text of child ``name``: ``""`` if present but empty, else default."""
    c = child(el, name)
    if c is None:
        return default
    return c.text or ""


def _required(el: etree._Element, name: str) -> str:
    value = text(el, name)
    if value is None:
        raise S3Error("MalformedXML")
    return value


def _xml_bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    v = value.strip().lower()
    if v == "true":
        return True
    if v == "false":
        return False
    raise S3Error("MalformedXML")


# -- DeleteObjects ---------------------------------------------------------

def parse_delete_request(body: bytes, *, max_size: int = MAX_DELETE_BODY
                         ) -> tuple[bool, list[tuple[str, str | None]]]:
    """``<Delete>`` -> (quiet, [(key, version_id or None)]).

    As AWS: at least one and at most 1000 ``Object`` elements, each with a
    non-empty ``Key``; ``Quiet`` is ``true``/``false`` (default false).
    Anything else is MalformedXML.
    """
    el = parse_xml(body, max_size=max_size, root="Delete")
    found = fields(el, ("Quiet", "Object"), repeated=("Object",))
    quiet = _xml_bool(text(el, "Quiet"), False)
    objects: list[tuple[str, str | None]] = []
    for obj in found.get("Object", ()):
        if len(objects) == MAX_DELETE_OBJECTS:
            raise S3Error("MalformedXML")
        names = fields(obj, ("Key", "VersionId") + DELETE_CONDITIONS)
        if not names.keys().isdisjoint(DELETE_CONDITIONS):
            raise S3Error("NotImplemented", "Conditional deletes in DeleteObjects (ETag, "
                          "LastModifiedTime, Size) are not implemented")
        key = _required(obj, "Key")
        if not key:
            raise S3Error("MalformedXML")
        objects.append((key, text(obj, "VersionId")))
    if not objects:
        raise S3Error("MalformedXML")
    return quiet, objects


# -- CreateBucket ----------------------------------------------------------

def parse_create_bucket_configuration(body: bytes, *, max_size: int = DEFAULT_MAX_SIZE
                                      ) -> str | None:
    """The LocationConstraint of a CreateBucket body; None when absent.

    An empty body is normal (clients send none for us-east-1).
    """
    if not body.strip():
        return None
    el = parse_xml(body, max_size=max_size, root="CreateBucketConfiguration")
    fields(el, ("LocationConstraint",))
    value = text(el, "LocationConstraint")
    return value.strip() if value is not None else None


# -- Versioning ------------------------------------------------------------

def parse_versioning(body: bytes, *, max_size: int = DEFAULT_MAX_SIZE
                     ) -> tuple[str, str | None]:
    """``<VersioningConfiguration>`` -> (status, mfa_delete or None if absent).

    As AWS answers: a Status other than Enabled/Suspended (Enabled/Disabled
    for MfaDelete) is MalformedXML; no Status at all, or an empty one (an
    empty ``<VersioningConfiguration/>``), is
    IllegalVersioningConfigurationException, since there is nothing to set.
    """
    el = parse_xml(body, max_size=max_size, root="VersioningConfiguration")
    fields(el, ("Status", "MfaDelete"))
    status = text(el, "Status")
    mfa = text(el, "MfaDelete")
    if status and status not in VERSIONING_STATUSES:
        raise S3Error("MalformedXML")
    if mfa is not None and mfa not in MFA_DELETE_STATUSES:
        raise S3Error("MalformedXML")
    if not status:
        raise S3Error("IllegalVersioningConfigurationException",
                      "The Versioning element must be specified")
    return status, mfa


# -- Tagging ---------------------------------------------------------------

def _utf16_len(s: str) -> int:
    # AWS counts tag lengths in UTF-16 code units.
    return len(s.encode("utf-16-le", "surrogatepass")) // 2


def parse_tagging(body: bytes, *, max_tags: int = MAX_OBJECT_TAGS,
                  max_size: int = DEFAULT_MAX_SIZE) -> list[tuple[str, str]]:
    """``<Tagging><TagSet><Tag>`` -> [(key, value)] in document order.

    Structure errors are MalformedXML; AWS's tag rules (at most ``max_tags``
    tags, 10 on objects and 50 on buckets; keys 1..128 and values up to 256
    characters; unique keys; no ``aws:`` prefix) are InvalidTag.
    """
    el = parse_xml(body, max_size=max_size, root="Tagging")
    tagset = fields(el, ("TagSet",)).get("TagSet")
    if tagset is None:
        raise S3Error("MalformedXML")
    tags: list[tuple[str, str]] = []
    seen: set[str] = set()
    for tag in fields(tagset, ("Tag",), repeated=("Tag",)).get("Tag", ()):
        fields(tag, ("Key", "Value"))
        key = _required(tag, "Key")
        value = _required(tag, "Value")
        if len(tags) == max_tags:
            raise S3Error("InvalidTag", f"Tags cannot be more than {max_tags}")
        if not key:
            raise S3Error("InvalidTag", "The TagKey you have provided is invalid")
        if _utf16_len(key) > MAX_TAG_KEY:
            raise S3Error("InvalidTag", "The TagKey you have provided is too long, max 128")
        if _utf16_len(value) > MAX_TAG_VALUE:
            raise S3Error("InvalidTag", "The TagValue you have provided is too long, max 256")
        if key.startswith("aws:"):
            raise S3Error("InvalidTag", "Your TagKey cannot be prefixed with aws:")
        if key in seen:
            raise S3Error("InvalidTag", "Cannot provide multiple Tags with the same key")
        seen.add(key)
        tags.append((key, value))
    return tags


# -- CompleteMultipartUpload -----------------------------------------------

def parse_complete_multipart(body: bytes, *, max_size: int = MAX_COMPLETE_BODY
                             ) -> list[tuple[int, str, dict[str, str]]]:
    """``<CompleteMultipartUpload>`` -> [(part_number, etag, checksums)].

    Only the document's shape is checked here (1..10000 parts, each with an
    integer PartNumber and an ETag; the root holds Part elements only and a
    Part PartNumber, ETag and checksums only, once each: anything else is
    MalformedXML, as AWS answers); order and existence of parts are the
    operation's business (InvalidPartOrder, InvalidPart).  ``checksums``
    maps AWS element names (``ChecksumCRC32``...) to their values.
    """
    el = parse_xml(body, max_size=max_size, root="CompleteMultipartUpload")
    parts: list[tuple[int, str, dict[str, str]]] = []
    for part in el:
        name = local_name(part)
        if not name:
            continue  # a comment
        if name != "Part" or len(parts) == MAX_PARTS:
            raise S3Error("MalformedXML")
        fields(part, PART_FIELDS)
        number = _required(part, "PartNumber").strip()
        if not (number.isascii() and number.isdigit()) or len(number) > 9:
            raise S3Error("MalformedXML")
        etag = _required(part, "ETag").strip()
        checksums = {}
        for name in CHECKSUM_ELEMENTS:
            value = text(part, name)
            if value is not None:
                checksums[name] = value.strip()
        parts.append((int(number), etag, checksums))
    if not parts:
        raise S3Error("MalformedXML")
    return parts
