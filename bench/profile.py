"""Where the time goes: py-spy on our server under each small-request workload.

    python3 bench/profile.py [--workloads put4k,get4k,head,delete] [--duration 15]
                             [--backend file] [--port 8620] [--svg]

Starts one all-in-one server, fills the objects GET and HEAD read, and for
each workload samples the server with ``py-spy record --gil --nonblocking
--format raw`` while wrk (hey for HEAD) drives it exactly as bench/run.py
does.  ``--gil`` keeps only samples of the thread holding the GIL: the
Python work that one process does one piece at a time, which is what caps
a one-process server (fsync, LevelDB writes and socket waits release the
GIL and do not show; py-spy's plain "idle" heuristic counts pool threads
parked in Condition.wait as busy, so it is not used).  ``--nonblocking``
does not stop the process for each sample, so the server runs at nearly
its normal speed.  For each workload it
prints exclusive cost buckets (each sample in the bucket of its leaf-most
matching frame), a few inclusive groups (auth, routing, handler, log, ...),
the top functions by own time, each also in microseconds of GIL time per
operation, and
writes the collapsed stacks (flamegraph.pl input) and, with ``--svg``, a
flame graph next to the results.
"""
from __future__ import annotations

import argparse
import collections
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bigclient import BigClient  # noqa: E402
from bench.loadgen import run_hey_head, run_wrk, write_paths  # noqa: E402
from bench.procstat import Meter  # noqa: E402
from bench.servers import CHECKOUT, OurServer, default_python  # noqa: E402
from bench.sigv4 import Presigner  # noqa: E402

#: Exclusive buckets: each sample goes to the bucket of its leaf-most frame
#: that matches one (frames are "function (path:line)"; patterns tried in
#: order for each frame), so the buckets add up to 100 %.
BUCKETS = [
    ("HMAC / hashing (hmac, hashlib, checksums)", r"\((hmac|hashlib)\.py|cloudserver/s3/checksums"),
    ("date parsing/formatting (strptime, email.utils, time)",
     r"_strptime|email/(utils|_parseaddr)|calendar\.py|datetimeToString|_tzhelper"),
    ("JSON encode/decode", r"json/(encoder|decoder|__init__)\.py"),
    ("URL/query parsing (urllib)", r"urllib/parse\.py"),
    ("LevelDB calls (plyvel, kv.py)", r"plyvel|cloudserver/metadata/kv\.py"),
    ("access log (twisted.logger, resource._log)",
     r"twisted/logger/|twisted/python/log\.py:|_log \(.*resource\.py"),
    ("auth (s3/auth)", r"cloudserver/s3/auth/"),
    ("routing (s3/routing.py)", r"cloudserver/s3/routing\.py"),
    ("handlers (s3/ops, acl, common)", r"cloudserver/s3/(ops/|acl|cors)"),
    ("metadata service (metadata/ but kv)", r"cloudserver/metadata/"),
    ("data store (data/)", r"cloudserver/data/"),
    ("our request pipeline (s3/resource, http, body, context, connection)",
     r"cloudserver/s3/"),
    ("Deferred / coroutine plumbing (defer.py)", r"twisted/internet/defer\.py"),
    ("thread pool hand-off (threadpool, callFromThread, queue, threading)",
     r"twisted/(python/threadpool|internet/threads|_threads)|callFromThread|"
     r"wakeUp|\((queue|threading)\.py"),
    ("twisted.web HTTP (parse request, headers, write response)",
     r"twisted/(web|protocols)/"),
    ("reactor + socket syscalls (tcp, abstract, epoll)", r"twisted/(internet|python)/"),
    ("attrs/other", r""),
]

#: Inclusive groups: a sample counts if any frame matches (they overlap).
GROUPS = [
    ("authenticate() total", r"authenticate \(.*cloudserver/s3/auth/authenticate"),
    ("route() total", r"route \(.*cloudserver/s3/routing"),
    ("handler total (s3/ops)", r"cloudserver/s3/ops/"),
    ("metadata service total", r"cloudserver/metadata/service"),
    ("access log total (resource._log)", r"_log \(.*resource\.py"),
    ("response sending total (resource._send)", r"_send \(.*resource\.py"),
    ("header decode (_decode_headers)", r"_decode_headers"),
]


def parse_raw(path: Path) -> list[tuple[list[str], int]]:
    """py-spy raw output: "frame;frame;... count" per line, root first."""
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            stacks.append((stack.split(";"), int(count)))
    return stacks


def summarize(stacks, top: int = 20, per_op_ms: float = 0.0) -> str:
    """Exclusive buckets, inclusive groups and the top functions by own time;
    with ``per_op_ms`` (GIL time per operation) also microseconds per op."""
    total = sum(c for _, c in stacks) or 1

    def row(n: int, name: str) -> str:
        return f"  {100 * n / total:5.1f}%  {1000 * per_op_ms * n / total:6.0f} us  {name}"

    compiled = [(name, re.compile(rx)) for name, rx in BUCKETS]
    buckets = collections.Counter()
    for frames, c in stacks:
        for frame in reversed(frames):
            hit = next((name for name, rx in compiled[:-1] if rx.search(frame)), None)
            if hit:
                buckets[hit] += c
                break
        else:
            buckets[compiled[-1][0]] += c
    lines = [f"{total} samples; exclusive buckets (share, GIL microseconds per op):"]
    for name, n in buckets.most_common():
        lines.append(row(n, name))
    lines.append("inclusive groups:")
    for name, rx in GROUPS:
        pattern = re.compile(rx)
        lines.append(row(sum(c for frames, c in stacks
                             if any(pattern.search(f) for f in frames)), name))
    own = collections.Counter()
    for frames, c in stacks:
        own[_short(frames[-1])] += c
    lines.append(f"top {top} functions by own time:")
    for f, c in own.most_common(top):
        lines.append(row(c, f))
    return "\n".join(lines)


