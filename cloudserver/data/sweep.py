# -*- test-case-name: tests.unit.test_sweep -*-
"""The orphan sweep: remove the data files of stale intent entries.

Every local data file that no committed record refers to has an intent
entry in the metadata KV (cloudserver.metadata.intents): a ``w`` from
before its file existed until the commit that first refers to it, an
``f`` from the commit that dropped its last reference until the file is
gone.  So the sweep reads those entries only, never the records: its cost
is the number of files in that state (a few per crash, the uploads in
flight), whatever the size of the store.

An entry is stale when the process that wrote it is not this one (its
uploads and commits died with it: a kill -9, a restart), or when it is
older than the grace and its key is not being written here
(``DataIntents.busy``: an open writer, or a long one that finished less
than a grace ago and whose commit may still come).  A stale entry's file
is unlinked, then the entry deleted, in the thread pool.

``OrphanSweepService`` runs one sweep at start-up and one every interval
(config.json ``orphanSweep``); ``stats`` are the figures the metrics port
exports (cloudserver.metrics.sweep.SweepCollector).
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

import attrs
from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger

from cloudserver.metadata.intents import INTENT_PREFIX, parse

log = Logger(namespace="cloudserver.sweep")


@attrs.define
class SweepStats:
    """Totals since start-up (counters) and the last sweep's figures."""

    sweeps: int = 0
    examined: int = 0
    removed: int = 0
    removed_bytes: int = 0
    failures: int = 0
    last_examined: int = 0
    last_removed: int = 0
    last_seconds: float = 0.0


class OrphanSweep:
    """One store's sweep over its intents (``DataIntents``)."""

    def __init__(self, intents: Any, store: Any, defer_to_thread: Callable[..., defer.Deferred],
                 *, grace: float, batch_size: int = 500,
                 clock: Callable[[], float] = time.time,
                 turn: Callable[[], defer.Deferred] | None = None):
        self.intents = intents
        self.store = store
        self._defer_to_thread = defer_to_thread
        self.grace = grace
        self.batch_size = batch_size
        self._clock = clock
        #: a Deferred that fires on a later reactor turn (between batches)
        self._turn = turn or (lambda: defer.succeed(None))
        self.stats = SweepStats()
        self._running: defer.Deferred | None = None

    def stale(self, key: bytes, value: bytes) -> str | None:
        """The data key of a stale entry, or None while it must stay."""
        try:
            data_key, _kind, boot, written = parse(key, value)
        except ValueError:
            log.warn("malformed intent entry {key!r}: {value!r}", key=key, value=value)
            return key[len(INTENT_PREFIX):].decode("latin-1")
        if boot != self.intents.boot:
            return data_key
        if self._clock() - written < self.grace or self.intents.busy(data_key, self.grace):
            return None
        return data_key

    def run(self) -> defer.Deferred:
        """One sweep; fires with this sweep's (examined, removed, bytes).  A
        sweep asked for while one runs waits for that one."""
        if self._running is not None:
            return self._running
        self._running = d = defer.Deferred.fromCoroutine(self._sweep())

        def done(result):
            self._running = None
            return result

        return d.addBoth(done)

    async def _sweep(self) -> tuple[int, int, int]:
        started = self._clock()
        examined = removed = nbytes = 0
        after = None
        self.intents.forget_recent(self.grace)
        while True:
            entries = self.intents.scan(after, self.batch_size)
            if not entries:
                break
            after = entries[-1][0]
            examined += len(entries)
            keys = [k for k in (self.stale(key, value) for key, value in entries)
                    if k is not None]
            if keys:
                gone, size = await self._defer_to_thread(self._remove, keys)
                removed += gone
                nbytes += size
            if len(entries) < self.batch_size:
                break
            await self._turn()
        stats = self.stats
        stats.sweeps += 1
        stats.examined += examined
        stats.removed += removed
        stats.removed_bytes += nbytes
        stats.last_examined, stats.last_removed = examined, removed
        stats.last_seconds = self._clock() - started
        if removed:
            log.info("orphan sweep: {removed} data files ({bytes} bytes) removed of "
                     "{examined} entries", removed=removed, bytes=nbytes, examined=examined)
        return examined, removed, nbytes

    def _remove(self, keys: list[str]) -> tuple[int, int]:
        """Thread side: unlink each file, then its entry; (files removed, bytes)."""
        removed = nbytes = 0
        for key in keys:
            try:
                path = self.store.path_for(key)
            except KeyError:  # not a key the store issues: only the entry goes
                self.intents.end(key)
                continue
            try:
                size = os.stat(path).st_size
                os.unlink(path)
            except FileNotFoundError:
                pass  # the upload's own clean-up got there first
            except OSError:
                self.stats.failures += 1
                log.failure("orphan sweep: could not remove {path}", path=path)
                continue
            else:
                removed += 1
                nbytes += size
            self.intents.end(key)
        return removed, nbytes


