# -*- test-case-name: tests.functional.test_operator_tools -*-
"""bin/cloudserver-usage and bin/cloudserver-metadata against a running
server (through its :9990, which --mode all serves): usage figures after a
boto3 workload (put, overwrite, delete, versions, delete markers,
multipart), the per-bucket metrics family, and a bucket exported and
imported under another name."""
from __future__ import annotations

import json
import sys

from twisted.trial import unittest

from tests.functional.clients import (
    boto3_client, client_environment, empty_and_delete_bucket, run_command, unique_bucket)
from tests.functional.s3case import S3TestCase
from tests.functional.server import CHECKOUT, ServerProcess
from tests.functional.test_metrics import METRICS, scrape

MIB = 1 << 20


class OperatorToolsTests(S3TestCase):
    serverConfig = METRICS

    def tool(self, name: str, *args: str, check: bool = True):
        argv = [sys.executable, str(CHECKOUT / "bin" / name), *args,
                "--host", "127.0.0.1", "--port", str(self.server.metadata_port)]
        return run_command(argv, client_environment(self.workdir), self.server, check=check)

    def usage(self, *buckets: str) -> dict:
        return json.loads(self.tool("cloudserver-usage", "--json", *buckets).stdout)

    def workload(self, bucket: str) -> None:
        s3 = self.s3
        s3.put_object(Bucket=bucket, Key="a", Body=b"x" * 100)
        s3.put_object(Bucket=bucket, Key="a", Body=b"x" * 40)  # overwrite
        s3.put_object(Bucket=bucket, Key="gone", Body=b"x" * 7)
        s3.delete_object(Bucket=bucket, Key="gone")
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        s3.put_object(Bucket=bucket, Key="v", Body=b"x" * 10)
        s3.put_object(Bucket=bucket, Key="v", Body=b"x" * 20)
        s3.put_object(Bucket=bucket, Key="m", Body=b"x" * 5)
        s3.delete_object(Bucket=bucket, Key="m")  # a delete marker over it
        upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
        etags = [s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=n,
                                Body=b"p" * size)["ETag"]
                 for n, size in ((1, 5 * MIB), (2, 1000))]
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload,
                                     MultipartUpload={"Parts": [
                                         {"PartNumber": n, "ETag": e}
                                         for n, e in enumerate(etags, 1)]})
        pending = s3.create_multipart_upload(Bucket=bucket, Key="later")["UploadId"]
        s3.upload_part(Bucket=bucket, Key="later", UploadId=pending, PartNumber=1, Body=b"q" * 33)

    def test_usage_follows_a_boto3_workload(self):
        bucket = self.make_bucket("use")
        empty = self.make_bucket("use-empty")
        self.assertEqual(self.usage(bucket)["buckets"][0]["versions"], 0)
        self.workload(bucket)
        report = self.usage(bucket, empty)
        row = {k: v for k, v in report["buckets"][0].items()}
        mp = 5 * MIB + 1000
        # a (40, null), v (10 and 20), m (5, under a marker), mp
        self.assertEqual(row, {"name": bucket, "objects": 3, "objectBytes": 40 + 20 + mp,
                               "versions": 5, "bytes": 40 + 10 + 20 + 5 + mp,
                               "deleteMarkers": 1, "uploads": 1, "uploadBytes": 33})
        self.assertEqual(report["buckets"][1]["versions"], 0)
        self.assertEqual(report["total"]["buckets"], 2)
        everything = self.usage()
        self.assertIn(bucket, [b["name"] for b in everything["buckets"]])
        # the table: a row per bucket and the totals
        text = self.tool("cloudserver-usage", bucket).stdout.splitlines()
        self.assertEqual(text[0].split()[:3], ["BUCKET", "OBJECTS", "OBJECT-BYTES"])
        self.assertEqual(text[1].split()[:2], [bucket, "3"])
        self.assertTrue(text[2].startswith("TOTAL (1 buckets)"))
        # the metrics port: the same figures, per bucket and in total
        metrics = scrape(self.server.metrics_port)
        self.assertEqual(metrics[("cloudserver_bucket_bytes", (("bucket", bucket),))],
                         row["bytes"])
        self.assertEqual(metrics[("cloudserver_bucket_objects", (("bucket", bucket),))], 3)
        self.assertGreaterEqual(metrics[("cloudserver_usage_bytes", ())], row["bytes"])

    def test_unknown_bucket_and_no_server(self):
        failed = self.tool("cloudserver-usage", "no-such-bucket-here", check=False)
        self.assertEqual(failed.returncode, 1)
        self.assertIn("NoSuchBucket", failed.stderr)
        argv = [sys.executable, str(CHECKOUT / "bin" / "cloudserver-usage"), "--host",
                "127.0.0.1", "--port", "1"]
        down = run_command(argv, client_environment(self.workdir), self.server, check=False)
        self.assertEqual(down.returncode, 2)
        self.assertIn("cannot reach", down.stderr)

    def test_help(self):
        for name in ("cloudserver-usage", "cloudserver-metadata"):
            out = run_command([sys.executable, str(CHECKOUT / "bin" / name), "--help"],
                              client_environment(self.workdir), self.server).stdout
            self.assertIn("usage:", out)
        out = run_command([sys.executable, str(CHECKOUT / "bin" / "cloudserver-metadata"),
                           "--help"], client_environment(self.workdir), self.server).stdout
        self.assertIn("DATA IS NOT COPIED", out)

    def test_export_then_import_as_another_bucket(self):
        bucket = self.make_bucket("exp")
        self.workload(bucket)
        dump = self.workdir / "bucket.jsonl"
        self.tool("cloudserver-metadata", "export", bucket, "-o", str(dump))
        items = [json.loads(line) for line in dump.read_text().splitlines()]
        self.assertEqual(items[0]["type"], "bucket")
        self.assertTrue(all(i["formatVersion"] == 1 for i in items))
        self.assertEqual({i["type"] for i in items},
                         {"bucket", "object", "inline", "upload", "part"})
        copy = bucket + "-copy"
        # the source's upload ids are this server's: refused, nothing written
        refused = self.tool("cloudserver-metadata", "import", str(dump), "--as", copy,
                            check=False)
        self.assertEqual(refused.returncode, 1, refused.stderr)
        self.assertIn("in use", refused.stderr)
        self.tool("cloudserver-metadata", "import", str(dump), "--as", copy,
                  "--skip-uploads", "--replace")
        # removed before the source (the shared data files go with it; a
        # missing file is fine when the source's records are deleted then)
        self.addCleanup(empty_and_delete_bucket, self.s3, copy)
        # objects read back through S3 (the data files are the source's)
        self.assertEqual(self.s3.get_object(Bucket=copy, Key="a")["Body"].read(), b"x" * 40)
        versions = self.s3.list_object_versions(Bucket=copy, Prefix="v")["Versions"]
        self.assertEqual(len(versions), 2)
        self.assertEqual(self.s3.head_object(Bucket=copy, Key="mp")["ContentLength"],
                         5 * MIB + 1000)
        source, imported = self.usage(bucket, copy)["buckets"]
        self.assertEqual({**imported, "name": bucket},
                         {**source, "uploads": 0, "uploadBytes": 0})
        # an existing bucket is refused without --replace
        again = self.tool("cloudserver-metadata", "import", str(dump), "--as", copy,
                          "--skip-uploads", check=False)
        self.assertEqual(again.returncode, 1)
        self.assertIn("BucketAlreadyExists", again.stderr)

    def test_import_checks_every_line_first(self):
        bucket = self.make_bucket("chk")
        self.s3.put_object(Bucket=bucket, Key="a", Body=b"x")
        dump = self.workdir / "bad.jsonl"
        self.tool("cloudserver-metadata", "export", bucket, "-o", str(dump))
        lines = dump.read_text().splitlines()
        broken = json.loads(lines[1])
        broken["record"]["size"] = "one"
        dump.write_text("\n".join([lines[0], json.dumps(broken)]) + "\n")
        failed = self.tool("cloudserver-metadata", "import", str(dump), "--as",
                           bucket + "-bad", check=False)
        self.assertEqual(failed.returncode, 1)
        self.assertIn("line 2", failed.stderr)
        self.assertNotIn(bucket + "-bad", [b["Name"] for b in self.s3.list_buckets()["Buckets"]])


