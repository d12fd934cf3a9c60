# -*- test-case-name: tests.functional.test_clusters -*-
"""
``clusters: 2`` (README "Several workers"): a supervisor running the dmd
and two S3 workers sharing its socket.  A boto3 workload is served by both
workers (the supervisor's log tags each worker's access lines); a worker
killed mid-workload is restarted and the workload succeeds; SIGTERM lets a
slow download finish and leaves no process; ``kill -9`` of the supervisor
leaves no worker behind.
"""

from __future__ import annotations

import hashlib
import json
import http.client
import os
import re
import signal
import stat
import threading
import time
import urllib.parse
import urllib.request

from tests.functional.s3case import S3TestCase
from tests.functional.test_metrics import delta, scrape

MIB = 1 << 20
#: A worker's access line as the supervisor logs it.
ACCESS = re.compile(r"worker (\d+) \[pid (\d+)\]: \[cloudserver\.s3#info\] ")


def children(pid: int) -> set[int]:
    """The live child processes of ``pid`` (from /proc)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry))
    return found


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class _ClusterCase(S3TestCase):
    serverConfig = {"clusters": 2, "shutdownTimeout": 20}

    def setUp(self) -> None:
        super().setUp()
        self.wait_workers(2)

    def wait_workers(self, count: int, timeout: float = 30.0, exclude=()) -> set[int]:
        """The supervisor's ``count`` workers once each said it is ready."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pids = children(self.server.pid) - set(exclude)
            log = self.server.log_path.read_text(errors="replace")
            ready = {int(p) for p in re.findall(r"cloudserver worker \d+ \(pid (\d+)\) ready",
                                                log)}
            if len(pids) == count and pids <= ready:
                return pids
            time.sleep(0.1)
        self.fail(f"{count} workers not ready in {timeout}s\n{self.server.describe()}")

    def log_size(self) -> int:
        return self.server.log_path.stat().st_size

    def access_pids(self, since: int = 0) -> dict[int, int]:
        """Access lines logged per worker pid (from byte ``since`` of the log)."""
        counts: dict[int, int] = {}
        with open(self.server.log_path, "rb") as f:
            f.seek(since)
            text = f.read().decode(errors="replace")
        for match in ACCESS.finditer(text):
            counts[int(match.group(2))] = counts.get(int(match.group(2)), 0) + 1
        return counts

    def in_parallel(self, work, threads: int = 4) -> None:
        errors: list[BaseException] = []

        def run(n):
            try:
                work(n)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join(120)
        if errors:
            raise errors[0]


class ClusterWorkloadTests(_ClusterCase):
    def test_workload_on_both_workers(self) -> None:
        bucket = self.make_bucket("clusters")
        workers = self.wait_workers(2)
        since = self.log_size()

        def work(n):
            for i in range(10):
                # a client per round: a new connection, which either worker may accept
                s3 = self.client()
                key = f"t{n}/k{i}"
                body = os.urandom(1000 + i)
                s3.put_object(Bucket=bucket, Key=key, Body=body)
                self.assertEqual(s3.get_object(Bucket=bucket, Key=key)["Body"].read(), body)
                s3.head_object(Bucket=bucket, Key=key)

        self.in_parallel(work)
        listed = self.s3.list_objects_v2(Bucket=bucket)
        self.assertEqual(listed["KeyCount"], 40)
        upload = self.s3.create_multipart_upload(Bucket=bucket, Key="mpu")
        parts = []
        for number in (1, 2):
            part = self.client().upload_part(Bucket=bucket, Key="mpu", PartNumber=number,
                                             UploadId=upload["UploadId"],
                                             Body=bytes([number]) * (5 * MIB))
            parts.append({"PartNumber": number, "ETag": part["ETag"]})
        self.s3.complete_multipart_upload(Bucket=bucket, Key="mpu",
                                          UploadId=upload["UploadId"],
                                          MultipartUpload={"Parts": parts})
        got = self.client().get_object(Bucket=bucket, Key="mpu")["Body"].read()
        self.assertEqual(got, b"\x01" * (5 * MIB) + b"\x02" * (5 * MIB))
        for n in range(4):
            self.s3.delete_objects(Bucket=bucket, Delete={"Objects": [
                {"Key": f"t{n}/k{i}"} for i in range(10)]})
        self.s3.delete_object(Bucket=bucket, Key="mpu")
        self.assertEqual(self.s3.list_objects_v2(Bucket=bucket)["KeyCount"], 0)
        served = self.access_pids(since)
        self.assertEqual(set(served), workers, served)  # both workers took requests
        for name in ("dmd-rpc.sock", "dmd-data.sock"):  # the hop: the owner's only
            mode = (self.server.metadata_dir / name).stat().st_mode
            self.assertEqual((stat.S_ISSOCK(mode), stat.S_IMODE(mode)), (True, 0o600))

    def test_killed_worker_is_restarted(self) -> None:
        bucket = self.make_bucket("killed")
        workers = sorted(self.wait_workers(2))
        victim = workers[0]
        killed = threading.Event()

        def work(n):
            # boto3's own retries (a reset connection is retried, as in production)
            s3 = self.client(retries={"total_max_attempts": 5, "mode": "standard"})
            for i in range(40):
                if n == 0 and i == 10:
                    os.kill(victim, signal.SIGKILL)
                    killed.set()
                key = f"w{n}/k{i}"
                s3.put_object(Bucket=bucket, Key=key, Body=b"x" * i)
                self.assertEqual(s3.get_object(Bucket=bucket, Key=key)["Body"].read(),
                                 b"x" * i)

        self.in_parallel(work)
        self.assertTrue(killed.is_set())
        self.assertEqual(self.s3.list_objects_v2(Bucket=bucket)["KeyCount"], 160)
        now = self.wait_workers(2, exclude={victim})
        self.assertNotIn(victim, now)
        log = self.server.log_path.read_text(errors="replace")
        self.assertRegex(log, rf"worker \d \(pid {victim}\) exited unexpectedly "
                              r"\(killed by signal 9\)")


