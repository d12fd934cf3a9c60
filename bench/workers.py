#!/usr/bin/env python3
"""Several workers (config.json ``clusters``): small requests against
all-in-one, a dmd + one front (TCP and Unix hops) and clusters 2.

    .venv/bin/python bench/workers.py                 # 3 rounds of 6 s, ~8 minutes
    .venv/bin/python bench/workers.py --rounds 5 --duration 10

Servers (file backend, the same snapshot of the tree, ports 8700-8734):

- ``all-in-one``   one ``twistd cloudserver`` process (clusters 1, the default)
- ``dmd+1 tcp``    ``--mode dmd`` + one ``--mode s3`` front over :9990/:9991
- ``dmd+1 unix``   the same front over the dmd's Unix sockets
  (``--metadata-socket/--data-socket``): what one worker of a supervisor costs
- ``clusters 2``   ``clusters: 2``: the supervisor (dmd) + two workers on one
  shared listening socket (``CLOUDSERVER_WORKER_SOCKETS=shared``), reaching
  the dmd over the Unix sockets
- ``clusters 2 rp`` the same with one SO_REUSEPORT socket per worker (the
  default)

The workloads are bench/run.py's small ones (PUT 4 KiB, GET 4 KiB, HEAD,
DELETE at 32 connections, wrk / hey), the servers' order rotated per round;
each figure is the median over rounds.  CPU per request counts every
process of a server (supervisor and workers); the hop's cost is a
front's CPU per request less all-in-one's.  For the clusters servers each
worker's share of the workers' CPU is recorded (the spread).
Results: bench/results/<date>-workers.{md,json}.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import run as run_mod  # noqa: E402
from bench.procstat import cpu_seconds  # noqa: E402
from bench.servers import (SMALL, OurServer, StartError, default_python,  # noqa: E402
                           parent_map, with_descendants)

ORDER = ("all-in-one", "dmd+1 tcp", "dmd+1 unix", "clusters 2", "clusters 2 rp")


def children(pid: int) -> list[int]:
    return sorted(with_descendants([pid], parent_map())[1:])


class UnixFront(OurServer):
    """dmd + one s3 front reaching it over the dmd's Unix sockets."""

    def commands(self):
        (dmd, env, port), (front, env2, port2) = super().commands()
        md = Path(env["S3METADATAPATH"])
        front = front + ["--metadata-socket", str(md / "dmd-rpc.sock"),
                         "--data-socket", str(md / "dmd-data.sock")]
        return [(dmd, env, port), (front, env2, port2)]


class Clusters(OurServer):
    """``clusters: N``: pids are the supervisor's and its workers'."""

    def __init__(self, *args, clusters: int = 2, reuseport: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.clusters = clusters
        self.reuseport = reuseport

    def _config(self):
        path = super()._config()
        config = json.loads(path.read_text())
        config["clusters"] = self.clusters
        path.write_text(json.dumps(config, indent=4))
        return path

    def commands(self):
        cmds = super().commands()
        sockets = "reuseport" if self.reuseport else "shared"
        cmds = [(argv, {**env, "CLOUDSERVER_WORKER_SOCKETS": sockets}, port)
                for argv, env, port in cmds]
        return cmds

    def start(self, timeout: float = 30.0) -> None:
        import time

        super().start(timeout)
        deadline = time.monotonic() + timeout  # the workers, once both are up
        while len(self.workers) < self.clusters and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(3)  # their start-up (imports) done before the first round

    @property
    def workers(self) -> list[int]:
        return children(self.procs[0].pid) if self.procs else []

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs] + self.workers


