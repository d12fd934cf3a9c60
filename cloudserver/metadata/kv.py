# -*- test-case-name: tests.unit.test_metadata_kv -*-
"""Ordered key-value stores (IOrderedKV): in memory, and LevelDB via plyvel.

Reads (``get``, ``iterate``) are synchronous: they are fast, and callers
bound how much they iterate.  Writes are batches that are atomic and, for
LevelDB, synced to disk before the returned Deferred fires.

Visibility.  MemoryKV applies a batch at once, so it is visible when
``write`` returns.  LevelDBKV writes from a worker thread; LevelDB appends
(and, sync=True, fsyncs) its log before it publishes a batch to readers, so
a batch becomes visible no earlier than it is durable, and at the latest
when its Deferred fires.  Nobody may rely on a write being invisible before
its Deferred fires.

Ordering.  Within a batch deletes are applied before puts, so a key both
deleted and put ends up put.  Batches are applied in the order ``write``
was called, so for two writes to one key the later call wins.
"""
from __future__ import annotations

import time
from bisect import bisect_left, bisect_right, insort
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from twisted.internet import defer
from twisted.python.failure import Failure
from zope.interface import implementer

from cloudserver.metadata.interfaces import IOrderedKV

Pair = tuple[bytes, bytes]
Ops = tuple[list[Pair], list[bytes]]
DeferToThread = Callable[..., defer.Deferred]
_WINDOW = 64  # pairs MemoryKV copies per step of an iteration


class KVClosed(Exception):
    """A write was attempted on a closed store."""


def _check_bounds(gte: bytes | None, gt: bytes | None) -> None:
    if gte is not None and gt is not None:
        raise ValueError("give at most one of gte / gt")


def _normalize(puts: Iterable[Pair], deletes: Iterable[bytes]) -> Ops:
    puts = [(k, v) for k, v in puts]
    deletes = list(deletes)
    for k, v in puts:
        if not isinstance(k, bytes) or not isinstance(v, bytes):
            raise TypeError("keys and values must be bytes")
    for k in deletes:
        if not isinstance(k, bytes):
            raise TypeError("keys must be bytes")
    return puts, deletes


@implementer(IOrderedKV)
class MemoryKV:
    """An in-memory ordered map: a dict plus a chunked sorted key list.

    The keys are kept in sorted chunks of at most ``2 * load`` keys (with
    the last key of each chunk in ``_maxes``), so an insert or delete moves
    at most a chunk's worth of pointers instead of the whole list: puts
    stay O(log n + load) at millions of keys.

    Iteration copies a window of at most ``_WINDOW`` (key, value) pairs at
    a time and finds the next window again by key, so writes made while a
    caller iterates never break the iteration (they may or may not be
    seen), and a listing that seeks often copies little.
    """

    def __init__(self, load: int = 512):
        self._load = load
        self._data: dict[bytes, bytes] = {}
        self._chunks: list[list[bytes]] = []
        self._maxes: list[bytes] = []

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: bytes) -> bytes | None:
        return self._data.get(key)

    def write(self, puts: Iterable[Pair], deletes: Iterable[bytes] = ()) -> defer.Deferred:
        try:
            puts, deletes = _normalize(puts, deletes)
        except TypeError:
            return defer.fail()
        for k in deletes:
            if self._data.pop(k, None) is not None:
                self._remove(k)
        for k, v in puts:
            if k not in self._data:
                self._insert(k)
            self._data[k] = v
        return defer.succeed(None)

    def put_unsynced(self, puts: Iterable[Pair], deletes: Iterable[bytes] = ()) -> None:
        """As ``write``, at once and without a Deferred (LevelDBKV's unsynced
        write; here the same thing: nothing is durable)."""
        failed: list = []
        self.write(puts, deletes).addErrback(failed.append)
        if failed:
            failed[0].raiseException()

    def close(self) -> defer.Deferred:
        return defer.succeed(None)

    # -- the sorted key list ------------------------------------------------

    def _insert(self, key: bytes) -> None:
        if not self._chunks:
            self._chunks.append([key])
            self._maxes.append(key)
            return
        i = bisect_left(self._maxes, key)
        if i == len(self._chunks):
            i -= 1
            self._chunks[i].append(key)
            self._maxes[i] = key
        else:
            insort(self._chunks[i], key)
        chunk = self._chunks[i]
        if len(chunk) > 2 * self._load:
            half = len(chunk) // 2
            self._chunks[i:i + 1] = [chunk[:half], chunk[half:]]
            self._maxes[i:i + 1] = [chunk[half - 1], chunk[-1]]

    def _remove(self, key: bytes) -> None:
        i = bisect_left(self._maxes, key)
        chunk = self._chunks[i]
        del chunk[bisect_left(chunk, key)]
        if not chunk:
            del self._chunks[i]
            del self._maxes[i]
        else:
            self._maxes[i] = chunk[-1]

    def _slice_from(self, low: bytes | None, inclusive: bool) -> list[Pair]:
        """Up to ``_WINDOW`` pairs from the first key >= low (or > low)."""
        if not self._chunks:
            return []
        if low is None:
            chunk, j = self._chunks[0], 0
        else:
            find = bisect_left if inclusive else bisect_right
            i = find(self._maxes, low)
            if i == len(self._chunks):
                return []
            chunk = self._chunks[i]
            j = find(chunk, low)
        data = self._data
        return [(k, data[k]) for k in chunk[j:j + _WINDOW]]

    def _slice_to(self, high: bytes | None, inclusive: bool) -> list[Pair]:
        """Up to ``_WINDOW`` pairs below high (or <= high), descending."""
        if not self._chunks:
            return []
        if high is None:
            chunk = self._chunks[-1]
            j = len(chunk)
        else:
            i = bisect_left(self._maxes, high)
            if i == len(self._chunks):
                i -= 1
            chunk = self._chunks[i]
            j = (bisect_right if inclusive else bisect_left)(chunk, high)
            if j == 0:
                if i == 0:
                    return []
                chunk = self._chunks[i - 1]
                j = len(chunk)
        data = self._data
        return [(k, data[k]) for k in reversed(chunk[max(j - _WINDOW, 0):j])]

    def iterate(self, gte: bytes | None = None, gt: bytes | None = None,
                lt: bytes | None = None, reverse: bool = False) -> Iterator[Pair]:
        _check_bounds(gte, gt)
        low, low_inclusive = (gte, True) if gt is None else (gt, False)
        if not reverse:
            return self._forward(low, low_inclusive, lt)
        return self._backward(low, low_inclusive, lt)

    def _forward(self, low, inclusive, lt) -> Iterator[Pair]:
        while True:
            pairs = self._slice_from(low, inclusive)
            if not pairs:
                return
            for k, v in pairs:
                if lt is not None and k >= lt:
                    return
                yield k, v
            low, inclusive = pairs[-1][0], False

    def _backward(self, low, low_inclusive, lt) -> Iterator[Pair]:
        high, inclusive = lt, False
        while True:
            pairs = self._slice_to(high, inclusive)
            if not pairs:
                return
            for k, v in pairs:
                if low is not None and (k < low or (k == low and not low_inclusive)):
                    return
                yield k, v
            high, inclusive = pairs[-1][0], False


