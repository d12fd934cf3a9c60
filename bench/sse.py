"""Server-side encryption beside plain storage, same server, same run.

    .venv/bin/python -m bench.sse [--rounds 5] [--size-mib 256] [--port 8650]

Starts one ``twistd cloudserver`` (file backend, from this tree) and two
buckets: ``plain`` and ``sse``, the second with default encryption
(PutBucketEncryption AES256), so the very same presigned PUT and GET go to
both.  Each round PUTs then GETs a ``--size-mib`` object in each bucket
(the order alternates from round to round), with bench/bigclient.py, and
reads the server's CPU time (/proc) around each transfer and its peak RSS.
Prints per bucket the median MB/s and CPU seconds per GiB, and the ratios
sse/plain: the issue's target is >= 0.8 for both PUT and GET throughput.
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from bench.bigclient import MIB, BigClient
from bench.procstat import cpu_seconds, peak_rss_mb, reset_peak
from bench.servers import OurServer, default_python

ENCRYPTION = (b'<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/'
              b'2006-03-01/"><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256'
              b'</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule>'
              b'</ServerSideEncryptionConfiguration>')


def transfer(client: BigClient, pids, bucket: str, key: str, size: int) -> dict:
    reset_peak(pids)
    before = cpu_seconds(pids)
    put_s, headers = client.put_stream(bucket, key, size)
    mid = cpu_seconds(pids)
    get_s, got = client.get_stream(bucket, key)
    after = cpu_seconds(pids)
    if got != size:
        raise SystemExit(f"GET {bucket}/{key}: {got} bytes of {size}")
    if bucket == "sse" and headers.get("x-amz-server-side-encryption") != "AES256":
        raise SystemExit("the sse bucket did not encrypt: no x-amz-server-side-encryption")
    gib = size / (1024 * MIB)
    return {"put": size / put_s / 1e6, "get": size / get_s / 1e6,
            "put_cpu": (mid - before) / gib, "get_cpu": (after - mid) / gib,
            "rss": peak_rss_mb(pids)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--port", type=int, default=8650)
    args = parser.parse_args()
    size = args.size_mib * MIB
    with tempfile.TemporaryDirectory(prefix="cloudserver-bench-sse-", dir="/var/tmp") as work:
        server = OurServer("ours-file", args.port, Path(work), default_python(),
                           checkout=Path(__file__).resolve().parent.parent)
        server.start()
        try:
            client = BigClient(server.host)
            for bucket in ("plain", "sse"):
                client.create_bucket(bucket)
            client.request("PUT", "sse", params={"encryption": ""}, body=ENCRYPTION)
            results: dict[str, list[dict]] = {"plain": [], "sse": []}
            for rnd in range(args.rounds):
                order = ("plain", "sse") if rnd % 2 == 0 else ("sse", "plain")
                for bucket in order:
                    results[bucket].append(
                        transfer(client, server.pids, bucket, f"big{rnd}", size))
        finally:
            server.stop()
    report(results, args)


def report(results: dict[str, list[dict]], args) -> None:
    med = {b: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
           for b, rs in results.items()}
    print(f"{args.size_mib} MiB objects, {args.rounds} rounds, medians "
          "(MB/s = 10^6 B/s; CPU = server CPU seconds per GiB)")
    print("| bucket | PUT MB/s | GET MB/s | PUT CPU s/GiB | GET CPU s/GiB | peak RSS MB |")
    print("|---|---|---|---|---|---|")
    for b, m in med.items():
        print(f"| {b} | {m['put']:.0f} | {m['get']:.0f} | {m['put_cpu']:.2f} | "
              f"{m['get_cpu']:.2f} | {m['rss']:.0f} |")
    p, s = med["plain"], med["sse"]
    print(f"\nsse/plain throughput: PUT {s['put'] / p['put']:.2f}, GET {s['get'] / p['get']:.2f}")


if __name__ == "__main__":
    main()
