"""Run the benchmark: ours beside the ceiling and the peers, interleaved, in rounds.

    python3 bench/run.py            # full run (~25 min on the 2-core machine)
    python3 bench/run.py --quick    # 1 round, short runs, smaller objects, no 100k listing

Every server is started once and prepared (buckets, 1,000 small objects to
read, the listing buckets).  Then each round runs each workload on every
server, the servers' order rotated from round to round, so slow drifts of
the machine (other jobs, page cache, disk) fall on all of them alike.
Each figure is the median over rounds with its spread; it is printed as a
ratio to the ceiling or machine limit it belongs to.  Results go to
bench/results/<date>.{md,json}.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import limits as limits_mod  # noqa: E402
from bench.bigclient import MIB, BigClient  # noqa: E402
from bench.loadgen import run_hey_head, run_wrk, write_paths  # noqa: E402
from bench.procstat import Meter  # noqa: E402
from bench.servers import (CHECKOUT, SMALL, CeilingServer, MotoServer, OurServer,  # noqa: E402
                           StartError, UpstreamServer, default_python)
from bench.sigv4 import Presigner  # noqa: E402
from bench.tables import (LABELS, RSS_TARGET_MB, TARGETS, UNITS, UPSTREAM,  # noqa: E402
                          WORKLOADS, cpu_bound, fmt_num, fmt_target, fmt_vs_upstream, meets,
                          round_ratio, short)

BUCKET_SMALL, BUCKET_BIG = "bench-small", "bench-big"
READ_OBJECTS = 1000


def pg_table(table: str) -> dict:
    """config.json ``metadata`` of a postgres server: its own table."""
    return {"metadata": {"table": table}}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def machine_busy() -> float:
    """CPU seconds all cores have spent busy since boot (/proc/stat)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    """CPU of this process and its finished children (wrk, ab)."""
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.duration = args.duration or (4 if args.quick else 10)
        self.rounds = args.rounds or (1 if args.quick else 3)
        self.big = (64 if args.quick else 256) * MIB
        self.mpu = (256 if args.quick else 1024) * MIB
        self.workdir = Path(args.workdir or tempfile.mkdtemp(prefix="cloudserver-bench-",
                                                            dir="/var/tmp"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workloads = [w for w in (args.workloads or WORKLOADS)
                          if not (self.quick and w == "list100k" and not args.workloads)]
        self.results: list[dict] = []
        self.skipped: dict[str, str] = {}
        self.servers = []
        self.state: dict[str, dict] = {}
        #: the PostgreSQL of the postgres servers (tests/postgres_server.py)
        self.postgres = None

    # -- set-up -------------------------------------------------------------

    def snapshot(self) -> Path:
        """Copy the server's code so edits in the tree cannot change a run midway."""
        if self.args.live:
            return CHECKOUT
        snap = self.workdir / "checkout"
        if snap.exists():
            shutil.rmtree(snap)
        for part in ("cloudserver", "twisted", "conf"):
            shutil.copytree(CHECKOUT / part, snap / part,
                            ignore=shutil.ignore_patterns("__pycache__", "dropin.cache"))
        return snap

    def make_servers(self):
        python = self.args.python or default_python()
        port = self.args.base_port
        checkout = self.snapshot()
        wanted = self.args.servers.split(",")
        if self.args.upstream and "upstream" not in wanted:
            wanted.append("upstream")
        factories = {
            "ceiling": lambda p: CeilingServer("ceiling", p, self.workdir, python),
            "file": lambda p: OurServer("ours-file", p, self.workdir, python, "file",
                                        checkout=checkout, log_level=self.args.log_level),
            "mem": lambda p: OurServer("ours-mem", p, self.workdir, python, "mem",
                                       checkout=checkout, log_level=self.args.log_level),
            "dmd": lambda p: OurServer("ours-dmd", p, self.workdir, python, "file", split=True,
                                       checkout=checkout, log_level=self.args.log_level),
            "moto": lambda p: MotoServer("moto", p, self.workdir, python),
            "upstream": lambda p: UpstreamServer("upstream", p, self.workdir, python,
                                                 Path(self.args.upstream or "/nonexistent")),
            "postgres": lambda p: OurServer("ours-pg", p, self.workdir, python, "file",
                                            checkout=checkout, log_level=self.args.log_level,
                                            extra_env=self.postgres_env(),
                                            extra_config=pg_table("cs_all")),
            "pg-dmd": lambda p: OurServer("ours-pg-dmd", p, self.workdir, python, "file",
                                          split=True, checkout=checkout,
                                          log_level=self.args.log_level,
                                          extra_env=self.postgres_env(),
                                          extra_config=pg_table("cs_dmd")),
        }
        for i, name in enumerate(wanted):
            server = factories[name](port + i)
            try:
                server.start()
            except StartError as e:
                self.skipped[server.name] = str(e).splitlines()[0] + " | " + \
                    " / ".join(str(e).splitlines()[-3:])
                log(f"skipping {server.name}: {e}")
                continue
            log(f"started {server.name} on :{server.port} (pids {server.pids})")
            self.servers.append(server)

    def postgres_env(self) -> dict[str, str]:
        """The postgres metadata backend's environment: a PostgreSQL 15 of
        Debian's started for the run (fsync on, as LevelDB's batches are
        synced), on loopback; each server its own table."""
        if self.postgres is None:
            from tests.postgres_server import PostgresServer

            self.postgres = PostgresServer(durable=True)
            log(f"started PostgreSQL on :{self.postgres.port} ({self.postgres.dir})")
        return {"S3METADATA": "postgres", "S3METADATA_DSN": self.postgres.dsn}

    def prepare(self, server):
        """Buckets, the objects GET and HEAD read, the listing buckets."""
        st = self.state[server.name] = {"signer": Presigner(server.host)}
        signer = st["signer"]
        if server.kind == "ceiling":
            st["read_paths"] = [signer.path("GET", BUCKET_SMALL, f"obj/{i:06d}")
                                for i in range(READ_OBJECTS)]
            return
        client = BigClient(server.host, signer)
        for bucket in (BUCKET_SMALL, BUCKET_BIG, "bench-list10k", "bench-list100k"):
            client.create_bucket(bucket)
        keys = [f"obj/{i:06d}" for i in range(READ_OBJECTS)]
        self._fill(server, BUCKET_SMALL, keys, 4096)
        st["read_paths"] = [signer.path("GET", BUCKET_SMALL, k) for k in keys]
        for w, bucket, count in (("list10k", "bench-list10k", 10_000),
                                 ("list100k", "bench-list100k", 100_000)):
            if w in self.workloads and w in server.workloads and (
                    w != "list100k" or server.name in self.args.list100k_servers.split(",")):
                t0 = time.monotonic()
                n = self._fill(server, bucket, [f"dir{i % 10}/key-{i:07d}" for i in range(count)],
                               0)
                log(f"  {server.name}: {n} keys in {bucket} in {time.monotonic() - t0:.0f} s")

    def _fill(self, server, bucket: str, keys: list[str], size: int) -> int:
        signer = self.state[server.name]["signer"]
        # wrk's last connections repeat the last line while the others drain:
        # let that be a sentinel nobody reads (concurrent overwrites of one
        # key are a workload of their own, not a way to fill a bucket)
        paths = write_paths(self.workdir / f"fill-{server.name}.txt",
                            (signer.path("PUT", bucket, k) for k in [*keys, "zz-fill-end"]))
        for connections in (32, 4):
            result = run_wrk(server.host, paths, "PUT", body_size=size, once=True,
                             duration=3600, connections=connections)
            if not result["errors"]:
                self._refill_missing(server, bucket, keys, size)
                return result["ok"] - 1
            # moto answers the odd 500 under concurrency: PUT them all again, gently
            log(f"  {server.name}: {result['errors']} errors filling {bucket} "
                f"({result['statuses']}), again with {4} connections")
        raise RuntimeError(f"{server.name}: filling {bucket}: {result}")

    def _refill_missing(self, server, bucket: str, keys: list[str], size: int) -> None:
        """PUT again, one by one, what the fill did not create.  wrk's "once"
        mode may stop while a PUT is still in flight (the duplicates of the
        last line answer too), and the server rightly drops a PUT whose
        client went away; a GET round would then meet 404s."""
        prefix = os.path.commonprefix(keys) if keys else ""
        client = BigClient(server.host, self.state[server.name]["signer"])
        missing = sorted(set(keys) - client.list_keys(bucket, prefix))
        for key in missing:
            client.request("PUT", bucket, key, body=b"b" * size, expect=(200,))
        if missing:
            log(f"  {server.name}: {len(missing)} keys of {bucket} PUT again after the fill")

    # -- one measurement ------------------------------------------------------

    def measure(self, server, workload: str, rnd: int) -> dict | None:
        st = self.state[server.name]
        signer: Presigner = st["signer"]
        busy0, own0 = machine_busy(), own_cpu()
        extra: dict = {}
        with Meter(server.pids) as meter:
            t0 = time.perf_counter()
            if workload == "put4k":
                count = int(self.duration * self.args.max_rate)
                keys = [f"put/r{rnd}/{i:07d}" for i in range(count)]
                paths = write_paths(self.workdir / "put.txt",
                                    (signer.path("PUT", BUCKET_SMALL, k) for k in keys))
                t0 = time.perf_counter()
                r = run_wrk(server.host, paths, "PUT", body_size=4096, once=True,
                            duration=self.duration)
                st["put_keys"] = keys[:r["sent"]]
                if r["sent"] >= count:
                    extra["note"] = "URL list used up; raise --max-rate"
            elif workload == "get4k":
                paths = write_paths(self.workdir / "get.txt", st["read_paths"])
                t0 = time.perf_counter()
                r = run_wrk(server.host, paths, "GET", duration=self.duration)
            elif workload == "head":
                r = run_hey_head(server.host, signer.path("HEAD", BUCKET_SMALL, "obj/000000"),
                                duration=self.duration)
            elif workload == "delete":
                keys = st.pop("put_keys", None)
                if not keys:
                    return None
                paths = write_paths(self.workdir / "delete.txt",
                                    (signer.path("DELETE", BUCKET_SMALL, k) for k in keys))
                t0 = time.perf_counter()
                r = run_wrk(server.host, paths, "DELETE", once=True, duration=self.duration)
            else:
                r = self._big(server, workload, rnd)
            wall = time.perf_counter() - t0
        busy = machine_busy() - busy0
        own = own_cpu() - own0
        ops = r.get("ok") or 1
        row = {
            "server": server.name, "kind": server.kind, "workload": workload, "round": rnd,
            "value": r["value"] if "value" in r else r["rate"], "unit": UNITS[workload],
            "p50_ms": r["p50_ms"], "p99_ms": r["p99_ms"], "errors": r["errors"],
            "ops": r.get("ok"), "cpu_ms_per_op": meter.cpu * 1000 / ops,
            "server_cpu_cores": meter.cpu / wall if wall else 0.0,
            "peak_rss_mb": meter.peak_mb,
            # what else ran on the machine meanwhile (other users' jobs), in cores
            "background_cores": max(0.0, busy - meter.cpu - own) / wall if wall else 0.0,
            **extra,
        }
        return row

    def _big(self, server, workload: str, rnd: int) -> dict:
        client = BigClient(server.host, self.state[server.name]["signer"])
        if workload == "put256m":
            secs, _ = client.put_stream(BUCKET_BIG, f"big-r{rnd}", self.big)
            return {"value": self.big / secs / 1e6, "p50_ms": secs * 1000,
                    "p99_ms": secs * 1000, "errors": 0, "ok": 1}
        if workload == "get256m":
            secs, n = client.get_stream(BUCKET_BIG, f"big-r{rnd}")
            return {"value": n / secs / 1e6, "p50_ms": secs * 1000, "p99_ms": secs * 1000,
                    "errors": int(n != self.big), "ok": 1}
        if workload == "mpu_up":
            secs = client.multipart_upload(BUCKET_BIG, f"mpu-r{rnd}", self.mpu, 8 * MIB,
                                           self.args.mpu_concurrency)
            return {"value": self.mpu / secs / 1e6, "p50_ms": secs * 1000,
                    "p99_ms": secs * 1000, "errors": 0, "ok": 1}
        if workload == "mpu_down":
            secs, n = client.get_stream(BUCKET_BIG, f"mpu-r{rnd}")
            return {"value": n / secs / 1e6, "p50_ms": secs * 1000, "p99_ms": secs * 1000,
                    "errors": int(n != self.mpu), "ok": 1}
        bucket = "bench-list10k" if workload == "list10k" else "bench-list100k"
        want = (10_000 if workload == "list10k" else 100_000) + 1  # + the fill's sentinel
        secs, keys, pages = client.list_all(bucket)
        pages.sort()
        return {"value": secs, "p50_ms": statistics.median(pages) * 1000,
                "p99_ms": pages[min(len(pages) - 1, int(len(pages) * 0.99))] * 1000,
                "errors": int(keys != want), "ok": len(pages)}

    def cleanup_round(self, server, rnd: int) -> None:
        if server.kind == "ceiling":
            return
        client = BigClient(server.host, self.state[server.name]["signer"])
        for key in (f"big-r{rnd}", f"mpu-r{rnd}"):
            try:
                client.request("DELETE", BUCKET_BIG, key)
            except Exception as e:  # a failed workload may have left nothing
                log(f"  cleanup {server.name} {key}: {e}")

    # -- the run ----------------------------------------------------------------

    def run(self) -> None:
        started = datetime.datetime.now()
        if self.args.nice:
            # children (servers, wrk, hey) inherit it: on a shared machine the
            # measured processes then win the CPU over other users' jobs
            os.setpriority(os.PRIO_PROCESS, 0, self.args.nice)
        log(f"work directory {self.workdir}")
        log("measuring the machine's limits")
        self.limits = limits_mod.measure(str(self.workdir), quick=self.quick)
        for k, v in self.limits.items():
            log(f"  {k:34s} {v:12,.0f}")
        try:
            self.make_servers()
            for server in self.servers:
                log(f"preparing {server.name}")
                self.prepare(server)
            for rnd in range(self.rounds):
                order = self.servers[rnd % len(self.servers):] + \
                    self.servers[:rnd % len(self.servers)]
                for workload in self.workloads:
                    for server in order:
                        if workload not in server.workloads or (
                                workload == "list100k"
                                and server.name not in self.args.list100k_servers.split(",")):
                            continue
                        try:
                            row = self.measure(server, workload, rnd)
                        except Exception as e:  # one failure must not sink the run
                            log(f"round {rnd + 1} {workload:9s} {server.name:10s} "
                                f"FAILED {e!r}"[:400])
                            self.results.append({"server": server.name, "kind": server.kind,
                                                 "workload": workload, "round": rnd,
                                                 "failed": repr(e)[:300]})
                            continue
                        if row is None:
                            continue
                        self.results.append(row)
                        log(f"round {rnd + 1} {workload:9s} {server.name:10s} "
                            f"{row['value']:10,.2f} {row['unit']:5s} p50 {row['p50_ms']:8.1f} ms "
                            f"p99 {row['p99_ms']:8.1f} ms err {row['errors']} "
                            f"cpu {row['cpu_ms_per_op']:.3f} ms/op rss {row['peak_rss_mb']:.0f} MB"
                            f" bg {row['background_cores']:.2f}")
                for server in order:
                    self.cleanup_round(server, rnd)
        finally:
            for server in self.servers:
                server.stop()
            if self.postgres is not None:
                self.postgres.destroy()
        self.report(started)
        if not self.args.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # -- the report -----------------------------------------------------------

    def summary(self) -> dict:
        table: dict[str, dict[str, dict]] = {}
        for row in self.results:
            if "failed" in row:
                table.setdefault(row["workload"], {}).setdefault(row["server"], {})["failed"] = \
                    row["failed"]
                continue
            table.setdefault(row["workload"], {}).setdefault(row["server"], {}).setdefault(
                "rows", []).append(row)
        out: dict[str, dict[str, dict]] = {}
        for workload, per in table.items():
            for server, cell in per.items():
                rows = cell.get("rows", [])
                if not rows:
                    out.setdefault(workload, {})[server] = {"failed": cell.get("failed")}
                    continue
                values = [r["value"] for r in rows]
                med = statistics.median(values)
                out.setdefault(workload, {})[server] = {
                    "kind": rows[0]["kind"], "median": med, "min": min(values),
                    "max": max(values), "n": len(values),
                    "spread_pct": (max(values) - min(values)) / 2 / med * 100 if med else 0,
                    **{k: statistics.median(r[k] for r in rows)
                       for k in ("p50_ms", "p99_ms", "cpu_ms_per_op", "peak_rss_mb",
                                 "background_cores", "server_cpu_cores")},
                    "errors": sum(r["errors"] for r in rows),
                    "failed": cell.get("failed"),
                }
        for workload, per in out.items():
            rows_of = {server: cell.get("rows", []) for server, cell in table[workload].items()}
            for server, s in per.items():
                if "median" not in s:
                    continue
                s["ratio"], s["ratio_to"] = self.ratio(workload, server, s, per, rows_of)
                upstream = [n for n, c in per.items() if c.get("kind") == "upstream"]
                if s["kind"] == "ours" and upstream:
                    s["vs_upstream"], s["vs_upstream_rounds"] = round_ratio(
                        rows_of[server], rows_of[upstream[0]], UNITS[workload] == "s")
        return out

    def ratio(self, workload: str, server: str, s: dict, per: dict, rows_of: dict):
        """(ratio, what it is a ratio to) for one cell.  Small requests: the
        median over rounds of this round's rate ÷ the ceiling's in the same
        round, so a drift of the machine between rounds cancels out."""
        L = self.limits
        if workload in SMALL:
            if server == "ceiling" or not rows_of.get("ceiling"):
                return None, None
            ratio, _ = round_ratio(rows_of[server], rows_of["ceiling"])
            return (ratio, "ceiling") if ratio is not None else (None, None)
        if workload.startswith("list"):
            return None, None  # no ceiling for a listing: compared with the target only
        durable = workload in ("put256m", "mpu_up") and (
            server in ("ours-file", "ours-dmd") or s.get("kind") == "upstream")
        if durable:
            return s["median"] / L["disk_write_fsync_mb_s"], "disk write+fsync"
        return s["median"] / L["loopback_mb_s"], "loopback TCP"

    def report(self, started) -> None:
        summary = self.summary()
        stamp = started.strftime("%Y-%m-%d %H:%M")
        names = [s.name for s in self.servers]
        measured_up = any(s.kind == "upstream" for s in self.servers)
        lines = [f"### {stamp} — {'quick' if self.quick else 'full'} run, "
                 f"{self.rounds} round(s) of {self.duration:g} s",
                 "", self.environment_line(), ""]
        lines += ["Machine limits: " + ", ".join(
            f"{k} {v:,.0f}" for k, v in self.limits.items()), ""]
        head = ["workload", "target (file)"] + ([] if measured_up else ["upstream (11-22)"]) \
            + names + (["ours-file ÷ upstream (per round; target)"] if measured_up else [])
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for w in self.workloads:
            per = summary.get(w, {})
            cells = [LABELS[w], fmt_target(w)] + (
                [] if measured_up else [fmt_num(UPSTREAM.get(w), w)])
            for name in names:
                s = per.get(name)
                if s is None:
                    cells.append("—")
                elif "median" not in s:
                    cells.append("failed")
                else:
                    c = f"{fmt_num(s['median'], w)} ±{s['spread_pct']:.0f}%"
                    rel = []
                    if s.get("ratio") is not None:
                        rel.append(f"{s['ratio']:.2f}× {short(s['ratio_to'])}")
                    if s.get("vs_upstream") is not None:
                        rel.append(f"{s['vs_upstream']:.2f}× up")
                    if rel:
                        c += f" ({', '.join(rel)})"
                    if w in TARGETS and name == "ours-file":
                        c += " ✔" if meets(w, s["median"]) else " ✘"
                    cells.append(c)
            if measured_up:
                cells.append(fmt_vs_upstream(w, per.get("ours-file", {})))
            lines.append("| " + " | ".join(cells) + " |")
        rss = {name: max((s[name]["peak_rss_mb"] for s in summary.values()
                          if name in s and "median" in s[name]), default=0) for name in names}
        lines.append("| peak RSS, any workload (MB) | ≤ 150 | " + ("" if measured_up else "~630 | ")
                     + " | ".join(f"{rss[n]:.0f}" + (" ✔" if rss[n] <= RSS_TARGET_MB else " ✘"
                                                    if n == "ours-file" else "") for n in names)
                     + (" | |" if measured_up else " |"))
        lines += ["", "Details (medians over rounds; latency of large objects and listings "
                  "is the whole operation / one page; CPU-bound rate = what one core "
                  "would do at this CPU per operation):", "",
                  "| workload | server | median | min–max | p50 ms | p99 ms | errors | "
                  "server CPU ms/op | CPU-bound rate | server cores | peak RSS MB | "
                  "other load (cores) |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for w in self.workloads:
            for name in names:
                s = summary.get(w, {}).get(name)
                if not s:
                    continue
                if "median" not in s:
                    lines.append(f"| {w} | {name} | failed: {s.get('failed')} | | | | | | | | | |")
                    continue
                lines.append(
                    f"| {w} | {name} | {fmt_num(s['median'], w)}"
                    f"{' ops/s' if UNITS[w] == 'ops/s' else ''} | "
                    f"{fmt_num(s['min'], w)}–{fmt_num(s['max'], w)} | {s['p50_ms']:.1f} | "
                    f"{s['p99_ms']:.1f} | {s['errors']} | {s['cpu_ms_per_op']:.3f} | "
                    f"{cpu_bound(s, w, self.big, self.mpu)} | "
                    f"{s['server_cpu_cores']:.2f} | {s['peak_rss_mb']:.0f} | "
                    f"{s['background_cores']:.2f} |")
        for name, why in self.skipped.items():
            lines.append(f"\n{name} skipped: {why}")
        text = "\n".join(lines) + "\n"
        print("\n" + text)
        out = Path(self.args.out)
        out.mkdir(parents=True, exist_ok=True)
        base = out / started.strftime("%Y-%m-%d-%H%M")
        base.with_suffix(".md").write_text(text)
        base.with_suffix(".json").write_text(json.dumps(
            {"started": stamp, "quick": self.quick, "rounds": self.rounds,
             "duration": self.duration, "limits": self.limits, "summary": summary,
             "results": self.results, "skipped": self.skipped,
             "environment": self.environment_line()}, indent=1))
        log(f"results in {base}.md and .json")

    def environment_line(self) -> str:
        try:
            rev = subprocess.run(["git", "-C", str(CHECKOUT), "describe", "--always",
                                  "--dirty"], capture_output=True, text=True).stdout.strip()
        except OSError:
            rev = "?"
        return (f"cloudserver {rev}, Python {platform.python_version()}, "
                f"{os.cpu_count()} cores, load generator wrk (hey for HEAD), one wrk thread, "
                f"32 connections, nice {self.args.nice}")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="1 round of 4 s, 64 MiB / 256 MiB "
                   "objects, no 100k listing")
    p.add_argument("--rounds", type=int)
    p.add_argument("--duration", type=float, help="seconds per small-request run")
    p.add_argument("--servers", default="ceiling,file,mem,dmd,moto",
                   help="comma list of ceiling,file,mem,dmd,moto,upstream,postgres,pg-dmd "
                   "(postgres: the postgres metadata backend, all in one / split)")
    p.add_argument("--upstream", metavar="DIR",
                   help="a build of upstream CloudServer (DIR/cloudserver, see "
                   "/work/shared/tools/upstream-peer/README.md): run it as a peer, file "
                   "backend; skipped when the build is absent")
    p.add_argument("--workloads", type=lambda s: s.split(","),
                   help="comma list of " + ",".join(WORKLOADS))
    p.add_argument("--base-port", type=int, default=8600)
    p.add_argument("--workdir", help="where servers keep data (default: a new /var/tmp dir)")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    p.add_argument("--live", action="store_true",
                   help="run the server from the checkout itself, not a snapshot copy")
    p.add_argument("--python", help="interpreter of the servers (default: .venv/bin/python)")
    p.add_argument("--log-level", help="LOG_LEVEL for our servers (default: config's)")
    p.add_argument("--max-rate", type=float, default=4000,
                   help="PUT keys prepared per second of --duration")
    p.add_argument("--mpu-concurrency", type=int, default=4)
    p.add_argument("--list100k-servers", default="ours-file",
                   help="servers that get the 100,000-key bucket (filling it through "
                   "the API takes minutes per server)")
    p.add_argument("--nice", type=int, default=0,
                   help="scheduling priority of the run (root may give -10 on a shared machine)")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    return p


def main(argv=None) -> None:
    Bench(parser().parse_args(argv)).run()


if __name__ == "__main__":
    main()
