"""Replication's cost and lag: small-PUT throughput into a bucket replicated
to an aws_s3 location (moto_server) while its backlog drains, against the
same PUTs into a bucket without replication, in one run; and the lag from
PUT to COMPLETED, quiet and under that load.

    PYTHONPATH=. .venv/bin/python bench/replication.py [--seconds 10] [--rounds 2]
        [--target aws|local] [--concurrency 4]

One real server (``--mode all``, file backend, ``S3DATA=multiple``, default
replication settings: 4 copies at once, no rate limit) and moto_server
(tests/functional/emulators.py).  Two versioned buckets: ``plain`` (no
configuration) and ``repl`` (every key replicated to the moto location, or
with ``--target local`` to the bucket ``replica`` of the same server).

1. *quiet lag*: 100 PUTs of 4 KiB into ``repl`` one after the other, each
   followed by HEADs every 2 ms until ``x-amz-replication-status`` is
   COMPLETED: the client-observed lag;
2. *throughput*, ``rounds`` times interleaved: 4 threads of presigned 4 KiB
   PUTs over keep-alive connections for ``seconds`` into ``plain``, then
   into ``repl`` (every PUT adds to the backlog the replicator drains
   meanwhile); after each ``repl`` phase the wait until the queue is empty,
   and the lags of that burst from the server's "queue drained" log line
   (from each version's last-modified to its COMPLETED).

Results go to stdout and bench/results/replication-<date>.md; medians over
the rounds.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse  # noqa: E402
import datetime  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from bench.procstat import cpu_seconds  # noqa: E402
from cloudserver.replication.replicator import percentile  # noqa: E402
from tests.functional import emulators  # noqa: E402
from tests.functional.clients import boto3_client  # noqa: E402
from tests.functional.server import ServerProcess  # noqa: E402
from tests.functional.test_replication import AWS_BUCKET, ROLE, location_config  # noqa: E402

BODY = os.urandom(4096)
DRAINED_LINE = re.compile(r"^(\S+) .*queue drained: (\d+) versions, lag p50 ([\d.]+) s "
                          r"p99 ([\d.]+) s max ([\d.]+) s")


def put_load(server, s3, bucket: str, seconds: float, tag: str, threads: int = 4) -> float:
    """Presigned 4 KiB PUTs per second over ``seconds``, fresh keys."""
    done = [0] * threads
    # 500 keys a thread, cycled: in a versioned bucket each PUT is a new version
    targets = [[urlsplit(s3.generate_presigned_url("put_object", Params={
        "Bucket": bucket, "Key": f"{tag}/{slot}/{n:04d}"}, ExpiresIn=3600))
        for n in range(500)] for slot in range(threads)]
    stop = time.monotonic() + seconds

    def worker(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        n = 0
        while time.monotonic() < stop:
            parts = targets[slot][n % 500]
            conn.request("PUT", f"{parts.path}?{parts.query}", body=BODY,
                         headers={"Content-Length": str(len(BODY))})
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"PUT answered {response.status}")
            n += 1
            done[slot] += 1
        conn.close()

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    start = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(done) / (time.monotonic() - start)


def quiet_lags(s3, bucket: str, n: int = 100) -> list[float]:
    lags = []
    for i in range(n):
        started = time.monotonic()
        vid = s3.put_object(Bucket=bucket, Key=f"quiet/{i:04d}", Body=BODY)["VersionId"]
        while s3.head_object(Bucket=bucket, Key=f"quiet/{i:04d}", VersionId=vid).get(
                "ReplicationStatus") != "COMPLETED":
            time.sleep(0.002)
        lags.append(time.monotonic() - started)
    return lags


def drained_lines(server) -> list[tuple[float, int, float, float, float]]:
    """(time, versions, p50, p99, max) of each "queue drained" log line."""
    out = []
    for line in server.log_path.read_text().splitlines():
        m = DRAINED_LINE.match(line)
        if m:
            when = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S%z").timestamp()
            out.append((when, int(m.group(2)), float(m.group(3)), float(m.group(4)),
                        float(m.group(5))))
    return out


def wait_drained(server, seen: int, ended: float, timeout: float = 600) -> tuple:
    """Seconds after the phase ``ended`` (wall time) until the queue was found
    empty (a "queue drained" line logged after that second), and the figures
    of the phase's lines: (versions, lines, p50, p99, max), the lags those of
    the line with most versions (when the backlog grows through the phase
    there is one line)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        rows = drained_lines(server)[seen:]
        if rows and rows[-1][0] >= int(ended):
            top = max(rows, key=lambda r: r[1])
            return rows[-1][0] + 1 - ended, (sum(r[1] for r in rows), len(rows),
                                             top[2], top[3], top[4])
        time.sleep(0.1)
    raise RuntimeError("the replication queue did not drain")


