"""CPU of one request's metrics calls alone: one process's plain counters
against a worker's mmap'd multiprocess values (clusters N).

    PYTHONPATH=. .venv/bin/python bench/metrics_values.py [-n 100000] [--repeat 5]

``request_started`` + ``request_done`` of a 200 GetObject with 4 KiB
sent, ``time.process_time`` per pair, best of ``--repeat``: for
``families.Metrics`` (what ``--mode all`` and clusters 1 use),
``shared.WorkerMetrics`` over the library's default multiprocess value
(an ``os.getpid()`` per write) and over the pid-pinned one a worker uses
(``shared.pin_pid``).  bench/README "Metrics" has the figures.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from prometheus_client import values  # noqa: E402

from cloudserver.metrics import shared  # noqa: E402
from cloudserver.metrics.families import Metrics  # noqa: E402


def warm(metrics):
    """One call now: the children are made under the current value class."""
    metrics.request_started()
    metrics.request_done("GetObject", 200, "-", 0, 4096, 0.0012)
    return metrics


def per_call(metrics, n: int, repeat: int) -> float:
    started, done = metrics.request_started, metrics.request_done
    best = float("inf")
    for _ in range(repeat):
        t = time.process_time()
        for _ in range(n):
            started()
            done("GetObject", 200, "-", 0, 4096, 0.0012)
        best = min(best, (time.process_time() - t) / n)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="cloudserver-mp-")
    os.environ[shared.ENV] = directory
    saved = values.ValueClass
    try:
        rows = [("one process (families.Metrics)", warm(Metrics(process=False)))]
        values.ValueClass = values.MultiProcessValue()
        rows.append(("worker, getpid per write", warm(shared.WorkerMetrics())))
        values.ValueClass = shared.value_class(os.getpid())
        rows.append(("worker, pid pinned (as served)", warm(shared.WorkerMetrics())))
        values.ValueClass = saved
        for label, metrics in rows:
            print(f"{label:32s} {per_call(metrics, args.n, args.repeat) * 1e6:6.2f} us "
                  "a request")
    finally:
        values.ValueClass = saved
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
