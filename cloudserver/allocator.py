# -*- test-case-name: tests.unit.test_allocator -*-
"""Keeping glibc's allocator from holding what the process freed.

A soak showed the Python heap and LevelDB's caches flat while anonymous
memory grew: the large buffers of data reads and writes (pool threads,
hundreds of KiB to MiB each) raise glibc's dynamic mmap threshold once the
first is freed, so the later ones are carved from the arenas, whose freed
pages glibc keeps (``malloc_trim`` released 12-16 MB of them a minute).
A periodic ``malloc_trim(0)`` (in the thread pool: it takes the arenas'
locks) hands them back; a fixed ``M_MMAP_THRESHOLD`` (each large buffer
its own mapping) also would, at the price of a mapping and its page
faults per buffer, so it is off by default.  config.json ``memory``
(cloudserver.config.memory) sets both; without glibc, nothing is done.
"""
from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any, Callable

from twisted.application import service
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from cloudserver.config.memory import MemorySettings

log = Logger()

M_MMAP_THRESHOLD = -3  # glibc's malloc.h


class Libc:
    """glibc's mallopt and malloc_trim (each False where absent)."""

    def __init__(self, name: str | None = None):
        try:
            self._libc: Any = ctypes.CDLL(name or ctypes.util.find_library("c") or "libc.so.6")
        except OSError:
            self._libc = None

    def _call(self, name: str, *args: int) -> bool:
        function = getattr(self._libc, name, None)
        return bool(function(*args)) if function is not None else False

    def mallopt(self, param: int, value: int) -> bool:
        return self._call("mallopt", param, value)

    def malloc_trim(self) -> bool:
        return self._call("malloc_trim", 0)


def malloc_trim() -> bool:
    """malloc_trim(0) now (cloudserver.memdiag measures what it releases)."""
    return Libc().malloc_trim()


class AllocatorService(service.Service):
    """Sets the mmap threshold when started, then trims every interval."""

    def __init__(self, settings: MemorySettings, clock, defer_to_thread: Callable,
                 libc: Any = None):
        self.settings, self.clock, self.defer_to_thread = settings, clock, defer_to_thread
        self.libc = Libc() if libc is None else libc
        self._loop: LoopingCall | None = None
        self.trims = 0

    def startService(self):
        super().startService()
        threshold = self.settings.mmap_threshold
        if threshold and not self.libc.mallopt(M_MMAP_THRESHOLD, threshold):
            log.warn("memory: cannot set the allocator's mmap threshold (not glibc?)")
        if self.settings.trim_interval:
            self._loop = LoopingCall(self._trim)
            self._loop.clock = self.clock
            self._loop.start(self.settings.trim_interval, now=False).addErrback(
                lambda f: log.failure("memory: the trim loop stopped", f))

    def stopService(self):
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()

    def _trim(self):
        self.trims += 1
        d = self.defer_to_thread(self.libc.malloc_trim)
        d.addErrback(lambda f: log.failure("memory: malloc_trim failed", f))
        return d
