"""Where the time goes: py-spy on our server under each small-request workload.

    python3 bench/profile.py [--workloads put4k,get4k,head,delete] [--duration 15]
                             [--backend file] [--port 8620] [--svg]

Starts one all-in-one server, fills the objects GET and HEAD read, and for
each workload samples the server with ``py-spy record --format raw`` while
wrk (hey for HEAD) drives it exactly as bench/run.py does.  Idle threads
(the reactor in epoll, pool threads blocked in fsync) are not sampled, so
the shares below are shares of the server's CPU.  For each workload it
prints the share of samples that pass through each cost category (a sample
may be in several: auth and HMAC), the top functions by own time, and
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

#: cost categories: a frame "function (path:line)" matching the pattern puts
#: the sample in the category (checked on every frame of the stack)
CATEGORIES = [
    ("auth (all of s3/auth)", r"cloudserver/s3/auth/"),
    ("  HMAC/SHA-256 (hmac, hashlib)", r"\((hmac|hashlib)\.py|digest \(|new \(hmac"),
    ("  dates/time parsing", r"_strptime|email/utils|calendar\.py|parsedate"),
    ("routing (s3/routing.py)", r"cloudserver/s3/routing\.py"),
    ("URL/query parsing (urllib)", r"urllib/parse\.py"),
    ("twisted HTTP parsing (web/http.py request side)",
     r"(dataReceived|lineReceived|headerReceived|allHeadersReceived|_finishRequestBody|"
     r"requestReceived|gotLength|rawDataReceived|allContentReceived) \(.*(twisted/web/http|"
     r"twisted/protocols/basic|cloudserver/s3/http)"),
    ("our HTTP layer (s3/http.py, s3/body.py)", r"cloudserver/s3/(http|body)\.py"),
    ("handler (s3/ops/)", r"cloudserver/s3/ops/"),
    ("metadata service (metadata/)", r"cloudserver/metadata/"),
    ("  JSON encode/decode", r"json/(encoder|decoder|__init__)\.py"),
    ("  LevelDB calls (plyvel)", r"plyvel|kv\.py"),
    ("data store (data/)", r"cloudserver/data/"),
    ("  fsync/fdatasync (pool threads)", r"fsync|fdatasync"),
    ("response: headers + write (resource._send, web/http write/finish)",
     r"(_send \(.*resource\.py|write \(.*twisted/web/(http|server)\.py|"
     r"finish \(.*twisted/web/(http|server)\.py)"),
    ("socket I/O syscalls (tcp doRead/doWrite/send)",
     r"(doRead|doWrite|writeSomeData|_sendCloseAlert) \(.*twisted/internet/"),
    ("access log (resource._log, twisted.logger)", r"_log \(.*resource\.py|twisted/logger/"),
    ("Deferred / coroutine plumbing (defer.py)", r"twisted/internet/defer\.py"),
    ("thread pool hand-off (threadpool, threads.py, callFromThread)",
     r"twisted/(python/threadpool|internet/threads|python/context|_threads)|callFromThread"),
    ("request id (secrets)", r"secrets\.py"),
    ("XML (lxml, s3/xml*)", r"lxml|cloudserver/s3/xml"),
]


def parse_raw(path: Path) -> list[tuple[list[str], int]]:
    """py-spy raw output: "frame;frame;... count" per line, root first."""
    stacks = []
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack:
            stacks.append((stack.split(";"), int(count)))
    return stacks


def summarize(stacks, top: int = 25) -> str:
    total = sum(c for _, c in stacks) or 1
    lines = [f"{total} samples"]
    for name, pattern in CATEGORIES:
        rx = re.compile(pattern)
        n = sum(c for frames, c in stacks if any(rx.search(f) for f in frames))
        lines.append(f"  {100 * n / total:5.1f}%  {name}")
    own = collections.Counter()
    incl = collections.Counter()
    for frames, c in stacks:
        own[_short(frames[-1])] += c
        for f in set(_short(f) for f in frames):
            incl[f] += c
    lines.append(f"  top {top} by own time:")
    for f, c in own.most_common(top):
        lines.append(f"    {100 * c / total:5.1f}%  {f}")
    lines.append(f"  top {top} by inclusive time (below the reactor loop):")
    shown = 0
    for f, c in incl.most_common():
        if c / total > 0.97:
            continue  # the reactor's run loop and its callers: everything
        lines.append(f"    {100 * c / total:5.1f}%  {f}")
        shown += 1
        if shown == top:
            break
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
    p.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
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
                                         (signer.path("PUT", "bench-small", k) for k in keys)),
                "PUT", body_size=4096, once=True, duration=600)
        put_keys: list[str] = []
        for workload in args.workloads.split(","):
            raw = out / f"profile-{stamp}-{workload}.txt"
            spy = subprocess.Popen([pyspy, "record", "--pid", str(server.pids[0]), "--format",
                                    "raw", "-r", str(args.rate), "-o", str(raw)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
            with Meter(server.pids) as meter:
                result = drive(server, signer, workload, args.duration, workdir, put_keys)
            spy.send_signal(2)
            spy.wait(30)
            summary = summarize(parse_raw(raw)) if raw.exists() else "(py-spy wrote nothing)"
            head = (f"## {workload}: {result['rate']:,.0f} ops/s, p50 {result['p50_ms']:.1f} ms, "
                    f"p99 {result['p99_ms']:.1f} ms, errors {result['errors']}, server CPU "
                    f"{meter.cpu * 1000 / max(1, result['ok']):.3f} ms/op")
            print(head + "\n" + summary + "\n", flush=True)
            report += [head, summary, ""]
            if args.svg:
                svg = out / f"profile-{stamp}-{workload}.svg"
                spy = subprocess.Popen([pyspy, "record", "--pid", str(server.pids[0]),
                                        "-r", str(args.rate), "-o", str(svg)],
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
