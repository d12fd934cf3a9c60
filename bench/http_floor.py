"""What HTTP itself costs one Python process here, below the ceiling.

Two servers answer the same HEAD under the same load (hey, keep-alive,
32 connections, held to one core, as bench/run.py's HEAD workload):

- ``raw``: a bare twisted Protocol that splits requests on the blank line
  and writes one fixed response: the reactor, the socket calls and the
  kernel, and nothing of HTTP parsing (the floor);
- ``ceiling``: bench/ceiling_server.py, a twisted.web leaf (twisted.web's
  HTTPChannel and Request on top of the same reactor).

For each: requests per second and server CPU per request (utime + stime of
/proc/<pid>/stat), medians of ``--rounds`` interleaved runs.  The
difference is what twisted.web's HTTP/1.1 machinery costs per request;
bench/run.py's HEAD row gives our server's figure under the same load.

    .venv/bin/python bench/http_floor.py [--rounds 3] [--duration 8] [--port 8690]
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[0] = str(BENCH.parent)  # bench/profile.py must not shadow the stdlib

from bench.procstat import cpu_seconds  # noqa: E402
from bench.servers import accepts  # noqa: E402

RAW_SERVER = r'''
import sys
from twisted.internet import protocol, reactor

RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Length: 4096\r\n"
            b"Content-Type: application/octet-stream\r\nETag: \"0\"\r\n"
            b"Date: Sun, 22 Nov 2026 00:00:00 GMT\r\nServer: raw\r\n\r\n")


class Raw(protocol.Protocol):
    buffered = b""

    def dataReceived(self, data):
        self.buffered += data
        while b"\r\n\r\n" in self.buffered:
            _, self.buffered = self.buffered.split(b"\r\n\r\n", 1)
            self.transport.write(RESPONSE)


factory = protocol.Factory()
factory.protocol = Raw
reactor.listenTCP(int(sys.argv[1]), factory, interface="127.0.0.1", backlog=1024)
reactor.run()
'''


def start(kind: str, port: int) -> subprocess.Popen:
    if kind == "raw":
        argv = [sys.executable, "-c", RAW_SERVER, str(port)]
    else:
        argv = [sys.executable, str(BENCH / "ceiling_server.py"), str(port)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while not accepts(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit(f"{kind} server did not start on :{port}")
        time.sleep(0.1)
    return proc


def hey(port: int, duration: float) -> float:
    out = subprocess.run(
        ["hey", "-cpus", "1", "-m", "HEAD", "-c", "32", "-z", f"{duration}s",
         f"http://127.0.0.1:{port}/bucket/key"],
        capture_output=True, text=True, check=True).stdout
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not match:
        raise SystemExit(f"hey printed no rate:\n{out[-1000:]}")
    return float(match.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=float, default=8.0)
    parser.add_argument("--port", type=int, default=8690)
    args = parser.parse_args()
    servers = {"raw": args.port, "ceiling": args.port + 1}
    procs = {kind: start(kind, port) for kind, port in servers.items()}
    results: dict[str, list[tuple[float, float]]] = {kind: [] for kind in servers}
    try:
        for rnd in range(args.rounds):
            order = list(servers) if rnd % 2 == 0 else list(reversed(servers))
            for kind in order:
                pid = procs[kind].pid
                before = cpu_seconds([pid])
                started = time.monotonic()
                rate = hey(servers[kind], args.duration)
                spent = cpu_seconds([pid]) - before
                count = rate * (time.monotonic() - started)
                results[kind].append((rate, spent / count * 1e6))
                print(f"round {rnd + 1} {kind:8} {rate:9,.0f} HEAD/s "
                      f"{spent / count * 1e6:6.1f} us CPU/request", flush=True)
    finally:
        for proc in procs.values():
            proc.terminate()
            proc.wait(10)
    print()
    for kind, rows in results.items():
        rate = statistics.median(r for r, _ in rows)
        cost = statistics.median(c for _, c in rows)
        print(f"{kind:8} median {rate:9,.0f} HEAD/s  {cost:6.1f} us CPU/request")
    floor = statistics.median(c for _, c in results["raw"])
    web = statistics.median(c for _, c in results["ceiling"])
    print(f"twisted.web's HTTP/1.1 layer: {web - floor:.1f} us per request "
          f"(python {sys.version.split()[0]}, {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
