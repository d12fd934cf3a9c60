# -*- test-case-name: tests.unit.test_memdiag -*-
"""Memory diagnostics, off unless asked for: ``CLOUDSERVER_TRACEMALLOC=<seconds>``.

A soak's RSS can grow for reasons a Python heap profile cannot see, so every
``<seconds>`` the process logs one line with: the Python heap (tracemalloc's
traced MB and the lines that grew most since the previous report), its
resident memory split into anonymous and file-backed pages and the part of
the latter that maps LevelDB tables (``/proc/self/smaps``), and the metadata
store's own figures (``LevelDBKV.memory``: LevelDB's estimate of its
memtables and block cache, its table files); then it calls glibc's
``malloc_trim`` and logs the anonymous MB that released (what allocator
fragmentation held).  Costly (tracemalloc slows
allocation): for diagnosis, never for production.
"""
from __future__ import annotations

import re
import tracemalloc
from typing import Any, Callable, Mapping

from twisted.application import service
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from cloudserver.allocator import malloc_trim

log = Logger()

ENV = "CLOUDSERVER_TRACEMALLOC"
MIB = 1024 * 1024
_MAPPING = re.compile(r"[0-9a-f]+-[0-9a-f]+ ")


def resident(pid: int | str = "self", proc: str = "/proc") -> dict[str, float]:
    """MB of ``pid``'s anonymous and file-backed resident pages, and of the
    file-backed ones that map LevelDB tables (``.ldb``); {} without /proc."""
    anon = rss = ldb = 0
    mapping_is_ldb = False
    try:
        with open(f"{proc}/{pid}/smaps") as smaps:
            for line in smaps:
                if _MAPPING.match(line):
                    mapping_is_ldb = line.rstrip().endswith(".ldb")
                elif line.startswith("Rss:"):
                    kib = int(line.split()[1])
                    rss += kib
                    if mapping_is_ldb:
                        ldb += kib
                elif line.startswith("Anonymous:"):
                    anon += int(line.split()[1])
    except OSError:
        return {}
    return {"rss_anon_mb": anon / 1024, "rss_file_mb": (rss - anon) / 1024,
            "ldb_mapped_mb": ldb / 1024}


class MemoryReport(service.Service):
    """Logs the process's memory figures every ``interval`` seconds.

    ``kv`` is the metadata store (None in an S3 front: no LevelDB there);
    ``read_resident`` and ``trim`` are ``resident`` and ``malloc_trim``,
    replaced in tests."""

    def __init__(self, clock, interval: float, kv: Any = None,
                 read_resident: Callable[[], Mapping[str, float]] = resident,
                 trim: Callable[[], bool] = malloc_trim, top: int = 5):
        self.clock, self.interval, self.kv, self.top = clock, interval, kv, top
        self.read_resident, self.trim = read_resident, trim
        self._previous: tracemalloc.Snapshot | None = None
        self._loop: LoopingCall | None = None
        self._started_tracing = False

    def startService(self):
        super().startService()
        if not tracemalloc.is_tracing():
            tracemalloc.start()
            self._started_tracing = True
        self._loop = LoopingCall(self.report)
        self._loop.clock = self.clock
        self._loop.start(self.interval, now=True)

    def stopService(self):
        super().stopService()
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self._started_tracing:
            tracemalloc.stop()
        self._previous = None

    def figures(self) -> dict[str, Any]:
        """This report's figures (and the snapshot kept for the next one)."""
        traced, peak = tracemalloc.get_traced_memory()
        out: dict[str, Any] = {"traced_mb": round(traced / MIB, 2),
                               "traced_peak_mb": round(peak / MIB, 2)}
        out.update({k: round(v, 1) for k, v in self.read_resident().items()})
        memory = getattr(self.kv, "memory", None)
        if memory is not None:
            out.update(memory())
        snapshot = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)])
        if self._previous is not None:
            stats = snapshot.compare_to(self._previous, "lineno")[:self.top]
            out["grew"] = [f"{s.traceback[0].filename}:{s.traceback[0].lineno} "
                           f"{s.size_diff / 1024:+.0f} KiB" for s in stats]
        self._previous = snapshot
        if "rss_anon_mb" in out and self.trim():
            after = self.read_resident().get("rss_anon_mb", out["rss_anon_mb"])
            out["trim_released_mb"] = round(out["rss_anon_mb"] - after, 1)
        return out

    def report(self) -> None:
        figures = self.figures()
        log.info("memory: {figures}", figures=" ".join(
            f"{k}={v}" for k, v in figures.items() if k != "grew"))
        if figures.get("grew"):
            log.info("memory: grew most: {lines}", lines="; ".join(figures["grew"]))


def add_memory_report(environ: Mapping[str, str], clock, parent, kv: Any = None) -> None:
    """A MemoryReport under ``parent`` when ``CLOUDSERVER_TRACEMALLOC`` is a
    number of seconds (> 0); a bad value is logged and ignored."""
    value = environ.get(ENV)
    if not value:
        return
    try:
        interval = float(value)
        if not 0 < interval < 1e6:
            raise ValueError(value)
    except ValueError:
        log.warn("{env}={value!r} is not a number of seconds: no memory report",
                 env=ENV, value=value)
        return
    log.info("memory report every {interval:g} s ({env})", interval=interval, env=ENV)
    MemoryReport(clock, interval, kv).setServiceParent(parent)
