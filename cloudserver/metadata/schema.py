# -*- test-case-name: tests.unit.test_record_schema -*-
"""The stored records, each kind defined once: its fields, their JSON
names, types and meaning, and the format version.

Records stay plain dicts decoded from compact JSON (the hot path reads a
field with one dict lookup, no object per record); what this module gives
is the one place that says which keys exist.  Every handler and service
that builds or reads a record names a field through these classes
(``ObjectRecord.SIZE`` is the plain string ``"size"``), so a new field
(retention, legal hold, encryption key ids, expiry) is one declaration
here, and a test checks that nothing writes a key that is not declared.

It lives under metadata/ rather than the S3 front because both sides read
the records: the versioning rules and inline data here, the handlers
there; metadata/ may not import cloudserver.s3.

**Format version** (``mdVersion``, every record): ``MD_VERSION``.  Adding
an optional field keeps the version (older records simply lack it, and
readers treat a missing optional field as its documented default).  A
change of meaning, or a field that becomes required, takes the next
version and an upgrade step in ``UPGRADES``; ``decode_record`` runs the
steps for any record older than ``MD_VERSION``, so readers only ever see
the current shape.  Records without ``mdVersion`` (version 0: written
before the field existed) have version 1's fields.  A record newer than
this code is returned as it is: its extra fields are ignored.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import attrs

#: The format version written in every record's ``mdVersion``.
MD_VERSION = 1
VERSION_FIELD = "mdVersion"


@attrs.frozen
class Field:
    """One field of a record: its key in the stored JSON, the JSON types
    its value may have, whether every record has it, and what it means."""

    key: str
    types: tuple[type, ...]
    doc: str
    required: bool = False


def field(key: str, types: type | tuple[type, ...], doc: str, *,
          required: bool = False) -> Any:
    """Declare a field in a :class:`RecordSchema` body.  Typed ``Any``
    because the class attribute ends up as the plain key string."""
    return Field(key, types if isinstance(types, tuple) else (types,), doc, required)


NONE = type(None)
NUMBER = (int, float)


class RecordSchema:
    """Base of a record kind.  Subclasses declare ``NAME = field(...)``;
    ``__init_subclass__`` collects them in ``FIELDS`` (by JSON key) and
    turns each attribute into its interned key string, so the handlers'
    ``md[ObjectRecord.SIZE]`` costs what ``md["size"]`` does.  A stored
    record has ``mdVersion``; a part of one (``versioned=False``) has not."""

    FIELDS: ClassVar[dict[str, Field]] = {}

    def __init_subclass__(cls, versioned: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        declared: dict[str, Field] = {VERSION_FIELD: Field(
            VERSION_FIELD, (int,), "the record's format version (MD_VERSION)", True)
        } if versioned else {}
        for attr, value in list(vars(cls).items()):
            if isinstance(value, Field):
                if value.key in declared:
                    raise TypeError(f"{cls.__name__}: {value.key!r} declared twice")
                declared[value.key] = value
                setattr(cls, attr, sys.intern(value.key))
        cls.FIELDS = declared

    @classmethod
    def problems(cls, record: Mapping[str, Any]) -> list[str]:
        """What is wrong with ``record`` against this kind: undeclared keys,
        missing required ones, values of another type (for tests and tools;
        the hot path never calls it)."""
        out = [f"undeclared field {k!r}" for k in record if k not in cls.FIELDS]
        for f in cls.FIELDS.values():
            if f.key not in record:
                if f.required:
                    out.append(f"missing field {f.key!r}")
            elif not isinstance(record[f.key], f.types) or (
                    isinstance(record[f.key], bool) and bool not in f.types):
                out.append(f"field {f.key!r}: {type(record[f.key]).__name__}")
        return out


class PieceRecord(RecordSchema, versioned=False):
    """One piece of an object's data (an element of ``location``)."""

    KEY = field("key", str, "the data key in its store (remote: <remoteVersionId>/<name>)",
                required=True)
    START = field("start", int, "offset of the piece in the object", required=True)
    SIZE = field("size", int, "bytes in the piece", required=True)
    LOC = field("loc", str, "its location's name (S3DATA=multiple); absent: the default store")
    INLINE = field("inline", int, "1: the bytes are kept beside the record (D\\0<key>)")
    DATA = field("data", str, "inline bytes, base64, only on their way in or out of the "
                 "metadata service (never stored in the record)")
    REMOTE_PART = field("remotePart", bool, "a part of a remote multipart upload: "
                        "not deleted on its own")
    BLOB_START = field("blobStart", int, "offset of the piece in its blob: the parts of an "
                       "encrypted remote multipart object share the remote's one blob, a "
                       "piece per part (its own cipher); absent: 0")
    CIPHER = field("cipher", dict, "an encrypted piece: {iv (base64), keyId, dataKey "
                   "(the wrapped data key, base64; absent for SSE-C), context?}; absent: "
                   "stored in the clear (cloudserver.s3.sse)")


