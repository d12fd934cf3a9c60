# -*- test-case-name: tests.unit.test_metrics_shared -*-
"""The metrics of ``clusters: N`` (README "Metrics", "Several workers").

A worker has no metrics port: its families live in prometheus_client's
multiprocess files, and the supervisor's port exports them summed over
every worker that ever ran since it started, as one process would show
them (no ``worker`` or ``pid`` label).

* The supervisor (``prepare_directory``) makes ``<metadata path>/
  worker-metrics`` afresh at each start (wiped, mode 0700) and gives it to
  the workers only, as ``PROMETHEUS_MULTIPROC_DIR``: the library chooses
  its value class when first imported, so the supervisor's own families
  stay plain in-process values.
* A worker (``WorkerMetrics``) keeps the front's families as the library's
  Counter/Gauge/Histogram, which are mmap-backed there: the request
  families, KMS calls and failures, and the dmd RPC client's.  The RPC
  client counts into plain ``CallStats`` (cloudserver.metadata knows
  nothing of metrics), so ``SyncService`` copies them into the files every
  ``SYNC_INTERVAL`` seconds and when the worker stops: those three families
  lag by up to that much, and a worker killed with SIGKILL loses at most
  that much of them.  In-flight gauges are ``livesum``: the supervisor calls
  ``mark_process_dead`` when a worker exits (``process_ended``), so only
  live workers count.
* The supervisor's registry (``supervisor_registry``) is one
  ``MergedCollector`` over its own families (a Metrics with
  ``front=False``: no request or KMS family of its own) and a
  ``MultiProcessCollector`` of the directory; families of the same name
  (the dmd RPC families: ``side="server"`` here, ``side="client"`` from the
  workers) are merged into one, so no name appears twice.

Supervisor-only: ``process_*`` (the library's process collector reads its
own process), and everything the dmd side exports (KV batches, fsyncs,
data filesystem, usage, lifecycle, RPC server).
"""
from __future__ import annotations

import os
import shutil
from typing import Any, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess, values
from prometheus_client.metrics_core import Metric
from twisted.application import service
from twisted.internet.task import LoopingCall
from twisted.logger import Logger

from cloudserver.metrics import families as f

log = Logger(namespace="cloudserver.metrics")

#: The variable prometheus_client reads (in a worker only).
ENV = "PROMETHEUS_MULTIPROC_DIR"
#: The directory of the workers' files, under the metadata path.
DIRECTORY = "worker-metrics"
#: Seconds between two copies of a worker's RPC client counters.
SYNC_INTERVAL = 1.0


def prepare_directory(metadata_path: str) -> str:
    """``<metadata_path>/worker-metrics``, emptied (the files of a previous
    run would be summed with this one's) and readable by this user only."""
    path = os.path.join(metadata_path, DIRECTORY)
    if os.path.islink(path) or os.path.isfile(path):
        os.remove(path)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o700)
    os.chmod(path, 0o700)  # whatever the umask
    return path


def worker_env(env: dict[str, str], directory: str | None) -> dict[str, str]:
    """The workers' environment: ``directory`` as PROMETHEUS_MULTIPROC_DIR,
    or none at all when the supervisor exports no metrics."""
    env = {k: v for k, v in env.items() if k not in (ENV, ENV.lower())}
    if directory is not None:
        env[ENV] = directory
    return env


def process_ended(directory: str) -> Callable[[int | None], None]:
    """What the supervisor calls with a worker's pid once it has exited:
    its live gauges stop counting (its counters and histograms stay)."""
    def ended(pid: int | None) -> None:
        if pid is not None:
            multiprocess.mark_process_dead(pid, directory)
    return ended


def value_class(pid: int) -> Any:
    """The library's mmap'd value class with ``pid`` fixed: its default asks
    ``os.getpid()`` (a system call) on every write to notice a fork, a
    quarter of a write's cost; a worker never forks once started."""
    return values.MultiProcessValue(lambda: pid)


