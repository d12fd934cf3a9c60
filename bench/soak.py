"""A soak: mixed S3 load on 64 connections for N minutes, the server watched.

One ``twistd -n cloudserver`` (all-in-one, file backend, fsync on, this
checkout) under 64 keep-alive connections, each a thread with its own key
prefix doing PUT / GET / HEAD / DELETE / LIST / multipart (create, parts,
complete or abort) with objects of 4 KiB-64 MiB, mostly small (85% under
64 KiB, 0.3% over 4 MiB); the live bytes are capped (``--disk-cap``) by
shrinking PUTs.  Every answer is checked: GET returns the MD5 last written,
HEAD the size, a listing of the thread's prefix exactly its keys.  The
server's RSS, open fds and threads are read from /proc every 10 s.

Output (``--out PREFIX``): PREFIX.md (totals, samples, flatness), PREFIX.png
(the plot, matplotlib: ``bench/setup.sh``) and PREFIX.json (the samples).
Pass: 0 errors, no traceback in the server log, RSS and fds flat after the
warm-up (least-squares slope; projected growth over the measured span
under max(10 MB, 5%) and under 10 fds).

    .venv/bin/python bench/soak.py --minutes 5 --out bench/results/2026-12-02-soak
"""
from __future__ import annotations

import argparse
import datetime
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(CHECKOUT))
sys.path.insert(0, str(CHECKOUT / "bench"))

from soak_report import flatness, write_outputs  # noqa: E402

from cloudserver.memdiag import resident  # noqa: E402
from tests.functional.fuzz_wire import Signer, query_string  # noqa: E402
from tests.functional.server import ServerProcess  # noqa: E402

KIB, MIB = 1024, 1024 * 1024
PART = 5 * MIB
BLOB = os.urandom(64 * MIB + 64 * KIB)
OPS = [("put", 30), ("get", 30), ("head", 12), ("delete", 10), ("list", 10), ("mpu", 2)]
SLOTS = 48  # keys per connection


def object_size(rng: random.Random) -> int:
    roll = rng.random()
    if roll < 0.85:
        return int(4 * KIB * 16 ** rng.random())          # 4-64 KiB, log-uniform
    if roll < 0.997:
        return int(64 * KIB * 64 ** rng.random())         # 64 KiB-4 MiB
    return int(4 * MIB * 16 ** rng.random())              # 4-64 MiB


class Budget:
    """Live bytes on the server, kept under ``cap`` by shrinking PUTs."""

    def __init__(self, cap: int):
        self.cap, self.live, self.lock = cap, 0, threading.Lock()

    def change(self, delta: int) -> None:
        with self.lock:
            self.live += delta

    def fits(self, size: int) -> bool:
        return self.live + size <= self.cap


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.ops: Counter = Counter()
        self.errors: Counter = Counter()
        self.examples: dict[str, str] = {}
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.bytes = 0

    def record(self, op: str, seconds: float, nbytes: int = 0) -> None:
        with self.lock:
            self.ops[op] += 1
            self.bytes += nbytes
            lat = self.latency[op]
            if len(lat) < 200_000:
                lat.append(seconds)

    def error(self, op: str, detail: str) -> None:
        with self.lock:
            kind = f"{op}: {detail[:80]}"
            self.errors[kind] += 1
            self.examples.setdefault(kind, detail[:400])