class ObjectRecord(RecordSchema):
    """An object's master record or one of its versions (a delete marker too)."""

    KEY = field("key", str, "the object key", required=True)
    SIZE = field("size", int, "bytes (0 for a delete marker)", required=True)
    ETAG = field("etag", str, "MD5 hex, or the multipart ETag (-N); '' for a delete "
                 "marker", required=True)
    LAST_MODIFIED = field("last-modified", NUMBER, "epoch seconds of the write",
                          required=True)
    LOCATION = field("location", list, "the data pieces in order (PieceRecord); [] for none",
                     required=True)
    OWNER = field("owner", (str, NONE), "owner's canonical id (None: anonymous writer)")
    OWNER_NAME = field("owner-name", (str, NONE), "owner's display name")
    CONTENT_TYPE = field("content-type", (str, NONE), "Content-Type (default "
                         "binary/octet-stream)")
    HEADERS = field("headers", dict, "stored content headers (common.STORED_HEADERS)")
    METADATA = field("metadata", dict, "x-amz-meta-* names (lower case) -> values")
    STORAGE_CLASS = field("storage-class", str, "absent: STANDARD")
    ACL = field("acl", dict, "the object ACL (acl.Acl.to_record); absent: private to owner")
    TAGS = field("tags", (dict, list), "tag key -> value, sorted by key (older writers: "
                 "[key, value] pairs); absent: none")
    CHECKSUM = field("checksum", dict, "{algorithm, value, type: FULL_OBJECT|COMPOSITE}")
    WEBSITE_REDIRECT = field("website-redirect-location", str,
                             "x-amz-website-redirect-location")
    LOCK_MODE = field("retentionMode", str, "object lock retention: GOVERNANCE or "
                      "COMPLIANCE (metadata.object_lock); absent: none")
    RETAIN_UNTIL = field("retentionDate", str, "object lock: retain until (ISO 8601, UTC)")
    LEGAL_HOLD = field("legalHold", bool, "object lock legal hold ON; absent: OFF")
    SSE = field("sse", dict, "server-side encryption (cloudserver.s3.sse.SseRecord): "
                "{algorithm: AES256|aws:kms, keyId?, context?, bucketKeyEnabled?, "
                "customerAlgorithm?, customerKeyMD5?, customerKeyHmac?, salt?}; "
                "absent: not encrypted")
    PARTS = field("parts", list, "multipart objects: [{size, checksum?}] per part")
    UPLOAD_ID = field("upload-id", str, "multipart objects: the completed upload's id")
    REQUEST_HEADERS = field("request-headers", dict, "multipart objects: the upload's "
                            "kept request headers (UploadRecord.REQUEST_HEADERS)")
    # Set by the metadata service's versioning rules (metadata/versioning.py).
    VERSION_ID = field("versionId", str, "internal version id; absent: never versioned")
    IS_NULL = field("isNull", bool, "the null version")
    NULL_VERSION_ID = field("nullVersionId", str, "master: the id of the null version kept "
                            "among the versions")
    IS_DELETE_MARKER = field("isDeleteMarker", bool, "a delete marker")
    IS_PHD = field("isPHD", bool, "a placeholder master (upstream's PHD; never written "
                   "here, recognised when read)")
    REPLICATION_STATUS = field("replicationStatus", str, "x-amz-replication-status: "
                               "PENDING, COMPLETED, FAILED (a source version), REPLICA "
                               "(written by replication); absent: not replicated")