class ClusterStopTests(_ClusterCase):
    sharedServer = False

    def test_sigterm_drains_slow_get_and_leaves_nothing(self) -> None:
        bucket = "clusters-stop"
        self.s3.create_bucket(Bucket=bucket)
        body = os.urandom(32 * MIB)
        self.s3.put_object(Bucket=bucket, Key="big", Body=body)
        workers = self.wait_workers(2)
        url = self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "big"}, ExpiresIn=3600)
        split = urllib.parse.urlsplit(url)
        connection = http.client.HTTPConnection(split.hostname, split.port, timeout=60)
        self.addCleanup(connection.close)
        connection.request("GET", f"{split.path}?{split.query}")
        response = connection.getresponse()
        self.assertEqual(response.status, 200)
        received, length = hashlib.md5(), 0
        signalled = False
        while chunk := response.read(MIB):
            received.update(chunk)
            length += len(chunk)
            if not signalled and length >= 2 * MIB:
                self.server.send_signal(signal.SIGTERM)
                signalled = True
            time.sleep(0.03)  # a slow reader: ~1 s for the object
        self.assertEqual((length, received.hexdigest()),
                         (len(body), hashlib.md5(body).hexdigest()))
        self.assertEqual(self.server.wait_exit(40), 0)
        self.assertEqual({pid for pid in workers if alive(pid)}, set())
        log = self.server.log_path.read_text(errors="replace")
        self.assertEqual(len(re.findall(r"worker \d \(pid \d+\) stopped: exit status 0",
                                        log)), 2, log)

    def test_kill9_of_supervisor_leaves_no_worker(self) -> None:
        workers = self.wait_workers(2)
        self.server.kill9()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(alive(pid) for pid in workers):
            time.sleep(0.1)
        self.assertEqual({pid for pid in workers if alive(pid)}, set())


class ClusterTLSTests(_ClusterCase):
    """With certFilePaths each worker serves HTTPS on its adopted socket."""

    serverTLS = True

    def test_https_on_both_workers(self) -> None:
        bucket = self.make_bucket("clusters-tls")
        workers = self.wait_workers(2)
        since = self.log_size()

        def work(n):
            for i in range(8):
                s3 = self.client()
                s3.put_object(Bucket=bucket, Key=f"k{n}-{i}", Body=b"tls")
                self.assertEqual(s3.get_object(Bucket=bucket, Key=f"k{n}-{i}")["Body"].read(),
                                 b"tls")

        self.in_parallel(work)
        self.assertEqual(set(self.access_pids(since)), workers)


class ClusterJsonLogTests(_ClusterCase):
    """With JSON logs the supervisor's log stays one object per line; a
    worker's lines keep their fields, with ``workerId`` and ``workerPid``."""

    serverEnv = {"LOG_FORMAT": "json"}

    def test_worker_lines_are_json(self) -> None:
        bucket = self.make_bucket("clusters-json")
        workers = self.wait_workers(2)

        def work(n):
            for i in range(8):
                self.client().put_object(Bucket=bucket, Key=f"k{n}-{i}", Body=b"j")

        self.in_parallel(work)
        lines = self.server.log_path.read_text(errors="replace").splitlines()
        objects = [json.loads(line) for line in lines if not line.startswith("====")]
        access = [o for o in objects if o.get("httpCode") == 200 and o.get("objectKey")]
        self.assertEqual({o["workerPid"] for o in access}, workers)
        self.assertEqual({o["workerId"] for o in access}, {1, 2})
        self.assertEqual({o["pid"] for o in objects}, {self.server.pid})


