"""What the notification write hook adds to a metadata PUT, same run.

    PYTHONPATH=. .venv/bin/python bench/notifications.py [-n 20000] [--runs 7]

The metadata service's ``put_object`` of a 4 KiB object's record over
MemoryKV (no disk: the hook's own cost is what is left), in three buckets
of one service: ``none`` without the hook at all (no destination
configured: the default), ``plain`` with the hook but no configuration on
the bucket, ``match`` with a configuration whose rule matches every key
(a queue entry built and written in each batch).  Passes interleaved;
prints the best and the median of ``--runs`` per case, in µs a PUT.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)  # as bench/inproc.py

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

from cloudserver.metadata.kv import MemoryKV  # noqa: E402
from cloudserver.metadata.schema import BucketRecord as Bkt  # noqa: E402
from cloudserver.metadata.service import MetadataService  # noqa: E402
from cloudserver.notifications.hook import NotificationHook  # noqa: E402
from cloudserver.notifications.rules import NotificationConfig, Rule  # noqa: E402
from cloudserver.notifications.service import destination_queue  # noqa: E402

OPTIONS = {"event": "s3:ObjectCreated:Put",
           "eventInfo": {"principal": "79a59df900b949e55d96a1e698fbacedfd6e09d98eac"
                         "f8f8d5218e7cd47ef2be", "ip": "127.0.0.1", "requestId": "R"}}


def record(key: str) -> dict:
    return {"mdVersion": 1, "key": key, "size": 4096, "etag": "0" * 32,
            "last-modified": time.time(), "content-type": "binary/octet-stream",
            "owner": "o", "owner-name": "O", "location": [{"key": "d" * 40, "size": 4096}],
            "storage-class": "STANDARD", "acl": {"Canned": "private"}}


def service(hooked: bool) -> MetadataService:
    kv = MemoryKV()
    md = MetadataService(kv)
    config = NotificationConfig((Rule(id="all", kind="queue",
                                      arn="arn:scality:bucketnotif:::hooks",
                                      events=("s3:ObjectCreated:*",)),)).to_record()
    md.create_bucket("plain", {"name": "plain", "owner": "o", "creation-date": 1})
    md.create_bucket("match", {"name": "match", "owner": "o", "creation-date": 1,
                               Bkt.NOTIFICATION: config})
    if hooked:
        queue = destination_queue(kv, "hooks", time.time)
        md.write_hooks.add(NotificationHook(kv, {"hooks": queue}, time.time))
    return md


def one_pass(md: MetadataService, bucket: str, n: int) -> float:
    started = time.perf_counter()
    for i in range(n):
        md.put_object(bucket, f"k{i % 1000}", record("k"), OPTIONS)
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    bare, hooked = service(False), service(True)
    cases = {"none": (bare, "plain"), "plain": (hooked, "plain"), "match": (hooked, "match")}
    times: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(args.runs):
        for name, (md, bucket) in cases.items():
            times[name].append(one_pass(md, bucket, args.n))
    for name, values in times.items():
        print(f"{name:6s} best {min(values):6.2f} µs  median {statistics.median(values):6.2f} "
              f"µs a PUT")


if __name__ == "__main__":
    main()
