"""Group-committed writes per second of the metadata KVs, in process.

    .venv/bin/python bench/kv_commit.py [--writers 32] [--seconds 5] [--rounds 3]

LevelDBKV (synced batches) and PostgresKV (one transaction per batch, on a
PostgreSQL 15 started for the run with fsync on: tests/postgres_server.py)
under the same load: ``--writers`` coroutines each writing a PUT's batch
(a 600-byte record and a 100-byte usage counter) and waiting for it, the
thread pool and reactor of a server, rounds interleaved; printed: the
median writes/s, the latency p50/p99 and the mean batch size of each, and
postgres ÷ LevelDB per round.  No HTTP: what the KV alone costs.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from twisted.internet import defer, reactor  # noqa: E402
from twisted.internet.threads import deferToThreadPool  # noqa: E402
from twisted.python.threadpool import ThreadPool  # noqa: E402

from cloudserver.metadata.kv import LevelDBKV  # noqa: E402


async def load(kv, writers: int, seconds: float, tag: int) -> dict:
    lat: list[float] = []
    batches0 = kv.batches

    async def writer(i: int) -> None:
        j = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            t = time.perf_counter()
            await kv.write([(b"O\0b\0r%d-w%d-%d" % (tag, i, j), b"x" * 600),
                            (b"C\0b", b"y" * 100)])
            lat.append(time.perf_counter() - t)
            j += 1

    await defer.gatherResults([defer.Deferred.fromCoroutine(writer(i))
                               for i in range(writers)])
    lat.sort()
    return {"rate": len(lat) / seconds, "p50": lat[len(lat) // 2] * 1000,
            "p99": lat[int(len(lat) * 0.99)] * 1000,
            "batch": len(lat) / max(1, kv.batches - batches0)}


async def main(args) -> None:
    from cloudserver.metadata.postgres_kv import PostgresKV
    from cloudserver.metadata.postgres_sql import PostgresStore
    from tests.postgres_server import PostgresServer

    pool = ThreadPool(2, 16, "bench-io")
    pool.start()
    to_thread = partial(deferToThreadPool, reactor, pool)
    pg = PostgresServer(durable=True)
    try:
        store = PostgresStore(pg.dsn, "bench_kv", "bench", lease=10, pool_size=4)
        kvs = {"leveldb": LevelDBKV(tempfile.mkdtemp(prefix="kv-bench-", dir="/var/tmp"),
                                    to_thread),
               "postgres": PostgresKV(store, to_thread, reactor.seconds)}
        kvs["postgres"].open()
        kvs["postgres"].start(reactor)
        results: dict[str, list[dict]] = {name: [] for name in kvs}
        for rnd in range(args.rounds):
            order = list(kvs) if rnd % 2 == 0 else list(kvs)[::-1]
            for name in order:
                r = await load(kvs[name], args.writers, args.seconds, rnd)
                results[name].append(r)
                print(f"round {rnd + 1} {name:9s} {r['rate']:8,.0f} writes/s  p50 "
                      f"{r['p50']:6.1f} ms  p99 {r['p99']:6.1f} ms  batch {r['batch']:5.1f}",
                      flush=True)
        for name, rs in results.items():
            print(f"median {name:9s} {statistics.median(r['rate'] for r in rs):8,.0f} writes/s  "
                  f"p50 {statistics.median(r['p50'] for r in rs):6.1f} ms  p99 "
                  f"{statistics.median(r['p99'] for r in rs):6.1f} ms  batch "
                  f"{statistics.median(r['batch'] for r in rs):5.1f}")
        ratios = [p["rate"] / q["rate"] for p, q in zip(results["postgres"], results["leveldb"])]
        print(f"postgres / leveldb per round: {', '.join(f'{x:.2f}' for x in ratios)}; "
              f"median {statistics.median(ratios):.2f}")
        for kv in kvs.values():
            await kv.close()
    finally:
        pg.destroy()
        pool.stop()


def run() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--writers", type=int, default=32)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()

    def done(result):
        if reactor.running:
            reactor.stop()
        return result

    reactor.callWhenRunning(lambda: defer.Deferred.fromCoroutine(main(args))
                            .addErrback(lambda f: f.printTraceback()).addBoth(done))
    reactor.run()


if __name__ == "__main__":
    run()
