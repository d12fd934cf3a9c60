# -*- test-case-name: tests.unit.test_bench_harness -*-
"""What of bench/ can be checked without a server: the upstream peer's
commands and config, the processes counted for it, and the ratios and table
of the report (per round, ours ÷ upstream and ÷ the ceiling).  No timing is
asserted: the rows are made up."""
from __future__ import annotations

import contextlib
import datetime
import io
import json
import sys
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench import run as run_mod  # noqa: E402
from bench.servers import StartError, UpstreamServer, with_descendants  # noqa: E402
from bench.tables import fmt_vs_upstream, round_ratio  # noqa: E402


def fake_peer(root: Path) -> Path:
    tree = root / "cloudserver"
    (tree / "node_modules").mkdir(parents=True)
    for name in ("index.js", "mdserver.js", "dataserver.js"):
        (tree / name).write_text("")
    (tree / "config.json").write_text(json.dumps({
        "port": 8000, "clusters": 10, "restEndpoints": {"127.0.0.1": "us-east-1"},
        "metadataDaemon": {"bindAddress": "localhost", "port": 9990},
        "dataDaemon": {"bindAddress": "localhost", "port": 9991}}))
    return root


class UpstreamServerTests(SynchronousTestCase):

    def test_commands(self):
        """Its three processes on this server's ports, with their data in the
        work directory and a config copy that keeps the rest unchanged."""
        peer = fake_peer(Path(self.mktemp()))
        work = Path(self.mktemp())
        server = UpstreamServer("upstream", 8605, work, "python", peer, node="/usr/bin/node")
        self.assertIsNone(server.missing())
        cmds = server.commands()
        self.assertEqual([argv for argv, _, _ in cmds],
                         [["/usr/bin/node", "mdserver.js"], ["/usr/bin/node", "dataserver.js"],
                          ["/usr/bin/node", "index.js"]])
        self.assertEqual([port for _, _, port in cmds], [8645, 8675, 8605])
        env = cmds[0][1]
        self.assertEqual(env["S3BACKEND"], "file")
        self.assertEqual(env["S3DATAPATH"], str(work / "upstream" / "data"))
        self.assertEqual(env["S3METADATAPATH"], str(work / "upstream" / "metadata"))
        config = json.loads(Path(env["S3_CONFIG_FILE"]).read_text())
        self.assertEqual(config["port"], 8605)
        self.assertEqual(config["clusters"], 1)
        self.assertEqual(config["metadataDaemon"], {"bindAddress": "127.0.0.1", "port": 8645})
        self.assertEqual(config["dataClient"], {"host": "127.0.0.1", "port": 8675})
        self.assertEqual(config["restEndpoints"], {"127.0.0.1": "us-east-1"})
        self.assertEqual(server.cwd(), str(peer / "cloudserver"))
        self.assertEqual(server.kind, "upstream")

    def test_absent_build(self):
        """No build: the start fails with a reason, which the run reports as a
        skipped server, before any process is started."""
        server = UpstreamServer("upstream", 8605, Path(self.mktemp()), "python",
                                Path(self.mktemp()))
        self.assertIn("no upstream build", server.missing())
        e = self.assertRaises(StartError, server.start)
        self.assertIn("index.js is missing", str(e))
        self.assertEqual(server.procs, [])

    def test_descendants(self):
        """The cluster's worker (a child of the primary) and its children are
        counted; other processes are not."""
        parents = {10: 1, 11: 10, 12: 11, 20: 1, 21: 20, 30: 1}
        self.assertEqual(with_descendants([10, 30], parents), [10, 30, 11, 12])
        self.assertEqual(with_descendants([99], parents), [99])


def row(server, kind, workload, rnd, value):
    return {"server": server, "kind": kind, "workload": workload, "round": rnd,
            "value": value, "unit": "", "p50_ms": 1.0, "p99_ms": 2.0, "errors": 0,
            "ops": 100, "cpu_ms_per_op": 0.2, "server_cpu_cores": 1.0,
            "peak_rss_mb": 100.0, "background_cores": 0.1}


class FakeServer:
    def __init__(self, name, kind):
        self.name, self.kind = name, kind