class WorkersBench(run_mod.Bench):
    def make_servers(self):
        python = self.args.python or default_python()
        checkout = self.snapshot()
        common = dict(checkout=checkout, log_level=self.args.log_level)
        made = [OurServer("all-in-one", 0, self.workdir, python, "file", **common),
                OurServer("dmd+1 tcp", 0, self.workdir, python, "file", split=True, **common),
                UnixFront("dmd+1 unix", 0, self.workdir, python, "file", split=True, **common),
                Clusters("clusters 2", 0, self.workdir, python, "file", **common),
                Clusters("clusters 2 rp", 0, self.workdir, python, "file", reuseport=True,
                         **common)]
        wanted = self.args.servers.split(",")
        for i, server in enumerate(made):
            if server.name not in wanted:
                continue
            server.workdir = self.workdir / server.name.replace(" ", "-").replace("+", "")
            server.port, server.md_port, server.data_port = 8700 + i, 8720 + i, 8730 + i
            try:
                server.start()
            except StartError as e:
                self.skipped[server.name] = str(e).splitlines()[0]
                run_mod.log(f"skipping {server.name}: {e}")
                continue
            run_mod.log(f"started {server.name} on :{server.port} (pids {server.pids})")
            self.servers.append(server)

    def measure(self, server, workload, rnd):
        workers = getattr(server, "workers", [])
        # the dmd: a split server's first process, a supervisor itself
        dmd = server.procs[0].pid if len(server.procs) > 1 or workers else None
        before = {pid: cpu_seconds([pid]) for pid in workers}
        dmd0 = cpu_seconds([dmd]) if dmd else 0.0
        row = super().measure(server, workload, rnd)
        if row is not None and dmd:
            row["dmd_cpu_ms_per_op"] = (cpu_seconds([dmd]) - dmd0) * 1000 / (row["ops"] or 1)
        if row is not None and workers:
            used = {pid: cpu_seconds([pid]) - before[pid] for pid in workers}
            total = sum(used.values()) or 1.0
            row["worker_shares"] = sorted((u / total for u in used.values()), reverse=True)
        return row

    def report(self, started) -> None:
        rows = [r for r in self.results if "failed" not in r]
        out = Path(self.args.out)
        stem = f"{started:%Y-%m-%d}-workers"
        (out / f"{stem}.json").write_text(json.dumps(
            {"started": started.isoformat(), "args": vars(self.args), "rows": self.results,
             "skipped": self.skipped}, indent=1, default=str))
        lines = [f"# {started:%Y-%m-%d %H:%M} — several workers (bench/workers.py)", "",
                 f"{self.environment_line()}; {self.rounds} rounds of {self.duration:.0f} s, "
                 "medians (min-max).", "",
                 "| workload | server | rate /s | CPU ms/req | of which dmd | server cores | "
                 "p99 ms | worker shares | other load |",
                 "|---|---|---:|---:|---:|---:|---:|---|---:|"]
        for w in self.workloads:
            for name in ORDER:
                mine = [r for r in rows if r["workload"] == w and r["server"] == name]
                if not mine:
                    continue
                rates = [r["value"] for r in mine]
                med = statistics.median
                shares = [r["worker_shares"] for r in mine if r.get("worker_shares")]
                dmds = [r["dmd_cpu_ms_per_op"] for r in mine if "dmd_cpu_ms_per_op" in r]
                dmd_ms = f"{med(dmds):.3f}" if dmds else "-"
                share = " / ".join(f"{med(s[i] for s in shares):.2f}"
                                   for i in range(len(shares[0]))) if shares else "-"
                lines.append(
                    f"| {run_mod.LABELS[w]} | {name} | {med(rates):,.0f} "
                    f"({min(rates):,.0f}-{max(rates):,.0f}) | "
                    f"{med(r['cpu_ms_per_op'] for r in mine):.3f} | {dmd_ms} | "
                    f"{med(r['server_cpu_cores'] for r in mine):.2f} | "
                    f"{med(r['p99_ms'] for r in mine):.1f} | {share} | "
                    f"{med(r['background_cores'] for r in mine):.2f} |")
        if self.skipped:
            lines += ["", "Skipped: " + "; ".join(f"{k}: {v}" for k, v in self.skipped.items())]
        (out / f"{stem}.md").write_text("\n".join(lines) + "\n")
        print("\n".join(lines))


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--duration", type=float, default=6)
    p.add_argument("--servers", default=",".join(ORDER))
    p.add_argument("--workloads", type=lambda s: s.split(","), default=list(SMALL))
    p.add_argument("--workdir")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--live", action="store_true")
    p.add_argument("--python")
    p.add_argument("--log-level")
    p.add_argument("--max-rate", type=float, default=4000)
    p.add_argument("--nice", type=int, default=0)
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = p.parse_args(argv)
    args.quick, args.base_port, args.mpu_concurrency = False, 8700, 4
    args.list100k_servers = ""
    run_mod.limits_mod.measure = lambda *a, **k: {}  # not needed here
    WorkersBench(args).run()


if __name__ == "__main__":
    main()
