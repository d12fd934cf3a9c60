# -*- test-case-name: tests.unit.test_metadata_service -*-
"""Domain errors of the metadata side.

The metadata service never raises S3 errors: it raises these
``DomainError``s (see cloudserver.errors: each carries the S3 ``code`` it
maps to), and the S3 front translates them in one place.

The RPC layer can ship the class name over the wire and rebuild the same
class with ``from_name``.
"""
from __future__ import annotations

from cloudserver.errors import DaemonUnavailable, DomainError


class MetadataError(DomainError):
    """Base class of the metadata service's errors."""


class NoSuchBucket(MetadataError):
    code = "NoSuchBucket"


class BucketAlreadyExists(MetadataError):
    code = "BucketAlreadyExists"


class BucketNotEmpty(MetadataError):
    code = "BucketNotEmpty"


class NoSuchKey(MetadataError):
    code = "NoSuchKey"


class NoSuchVersion(MetadataError):
    """The version id names no version of the object (or "null" and no null version)."""

    code = "NoSuchVersion"


class InvalidKey(MetadataError):
    """An object key the store cannot hold (contains NUL, or is not valid UTF-8).

    NUL is the separator between an object name and its version id in the
    key layout (see cloudserver.metadata.keys), so it can never be part of
    a name.  AWS answers such keys with 400 InvalidArgument.
    """

    code = "InvalidArgument"


class InvalidBucketName(MetadataError):
    code = "InvalidBucketName"


class InvalidArgument(MetadataError):
    """A listing parameter is malformed (e.g. an undecodable continuation token)."""

    code = "InvalidArgument"


class OperationAborted(MetadataError):
    """A conflicting create/delete of the same bucket is in flight."""

    code = "OperationAborted"


class NotImplementedOption(MetadataError):
    """Versioning options reached a service that does not handle them yet."""

    code = "NotImplemented"


class ObjectLocked(MetadataError):
    """A delete of a version that object lock protects (AWS: 403 AccessDenied);
    raised by metadata.object_lock, here so that the RPC client rebuilds it."""

    code = "AccessDenied"


class PreconditionFailed(MetadataError):
    """A conditional write's If-None-Match / If-Match does not hold against
    the object as the write is planned (metadata.conditions)."""

    code = "PreconditionFailed"
    condition = ""

    @property
    def s3_fields(self) -> dict[str, str]:
        return {"Condition": self.condition} if self.condition else {}


class IfNoneMatchFailed(PreconditionFailed):
    condition = "If-None-Match"


class IfMatchFailed(PreconditionFailed):
    condition = "If-Match"


class MetadataUnavailable(MetadataError):
    """The metadata database cannot be reached, or this process no longer
    holds its lease (metadata.postgres_kv): the client may retry."""

    code = "ServiceUnavailable"


_BY_NAME = {cls.__name__: cls for cls in (
    NoSuchBucket, BucketAlreadyExists, BucketNotEmpty, NoSuchKey, NoSuchVersion, InvalidKey,
    InvalidBucketName, InvalidArgument, OperationAborted, NotImplementedOption,
    ObjectLocked, DaemonUnavailable, MetadataUnavailable, PreconditionFailed,
    IfNoneMatchFailed, IfMatchFailed)}


def from_name(name: str, message: str | None = None) -> DomainError:
    """Rebuild an error from its class name (for the RPC client); unknown -> base class."""
    return _BY_NAME.get(name, MetadataError)(message=message)
