# -*- test-case-name: tests.unit.test_metadata_service -*-
"""The metadata service: buckets, object metadata and listings over one IOrderedKV.

Objects: without options a put overwrites the master and a delete removes
it; with versioning options (see cloudserver.metadata.versioning) a call
is planned against the object's current state and applied as one atomic
batch of master and version keys.  Every method returns a Deferred;
failures are cloudserver.metadata.errors exceptions.  Reads are answered
synchronously from the KV; writes are acknowledged when the KV says the
batch is durable.

Records are JSON objects stored compactly; each carries ``"mdVersion"``
(added when missing) so that a later format can be told apart.

Concurrency.  The KV applies batches in call order, so of two concurrent
puts to one key the later call wins.  Check-then-write races between calls
that are in flight at the same time are closed here, in-process:

* two creates of one bucket: the second gets BucketAlreadyExists;
* a create and a delete of one bucket overlapping: OperationAborted;
* a delete of a bucket while an object put into it is in flight:
  BucketNotEmpty (the put will land); a put into a bucket being deleted:
  NoSuchBucket;
* writes to one object: each is planned against the values of the writes
  before it that are still in flight (the ``_staged`` overlay), so a
  read-modify-write (versioned put, version delete + master repair) acts
  as if the calls ran one after the other in call order.  Plain reads see
  only what the KV shows (durable data);
* conditional puts (options ifNoneMatch / ifMatch) are checked against
  that same state (cloudserver.metadata.conditions).

This assumes one service instance owns the KV, which is how the dmd runs.

Usage.  Every write that changes what a bucket holds carries the bucket's
new usage counters in its batch (``_count``; cloudserver.metadata.usage),
planned with the records against the same in-flight state.
"""
from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from cloudserver.metadata import (bucket_transfer, conditions, inline, keys, object_lock,
                                  transfer, usage, versioning)
from cloudserver.metadata.errors import (
    BucketAlreadyExists,
    BucketNotEmpty,
    InvalidArgument,
    MetadataError,
    NoSuchBucket,
    NoSuchKey,
    NoSuchVersion,
    OperationAborted,
)
from cloudserver.metadata.interfaces import IMetadataService, IOrderedKV
from cloudserver.metadata.intents import IntentRule
from cloudserver.metadata.listing import list_range, make_filter
from cloudserver.metadata.records import decode_record, encode_record
from cloudserver.metadata.uploads import UploadStore
from cloudserver.metadata.write_hooks import ObjectWrite, WriteHooks
from cloudserver.metadata.version_id import (
    DEFAULT_REPLICATION_GROUP_ID,
    NULL_VERSION_ID,
    VersionIdGenerator,
    inf_version_id,
)

#: Inline data a write adds and frees: ([(data key, bytes)], [data key]).
DataChanges = tuple
_log = Logger()


def _call(f: Callable[..., Any], *args: Any) -> defer.Deferred:
    """Run ``f``: its Deferred, or its value or exception as a fired Deferred.

    So validation errors (domain errors, bad records) reach the caller as
    failures, never as synchronous exceptions.
    """
    return defer.maybeDeferred(f, *args)