#: The fields the metadata service's versioning manages (a copy drops them).
VERSION_FIELDS = (ObjectRecord.VERSION_ID, ObjectRecord.IS_NULL, ObjectRecord.NULL_VERSION_ID,
                  ObjectRecord.IS_PHD, ObjectRecord.IS_DELETE_MARKER)


class BucketRecord(RecordSchema):
    """A bucket's attributes (``B\\0<bucket>``)."""

    NAME = field("name", str, "the bucket name", required=True)
    OWNER = field("owner", str, "owner's canonical id", required=True)
    OWNER_NAME = field("owner-name", (str, NONE), "owner's display name")
    CREATION_DATE = field("creation-date", NUMBER, "epoch seconds", required=True)
    LOCATION = field("location", (str, NONE), "location constraint (locationConfig name)")
    VERSIONING = field("versioning", (str, NONE), "None (never), Enabled or Suspended")
    ACL = field("acl", dict, "the bucket ACL (acl.Acl.to_record)")
    CORS = field("cors", list, "CORS rules (cors.to_record); absent: none")
    PUBLIC_ACCESS_BLOCK = field("publicAccessBlock", dict,
                                "the four PublicAccessBlock switches; absent: none")
    TAGS = field("tags", (dict, list), "bucket tags, as ObjectRecord.TAGS")
    POLICY = field("policy", str, "the bucket policy: the JSON text as put (compiled and "
                   "cached by cloudserver.s3.access.bucket_policy)")
    OBJECT_OWNERSHIP = field("objectOwnership", str, "ObjectOwnership of the bucket's "
                             "OwnershipControls; absent: none (ObjectWriter)")
    OBJECT_LOCK_ENABLED = field("objectLockEnabled", bool, "object lock enabled (at "
                                "creation or by PutObjectLockConfiguration); absent: no")
    OBJECT_LOCK_RULE = field("objectLockConfiguration", dict, "default retention: {mode, "
                             "days | years}; absent: none")
    LIFECYCLE = field("lifecycle", list, "lifecycle rules (cloudserver.lifecycle.rules: "
                      "Rule.to_record); absent: none")
    WEBSITE = field("website", dict, "the website configuration (PutBucketWebsite); "
                    "absent: not a website")
    REQUEST_PAYMENT = field("requestPayment", str, "Payer: BucketOwner or Requester; "
                            "absent: BucketOwner")
    LOGGING = field("logging", dict, "BucketLoggingStatus.LoggingEnabled as put "
                    "(target bucket, prefix, grants); absent: logging off")
    ENCRYPTION = field("encryption", dict, "default encryption (PutBucketEncryption): "
                       "{algorithm: AES256|aws:kms, keyId?, bucketKeyEnabled?}; absent: none")
    NOTIFICATION = field("notificationConfiguration", dict, "bucket notifications "
                         "(cloudserver.notifications.rules: NotificationConfig.to_record, "
                         "with its format version); absent: none")
    BUCKET_KEY_ID = field("bucketKeyId", str, "the bucket's own master key id in the KMS "
                          "(bucket-level encryption, x-amz-scal-server-side-encryption)")
    REPLICATION = field("replication", dict, "the replication configuration "
                        "(cloudserver.replication.rules: {v, role, rules}); absent: none")


