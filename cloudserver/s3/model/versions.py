# -*- test-case-name: tests.unit.test_versions -*-
"""How object handlers take part in bucket versioning (CloudServer design):
which metadata options a write uses in a bucket of each versioning state,
how version ids look to clients, and which records' data a write or delete
has freed.
"""
from __future__ import annotations

from cloudserver.metadata import version_id as vid
from cloudserver.metadata.schema import VERSION_FIELDS  # noqa: F401 - a copy drops them
from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.metadata.versioning import freed_records  # noqa: F401 - handlers free data by it
from cloudserver.s3.errors import S3Error

NULL = vid.NULL_VERSION_ID


def versioning_state(bucket: dict) -> str | None:
    """The bucket's versioning: None (never configured), Enabled or Suspended."""
    return bucket.get(Bkt.VERSIONING)


def write_options(bucket: dict) -> dict | None:
    """Metadata options for a new object (or delete marker) in ``bucket``."""
    state = bucket.get(Bkt.VERSIONING)
    if state == "Enabled":
        return {"versioning": True}
    if state == "Suspended":
        return {"versionId": ""}
    return None


def refuse_version_param(query) -> None:
    """PutObject, CopyObject and CompleteMultipartUpload never overwrite an
    existing version: a ``versionId`` in their query is 400 InvalidArgument
    (CloudServer docs, "Specifying Versions in APIs for Putting Versions")."""
    if "versionId" in query:
        raise S3Error("InvalidArgument", "This operation does not accept a version-id.",
                      ArgumentName="versionId", ArgumentValue=query["versionId"])


def parse_version_param(value: str | None) -> str | None:
    """A client's versionId -> the internal id (or "null"); 400 if malformed."""
    if value is None:
        return None
    if value == NULL:
        return NULL
    try:
        return vid.decode(value)
    except ValueError:
        raise S3Error("InvalidArgument", "Invalid version id specified",
                      ArgumentName="versionId", ArgumentValue=value) from None


def client_version_id(md: dict) -> str | None:
    """The version id clients see for a record (None: never versioned)."""
    if md.get(Obj.IS_NULL):
        return NULL
    internal = md.get(Obj.VERSION_ID)
    if internal:
        return vid.encode(internal)
    return None


def shown_version_id(md: dict, bucket: dict) -> str | None:
    """The ``x-amz-version-id`` a response about record ``md`` of ``bucket``
    carries.

    A record without an id of its own was written before versioning was
    configured: once the bucket has a versioning state it is the null
    version, and says so (as upstream and AWS do); a bucket that was never
    versioned reports no version at all.
    """
    shown = client_version_id(md)
    if shown is None and bucket.get(Bkt.VERSIONING) in ("Enabled", "Suspended"):
        return NULL
    return shown


def result_version_id(result: dict) -> str | None:
    """The client-facing id of the version a versioned write created."""
    if result.get("isNull"):
        return NULL
    internal = result.get("versionId")
    return vid.encode(internal) if internal else None
