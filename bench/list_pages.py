"""
Does listing a big bucket page by page slow down with the page number?

    .venv/bin/python bench/list_pages.py direct [--keys 100000] [--versions 2] [--runs 5]
    .venv/bin/python bench/list_pages.py e2e [--keys 5000] [--versions 2] [--runs 3]
                                         [--fill s3|direct] [--threads 8] [--port P]

Every listing call is bounded (max-keys <= 1000) and starts by seeking to
its marker, so page 100 of a 100,000-key bucket should cost what page 1
costs.  This bench walks a whole bucket 1000 entries at a time, twice: a
ListObjectsV2 walk (continuation tokens; masters only, every version key
skipped by seeking past it) and a ListObjectVersions walk (key-marker /
version-id-marker), and times every page.  Each walk is repeated
``--runs`` times; each page's figure is the median over the runs.  It
prints the first, middle and last page, the ratio last / first, and the
ratio of the means of the last and first tenth of the pages (less noisy
than one page).

``direct``: a MetadataService over a LevelDBKV in a temporary directory,
filled directly (batches of thousands of writes share one synced LevelDB
batch), listed in-process: the listing algorithm, LevelDB iteration and
record decoding, no HTTP or XML.

``e2e``: a real ``twistd cloudserver`` (file backend, temporary
directories) listed by boto3, so every page includes routing, auth, XML
rendering and botocore's parsing.  The bucket is filled through the S3 API
with ``--threads`` parallel PutObject calls (``--fill s3``), or, for big
``--keys``, by stopping the server after one real PutObject and writing
records shaped like it straight into its metadata directory
(``--fill direct``), then starting it again.

Each key gets ``--versions`` versions (versioning enabled), so a bucket of
N keys holds N masters and N * versions version keys.  ``--json`` adds a
machine-readable line.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]
if str(CHECKOUT) not in sys.path:
    sys.path.insert(0, str(CHECKOUT))

from twisted.internet import defer  # noqa: E402
from twisted.python.failure import Failure  # noqa: E402

from cloudserver.metadata.kv import LevelDBKV  # noqa: E402
from cloudserver.metadata.service import MetadataService  # noqa: E402

BUCKET = "listbench"
PAGE = 1000
#: How many puts are issued before the held "thread pool" runs their batches.
FILL_CHUNK = 5000


def key_name(i: int) -> str:
    return f"data/{i // 1000:04d}/object-{i:08d}.bin"


# -- filling the metadata directly ---------------------------------------------

class HeldPool:
    """A ``defer_to_thread`` that runs calls only when told (``drain``), so the
    KV's group commit merges every put issued meanwhile into one batch."""

    def __init__(self) -> None:
        self.pending: list[tuple[defer.Deferred, object, tuple]] = []

    def __call__(self, f, *args) -> defer.Deferred:
        d: defer.Deferred = defer.Deferred()
        self.pending.append((d, f, args))
        return d

    def drain(self) -> None:
        while self.pending:
            d, f, args = self.pending.pop(0)
            try:
                result = f(*args)
            except BaseException:
                d.errback()
            else:
                d.callback(result)


def result_of(d: defer.Deferred):
    """The result of an already fired Deferred (the service's reads are synchronous)."""
    out: list = []
    d.addBoth(out.append)
    if not out:
        raise RuntimeError("Deferred has not fired")
    if isinstance(out[0], Failure):
        out[0].raiseException()
    return out[0]


def object_template(size: int = 4096) -> dict:
    """A record like the ones PutObject writes (see ops/object_write.object_record)."""
    return {
        "mdVersion": 1, "key": "", "size": size,
        "etag": "5d41402abc4b2a76b9719d911017c592", "last-modified": 1_700_000_000_000,
        "content-type": "application/octet-stream", "headers": {}, "metadata": {},
        "owner": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
        "owner-name": "Bart", "storage-class": "STANDARD",
        "location": [{"key": "0" * 40, "start": 0, "size": size}],
        "acl": {"owner": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
                "grants": []},
    }