class GroupCommitter:
    """Turns many concurrent write calls into few synced batches.

    While one batch is being written in the thread pool, later calls
    queue up; when it finishes, everything queued is written as ONE batch.
    So under load there is one fsync per round trip of the disk, not one
    per write, and each caller still learns exactly when its own ops are
    durable.  Deferreds fire in call order; a batch that fails errbacks
    every Deferred in it, and the committer carries on with the next.

    ``apply`` is called in a worker thread with the list of (puts, deletes)
    of one batch, in call order, and must apply them atomically.
    """

    def __init__(self, apply: Callable[[list[Ops]], None], defer_to_thread: DeferToThread):
        self._apply = apply
        self._defer_to_thread = defer_to_thread
        self._queue: list[tuple[Ops, defer.Deferred]] = []
        self._busy = False
        self._idle_waiters: list[defer.Deferred] = []
        self.batches = 0  # number of batches handed to the thread pool (for tests, stats)
        #: called as on_batch(writes, seconds) once a batch is durable (metrics)
        self.on_batch: Callable[[int, float], None] | None = None
        self._started = 0.0

    def submit(self, ops: Ops) -> defer.Deferred:
        d = defer.Deferred()
        self._queue.append((ops, d))
        if not self._busy:
            self._flush()
        return d

    def _flush(self) -> None:
        batch, self._queue = self._queue, []
        self._busy = True
        self.batches += 1
        self._started = time.perf_counter()
        done = defer.maybeDeferred(self._defer_to_thread, self._apply,
                                   [ops for ops, _ in batch])
        done.addBoth(self._finished, batch)

    def _finished(self, result: Any, batch: list[tuple[Ops, defer.Deferred]]) -> None:
        # Fire this batch's Deferreds before starting the next batch, so
        # that (even with an inline thread runner) they fire in call order;
        # writes issued from these callbacks queue up for the next batch.
        if self.on_batch is not None:
            self.on_batch(len(batch), time.perf_counter() - self._started)
        for _, d in batch:
            if isinstance(result, Failure):
                d.errback(result)
            else:
                d.callback(None)
        self._busy = False
        if self._queue:
            self._flush()
        else:
            waiters, self._idle_waiters = self._idle_waiters, []
            for w in waiters:
                w.callback(None)

    def when_idle(self) -> defer.Deferred:
        """A Deferred that fires once nothing is queued or being written."""
        if not self._busy and not self._queue:
            return defer.succeed(None)
        d = defer.Deferred()
        self._idle_waiters.append(d)
        return d


