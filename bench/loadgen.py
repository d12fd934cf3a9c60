"""Small-request load: wrk replaying presigned URLs, hey for HEAD.

wrk (C, epoll, one thread) keeps 32 connections busy at tens of thousands
of requests a second on one core, far above any Python server here, so the
server is what is measured.  wrk cannot do HEAD: its HTTP parser waits for
the Content-Length bytes a HEAD response announces but never sends.  HEAD
therefore runs under ``hey`` (Go, keep-alive, held to one core) on one
presigned URL: one object, as S3 benchmarks' "stat" does.  (ApacheBench is
no substitute: it speaks HTTP/1.0, and twisted.web closes HTTP/1.0
connections after each response, so it would measure connection set-up.)
"""
from __future__ import annotations

import json
import re
import signal
import subprocess
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
    line = next((x for x in lines if x.startswith("BENCH_JSON ")), None)
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


def run_hey_head(host: str, path: str, *, duration: float = 10.0,
                 connections: int = 32) -> LoadResult:
    """HEAD one presigned URL for ``duration`` seconds, keep-alive, one core."""
    argv = ["hey", "-cpus", "1", "-m", "HEAD", "-c", str(connections),
            "-z", f"{max(1, round(duration))}s", "-t", "30", f"http://{host}{path}"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=duration + 60).stdout
    m = re.search(r"Total:\s+([\d.]+) secs", out)
    if m is None:
        raise RuntimeError(f"hey failed: {out[-2000:]}")
    elapsed = float(m.group(1))
    statuses = {code: int(n) for code, n in re.findall(r"\[(\d{3})\]\s+(\d+) responses", out)}
    errors_block = out.split("Error distribution:", 1)[1] if "Error distribution:" in out else ""
    sock_errors = sum(int(n) for n in re.findall(r"^\s*\[(\d+)\]", errors_block, re.M))
    pct = {int(p): float(v) * 1000
           for p, v in re.findall(r"^\s+(\d+)% in ([\d.]+) secs", out, re.M)}
    total = sum(statuses.values())
    ok = sum(n for code, n in statuses.items() if code.startswith("2"))
    return LoadResult(requests=total, ok=ok, elapsed=elapsed,
                      rate=ok / elapsed if elapsed else 0.0,
                      p50_ms=pct.get(50, 0.0), p99_ms=pct.get(99, 0.0),
                      errors=total - ok + sock_errors, statuses=statuses, sent=total)
