"""CPU per small PUT and GET, encrypted (SSE-S3) beside plain, same run.

    PYTHONPATH=. .venv/bin/python bench/sse_small.py [-n 2000] [--runs 7] [--backend file]

The in-process site of bench/inproc.py (the whole S3 stack on a
StringTransport, no sockets).  Two buckets: ``plain`` and ``sse``, the
second with default encryption (PutBucketEncryption AES256: a data key per
object from the KMS, wrapped in the record, AES-256-CTR on the bytes), so
the same presigned 4 KiB PUTs and GETs go to both.  Each run measures a
pass of each, alternating which bucket goes first; prints the medians and
the median of the runs' own ratios (the issue's target: within +25%).
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # as bench/inproc.py

import argparse  # noqa: E402
import datetime  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from bench.inproc import BODY, HOST, Site, check, install_log_observer  # noqa: E402
from bench.policy_get import raw  # noqa: E402
from bench.sigv4 import Presigner  # noqa: E402
from bench.sse import ENCRYPTION  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="requests per pass")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--backend", default="file", choices=("file", "mem"))
    args = parser.parse_args()
    install_log_observer()
    workdir = tempfile.mkdtemp(prefix="cloudserver-sse-small-")
    try:
        run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run(args, workdir: str) -> None:
    site = Site(args.backend, workdir)
    signer = Presigner(HOST, now=datetime.datetime.fromtimestamp(
        site.clock.seconds(), datetime.timezone.utc))
    for bucket in ("plain", "sse"):
        check(site.send(raw("PUT", signer.path("PUT", bucket))), (200,), "create bucket")
    check(site.send(raw("PUT", signer.path("PUT", "sse", params={"encryption": ""}),
                        ENCRYPTION)), (200,), "put encryption")
    keys = [f"k{i:06d}" for i in range(args.n)]

    def puts(bucket: str, rnd: int) -> list[bytes]:
        return [raw("PUT", signer.path("PUT", bucket, f"{k}.{rnd}"), BODY) for k in keys]

    def gets(bucket: str) -> list[bytes]:
        return [raw("GET", signer.path("GET", bucket, f"{k}.0")) for k in keys]

    def one_pass(requests: list[bytes], what: str) -> float:
        out = site.send(requests[0])
        check(out, (200,), what)
        if what.endswith("sse") and b"x-amz-server-side-encryption: aes256" not in out.lower():
            raise SystemExit(f"{what}: not encrypted: {out[:400]!r}")
        start = time.process_time()
        for request in requests[1:]:
            site.send(request)
        return (time.process_time() - start) / (len(requests) - 1)

    figures: dict[str, list[float]] = {f"{op} {b}": [] for op in ("PUT", "GET")
                                       for b in ("plain", "sse")}
    for rnd in range(args.runs):
        order = ("plain", "sse") if rnd % 2 == 0 else ("sse", "plain")
        for bucket in order:
            figures[f"PUT {bucket}"].append(one_pass(puts(bucket, rnd), f"PUT {bucket}"))
        get_lists = {b: gets(b) for b in order}
        for bucket in order:
            figures[f"GET {bucket}"].append(one_pass(get_lists[bucket], f"GET {bucket}"))
    print(f"backend {args.backend}, {args.n} requests of 4 KiB per pass, median of "
          f"{args.runs} runs (CPU time per request)")
    for name, values in figures.items():
        print(f"{name:10s} {statistics.median(values) * 1e6:8.1f} us")
    for op in ("PUT", "GET"):
        ratios = [s / p for p, s in zip(figures[f"{op} plain"], figures[f"{op} sse"])]
        print(f"{op} sse/plain {statistics.median(ratios):.2f} (median of the runs' ratios)")


if __name__ == "__main__":
    main()