class GroupCommitted:
    """What the group-committed KVs share: their batch count and observer,
    and ``close``: refuse new writes (``_closing`` is not None), wait for
    the queued and in-flight batches of ``_committer``, then ``_shut()``
    (a Deferred); every caller of close waits for that."""

    #: None while open; the waiters of close() while draining; True once closed
    _closing: list[defer.Deferred] | bool | None = None
    _committer: GroupCommitter

    @property
    def batches(self) -> int:
        """How many synced batches were handed to the thread pool so far."""
        return self._committer.batches

    def observe_batches(self, on_batch: Callable[[int, float], None] | None) -> None:
        """Have ``on_batch(writes, seconds)`` called as each batch is durable."""
        self._committer.on_batch = on_batch

    def close(self) -> defer.Deferred:
        """Refuse new writes, wait for queued and in-flight batches, then shut."""
        d = defer.Deferred()
        if self._closing is None:
            self._closing = [d]
            self._committer.when_idle().addCallback(self._close_now)
        elif isinstance(self._closing, list):
            self._closing.append(d)
        else:
            d.callback(None)
        return d

    def _shut(self) -> defer.Deferred:
        raise NotImplementedError

    def _close_now(self, _: object) -> None:
        waiters, self._closing = self._closing, True

        def fire(result: Any) -> None:
            for w in waiters:
                if isinstance(result, Failure):
                    w.errback(result)
                else:
                    w.callback(None)

        self._shut().addBoth(fire)


@implementer(IOrderedKV)
class LevelDBKV(GroupCommitted):
    """IOrderedKV over a LevelDB database (plyvel), with group commit.

    ``defer_to_thread(f, *args)`` runs ``f`` off the reactor thread and
    returns a Deferred of its result, e.g.
    ``partial(deferToThreadPool, reactor, pool)``; tests pass an inline
    fake.  Opening the database is synchronous (it happens once, at
    startup); reads are synchronous; every batch is written with
    ``sync=True`` in the thread pool.
    """

    def __init__(self, path: str, defer_to_thread: DeferToThread, **db_options: Any):
        import plyvel  # imported here so the memory backend never needs it

        options = {"create_if_missing": True, "bloom_filter_bits": 10}
        options.update(db_options)
        self._db = plyvel.DB(path, **options)
        self._committer = GroupCommitter(self._write_batch, defer_to_thread)

    def memory(self) -> dict[str, int]:
        """LevelDB's own figures (cloudserver.memdiag): its estimate of the
        bytes its memtables and block cache hold, and its table files (each
        open one also holds its index and filter, and maps its file)."""
        usage = self._db.get_property(b"leveldb.approximate-memory-usage")
        tables = sum(int(self._db.get_property(b"leveldb.num-files-at-level%d" % level) or 0)
                     for level in range(7))
        return {"leveldb_memory_mb": round(int(usage or 0) / (1 << 20), 1),
                "leveldb_tables": tables}

    def get(self, key: bytes) -> bytes | None:
        return self._db.get(key)

    def iterate(self, gte: bytes | None = None, gt: bytes | None = None,
                lt: bytes | None = None, reverse: bool = False) -> Iterator[Pair]:
        _check_bounds(gte, gt)
        start, include_start = (gte, True) if gt is None else (gt, False)
        # plyvel's own iterator, not a generator around it: listings step
        # through thousands of pairs per call.  A caller that stops early
        # (or seeks by iterating again) releases it with close(), or by
        # dropping it; it closes itself once exhausted.
        return self._db.iterator(start=start, include_start=include_start,
                                 stop=lt, include_stop=False, reverse=reverse)

    def write(self, puts: Iterable[Pair], deletes: Iterable[bytes] = ()) -> defer.Deferred:
        if self._closing is not None:
            return defer.fail(KVClosed("store is closed"))
        try:
            ops = _normalize(puts, deletes)
        except TypeError:
            return defer.fail()
        return self._committer.submit(ops)

    def put_unsynced(self, puts: Iterable[Pair], deletes: Iterable[bytes] = ()) -> None:
        """Apply one batch now, without fsync and outside the group commit.

        For the data intents (cloudserver.metadata.intents), from a pool
        thread: LevelDB appends the batch to its log with one write(2), so
        a kill -9 keeps it, and the next synced batch makes it durable.
        Never on the reactor thread: LevelDB may hold it behind a synced
        batch being written.  KVClosed after ``close``."""
        if self._closing is True:
            raise KVClosed("store is closed")
        puts, deletes = _normalize(puts, deletes)
        wb = self._db.write_batch(sync=False)
        for k in deletes:
            wb.delete(k)
        for k, v in puts:
            wb.put(k, v)
        wb.write()

    def _write_batch(self, batch: list[Ops]) -> None:
        """Runs in a worker thread: every queued write as one synced WriteBatch."""
        wb = self._db.write_batch(sync=True)
        for puts, deletes in batch:
            for k in deletes:
                wb.delete(k)
            for k, v in puts:
                wb.put(k, v)
        wb.write()

    def _shut(self) -> defer.Deferred:
        return defer.maybeDeferred(self._db.close)