class SplitDeploymentTests(unittest.SynchronousTestCase):
    """A dmd and a --mode s3 front: the tools talk to the dmd, whose
    metrics carry the per-bucket family; the front's have none."""

    def test_usage_from_the_dmd(self):
        dmd = ServerProcess(mode="dmd", extra_config=METRICS)
        self.addCleanup(dmd.destroy)
        dmd.start()
        front = ServerProcess(mode="s3", dmd=dmd, extra_config=METRICS)
        self.addCleanup(front.destroy)
        front.start()
        s3 = boto3_client(front, front.workdir)
        bucket = unique_bucket("split-use")
        s3.create_bucket(Bucket=bucket)
        self.addCleanup(empty_and_delete_bucket, s3, bucket)
        s3.put_object(Bucket=bucket, Key="k", Body=b"v" * 11)
        argv = [sys.executable, str(CHECKOUT / "bin" / "cloudserver-usage"), "--json",
                bucket, "--host", "127.0.0.1", "--port", str(dmd.metadata_port)]
        report = json.loads(run_command(argv, client_environment(front.workdir),
                                        dmd).stdout)
        self.assertEqual((report["total"]["objects"], report["total"]["bytes"]), (1, 11))
        served, fronted = scrape(dmd.metrics_port), scrape(front.metrics_port)
        self.assertEqual(served[("cloudserver_bucket_bytes", (("bucket", bucket),))], 11)
        self.assertFalse([name for name, _ in fronted if name.startswith(
            ("cloudserver_bucket_", "cloudserver_usage_"))])