def run(seconds: float, rounds: int, target: str, concurrency: int) -> dict:
    moto = emulators.shared("moto")
    remote = moto.client()
    remote.create_bucket(Bucket=AWS_BUCKET)
    workdir = tempfile.mkdtemp(prefix="replbench-")
    loc_path = os.path.join(workdir, "locationConfig.json")
    with open(loc_path, "w") as f:
        json.dump(location_config(moto.endpoint, "http://127.0.0.1:1/none",
                                  emulators.free_port()), f)
    server = ServerProcess(os.path.join(workdir, "server"), extra_env={
        "S3DATA": "multiple", "S3_LOCATION_FILE": loc_path},
        extra_config={"replication": {"concurrency": concurrency}})
    out: dict = {"plain": [], "repl": [], "drain_s": [], "bursts": [], "cpu_plain": [],
                 "cpu_repl": []}
    try:
        server.start()
        s3 = boto3_client(server, Path(workdir))
        for bucket in ("plain", "repl", "replica"):
            s3.create_bucket(Bucket=bucket)
            s3.put_bucket_versioning(Bucket=bucket,
                                     VersioningConfiguration={"Status": "Enabled"})
        destination = {"Bucket": "arn:aws:s3:::replica"}
        if target == "aws":
            destination["StorageClass"] = "awsrepl"
        s3.put_bucket_replication(Bucket="repl", ReplicationConfiguration={
            "Role": ROLE, "Rules": [{"ID": "all", "Priority": 1, "Status": "Enabled",
                                     "Filter": {"Prefix": ""},
                                     "DeleteMarkerReplication": {"Status": "Disabled"},
                                     "Destination": destination}]})
        out["quiet"] = quiet_lags(s3, "repl")
        for r in range(rounds):
            cpu0 = cpu_seconds([server.pid])
            rate = put_load(server, s3, "plain", seconds, f"r{r}")
            out["plain"].append(rate)
            out["cpu_plain"].append((cpu_seconds([server.pid]) - cpu0) / (rate * seconds))
            seen = len(drained_lines(server))
            cpu0 = cpu_seconds([server.pid])
            out["repl"].append(put_load(server, s3, "repl", seconds, f"r{r}"))
            drain, burst = wait_drained(server, seen, time.time())
            out["cpu_repl"].append((cpu_seconds([server.pid]) - cpu0) / burst[0])
            out["drain_s"].append(drain)
            out["bursts"].append(burst)
    finally:
        server.destroy()
    return out


def now_stamp() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--target", choices=("aws", "local"), default="aws",
                        help="aws: the moto_server location; local: a bucket of the server")
    parser.add_argument("--concurrency", type=int, default=4, help="replication.concurrency")
    args = parser.parse_args()
    r = run(args.seconds, args.rounds, args.target, args.concurrency)
    quiet = sorted(r["quiet"])
    med = statistics.median
    lines = [f"# Replication lag and cost, {now_stamp()}Z", "",
             f"4 KiB objects, file bucket -> "
             f"{'aws_s3 location (moto_server)' if args.target == 'aws' else 'local bucket'}, "
             f"replication concurrency {args.concurrency}; "
             f"{args.rounds} rounds of {args.seconds:.0f} s phases, "
             "4 PUT threads; one `--mode all` server on this machine.", "",
             f"Quiet lag (PUT sent -> HEAD shows COMPLETED, one at a time, n={len(quiet)}): "
             f"p50 {percentile(quiet, 50) * 1000:.1f} ms, p99 "
             f"{percentile(quiet, 99) * 1000:.1f} ms.", "",
             "| round | PUT/s, no replication | PUT/s, replicated (backlog draining) | "
             "ratio | versions | drain after the phase (s) | lag p50 (s) | lag p99 (s) |",
             "|---|---|---|---|---|---|---|---|"]
    for i in range(args.rounds):
        n, _, p50, p99, _ = r["bursts"][i]
        lines.append(f"| {i + 1} | {r['plain'][i]:.0f} | {r['repl'][i]:.0f} | "
                     f"{r['repl'][i] / r['plain'][i]:.2f} | {n} | {r['drain_s'][i]:.1f} | "
                     f"{p50:.2f} | {p99:.2f} |")
    lines.append(f"| median | {med(r['plain']):.0f} | {med(r['repl']):.0f} | "
                 f"{med(r['repl']) / med(r['plain']):.2f} | | {med(r['drain_s']):.1f} | "
                 f"{med(b[2] for b in r['bursts']):.2f} | "
                 f"{med(b[3] for b in r['bursts']):.2f} |")
    lines += ["", f"Server CPU per version (all its threads; moto_server apart): "
              f"{med(r['cpu_plain']) * 1e6:.0f} us a PUT without replication, "
              f"{med(r['cpu_repl']) * 1e6:.0f} us a replicated PUT and its copy "
              f"(medians; per round {', '.join(f'{c * 1e6:.0f}' for c in r['cpu_repl'])})."]
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(__file__).resolve().parent / "results" / \
        f"replication-{args.target}-c{args.concurrency}-{datetime.date.today().isoformat()}.md"
    out.write_text(text)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