class ClusterMetricsTests(_ClusterCase):
    """With a metrics port the supervisor exports its workers' families,
    summed (metrics/shared.py): the request counters equal the requests
    made across both workers, and a killed worker's counts stay."""

    serverConfig = {"clusters": 2, "shutdownTimeout": 20,
                    "metrics": {"port": 0, "bindAddress": "127.0.0.1"}}
    sharedServer = False

    def scrape(self) -> dict:
        return scrape(self.server.metrics_port)

    def puts(self, bucket: str, prefix: str, count: int) -> None:
        for i in range(count):
            # a client per request: a new connection, which either worker may accept
            self.client().put_object(Bucket=bucket, Key=f"{prefix}{i}", Body=b"m" * 100)

    def requests(self, samples: dict, op: str, klass: str = "2xx") -> float:
        return samples.get(("cloudserver_requests_total",
                            (("operation", op), ("status_class", klass))), 0.0)

    def test_counters_summed_across_workers(self) -> None:
        bucket = self.make_bucket("clusters-metrics")
        workers = self.wait_workers(2)
        before, since = self.scrape(), self.log_size()
        self.puts(bucket, "k", 16)
        for i in range(8):
            self.client().get_object(Bucket=bucket, Key=f"k{i}")["Body"].read()
        self.assertS3Error("NoSuchKey", None, self.client().get_object, Bucket=bucket,
                           Key="missing")
        after = self.scrape()
        self.assertEqual(set(self.access_pids(since)), workers)  # both served some
        self.assertEqual(delta(before, after, "cloudserver_requests_total",
                               operation="PutObject", status_class="2xx"), 16)
        self.assertEqual(delta(before, after, "cloudserver_requests_total",
                               operation="GetObject", status_class="2xx"), 8)
        self.assertEqual(delta(before, after, "cloudserver_requests_total",
                               operation="GetObject", status_class="4xx"), 1)
        self.assertEqual(delta(before, after, "cloudserver_errors_total", code="NoSuchKey"), 1)
        self.assertEqual(delta(before, after, "cloudserver_request_received_bytes_total",
                               operation="PutObject"), 1600)
        self.assertEqual(delta(before, after, "cloudserver_request_duration_seconds_count",
                               operation="PutObject"), 16)
        self.assertEqual(after[("cloudserver_requests_in_flight", ())], 0)
        # the dmd side is the supervisor's: its KV batches, its process
        self.assertGreaterEqual(delta(before, after, "cloudserver_metadata_kv_batch_writes_count"),
                                1)
        self.assertGreater(after[("process_resident_memory_bytes", ())], 0)
        # the workers' RPC client figures are copied every second
        deadline = time.monotonic() + 10
        while True:
            now = self.scrape()
            client = sum(v for (name, labels), v in now.items()
                         if name == "cloudserver_dmd_rpc_calls_total"
                         and ("side", "client") in labels)
            served = sum(v for (name, labels), v in now.items()
                         if name == "cloudserver_dmd_rpc_calls_total"
                         and ("side", "server") in labels)
            if client >= served or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertGreater(client, 0)
        self.assertEqual(client, served)  # every call the workers made, the dmd served
        self.assertEqual(now[("cloudserver_dmd_rpc_in_flight", (("side", "client"),))], 0)
        for name, labels in now:
            self.assertNotIn("pid", dict(labels), name)
            self.assertNotIn("worker", dict(labels), name)

    def test_no_family_twice(self) -> None:
        bucket = self.make_bucket("clusters-names")
        self.puts(bucket, "n", 4)
        with urllib.request.urlopen(f"http://127.0.0.1:{self.server.metrics_port}/metrics",
                                    timeout=10) as answer:
            text = answer.read().decode()
        types = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")]
        self.assertEqual(sorted(types), sorted(set(types)))
        # the text format names a counter's family by its sample
        self.assertIn("cloudserver_requests_total", types)
        self.assertIn("cloudserver_dmd_rpc_calls_total", types)

    def test_killed_worker_keeps_its_counts(self) -> None:
        bucket = self.make_bucket("clusters-kill")
        workers = sorted(self.wait_workers(2))
        victim = workers[0]
        before, since = self.scrape(), self.log_size()
        self.puts(bucket, "a", 20)
        served = self.access_pids(since)
        self.assertGreater(served.get(victim, 0), 0, served)
        mid = self.scrape()
        self.assertEqual(self.requests(mid, "PutObject") - self.requests(before, "PutObject"),
                         20)
        os.kill(victim, signal.SIGKILL)
        self.wait_workers(2, exclude={victim})
        again = self.scrape()
        self.assertEqual(self.requests(again, "PutObject"), self.requests(mid, "PutObject"))
        self.assertEqual(again[("cloudserver_requests_in_flight", ())], 0)
        self.puts(bucket, "b", 10)
        after = self.scrape()
        self.assertEqual(self.requests(after, "PutObject") - self.requests(before, "PutObject"),
                         30)
