# -*- test-case-name: tests.unit.test_replication_service -*-
"""The replicator: drains the replication queue, a version at a time.

Each queue entry (written by the hook in the batch of its version) names a
source version and its destination.  The replicator reads the entries that
are due, ``BATCH`` at a time (in the thread pool: a KV scan), copies up to ``concurrency``
versions at once, starting at most ``rate`` a second, and then records the
outcome on the source version: COMPLETED and the entry removed, or FAILED
and the entry moved ``retryBackoff`` seconds later (doubled at each
failure, at most ``failedRetryInterval``).  A version deleted or already
done meanwhile just has its entry removed.  A crash between the copy and
the removal copies again (at-least-once; a local replica already there is
not copied twice).

A new entry wakes the replicator (``wake``, from the hook) a moment later,
looking again at growing intervals until its batch is durable; otherwise an
idle queue is looked at every ``pollInterval`` seconds.
"""
from __future__ import annotations

import math
from collections import deque
from typing import Any, Callable

from twisted.internet import defer
from twisted.logger import Logger

from cloudserver.metadata import errors as md_errors
from cloudserver.metadata.queue import NextLook
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.replication.rules import COMPLETED, FAILED, PENDING

log = Logger(namespace="cloudserver.replication")

#: Entries read from the queue at a time (kept until started).
BATCH = 64
#: How long after a wake the queue is first read: the new entry's batch is
#: being committed (fsync), so an empty look is retried after twice as long,
#: ``WAKE_TRIES`` times (5 ms to 0.6 s), before the idle ``pollInterval``.
WAKE_DELAY = 0.005
WAKE_TRIES = 7
GONE = (md_errors.NoSuchBucket, md_errors.NoSuchKey, md_errors.NoSuchVersion)


