"""Split deployment: one dmd (``--mode dmd``) and two S3 fronts (``--mode s3``)
on loopback ports.  What one front writes the other sees; a ``kill -9`` of
the dmd loses no acknowledged PUT, and the fronts recover by themselves."""
from __future__ import annotations

import threading
import time

from botocore.exceptions import ClientError, EndpointConnectionError
from twisted.trial import unittest

from tests.functional.clients import boto3_client, unique_bucket
from tests.functional.server import split_deployment

#: How long the fronts may take to find a restarted dmd again.
RECOVERY_TIMEOUT = 15.0


class SplitDeploymentTests(unittest.SynchronousTestCase):
    def setUp(self) -> None:
        self.dmd, self.fronts = split_deployment(self)
        self.one = boto3_client(self.fronts[0], self.fronts[0].workdir)
        self.two = boto3_client(self.fronts[1], self.fronts[1].workdir)

    def describe(self) -> str:
        return "\n".join(p.describe(30) for p in (self.dmd, *self.fronts))

    def test_one_store_two_fronts(self):
        bucket = unique_bucket("dmd")
        self.one.create_bucket(Bucket=bucket)
        body = b"written through front one\n" * 1000  # inline: travels with the record
        self.one.put_object(Bucket=bucket, Key="dir/obj", Body=body)
        listing = self.two.list_objects_v2(Bucket=bucket, Delimiter="/")
        self.assertEqual([p["Prefix"] for p in listing["CommonPrefixes"]], ["dir/"])
        listing = self.two.list_objects_v2(Bucket=bucket)
        self.assertEqual([(o["Key"], o["Size"]) for o in listing["Contents"]],
                         [("dir/obj", len(body))])
        got = self.two.get_object(Bucket=bucket, Key="dir/obj")["Body"].read()
        self.assertEqual(got, body)
        part = self.two.get_object(Bucket=bucket, Key="dir/obj", Range="bytes=5-11")
        self.assertEqual(part["Body"].read(), body[5:12])
        # larger than inlineDataMaxSize: the bytes go through the data daemon
        big = b"a data file behind :9991\n" * 8000
        self.one.put_object(Bucket=bucket, Key="big", Body=big)
        self.assertEqual(self.two.get_object(Bucket=bucket, Key="big")["Body"].read(), big)
        self.two.delete_object(Bucket=bucket, Key="big")
        self.two.delete_object(Bucket=bucket, Key="dir/obj")
        with self.assertRaises(ClientError) as caught:
            self.one.head_object(Bucket=bucket, Key="dir/obj")
        self.assertEqual(caught.exception.response["Error"]["Code"], "404")
        self.two.delete_bucket(Bucket=bucket)
        self.assertNotIn(bucket, [b["Name"] for b in self.one.list_buckets()["Buckets"]])

    def test_kill9_dmd_during_puts(self):
        bucket = unique_bucket("dmd9")
        self.one.create_bucket(Bucket=bucket)
        acked: dict[str, bytes] = {}
        failures: list[str] = []
        stop = threading.Event()
        client = boto3_client(self.fronts[0], self.fronts[0].workdir)

        def writer() -> None:
            i = 0
            while not stop.is_set():
                key = f"k{i:06d}"
                body = key.encode() * 200
                try:
                    client.put_object(Bucket=bucket, Key=key, Body=body)
                except (ClientError, EndpointConnectionError) as e:
                    failures.append(str(e))
                    time.sleep(0.01)
                else:
                    acked[key] = body
                i += 1

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 20
            while len(acked) < 30 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.dmd.kill9()
            time.sleep(1.0)  # PUTs keep coming while the dmd is away
            self.dmd.start()
            deadline = time.monotonic() + RECOVERY_TIMEOUT
            before = len(acked)
            while len(acked) < before + 20 and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            thread.join(30)
        self.assertGreaterEqual(len(acked), 50, self.describe())
        # While the dmd was away, PUTs failed with 503 (not 500, not a hang).
        self.assertTrue(failures, "no PUT failed while the dmd was down")
        for message in failures:
            self.assertIn("ServiceUnavailable", message, message)
        # Every acknowledged PUT survived, read through the other front,
        # which recovered by itself too.
        deadline = time.monotonic() + RECOVERY_TIMEOUT
        while True:
            try:
                self.two.head_bucket(Bucket=bucket)
                break
            except ClientError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        for key, body in sorted(acked.items()):
            got = self.two.get_object(Bucket=bucket, Key=key)["Body"].read()
            self.assertEqual(got, body, key)
        listed = set()
        for page in self.two.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            listed.update(o["Key"] for o in page.get("Contents", ()))
        self.assertLessEqual(set(acked), listed)
