# -*- test-case-name: tests.unit.test_lifecycle_executor -*-
"""LifecycleService: runs the executor's walks, ``interval`` seconds apart.

Started by tap.makeService in the process that owns the metadata (``all``,
``dmd``).  At start a walk a previous process left unfinished (its cursor
is in the KV) resumes at once; otherwise the first walk starts one
``interval`` after start-up.  Stopping lets the step in progress finish
(its cursor is saved) and waits for it.
"""
from __future__ import annotations

from typing import Any

from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger

from cloudserver.lifecycle.executor import LifecycleExecutor

log = Logger(namespace="cloudserver.lifecycle")


class LifecycleService(service.Service):
    name = "lifecycle"

    def __init__(self, executor: LifecycleExecutor):
        self.executor = executor
        self.clock = executor.clock
        self._call = None
        self._running: defer.Deferred | None = None
        #: walks finished since start (for tests and the log)
        self.walks = 0

    def startService(self):
        super().startService()
        self.executor.stopping = False
        first = 0 if self.executor.load_cursor() is not None else \
            self.executor.settings.interval
        self._schedule(first)

    def _schedule(self, delay: float) -> None:
        self._call = self.clock.callLater(delay, self._walk)

    def _walk(self) -> None:
        self._call = None
        self._running = defer.Deferred.fromCoroutine(self.executor.run_walk())
        self._running.addCallbacks(self._walked, self._failed)

    def _walked(self, finished: bool) -> None:
        self._running = None
        if finished:
            self.walks += 1
        if self.running:
            self._schedule(self.executor.settings.interval)

    def _failed(self, failure) -> None:
        self._running = None
        log.failure("lifecycle: walk failed (resumes at the next interval)", failure)
        if self.running:
            self._schedule(self.executor.settings.interval)

    def stopService(self):
        super().stopService()
        self.executor.stopping = True
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        if self._running is None:
            return None
        done = defer.Deferred()
        self._running.addBoth(lambda result: (done.callback(None), result)[1])
        return done


def lifecycle_service(config: Any, metadata: Any, kv: Any, locations: Any,
                      clock: Any) -> LifecycleService | None:
    """The service for ``config`` (None when lifecycle.enabled is false)."""
    settings = config.lifecycle
    if not settings.enabled:
        return None
    names = config.locations if config.multiple_data else ()
    executor = LifecycleExecutor(metadata, kv, locations, clock, settings, names)
    log.info("lifecycle: executor every {interval} s, {batch} entries a step, "
             "{rate} entries/s, a day is {day} s", interval=settings.interval,
             batch=settings.batch_size, rate=settings.rate or "unlimited", day=settings.day)
    return LifecycleService(executor)