def percentile(ordered: list[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile of a sorted, non-empty list."""
    return ordered[min(len(ordered) - 1, max(0, math.ceil(len(ordered) * p / 100) - 1))]


class Replicator:
    def __init__(self, metadata: Any, queue: Any, transfer: Any, clock: Any, settings: Any,
                 run_blocking: Callable[..., defer.Deferred]):
        self.metadata = metadata
        self.queue = queue
        self.transfer = transfer
        self.clock = clock
        self.settings = settings
        self._blocking = run_blocking
        self._inflight: dict[bytes, defer.Deferred] = {}
        # due entries read and not started yet, oldest first
        self._buffer: deque[tuple[bytes, dict]] = deque()
        self._next = NextLook(clock, self._scan)
        self._scanning = False
        self._again = False
        self._next_start = 0.0
        self._wake_delay: float | None = None
        self.running = False
        #: counters since start (metrics, tests)
        self.completed = 0
        self.failures = 0
        #: seconds from a version's write to its COMPLETED, the latest ones
        self.lags: deque[float] = deque(maxlen=10000)
        # lags since the queue was last found empty (its "drained" log line)
        self._burst: list[float] = []

    # -- scheduling ------------------------------------------------------------

    def start(self) -> None:
        self.running = True
        self._buffer.clear()
        self._schedule(0)

    def stop(self) -> defer.Deferred:
        """Stop taking entries; fires when the copies in flight have ended."""
        self.running = False
        self._next.cancel()
        return defer.DeferredList(list(self._inflight.values()), consumeErrors=True)

    def wake(self) -> None:
        if self.running:
            self._wake_delay = WAKE_DELAY
            self._schedule(WAKE_DELAY)

    def _schedule(self, delay: float) -> None:
        self._next.at(delay)

    def _scan(self) -> None:
        if self._scanning:
            self._again = True
            return
        self._scanning = True
        d = defer.Deferred.fromCoroutine(self._take())
        d.addErrback(lambda f: (log.failure("replication: reading the queue failed", f),
                                self._schedule(self.settings.poll_interval)))
        d.addBoth(self._scanned)

    def _scanned(self, _) -> None:
        self._scanning = False
        if self._again and self.running:
            self._again = False
            self._schedule(0)

    async def _take(self) -> None:
        if not self.running:
            return
        free = self.settings.concurrency - len(self._inflight)
        if free <= 0:
            return  # a copy ending looks again
        found = bool(self._buffer)
        if not found:
            entries = await self._blocking(self.queue.due, self.clock.seconds(),
                                           BATCH + len(self._inflight))
            self._buffer.extend(e for e in entries if e[0] not in self._inflight)
            found = bool(entries)
        started = 0
        while self._buffer and started < free:
            wait = self._rate_wait(self.clock.seconds())
            if wait > 0:
                self._schedule(wait)
                return
            key, item = self._buffer.popleft()
            if key not in self._inflight:
                started += 1
                self._start(key, item)
        if started or found:
            self._wake_delay = None
            return
        if self._wake_delay is not None and self._wake_delay < WAKE_DELAY * 2 ** WAKE_TRIES:
            self._wake_delay *= 2  # woken, and its entry is not durable yet
            self._schedule(self._wake_delay)
            return
        self._wake_delay = None
        if not self._inflight:
            self._drained()
            next_due = await self._blocking(self.queue.next_due)
            delay = self.settings.poll_interval
            if next_due is not None:
                delay = min(delay, max(0.0, next_due - self.clock.seconds()))
            self._schedule(delay)

    def _drained(self) -> None:
        """One log line per burst of work: how many, and their lag."""
        if not self._burst:
            return
        lags = sorted(self._burst)
        self._burst = []
        log.info("replication: queue drained: {n} versions, lag p50 {p50:.3f} s p99 "
                 "{p99:.3f} s max {top:.3f} s", n=len(lags), p50=percentile(lags, 50),
                 p99=percentile(lags, 99), top=lags[-1])

    def _rate_wait(self, now: float) -> float:
        rate = self.settings.rate
        if not rate:
            return 0.0
        if now < self._next_start:
            return self._next_start - now
        self._next_start = max(now, self._next_start) + 1.0 / rate
        return 0.0

    def _start(self, key: bytes, item: dict) -> None:
        d = defer.Deferred.fromCoroutine(self.process(key, item))
        self._inflight[key] = d
        d.addErrback(lambda f: log.failure("replication: {bucket}/{key} failed",
                                           f, bucket=item.get("bucket"), key=item.get("key")))
        d.addBoth(self._done, key)

    def _done(self, _, key: bytes) -> None:
        self._inflight.pop(key, None)
        if self.running:
            self._schedule(0)

    # -- one entry ---------------------------------------------------------------

    async def process(self, key: bytes, item: dict) -> str | None:
        """Replicate one entry's version: the status it ends with (None:
        nothing to do any more)."""
        bucket, name, vid = item["bucket"], item["key"], item.get("versionId")
        try:
            record = await self.metadata.get_object(bucket, name, {"versionId": vid})
        except GONE:
            await self.queue.ack([key])
            return None
        if record.get(Obj.REPLICATION_STATUS) not in (PENDING, FAILED):
            await self.queue.ack([key])
            return None
        try:
            await self.transfer.copy(item, record)
        except Exception as e:  # noqa: BLE001 - every failure is retried
            return await self._failed(key, item, record, e)
        if not await self._set_status(bucket, name, vid, record, COMPLETED):
            # its tags or ACL changed during the copy: once more, at once
            await self.queue.retry(key, item, self.clock.seconds())
            return PENDING
        await self._ack(key)
        self.completed += 1
        written = record.get(Obj.LAST_MODIFIED)
        if isinstance(written, (int, float)):
            lag = max(0.0, self.clock.seconds() - written)
            self.lags.append(lag)
            self._burst.append(lag)
        return COMPLETED

    async def _ack(self, key: bytes) -> None:
        """Remove a done entry without a sync of its own (in the pool: an
        unsynced LevelDB write, durable with the next synced batch).  Lost in
        a crash, the entry comes back and finds its version COMPLETED: it is
        removed then, nothing is copied again."""
        unsynced = getattr(self.queue.kv, "put_unsynced", None)
        if unsynced is None:
            await self.queue.ack([key])
        else:
            await self._blocking(unsynced, [], [key])

    async def _failed(self, key: bytes, item: dict, record: dict, error: Exception) -> str:
        attempts = int(item.get("attempts", 0)) + 1
        delay = min(self.settings.retry_backoff * 2 ** min(attempts - 1, 40),
                    self.settings.failed_retry_interval)
        self.failures += 1
        log.warn("replication: {bucket}/{key} to {dest} failed ({error}); retry {n} in "
                 "{delay:.1f} s", bucket=item["bucket"], key=item["key"],
                 dest=item.get("storageClass") or item.get("dest"), error=error,
                 n=attempts, delay=delay)
        if record.get(Obj.REPLICATION_STATUS) != FAILED:
            await self._set_status(item["bucket"], item["key"], item.get("versionId"),
                                   record, FAILED)
        reason = f"{type(error).__name__}: {error}"[:300]
        await self.queue.retry(key, {**item, "attempts": attempts, "error": reason},
                               self.clock.seconds() + delay)
        return FAILED

    async def _set_status(self, bucket: str, name: str, vid: str | None, record: dict,
                          status: str) -> bool:
        """Record ``status`` on the version, unless it changed meanwhile
        (another write's record is not overwritten with this one); False when
        its tags or ACL changed after ``record`` was read (to send again)."""
        try:
            current = await self.metadata.get_object(bucket, name, {"versionId": vid})
        except GONE:
            return True
        if current.get(Obj.ETAG) != record.get(Obj.ETAG) or \
                current.get(Obj.REPLICATION_STATUS) not in (PENDING, FAILED):
            return True
        if any(current.get(f) != record.get(f) for f in (Obj.TAGS, Obj.ACL)):
            return False
        await self.metadata.put_object(bucket, name, {**current, Obj.REPLICATION_STATUS: status},
                                       {"versionId": vid} if vid else None)
        return True