def fill_service(svc: MetadataService, pool: HeldPool, keys: int, versions: int,
                 template: dict, progress: bool = True) -> float:
    """Put ``versions`` versions of each of ``keys`` keys; seconds taken."""
    started = time.perf_counter()
    options = {"versioning": True}
    issued: list[defer.Deferred] = []
    for v in range(versions):
        for i in range(keys):
            name = key_name(i)
            md = dict(template, key=name)
            md["metadata"] = {"v": str(v)}
            issued.append(svc.put_object(BUCKET, name, md, options))
            if len(issued) >= FILL_CHUNK:
                pool.drain()
                for d in issued:
                    result_of(d)
                issued.clear()
        if progress:
            print(f"  filled version {v + 1}/{versions} of {keys} keys "
                  f"({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    pool.drain()
    for d in issued:
        result_of(d)
    return time.perf_counter() - started


def open_service(path: Path) -> tuple[MetadataService, HeldPool, LevelDBKV]:
    pool = HeldPool()
    kv = LevelDBKV(str(path), pool)
    return MetadataService(kv), pool, kv


def close_service(kv: LevelDBKV, pool: HeldPool) -> None:
    d = kv.close()
    pool.drain()
    result_of(d)


# -- walks ---------------------------------------------------------------------
#
# Every walk returns one (wall seconds, CPU seconds) pair per page.  The CPU
# figure is what the lister itself spent (this thread for ``direct``, the
# server's reactor thread for ``e2e``): on a loaded machine it is far less
# noisy than wall time.

def walk_direct(svc: MetadataService, versions: bool) -> list[tuple[float, float]]:
    times, markers = [], {}
    while True:
        if versions:
            params = {"listingType": "DelimiterVersions", "maxKeys": PAGE, **markers}
        else:
            params = {"listingType": "DelimiterMaster", "v2": True, "maxKeys": PAGE, **markers}
        w0, c0 = time.perf_counter(), time.thread_time()
        r = result_of(svc.list_objects(BUCKET, params))
        times.append((time.perf_counter() - w0, time.thread_time() - c0))
        if not r["IsTruncated"]:
            return times
        if versions:
            markers = {"keyMarker": r["NextKeyMarker"],
                       "versionIdMarker": r["NextVersionIdMarker"]}
        else:
            markers = {"continuationToken": r["NextContinuationToken"]}


def thread_cpu(pid: int) -> float:
    """Seconds on CPU of the main (reactor) thread of process ``pid``."""
    with open(f"/proc/{pid}/task/{pid}/schedstat") as f:
        return int(f.read().split()[0]) / 1e9


def walk_s3(s3, pid: int, versions: bool) -> tuple[list[tuple[float, float]], int]:
    times, kwargs, count = [], {}, 0
    while True:
        w0, c0 = time.perf_counter(), thread_cpu(pid)
        if versions:
            r = s3.list_object_versions(Bucket=BUCKET, MaxKeys=PAGE, **kwargs)
        else:
            r = s3.list_objects_v2(Bucket=BUCKET, MaxKeys=PAGE, **kwargs)
        times.append((time.perf_counter() - w0, thread_cpu(pid) - c0))
        count += len(r.get("Versions", [])) + len(r.get("DeleteMarkers", [])) \
            if versions else r.get("KeyCount", 0)
        if not r["IsTruncated"]:
            return times, count
        if versions:
            kwargs = {"KeyMarker": r["NextKeyMarker"],
                      "VersionIdMarker": r["NextVersionIdMarker"]}
        else:
            kwargs = {"ContinuationToken": r["NextContinuationToken"]}


# -- figures -------------------------------------------------------------------

def summarize(name: str, runs: list[list[tuple[float, float]]]) -> dict:
    """Per-page medians over the runs, and the figures the README quotes."""
    pages = min(len(r) for r in runs)
    out: dict = {"walk": name, "pages": pages, "runs": len(runs)}
    tenth = max(1, pages // 10)
    for index, what in ((0, "wall"), (1, "cpu")):
        med = [statistics.median(r[p][index] for r in runs) for p in range(pages)]
        first_tenth = statistics.mean(med[:tenth])
        last_tenth = statistics.mean(med[pages - tenth:])
        fig = {
            "first_ms": med[0] * 1e3, "middle_ms": med[pages // 2] * 1e3,
            "last_ms": med[-1] * 1e3, "last_over_first": med[-1] / med[0],
            "first_tenth_ms": first_tenth * 1e3, "last_tenth_ms": last_tenth * 1e3,
            "last_tenth_over_first_tenth": last_tenth / first_tenth,
            "walk_s": statistics.median(sum(p[index] for p in r) for r in runs),
        }
        out[what] = fig
        print(f"{name:<26} {what:<4} pages {pages:>4}  first {fig['first_ms']:7.2f}  "
              f"middle {fig['middle_ms']:7.2f}  last {fig['last_ms']:7.2f} ms  "
              f"last/first {fig['last_over_first']:4.2f}  tenths "
              f"{fig['first_tenth_ms']:6.2f} -> {fig['last_tenth_ms']:6.2f} ms "
              f"({fig['last_tenth_over_first_tenth']:4.2f})  walk {fig['walk_s']:6.2f} s",
              flush=True)
    return out


# -- the two modes -------------------------------------------------------------

def run_direct(args) -> list[dict]:
    tmp = Path(tempfile.mkdtemp(prefix="list-pages-"))
    try:
        svc, pool, kv = open_service(tmp / "metadata")
        d = svc.create_bucket(BUCKET, {"name": BUCKET, "versioning": "Enabled"})
        pool.drain()
        result_of(d)
        took = fill_service(svc, pool, args.keys, args.versions, object_template())
        print(f"filled {args.keys} keys x {args.versions} versions in {took:.1f} s",
              file=sys.stderr)
        v2 = [walk_direct(svc, versions=False) for _ in range(args.runs)]
        versions = [walk_direct(svc, versions=True) for _ in range(args.runs)]
        close_service(kv, pool)
        return [summarize("direct ListObjectsV2", v2),
                summarize("direct ListObjectVersions", versions)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_e2e(args) -> list[dict]:
    from tests.functional.clients import boto3_client
    from tests.functional.server import ServerProcess

    tmp = Path(tempfile.mkdtemp(prefix="list-pages-e2e-"))
    server = ServerProcess(workdir=tmp)
    try:
        if args.port:
            server.port = args.port
            server._write_config()  # what start() does for a port it picks itself
        server.start()
        s3 = boto3_client(server, tmp, request_checksum_calculation="when_required")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        started = time.perf_counter()
        if args.fill == "s3":
            clients = [boto3_client(server, tmp, request_checksum_calculation="when_required")
                       for _ in range(args.threads)]

            def put(job: tuple[int, int]) -> None:
                i, v = job
                clients[i % args.threads].put_object(Bucket=BUCKET, Key=key_name(i),
                                                     Body=b"v%d" % v)

            with concurrent.futures.ThreadPoolExecutor(args.threads) as workers:
                for v in range(args.versions):
                    list(workers.map(put, [(i, v) for i in range(args.keys)]))
        else:
            s3.put_object(Bucket=BUCKET, Key="template", Body=b"x" * 4096)
            server.stop()
            svc, pool, kv = open_service(server.metadata_dir)
            template = result_of(svc.get_object(BUCKET, "template"))
            template_vid = template["versionId"]
            for field in ("versionId", "isNull", "nullVersionId"):
                template.pop(field, None)
            fill_service(svc, pool, args.keys, args.versions, template)
            # The template must not make the last page one entry long.
            d = svc.delete_object(BUCKET, "template", {"versionId": template_vid})
            pool.drain()
            result_of(d)
            close_service(kv, pool)
            server.start()
        print(f"filled {args.keys} keys x {args.versions} versions ({args.fill}) in "
              f"{time.perf_counter() - started:.1f} s", file=sys.stderr)
        pid = server.pid
        v2, versions = [], []
        for _ in range(args.runs):
            times, count = walk_s3(s3, pid, versions=False)
            v2.append(times)
        for _ in range(args.runs):
            times, vcount = walk_s3(s3, pid, versions=True)
            versions.append(times)
        print(f"listed {count} objects, {vcount} versions per walk", file=sys.stderr)
        return [summarize("e2e ListObjectsV2", v2),
                summarize("e2e ListObjectVersions", versions)]
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mode", choices=("direct", "e2e"))
    parser.add_argument("--keys", type=int)
    parser.add_argument("--versions", type=int, default=2)
    parser.add_argument("--runs", type=int)
    parser.add_argument("--fill", choices=("s3", "direct"), default="s3")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--port", type=int, default=0, help="S3 port (default: a free one)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.keys is None:
        args.keys = 100_000 if args.mode == "direct" or args.fill == "direct" else 5_000
    if args.runs is None:
        args.runs = 5 if args.mode == "direct" else 3
    results = run_direct(args) if args.mode == "direct" else run_e2e(args)
    if args.json:
        print(json.dumps({"mode": args.mode, "keys": args.keys, "versions": args.versions,
                          "fill": args.fill if args.mode == "e2e" else None,
                          "results": results}))


if __name__ == "__main__":
    main()