class UploadRecord(RecordSchema):
    """An unfinished multipart upload (metadata/uploads.py)."""

    UPLOAD_ID = field("uploadId", str, "the upload id", required=True)
    BUCKET = field("bucket", str, "its bucket", required=True)
    KEY = field("key", str, "the object key", required=True)
    INITIATED = field("initiated", NUMBER, "epoch seconds", required=True)
    OWNER = field("owner", (str, NONE), "the object's future owner")
    OWNER_NAME = field("owner-name", (str, NONE), "owner's display name")
    INITIATOR = field("initiator", dict, "{id, name} of who created the upload")
    ACL = field("acl", dict, "the object's ACL at completion")
    CONTENT_TYPE = field("content-type", (str, NONE), "Content-Type of the object")
    HEADERS = field("headers", dict, "stored content headers of the object")
    METADATA = field("metadata", dict, "x-amz-meta-* of the object")
    STORAGE_CLASS = field("storage-class", str, "storage class of the object")
    CHECKSUM = field("checksum", (dict, NONE), "{algorithm, type} asked for, or None")
    REQUEST_HEADERS = field("request-headers", dict, "request headers kept for completion")
    TAGS = field("tags", (dict, list), "the object's tags at completion (as "
                 "ObjectRecord.TAGS)")
    WEBSITE_REDIRECT = field("website-redirect-location", str, "the object's redirect")
    SSE = field("sse", dict, "the encryption every part uses (as ObjectRecord.SSE)")
    OBJECT_LOCK = field("objectLock", dict, "the object's lock at completion: {retentionMode?, "
                        "retentionDate?, legalHold?} (as ObjectRecord)")
    DATA_LOCATION = field("data-location", str, "S3DATA=multiple: where the parts go")
    DATA_UPLOAD_ID = field("data-upload-id", (str, NONE), "the remote upload's id")


class PartRecord(RecordSchema):
    """One uploaded part of a multipart upload."""

    PART_NUMBER = field("partNumber", int, "1..10000", required=True)
    SIZE = field("size", int, "bytes", required=True)
    ETAG = field("etag", str, "MD5 hex (or the remote's ETag)", required=True)
    LAST_MODIFIED = field("last-modified", NUMBER, "epoch seconds", required=True)
    LOCATION = field("location", list, "the part's data pieces", required=True)
    CHECKSUM = field("checksum", (dict, NONE), "{algorithm, value}, or None")


class UsageRecord(RecordSchema):
    """A bucket's usage counters (``C\\0<bucket>``, metadata/usage.py), written
    in the batch of every write that changes them."""

    OBJECTS = field("objects", int, "current objects (delete markers excluded)",
                    required=True)
    OBJECT_BYTES = field("objectBytes", int, "their bytes", required=True)
    VERSIONS = field("versions", int, "stored versions, current and noncurrent, "
                     "delete markers excluded", required=True)
    BYTES = field("bytes", int, "bytes of every stored version", required=True)
    DELETE_MARKERS = field("deleteMarkers", int, "delete markers", required=True)
    UPLOADS = field("uploads", int, "multipart uploads in progress", required=True)
    UPLOAD_BYTES = field("uploadBytes", int, "bytes of their parts", required=True)


def _from_version_0(record: dict[str, Any]) -> dict[str, Any]:
    """Records written before ``mdVersion`` existed have version 1's fields."""
    return record


#: version -> the step that turns a record of that version into the next one;
#: a step that changes the record returns a new dict (the result is then
#: stamped with MD_VERSION), one that has nothing to change returns it.
UPGRADES: Mapping[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _from_version_0}


def upgrade(record: Any) -> Any:
    """``record`` in the current format, whatever version it was written in
    (``decode_record`` calls it only when ``mdVersion`` is not MD_VERSION).
    Non-records (lists, strings: values the KV also holds) pass through."""
    if not isinstance(record, dict):
        return record
    version = record.get(VERSION_FIELD, 0)
    if not isinstance(version, int) or version >= MD_VERSION:
        return record
    original = record
    while version < MD_VERSION:
        record = UPGRADES[version](record)
        version += 1
    if record is original:
        return record  # nothing changed: the record reads as it was stored
    return {**record, VERSION_FIELD: MD_VERSION}
