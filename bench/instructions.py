"""Instructions per small request, whatever else the machine is doing.

    PYTHONPATH=. .venv/bin/python bench/instructions.py [--ops put,get,head,delete]
        [-k 50,350] [--backend mem|file] [--log text|none] [--jobs 2]

The requests of bench/inproc.py (the whole S3 site over a StringTransport,
presigned, 4 KiB bodies) counted by ``valgrind --tool=callgrind``: a count
of executed instructions does not depend on the load of a shared machine,
so two trees can be compared to a fraction of a percent (wall-clock or even
CPU-time figures swing 10-40 % here).  For each op the script runs itself
under valgrind twice, once with K1 and once with K2 measured requests after
the same start-up, fill and warm-up pass, and prints (total(K2) -
total(K1)) / (K2 - K1): what one more request costs.  (Counting only the
measured part inside one run, with ``--toggle-collect``, did not work here:
valgrind resolves no symbol of a library loaded through ctypes.)  The
default ``mem`` backend is deterministic to ~0.1 %; ``file`` adds LevelDB
(and its background compaction).  Each run takes 40-90 s of this machine;
``--jobs`` runs that many at once (counts do not depend on it).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # bench/profile.py shadows profile

import argparse  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402

CHILD = "CLOUDSERVER_INSTRUCTIONS_CHILD"


def collected(stderr: str) -> int:
    """callgrind's total from its summary on stderr ("Collected : N")."""
    m = re.search(r"Collected\s*:\s*([\d,]+)", stderr)
    if not m:
        raise SystemExit("no instruction count in valgrind's output:\n" + stderr[-2000:])
    return int(m.group(1).replace(",", ""))


def child(args) -> None:
    """Start-up, fill, one warm-up pass of the op, then ``args.count`` requests."""
    from bench import inproc

    if args.log == "text":
        inproc.install_log_observer()
    workdir = tempfile.mkdtemp(prefix="cloudserver-instr-")
    try:
        k2 = max(int(k) for k in args.k.split(","))
        ns = argparse.Namespace(n=k2, backend=args.backend, inline_max=None)
        one_pass = inproc.prepare(ns, workdir, False)
        send = one_pass.site.send
        op = args.ops
        one_pass(op, 99)  # a warm-up pass, the same in every run
        if op == "put":
            reqs = one_pass.targets("PUT", ".m")
        elif op == "delete":
            for r in one_pass.targets("PUT", ".dm"):  # all of them, in every run
                send(r)
            reqs = one_pass.targets("DELETE", ".dm")
        else:
            reqs = one_pass.targets(op.upper())
        for r in reqs[:args.count]:
            send(r)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def count(args, op: str, k: int) -> int:
    env = {**os.environ, CHILD: "1", "PYTHONHASHSEED": "0"}
    cmd = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
           str(Path(__file__).resolve()), "--ops", op, "-k", args.k, "--backend",
           args.backend, "--log", args.log, "--count", str(k)]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{op} k={k}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
    return collected(proc.stderr)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ops", default="put,get,head,delete")
    p.add_argument("-k", default="50,350", help="K1,K2: measured requests of the two runs")
    p.add_argument("--backend", default="mem", choices=("mem", "file"))
    p.add_argument("--log", default="text", choices=("text", "none"))
    p.add_argument("--jobs", type=int, default=2, help="valgrind runs at once")
    p.add_argument("--count", type=int, help=argparse.SUPPRESS)  # the child's K
    args = p.parse_args()
    if os.environ.get(CHILD):
        child(args)
        return
    k1, k2 = (int(k) for k in args.k.split(","))
    ops = args.ops.split(",")
    with ThreadPoolExecutor(args.jobs) as pool:
        runs = {(op, k): pool.submit(count, args, op, k) for op in ops for k in (k1, k2)}
        totals = {key: f.result() for key, f in runs.items()}
    print(f"backend {args.backend}, log {args.log}, (I(K={k2}) - I(K={k1})) / {k2 - k1}")
    for op in ops:
        per = (totals[op, k2] - totals[op, k1]) / (k2 - k1)
        print(f"{op:7s} {per:12,.0f} instructions/request")


if __name__ == "__main__":
    main()
