"""The allocator settings' cost on large objects: PUT and GET of 256 MiB
against servers with config.json ``memory`` at its defaults (a trim every
10 s), with glibc's own behaviour (``trimInterval`` 0) and with a fixed
256 KiB ``mmapThreshold``, rounds interleaved, medians reported with each
server's RSS at the end.

    .venv/bin/python bench/alloc_ab.py --rounds 5
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(CHECKOUT))

from bench.bigclient import MIB, BigClient  # noqa: E402
from cloudserver.memdiag import resident  # noqa: E402
from tests.functional.server import ServerProcess  # noqa: E402

VARIANTS = {"memory defaults": {},
            "glibc's own": {"memory": {"mmapThreshold": 0, "trimInterval": 0}},
            "mmapThreshold 256 KiB": {"memory": {"mmapThreshold": 262144}}}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size", type=int, default=256, help="MiB per object")
    args = parser.parse_args(argv)
    size = args.size * MIB
    workdir = Path(tempfile.mkdtemp(prefix="alloc-ab-"))
    servers = {name: ServerProcess(workdir / str(i), extra_config=config)
               for i, (name, config) in enumerate(VARIANTS.items())}
    rates: dict[str, dict[str, list[float]]] = {n: {"put": [], "get": []} for n in servers}
    try:
        clients = {}
        for name, server in servers.items():
            server.start()
            clients[name] = BigClient(f"127.0.0.1:{server.port}")
            clients[name].create_bucket("alloc-ab")
        for round_ in range(args.rounds):
            for name, client in clients.items():
                seconds, _ = client.put_stream("alloc-ab", f"k{round_ % 2}", size)
                rates[name]["put"].append(size / seconds / 1e6)
                seconds, got = client.get_stream("alloc-ab", f"k{round_ % 2}")
                assert got == size, (name, got)
                rates[name]["get"].append(size / seconds / 1e6)
        print(f"| variant | PUT {args.size} MiB MB/s | GET MB/s | RSS MB | anonymous MB |")
        print("|---|---|---|---|---|")
        for name, server in servers.items():
            split = resident(server.pid)
            print(f"| {name} | {statistics.median(rates[name]['put']):,.0f} | "
                  f"{statistics.median(rates[name]['get']):,.0f} | "
                  f"{server.rss_kib() / 1024:.0f} | {split.get('rss_anon_mb', 0):.0f} |")
    finally:
        for server in servers.values():
            server.destroy()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
