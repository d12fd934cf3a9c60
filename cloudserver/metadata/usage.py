# -*- test-case-name: tests.unit.test_metadata_usage -*-
"""Per-bucket usage (objects, versions, bytes, uploads), kept in step with
the records by the metadata service.

Scanning a bucket to answer "how much does it hold" is unbounded work, so
the service keeps one running total per bucket in memory and writes it, as
a counter record, in the very batch of every write that changes it::

    b"C\\x00" + bucket -> {"mdVersion", "objects", "objectBytes", "versions",
                          "bytes", "deleteMarkers", "uploads", "uploadBytes"}

A batch holds the records and the total that counts them, so a crash
never leaves one without the other.  Totals are planned, like the records,
against the state that includes the writes still in flight, in call
order, on the reactor thread: there is no read-modify-write of the counter
record, so no update is lost however many keys of one bucket are written
at once.  Batches apply in call order, so the last durable counter record
is the total of every durable write.

What is counted (``FIELDS``):

* ``versions`` / ``bytes``: every stored version that is not a delete
  marker, current or noncurrent (the data the bucket holds);
* ``objects`` / ``objectBytes``: current objects only (the keys a plain
  listing shows);
* ``deleteMarkers``;
* ``uploads`` / ``uploadBytes``: multipart uploads in progress and the
  bytes of their parts.

A master record copies its latest version, which is also stored under its
version key: it counts as a version only when that key does not exist (a
null version or an object written before versioning lives in the master
only).  A placeholder master (``isPHD``, only ever imported) counts for
nothing until it is repaired.

A bucket from before counters existed has no record: its total is
computed once, by a scan, the first time it is needed (a write, or
get_usage) and then stored.  Each counter record carries ``mdVersion``.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from twisted.logger import Logger

from cloudserver.metadata import keys
from cloudserver.metadata.records import decode_record
from cloudserver.metadata.schema import MD_VERSION, VERSION_FIELD, UsageRecord

USAGE_PREFIX = b"C\x00"
#: the counters, in the order of a Totals list (schema.UsageRecord declares them)
FIELDS = (UsageRecord.OBJECTS, UsageRecord.OBJECT_BYTES, UsageRecord.VERSIONS,
          UsageRecord.BYTES, UsageRecord.DELETE_MARKERS, UsageRecord.UPLOADS,
          UsageRecord.UPLOAD_BYTES)
OBJECTS, OBJECT_BYTES, VERSIONS, BYTES, MARKERS, UPLOADS, UPLOAD_BYTES = range(len(FIELDS))
Record = Mapping[str, Any]
_log = Logger()
Totals = list[int]


def zero() -> Totals:
    return [0] * len(FIELDS)


def usage_key(bucket: str) -> bytes:
    return USAGE_PREFIX + keys.encode_bucket(bucket)


#: The counter record, formatted without json.dumps: it is written with
#: every write, and %-formatting seven ints costs a tenth of it.
_FORMAT = ("{" + ",".join(f'"{f}":%d' for f in FIELDS)
           + f',"{VERSION_FIELD}":{MD_VERSION}}}').encode("ascii")


def encode(totals: Totals) -> bytes:
    return _FORMAT % tuple(totals)


def decode(raw: bytes) -> Totals:
    """A stored counter record as totals; ValueError if it is not one."""
    record = decode_record(raw)
    if not isinstance(record, dict) or not all(
            isinstance(record.get(f), int) for f in FIELDS):
        raise ValueError(f"not a usage record: {raw[:100]!r}")
    return [record[f] for f in FIELDS]


def as_dict(totals: Totals) -> dict[str, int]:
    return dict(zip(FIELDS, totals))


def _size(record: Record) -> int:
    size = record.get("size")
    return size if isinstance(size, int) and not isinstance(size, bool) else 0


# -- what one record counts for -------------------------------------------------

def add_version(delta: Totals, record: Record | None, sign: int) -> None:
    """A record under a version key."""
    if record is None:
        return
    if record.get("isDeleteMarker"):
        delta[MARKERS] += sign
    else:
        delta[VERSIONS] += sign
        delta[BYTES] += sign * _size(record)


def add_master(delta: Totals, record: Record | None, stored: bool, sign: int) -> None:
    """A master record; ``stored``: its version also has its own version key."""
    if record is None or record.get("isPHD"):
        return
    if not record.get("isDeleteMarker"):
        delta[OBJECTS] += sign
        delta[OBJECT_BYTES] += sign * _size(record)
    if not stored:
        add_version(delta, record, sign)


def add_part(delta: Totals, record: Record | None, sign: int) -> None:
    if record is not None:
        delta[UPLOAD_BYTES] += sign * _size(record)


def object_delta(okey: bytes, records: Mapping[bytes, Record | None],
                 before: Callable[[bytes], Record | None]) -> Totals:
    """The change a write of one object makes.

    ``records``: the keys the write sets (master key ``okey`` and version
    keys) to their new decoded record, None for a delete; ``before(key)``:
    the record a key holds before the write (writes in flight included).
    """
    delta = zero()
    for key, new in records.items():
        if key != okey:
            add_version(delta, before(key), -1)
            add_version(delta, new, 1)
    old_master = before(okey)
    new_master = records[okey] if okey in records else old_master

    def version_key(master: Record | None) -> bytes | None:
        vid = master.get("versionId") if master is not None else None
        return keys.join_version(okey, vid) if isinstance(vid, str) and vid else None

    old_vk, new_vk = version_key(old_master), version_key(new_master)
    if okey not in records and old_vk not in records:
        return delta  # the master and whether it is stored apart are unchanged
    old_stored = old_vk is not None and before(old_vk) is not None
    if new_vk is None:
        new_stored = False
    elif new_vk in records:
        new_stored = records[new_vk] is not None
    else:
        new_stored = before(new_vk) is not None
    add_master(delta, old_master, old_stored, -1)
    add_master(delta, new_master, new_stored, 1)
    return delta


# -- counting from scratch --------------------------------------------------------

def count_objects(pairs: Iterable[tuple[bytes, bytes]], base: bytes, totals: Totals) -> None:
    """Add the object keys ``pairs`` (one bucket's range, in key order;
    ``base`` its prefix) to ``totals``."""
    master: Record | None = None
    master_name: bytes | None = None
    stored = False
    for key, raw in pairs:
        name, vid = keys.split_version(key[len(base):])
        if name != master_name:
            add_master(totals, master, stored, 1)
            master, master_name, stored = None, name, False
        record = decode_record(raw)
        if vid is None:
            master = record
        else:
            add_version(totals, record, 1)
            mvid = master.get("versionId") if master is not None else None
            if isinstance(mvid, str) and mvid.encode("utf-8") == vid:
                stored = True
    add_master(totals, master, stored, 1)


def scan_bucket(kv: Any, bucket: str,
                uploads: Callable[[str], Iterable[Iterable[bytes]]]) -> Totals:
    """A bucket's totals from its records (the once-only count of a bucket
    without a counter record).  ``uploads(bucket)``: the part values of each
    of its uploads in progress."""
    totals = zero()
    base = keys.object_base(bucket)
    count_objects(kv.iterate(gte=base, lt=keys.successor(base)), base, totals)
    for parts in uploads(bucket):
        totals[UPLOADS] += 1
        for raw in parts:
            add_part(totals, decode_record(raw), 1)
    return totals


class UsageBook:
    """The running totals of every bucket (reactor thread only; the metrics
    collector reads ``totals`` from a worker thread, copying it first).

    ``totals``: bucket -> [FIELDS...]; loaded from the counter records when
    the book is made, a bucket without one counted by ``scan`` on demand.
    """

    def __init__(self, kv: Any, uploads: Callable[[str], Iterable[Iterable[bytes]]]):
        """``uploads(bucket)``: the part values of each upload (scan_bucket)."""
        self.kv = kv
        self._uploads = uploads
        self.totals: dict[str, Totals] = {}
        for key, raw in kv.iterate(gte=USAGE_PREFIX, lt=keys.successor(USAGE_PREFIX)):
            try:
                self.totals[key[len(USAGE_PREFIX):].decode("utf-8")] = decode(raw)
            except ValueError:
                continue  # counted again by a scan when needed

    def of(self, bucket: str) -> tuple[Totals, bool]:
        """(the bucket's running totals, whether they were just counted by a
        scan and still need storing)."""
        totals = self.totals.get(bucket)
        if totals is not None:
            return totals, False
        started = time.monotonic()
        totals = self.totals[bucket] = scan_bucket(self.kv, bucket, self._uploads)
        _log.info("usage of bucket {bucket} counted by a scan in {ms:.0f} ms",
                  bucket=bucket, ms=(time.monotonic() - started) * 1000)
        return totals, True

    def report(self, names: Iterable[str]) -> dict[str, Any]:
        """get_usage's answer for buckets ``names`` (which exist); totals just
        counted by a scan are stored (one batch)."""
        entries, total, unstored = [], zero(), []
        for name in names:
            totals, scanned = self.of(name)
            if scanned:
                unstored.append(self.apply(name, None))
            entries.append({"name": name, **as_dict(totals)})
            total = add(total, totals)
        if unstored:
            self.kv.write(unstored).addErrback(
                lambda f: _log.failure("storing counted usage", f))
        return {"buckets": entries, "total": {**as_dict(total), "buckets": len(entries)}}

    def apply(self, bucket: str, delta: Totals | None) -> tuple[bytes, bytes]:
        """Add ``delta`` to the bucket's totals; the (key, value) put that
        stores them, for the write's batch."""
        totals = self.totals.get(bucket)
        if totals is None:
            totals = self.of(bucket)[0]
        if delta is not None:
            for i in range(len(totals)):
                totals[i] += delta[i]
        return USAGE_PREFIX + bucket.encode("utf-8"), _FORMAT % tuple(totals)

    def revert(self, bucket: str, delta: Totals | None) -> tuple[bytes, bytes] | None:
        """Take back the delta of a batch that failed; the put that stores
        the corrected totals (None if the bucket is not counted any more)."""
        totals = self.totals.get(bucket)
        if totals is None or delta is None:
            return None
        for i, d in enumerate(delta):
            totals[i] -= d
        return usage_key(bucket), encode(totals)

    def write(self, kv: Any, bucket: str, delta: Totals | None, puts: list, deletes: Any,
              exists: Callable[[str], bool]) -> Any:
        """``kv.write(puts, deletes)`` (the metadata service's KV) with
        ``bucket``'s counter record moved by ``delta`` in the same batch
        (None: no change; a bucket that does not exist, or whose counter
        nothing changes, is written as is)."""
        if delta is not None and not any(delta):
            delta = None
        if bucket not in self.totals and not exists(bucket):
            return kv.write(puts, deletes)
        if delta is None and not self.of(bucket)[1]:
            return kv.write(puts, deletes)
        puts.append(self.apply(bucket, delta))
        d = kv.write(puts, deletes)
        if delta is not None:
            d.addErrback(self._uncount, kv, bucket, delta)
        return d

    def _uncount(self, failure: Any, kv: Any, bucket: str, delta: Totals) -> Any:
        """A batch failed: its delta is taken back, and the totals rewritten
        (a later batch planned meanwhile stored them with it)."""
        put = self.revert(bucket, delta)
        if put is not None:
            kv.write([put]).addErrback(
                lambda f: _log.failure("rewriting the usage of {bucket}", f, bucket=bucket))
        return failure

    def created(self, bucket: str) -> tuple[bytes, bytes]:
        self.totals[bucket] = zero()
        return usage_key(bucket), encode(self.totals[bucket])

    def dropped(self, bucket: str) -> None:
        self.totals.pop(bucket, None)


def add(a: Totals, b: Totals) -> Totals:
    return [x + y for x, y in zip(a, b)]
