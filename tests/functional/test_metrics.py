"""The metrics port (config.json ``metrics``): a boto3 workload against a
real server, the Prometheus endpoint scraped with urllib before and after,
and the counters must have moved exactly as the requests did."""
from __future__ import annotations

import json
import urllib.error
import urllib.request

from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families
from twisted.trial import unittest

from tests.functional.clients import boto3_client, unique_bucket
from tests.functional.s3case import S3TestCase
from tests.functional.server import ServerProcess

METRICS = {"metrics": {"port": 0, "bindAddress": "127.0.0.1"}}


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} of one scrape."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        assert answer.status == 200
        text = answer.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples


def delta(before: dict, after: dict, name: str, **labels: str) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0.0) - before.get(key, 0.0)


class MetricsPortTests(S3TestCase):
    serverConfig = METRICS

    def test_counters_follow_a_workload(self):
        bucket = self.make_bucket()
        port = self.server.metrics_port
        before = scrape(port)
        small, big = b"s" * 1000, b"B" * (200 * 1024)  # big: a data file, fsynced
        self.s3.put_object(Bucket=bucket, Key="small", Body=small)
        self.s3.put_object(Bucket=bucket, Key="big", Body=big)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="big")["Body"].read(), big)
        self.s3.list_objects_v2(Bucket=bucket)
        self.s3.delete_object(Bucket=bucket, Key="small")
        with self.assertRaises(ClientError):
            self.s3.get_object(Bucket=bucket, Key="small")
        after = scrape(port)

        def requests(op, klass):
            return delta(before, after, "cloudserver_requests_total",
                         operation=op, status_class=klass)

        self.assertEqual(requests("PutObject", "2xx"), 2)
        self.assertEqual(requests("GetObject", "2xx"), 1)
        self.assertEqual(requests("GetObject", "4xx"), 1)
        self.assertEqual(requests("ListObjectsV2", "2xx"), 1)
        self.assertEqual(requests("DeleteObject", "2xx"), 1)
        self.assertEqual(delta(before, after, "cloudserver_errors_total", code="NoSuchKey"), 1)
        self.assertEqual(delta(before, after, "cloudserver_request_received_bytes_total",
                               operation="PutObject"), len(small) + len(big))
        # the object, and the NoSuchKey document of the second GET
        sent = delta(before, after, "cloudserver_response_sent_bytes_total",
                     operation="GetObject")
        self.assertGreater(sent, len(big))
        self.assertLess(sent, len(big) + 1024)
        self.assertEqual(delta(before, after, "cloudserver_request_duration_seconds_count",
                               operation="PutObject"), 2)
        self.assertEqual(after[("cloudserver_requests_in_flight", ())], 0)
        self.assertGreaterEqual(delta(before, after, "cloudserver_metadata_kv_batch_writes_count"),
                                1)
        self.assertGreaterEqual(delta(before, after, "cloudserver_metadata_kv_batch_seconds_count"),
                                1)
        self.assertEqual(delta(before, after, "cloudserver_data_fsync_seconds_count"), 1)
        self.assertGreater(after[("cloudserver_data_free_bytes", ())], 0)
        self.assertGreater(after[("process_resident_memory_bytes", ())], 0)
        self.assertGreater(after[("process_open_fds", ())], 0)
        # no bucket or key becomes a label, but in the per-bucket usage
        # family (issue 19: explicit, capped, README "Metrics")
        for name, labels in after:
            if not name.startswith("cloudserver_bucket_"):
                self.assertNotIn(bucket, repr(labels), name)
        self.assertEqual(after[("cloudserver_bucket_objects", (("bucket", bucket),))], 1)
        self.assertEqual(after[("cloudserver_bucket_bytes", (("bucket", bucket),))], len(big))

    def test_kms_calls_are_counted(self):
        bucket = self.make_bucket()
        port = self.server.metrics_port
        before = scrape(port)
        self.s3.put_object(Bucket=bucket, Key="enc", Body=b"secret",
                           ServerSideEncryption="AES256")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="enc")["Body"].read(),
                         b"secret")
        self.assertS3Error("KMS.NotFoundException", None, self.s3.put_object,
                           Bucket=bucket, Key="enc2", Body=b"x",
                           ServerSideEncryption="aws:kms", SSEKMSKeyId="no-such-key")
        after = scrape(port)
        # both PUTs ask for a data key; the unknown key id fails there
        self.assertEqual(delta(before, after, "cloudserver_kms_calls_total",
                               method="generate_data_key"), 2)
        self.assertEqual(delta(before, after, "cloudserver_kms_failures_total",
                               method="generate_data_key"), 1)
        self.assertEqual(delta(before, after, "cloudserver_kms_calls_total",
                               method="decrypt_data_key"), 1)

    def test_healthcheck_and_unknown_paths(self):
        port = self.server.metrics_port
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_/healthcheck",
                                    timeout=10) as answer:
            self.assertEqual(answer.status, 200)
            self.assertEqual(json.loads(answer.read()), {"status": "OK"})
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_/healthcheck/deep",
                                    timeout=10) as answer:
            self.assertEqual(answer.status, 200)
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/bucket/key", timeout=10)
        self.assertEqual(caught.exception.code, 404)


class SplitMetricsTests(unittest.SynchronousTestCase):
    """A dmd and a front, each with its own metrics port: the RPC calls
    are counted at both ends."""

    def test_rpc_calls_on_both_sides(self):
        dmd = ServerProcess(mode="dmd", extra_config=METRICS)
        self.addCleanup(dmd.destroy)
        dmd.start()
        front = ServerProcess(mode="s3", dmd=dmd, extra_config=METRICS)
        self.addCleanup(front.destroy)
        front.start()
        s3 = boto3_client(front, front.workdir)
        bucket = unique_bucket("rpcmetrics")
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="k", Body=b"v")
        s3.get_object(Bucket=bucket, Key="k")["Body"].read()
        s3.delete_object(Bucket=bucket, Key="k")
        s3.delete_bucket(Bucket=bucket)
        client, server = scrape(front.metrics_port), scrape(dmd.metrics_port)
        calls = {labels: v for (name, labels), v in client.items()
                 if name == "cloudserver_dmd_rpc_calls_total"}
        served = {labels: v for (name, labels), v in server.items()
                  if name == "cloudserver_dmd_rpc_calls_total"}
        self.assertEqual(calls[(("method", "create_bucket"), ("side", "client"))], 1)
        self.assertEqual(served[(("method", "create_bucket"), ("side", "server"))], 1)
        self.assertEqual(sum(calls.values()), sum(served.values()))
        self.assertEqual(client[("cloudserver_dmd_rpc_in_flight", (("side", "client"),))], 0)
        self.assertEqual(client[("cloudserver_dmd_rpc_reconnects_total",
                                 (("side", "client"),))], 0)
        self.assertGreaterEqual(server[("cloudserver_dmd_rpc_connections_total",
                                        (("side", "server"),))], 1)
        self.assertGreaterEqual(server[("cloudserver_metadata_kv_batch_writes_count", ())], 3)
