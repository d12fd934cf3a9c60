# -*- test-case-name: tests.unit.test_metrics -*-
"""The metric families and the few calls that move them.

Labels are bounded: an operation name (the routing table's, or the HTTP
method of an unrouted request), a status class (``2xx``..``5xx``), an S3
error code, an RPC or KMS method name.  No bucket or key ever becomes a
label.  A request's children are looked up once per operation and kept, so
a request costs a dict lookup and a handful of increments.
"""
from __future__ import annotations

from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import ProcessCollector

#: Request durations: small requests take ~1 ms, big transfers seconds.
DURATION_BUCKETS = (.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30)
#: fsync and synced KV batches: tens of µs on NVMe, tens of ms on disks.
SYNC_BUCKETS = (.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1)
#: writes per group-commit batch
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
STATUS_CLASSES = {1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}


class Metrics:
    """The families of one server process, in their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None, process: bool = True):
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.requests = Counter("cloudserver_requests", "S3 requests answered",
                                ["operation", "status_class"], registry=r)
        self.duration = Histogram("cloudserver_request_duration_seconds",
                                  "S3 request duration, first byte in to last byte out",
                                  ["operation"], buckets=DURATION_BUCKETS, registry=r)
        self.bytes_in = Counter("cloudserver_request_received_bytes",
                                "request body bytes received", ["operation"], registry=r)
        self.bytes_out = Counter("cloudserver_response_sent_bytes",
                                 "response body bytes sent", ["operation"], registry=r)
        self.in_flight = Gauge("cloudserver_requests_in_flight",
                               "S3 requests received and not yet answered", registry=r)
        self.errors = Counter("cloudserver_errors", "S3 error responses by error code",
                              ["code"], registry=r)
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
        self.kms_calls = Counter("cloudserver_kms_calls", "KMS calls", ["method"], registry=r)
        self.kms_failures = Counter("cloudserver_kms_failures", "KMS calls that failed",
                                    ["method"], registry=r)
        if process:
            ProcessCollector(registry=r)
        self._per_op: dict[str, tuple[Any, Any, Any]] = {}
        self._per_status: dict[tuple[str, int], Any] = {}

    def register(self, collector: Any) -> None:
        """Add a scrape-time collector (collectors.py) to this registry."""
        self.registry.register(collector)

    def request_started(self) -> None:
        self.in_flight.inc()

    def request_done(self, operation: str, status: int, error: str,
                     bytes_in: int, bytes_out: int, seconds: float) -> None:
        """A request is over (resource.S3Resource._log, beside the access line)."""
        self.in_flight.dec()
        children = self._per_op.get(operation)
        if children is None:
            children = (self.duration.labels(operation), self.bytes_in.labels(operation),
                        self.bytes_out.labels(operation))
            self._per_op[operation] = children
        duration, received, sent = children
        duration.observe(seconds)
        if bytes_in:
            received.inc(bytes_in)
        if bytes_out:
            sent.inc(bytes_out)
        klass = status // 100
        counter = self._per_status.get((operation, klass))
        if counter is None:
            counter = self.requests.labels(operation, STATUS_CLASSES.get(klass, "other"))
            self._per_status[(operation, klass)] = counter
        counter.inc()
        if error and error != "-":
            self.errors.labels(error).inc()

    def kv_batch(self, writes: int, seconds: float) -> None:
        """A group-commit batch is durable (metadata.kv.GroupCommitter.on_batch)."""
        self.kv_batch_size.observe(writes)
        self.kv_batch_seconds.observe(seconds)

    def fsync(self, seconds: float) -> None:
        """A data file was synced (data.file_writer, in a worker thread: the
        library's metrics are thread-safe)."""
        self.fsync_seconds.observe(seconds)
