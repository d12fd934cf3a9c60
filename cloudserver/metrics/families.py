"""The metric families and the few calls that move them.

Labels are bounded: an operation name (the routing table's, or the HTTP
method of an unrouted request), a status class (``2xx``..``5xx``), an S3
error code, an RPC or KMS method name.  No bucket or key ever becomes a
label.

The request families are the hot path (every request moves six of them):
they are plain per-operation counters (``_OpStats``) that the reactor
thread bumps without locks, and ``RequestCollector`` turns them into
Prometheus families when scraped.  The library's Counter/Histogram take a
lock and check their state per call (~2.5 µs a request for these six, a
fifth of the budget a 5% cost target leaves on a 120 µs HEAD); ints and a
bisect cost well under a microsecond.  The rest (KV batches, fsyncs, KMS
calls) are the library's own families: they move far less often.
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client import ProcessCollector
from prometheus_client.utils import floatToGoString
from prometheus_client.core import (CounterMetricFamily, GaugeMetricFamily,
                                    HistogramMetricFamily)

#: Request durations: small requests take ~1 ms, big transfers seconds.
DURATION_BUCKETS = (.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30)
#: fsync and synced KV batches: tens of µs on NVMe, tens of ms on disks.
SYNC_BUCKETS = (.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1)
#: writes per group-commit batch
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
#: the ``le`` labels of DURATION_BUCKETS, as the library writes them
_BOUNDS = (*map(floatToGoString, DURATION_BUCKETS), "+Inf")
STATUS_CLASSES = ("0xx", "1xx", "2xx", "3xx", "4xx", "5xx")
#: The request families' help texts (also a worker's, metrics/shared.py:
#: the supervisor shows the same families as one process).
HELP_REQUESTS = "S3 requests answered"
HELP_RECEIVED = "request body bytes received"
HELP_SENT = "response body bytes sent"
HELP_DURATION = "S3 request duration, first byte in to last byte out"
HELP_ERRORS = "S3 error responses by error code"
HELP_IN_FLIGHT = "S3 requests received and not yet answered"
HELP_KMS_CALLS = "KMS calls"
HELP_KMS_FAILURES = "KMS calls that failed"


class _OpStats:
    """One operation's request counters (reactor thread only)."""

    __slots__ = ("by_class", "bytes_in", "bytes_out", "buckets", "seconds")

    def __init__(self) -> None:
        self.by_class = [0] * len(STATUS_CLASSES)
        self.bytes_in = 0
        self.bytes_out = 0
        #: requests per duration bucket (not cumulative; the last: +Inf)
        self.buckets = [0] * (len(DURATION_BUCKETS) + 1)
        self.seconds = 0.0


class Metrics:
    """The families of one server process, in their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None, process: bool = True,
                 front: bool = True):
        """``front=False``: no request or KMS families (a supervisor of
        workers: theirs come from metrics/shared.py, never twice)."""
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        #: operation -> its counters; error code -> responses; requests begun
        self.ops: dict[str, _OpStats] = {}
        self.errors: dict[str, int] = {}
        self.started = 0
        self.done = 0
        if front:
            r.register(RequestCollector(self))
        self.kv_batch_seconds = Histogram(
            "cloudserver_metadata_kv_batch_seconds",
            "time to write and sync one group-commit batch of the metadata KV",
            buckets=SYNC_BUCKETS, registry=r)
        self.kv_batch_size = Histogram(
            "cloudserver_metadata_kv_batch_writes",
            "writes per group-commit batch of the metadata KV",
            buckets=BATCH_BUCKETS, registry=r)
        self.fsync_seconds = Histogram("cloudserver_data_fsync_seconds",
                                       "fdatasync of a new data file (file store)",
                                       buckets=SYNC_BUCKETS, registry=r)
        if front:
            self.kms_calls = Counter("cloudserver_kms_calls", HELP_KMS_CALLS, ["method"],
                                     registry=r)
            self.kms_failures = Counter("cloudserver_kms_failures", HELP_KMS_FAILURES,
                                        ["method"], registry=r)
        if process:
            ProcessCollector(registry=r)

    def register(self, collector: Any) -> None:
        """Add a scrape-time collector (collectors.py) to this registry."""
        self.registry.register(collector)

    def request_started(self) -> None:
        self.started += 1

    def request_done(self, operation: str, status: int, error: str,
                     bytes_in: int, bytes_out: int, seconds: float) -> None:
        """A request is over (resource.S3Resource._log, beside the access line)."""
        self.done += 1
        op = self.ops.get(operation)
        if op is None:
            op = self.ops[operation] = _OpStats()
        klass = status // 100
        op.by_class[klass if 0 < klass < 6 else 0] += 1
        op.bytes_in += bytes_in
        op.bytes_out += bytes_out
        op.buckets[bisect_left(DURATION_BUCKETS, seconds)] += 1
        op.seconds += seconds
        if error and error != "-":
            errors = self.errors
            errors[error] = errors.get(error, 0) + 1

    def kv_batch(self, writes: int, seconds: float) -> None:
        """A group-commit batch is durable (metadata.kv.GroupCommitter.on_batch)."""
        self.kv_batch_size.observe(writes)
        self.kv_batch_seconds.observe(seconds)

    def fsync(self, seconds: float) -> None:
        """A data file was synced (data.file_writer, in a worker thread: the
        library's metrics are thread-safe)."""
        self.fsync_seconds.observe(seconds)


class RequestCollector:
    """The request families of one Metrics, built from its plain counters
    when scraped (in a worker thread: every dict is copied first)."""

    def __init__(self, metrics: Metrics):
        self.metrics = metrics

    def describe(self):
        return []

    def collect(self):
        m = self.metrics
        ops = sorted(dict(m.ops).items())
        requests = CounterMetricFamily("cloudserver_requests", HELP_REQUESTS,
                                       labels=["operation", "status_class"])
        received = CounterMetricFamily("cloudserver_request_received_bytes",
                                       HELP_RECEIVED, labels=["operation"])
        sent = CounterMetricFamily("cloudserver_response_sent_bytes",
                                   HELP_SENT, labels=["operation"])
        duration = HistogramMetricFamily(
            "cloudserver_request_duration_seconds",
            HELP_DURATION, labels=["operation"])
        for name, op in ops:
            for klass, count in zip(STATUS_CLASSES, list(op.by_class)):
                if count:
                    requests.add_metric([name, klass], count)
            received.add_metric([name], op.bytes_in)
            sent.add_metric([name], op.bytes_out)
            counts, total = list(op.buckets), 0
            buckets = []
            for bound, count in zip(_BOUNDS, counts):
                total += count
                buckets.append((bound, total))
            duration.add_metric([name], buckets, op.seconds)
        errors = CounterMetricFamily("cloudserver_errors", HELP_ERRORS,
                                     labels=["code"])
        for code, count in sorted(dict(m.errors).items()):
            errors.add_metric([code], count)
        in_flight = GaugeMetricFamily("cloudserver_requests_in_flight",
                                      HELP_IN_FLIGHT)
        in_flight.add_metric([], max(m.started - m.done, 0))
        yield from (requests, duration, received, sent, errors, in_flight)