class OrphanSweepService(service.Service):
    """A sweep at start-up, then one every ``interval`` seconds; stopping
    waits for the sweep in progress (it is added after the stores, so it
    stops before they close)."""

    def __init__(self, sweep: OrphanSweep, reactor: Any, interval: float):
        self.sweep = sweep
        self._reactor = reactor
        self.interval = interval
        self._call = None

    def startService(self) -> None:
        super().startService()
        self._call = self._reactor.callLater(0, self._tick)

    def _tick(self) -> None:
        self._call = None
        d = self.sweep.run()
        d.addErrback(lambda f: log.failure("orphan sweep failed", f))
        d.addBoth(self._schedule)

    def _schedule(self, _: Any) -> None:
        if self.running:
            self._call = self._reactor.callLater(self.interval, self._tick)

    def stopService(self) -> defer.Deferred | None:
        super().stopService()
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        running = self.sweep._running
        if running is None:
            return None
        waiter: defer.Deferred = defer.Deferred()
        running.addBoth(lambda r: (waiter.callback(None), r)[1])
        return waiter


def reactor_turn(reactor: Any) -> Callable[[], defer.Deferred]:
    """A Deferred firing on the next reactor turn: a sweep of many entries
    lets requests run between its batches."""
    def turn() -> defer.Deferred:
        d: defer.Deferred = defer.Deferred()
        reactor.callLater(0, d.callback, None)
        return d
    return turn


def track_data(config: Any, kv: Any, metadata: Any, data: Any,
               clock: Callable[[], float] = time.time,
               defer_to_thread: Callable[..., defer.Deferred] | None = None) -> Any:
    """Give the file store and the metadata service their data intents
    (where both live in this process: all, dmd), and the service its
    ``check_data`` (with ``defer_to_thread``); the DataIntents, or None for
    a store that keeps no files (memory backend)."""
    from cloudserver.check import OnlineCheck
    from cloudserver.metadata.intents import DataIntents, IntentRule, new_boot

    if not hasattr(data, "path_for"):
        return None
    boot = new_boot()
    metadata.intents = IntentRule(boot, default_local=True,
                                  local_locations=local_locations(config), clock=clock)
    data.intents = DataIntents(kv, boot, clock)
    if defer_to_thread is not None:
        grace = getattr(getattr(config, "orphan_sweep", None), "grace", 3600.0)
        metadata.data_check = OnlineCheck(kv, data, metadata.intents, data.intents,
                                          defer_to_thread, grace, clock)
    return data.intents


def local_locations(config: Any) -> list[str]:
    """The locations (S3DATA=multiple) kept in this process's file store."""
    return [name for name, loc in (config.locations or {}).items()
            if isinstance(loc, dict) and loc.get("type") == "file"]


def add_orphan_sweep(config: Any, data: Any, reactor: Any, defer_to_thread: Any,
                     parent: Any, metrics: Any = None) -> OrphanSweepService | None:
    """The sweep service of a tracked file store (config.json ``orphanSweep``)."""
    settings = config.orphan_sweep
    intents = getattr(data, "intents", None)
    if intents is None or not settings.enabled:
        return None
    sweep = OrphanSweep(intents, data, defer_to_thread, grace=settings.grace,
                        batch_size=settings.batch_size, clock=reactor.seconds,
                        turn=reactor_turn(reactor))
    svc = OrphanSweepService(sweep, reactor, settings.interval)
    svc.setServiceParent(parent)
    if metrics is not None:
        from cloudserver.metrics.sweep import SweepCollector

        metrics.register(SweepCollector(sweep.stats))
    return svc
