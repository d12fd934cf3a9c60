"""
Multipart upload and download throughput of one large object against a
real ``twistd cloudserver`` on the file backend, next to what the disk
under its data directory does on its own.

    .venv/bin/python bench/mpu.py [--size-mib 1024] [--part-mib 8]
                                  [--threads 4] [--runs 3] [--port 8550]

Each run uploads the object with CreateMultipartUpload, parallel
UploadPart requests and CompleteMultipartUpload, then downloads it with
parallel ranged GETs of one part each (what aws-cli and s3transfer do).
The client is http.client on presigned URLs (UNSIGNED-PAYLOAD, no client
checksums) so that it spends as little of the machine's CPU as possible
and the server's cost dominates; the source is an mmap of a file
generated once, and downloaded bytes are discarded.  The disk baseline
writes the same parts as files of their own, each fdatasynced, the way
the file data store does.  Medians are printed with every run's figure;
``--json`` adds a machine-readable line.

The server runs with its own config (S3 port ``--port``, the metadata
and data daemons on the two ports after it) and its own data and
metadata directories in a temporary directory, removed at the end.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import hashlib
import http.client
import json
import mmap
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

import boto3
from botocore.config import Config
from lxml import etree

CHECKOUT = Path(__file__).resolve().parents[1]
MIB = 1 << 20
ACCESS_KEY, SECRET_KEY, REGION = "accessKey1", "verySecretKey1", "us-east-1"


# -- the server ----------------------------------------------------------------

class Server:
    """One ``twistd -n cloudserver`` on the file backend in ``workdir``."""

    def __init__(self, workdir: Path, port: int) -> None:
        self.workdir, self.port = workdir, port
        self.data_dir = workdir / "data"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        config = json.loads((CHECKOUT / "conf" / "config.json").read_text())
        config["port"] = self.port
        for offset, (daemon, client) in enumerate(
                (("metadataDaemon", "metadataClient"), ("dataDaemon", "dataClient")), 1):
            config.setdefault(daemon, {})["port"] = self.port + offset
            config.setdefault(client, {})["port"] = self.port + offset
        (self.workdir / "config.json").write_text(json.dumps(config))
        for name in ("data", "metadata"):
            (self.workdir / name).mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("S3", "SCALITY_")) and k not in ("ENDPOINT", "LOG_LEVEL")}
        env.update(LISTEN_ADDR="127.0.0.1", S3BACKEND="file",
                   S3DATAPATH=str(self.data_dir),
                   S3METADATAPATH=str(self.workdir / "metadata"),
                   S3_CONFIG_FILE=str(self.workdir / "config.json"))
        twistd = Path(sys.executable).parent / "twistd"
        with open(self.workdir / "server.log", "ab") as log:
            self.process = subprocess.Popen(
                [str(twistd), "-n", "--pidfile=", "cloudserver", "--port", str(self.port)],
                cwd=CHECKOUT, env=env, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"server exited; see {self.workdir / 'server.log'}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit(f"server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def cpu_seconds(self) -> float:
        """User + system CPU the server has used so far (all its threads)."""
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mib(self) -> int:
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) // 1024
        return -1


# -- the client ----------------------------------------------------------------

class Client:
    """Presigned requests over one keep-alive connection per thread."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.split = urllib.parse.urlsplit(endpoint)
        self.s3 = boto3.client(
            "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1},
                          signature_version="s3v4"))
        self._local = threading.local()

    def url(self, operation: str, **params) -> str:
        return self.s3.generate_presigned_url(operation, Params=params, ExpiresIn=3600)

    def connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self.split.hostname, self.split.port,
                                              timeout=300)
            self._local.conn = conn
        return conn

    def request(self, method: str, url: str, body=None, headers=None,
                sink: bool = False) -> tuple[int, dict, bytes, int]:
        split = urllib.parse.urlsplit(url)
        conn = self.connection()
        conn.request(method, f"{split.path}?{split.query}", body=body,
                     headers=headers or {})
        response = conn.getresponse()
        if sink:
            received = 0
            while chunk := response.read(MIB):
                received += len(chunk)
            return response.status, dict(response.getheaders()), b"", received
        data = response.read()
        return response.status, dict(response.getheaders()), data, len(data)


def generate(path: Path, size: int) -> str:
    """A file of ``size`` bytes, no two MiB equal; returns its MD5."""
    block, digest = os.urandom(MIB), hashlib.md5()
    with open(path, "wb") as out:
        for offset in range(0, size, MIB):
            chunk = (offset.to_bytes(8, "big") + block[8:])[:size - offset]
            out.write(chunk)
            digest.update(chunk)
    return digest.hexdigest()


def upload(client: Client, bucket: str, key: str, source: mmap.mmap, size: int,
           part_size: int, threads: int) -> float:
    """Seconds for create + parts + complete."""
    started = time.perf_counter()
    status, _, body, _ = client.request(
        "POST", client.url("create_multipart_upload", Bucket=bucket, Key=key))
    assert status == 200, body
    upload_id = etree.fromstring(body).findtext("{*}UploadId")
    view = memoryview(source)

    def put(number: int) -> tuple[int, str]:
        start = (number - 1) * part_size
        chunk = view[start:min(start + part_size, size)]
        url = client.url("upload_part", Bucket=bucket, Key=key, UploadId=upload_id,
                         PartNumber=number)
        status, headers, text, _ = client.request(
            "PUT", url, body=chunk, headers={"Content-Length": str(len(chunk))})
        assert status == 200, text
        return number, headers["ETag"]

    count = -(-size // part_size)
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        etags = sorted(pool.map(put, range(1, count + 1)))
    xml = "<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in etags
    ) + "</CompleteMultipartUpload>"
    status, _, body, _ = client.request(
        "POST", client.url("complete_multipart_upload", Bucket=bucket, Key=key,
                           UploadId=upload_id), body=xml.encode())
    assert status == 200 and b"<Error>" not in body, body
    return time.perf_counter() - started