class RatioTests(SynchronousTestCase):

    def test_round_ratio(self):
        """Each round against the same round; the median of those."""
        ours = [{"round": 0, "value": 300}, {"round": 1, "value": 100},
                {"round": 2, "value": 500}]
        ref = [{"round": 0, "value": 100}, {"round": 1, "value": 100},
               {"round": 2, "value": 100}]
        self.assertEqual(round_ratio(ours, ref), (3.0, [3.0, 1.0, 5.0]))
        # a duration: lower is better, so the ratio is inverted
        self.assertEqual(round_ratio([{"round": 0, "value": 0.5}], [{"round": 0, "value": 1.0}],
                                     lower_is_better=True), (2.0, [2.0]))
        # a round the reference lacks (failed) is left out
        self.assertEqual(round_ratio(ours, ref[:1]), (3.0, [3.0]))
        self.assertEqual(round_ratio(ours, []), (None, []))

    def test_fmt(self):
        s = {"vs_upstream": 2.5, "vs_upstream_rounds": [2.0, 2.5, 3.0]}
        self.assertEqual(fmt_vs_upstream("get4k", s), "**2.50×** (2.00/2.50/3.00); ≥ 2 ✔")
        s = {"vs_upstream": 1.5, "vs_upstream_rounds": [1.5]}
        self.assertEqual(fmt_vs_upstream("mpu_up", s), "**1.50×** (1.50); ≥ 1.6 ✘")
        self.assertEqual(fmt_vs_upstream("list10k", s), "**1.50×** (1.50)")
        self.assertEqual(fmt_vs_upstream("get4k", {}), "—")

    def bench(self, servers, results):
        out = Path(self.mktemp())
        args = run_mod.parser().parse_args(
            ["--workdir", self.mktemp(), "--out", str(out), "--rounds", "2",
             "--workloads", "get4k,put256m,list10k", "--upstream", "/nowhere"])
        bench = run_mod.Bench(args)
        bench.servers = [FakeServer(n, k) for n, k in servers]
        bench.results = results
        bench.limits = {"disk_write_fsync_mb_s": 500.0, "loopback_mb_s": 2000.0}
        return bench, out

    def test_summary_and_table(self):
        """Ours ÷ upstream per round beside the ratio to the ceiling."""
        kinds = {"ceiling": "ceiling", "ours-file": "ours", "upstream": "upstream"}
        results = [row(server, kinds[server], w, rnd, value) for server, w, rnd, value in (
            ("ceiling", "get4k", 0, 8000), ("ceiling", "get4k", 1, 4000),
            ("ours-file", "get4k", 0, 4000), ("ours-file", "get4k", 1, 1000),
            ("upstream", "get4k", 0, 2000), ("upstream", "get4k", 1, 1000),
            ("ours-file", "put256m", 0, 400), ("ours-file", "put256m", 1, 500),
            ("upstream", "put256m", 0, 250), ("upstream", "put256m", 1, 200),
            ("ours-file", "list10k", 0, 0.2), ("upstream", "list10k", 0, 0.4))]
        bench, out = self.bench([("ceiling", "ceiling"), ("ours-file", "ours"),
                                 ("upstream", "upstream")], results)
        summary = bench.summary()
        get = summary["get4k"]["ours-file"]
        self.assertEqual(get["vs_upstream_rounds"], [2.0, 1.0])
        self.assertEqual(get["vs_upstream"], 1.5)
        self.assertEqual((get["ratio"], get["ratio_to"]), (0.375, "ceiling"))  # 0.5, 0.25
        up = summary["get4k"]["upstream"]
        self.assertNotIn("vs_upstream", up)
        self.assertEqual(up["ratio"], 0.25)
        put = summary["put256m"]["ours-file"]
        self.assertEqual(put["vs_upstream_rounds"], [1.6, 2.5])
        self.assertEqual(summary["put256m"]["upstream"]["ratio_to"], "disk write+fsync")
        self.assertEqual(summary["list10k"]["ours-file"]["vs_upstream"], 2.0)

        with contextlib.redirect_stdout(io.StringIO()):
            bench.report(datetime.datetime(2026, 12, 2, 16, 0))
        text = (out / "2026-12-02-1600.md").read_text()
        lines = text.splitlines()
        header = next(line for line in lines if line.startswith("| workload | target"))
        self.assertIn("| ceiling | ours-file | upstream | ours-file ÷ upstream", header)
        self.assertNotIn("upstream (11-22)", header)
        get_line = next(line for line in lines if line.startswith("| GET 4 KiB"))
        self.assertIn("0.38× ceil, 1.50× up", get_line)
        self.assertIn("**1.50×** (2.00/1.00); ≥ 2 ✘", get_line)
        cells = len(header.split("|"))
        for line in lines:
            if line.startswith("| peak RSS") or line.startswith("| GET 4 KiB"):
                self.assertEqual(len(line.split("|")), cells, line)
        data = json.loads((out / "2026-12-02-1600.json").read_text())
        self.assertEqual(data["summary"]["get4k"]["ours-file"]["vs_upstream"], 1.5)

    def test_without_upstream(self):
        """No upstream measured: the table keeps the older published figures."""
        results = [row("ceiling", "ceiling", "get4k", 0, 8000),
                   row("ours-file", "ours", "get4k", 0, 4000)]
        bench, out = self.bench([("ceiling", "ceiling"), ("ours-file", "ours")], results)
        summary = bench.summary()
        self.assertNotIn("vs_upstream", summary["get4k"]["ours-file"])
        with contextlib.redirect_stdout(io.StringIO()):
            bench.report(datetime.datetime(2026, 12, 2, 16, 1))
        text = (out / "2026-12-02-1601.md").read_text()
        self.assertIn("| upstream (11-22) | ceiling | ours-file |", text)