class Worker(threading.Thread):
    """One connection's loop over its own keys until ``stop_at``."""

    def __init__(self, index: int, port: int, bucket: str, stats: Stats, budget: Budget,
                 stop_at: float, seed: int):
        super().__init__(daemon=True, name=f"soak-{index}")
        self.port, self.bucket, self.stats, self.budget = port, bucket, stats, budget
        self.prefix = f"w{index:02d}/"
        self.stop_at = stop_at
        self.rng = random.Random(seed * 1000 + index)
        self.keys: dict[str, tuple[int, str]] = {}  # key -> (size, md5 hex)
        self.signer = Signer()
        self.host = f"127.0.0.1:{port}"
        self.conn: http.client.HTTPConnection | None = None

    def call(self, method: str, key: str | None, pairs=(), body=b"") -> tuple[int, bytes, dict]:
        path = f"/{self.bucket}" + (f"/{key}" if key is not None else "")
        raw_query = query_string(list(pairs))
        headers = {"host": self.host, "content-length": str(len(body))}
        self.signer.sign_headers(method, path, raw_query, headers, "UNSIGNED-PAYLOAD")
        target = path + ("?" + raw_query if raw_query else "")
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                self.conn.request(method, target, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                if response.getheader("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return response.status, data, dict(response.getheaders())
            except (OSError, http.client.HTTPException) as error:
                self.conn.close()
                self.conn = None
                if attempt == 1 or method not in ("GET", "HEAD"):
                    raise ConnectionError(f"{type(error).__name__}: {error}") from error
        raise AssertionError("unreachable")

    def run(self) -> None:
        names = [name for name, _ in OPS]
        weights = [weight for _, weight in OPS]
        while time.monotonic() < self.stop_at:
            op = self.rng.choices(names, weights)[0]
            if op in ("get", "head", "delete") and not self.keys:
                op = "put"
            started = time.perf_counter()
            try:
                nbytes = getattr(self, op)()
            except ConnectionError as error:
                self.stats.error(op, str(error))
                continue
            self.stats.record(op, time.perf_counter() - started, nbytes or 0)

    def _body(self, size: int) -> memoryview:
        offset = self.rng.randrange(0, len(BLOB) - size + 1)
        return memoryview(BLOB)[offset:offset + size]

    def put(self) -> int:
        key = self.prefix + f"o{self.rng.randrange(SLOTS):03d}"
        size = object_size(self.rng)
        if not self.budget.fits(size):
            size = 4 * KIB
        body = self._body(size)
        status, data, headers = self.call("PUT", key, body=body)
        md5 = hashlib.md5(body).hexdigest()
        if status != 200 or headers.get("ETag", "").strip('"') != md5:
            self.stats.error("put", f"{status} {headers.get('ETag')} {data[:200]!r}")
            return 0
        self._stored(key, size, md5)
        return size

    def _stored(self, key: str, size: int, md5: str) -> None:
        old = self.keys.get(key)
        self.budget.change(size - (old[0] if old else 0))
        self.keys[key] = (size, md5)

    def get(self) -> int:
        key = self.rng.choice(list(self.keys))
        size, md5 = self.keys[key]
        status, data, _ = self.call("GET", key)
        if status != 200 or len(data) != size or hashlib.md5(data).hexdigest() != md5:
            self.stats.error("get", f"{status} {len(data)}/{size} bytes {data[:200]!r}")
        return len(data)

    def head(self) -> int:
        key = self.rng.choice(list(self.keys))
        status, _, headers = self.call("HEAD", key)
        if status != 200 or headers.get("Content-Length") != str(self.keys[key][0]):
            self.stats.error("head", f"{status} {headers.get('Content-Length')}")
        return 0

    def delete(self) -> int:
        key = self.rng.choice(list(self.keys))
        status, data, _ = self.call("DELETE", key)
        if status != 204:
            self.stats.error("delete", f"{status} {data[:200]!r}")
            return 0
        self.budget.change(-self.keys.pop(key)[0])
        return 0

    def list(self) -> int:
        status, data, _ = self.call("GET", None, [("list-type", "2"), ("prefix", self.prefix),
                                                  ("max-keys", "1000")])
        listed = set(re.findall(rb"<Key>([^<]*)</Key>", data))
        expected = {k.encode() for k in self.keys}
        if status != 200 or listed != expected:
            self.stats.error("list", f"{status} {len(listed)} keys listed, {len(expected)} "
                             f"expected; missing {sorted(expected - listed)[:3]} extra "
                             f"{sorted(listed - expected)[:3]}")
        return 0

    def mpu(self) -> int:
        key = self.prefix + f"m{self.rng.randrange(4)}"
        status, data, _ = self.call("POST", key, [("uploads", None)])
        found = re.search(rb"<UploadId>([^<]+)</UploadId>", data)
        if status != 200 or not found:
            self.stats.error("mpu", f"create {status} {data[:200]!r}")
            return 0
        upload = found.group(1).decode()
        sizes = [PART, self.rng.randrange(4 * KIB, MIB)]
        parts, whole = [], hashlib.md5()
        for number, size in enumerate(sizes, 1):
            body = self._body(size)
            status, data, headers = self.call("PUT", key, [("partNumber", str(number)),
                                                           ("uploadId", upload)], body)
            if status != 200:
                self.stats.error("mpu", f"part {status} {data[:200]!r}")
                return 0
            whole.update(body)
            parts.append(f"<Part><PartNumber>{number}</PartNumber><ETag>"
                         f"{headers.get('ETag')}</ETag></Part>")
        if self.rng.random() < 0.25:
            status, data, _ = self.call("DELETE", key, [("uploadId", upload)])
            if status != 204:
                self.stats.error("mpu", f"abort {status} {data[:200]!r}")
            return sum(sizes)
        doc = ("<CompleteMultipartUpload>" + "".join(parts)
               + "</CompleteMultipartUpload>").encode()
        status, data, _ = self.call("POST", key, [("uploadId", upload)], doc)
        if status != 200 or b"<Error>" in data:
            self.stats.error("mpu", f"complete {status} {data[:200]!r}")
            return 0
        self._stored(key, sum(sizes), whole.hexdigest())
        return sum(sizes)


def _tables(metadata_dir: Path | None) -> dict[str, float]:
    """How many LevelDB table files the metadata directory holds, and their MB."""
    if metadata_dir is None:
        return {}
    sizes = [e.stat().st_size for e in os.scandir(metadata_dir) if e.name.endswith(".ldb")]
    return {"ldb_files": len(sizes), "ldb_mb": sum(sizes) / MIB}


def proc_sample(pid: int, metadata_dir: Path | None = None) -> dict[str, float]:
    with open(f"/proc/{pid}/status") as status:
        fields = dict(line.split(":", 1) for line in status if ":" in line)
    return {"rss_mb": int(fields["VmRSS"].split()[0]) / 1024,
            "threads": int(fields["Threads"]),
            "fds": len(os.listdir(f"/proc/{pid}/fd")),
            **resident(pid), **_tables(metadata_dir)}


def sample_loop(pid: int, stats: Stats, stop_at: float, started: float, interval: float,
                samples: list[dict], metadata_dir: Path | None = None) -> None:
    """Every ``interval`` s: the server's /proc figures and the load's counters."""
    last_ops, last_t = 0, started
    while True:
        now = time.monotonic()
        with stats.lock:
            ops, errors = sum(stats.ops.values()), sum(stats.errors.values())
        sample = {"t": now - started, **proc_sample(pid, metadata_dir), "ops": ops,
                  "errors": errors, "ops_s": (ops - last_ops) / max(now - last_t, 1e-9)}
        samples.append(sample)
        last_ops, last_t = ops, now
        print(f"{sample['t']:7.0f}s rss {sample['rss_mb']:7.1f} MB fds {sample['fds']:4d} "
              f"(anon {sample['rss_anon_mb']:6.1f} ldb-mapped {sample['ldb_mapped_mb']:5.1f}, "
              f"{sample.get('ldb_files', 0)} .ldb {sample.get('ldb_mb', 0):.0f} MB) "
              f"threads {sample['threads']:3d} ops {ops:8d} ({sample['ops_s']:6.0f}/s) "
              f"errors {errors}", flush=True)
        if now >= stop_at:
            return
        time.sleep(max(0.0, min(interval, stop_at - time.monotonic())))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--interval", type=float, default=10.0, help="seconds per sample")
    parser.add_argument("--warmup", type=float, default=None,
                        help="seconds left out of the flatness check (default: "
                             "max(60, 20%% of the run))")
    parser.add_argument("--disk-cap", type=float, default=3.0, help="GiB of live objects")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--out", type=Path, help="PREFIX for PREFIX.md/.png/.json")
    parser.add_argument("--config", type=json.loads, default={},
                        help='config.json fields over the defaults, e.g. \'{"memory": '
                             '{"mmapThreshold": 0, "trimInterval": 0}}\' (glibc\'s own)')
    args = parser.parse_args(argv)
    seconds = args.minutes * 60
    warmup = args.warmup if args.warmup is not None else max(60.0, 0.2 * seconds)
    started_at = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    workdir = Path(tempfile.mkdtemp(prefix="soak-"))
    server = ServerProcess(workdir / "server", extra_config=args.config)
    server.start()
    stats, samples = Stats(), []
    try:
        bucket = "soak"
        setup = Worker(0, server.port, bucket, stats, Budget(0), 0, args.seed)
        status, data, _ = setup.call("PUT", None)
        assert status == 200, (status, data)
        started = time.monotonic()
        stop_at = started + seconds
        budget = Budget(int(args.disk_cap * 1024 * MIB))
        workers = [Worker(i, server.port, bucket, stats, budget, stop_at, args.seed)
                   for i in range(args.connections)]
        for worker in workers:
            worker.start()
        sample_loop(server.pid, stats, stop_at, started, args.interval, samples,
                    server.metadata_dir)
        for worker in workers:
            worker.join(300)
        tracebacks = server.log_path.read_text(errors="replace").count("Traceback")
        alive = server.alive()
    finally:
        server.destroy()
        shutil.rmtree(workdir, ignore_errors=True)
    verdict = flatness(samples, warmup)
    ok = (not stats.errors and not tracebacks and alive and verdict["rss_flat"]
          and verdict["fds_flat"])
    meta = {"started": started_at, "minutes": args.minutes, "connections": args.connections,
            "warmup_s": warmup, "disk_cap_gib": args.disk_cap, "tracebacks": tracebacks,
            "alive": alive, "ok": ok, "argv": " ".join(sys.argv[1:]), "config": args.config}
    print(f"flatness after {warmup:.0f} s: RSS {verdict['rss_slope_mb_min']:+.3f} MB/min "
          f"({'flat' if verdict['rss_flat'] else 'GROWING'}), fds "
          f"{verdict['fds_slope_min']:+.3f}/min ({'flat' if verdict['fds_flat'] else 'GROWING'})"
          f", threads {verdict['threads_slope_min']:+.3f}/min")
    print(f"errors {sum(stats.errors.values())}: {dict(stats.errors)}; tracebacks {tracebacks}")
    if args.out:
        write_outputs(args.out, samples, stats, verdict, meta)
        print(f"wrote {args.out}.md, .png, .json")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