def download(client: Client, bucket: str, key: str, size: int, part_size: int,
             threads: int) -> float:
    """Seconds for parallel ranged GETs of the whole object."""
    started = time.perf_counter()
    url = client.url("get_object", Bucket=bucket, Key=key)

    def get(start: int) -> int:
        last = min(start + part_size, size) - 1
        status, _, _, received = client.request(
            "GET", url, headers={"Range": f"bytes={start}-{last}"}, sink=True)
        assert status == 206 and received == last - start + 1, (status, received)
        return received

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        total = sum(pool.map(get, range(0, size, part_size)))
    assert total == size
    return time.perf_counter() - started


def single_stream_md5(client: Client, bucket: str, key: str) -> str:
    """One plain GET of the whole object, hashed: the bytes are right."""
    conn = http.client.HTTPConnection(client.split.hostname, client.split.port, timeout=300)
    split = urllib.parse.urlsplit(client.url("get_object", Bucket=bucket, Key=key))
    conn.request("GET", f"{split.path}?{split.query}")
    response, digest = conn.getresponse(), hashlib.md5()
    while chunk := response.read(MIB):
        digest.update(chunk)
    conn.close()
    return digest.hexdigest()


def disk_write_fsync(directory: Path, size: int, part_size: int) -> float:
    """Seconds to write ``size`` bytes as part-sized files, each fdatasynced."""
    scratch = directory / "disk-baseline"
    scratch.mkdir()
    block = os.urandom(part_size)
    started = time.perf_counter()
    for number, offset in enumerate(range(0, size, part_size)):
        fd = os.open(scratch / f"{number:05d}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, block[:min(part_size, size - offset)])
            os.fdatasync(fd)
        finally:
            os.close(fd)
    elapsed = time.perf_counter() - started
    shutil.rmtree(scratch)
    return elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--part-mib", type=int, default=8)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--port", type=int, default=8550)
    parser.add_argument("--dir", default=None, help="where the server's directories go "
                        "(default: a temporary directory next to the checkout)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    size, part = args.size_mib * MIB, args.part_mib * MIB

    workdir = Path(tempfile.mkdtemp(prefix="bench-mpu-", dir=args.dir or CHECKOUT))
    server = Server(workdir, args.port)
    try:
        source_path = workdir / "source.bin"
        digest = generate(source_path, size)
        server.start()
        client = Client(f"http://127.0.0.1:{args.port}")
        client.s3.create_bucket(Bucket="bench")
        ups, downs, disks, up_cpu, down_cpu = [], [], [], [], []
        with open(source_path, "rb") as f, \
                mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as source:
            for run in range(args.runs):
                disks.append(size / MIB / disk_write_fsync(workdir, size, part))
                key = f"object-{run}"
                cpu = server.cpu_seconds()
                ups.append(size / MIB / upload(client, "bench", key, source, size, part,
                                               args.threads))
                up_cpu.append(server.cpu_seconds() - cpu)
                cpu = server.cpu_seconds()
                downs.append(size / MIB / download(client, "bench", key, size, part,
                                                   args.threads))
                down_cpu.append(server.cpu_seconds() - cpu)
                if run == 0 and single_stream_md5(client, "bench", key) != digest:
                    raise SystemExit("downloaded bytes differ from the source")
                client.s3.delete_object(Bucket="bench", Key=key)
                print(f"run {run + 1}: disk write+fdatasync {disks[-1]:.0f} MiB/s, "
                      f"MPU upload {ups[-1]:.0f} MiB/s (server CPU {up_cpu[-1]:.1f}s), "
                      f"download {downs[-1]:.0f} MiB/s (server CPU {down_cpu[-1]:.1f}s)",
                      flush=True)
        peak = server.peak_rss_mib()
        result = {
            "object_mib": args.size_mib, "part_mib": args.part_mib, "threads": args.threads,
            "runs": args.runs, "cpus": os.cpu_count(),
            "disk_write_fsync_mib_s": round(statistics.median(disks)),
            "mpu_upload_mib_s": round(statistics.median(ups)),
            "mpu_download_mib_s": round(statistics.median(downs)),
            "server_cpu_s_upload": round(statistics.median(up_cpu), 2),
            "server_cpu_s_download": round(statistics.median(down_cpu), 2),
            "server_peak_rss_mib": peak,
        }
        print(f"median of {args.runs}: disk write+fdatasync "
              f"{result['disk_write_fsync_mib_s']} MiB/s, MPU upload "
              f"{result['mpu_upload_mib_s']} MiB/s, download "
              f"{result['mpu_download_mib_s']} MiB/s ({args.size_mib} MiB object, "
              f"{args.part_mib} MiB parts, {args.threads} threads, {os.cpu_count()} CPUs; "
              f"server CPU {result['server_cpu_s_upload']}s up, "
              f"{result['server_cpu_s_download']}s down; server peak RSS {peak} MiB)")
        if args.json:
            print(json.dumps(result))
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
