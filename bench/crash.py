"""Crash harness: concurrent writes killed with SIGKILL, then everything checked.

    PYTHONPATH=. .venv/bin/python bench/crash.py [--mode all|split] [--cycles N]
        [--seed S] [--workers W] [--keys K] [--min-load 0.5] [--max-load 2.5]
        [--report FILE.json]

Each cycle runs W client threads, each on keys of its own, doing a seeded
mix of PutObject (1 KiB-256 KiB: inline and file objects), CopyObject,
DeleteObjects and multipart uploads (one or two parts, the first 5 MiB;
completed or aborted), for a random time, then kills a process with
SIGKILL at that random point: the all-in-one server, or in ``split`` mode
(a dmd and a ``--mode s3`` front) the dmd or the front, chosen by the seed.
After the restart it checks that

* every acknowledged write is there with its bytes (MD5 of the GET body)
  and every acknowledged delete is gone; a write in flight at the kill may
  have happened or not, nothing else;
* the listing names exactly the keys that can be read;
* completed uploads are readable, aborted ones are not listed;
* no orphan data file remains and no record misses its data once the
  orphan sweep ran (bin/cloudserver-check's ``check_data`` of the dmd:
  orphans 0, in flight 0, missing 0; the sweep runs with a 2 s grace here).

The servers are tests/functional/server.ServerProcess (free loopback ports,
their own directories).  Exit status 0 when every cycle passed; the JSON
report (``--report``) has per-cycle figures.  ``run(...)`` is what
tests/functional/test_crash.py calls with a few cycles.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.functional.clients import boto3_client  # noqa: E402
from tests.functional.server import ServerProcess  # noqa: E402

BUCKET = "crash"
PART = 5 * 1024 * 1024
SWEEP = {"orphanSweep": {"interval": 1, "grace": 2}}


def body(tag: str, size: int) -> bytes:
    """Deterministic bytes of ``size`` for ``tag`` (cheap: a repeated digest)."""
    seed = hashlib.sha256(tag.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


class Model:
    """What each key may hold: the acknowledged state, and while an
    operation is in flight, the state it would leave as well."""

    def __init__(self) -> None:
        self.state: dict[str, str | None] = {}  # key -> md5, None: absent
        self.pending: dict[str, set] = {}  # key -> states an unacknowledged op may leave
        self.aborted: set[str] = set()  # upload ids acknowledged aborted
        self.open_uploads: set[tuple[str, str]] = set()  # (key, upload id)
        self.lock = threading.Lock()
        self.acked = 0

    def begin(self, key: str, new: str | None) -> None:
        with self.lock:
            self.pending.setdefault(key, set()).add(new)

    def ack(self, key: str, new: str | None) -> None:
        with self.lock:
            self.state[key] = new
            self.pending.pop(key, None)
            self.acked += 1

    def allowed(self, key: str) -> set:
        return {self.state.get(key)} | self.pending.get(key, set())


class Worker(threading.Thread):
    """One client thread on its own keys, until ``stop`` is set or a request fails."""

    def __init__(self, n: int, endpoint_client: Callable, model: Model, rng: random.Random,
                 keys: int, stop: threading.Event, cycle: int) -> None:
        super().__init__(daemon=True)
        self.s3 = endpoint_client()
        self.model = model
        self.rng = rng
        self.keys = [f"w{n}/k{i:03d}" for i in range(keys)]
        self.stop = stop
        self.tag = f"{cycle}-{n}"
        self.ops = 0

    def run(self) -> None:
        try:
            while not self.stop.is_set():
                self.one()
                self.ops += 1
        except Exception:  # noqa: BLE001 - the kill: the op in flight stays pending
            return

    def one(self) -> None:
        r = self.rng.random()
        key = self.rng.choice(self.keys)
        if r < 0.5:
            self.put(key)
        elif r < 0.65:
            self.copy(self.rng.choice(self.keys), key)
        elif r < 0.8:
            self.delete(self.rng.sample(self.keys, 3))
        else:
            self.multipart(key)

    def put(self, key: str) -> None:
        size = self.rng.choice((1024, 4096, 60000, 100000, 262144))
        data = body(f"{self.tag}-{self.ops}", size)
        digest = md5(data)
        self.model.begin(key, digest)
        self.s3.put_object(Bucket=BUCKET, Key=key, Body=data)
        self.model.ack(key, digest)

    def copy(self, src: str, dst: str) -> None:
        with self.model.lock:
            src_state = self.model.state.get(src)
            if src_state is None or src in self.model.pending or src == dst:
                return
        self.model.begin(dst, src_state)
        self.s3.copy_object(Bucket=BUCKET, Key=dst, CopySource={"Bucket": BUCKET, "Key": src},
                            MetadataDirective="REPLACE")
        self.model.ack(dst, src_state)

    def delete(self, keys: list[str]) -> None:
        for key in keys:
            self.model.begin(key, None)
        answer = self.s3.delete_objects(
            Bucket=BUCKET, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True})
        # A key in Errors (the dmd died under that key's delete: 503) may or
        # may not be deleted: it stays pending; the others are acknowledged.
        failed = {e["Key"] for e in answer.get("Errors", ())}
        for key in keys:
            if key not in failed:
                self.model.ack(key, None)
        if failed:
            raise RuntimeError(f"DeleteObjects errors: {sorted(failed)}")

    def multipart(self, key: str) -> None:
        uid = self.s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
        with self.model.lock:
            self.model.open_uploads.add((key, uid))
        parts = [body(f"{self.tag}-{self.ops}-p1", PART if self.rng.random() < 0.5 else 70000)]
        if len(parts[0]) == PART:
            parts.append(body(f"{self.tag}-{self.ops}-p2", 30000))
        done = []
        for n, data in enumerate(parts, 1):
            etag = self.s3.upload_part(Bucket=BUCKET, Key=key, UploadId=uid, PartNumber=n,
                                       Body=data)["ETag"]
            done.append({"PartNumber": n, "ETag": etag})
        if self.rng.random() < 0.3:
            self.s3.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid)
            with self.model.lock:
                self.model.aborted.add(uid)
                self.model.open_uploads.discard((key, uid))
            return
        digest = md5(b"".join(parts))
        self.model.begin(key, digest)
        self.s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=uid,
                                          MultipartUpload={"Parts": done})
        self.model.ack(key, digest)
        with self.model.lock:
            self.model.open_uploads.discard((key, uid))


class Cluster:
    """The server(s) of one mode, started, killed and restarted."""

    def __init__(self, mode: str, workdir: Path) -> None:
        self.mode = mode
        if mode == "all":
            self.dmd = ServerProcess(workdir / "all", extra_config=SWEEP)
            self.front = self.dmd
        else:
            self.dmd = ServerProcess(workdir / "dmd", mode="dmd", extra_config=SWEEP)
            self.front = None
        self.workdir = workdir

    def start(self) -> None:
        self.dmd.start()
        if self.mode == "split":
            if self.front is None:
                self.front = ServerProcess(self.workdir / "front", mode="s3", dmd=self.dmd)
            self.front.start()

    def kill(self, rng: random.Random) -> str:
        """SIGKILL one process; its name."""
        if self.mode == "all":
            self.dmd.kill9()
            return "all"
        victim = rng.choice(("dmd", "front"))
        (self.dmd if victim == "dmd" else self.front).kill9()
        return victim

    def restart(self) -> None:
        if not self.dmd.alive():
            self.dmd.start()
        if self.mode == "split" and not self.front.alive():
            self.front.start()

    def stop(self) -> None:
        if self.front is not None and self.front is not self.dmd:
            self.front.destroy()
        self.dmd.destroy()


def check_data(server: ServerProcess) -> dict:
    """The dmd's check_data report (what bin/cloudserver-check asks)."""
    call = {"id": 1, "method": "check_data", "params": {"options": {}}}
    with socket.create_connection(("127.0.0.1", server.metadata_port), timeout=30) as sock:
        sock.sendall(json.dumps(call).encode() + b"\n")
        answer = json.loads(sock.makefile("rb").readline())
    if "result" not in answer:
        raise RuntimeError(f"check_data failed: {answer}")
    return answer["result"]