def pin_pid(environ: Any = None) -> None:
    """In a worker (PROMETHEUS_MULTIPROC_DIR set), before its first
    metric: this process's values, without the per-write getpid."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV) and getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = value_class(os.getpid())


class MergedCollector:
    """The families of ``sources`` (collectors or registries), those of the
    same name merged into one (the first one's help; types agree).  A
    source that fails (a worker's file cut by a crash) is logged and left
    out of that scrape: the others are still served."""

    def __init__(self, *sources: Any):
        self.sources = sources

    def describe(self):
        return []

    def collect(self):
        merged: dict[str, Metric] = {}
        for source in self.sources:
            try:
                families = list(source.collect())
            except Exception:  # noqa: BLE001 - the rest of the scrape is served
                log.failure("metrics: {source} failed", source=type(source).__name__)
                continue
            for family in families:
                have = merged.get(family.name)
                if have is None:
                    have = merged[family.name] = Metric(family.name, family.documentation,
                                                        family.type, family.unit)
                if have.type == family.type:
                    have.samples.extend(family.samples)
        return list(merged.values())


def supervisor_registry(local: CollectorRegistry, directory: str) -> CollectorRegistry:
    """The registry the supervisor's metrics port serves: its own families
    (``local``) and its workers' (the files in ``directory``), merged."""
    registry = CollectorRegistry()
    registry.register(MergedCollector(local, multiprocess.MultiProcessCollector(None, directory)))
    return registry


class _OpChildren:
    """The library children of one operation (labels looked up once)."""

    __slots__ = ("classes", "received", "sent", "duration")

    def __init__(self, m: "WorkerMetrics", operation: str):
        #: by status class index, made when first seen (as one process shows
        #: only the classes that occurred)
        self.classes: list[Any] = [None] * len(f.STATUS_CLASSES)
        self.received = m.received.labels(operation)
        self.sent = m.sent.labels(operation)
        self.duration = m.duration.labels(operation)


class _RPCSync:
    """What has been copied of one RPC end's CallStats."""

    def __init__(self, stats: Any, side: str):
        self.stats = stats
        self.side = side
        self.calls: dict[str, int] = {}
        self.reconnects = 0


class WorkerMetrics:
    """A worker's families, as prometheus_client's values (mmap files when
    PROMETHEUS_MULTIPROC_DIR is set, as in a worker); the same calls as
    ``families.Metrics`` for what a front moves."""

    def __init__(self) -> None:
        #: never served: the files are read by the supervisor
        self.registry = r = CollectorRegistry()
        self.requests = Counter("cloudserver_requests", f.HELP_REQUESTS,
                                ["operation", "status_class"], registry=r)
        self.received = Counter("cloudserver_request_received_bytes", f.HELP_RECEIVED,
                                ["operation"], registry=r)
        self.sent = Counter("cloudserver_response_sent_bytes", f.HELP_SENT,
                            ["operation"], registry=r)
        self.duration = Histogram("cloudserver_request_duration_seconds", f.HELP_DURATION,
                                  ["operation"], buckets=f.DURATION_BUCKETS, registry=r)
        self.errors = Counter("cloudserver_errors", f.HELP_ERRORS, ["code"], registry=r)
        self.in_flight = Gauge("cloudserver_requests_in_flight", f.HELP_IN_FLIGHT,
                               multiprocess_mode="livesum", registry=r)
        self.kms_calls = Counter("cloudserver_kms_calls", f.HELP_KMS_CALLS, ["method"],
                                 registry=r)
        self.kms_failures = Counter("cloudserver_kms_failures", f.HELP_KMS_FAILURES,
                                    ["method"], registry=r)
        self.rpc_calls = Counter("cloudserver_dmd_rpc_calls", "metadata RPC calls",
                                 ["side", "method"], registry=r)
        self.rpc_in_flight = Gauge("cloudserver_dmd_rpc_in_flight",
                                   "metadata RPC calls not answered yet", ["side"],
                                   multiprocess_mode="livesum", registry=r)
        self.rpc_reconnects = Counter(
            "cloudserver_dmd_rpc_reconnects",
            "connections to the metadata daemon made after the first", ["side"], registry=r)
        self._ops: dict[str, _OpChildren] = {}
        self._errors: dict[str, Any] = {}
        self._rpc: list[_RPCSync] = []

    def register(self, collector: Any) -> None:
        """An RPC end's collector (collectors.RPCCollector) is copied by
        ``sync``; no other scrape-time collector is exported from a worker."""
        stats = getattr(collector, "stats", None)
        side = getattr(collector, "side", None)
        if stats is not None and side is not None:
            self._rpc.append(_RPCSync(stats, side))
            self.rpc_in_flight.labels(side).set(0)
            self.rpc_reconnects.labels(side)

    def request_started(self) -> None:
        self.in_flight.inc()

    def request_done(self, operation: str, status: int, error: str,
                     bytes_in: int, bytes_out: int, seconds: float) -> None:
        """A request is over: every write is one mmap'd value (a lock and a
        struct pack each: bench/README "Metrics" has the cost)."""
        self.in_flight.dec()
        op = self._ops.get(operation)
        if op is None:
            op = self._ops[operation] = _OpChildren(self, operation)
        klass = status // 100
        index = klass if 0 < klass < 6 else 0
        child = op.classes[index]
        if child is None:
            child = op.classes[index] = self.requests.labels(operation, f.STATUS_CLASSES[index])
        child.inc()
        if bytes_in:
            op.received.inc(bytes_in)
        if bytes_out:
            op.sent.inc(bytes_out)
        op.duration.observe(seconds)
        if error and error != "-":
            counter = self._errors.get(error)
            if counter is None:
                counter = self._errors[error] = self.errors.labels(error)
            counter.inc()

    def sync(self) -> None:
        """Copy the RPC ends' plain counters into the files (the increments
        since the last copy)."""
        for end in self._rpc:
            stats = end.stats
            for method, count in list(stats.calls.items()):
                done = end.calls.get(method, 0)
                if count > done:
                    self.rpc_calls.labels(end.side, method).inc(count - done)
                    end.calls[method] = count
            reconnects = max(stats.connections - 1, 0)
            if reconnects > end.reconnects:
                self.rpc_reconnects.labels(end.side).inc(reconnects - end.reconnects)
                end.reconnects = reconnects
            self.rpc_in_flight.labels(end.side).set(max(stats.in_flight, 0))


class SyncService(service.Service):
    """Runs ``metrics.sync`` every ``interval`` seconds, and once more on stop."""

    def __init__(self, reactor: Any, metrics: WorkerMetrics, interval: float = SYNC_INTERVAL):
        self.metrics = metrics
        self.loop = LoopingCall(metrics.sync)
        self.loop.clock = reactor
        self.interval = interval

    def startService(self) -> None:
        super().startService()
        self.loop.start(self.interval, now=True)

    def stopService(self) -> None:
        super().stopService()
        if self.loop.running:
            self.loop.stop()
        self.metrics.sync()
