"""The memory report (cloudserver.memdiag): off unless CLOUDSERVER_TRACEMALLOC
is set; the resident split read from smaps; one log line per interval."""
from __future__ import annotations

import os
import tracemalloc

from twisted.application.service import MultiService
from twisted.internet.task import Clock
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.memdiag import ENV, MemoryReport, add_memory_report, resident

SMAPS = """\
55d0c0000000-55d0c0100000 r-xp 00000000 08:01 42   /usr/bin/python3.11
Size:               1024 kB
Rss:                 800 kB
Anonymous:             0 kB
55d0c1000000-55d0c2000000 rw-p 00000000 00:00 0    [heap]
Rss:                4096 kB
Anonymous:          4096 kB
7f0000000000-7f0000200000 r--p 00000000 08:01 77   /srv/metadata/000005.ldb
Rss:                1536 kB
Anonymous:             0 kB
VmFlags: rd mr mw me
"""


class FakeKV:
    def memory(self):
        return {"leveldb_memory_mb": 8.5, "leveldb_tables": 3}


class ResidentTests(SynchronousTestCase):

    def test_split(self):
        proc = self.mktemp()
        os.makedirs(os.path.join(proc, "7"))
        with open(os.path.join(proc, "7", "smaps"), "w") as f:
            f.write(SMAPS)
        self.assertEqual(resident(7, proc=proc),
                         {"rss_anon_mb": 4.0, "rss_file_mb": 2.28125, "ldb_mapped_mb": 1.5})

    def test_no_proc(self):
        self.assertEqual(resident(7, proc=self.mktemp()), {})

    def test_self(self):
        figures = resident()
        if figures:  # Linux
            self.assertGreater(figures["rss_anon_mb"], 0)


class MemoryReportTests(SynchronousTestCase):

    def setUp(self):
        self.events = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)
        self.clock = Clock()
        self.anon = [100.0, 90.0]
        self.trims = 0

    def read(self):
        return {"rss_anon_mb": self.anon.pop(0) if self.anon else 90.0, "rss_file_mb": 20.0}

    def trim(self):
        self.trims += 1
        return True

    def lines(self):
        return [e["log_format"].format(**e) for e in self.events
                if e.get("log_namespace") == "cloudserver.memdiag"]

    def test_reports_every_interval(self):
        was_tracing = tracemalloc.is_tracing()
        report = MemoryReport(self.clock, 30, FakeKV(), self.read, self.trim)
        report.startService()
        first = self.lines()
        self.assertEqual(len(first), 1)
        self.assertIn("rss_anon_mb=100.0", first[0])
        self.assertIn("leveldb_tables=3", first[0])
        self.assertIn("trim_released_mb=10.0", first[0])
        self.assertIn("traced_mb=", first[0])
        self.clock.advance(30)
        self.assertEqual(self.trims, 2)
        self.assertTrue(any("grew most" in line for line in self.lines()))
        report.stopService()
        self.assertEqual(tracemalloc.is_tracing(), was_tracing)
        self.clock.advance(60)
        self.assertEqual(self.trims, 2)

    def test_env(self):
        parent = MultiService()
        add_memory_report({}, self.clock, parent)
        add_memory_report({ENV: "soon"}, self.clock, parent)
        add_memory_report({ENV: "-5"}, self.clock, parent)
        self.assertEqual(list(parent), [])
        self.assertEqual(sum("not a number" in line for line in self.lines()), 2)
        add_memory_report({ENV: "60"}, self.clock, parent, FakeKV())
        [report] = list(parent)
        self.assertEqual((report.interval, type(report.kv)), (60.0, FakeKV))