def wait_ready(make_client: Callable, deadline: float) -> object:
    """A client once the front answers (a front reconnects to a restarted dmd)."""
    while True:
        s3 = make_client()
        try:
            s3.head_bucket(Bucket=BUCKET)
            return s3
        except Exception:  # noqa: BLE001 - not yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def verify(s3, model: Model, cluster: Cluster) -> dict:
    """Everything the module docstring promises; the cycle's faults."""
    faults: list[str] = []
    readable = set()
    for key in sorted(set(model.state) | set(model.pending)):
        allowed = model.allowed(key)
        try:
            got = md5(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        except s3.exceptions.NoSuchKey:
            got = None
        if got not in allowed:
            kind = "lost" if got is None else "corrupt"
            faults.append(f"{kind}: {key} read {got}, expected one of {sorted(map(str, allowed))}")
        else:
            with model.lock:
                model.state[key] = got
                model.pending.pop(key, None)
        if got is not None:
            readable.add(key)
    listed = set()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        listed.update(o["Key"] for o in page.get("Contents", ()))
    if listed != readable:
        faults.append(f"listing differs from reads: {sorted(listed ^ readable)[:10]}")
    uploads = set()
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=BUCKET):
        uploads.update(u["UploadId"] for u in page.get("Uploads", ()))
    for uid in uploads & model.aborted:
        faults.append(f"aborted upload {uid} still listed")
    for page in s3.get_paginator("list_multipart_uploads").paginate(Bucket=BUCKET):
        for u in page.get("Uploads", ()):  # left open by the kill: finish them off
            s3.abort_multipart_upload(Bucket=BUCKET, Key=u["Key"], UploadId=u["UploadId"])
    model.open_uploads.clear()
    report = {}
    for _ in range(50):  # the sweep runs every second, with a 2 s grace
        report = check_data(cluster.dmd)
        if not (report["orphans"] or report["inFlight"]):
            break
        time.sleep(0.2)
    if report["orphans"] or report["inFlight"]:
        faults.append(f"orphans left: {report['orphans']} (+{report['inFlight']} in flight): "
                      f"{report['orphanList'][:5]}")
    if report["missing"]:
        faults.append(f"records missing data: {report['missingList'][:5]}")
    return {"faults": faults, "keys": len(readable), "files": report.get("files")}


