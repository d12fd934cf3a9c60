# -*- test-case-name: tests.unit.test_metrics -*-
"""Families read at scrape time from counters the lower layers keep anyway.

The lifecycle executor's ``stats``, the dmd RPC ends' ``CallStats`` and the
data directory's filesystem are read when Prometheus scrapes, not on every
call: the request path pays nothing for them, and cloudserver.metadata /
cloudserver.lifecycle stay free of any metrics import.
"""
from __future__ import annotations

import os
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from cloudserver.replication.replicator import percentile


class LifecycleCollector:
    """``cloudserver_lifecycle_actions_total{kind}``: the executor's stats
    (expire, delete markers, noncurrent, abort, transition, locked, raced,
    errors, unsupported, examined), and its walks."""

    def __init__(self, executor: Any):
        self.executor = executor

    def collect(self):
        family = CounterMetricFamily("cloudserver_lifecycle_actions",
                                     "lifecycle executor: objects examined and actions "
                                     "taken, by kind", labels=["kind"])
        for kind, count in sorted(dict(self.executor.stats).items()):
            family.add_metric([kind], count)
        yield family

    def describe(self):
        return []


class NotificationCollector:
    """``cloudserver_notifications_total{destination, outcome}``: the
    delivery service's POSTs answered 2xx (delivered), attempts that failed
    (failed, each retried) and events given up (dropped)."""

    def __init__(self, delivery: Any):
        self.delivery = delivery

    def collect(self):
        family = CounterMetricFamily("cloudserver_notifications",
                                     "bucket notifications by destination and outcome",
                                     labels=["destination", "outcome"])
        for name, stats in sorted(self.delivery.stats().items()):
            for outcome in ("delivered", "failed", "dropped"):
                family.add_metric([name, outcome], stats[outcome])
        yield family


class ReplicationCollector:
    """``cloudserver_replication_versions_total{outcome}`` (completed, failed:
    copies that failed, each retry counted), the copies in flight, and the
    lag (write to COMPLETED) of the latest 10,000 versions as quantiles."""

    def __init__(self, replicator: Any):
        self.replicator = replicator

    def collect(self):
        r = self.replicator
        versions = CounterMetricFamily("cloudserver_replication_versions",
                                       "replication: versions copied, and failed copies",
                                       labels=["outcome"])
        versions.add_metric(["completed"], r.completed)
        versions.add_metric(["failed"], r.failures)
        yield versions
        in_flight = GaugeMetricFamily("cloudserver_replication_in_flight",
                                      "replication: copies in progress")
        in_flight.add_metric([], len(r._inflight))
        yield in_flight
        lags = sorted(list(r.lags))  # scrapes run in a worker thread: copy first
        lag = GaugeMetricFamily("cloudserver_replication_lag_seconds",
                                "replication: seconds from a version's write to its "
                                "COMPLETED, over the latest versions", labels=["quantile"])
        if lags:
            for q in (50, 99):
                lag.add_metric([f"0.{q}"], percentile(lags, q))
        yield lag

    def describe(self):
        return []


class RPCCollector:
    """The dmd RPC counters of one end: ``side`` is ``client`` (an S3 front
    in --mode s3) or ``server`` (the dmd's :9990)."""

    def __init__(self, stats: Any, side: str):
        self.stats = stats
        self.side = side

    def collect(self):
        # Scrapes run in a worker thread: copy before iterating.
        stats = self.stats
        counts = dict(stats.calls)
        calls = CounterMetricFamily("cloudserver_dmd_rpc_calls", "metadata RPC calls",
                                    labels=["side", "method"])
        for method, count in sorted(counts.items()):
            calls.add_metric([self.side, method], count)
        yield calls
        in_flight = GaugeMetricFamily("cloudserver_dmd_rpc_in_flight",
                                      "metadata RPC calls not answered yet", labels=["side"])
        in_flight.add_metric([self.side], stats.in_flight)
        yield in_flight
        if self.side == "client":
            reconnects = CounterMetricFamily(
                "cloudserver_dmd_rpc_reconnects",
                "connections to the metadata daemon made after the first", labels=["side"])
            reconnects.add_metric([self.side], max(stats.connections - 1, 0))
            yield reconnects
        else:
            accepted = CounterMetricFamily("cloudserver_dmd_rpc_connections",
                                           "metadata RPC connections accepted",
                                           labels=["side"])
            accepted.add_metric([self.side], stats.connections)
            yield accepted

    def describe(self):
        return []


class DataPathCollector:
    """Free and used bytes of the filesystem holding the data directory
    (statvfs at scrape time: one syscall per scrape)."""

    def __init__(self, path: str):
        self.path = path

    def collect(self):
        try:
            st = os.statvfs(self.path)
        except OSError:
            return
        free = GaugeMetricFamily("cloudserver_data_free_bytes",
                                 "bytes available to cloudserver on the data filesystem")
        free.add_metric([], st.f_bavail * st.f_frsize)
        yield free
        used = GaugeMetricFamily("cloudserver_data_used_bytes",
                                 "bytes used on the data filesystem")
        used.add_metric([], (st.f_blocks - st.f_bfree) * st.f_frsize)
        yield used

    def describe(self):
        return []


#: Buckets of the per-bucket usage family (the largest by bytes); the rest
#: are summed under ``bucket="_other"`` (no bucket can be named so).
USAGE_TOP_BUCKETS = 100
OTHER_BUCKETS = "_other"
#: (family suffix, help, index in metadata.usage.FIELDS)
_USAGE_FAMILIES = (
    ("objects", "current objects (delete markers excluded)", 0),
    ("versions", "stored object versions, current and noncurrent", 2),
    ("bytes", "bytes of every stored version", 3),
    ("upload_bytes", "bytes of the parts of multipart uploads in progress", 6),
)


class UsageCollector:
    """Per-bucket usage (``cloudserver_bucket_*{bucket}``, the
    ``top`` largest buckets by bytes and an ``_other`` aggregate) and the
    server's totals (``cloudserver_usage_*``), from the metadata service's
    running totals (``MetadataService.usage.totals``, metadata/usage.py):
    nothing is scanned when scraped.  Only where the metadata lives (all,
    dmd); a bucket from before counters existed appears once counted."""

    def __init__(self, book: Any, top: int = USAGE_TOP_BUCKETS):
        self.book = book
        self.top = top

    def collect(self):
        # Scrapes run in a worker thread: copy the dict, then each total.
        rows = [(name, list(totals)) for name, totals in dict(self.book.totals).items()]
        rows.sort(key=lambda row: (-row[1][3], row[0]))
        shown, rest = rows[:self.top], rows[self.top:]
        if rest:
            other = [sum(col) for col in zip(*(totals for _, totals in rest))]
            shown.append((OTHER_BUCKETS, other))
        for suffix, text, index in _USAGE_FAMILIES:
            family = GaugeMetricFamily(f"cloudserver_bucket_{suffix}", f"per bucket: {text}",
                                       labels=["bucket"])
            for name, totals in shown:
                family.add_metric([name], totals[index])
            yield family
        buckets = GaugeMetricFamily("cloudserver_usage_buckets", "buckets counted")
        buckets.add_metric([], len(rows))
        yield buckets
        for suffix, text, index in _USAGE_FAMILIES:
            total = GaugeMetricFamily(f"cloudserver_usage_{suffix}", f"all buckets: {text}")
            total.add_metric([], sum(totals[index] for _, totals in rows))
            yield total

    def describe(self):
        return []
