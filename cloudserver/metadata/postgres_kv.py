# -*- test-case-name: tests.unit.test_metadata_postgres -*-
"""IOrderedKV on a PostgreSQL-wire database, read from a local cache.

IOrderedKV's reads are synchronous and run on the reactor thread (the
listing algorithms step through keys and seek); a network round trip per
``get`` cannot.  So one process at a time (the dmd, or an all-in-one
server) owns the metadata: it holds the lease row of the database
(cloudserver.metadata.postgres_sql), loads every pair into an in-memory
ordered map at start-up, and serves reads from it.  Writes are
group-committed (kv.GroupCommitter) as one database transaction per batch
in the thread pool, fenced by the lease; a batch is applied to the cache
only once it has committed, so, as with LevelDB, a write is visible no
earlier than it is durable and at the latest when its Deferred fires.

The database is the truth and the replication: another host can take the
lease over (once it has expired) and load the same state.  A holder that
cannot renew its lease stops answering (MetadataUnavailable: 503) once the
lease may have run out, and answers again when a renewal succeeds with the
same epoch (nobody else wrote in between).  A holder whose lease was taken
over, or that cannot tell whether a COMMIT happened, is *lost*: its cache
can no longer be trusted, every call fails and ``on_lost`` (the process
stops, its supervisor restarts it and reloads) is called.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from twisted.internet import defer, task
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from cloudserver.metadata.errors import MetadataUnavailable
from cloudserver.metadata.interfaces import IOrderedKV
from cloudserver.metadata.kv import (GroupCommitted, GroupCommitter, KVClosed, MemoryKV,
                                     _normalize)
from cloudserver.metadata.postgres_sql import LeaseLost, Pair, PostgresStore

_log = Logger()


class _SharedMemoryKV(MemoryKV):
    """MemoryKV whose writes and iteration windows take a lock: the online
    check and the data intents use the cache from pool threads."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def write(self, puts, deletes=()):
        with self._lock:
            return super().write(puts, deletes)

    def _slice_from(self, low, inclusive):
        with self._lock:
            return super()._slice_from(low, inclusive)

    def _slice_to(self, high, inclusive):
        with self._lock:
            return super()._slice_to(high, inclusive)


