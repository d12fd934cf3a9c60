# -*- test-case-name: tests.functional.test_notifications -*-
"""
Bucket notifications in a real server, delivered to a webhook receiver
this test runs on a loopback port: PUT, copy, multipart completion, delete
and delete-marker events through key filters, signed with the shared
secret; a receiver that is down and then up gets the event by the retries,
and a backlog queued while it was down survives a kill -9 of the server;
and a ``--mode s3`` front passes its events to the dmd that delivers them.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from twisted.trial import unittest

from tests.functional.clients import boto3_client, unique_bucket
from tests.functional.s3case import S3TestCase
from tests.functional.test_boto3_objects import _post_form
from tests.functional.server import ServerProcess, free_port

SECRET = "notification test secret"
ARN = "arn:scality:bucketnotif:::hooks"


class Receiver:
    """A webhook on 127.0.0.1:``port``: records each POSTed record with
    whether its signature matched; ``stop`` and ``start`` take it down and
    up again on the same port."""

    def __init__(self, port: int):
        self.port = port
        self.records: list[tuple[dict, bool]] = []
        self.lock = threading.Lock()
        self.httpd: ThreadingHTTPServer | None = None

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                expected = "sha256=" + hmac.new(SECRET.encode(), body,
                                                hashlib.sha256).hexdigest()
                signed = self.headers.get("X-Scal-Signature") == expected
                with receiver.lock:
                    for record in json.loads(body)["Records"]:
                        receiver.records.append((record, signed))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def of(self, bucket: str) -> list[tuple[dict, bool]]:
        with self.lock:
            return [(r, s) for r, s in self.records if r["s3"]["bucket"]["name"] == bucket]

    def wait(self, bucket: str, count: int, timeout: float = 20.0, server=None):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.of(bucket)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{len(self.of(bucket))} of {count} events for {bucket}\n"
                             f"{server.describe(30) if server else ''}")


def destinations(port: int) -> dict:
    return {"bucketNotificationDestinations": [
        {"resource": "hooks", "type": "webhook", "url": f"http://127.0.0.1:{port}/events",
         "secret": SECRET, "timeout": 2}]}


def queue_config(*rules: tuple[str, list[str], str, str]) -> dict:
    out = []
    for rule_id, events, prefix, suffix in rules:
        filters = [{"Name": n, "Value": v} for n, v in (("prefix", prefix), ("suffix", suffix))
                   if v]
        rule = {"Id": rule_id, "QueueArn": ARN, "Events": events}
        if filters:
            rule["Filter"] = {"Key": {"FilterRules": filters}}
        out.append(rule)
    return {"QueueConfigurations": out}


RECEIVER = Receiver(free_port())


class NotificationTests(S3TestCase):
    serverConfig = destinations(RECEIVER.port)

    def setUp(self):
        super().setUp()
        if RECEIVER.httpd is None:
            RECEIVER.start()

    def configure(self, bucket: str, *rules) -> None:
        self.s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration=queue_config(*rules))

    def post(self, bucket: str, key: str, data: bytes) -> None:
        """A browser-form upload (PostObject)."""
        presigned = self.s3.generate_presigned_post(bucket, key)
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            conn.request("POST", f"/{bucket}", body=_post_form(presigned["fields"], data),
                         headers={"Content-Type": "multipart/form-data; boundary=b0undary"})
            response = conn.getresponse()
            self.assertEqual(response.status, 204, response.read())
        finally:
            conn.close()

    def test_configuration_round_trip_and_refusals(self):
        bucket = self.make_bucket()
        got = self.s3.get_bucket_notification_configuration(Bucket=bucket)
        self.assertNotIn("QueueConfigurations", got)
        self.configure(bucket, ("c", ["s3:ObjectCreated:*"], "in/", ".txt"))
        got = self.s3.get_bucket_notification_configuration(Bucket=bucket)
        rule, = got["QueueConfigurations"]
        self.assertEqual((rule["Id"], rule["QueueArn"], rule["Events"]),
                         ("c", ARN, ["s3:ObjectCreated:*"]))
        self.assertEqual(sorted((r["Name"], r["Value"]) for r in
                                rule["Filter"]["Key"]["FilterRules"]),
                         [("Prefix", "in/"), ("Suffix", ".txt")])
        put = self.s3.put_bucket_notification_configuration
        error = self.assertS3Error("InvalidArgument", 400, put, Bucket=bucket,
                                   NotificationConfiguration={"QueueConfigurations": [
                                       {"QueueArn": "arn:aws:sqs:us-east-1:1:q",
                                        "Events": ["s3:ObjectCreated:*"]}]})
        self.assertIn("Unable to validate", error.response["Error"]["Message"])
        self.assertS3Error("InvalidArgument", 400, put, Bucket=bucket,
                           NotificationConfiguration=queue_config(
                               ("a", ["s3:ObjectCreated:*"], "", ""),
                               ("b", ["s3:ObjectCreated:Put"], "", "")))
        self.assertS3Error("NotImplemented", 501, put, Bucket=bucket,
                           NotificationConfiguration=queue_config(
                               ("a", ["s3:ObjectRestore:Post"], "", "")))
        other = self.client(access_key="accessKey2", secret_key="verySecretKey2")
        self.assertS3Error("AccessDenied", 403, other.get_bucket_notification_configuration,
                           Bucket=bucket)
        # the refused documents changed nothing; an empty one removes it
        self.assertEqual(len(self.s3.get_bucket_notification_configuration(
            Bucket=bucket)["QueueConfigurations"]), 1)
        self.s3.put_bucket_notification_configuration(Bucket=bucket,
                                                      NotificationConfiguration={})
        self.assertNotIn("QueueConfigurations",
                         self.s3.get_bucket_notification_configuration(Bucket=bucket))

    def test_put_copy_multipart_delete_events_with_filters(self):
        bucket = self.make_bucket()
        self.configure(bucket, ("created", ["s3:ObjectCreated:*"], "in/", ".txt"),
                       ("removed", ["s3:ObjectRemoved:*"], "in/", ""))
        put = self.s3.put_object(Bucket=bucket, Key="in/a b.txt", Body=b"hello")
        self.s3.put_object(Bucket=bucket, Key="in/skip.jpg", Body=b"x")     # suffix
        self.s3.put_object(Bucket=bucket, Key="out/skip.txt", Body=b"x")    # prefix
        self.s3.copy_object(Bucket=bucket, Key="in/copy.txt",
                            CopySource={"Bucket": bucket, "Key": "in/a b.txt"})
        upload = self.s3.create_multipart_upload(Bucket=bucket, Key="in/mp.txt")
        part = self.s3.upload_part(Bucket=bucket, Key="in/mp.txt", PartNumber=1,
                                   UploadId=upload["UploadId"], Body=b"m" * 1000)
        done = self.s3.complete_multipart_upload(
            Bucket=bucket, Key="in/mp.txt", UploadId=upload["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        self.post(bucket, "in/posted.txt", b"from a form")
        self.s3.delete_object(Bucket=bucket, Key="in/a b.txt")
        self.s3.delete_object(Bucket=bucket, Key="out/skip.txt")            # prefix
        got = RECEIVER.wait(bucket, 5, server=self.server)
        time.sleep(0.3)  # nothing more comes
        got = RECEIVER.of(bucket)
        self.assertTrue(all(signed for _, signed in got))
        events = sorted((r["eventName"], r["s3"]["object"]["key"], r["s3"]["configurationId"])
                        for r, _ in got)
        self.assertEqual(events, [
            ("ObjectCreated:CompleteMultipartUpload", "in/mp.txt", "created"),
            ("ObjectCreated:Copy", "in/copy.txt", "created"),
            ("ObjectCreated:Post", "in/posted.txt", "created"),
            ("ObjectCreated:Put", "in/a+b.txt", "created"),
            ("ObjectRemoved:Delete", "in/a+b.txt", "removed")])
        by_name = {r["eventName"]: r for r, _ in got}
        created = by_name["ObjectCreated:Put"]
        self.assertEqual((created["eventVersion"], created["eventSource"],
                          created["s3"]["bucket"]["arn"]),
                         ("2.1", "aws:s3", f"arn:aws:s3:::{bucket}"))
        self.assertEqual(created["s3"]["object"]["size"], 5)
        self.assertEqual(created["s3"]["object"]["eTag"], put["ETag"].strip('"'))
        self.assertEqual(by_name["ObjectCreated:CompleteMultipartUpload"]["s3"]["object"]
                         ["eTag"], done["ETag"].strip('"'))
        self.assertNotIn("size", by_name["ObjectRemoved:Delete"]["s3"]["object"])

    def test_delete_marker_on_a_versioned_bucket(self):
        bucket = self.make_bucket()
        self.s3.put_bucket_versioning(Bucket=bucket,
                                      VersioningConfiguration={"Status": "Enabled"})
        self.configure(bucket, ("all", ["s3:ObjectCreated:Put", "s3:ObjectRemoved:*"], "",
                                ""))
        put = self.s3.put_object(Bucket=bucket, Key="k", Body=b"v1")
        marker = self.s3.delete_object(Bucket=bucket, Key="k")
        self.s3.delete_object(Bucket=bucket, Key="k", VersionId=put["VersionId"])
        got = RECEIVER.wait(bucket, 3, server=self.server)
        versions = sorted((r["eventName"], r["s3"]["object"]["versionId"]) for r, _ in got)
        self.assertEqual(versions, sorted([
            ("ObjectCreated:Put", put["VersionId"]),
            ("ObjectRemoved:DeleteMarkerCreated", marker["VersionId"]),
            ("ObjectRemoved:Delete", put["VersionId"])]))

    def test_receiver_down_then_up_is_retried(self):
        bucket = self.make_bucket()
        self.configure(bucket, ("c", ["s3:ObjectCreated:*"], "", ""))
        RECEIVER.stop()
        try:
            started = time.monotonic()
            self.s3.put_object(Bucket=bucket, Key="while-down", Body=b"x")
            # a dead destination does not slow the request
            self.assertLess(time.monotonic() - started, 1.5)
            time.sleep(1.5)  # the first attempts fail (connection refused)
        finally:
            RECEIVER.start()
        got = RECEIVER.wait(bucket, 1, timeout=15, server=self.server)
        self.assertEqual(got[0][0]["s3"]["object"]["key"], "while-down")
        self.assertIn("delivery to hooks failed", self.server.log_tail(400))


    def test_backlog_survives_a_crash(self):
        bucket = self.make_bucket()
        self.configure(bucket, ("c", ["s3:ObjectCreated:*"], "", ""))
        RECEIVER.stop()
        try:
            keys = [f"k{i:02d}" for i in range(20)]
            for key in keys:
                self.s3.put_object(Bucket=bucket, Key=key, Body=b"x")
            self.server.kill9()
        finally:
            RECEIVER.start()
        self.server.start()
        RECEIVER.wait(bucket, len(keys), timeout=30, server=self.server)
        # at-least-once: every key, perhaps some twice
        self.assertEqual({r["s3"]["object"]["key"] for r, _ in RECEIVER.of(bucket)},
                         set(keys))


class SplitFrontTests(unittest.SynchronousTestCase):
    """A ``--mode s3`` front: the event goes with the write over :9990 and
    the dmd, which owns the metadata, delivers it (both read the same
    bucketNotificationDestinations)."""

    def test_front_write_delivered_by_the_dmd(self):
        if RECEIVER.httpd is None:
            RECEIVER.start()
        dmd = ServerProcess(mode="dmd", extra_config=destinations(RECEIVER.port))
        self.addCleanup(dmd.destroy)
        dmd.start()
        # the front validates configurations against the same destinations
        front = ServerProcess(mode="s3", dmd=dmd, extra_config=destinations(RECEIVER.port))
        self.addCleanup(front.destroy)
        front.start()
        s3 = boto3_client(front, front.workdir)
        bucket = unique_bucket("notif-split")
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_notification_configuration(
            Bucket=bucket, NotificationConfiguration=queue_config(
                ("c", ["s3:ObjectCreated:*"], "", "")))
        s3.put_object(Bucket=bucket, Key="through-the-front", Body=b"x")
        got = RECEIVER.wait(bucket, 1, server=dmd)
        self.assertEqual(got[0][0]["s3"]["object"]["key"], "through-the-front")
        self.assertTrue(got[0][1])
