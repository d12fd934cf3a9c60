"""The machine's own limits, measured the way the server meets them.

- loopback TCP: one process sends 1 MiB buffers to another over 127.0.0.1
  (what a Python server can push through a socket at best);
- disk write + fsync: 256 MiB written in 1 MiB blocks, then fsync;
- small files: create + write 4 KiB + fsync + close, one at a time and on 8
  threads (what a durable PUT of a small object needs at least once);
- LevelDB: put(sync=True) one at a time, and batches of 32 (group commit).

Each is run in the directory the servers write to.  ``python3 bench/limits.py DIR``.
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

MIB = 1024 * 1024

_RECEIVER = r"""
import socket, sys
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
buf = bytearray(1 << 20); total = 0
while True:
    n = conn.recv_into(buf)
    if not n: break
    total += n
conn.sendall(str(total).encode())
"""


def loopback_mb_s(total: int = 2048 * MIB) -> float:
    proc = subprocess.Popen([sys.executable, "-c", _RECEIVER], stdout=subprocess.PIPE,
                            text=True)
    port = int(proc.stdout.readline())
    sock = socket.create_connection(("127.0.0.1", port))
    block = memoryview(os.urandom(MIB))
    started = time.perf_counter()
    for _ in range(total // MIB):
        sock.sendall(block)
    sock.shutdown(socket.SHUT_WR)
    sock.recv(64)
    elapsed = time.perf_counter() - started
    sock.close()
    proc.wait()
    return total / elapsed / 1e6


def disk_write_fsync_mb_s(directory: str, total: int = 256 * MIB) -> float:
    block = os.urandom(MIB)
    path = os.path.join(directory, f"limits-{os.getpid()}.bin")
    started = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        for _ in range(total // MIB):
            os.write(fd, block)
        os.fsync(fd)
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - started
    os.unlink(path)
    return total / elapsed / 1e6


def small_files_per_s(directory: str, count: int = 400, threads: int = 1) -> float:
    body = os.urandom(4096)
    root = tempfile.mkdtemp(prefix="limits-", dir=directory)

    def one(i: int) -> None:
        fd = os.open(os.path.join(root, f"f{i}"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, body)
        os.fdatasync(fd)
        os.close(fd)

    started = time.perf_counter()
    if threads == 1:
        for i in range(count):
            one(i)
    else:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(count)))
    elapsed = time.perf_counter() - started
    for name in os.listdir(root):
        os.unlink(os.path.join(root, name))
    os.rmdir(root)
    return count / elapsed


def leveldb_sync_puts_per_s(directory: str, count: int = 400, batch: int = 1) -> float:
    """Keys made durable per second with ``batch`` keys per synced write."""
    import plyvel

    path = tempfile.mkdtemp(prefix="limits-ldb-", dir=directory)
    db = plyvel.DB(path, create_if_missing=True)
    value = b"v" * 300  # about one object record
    started = time.perf_counter()
    for i in range(0, count, batch):
        with db.write_batch(sync=True) as wb:
            for j in range(i, min(count, i + batch)):
                wb.put(b"key%08d" % j, value)
    elapsed = time.perf_counter() - started
    db.close()
    plyvel.destroy_db(path)
    os.rmdir(path) if os.path.isdir(path) else None
    return count / elapsed


def measure(directory: str, quick: bool = False) -> dict[str, float]:
    os.makedirs(directory, exist_ok=True)
    n = 200 if quick else 500
    return {
        "loopback_mb_s": loopback_mb_s((512 if quick else 2048) * MIB),
        "disk_write_fsync_mb_s": disk_write_fsync_mb_s(directory,
                                                       (128 if quick else 512) * MIB),
        "small_file_fsync_per_s": small_files_per_s(directory, n),
        "small_file_fsync_per_s_8thr": small_files_per_s(directory, n * 2, threads=8),
        "leveldb_sync_put_per_s": leveldb_sync_puts_per_s(directory, n),
        "leveldb_sync_put_per_s_batch32": leveldb_sync_puts_per_s(directory, n * 16, 32),
    }


if __name__ == "__main__":
    for name, value in measure(sys.argv[1] if len(sys.argv) > 1 else ".").items():
        print(f"{name:34s} {value:12,.0f}")
