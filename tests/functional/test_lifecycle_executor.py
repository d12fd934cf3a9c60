"""
The lifecycle executor in a real server, with a debug day of 2 seconds.

Rules are put with PutBucketLifecycleConfiguration.  One test fills a
bucket with thousands of keys, noncurrent versions, delete markers and
incomplete uploads, restarts the server while the walk is in the middle
of it, and checks everything expired and its data was freed; another
moves an object to a moto_server-backed aws_s3 location and reads it back
through GET.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from botocore.exceptions import ClientError

from tests.functional import emulators
from tests.functional.s3case import S3TestCase

DAY = 2
CONFIG = {"lifecycle": {"interval": 1, "batchSize": 100, "rate": 400,
                        "debugDayLength": DAY},
          "inlineDataMaxSize": 0}


def set_rules(s3, bucket: str, rules: list[dict]) -> None:
    """PutBucketLifecycleConfiguration with boto3's shape of the rules."""
    s3.put_bucket_lifecycle_configuration(Bucket=bucket,
                                          LifecycleConfiguration={"Rules": rules})


def rule(rule_id: str, prefix: str = "", **actions) -> dict:
    return {"ID": rule_id, "Status": "Enabled", "Filter": {"Prefix": prefix}, **actions}


def data_files(server) -> int:
    return sum(len(files) for _, _, files in os.walk(server.data_dir))


def wait_for(what: str, check, timeout: float = 90.0, server=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n"
                         f"{server.describe(30) if server else ''}")


class ExpiryAcrossRestartTests(S3TestCase):
    serverConfig = CONFIG

    def count(self, bucket: str) -> int:
        n = 0
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            n += page.get("KeyCount", 0)
        return n

    def all_versions(self, bucket: str) -> list:
        out = []
        pages = self.s3.get_paginator("list_object_versions").paginate(Bucket=bucket)
        for page in pages:
            out += [("v", v["Key"], v["IsLatest"]) for v in page.get("Versions", [])]
            out += [("m", v["Key"], v["IsLatest"]) for v in page.get("DeleteMarkers", [])]
        return out

    def test_thousands_of_keys_versions_markers_uploads_across_a_restart(self):
        plain = self.make_bucket("plain")
        versioned = self.make_bucket("versioned")
        self.s3.put_bucket_versioning(Bucket=versioned,
                                      VersioningConfiguration={"Status": "Enabled"})
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: self.s3.put_object(Bucket=plain, Key=f"exp/{i:05d}",
                                                       Body=b"x"), range(3000)))
            for i in range(5):
                self.s3.put_object(Bucket=plain, Key=f"keep/{i}", Body=b"k")

            def versions(i):
                for n in range(2):
                    self.s3.put_object(Bucket=versioned, Key=f"v/{i:04d}", Body=b"%d" % n)
                if i % 2:  # a delete marker over the versions: all go
                    self.s3.delete_object(Bucket=versioned, Key=f"v/{i:04d}")
            list(pool.map(versions, range(200)))
        uploads = [self.s3.create_multipart_upload(Bucket=versioned, Key=f"mpu/{i}")["UploadId"]
                   for i in range(5)]
        for i, upload in enumerate(uploads):
            self.s3.upload_part(Bucket=versioned, Key=f"mpu/{i}", UploadId=upload,
                                PartNumber=1, Body=b"p" * 1000)
        files_before = data_files(self.server)
        set_rules(self.s3, plain, [rule("exp", "exp/", Expiration={"Days": 1})])
        set_rules(self.s3, versioned, [
            rule("nc", NoncurrentVersionExpiration={"NoncurrentDays": 1}),
            rule("dm", Expiration={"ExpiredObjectDeleteMarker": True}),
            rule("mpu", AbortIncompleteMultipartUpload={"DaysAfterInitiation": 1})])
        # the walk is under way: some expired, not all
        wait_for("the walk to be half-way", lambda: 0 < 3005 - self.count(plain) < 2500,
                 server=self.server)
        self.server.restart()
        wait_for("the walk to resume", lambda: "lifecycle: walk resumed" in
                 self.server.log_path.read_text(), server=self.server)
        wait_for("the plain bucket to expire", lambda: self.count(plain) == 5,
                 server=self.server)
        self.assertEqual(sorted(o["Key"] for o in self.s3.list_objects_v2(
            Bucket=plain)["Contents"]), [f"keep/{i}" for i in range(5)])

        def versioned_done():
            left = self.all_versions(versioned)
            ups = self.s3.list_multipart_uploads(Bucket=versioned).get("Uploads", [])
            return len(left) == 100 and not ups and all(v[0] == "v" and v[2] for v in left)
        wait_for("the versioned bucket to expire", versioned_done, server=self.server)
        # data freed: 3000 expired objects, 200 noncurrent versions, 100
        # versions under markers and 5 parts
        self.assertLessEqual(data_files(self.server), files_before - 3000 - 200 - 5)
        log = self.server.log_path.read_text()
        self.assertIn("lifecycle: abort", log)
        self.assertIn("lifecycle: delete-marker", log)


class TransitionToAwsLocationTests(S3TestCase):
    """A Transition whose StorageClass names an aws_s3 location (moto)."""

    def setUp(self) -> None:
        cls = type(self)
        if not cls.serverEnv:
            try:
                moto = emulators.shared("moto")
            except emulators.EmulatorUnavailable as error:
                raise self.skipTest(f"moto unavailable: {error}") from None
            remote = moto.client()
            try:
                remote.create_bucket(Bucket="cold-tier")
            except ClientError:
                pass
            locations = {
                "us-east-1": {"type": "file", "legacyAwsBehavior": True, "details": {}},
                "coldaws": {"type": "aws_s3", "legacyAwsBehavior": False, "details": {
                    "awsEndpoint": moto.endpoint, "bucketName": "cold-tier",
                    "bucketMatch": False, "https": False, "pathStyle": True,
                    "credentials": {"accessKey": "testing", "secretKey": "testing"}}}}
            path = os.path.join(tempfile.mkdtemp(prefix="cloudserver-loc-"),
                                "locationConfig.json")
            with open(path, "w") as f:
                json.dump(locations, f)
            cls.serverEnv = {"S3DATA": "multiple", "S3_LOCATION_FILE": path}
            cls.serverConfig = {**CONFIG, "restEndpoints": {"localhost": "us-east-1",
                                                           "127.0.0.1": "us-east-1"}}
        super().setUp()
        self.remote = emulators.shared("moto").client()

    def test_object_moves_and_stays_readable(self):
        bucket = self.make_bucket("transition")
        body = os.urandom(300_000)
        key = f"cold/{uuid.uuid4().hex[:8]}"
        self.s3.put_object(Bucket=bucket, Key=key, Body=body)
        self.s3.put_object(Bucket=bucket, Key="hot/stays", Body=b"hot")
        set_rules(self.s3, bucket, [rule(
            "tier", "cold/", Transitions=[{"Days": 1, "StorageClass": "coldaws"}])])

        def moved():
            return self.s3.head_object(Bucket=bucket, Key=key).get("StorageClass") == "coldaws"
        # readable throughout the move
        deadline = time.monotonic() + 60
        while not moved():
            self.assertEqual(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read(), body)
            if time.monotonic() > deadline:
                raise AssertionError(self.server.describe(30))
            time.sleep(0.2)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read(), body)
        remote = self.remote.list_objects_v2(Bucket="cold-tier").get("Contents", [])
        self.assertTrue(any(o["Size"] == len(body) for o in remote), remote)
        self.assertNotIn("StorageClass", self.s3.head_object(Bucket=bucket, Key="hot/stays"))
