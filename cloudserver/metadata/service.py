# -*- test-case-name: tests.unit.test_metadata_service -*-
"""The metadata service: buckets, object metadata and listings over one IOrderedKV.

This is the non-versioned core (versioning options come with the
versioning layer): a put overwrites the master, a delete removes it.
Every method returns a Deferred; failures are cloudserver.metadata.errors
exceptions.  Reads are answered synchronously from the KV; writes are
acknowledged when the KV says the batch is durable.

Records are JSON objects stored compactly; each carries ``"mdVersion"``
(added when missing) so that a later format can be told apart.

Concurrency.  The KV applies batches in call order, so of two concurrent
puts to one key the later call wins.  Check-then-write races between calls
that are in flight at the same time are closed here, in-process:

* two creates of one bucket: the second gets BucketAlreadyExists;
* a create and a delete of one bucket overlapping: OperationAborted;
* a delete of a bucket while an object put into it is in flight:
  BucketNotEmpty (the put will land); a put into a bucket being deleted:
  NoSuchBucket.

This assumes one service instance owns the KV, which is how the dmd runs.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from twisted.internet import defer
from zope.interface import implementer

from cloudserver.metadata import keys
from cloudserver.metadata.errors import (
    BucketAlreadyExists,
    BucketNotEmpty,
    NoSuchBucket,
    NoSuchKey,
    NotImplementedOption,
    OperationAborted,
)
from cloudserver.metadata.interfaces import IMetadataService, IOrderedKV
from cloudserver.metadata.listing import list_range, load_record, make_filter

MD_VERSION = 1
# Options a non-versioned call may carry as long as they are unset.
_VERSIONING_OPTIONS = ("versioning", "versionId", "isNull", "repairMaster", "versionSpecific")


def encode_record(md: Mapping[str, Any]) -> bytes:
    """Compact JSON of a record, with ``mdVersion`` added when missing."""
    if not isinstance(md, Mapping):
        raise TypeError("metadata records are JSON objects (dicts)")
    if "mdVersion" not in md:
        md = {**md, "mdVersion": MD_VERSION}
    return json.dumps(md, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


decode_record = load_record


def _check_options(options: Mapping[str, Any] | None) -> None:
    if not options:
        return
    for name in _VERSIONING_OPTIONS:
        if options.get(name) not in (None, False):
            raise NotImplementedOption(f"versioning option {name!r} is not supported yet")


def _call(f: Callable[..., Any], *args: Any) -> defer.Deferred:
    """Run ``f``: its Deferred, or its value or exception as a fired Deferred.

    So validation errors (domain errors, bad records) reach the caller as
    failures, never as synchronous exceptions.
    """
    return defer.maybeDeferred(f, *args)


@implementer(IMetadataService)
class MetadataService:
    """IMetadataService over an IOrderedKV (MemoryKV or LevelDBKV)."""

    def __init__(self, kv: IOrderedKV):
        self.kv = kv
        self._creating: set[str] = set()
        self._deleting: set[str] = set()
        self._object_writes: Counter[str] = Counter()
        # Object values written but not yet durable: key -> [value, writers].
        # Lets put/delete report the record they replaced even when several
        # writes to one key are in the same group commit.
        self._staged: dict[bytes, list] = {}

    # -- buckets -----------------------------------------------------------

    def _bucket_exists(self, name: str) -> bool:
        return name not in self._deleting and self.kv.get(keys.bucket_key(name)) is not None

    def _load_bucket(self, name: str) -> dict[str, Any]:
        raw = self.kv.get(keys.bucket_key(name))
        if raw is None or name in self._deleting:
            raise NoSuchBucket(name)
        return decode_record(raw)

    def create_bucket(self, name: str, attrs: Mapping[str, Any]) -> defer.Deferred:
        return _call(self._create_bucket, name, attrs)

    def _create_bucket(self, name, attrs):
        key = keys.bucket_key(name)
        if name in self._deleting:
            raise OperationAborted(name)
        if name in self._creating or self.kv.get(key) is not None:
            raise BucketAlreadyExists(name)
        value = encode_record(attrs)
        self._creating.add(name)
        d = self.kv.write([(key, value)])
        return d.addBoth(self._release, self._creating.discard, name)

    def get_bucket(self, name: str) -> defer.Deferred:
        return _call(self._load_bucket, name)

    def update_bucket(self, name: str, attrs: Mapping[str, Any]) -> defer.Deferred:
        return _call(self._update_bucket, name, attrs)

    def _update_bucket(self, name, attrs):
        self._load_bucket(name)
        return self.kv.write([(keys.bucket_key(name), encode_record(attrs))])

    def delete_bucket(self, name: str) -> defer.Deferred:
        return _call(self._delete_bucket, name)

    def _delete_bucket(self, name):
        key = keys.bucket_key(name)
        if name in self._creating or name in self._deleting:
            raise OperationAborted(name)
        if self.kv.get(key) is None:
            raise NoSuchBucket(name)
        if self._object_writes[name] or self._has_objects(name):
            raise BucketNotEmpty(name)
        self._deleting.add(name)
        d = self.kv.write([], [key])
        return d.addBoth(self._release, self._deleting.discard, name)

    def _has_objects(self, name: str) -> bool:
        base = keys.object_base(name)
        for _ in self.kv.iterate(gte=base, lt=keys.successor(base)):
            return True
        return False

    def list_buckets(self) -> defer.Deferred:
        return _call(self._list_buckets)

    def _list_buckets(self):
        prefix = keys.BUCKET_PREFIX
        return [(keys.bucket_from_key(k), decode_record(v))
                for k, v in self.kv.iterate(gte=prefix, lt=keys.successor(prefix))
                if keys.bucket_from_key(k) not in self._deleting]

    # -- objects -----------------------------------------------------------

    def put_object(self, bucket: str, key: str, md: Mapping[str, Any],
                   options: Mapping[str, Any] | None = None) -> defer.Deferred:
        """Overwrite the master of ``key``; fires with the record it replaced ({}
        if none) once durable."""
        return _call(self._put_object, bucket, key, md, options)

    def _put_object(self, bucket, key, md, options):
        _check_options(options)
        okey = keys.object_key(bucket, key)
        if not self._bucket_exists(bucket):
            raise NoSuchBucket(bucket)
        value = encode_record(md)
        previous = self._current(okey)
        self._object_writes[bucket] += 1
        d = self._staged_write(okey, value, self.kv.write([(okey, value)]))
        d.addBoth(self._release, self._done_writing, bucket)
        return d.addCallback(lambda _: decode_record(previous) if previous else {})

    def get_object(self, bucket: str, key: str,
                   options: Mapping[str, Any] | None = None) -> defer.Deferred:
        return _call(self._get_object, bucket, key, options)

    def _get_object(self, bucket, key, options):
        _check_options(options)
        raw = self.kv.get(keys.object_key(bucket, key))
        if raw is None:
            self._missing(bucket, key)
        return decode_record(raw)

    def _missing(self, bucket: str, key: str) -> None:
        """Raise the right error for an absent object: NoSuchBucket first."""
        if not self._bucket_exists(bucket):
            raise NoSuchBucket(bucket)
        raise NoSuchKey(key)

    def delete_object(self, bucket: str, key: str,
                      options: Mapping[str, Any] | None = None) -> defer.Deferred:
        """Delete the master of ``key``; fires with the deleted record once durable."""
        return _call(self._delete_object, bucket, key, options)

    def _delete_object(self, bucket, key, options):
        _check_options(options)
        okey = keys.object_key(bucket, key)
        previous = self._current(okey)
        if previous is None:
            self._missing(bucket, key)
        d = self._staged_write(okey, None, self.kv.write([], [okey]))
        return d.addCallback(lambda _: decode_record(previous))

    def get_bucket_and_object(self, bucket: str, key: str) -> defer.Deferred:
        """{"bucket": attrs, "obj": md or None}: the two reads most requests start with.

        NoSuchBucket if the bucket is absent (after Arsenal's getBucketAndObject).
        """
        return _call(self._get_bucket_and_object, bucket, key)

    def _get_bucket_and_object(self, bucket, key):
        attrs = self._load_bucket(bucket)
        raw = self.kv.get(keys.object_key(bucket, key))
        return {"bucket": attrs, "obj": decode_record(raw) if raw is not None else None}

    # -- listings ----------------------------------------------------------

    def list_objects(self, bucket: str, params: Mapping[str, Any]) -> defer.Deferred:
        """Run the listing named by ``params["listingType"]`` over ``bucket``.

        params: listingType ("Delimiter" | "DelimiterMaster"), prefix,
        delimiter, marker, maxKeys, v2, startAfter, continuationToken.
        See cloudserver.metadata.listing for the result shape.
        """
        return _call(self._list_objects, bucket, params)

    def _list_objects(self, bucket, params):
        if not self._bucket_exists(bucket):
            raise NoSuchBucket(bucket)
        flt = make_filter(params or {})
        return list_range(self.kv, keys.object_base(bucket), flt)

    # -- helpers -----------------------------------------------------------

    def _current(self, okey: bytes) -> bytes | None:
        """The newest value of an object key, counting writes still in flight."""
        staged = self._staged.get(okey)
        return staged[0] if staged is not None else self.kv.get(okey)

    def _staged_write(self, okey: bytes, value: bytes | None,
                      d: defer.Deferred) -> defer.Deferred:
        entry = self._staged.setdefault(okey, [None, 0])
        entry[0] = value
        entry[1] += 1

        def unstage(result):
            entry[1] -= 1
            if not entry[1] and self._staged.get(okey) is entry:
                del self._staged[okey]
            return result

        return d.addBoth(unstage)

    def _done_writing(self, bucket: str) -> None:
        self._object_writes[bucket] -= 1
        if not self._object_writes[bucket]:
            del self._object_writes[bucket]

    @staticmethod
    def _release(result: Any, release: Callable[[str], None], name: str) -> Any:
        release(name)
        return result

    def close(self) -> defer.Deferred:
        """Close the underlying KV (waits for in-flight batches)."""
        return defer.maybeDeferred(self.kv.close)