def run(mode: str = "all", cycles: int = 3, seed: int = 1, workers: int = 4, keys: int = 12,
        min_load: float = 0.5, max_load: float = 2.5, workdir: str | None = None,
        log: Callable[[str], None] = print) -> dict:
    """``cycles`` crash cycles in ``mode``; the report (``failed`` cycles listed)."""
    rng = random.Random(seed)
    root = Path(workdir or tempfile.mkdtemp(prefix="cloudserver-crash-"))
    cluster = Cluster(mode, root)
    model = Model()
    results = []
    started = time.monotonic()
    cluster.start()
    try:
        def make_client():
            return boto3_client(cluster.front, root, read_timeout=20, connect_timeout=5)

        make_client().create_bucket(Bucket=BUCKET)
        for cycle in range(cycles):
            stop = threading.Event()
            threads = [Worker(n, make_client, model, random.Random(rng.random()), keys, stop,
                              cycle) for n in range(workers)]
            for t in threads:
                t.start()
            load = rng.uniform(min_load, max_load)
            time.sleep(load)
            victim = cluster.kill(rng)
            stop.set()
            for t in threads:
                t.join(30)
            cluster.restart()
            s3 = wait_ready(make_client, time.monotonic() + 30)
            outcome = verify(s3, model, cluster)
            ops = sum(t.ops for t in threads)
            results.append({"cycle": cycle, "killed": victim, "load_s": round(load, 2),
                            "ops": ops, **outcome})
            status = "ok" if not outcome["faults"] else "FAIL " + "; ".join(outcome["faults"])
            log(f"cycle {cycle:3d} {mode} killed {victim:5s} after {load:4.2f}s: {ops:4d} ops, "
                f"{outcome['keys']:3d} keys, {outcome['files']} files: {status}")
    finally:
        cluster.stop()
    failed = [r for r in results if r["faults"]]
    swept = swept_files(cluster.dmd.log_path)
    return {"mode": mode, "seed": seed, "cycles": len(results), "failed": failed,
            "acknowledged": model.acked, "lost_or_corrupt": sum(
                1 for r in results for f in r["faults"] if f.startswith(("lost", "corrupt"))),
            "orphan_faults": sum(1 for r in results for f in r["faults"]
                                 if f.startswith("orphans")),
            "swept_files": swept[0], "swept_bytes": swept[1],
            "seconds": round(time.monotonic() - started, 1), "results": results}


def swept_files(log_path: Path) -> tuple[int, int]:
    """(files, bytes) the orphan sweep removed, from the dmd's log lines."""
    import re

    files = nbytes = 0
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return 0, 0
    for m in re.finditer(r"orphan sweep: (\d+) data files \((\d+) bytes\) removed", text):
        files += int(m.group(1))
        nbytes += int(m.group(2))
    return files, nbytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", default="all", choices=("all", "split"))
    parser.add_argument("--cycles", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--keys", type=int, default=12, help="keys per worker")
    parser.add_argument("--min-load", type=float, default=0.5)
    parser.add_argument("--max-load", type=float, default=2.5)
    parser.add_argument("--report", help="write the JSON report here")
    args = parser.parse_args()
    report = run(args.mode, args.cycles, args.seed, args.workers, args.keys,
                 args.min_load, args.max_load, log=lambda line: print(line, flush=True))
    summary = {k: v for k, v in report.items() if k != "results"}
    summary["failed"] = len(report["failed"])
    print(json.dumps(summary))
    if args.report:
        Path(args.report).write_text(json.dumps(report, indent=1))
    sys.exit(1 if report["failed"] else 0)


if __name__ == "__main__":
    main()
