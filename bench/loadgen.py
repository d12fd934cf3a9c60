"""Small-request load: wrk replaying presigned URLs, ab for HEAD.

wrk (C, epoll, one thread) keeps 32 connections busy at tens of thousands
of requests a second on one core, far above any Python server here, so the
server is what is measured.  wrk cannot do HEAD: its HTTP parser waits for
the Content-Length bytes a HEAD response announces but never sends.  HEAD
therefore runs under ApacheBench (``ab -k -i``), also C, on one presigned
URL (one object, as S3 benchmarks' "stat" does).
"""
from __future__ import annotations

import json
import re
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

BENCH = Path(__file__).resolve().parent
LUA = BENCH / "wrk_urls.lua"


class LoadResult(dict):
    """requests, elapsed (s), rate (/s), p50_ms, p99_ms, errors, statuses."""


def write_paths(path: Path, paths) -> Path:
    path.write_text("".join(p + "\n" for p in paths))
    return path


def run_wrk(host: str, paths_file: Path, method: str, *, body_size: int = 0,
            once: bool = False, duration: float = 10.0, connections: int = 32,
            threads: int = 1, timeout: float = 30.0) -> LoadResult:
    """Replay the request-targets of ``paths_file`` against ``host`` with wrk."""
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(duration))}s",
            f"--timeout={int(timeout)}s", "-s", str(LUA), f"http://{host}", "--",
            str(paths_file), method, str(body_size), "1" if once else "0", str(threads)]
    # wrk sleeps out the whole -d even when every thread has stopped (ONCE
    # lists used up): each thread prints a marker, and SIGINT ends the wait.
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    timer = threading.Timer(duration + timeout + 30, proc.kill)
    timer.start()
    try:
        lines, finished = [], 0
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("BENCH_THREAD_DONE"):
                finished += 1
                if finished == threads:
                    proc.send_signal(signal.SIGINT)
        stderr = proc.stderr.read()
        proc.wait()
    finally:
        timer.cancel()
    stdout = "".join(lines)
    line = next((l for l in lines if l.startswith("BENCH_JSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result: {stdout[-2000:]} {stderr[-2000:]}")
    raw = json.loads(line[len("BENCH_JSON "):])
    ok = sum(v for k, v in raw["statuses"].items() if k.startswith("2"))
    bad = raw["requests"] - ok
    e = raw["errors"]
    sock_errors = e["connect"] + e["read"] + e["write"] + e["timeout"]
    elapsed = raw["elapsed"] or raw["wrk_duration_us"] / 1e6
    return LoadResult(requests=raw["requests"], ok=ok, elapsed=elapsed,
                      rate=ok / elapsed if elapsed else 0.0,
                      p50_ms=raw["p50_us"] / 1000, p99_ms=raw["p99_us"] / 1000,
                      errors=bad + sock_errors, statuses=raw["statuses"],
                      sent=sum(raw["sent"]))


def run_ab_head(host: str, path: str, *, duration: float = 10.0,
                connections: int = 32) -> LoadResult:
    """HEAD one presigned URL for ``duration`` seconds with keep-alive."""
    with tempfile.NamedTemporaryFile("r", suffix=".csv") as csv:
        # -t before -n: -t alone caps the run at 50,000 requests
        argv = ["ab", "-k", "-i", "-q", "-c", str(connections), "-t", str(duration),
                "-n", "100000000", "-s", "30", "-e", csv.name, f"http://{host}{path}"]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60)
        percentiles = {}
        for row in csv.read().splitlines()[1:]:
            pct, ms = row.split(",")
            percentiles[int(float(pct))] = float(ms)

    def field(name: str, default: str = "0") -> str:
        m = re.search(rf"^{name}:\s+([\d.]+)", out.stdout, re.M)
        return m.group(1) if m else default

    if "Complete requests" not in out.stdout:
        raise RuntimeError(f"ab failed: {out.stdout[-2000:]} {out.stderr[-2000:]}")
    complete = int(field("Complete requests"))
    failed = int(field("Failed requests"))
    non2xx = int(field("Non-2xx responses"))
    elapsed = float(field("Time taken for tests"))
    ok = complete - failed - non2xx
    return LoadResult(requests=complete, ok=ok, elapsed=elapsed,
                      rate=ok / elapsed if elapsed else 0.0,
                      p50_ms=percentiles.get(50, 0.0), p99_ms=percentiles.get(99, 0.0),
                      errors=failed + non2xx, statuses={}, sent=complete)
