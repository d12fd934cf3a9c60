"""CPU per GET with and without a 20-statement bucket policy, same run.

    PYTHONPATH=. .venv/bin/python bench/policy_get.py [-n 2000] [--runs 7] [--backend mem]

The in-process site of bench/inproc.py (the whole S3 stack on a
StringTransport, no sockets): one bucket, ``n`` 4 KiB objects, presigned
GETs by the owner.  Each run measures a pass without a policy, puts the
20-statement policy of bench/policy_eval.py (its TLS deny swapped for a
deny that does not match, as the requests are plain HTTP), measures a pass
with it, and deletes it again, so both figures share the process, the cache
and the machine's load of the moment.  Prints the median over ``--runs`` of
each, and the median of the runs' own differences (the policy's cost per
request: the verdict on every statement, the condition keys gathered).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # as bench/inproc.py

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from bench.inproc import BODY, BUCKET, HOST, Site, check, install_log_observer  # noqa: E402
from bench.policy_eval import document  # noqa: E402
from bench.sigv4 import Presigner  # noqa: E402


def bench_policy() -> bytes:
    """policy_eval's 20 statements; the last one a deny these GETs escape."""
    doc = json.loads(document())
    doc["Statement"][-1]["Condition"] = {"StringEquals": {"aws:UserAgent": "blocked/1.0"}}
    assert len(doc["Statement"]) == 20
    return json.dumps(doc).encode()


def raw(method: str, target: str, body: bytes = b"") -> bytes:
    head = f"{method} {target} HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode("latin-1") + body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="GETs per pass")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--backend", default="mem", choices=("file", "mem"))
    args = parser.parse_args()
    install_log_observer()
    workdir = tempfile.mkdtemp(prefix="cloudserver-policy-get-")
    try:
        run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(args, workdir: str) -> None:
    site = Site(args.backend, workdir)
    signer = Presigner(HOST, now=datetime.datetime.fromtimestamp(
        site.clock.seconds(), datetime.timezone.utc))
    check(site.send(raw("PUT", signer.path("PUT", BUCKET))), (200,), "create bucket")
    keys = [f"public/{i:06d}" for i in range(args.n)]
    for key in keys:
        check(site.send(raw("PUT", signer.path("PUT", BUCKET, key), BODY)), (200,), "fill")
    gets = [raw("GET", signer.path("GET", BUCKET, key)) for key in keys]
    put_policy = raw("PUT", signer.path("PUT", BUCKET, params={"policy": ""}), bench_policy())
    delete_policy = raw("DELETE", signer.path("DELETE", BUCKET, params={"policy": ""}))

    def one_pass() -> float:
        check(site.send(gets[0]), (200,), "get")
        start = time.process_time()
        for request in gets[1:]:
            site.send(request)
        return (time.process_time() - start) / (len(gets) - 1)

    without, with_policy = [], []
    for _ in range(args.runs):
        without.append(one_pass())
        check(site.send(put_policy), (204,), "put policy")
        with_policy.append(one_pass())
        check(site.send(delete_policy), (204,), "delete policy")
    a, b = statistics.median(without), statistics.median(with_policy)
    # the median of each run's own difference: both passes of a run share
    # the machine's load of the moment, which a shared machine varies
    cost = statistics.median(w - o for o, w in zip(without, with_policy))
    print(f"backend {args.backend}, {args.n} GETs per pass, median of {args.runs} runs")
    print(f"GET without policy    {a * 1e6:8.1f} us CPU/op (best {min(without) * 1e6:.1f})")
    print(f"GET with 20-statement {b * 1e6:8.1f} us CPU/op (best {min(with_policy) * 1e6:.1f})")
    print(f"policy cost           {cost * 1e6:8.1f} us CPU/op ({cost / a:+.1%}; median of the "
          f"runs' differences)")


if __name__ == "__main__":
    main()
