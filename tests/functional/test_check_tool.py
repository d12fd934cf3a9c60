# -*- test-case-name: tests.functional.test_check_tool -*-
"""No orphans on a real server: the start-up sweep after a kill -9 in the
middle of an upload (with its figures on the metrics port), and
bin/cloudserver-check online (through the dmd) and offline (a stopped
server's directories; refused while the server holds the LevelDB lock)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

from botocore.exceptions import ClientError

from tests.functional.s3case import S3TestCase
from tests.functional.server import CHECKOUT

TOOL = str(CHECKOUT / "bin" / "cloudserver-check")
ORPHAN = "0123456789abcdef0123456789abcdef01234567"


def data_files(server) -> dict[str, str]:
    out = {}
    for top, _, names in os.walk(server.data_dir):
        for name in names:
            out[name] = os.path.join(top, name)
    return out


class CheckToolTests(S3TestCase):
    sharedServer = False  # each test stops or crashes its own server
    serverConfig = {"inlineDataMaxSize": 0, "metrics": {"port": 0}}

    def run_tool(self, *args: str) -> tuple[int, str, str]:
        env = {**os.environ, "S3DATAPATH": str(self.server.data_dir),
               "S3METADATAPATH": str(self.server.metadata_dir),
               "S3_CONFIG_FILE": str(self.server.config_path)}
        proc = subprocess.run([sys.executable, TOOL, *args], capture_output=True,
                              text=True, env=env, timeout=60)
        return proc.returncode, proc.stdout, proc.stderr

    def online(self, *args: str) -> tuple[int, dict]:
        code, out, err = self.run_tool("--host", "127.0.0.1", "--port",
                                       str(self.server.metadata_port), "--json", *args)
        self.assertIn(code, (0, 1), err)
        return code, json.loads(out)

    def plant_orphan(self, age: float = 7200) -> str:
        path = self.server.data_dir / ORPHAN[0:2] / ORPHAN[2:4] / ORPHAN
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"o" * 11)
        old = time.time() - age
        os.utime(path, (old, old))
        return str(path)

    def test_help(self) -> None:
        code, out, _ = self.run_tool("--help")
        self.assertEqual(code, 0)
        self.assertIn("--repair", out)
        self.assertIn("Records are never", out)

    def test_online_check_and_repair(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="kept", Body=b"kept data")
        self.s3.put_object(Bucket=bucket, Key="lost", Body=b"lost data")
        upload = self.s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
        self.s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1,
                            Body=b"part")
        orphan = self.plant_orphan()
        files_before = data_files(self.server)
        listed = self.s3.list_objects_v2(Bucket=bucket)["Contents"]
        self.assertEqual(len(listed), 2)
        code, report = self.online()
        self.assertEqual(code, 1)
        self.assertEqual((report["orphans"], report["missing"]), (1, 0))
        self.assertEqual(report["orphanList"][0]["dataKey"], ORPHAN)
        self.assertEqual(report["referenced"], 3)  # two objects, one part
        victim = [k for k in files_before if k != ORPHAN][0]
        os.unlink(files_before[victim])
        code, report = self.online("--repair", "--grace", "60")
        self.assertEqual(code, 1)  # a record misses its data: reported, not changed
        self.assertEqual((report["orphans"], report["removed"], report["missing"]),
                         (1, 1, 1))
        self.assertFalse(os.path.exists(orphan))
        self.assertEqual(report["missingList"][0]["dataKey"], victim)
        self.assertEqual(report["missingList"][0]["problem"], "data file missing")
        # the records are all still there
        self.assertEqual(len(self.s3.list_objects_v2(Bucket=bucket)["Contents"]), 2)
        self.s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload)

    def test_copy_of_a_source_whose_data_is_gone_leaves_no_file(self) -> None:
        """Regression: the copy's blob was created before the source's data
        was opened and left behind when that failed."""
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="src", Body=b"s" * 5000)
        [path] = data_files(self.server).values()
        os.unlink(path)
        with self.assertRaises(ClientError):
            self.s3.copy_object(Bucket=bucket, Key="dst",
                                CopySource={"Bucket": bucket, "Key": "src"})
        self.assertEqual(data_files(self.server), {})
        code, report = self.online()
        self.assertEqual((report["orphans"], report["inFlight"], report["missing"]), (0, 0, 1))

    def test_young_orphans_are_not_repaired(self) -> None:
        orphan = self.plant_orphan(age=0)
        code, report = self.online("--repair")
        self.assertEqual((code, report["orphans"], report["removed"]), (1, 1, 0))
        self.assertTrue(os.path.exists(orphan))

    def test_offline_refused_while_running_then_works_when_stopped(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"data")
        orphan = self.plant_orphan()
        code, _, err = self.run_tool("--offline")
        self.assertEqual(code, 2)
        self.assertIn("locked", err)
        self.assertIn("online", err)
        self.server.stop()
        code, out, err = self.run_tool("--offline")
        self.assertEqual(code, 1, err)
        self.assertIn("orphans: 1 (11 bytes)", out)
        code, out, err = self.run_tool("--offline", "--repair")
        self.assertEqual(code, 0, out + err)
        self.assertIn("removed: 1 orphans", out)
        self.assertFalse(os.path.exists(orphan))
        code, out, _ = self.run_tool("--offline")
        self.assertEqual(code, 0, out)
        self.assertIn("orphans: 0", out)
        self.server.start()
        self.s3 = self.client()
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["Body"].read(), b"data")

    def test_kill9_mid_upload_is_swept_at_restart(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x" * 1000)
        before = set(data_files(self.server))
        body = b"y" * 300000
        headers = self.sign("PUT", f"/{bucket}/cut", body)
        head = f"PUT /{bucket}/cut HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()) + f"Content-Length: {len(body)}\r\n\r\n"
        with socket.create_connection(("127.0.0.1", self.server.port)) as sock:
            sock.sendall(head.encode() + body[:200000])
            deadline = time.time() + 10
            while set(data_files(self.server)) == before and time.time() < deadline:
                time.sleep(0.05)
            self.assertNotEqual(set(data_files(self.server)), before)  # its file exists
            self.server.kill9()
        self.server.start()
        deadline = time.time() + 10
        while set(data_files(self.server)) != before and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(set(data_files(self.server)), before)
        self.s3 = self.client()
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["Body"].read(),
                         b"x" * 1000)
        url = f"http://127.0.0.1:{self.server.metrics_port}/metrics"
        text = urllib.request.urlopen(url, timeout=10).read().decode()
        self.assertIn("cloudserver_orphan_files_removed_total 1.0", text)
        code, report = self.online()
        self.assertEqual((code, report["orphans"], report["missing"]), (0, 0, 0))
