"""The lifecycle executor's cost: entries examined per second, and small-GET
throughput while it walks against the same without it, in one run.

    PYTHONPATH=. .venv/bin/python bench/lifecycle.py [-n 5000] [--seconds 10]

One real server (``--mode all``, file backend, tests/functional's
ServerProcess), one bucket of ``n`` 1-byte keys.  Phases, each ``seconds``
long, 4 client threads doing presigned GETs of random keys over keep-alive
connections:

1. ``without``: the bucket has no rules (the executor has nothing to walk);
2. ``rate 2000``: a rule that selects every key and never expires any
   (Expiration Days 100000), walked again and again (interval 0.1 s) at
   the default rate;
3. ``unlimited``: the same with ``rate`` 0 (only a reactor turn between
   batches of 1000) after a restart.

Examined/s comes from the server log: the executor's cumulative
``examined`` at the end of consecutive walks over their timestamps.  Results
go to stdout and bench/results/lifecycle-<date>.md.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse  # noqa: E402
import ast  # noqa: E402
import datetime  # noqa: E402
import http.client  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from tests.functional.clients import boto3_client  # noqa: E402
from tests.functional.server import ServerProcess  # noqa: E402
from tests.functional.test_lifecycle_executor import set_rules  # noqa: E402

BUCKET = "lcbench"
WALK_DONE = re.compile(r"^(\S+) .*lifecycle: walk done \((.*)\)$")


def fill(s3, n: int) -> None:
    s3.create_bucket(Bucket=BUCKET)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: s3.put_object(Bucket=BUCKET, Key=f"k/{i:07d}", Body=b"x"),
                      range(n)))


def get_load(server, s3, n: int, seconds: float, threads: int = 4) -> float:
    """Presigned GETs per second over ``seconds``."""
    urls = [s3.generate_presigned_url("get_object", Params={
        "Bucket": BUCKET, "Key": f"k/{random.randrange(n):07d}"}, ExpiresIn=3600)
        for _ in range(2000)]
    done = [0] * threads
    stop = time.monotonic() + seconds

    def worker(slot: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        while time.monotonic() < stop:
            parts = urlsplit(random.choice(urls))
            conn.request("GET", f"{parts.path}?{parts.query}")
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"GET answered {response.status}")
            done[slot] += 1
        conn.close()

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    start = time.monotonic()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    return sum(done) / (time.monotonic() - start)


def examined_per_second(log_text: str, since: str) -> float | None:
    """From the walks that ended after ``since`` (an ISO timestamp prefix)."""
    points = []
    for line in log_text.splitlines():
        m = WALK_DONE.match(line)
        if m and m.group(1) >= since:
            stats = ast.literal_eval(m.group(2))  # the executor's dict, as logged
            moment = datetime.datetime.fromisoformat(m.group(1)).timestamp()
            points.append((moment, stats.get("examined", 0)))
    if len(points) < 2:
        return None
    (t0, e0), (t1, e1) = points[0], points[-1]
    return (e1 - e0) / (t1 - t0) if t1 > t0 else None


def now_stamp() -> str:
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")


def run(n: int, seconds: float) -> list[tuple[str, float, float | None]]:
    config = {"lifecycle": {"interval": 0.1, "batchSize": 1000, "rate": 2000}}
    server = ServerProcess(tempfile.mkdtemp(prefix="lcbench-"), extra_config=config)
    rows = []
    try:
        server.start()
        workdir = Path(server.workdir)
        s3 = boto3_client(server, workdir)
        fill(s3, n)
        rows.append(("without", get_load(server, s3, n, seconds), None))
        never = [{"ID": "never", "Status": "Enabled", "Filter": {"Prefix": ""},
                  "Expiration": {"Days": 100000}}]
        set_rules(s3, BUCKET, never)
        time.sleep(1)
        since = now_stamp()
        rps = get_load(server, s3, n, seconds)
        rows.append(("rate 2000", rps, examined_per_second(server.log_path.read_text(), since)))
        server.extra_config = {"lifecycle": {**config["lifecycle"], "rate": 0}}
        server.stop()
        _rewrite_config(server)
        server.start()
        time.sleep(1)
        since = now_stamp()
        rps = get_load(server, s3, n, seconds)
        rows.append(("unlimited", rps, examined_per_second(server.log_path.read_text(), since)))
        s3 = boto3_client(server, workdir)  # no kept-alive connection to the old process
        s3.delete_bucket_lifecycle(Bucket=BUCKET)
        rows.append(("without (again)", get_load(server, s3, n, seconds), None))
    finally:
        server.destroy()
    return rows


def _rewrite_config(server) -> None:
    """The new lifecycle settings, the same ports."""
    config = json.loads(server.config_path.read_text())
    config.update(server.extra_config)
    server.config_path.write_text(json.dumps(config, indent=4))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=5000, help="keys in the bucket")
    parser.add_argument("--seconds", type=float, default=10.0, help="per phase")
    args = parser.parse_args()
    rows = run(args.n, args.seconds)
    lines = [f"# Lifecycle executor cost, {now_stamp()}Z", "",
             f"{args.n} keys, {args.seconds:.0f} s per phase, 4 GET threads, one "
             "`--mode all` file-backend server on this machine.", "",
             "| phase | GET/s | entries examined/s |", "|---|---|---|"]
    for name, rps, examined in rows:
        shown = "-" if examined is None else f"{examined:.0f}"
        lines.append(f"| {name} | {rps:.0f} | {shown} |")
    text = "\n".join(lines) + "\n"
    print(text)
    out = Path(__file__).resolve().parent / "results" / \
        f"lifecycle-{datetime.date.today().isoformat()}.md"
    out.write_text(text)
    print(f"written to {out}")


if __name__ == "__main__":
    main()
