"""PUT/GET throughput of one large object through cloudserver's remote
locations, against the same transfer sent straight to the emulator.

    .venv/bin/python -m bench.remote_locations [--size-mib 256] [--rounds 2]

Starts moto_server and Azurite (tests/functional/emulators.py, which
installs Azurite with npm on first use) and a ``S3DATA=multiple`` server
whose buckets live in an aws_s3 location (moto) and an azure location
(Azurite).  The client is the same for every path: http.client sending
from one random buffer and reading into one buffer, so the numbers show
the cost of going through us (an extra hop, two sockets, our digests).
Prints MB/s (1 MB = 10^6 bytes) per path, best of ``--rounds``.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import tempfile
import time
import uuid
from email.utils import formatdate

from bench.bigclient import MIB, _SOURCE, BigClient
from bench.sigv4 import Presigner
from cloudserver.data.azure import API_VERSION, shared_key
from tests.functional import emulators
from tests.functional.server import ServerProcess
from tests.functional.test_remote_locations import location_config


def _azure_put(port: int, path: str, size: int) -> float:
    url = f"http://127.0.0.1:{port}{path}"
    headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": API_VERSION,
               "x-ms-blob-type": "BlockBlob"}
    headers["Authorization"] = shared_key(emulators.AZURE_ACCOUNT, emulators.AZURE_KEY,
                                          "PUT", url, {**headers, "Content-Length": str(size)})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    conn.putrequest("PUT", path, skip_accept_encoding=True)
    conn.putheader("Content-Length", str(size))
    for name, value in headers.items():
        conn.putheader(name, value)
    conn.endheaders()
    view, left = memoryview(_SOURCE), size
    while left:
        chunk = view[:min(left, len(view))]
        conn.send(chunk)
        left -= len(chunk)
    resp = conn.getresponse()
    body = resp.read()
    elapsed = time.perf_counter() - started
    conn.close()
    if resp.status != 201:
        raise RuntimeError(f"azure PUT {resp.status} {body[:300]!r}")
    return elapsed


def _azure_get(port: int, path: str) -> tuple[float, int]:
    url = f"http://127.0.0.1:{port}{path}"
    headers = {"x-ms-date": formatdate(usegmt=True), "x-ms-version": API_VERSION}
    headers["Authorization"] = shared_key(emulators.AZURE_ACCOUNT, emulators.AZURE_KEY,
                                          "GET", url, headers)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    buf, total = bytearray(MIB), 0
    started = time.perf_counter()
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    while True:
        n = resp.readinto(buf)
        if not n:
            break
        total += n
    elapsed = time.perf_counter() - started
    conn.close()
    if resp.status != 200:
        raise RuntimeError(f"azure GET {resp.status}")
    return elapsed, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    size = args.size_mib * MIB

    moto = emulators.shared("moto")
    azurite = emulators.shared("azurite")
    remote = moto.client()
    for bucket in ("remote-match", "remote-mismatch"):
        remote.create_bucket(Bucket=bucket)
    azurite.blobs().create_container("azmatch")
    azurite.blobs().create_container("azmismatch")
    workdir = tempfile.mkdtemp(prefix="bench-remote-")
    loc_path = os.path.join(workdir, "locationConfig.json")
    with open(loc_path, "w") as f:
        json.dump(location_config(moto.endpoint, azurite.endpoint,
                                  emulators.free_port()), f)
    server = ServerProcess(os.path.join(workdir, "server"), extra_env={
        "S3DATA": "multiple", "S3_LOCATION_FILE": loc_path})
    server.start()
    try:
        ours = BigClient(f"127.0.0.1:{server.port}")
        direct_s3 = BigClient(moto.endpoint, Presigner(moto.endpoint, "testing", "testing"))
        results: dict[str, dict[str, float]] = {}

        def record(name: str, put_s: float, get_s: float) -> None:
            best = results.setdefault(name, {"put": 0.0, "get": 0.0})
            best["put"] = max(best["put"], size / put_s / 1e6)
            best["get"] = max(best["get"], size / get_s / 1e6)

        for location in ("awsbackend", "azurebackend"):
            bucket = f"bench-{location}-{uuid.uuid4().hex[:6]}"
            ours.request("PUT", bucket, body=(
                "<CreateBucketConfiguration><LocationConstraint>"
                f"{location}</LocationConstraint></CreateBucketConfiguration>").encode())
        for _ in range(args.rounds):
            for location in ("awsbackend", "azurebackend"):
                bucket = next(b for b in _buckets(ours) if b.startswith(f"bench-{location}"))
                key = f"big-{uuid.uuid4().hex[:6]}"
                put_s, _ = ours.put_stream(bucket, key, size)
                get_s, got = ours.get_stream(bucket, key)
                assert got == size, got
                record(f"{location} via cloudserver", put_s, get_s)
                ours.request("DELETE", bucket, key, expect=(204,))
            key = f"direct-{uuid.uuid4().hex[:6]}"
            put_s, _ = direct_s3.put_stream("remote-match", key, size)
            get_s, got = direct_s3.get_stream("remote-match", key)
            assert got == size, got
            record("moto_server direct", put_s, get_s)
            direct_s3.request("DELETE", "remote-match", key, expect=(204,))
            path = f"/{emulators.AZURE_ACCOUNT}/azmatch/direct-{uuid.uuid4().hex[:6]}"
            put_s = _azure_put(azurite.port, path, size)
            get_s, got = _azure_get(azurite.port, path)
            assert got == size, got
            record("Azurite direct", put_s, get_s)
        print(f"{args.size_mib} MiB object, best of {args.rounds} (MB/s):")
        print(f"{'path':32} {'PUT':>8} {'GET':>8}")
        for name, r in results.items():
            print(f"{name:32} {r['put']:8.1f} {r['get']:8.1f}")
        print(f"server peak RSS: {server.peak_rss_kib() / 1024:.0f} MiB")
    finally:
        server.destroy()


def _buckets(client: BigClient) -> list[str]:
    import re

    _, _, body = client.request("GET", "")
    return re.findall(r"<Name>([^<]+)</Name>", body.decode())


if __name__ == "__main__":
    main()
