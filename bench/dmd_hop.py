#!/usr/bin/env python3
"""The cost of the dmd socket hop: small-PUT and GET rates, all-in-one vs split.

Starts, for each run, a fresh ``twistd cloudserver`` (``--mode all``) and a
fresh dmd + ``--mode s3`` front, on free loopback ports with their own data
directories (file backend, fsync on), then drives each with ``--clients``
concurrent keep-alive HTTP connections issuing signed (SigV4, botocore)
PUTs of ``--size`` bytes, then GETs of the same keys.  Prints objects/s
per run and the medians.

    .venv/bin/python bench/dmd_hop.py --runs 3 --objects 400 --clients 8
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from botocore.auth import S3SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

from tests.functional.server import ServerProcess  # noqa: E402

CREDS = Credentials("accessKey1", "verySecretKey1")


def signed_headers(method: str, port: int, path: str, body: bytes) -> dict[str, str]:
    req = AWSRequest(method=method, url=f"http://127.0.0.1:{port}{path}", data=body)
    req.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    S3SigV4Auth(CREDS, "s3", "us-east-1").add_auth(req)
    return dict(req.headers.items())


def request(conn: http.client.HTTPConnection, port: int, method: str, path: str,
            body: bytes = b"") -> bytes:
    headers = signed_headers(method, port, path, body)
    conn.request(method, path, body=body or None, headers=headers)
    response = conn.getresponse()
    data = response.read()
    if response.status not in (200, 204):
        raise RuntimeError(f"{method} {path}: {response.status} {data[:200]!r}")
    return data


def drive(port: int, bucket: str, method: str, objects: int, clients: int,
          body: bytes) -> float:
    """objects/s of ``objects`` requests spread over ``clients`` threads."""
    per = objects // clients
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        try:
            for i in range(per):
                path = f"/{bucket}/c{n}-o{i}"
                if method == "PUT":
                    request(conn, port, "PUT", path, body)
                else:
                    data = request(conn, port, "GET", path)
                    assert len(data) == len(body)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise errors[0]
    return per * clients / elapsed


def one_run(mode: str, args, workdir: str) -> tuple[float, float]:
    procs: list[ServerProcess] = []
    try:
        if mode == "all":
            front = ServerProcess(tempfile.mkdtemp(dir=workdir))
            procs.append(front)
            front.start()
        else:
            dmd = ServerProcess(tempfile.mkdtemp(dir=workdir), mode="dmd")
            procs.append(dmd)
            dmd.start()
            front = ServerProcess(tempfile.mkdtemp(dir=workdir), mode="s3", dmd=dmd)
            procs.append(front)
            front.start()
        conn = http.client.HTTPConnection("127.0.0.1", front.port, timeout=60)
        request(conn, front.port, "PUT", "/bench")
        conn.close()
        body = os.urandom(args.size)
        put = drive(front.port, "bench", "PUT", args.objects, args.clients, body)
        get = drive(front.port, "bench", "GET", args.objects, args.clients, body)
        return put, get
    finally:
        for p in reversed(procs):
            p.destroy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--objects", type=int, default=400)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="dmd-hop-")
    results: dict[str, dict[str, list[float]]] = {}
    for run in range(args.runs):
        for mode in ("all", "split"):
            put, get = one_run(mode, args, workdir)
            r = results.setdefault(mode, {"put": [], "get": []})
            r["put"].append(put)
            r["get"].append(get)
            print(f"run {run + 1} {mode:5s}: PUT {put:7.1f}/s  GET {get:7.1f}/s", flush=True)
    print(f"\n{args.size} B objects, {args.objects} per phase, {args.clients} clients, "
          f"medians of {args.runs} runs:")
    for mode, r in results.items():
        print(f"  {mode:5s}: PUT {statistics.median(r['put']):7.1f}/s  "
              f"GET {statistics.median(r['get']):7.1f}/s")
    a, s = results["all"], results["split"]
    print(f"  split/all: PUT {statistics.median(s['put']) / statistics.median(a['put']):.2f}  "
          f"GET {statistics.median(s['get']) / statistics.median(a['get']):.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "results": results},
                                              indent=2))


if __name__ == "__main__":
    main()