def _short(frame: str) -> str:
    """"func (/long/path/site-packages/pkg/mod.py:123)" -> "func (pkg/mod.py)"."""
    m = re.match(r"(.*) \((.*?)(?::\d+)?\)$", frame)
    if not m:
        return frame
    func, path = m.groups()
    for marker in ("site-packages/", "lib/python3.11/", str(CHECKOUT) + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    path = re.sub(r"^.*/(cloudserver/)", r"\1", path)
    return f"{func} ({path})"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workloads", default="put4k,get4k,head,delete")
    p.add_argument("--duration", type=float, default=15)
    p.add_argument("--backend", default="file")
    p.add_argument("--port", type=int, default=8620)
    p.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    p.add_argument("--svg", action="store_true", help="also record flame graphs (a second run)")
    p.add_argument("--log-level", help="LOG_LEVEL for the server")
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "results"))
    args = p.parse_args(argv)
    python = default_python()
    pyspy = str(Path(python).parent / "py-spy")
    workdir = Path(tempfile.mkdtemp(prefix="cloudserver-profile-", dir="/var/tmp"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d-%H%M")
    server = OurServer("ours", args.port, workdir, python, args.backend,
                       log_level=args.log_level)
    server.start()
    report = [f"# profile {stamp}: backend {args.backend}, {args.duration:g} s per workload, "
              f"py-spy {args.rate} Hz, on-CPU samples only"]
    try:
        signer = Presigner(server.host)
        client = BigClient(server.host, signer)
        client.create_bucket("bench-small")
        keys = [f"obj/{i:06d}" for i in range(1000)]
        run_wrk(server.host, write_paths(workdir / "fill.txt",
                                         (signer.path("PUT", "bench-small", k)
                                          for k in [*keys, "zz-fill-end"])),
                "PUT", body_size=4096, once=True, duration=600)
        put_keys: list[str] = []
        for workload in args.workloads.split(","):
            raw = out / f"profile-{stamp}-{workload}.txt"
            spy = subprocess.Popen([pyspy, "record", "--pid", str(server.pids[0]), "--gil",
                                    "--nonblocking", "--format", "raw", "-r", str(args.rate),
                                    "-o", str(raw)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
            t0 = time.monotonic()
            with Meter(server.pids) as meter:
                result = drive(server, signer, workload, args.duration, workdir, put_keys)
            time.sleep(max(0.0, 1 - (time.monotonic() - t0)))
            spy.send_signal(2)
            spy.wait(30)
            stacks = parse_raw(raw) if raw.exists() else []
            ops = max(1, result["ok"])
            gil_ms = sum(c for _, c in stacks) / args.rate * 1000 / ops
            summary = summarize(stacks, per_op_ms=gil_ms) if stacks else "(no samples)"
            head = (f"## {workload}: {result['rate']:,.0f} ops/s, p50 {result['p50_ms']:.1f} ms, "
                    f"p99 {result['p99_ms']:.1f} ms, errors {result['errors']}, server CPU "
                    f"{meter.cpu * 1000 / ops:.3f} ms/op, GIL held {gil_ms:.3f} ms/op")
            print(head + "\n" + summary + "\n", flush=True)
            report += [head, summary, ""]
            if args.svg:
                svg = out / f"profile-{stamp}-{workload}.svg"
                spy = subprocess.Popen([pyspy, "record", "--pid", str(server.pids[0]), "--gil",
                                        "--nonblocking", "-r", str(args.rate), "-o", str(svg)],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                time.sleep(1)
                drive(server, signer, workload, args.duration, workdir, put_keys)
                spy.send_signal(2)
                spy.wait(30)
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    (out / f"profile-{stamp}.md").write_text("\n".join(report) + "\n")
    print(f"written {out}/profile-{stamp}.md and the raw stacks", flush=True)


def drive(server, signer, workload, duration, workdir, put_keys):
    if workload == "put4k":
        keys = [f"put/{time.time_ns()}/{i:07d}" for i in range(int(duration * 4000))]
        r = run_wrk(server.host, write_paths(workdir / "put.txt", (
            signer.path("PUT", "bench-small", k) for k in keys)), "PUT", body_size=4096,
            once=True, duration=duration)
        put_keys[:] = keys[:r["sent"]]
        return r
    if workload == "get4k":
        return run_wrk(server.host, write_paths(workdir / "get.txt", (
            signer.path("GET", "bench-small", f"obj/{i:06d}") for i in range(1000))), "GET",
            duration=duration)
    if workload == "head":
        return run_hey_head(server.host, signer.path("HEAD", "bench-small", "obj/000000"),
                            duration=duration)
    if workload == "delete":
        return run_wrk(server.host, write_paths(workdir / "delete.txt", (
            signer.path("DELETE", "bench-small", k) for k in put_keys)), "DELETE", once=True,
            duration=duration)
    raise SystemExit(f"unknown workload {workload}")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
