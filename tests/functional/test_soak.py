# -*- test-case-name: tests.functional.test_soak -*-
"""
The soak at CI size: ``bench/soak.py`` for 40 s on 16 connections.

Long enough for every operation of the mix (multipart included) to run
many times against one server, with every answer checked (bytes, sizes,
listings); too short for a trend, so the flatness verdict is left to the
bench runs (bench/README.md) and only errors, tracebacks and the server's
survival are asserted here.
"""

from __future__ import annotations

import json
import subprocess
import sys

from twisted.trial import unittest

from tests.functional.server import CHECKOUT


class SoakCI(unittest.SynchronousTestCase):
    def test_short_soak(self):
        prefix = self.mktemp()
        argv = [sys.executable, str(CHECKOUT / "bench" / "soak.py"), "--minutes", "0.67",
                "--connections", "16", "--interval", "5", "--warmup", "10",
                "--disk-cap", "0.25", "--out", prefix]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=85)
        result = json.loads(open(prefix + ".json").read())
        summary = f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        self.assertEqual(result["errors"], {}, summary)
        self.assertEqual(result["meta"]["tracebacks"], 0, summary)
        self.assertTrue(result["meta"]["alive"], summary)
        self.assertGreater(sum(result["ops"].values()), 500, summary)
        self.assertGreater(result["ops"].get("mpu", 0), 5, summary)
