#!/usr/bin/env python3
"""Profile a ``--mode s3`` front's HEAD/GET path over the dmd hop (cProfile).

Starts a ``--mode dmd`` and one front on it -- over the dmd's Unix sockets
(``--hop unix``, what a supervisor's worker uses) or :9990/:9991 (``--hop
tcp``) -- the front under cProfile, puts one 4 KiB object, runs hey HEAD
(or wrk GET) on it for ``--duration`` seconds, stops the front (SIGTERM:
twistd returns, cProfile writes) and prints the functions with the most
own time, and the CPU per request of the front and the dmd.

    .venv/bin/python bench/hop_profile.py --hop unix --op head --duration 8
"""
from __future__ import annotations

import argparse
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.bigclient import BigClient  # noqa: E402
from bench.loadgen import run_hey_head, run_wrk, write_paths  # noqa: E402
from bench.procstat import cpu_seconds  # noqa: E402
from bench.servers import OurServer, accepts, default_python  # noqa: E402
from bench.sigv4 import Presigner  # noqa: E402


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--hop", choices=("unix", "tcp"), default="unix")
    p.add_argument("--op", choices=("head", "get"), default="head")
    p.add_argument("--duration", type=float, default=8)
    p.add_argument("--no-profile", action="store_true", help="CPU per request only")
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--port", type=int, default=8745)
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="cloudserver-hop-", dir="/var/tmp"))
    python = default_python()
    server = OurServer("hop", args.port, work, python, "file", split=True)
    server.md_port, server.data_port = args.port + 1, args.port + 2
    (dmd, env, _), (front, fenv, _) = server.commands()
    md = Path(env["S3METADATAPATH"])
    if args.hop == "unix":
        front += ["--metadata-socket", str(md / "dmd-rpc.sock"),
                  "--data-socket", str(md / "dmd-data.sock")]
    prof = work / "front.prof"
    if not args.no_profile:
        front = [python, "-m", "cProfile", "-o", str(prof)] + front
    procs = []
    try:
        for argv_, wait in ((dmd, server.md_port), (front, args.port)):
            log = open(work / f"{len(procs)}.log", "ab")
            procs.append(subprocess.Popen(argv_, env={**env}, cwd=server.cwd(),
                                          stdout=log, stderr=subprocess.STDOUT))
            deadline = time.monotonic() + 30
            while not accepts(wait) and time.monotonic() < deadline:
                time.sleep(0.1)
        host = f"127.0.0.1:{args.port}"
        signer = Presigner(host)
        client = BigClient(host, signer)
        client.create_bucket("hop")
        client.request("PUT", "hop", "obj", body=b"x" * 4096, expect=(200,))
        pids = [proc.pid for proc in procs]
        cpu0 = [cpu_seconds([pid]) for pid in pids]
        if args.op == "head":
            r = run_hey_head(host, signer.path("HEAD", "hop", "obj"), duration=args.duration)
        else:
            paths = write_paths(work / "get.txt", [signer.path("GET", "hop", "obj")])
            r = run_wrk(host, paths, "GET", duration=args.duration)
        used = [cpu_seconds([pid]) - c for pid, c in zip(pids, cpu0)]
        ops = r["ok"] or 1
        print(f"{args.op} over {args.hop}: {r['rate']:,.0f}/s, errors {r['errors']}, "
              f"CPU per request: dmd {used[0] * 1e3 / ops:.3f} ms, "
              f"front {used[1] * 1e3 / ops:.3f} ms"
              + ("" if args.no_profile else " (front under cProfile)"))
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
    if not args.no_profile and prof.exists():
        pstats.Stats(str(prof)).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
