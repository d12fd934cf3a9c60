# -*- test-case-name: tests.unit.test_metadata_keys -*-
"""The key layout: how buckets, objects and versions share one ordered KV.

Everything lives in a single ordered key space (one LevelDB), so that a
bucket's objects are one contiguous, byte-ordered range that listings can
walk and seek in, and so that one synced batch can touch any mix of
records atomically::

    b"B\\x00" + bucket                                  -> bucket attributes (JSON)
    b"O\\x00" + bucket + b"\\x00" + name                 -> master version (JSON)
    b"O\\x00" + bucket + b"\\x00" + name + b"\\x00" + vid -> one version (JSON)
    b"D\\x00" + data id                               -> an inline object's bytes
    b"L\\x00cursor"                                   -> the lifecycle walk's position
    b"C\\x00" + bucket                               -> the bucket's usage counters (usage.py)
    b"I\\x00" + data key                             -> a data intent (intents.py)
    b"R\\x00" + due + seq                            -> the replication queue (queue.py)
    b"N\\x01" + dest + b"\\x00" + due + seq            -> a notification destination's queue
                                                      (queue.py, notifications/service.py)

``bucket`` and ``name`` are UTF-8.  Byte order of UTF-8 equals code point
order, which is the order S3 lists keys in.

Versions follow the CloudServer docs ("Implementation of Bucket Versioning
in Metadata"): the master version is stored under the object name itself,
each version under ``name + NUL + version_id``.  NUL is the smallest byte,
so an object's versions sort right after its master and before any longer
name (``foo``, ``foo\\0v2``, ``foo\\0v1``, ``foo/bar``...), which lets a
listing skip all versions of ``name`` by seeking to ``name + b"\\x01"``.

That only works if no bucket or object name contains NUL.  Bucket names
cannot (DNS-style names).  S3 object keys are "any UTF-8", but a NUL key
cannot be rendered in the XML 1.0 of a listing anyway, so the store refuses
them with InvalidKey (S3 InvalidArgument) rather than escaping them.

Relative keys: listings work on a bucket's range with the
``object_base(bucket)`` prefix stripped, i.e. on ``name`` or
``name + NUL + vid``; ``split_version`` takes such a relative key apart.
"""
from __future__ import annotations

from cloudserver.metadata.errors import InvalidBucketName, InvalidKey

BUCKET_PREFIX = b"B\x00"
OBJECT_PREFIX = b"O\x00"
SEP = b"\x00"
VERSION_SEP = b"\x00"
# Seeking to ``name + AFTER_VERSIONS`` jumps over the master and all versions of ``name``.
AFTER_VERSIONS = b"\x01"


def encode_bucket(bucket: str) -> bytes:
    """UTF-8 of a bucket name; InvalidBucketName if empty, non-str or holding NUL."""
    if not isinstance(bucket, str) or not bucket or "\x00" in bucket:
        raise InvalidBucketName(f"invalid bucket name {bucket!r}")
    try:
        return bucket.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidBucketName(f"invalid bucket name {bucket!r}") from None


def encode_name(name: str) -> bytes:
    """UTF-8 of an object name; InvalidKey if empty, non-str, holding NUL or unencodable."""
    if not isinstance(name, str) or not name or "\x00" in name:
        raise InvalidKey(f"invalid object key {name!r}")
    try:
        return name.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        raise InvalidKey(f"object key is not valid UTF-8: {name!r}") from None


def bucket_key(bucket: str) -> bytes:
    return BUCKET_PREFIX + encode_bucket(bucket)


def bucket_from_key(key: bytes) -> str:
    """Inverse of bucket_key."""
    if not key.startswith(BUCKET_PREFIX):
        raise ValueError(f"not a bucket key: {key!r}")
    return key[len(BUCKET_PREFIX):].decode("utf-8")


def object_base(bucket: str) -> bytes:
    """The prefix shared by every object and version key of ``bucket``."""
    return OBJECT_PREFIX + encode_bucket(bucket) + SEP


def object_key(bucket: str, name: str) -> bytes:
    """Key of the master version of ``name``."""
    return object_base(bucket) + encode_name(name)


def version_key(bucket: str, name: str, version_id: str) -> bytes:
    """Key of one version of ``name`` (see cloudserver.metadata.versioning)."""
    return join_version(object_key(bucket, name), version_id)


def join_version(master_key: bytes, version_id: str) -> bytes:
    """Key of version ``version_id`` of the object whose master key is ``master_key``."""
    if not isinstance(version_id, str) or not version_id or "\x00" in version_id:
        raise InvalidKey(f"invalid version id {version_id!r}")
    try:
        return master_key + VERSION_SEP + version_id.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidKey(f"invalid version id {version_id!r}") from None


def versions_range(master_key: bytes) -> tuple[bytes, bytes]:
    """[gte, lt) bounds of every version key of an object, newest id first."""
    return master_key + VERSION_SEP, master_key + AFTER_VERSIONS


def split_version(relative: bytes) -> tuple[bytes, bytes | None]:
    """Split a bucket-relative key into (name, version id or None for a master)."""
    name, sep, vid = relative.partition(VERSION_SEP)
    return (name, vid) if sep else (name, None)


def successor(prefix: bytes) -> bytes | None:
    """The smallest key greater than every key starting with ``prefix``.

    None when there is none (empty prefix or all 0xff bytes): the range is
    unbounded above.  Used as the exclusive upper bound of a prefix range
    and as the seek target that skips a whole common prefix.
    """
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return None
    return stripped[:-1] + bytes((stripped[-1] + 1,))


#: Small objects' bytes (see cloudserver.metadata.inline), outside every
#: bucket's range so that listings never read them.
DATA_PREFIX = b"D\x00"

#: Where the lifecycle executor keeps the position of its walk (one JSON
#: value; cloudserver.lifecycle.executor), so a restart continues it.
LIFECYCLE_CURSOR = b"L\x00cursor"


def data_key(data_id: str) -> bytes:
    """Key of the bytes of one inline piece."""
    if not isinstance(data_id, str) or not data_id or "\x00" in data_id:
        raise InvalidKey(f"invalid inline data id {data_id!r}")
    return DATA_PREFIX + data_id.encode("ascii")
