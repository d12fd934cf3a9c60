"""Accept latency under a connection burst, per listen backlog (issue 20).

2,000 clients connecting at once to a server whose listen backlog is 50
(twisted's default) took 33 s to be accepted: the kernel drops the SYNs
that find the accept queue full and clients retry after 1, 3, 7, 15 s.
config.json ``limits.backlog`` (default 1024) sets the queue of every
listener.  This starts ``twistd -n cloudserver`` (mem backend) once per
backlog, opens N non-blocking connections in one burst, and times for each

- *connect*: connect() until the handshake completed (the kernel queued it);
- *answer*: connect() until the first byte of the answer to ``GET /``
  (anonymous: 403 AccessDenied; the server accepted and served it).

The per-client cap is raised to 10,000 for the run (every client is
127.0.0.1; at the default 1,000 the excess would get 503 SlowDown).

``python3 bench/accept_burst.py [--clients 2000] [--backlogs 50,1024]
[--port 8800] [--out bench/results/<date>-accept.json]``.  Needs
``ulimit -n`` above the client count.
"""
from __future__ import annotations

import argparse
import json
import os
import selectors
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CHECKOUT = BENCH.parent
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def start_server(port: int, backlog: int, workdir: Path) -> subprocess.Popen:
    config = json.loads((CHECKOUT / "conf" / "config.json").read_text())
    # every client comes from 127.0.0.1: the per-client cap (default 1,000)
    # would answer the excess 503 SlowDown, which is not what is measured here
    config.update(port=port, limits={"backlog": backlog, "maxConnectionsPerClient": 10_000})
    config.setdefault("metadataDaemon", {})["port"] = port + 1
    config.setdefault("dataDaemon", {})["port"] = port + 2
    config.pop("metrics", None)
    path = workdir / f"config-{backlog}.json"
    path.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("S3", "SCALITY"))}
    env.update(S3BACKEND="mem", S3_CONFIG_FILE=str(path), LISTEN_ADDR="127.0.0.1",
               S3DATAPATH=str(workdir / "data"), S3METADATAPATH=str(workdir / "md"))
    twistd = Path(sys.executable).parent / "twistd"
    log = open(workdir / f"server-{backlog}.log", "wb")
    proc = subprocess.Popen([str(twistd), "-n", "--pidfile=", "cloudserver"], cwd=CHECKOUT,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"server with backlog {backlog} did not start; see {log.name}")


def burst(port: int, clients: int, timeout: float = 120.0) -> dict:
    """Open ``clients`` connections at once; their connect and answer times."""
    sel = selectors.DefaultSelector()
    started = time.monotonic()
    socks = {}
    for _ in range(clients):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks[s] = {"t0": time.monotonic()}
        sel.register(s, selectors.EVENT_WRITE)
    pending = len(socks)
    while pending and time.monotonic() - started < timeout:
        for key, events in sel.select(timeout=1.0):
            s, times = key.fileobj, socks[key.fileobj]
            if events & selectors.EVENT_WRITE and "connect" not in times:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    times["error"] = True
                    sel.unregister(s)
                    pending -= 1
                    continue
                times["connect"] = time.monotonic() - times["t0"]
                s.send(REQUEST)
                sel.modify(s, selectors.EVENT_READ)
            elif events & selectors.EVENT_READ:
                try:
                    data = s.recv(64)
                except OSError:
                    data = b""
                if data:
                    times["answer"] = time.monotonic() - times["t0"]
                    times["status"] = data.split(b" ", 2)[1].decode(errors="replace")
                sel.unregister(s)
                pending -= 1
    for s in socks:
        s.close()
    rows = list(socks.values())
    return {"clients": clients, "wall_s": round(time.monotonic() - started, 3),
            "connect": summary([r["connect"] for r in rows if "connect" in r]),
            "answer": summary([r["answer"] for r in rows if "answer" in r]),
            "errors": sum(1 for r in rows if r.get("error")),
            "unanswered": sum(1 for r in rows if "answer" not in r),
            "statuses": sorted({r.get("status", "-") for r in rows})}


def summary(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    values = sorted(values)

    def q(p: float) -> float:
        return round(values[min(len(values) - 1, int(p * len(values)))] * 1000, 1)

    return {"n": len(values), "p50_ms": q(0.5), "p99_ms": q(0.99), "max_ms": q(1.0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=2000)
    parser.add_argument("--backlogs", default="50,1024")
    parser.add_argument("--port", type=int, default=8800)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    results = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "somaxconn": Path("/proc/sys/net/core/somaxconn").read_text().strip(),
               "runs": []}
    with tempfile.TemporaryDirectory(prefix="accept-burst-") as tmp:
        for backlog in (int(b) for b in args.backlogs.split(",")):
            proc = start_server(args.port, backlog, Path(tmp))
            try:
                run = {"backlog": backlog, **burst(args.port, args.clients)}
            finally:
                proc.terminate()
                proc.wait(30)
            results["runs"].append(run)
            print(json.dumps(run), flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