@implementer(IOrderedKV)
class PostgresKV(GroupCommitted):
    """The cache, the group committer and the lease heartbeat over a store.

    ``open`` (blocking, at start-up) takes the lease and loads the cache;
    ``start(clock)`` then renews the lease every third of its length.
    ``clock`` is the reactor's ``seconds``.
    """

    def __init__(self, store: PostgresStore, defer_to_thread: Callable[..., defer.Deferred],
                 clock: Callable[[], float] = time.time,
                 on_lost: Callable[[Exception], None] | None = None):
        self.store = store
        self._defer_to_thread = defer_to_thread
        self._clock = clock
        self.on_lost = on_lost
        self._cache = _SharedMemoryKV()
        self._committer = GroupCommitter(self._commit, defer_to_thread)
        self._valid_until = 0.0
        self.lost: Exception | None = None
        self._heartbeat: task.LoopingCall | None = None
        self._renewing = False
        #: between ``start`` and the reactor running (reads may renew, blocking)
        self._starting = False

    # -- start-up -----------------------------------------------------------

    def open(self, wait: float = 0.0) -> int:
        """Create the tables if needed, take the lease (waiting up to ``wait``
        seconds for an expired holder), load every pair; returns their count."""
        import psycopg

        try:
            self.store.create_schema()
            sent = self._clock()
            self.store.acquire(wait)
            self._valid_until = sent + self.store.lease
            count = 0
            for page in self.store.load():
                self._cache.write(page)
                count += len(page)
        except psycopg.Error as e:
            raise MetadataUnavailable(f"metadata database: {e}") from None
        return count

    def start(self, reactor_clock: Any) -> None:
        """Renew the lease periodically on ``reactor_clock`` (an IReactorTime;
        a reactor: from when it runs — until then reads renew it themselves)."""
        when_running = getattr(reactor_clock, "callWhenRunning", None)
        if when_running is not None:
            self._starting = True
            when_running(self._started)
        self._heartbeat = task.LoopingCall(self._renew)
        self._heartbeat.clock = reactor_clock
        self._heartbeat.start(self.store.lease / 3, now=False).addErrback(
            lambda f: _log.failure("metadata lease heartbeat", f))

    def _renew(self) -> None:
        if self._renewing or self.lost is not None or self._closing is not None:
            return
        self._renewing = True
        sent = self._clock()

        def done(result: Any) -> None:
            self._renewing = False
            if isinstance(result, Failure):
                if result.check(LeaseLost):
                    self._lose(result.value)
                else:
                    _log.warn("metadata lease not renewed: {e}", e=result.getErrorMessage())
                return
            self._valid_until = max(self._valid_until, sent + self.store.lease)

        self._defer_to_thread(self.store.renew).addBoth(done)

    def _lose(self, why: Exception) -> None:
        if self.lost is not None:
            return
        self.lost = why
        _log.critical("metadata store lost: {why}; this process must restart", why=why)
        if self._heartbeat is not None and self._heartbeat.running:
            self._heartbeat.stop()
        if self.on_lost is not None:
            self.on_lost(why)

    def _started(self) -> None:
        self._starting = False

    def _check_readable(self) -> None:
        if self.lost is not None:
            raise MetadataUnavailable(f"metadata store lost: {self.lost}")
        if self._clock() > self._valid_until:
            if self._starting:
                # start-up (services reading their state before the reactor
                # runs, where blocking is allowed): renew now, or fail
                sent = self._clock()
                self.store.renew()
                self._valid_until = sent + self.store.lease
                return
            raise MetadataUnavailable("metadata lease not renewed (database unreachable?)")

    # -- IOrderedKV ---------------------------------------------------------

    def get(self, key: bytes) -> bytes | None:
        self._check_readable()
        return self._cache.get(key)

    def iterate(self, gte: bytes | None = None, gt: bytes | None = None,
                lt: bytes | None = None, reverse: bool = False) -> Iterator[Pair]:
        self._check_readable()
        return self._cache.iterate(gte=gte, gt=gt, lt=lt, reverse=reverse)

    def write(self, puts: Iterable[Pair], deletes: Iterable[bytes] = ()) -> defer.Deferred:
        if self._closing is not None:
            return defer.fail(KVClosed("store is closed"))
        if self.lost is not None:
            return defer.fail(MetadataUnavailable(f"metadata store lost: {self.lost}"))
        try:
            ops = _normalize(puts, deletes)
        except TypeError:
            return defer.fail()
        sent = self._clock()
        d = self._committer.submit(ops)
        d.addCallbacks(self._committed, self._failed, callbackArgs=(ops, sent))
        return d

    def _commit(self, batch: list) -> None:
        """In a pool thread: the batch as one transaction."""
        self.store.write_batch(batch)

    def _committed(self, _: Any, ops: tuple, sent: float) -> None:
        self._valid_until = max(self._valid_until, sent + self.store.lease)
        self._cache.write(*ops)

    def _failed(self, failure: Failure) -> Failure:
        if failure.check(LeaseLost):
            self._lose(failure.value)
        return failure

    def put_unsynced(self, puts: Iterable[Pair], deletes: Iterable[bytes] = ()) -> None:
        """Apply one batch now, outside the group commit (the data intents),
        from a pool thread: committed at once (unfenced), then cached."""
        if self._closing is True:
            raise KVClosed("store is closed")
        puts, deletes = _normalize(puts, deletes)
        self.store.put_now(puts, deletes)
        self._cache.write(puts, deletes)

    # -- close --------------------------------------------------------------

    def close(self) -> defer.Deferred:
        """Stop the heartbeat, refuse new writes, wait for queued batches,
        release the lease and close the pool."""
        if self._heartbeat is not None and self._heartbeat.running:
            self._heartbeat.stop()
        return super().close()

    def _shut(self) -> defer.Deferred:
        def shut() -> None:
            try:
                if self.lost is None:
                    self.store.release()
            except Exception as e:  # noqa: BLE001 - the database is down: the lease expires
                _log.warn("metadata lease not released: {e}", e=e)
            finally:
                self.store.close()

        return self._defer_to_thread(shut)


def open_postgres_kv(settings: Any, reactor: Any,
                     defer_to_thread: Callable[..., defer.Deferred]) -> PostgresKV:
    """The KV of config.json ``metadata`` (cloudserver.config.metadata), open
    and renewing its lease; blocking, at start-up.  A lost store stops the
    process (its supervisor restarts it, and it loads the database again)."""
    import os
    import socket
    import uuid

    from cloudserver.metadata.postgres_sql import PostgresStore

    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    store = PostgresStore(settings.dsn, settings.table, owner, lease=settings.lease,
                          pool_size=settings.pool)

    def lost(why: Exception) -> None:
        if reactor.running:
            reactor.stop()

    kv = PostgresKV(store, defer_to_thread, reactor.seconds, on_lost=lost)
    count = kv.open(wait=settings.lease_wait)
    _log.info("metadata: postgres table {table}, {count} keys loaded, lease held by {owner}",
              table=settings.table, count=count, owner=owner)
    kv.start(reactor)
    return kv
