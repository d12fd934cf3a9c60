# -*- test-case-name: tests.functional.test_crash -*-
"""The crash harness (bench/crash.py) in CI size: a few cycles of
concurrent PUT / CopyObject / DeleteObjects / multipart load killed with
SIGKILL, all-in-one and split (dmd + front); after each restart nothing
acknowledged is lost or corrupt, listings match reads, aborted uploads are
gone and no orphan data file is left once the sweep ran.  bench/README.md
"Crash harness" has the 100-cycle figures."""
from __future__ import annotations

from twisted.trial import unittest

from bench import crash


class CrashHarnessTests(unittest.SynchronousTestCase):

    def check(self, mode: str, cycles: int, seed: int) -> None:
        lines: list[str] = []
        report = crash.run(mode, cycles, seed=seed, workers=3, keys=8, min_load=0.4,
                           max_load=1.5, workdir=self.mktemp(), log=lines.append)
        self.assertEqual(report["cycles"], cycles)
        self.assertEqual(report["failed"], [], "\n".join(lines))
        self.assertGreater(report["acknowledged"], 0)

    def test_all_in_one(self) -> None:
        self.check("all", 2, seed=11)

    def test_split_dmd_and_front(self) -> None:
        self.check("split", 2, seed=12)