@implementer(IMetadataService)
class MetadataService:
    """IMetadataService over an IOrderedKV (MemoryKV or LevelDBKV)."""

    def __init__(self, kv: IOrderedKV,
                 replication_group_id: str = DEFAULT_REPLICATION_GROUP_ID,
                 clock: Callable[[], float] = time.time):
        """``replication_group_id``: config ``replicationGroupId``, part of every
        version id; ``clock``: wall time in seconds, for version ids."""
        self.kv = kv
        self._clock = clock
        self._version_ids = VersionIdGenerator(replication_group_id, clock)
        self._inf_version_id = inf_version_id(replication_group_id)
        # Staged version keys of each object (master key -> keys), for repairs.
        self._staged_versions: dict[bytes, set[bytes]] = {}
        self._creating: set[str] = set()
        self._deleting: set[str] = set()
        self._object_writes: Counter[str] = Counter()
        # Object values written but not yet durable: key -> [value, writers].
        # Lets put/delete report the record they replaced even when several
        # writes to one key are in the same group commit.
        self._staged: dict[bytes, list] = {}
        #: which data keys have intents (cloudserver.metadata.intents); None:
        #: no local file store here (memory backend), nothing to track
        self.intents: IntentRule | None = None
        #: the dmd's check of data against records (cloudserver.check.OnlineCheck)
        self.data_check: Any = None
        self.uploads = UploadStore(self.kv, bucket_exists=self._bucket_exists,
                                   plan_object_put=self._plan_object_put, commit=self._commit,
                                   count=self._count, intent_changes=self.intent_changes)
        #: work recorded in object batches (replication, notifications)
        self.write_hooks = WriteHooks()
        #: per-bucket usage (metadata.usage): running totals, stored in each batch
        self.usage = usage.UsageBook(self.kv, self.uploads.parts_by_upload)

    # -- multipart uploads: the UploadStore's, named here as IMetadataService
    # (and so the :9990 method table) has them ---------------------------------

    def create_upload(self, *args, **kwargs) -> defer.Deferred:
        return self.uploads.create_upload(*args, **kwargs)

    def get_upload(self, *args, **kwargs) -> defer.Deferred:
        return self.uploads.get_upload(*args, **kwargs)

    def list_uploads(self, *args, **kwargs) -> defer.Deferred:
        return self.uploads.list_uploads(*args, **kwargs)

    def put_part(self, *args, **kwargs) -> defer.Deferred:
        return self.uploads.put_part(*args, **kwargs)

    def list_parts(self, *args, **kwargs) -> defer.Deferred:
        return self.uploads.list_parts(*args, **kwargs)

    def complete_upload(self, *args, **kwargs) -> defer.Deferred:
        return self.uploads.complete_upload(*args, **kwargs)

    def abort_upload(self, *args, **kwargs) -> defer.Deferred:
        return self.uploads.abort_upload(*args, **kwargs)

    def delete_bucket_uploads(self, *args, **kwargs) -> defer.Deferred:
        return self.uploads.delete_bucket_uploads(*args, **kwargs)

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
        d = self.kv.write([(key, value), self.usage.created(name)])
        d.addErrback(self._not_created, name)
        return d.addBoth(self._release, self._creating.discard, name)

    def _not_created(self, failure: Any, name: str) -> Any:
        self.usage.dropped(name)
        return failure

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
        d = self.kv.write([], [key, usage.usage_key(name)])
        d.addCallback(lambda _: self.usage.dropped(name))
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
        """Store the metadata of ``key``; fires once durable.

        Without versioning options: overwrite the master, fire with the
        record it replaced ({} if none).  With ``{"versioning": True}``,
        ``{"versionId": ""}`` or ``{"versionId": vid}`` (see
        cloudserver.metadata.versioning): fire with ``{"versionId",
        "isNull", "isDeleteMarker", "previous", "deleted"}``.
        """
        return _call(self._put_object, bucket, key, md, options)

    def _put_object(self, bucket, key, md, options):
        okey, changes, result, data, delta = self._plan_object_put(bucket, key, md, options)
        return self._commit(bucket, okey, changes, result, data=data, delta=delta,
                            hook=(key, "put", options))

    def _plan_object_put(self, bucket: str, key: str, md: Mapping[str, Any],
                         options: Mapping[str, Any] | None
                         ) -> tuple[bytes, dict[bytes, bytes | None], Any, DataChanges, Any]:
        """(master key, key -> value or None, result, inline data changes,
        usage delta) of a put, not yet written.

        For callers that add their own deletes to the same batch (complete
        multipart upload): pass them to ``_commit`` in the same reactor turn.
        """
        opts = versioning.parse_options(options)
        okey = keys.object_key(bucket, key)
        if not self._bucket_exists(bucket):
            raise NoSuchBucket(bucket)
        if not isinstance(md, Mapping):
            raise TypeError("metadata records are JSON objects (dicts)")
        if conditions.requested(options):  # atomic: in-flight writes are in the view
            conditions.check(options, versioning.effective_master(self._view(bucket, key)), key)
        md, data_puts = inline.take_data(md)
        if self.write_hooks.marking:
            md = self.write_hooks.mark(bucket, key, md, options)
        if opts.plain:
            value = encode_record(md)
            previous = self._current(okey)
            result = decode_record(previous) if previous else {}
            return okey, {okey: value}, result, self._data_changes(
                data_puts, md, result), usage.object_delta(
                okey, {okey: md}, self._before(okey, result or None))
        view = self._view(bucket, key)
        plan = versioning.plan_put(view, key, md, opts,
                                   self._version_ids.next, self._inf_version_id)
        records = self._records(okey, plan)
        return okey, self._encoded(records), plan.result, self._data_changes(
            data_puts, md, plan.result), usage.object_delta(okey, records, view.record)

    def _data_changes(self, data_puts: list, md: Any, result: Any) -> DataChanges:
        """The inline bytes and data intents a write of ``md`` with this
        ``result`` puts and deletes in its batch."""
        freed = versioning.freed_records(result)
        deletes = inline.freed_keys(freed, md)
        if self.intents is None:
            return data_puts, deletes
        puts, cleared = self.intents.changes((md,), freed)
        return data_puts + puts, deletes + cleared

    def intent_changes(self, new: Any, freed: Any) -> tuple[list, list]:
        """(puts, deletes) of the data intents of a batch (intents.IntentRule)."""
        if self.intents is None:
            return [], []
        return self.intents.changes(new, freed)

    def check_data(self, options: Mapping[str, Any] | None = None) -> defer.Deferred:
        """The dmd's data check (bin/cloudserver-check): orphan files and
        records whose data is missing; with ``{"repair": true}`` orphans
        past the grace are removed.  InvalidArgument where this process has
        no file store."""
        if self.data_check is None:
            return defer.fail(InvalidArgument("no local data store to check here"))
        return _call(self.data_check, options or {})

    def get_object(self, bucket: str, key: str,
                   options: Mapping[str, Any] | None = None) -> defer.Deferred:
        """The master (a placeholder resolved to the latest version) or, with
        ``{"versionId": vid | "null"}``, that version.  NoSuchKey / NoSuchVersion."""
        return _call(self._get_object, bucket, key, options)

    def _get_object(self, bucket, key, options):
        opts = versioning.parse_options(options)
        view = self._view(bucket, key, staged=False)
        try:
            return inline.attach(versioning.plan_get(view, key, opts), self.kv.get)
        except (NoSuchKey, NoSuchVersion):
            if not self._bucket_exists(bucket):
                raise NoSuchBucket(bucket) from None
            raise
        finally:
            if versioning.is_phd(view.master()):
                self._repair(bucket, key)

    def _missing(self, bucket: str, key: str) -> None:
        """Raise the right error for an absent object: NoSuchBucket first."""
        if not self._bucket_exists(bucket):
            raise NoSuchBucket(bucket)
        raise NoSuchKey(key)

    def delete_object(self, bucket: str, key: str,
                      options: Mapping[str, Any] | None = None) -> defer.Deferred:
        """Delete metadata of ``key``; fires once durable.

        Without a versionId: delete the master, fire with the deleted record
        (NoSuchKey).  With ``{"versionId": vid | "null"}``: delete that
        version, and if it was the latest make the next one the master (or
        remove the master) in the same batch; fire with ``{"versionId",
        "isNull", "isDeleteMarker", "previous", "deleted": [record]}``
        (NoSuchVersion).  Delete markers are created with put_object
        (``{"versioning": True}`` here is refused with InvalidArgument).
        """
        return _call(self._delete_object, bucket, key, options)

    def _delete_object(self, bucket, key, options):
        opts = versioning.parse_options(options)
        okey = keys.object_key(bucket, key)
        if opts.versioning and not opts.version_id:
            # Upstream would delete the master and strand its versions.
            raise InvalidArgument("delete markers are written with put_object")
        if not opts.version_id:
            previous = self._current(okey)
            if previous is None:
                self._missing(bucket, key)
            result = decode_record(previous)
            return self._commit(bucket, okey, {okey: None}, result,
                                data=self._data_changes([], None, result),
                                delta=usage.object_delta(okey, {okey: None},
                                                         self._before(okey, result)),
                                hook=(key, "delete", options))
        view = self._view(bucket, key)
        try:
            plan = versioning.plan_delete(view, key, opts)
        except (NoSuchKey, NoSuchVersion):
            if not self._bucket_exists(bucket):
                raise NoSuchBucket(bucket) from None
            raise
        now = self._clock()
        for record in versioning.freed_records(plan.result):
            object_lock.check_removable(record, now, opts.bypass_governance)
        records = self._records(okey, plan)
        return self._commit(bucket, okey, self._encoded(records), plan.result,
                            data=self._data_changes([], None, plan.result),
                            delta=usage.object_delta(okey, records, view.record),
                            hook=(key, "delete", options))

    def get_bucket_and_object(self, bucket: str, key: str,
                              options: Mapping[str, Any] | None = None) -> defer.Deferred:
        """{"bucket": attrs, "obj": md or None}: the two reads most requests start with.

        NoSuchBucket if the bucket is absent (after Arsenal's getBucketAndObject);
        ``options`` as for get_object, a missing object or version is None.
        ``{"inlineData": False}`` in ``options`` leaves an inline object's
        bytes out of its pieces (HEAD reads the record only).
        """
        return _call(self._get_bucket_and_object, bucket, key, options)

    def _get_bucket_and_object(self, bucket, key, options=None):
        attrs = self._load_bucket(bucket)
        opts = versioning.parse_options(options)
        view = self._view(bucket, key, staged=False)
        try:
            obj = versioning.plan_get(view, key, opts)
        except (NoSuchKey, NoSuchVersion):
            obj = None
        else:
            if options is None or options.get("inlineData") is not False:
                obj = inline.attach(obj, self.kv.get)
        finally:
            # As get_object: the S3 read path (GET, HEAD) now reads through here.
            if versioning.is_phd(view.master()):
                self._repair(bucket, key)
        return {"bucket": attrs, "obj": obj}

    def _view(self, bucket: str, key: str, staged: bool = True) -> versioning.KVObjectView:
        """The object as writers (staged: in-flight writes included) or readers see it."""
        okey = keys.object_key(bucket, key)
        if not staged:
            return versioning.KVObjectView(self.kv, okey, decode_record)
        return versioning.KVObjectView(self.kv, okey, decode_record, self._staged,
                                       self._staged_versions)

    @staticmethod
    def _records(okey: bytes, plan: versioning.Plan) -> dict[bytes, Any]:
        """A plan as key -> record (None = delete)."""
        records: dict[bytes, Any] = {
            keys.join_version(okey, vid): record for vid, record in plan.versions.items()}
        if plan.master is not versioning.KEEP:
            records[okey] = plan.master
        return records

    @staticmethod
    def _encoded(records: Mapping[bytes, Any]) -> dict[bytes, bytes | None]:
        """key -> encoded value (None = delete); encoding errors raise here,
        before anything is staged or written."""
        return {k: None if r is None else encode_record(r) for k, r in records.items()}

    def _commit(self, bucket: str, okey: bytes, changes: Mapping[bytes, bytes | None],
                result: Any, extra_deletes: Any = (),
                data: DataChanges = ((), ()), delta: Any = None,
                hook: tuple | None = None) -> defer.Deferred:
        """Write ``changes`` of object ``okey`` (plus unstaged ``extra_deletes``
        and inline ``data`` puts and deletes) as one batch, with the bucket's
        usage moved by ``delta``; fires with ``result`` once durable.
        ``hook``: (object name, kind, options) for the write hooks, whose
        entries join the batch (metadata.write_hooks)."""
        puts = [(k, v) for k, v in changes.items() if v is not None]
        if hook is not None and self.write_hooks:
            name, kind, options = hook
            puts.extend(self.write_hooks.puts(ObjectWrite(
                bucket, name, okey, changes, result, kind, options or {})))
        puts.extend(data[0])
        deletes = [k for k, v in changes.items() if v is None]
        deletes.extend(extra_deletes)
        deletes.extend(data[1])
        self._object_writes[bucket] += 1
        d = self._stage(okey, changes, self._count(bucket, delta, puts, deletes))
        d.addBoth(self._release, self._done_writing, bucket)
        return d.addCallback(lambda _: result)

    def _count(self, bucket: str, delta: Any, puts: list, deletes: Any) -> defer.Deferred:
        """Write a batch that moves ``bucket``'s usage by ``delta`` (None: no
        change), the counter record in the same batch (metadata.usage)."""
        return self.usage.write(self.kv, bucket, delta, puts, deletes, self._bucket_exists)

    def get_usage(self, bucket: str | None = None) -> defer.Deferred:
        """{"buckets": [{"name", FIELDS...}], "total": {FIELDS..., "buckets"}}
        of one bucket (NoSuchBucket) or, with None, of every bucket."""
        return _call(self._get_usage, bucket)

    def _get_usage(self, bucket):
        if bucket is not None and not self._bucket_exists(bucket):
            raise NoSuchBucket(bucket)
        names = [bucket] if bucket is not None else [n for n, _ in self._list_buckets()]
        return self.usage.report(names)

    def _repair(self, bucket: str, key: str) -> None:
        """Replace a placeholder master found by a read, in the background
        (unless a write to the object, which replaces it anyway, is in flight)."""
        okey = keys.object_key(bucket, key)
        if okey in self._staged:
            return
        view = self._view(bucket, key)
        plan = versioning.plan_repair(view)
        if plan is None:
            return
        records = self._records(okey, plan)
        d = self._commit(bucket, okey, self._encoded(records), None,
                         delta=usage.object_delta(okey, records, view.record))
        d.addErrback(lambda f: _log.failure("repairing the master of {key!r}", f, key=key))

    # -- export / import of a bucket's records (metadata.bucket_transfer) -----

    def export_bucket(self, bucket: str, cursor: str | None = None,
                      limit: int = transfer.DEFAULT_PAGE) -> defer.Deferred:
        """One page of the bucket's records as typed items; {"items", "cursor"}
        (cursor None: the last page).  The first page starts with the bucket."""
        return _call(bucket_transfer.export_bucket, self, bucket, cursor, limit)

    def import_bucket(self, name: str, record: Mapping[str, Any],
                      replace: bool = False) -> defer.Deferred:
        """Create bucket ``name`` from an exported bucket record (its name
        replaced); BucketAlreadyExists unless ``replace``, which overwrites the
        existing bucket's record and keeps its objects."""
        return _call(bucket_transfer.import_bucket, self, name, record, replace)

    def import_records(self, bucket: str, items: list) -> defer.Deferred:
        """Write exported object, inline, upload and part items into ``bucket``
        as one batch, its usage counted in it; every item is checked first."""
        return _call(bucket_transfer.import_records, self, bucket, items)

    # -- listings ----------------------------------------------------------

    def list_objects(self, bucket: str, params: Mapping[str, Any]) -> defer.Deferred:
        """Run the listing named by ``params["listingType"]`` over ``bucket``.

        params: listingType ("Delimiter" | "DelimiterMaster" |
        "DelimiterVersions"), prefix, delimiter, marker, maxKeys, v2,
        startAfter, continuationToken, keyMarker, versionIdMarker, and
        valueFields (a list: each entry's value keeps only these fields).
        See cloudserver.metadata.listing for the result shape.
        """
        return _call(self._list_objects, bucket, params)

    def _list_objects(self, bucket, params):
        if not self._bucket_exists(bucket):
            raise NoSuchBucket(bucket)
        params = params or {}
        if (params.get("listingType") == "DelimiterVersions"
                and params.get("versionIdMarker") == NULL_VERSION_ID and params.get("keyMarker")):
            params = {**params, "versionIdMarker": self._null_marker(bucket, params["keyMarker"])}
        flt = make_filter(params)
        return list_range(self.kv, keys.object_base(bucket), flt)

    def _null_marker(self, bucket: str, key: Any) -> str | None:
        """Where the null version of ``key`` lists: its internal id, or "null"
        (right after the master) for an id-less master.  When ``key`` has no
        null version, None: the page resumes after every version of ``key``
        (resuming right after the master would list its versions again)."""
        try:
            vid = versioning.resolve_null(self._view(bucket, key, staged=False), key)
        except NoSuchVersion:
            return None
        except (MetadataError, TypeError):
            return NULL_VERSION_ID
        return vid or NULL_VERSION_ID

    # -- helpers -----------------------------------------------------------

    def _before(self, okey: bytes, master: Any = KeyError) -> Callable[[bytes], Any]:
        """What each key of an object holds before a write (usage.object_delta),
        its master already decoded by the caller (if it says)."""
        def before(key: bytes) -> Any:
            if key == okey and master is not KeyError:
                return master
            raw = self._current(key)
            return None if raw is None else decode_record(raw)
        return before

    def _current(self, okey: bytes) -> bytes | None:
        """The newest value of an object key, counting writes still in flight."""
        staged = self._staged.get(okey)
        return staged[0] if staged is not None else self.kv.get(okey)

    def _staged_write(self, okey: bytes, value: bytes | None,
                      d: defer.Deferred) -> defer.Deferred:
        return self._stage(okey, {okey: value}, d)

    def _stage(self, okey: bytes, changes: Mapping[bytes, bytes | None],
               d: defer.Deferred) -> defer.Deferred:
        """Overlay ``changes`` (key -> value, None = deleted) of object ``okey``
        until ``d`` (their batch) has fired."""
        entries = []
        index = None
        for key, value in changes.items():
            entry = self._staged.setdefault(key, [None, 0])
            entry[0] = value
            entry[1] += 1
            entries.append((key, entry))
            if key != okey:
                index = self._staged_versions.setdefault(okey, set())
                index.add(key)

        def unstage(result):
            for key, entry in entries:
                entry[1] -= 1
                if not entry[1] and self._staged.get(key) is entry:
                    del self._staged[key]
                    if index is not None:
                        index.discard(key)
            if index is not None and not index and self._staged_versions.get(okey) is index:
                del self._staged_versions[okey]
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
