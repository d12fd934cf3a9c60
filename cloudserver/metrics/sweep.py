# -*- test-case-name: tests.unit.test_sweep -*-
"""The orphan sweep's figures (cloudserver.data.sweep.SweepStats), read at
scrape time: ``cloudserver_orphan_sweeps_total``,
``cloudserver_orphan_entries_examined_total``,
``cloudserver_orphan_files_removed_total``,
``cloudserver_orphan_bytes_removed_total``,
``cloudserver_orphan_sweep_failures_total`` and the last sweep's duration."""
from __future__ import annotations

from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily


class SweepCollector:
    def __init__(self, stats: Any):
        self.stats = stats

    def collect(self):
        s = self.stats
        for name, doc, value in (
                ("cloudserver_orphan_sweeps", "orphan sweeps run", s.sweeps),
                ("cloudserver_orphan_entries_examined",
                 "data intent entries the orphan sweep examined", s.examined),
                ("cloudserver_orphan_files_removed",
                 "orphan data files the sweep removed", s.removed),
                ("cloudserver_orphan_bytes_removed",
                 "bytes of the orphan data files the sweep removed", s.removed_bytes),
                ("cloudserver_orphan_sweep_failures",
                 "orphan data files the sweep could not remove", s.failures)):
            family = CounterMetricFamily(name, doc)
            family.add_metric([], value)
            yield family
        last = GaugeMetricFamily("cloudserver_orphan_sweep_last_seconds",
                                 "duration of the last orphan sweep")
        last.add_metric([], s.last_seconds)
        yield last

    def describe(self):
        return []
