"""
Bucket replication, executed in-process, against real emulators: a file
bucket replicated to a moto_server-backed aws_s3 location, to Azurite, and
to another bucket of the server; a 64 MiB multipart object, a delete
marker, a restart (kill -9) with a backlog, and a destination that is down
then comes up (FAILED, then retried to COMPLETED).

Each test checks the remote side directly, and the source version's
x-amz-replication-status (PENDING -> COMPLETED / FAILED, REPLICA on a
local replica).  Waits are bounded polls of the real server.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import uuid

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.functional import emulators
from tests.functional.s3case import S3TestCase
from tests.functional.server import ServerProcess

AWS_BUCKET = "repl-target"
LATE_BUCKET = "repl-late"
AZ_CONTAINER = "repltarget"
ROLE = "arn:aws:iam::123456789012:role/replication"
MiB = 1024 * 1024
WAIT = 60.0
SETTINGS = {"retryBackoff": 0.2, "failedRetryInterval": 0.5, "pollInterval": 0.1,
            "rate": 40}


def location_config(moto: str, azurite: str, late_port: int) -> dict:
    def aws(bucket: str, endpoint: str) -> dict:
        return {"type": "aws_s3", "legacyAwsBehavior": False, "details": {
            "awsEndpoint": endpoint, "bucketName": bucket, "bucketMatch": False,
            "https": False, "pathStyle": True,
            "credentials": {"accessKey": "testing", "secretKey": "testing"}}}

    return {
        "us-east-1": {"type": "file", "legacyAwsBehavior": True, "details": {}},
        "awsrepl": aws(AWS_BUCKET, moto),
        "awslate": aws(LATE_BUCKET, f"127.0.0.1:{late_port}"),
        "azrepl": {"type": "azure", "legacyAwsBehavior": False, "details": {
            "azureStorageEndpoint": azurite, "azureContainerName": AZ_CONTAINER,
            "azureStorageAccountName": emulators.AZURE_ACCOUNT,
            "azureStorageAccessKey": emulators.AZURE_KEY, "bucketMatch": False}},
    }


class _Replicated:
    """Rules and bounded waits on x-amz-replication-status (``self.s3``)."""

    @staticmethod
    def rule(storage_class: str | None, dest: str = "unused-dest", prefix: str = "",
             delete_markers: bool = False) -> dict:
        destination = {"Bucket": f"arn:aws:s3:::{dest}"}
        if storage_class:
            destination["StorageClass"] = storage_class
        return {"ID": f"r-{uuid.uuid4().hex[:6]}", "Priority": 1, "Status": "Enabled",
                "Filter": {"Prefix": prefix}, "Destination": destination,
                "DeleteMarkerReplication": {
                    "Status": "Enabled" if delete_markers else "Disabled"}}

    def status(self, bucket: str, key: str, vid: str) -> str | None:
        head = self.s3.head_object(Bucket=bucket, Key=key, VersionId=vid)
        return head.get("ReplicationStatus")

    def wait_status(self, bucket: str, key: str, vid: str, want: str) -> None:
        deadline = time.monotonic() + WAIT
        seen = None
        while time.monotonic() < deadline:
            seen = self.status(bucket, key, vid)
            if seen == want:
                return
            time.sleep(0.05)
        self.fail(f"{bucket}/{key} stayed {seen}, not {want}")

    def wait_until(self, check, what: str) -> None:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.05)
        self.fail(f"timed out waiting for {what}")


class ReplicationTests(_Replicated, S3TestCase):
    serverConfig = {"replication": SETTINGS}
    late_port: int

    def setUp(self) -> None:
        cls = type(self)
        if not cls.serverEnv:
            try:
                moto = emulators.shared("moto")
                azurite = emulators.shared("azurite")
            except emulators.EmulatorUnavailable as error:
                raise self.skipTest(f"emulators unavailable: {error}") from None
            remote = moto.client()
            try:
                remote.create_bucket(Bucket=AWS_BUCKET)
            except ClientError:
                pass
            remote.put_bucket_versioning(Bucket=AWS_BUCKET,
                                         VersioningConfiguration={"Status": "Enabled"})
            azurite.blobs().create_container(AZ_CONTAINER)
            cls.late_port = emulators.free_port()
            path = os.path.join(emulators.tempfile.mkdtemp(prefix="cloudserver-repl-"),
                                "locationConfig.json")
            with open(path, "w") as f:
                json.dump(location_config(moto.endpoint, azurite.endpoint, cls.late_port), f)
            cls.serverEnv = {"S3DATA": "multiple", "S3_LOCATION_FILE": path}
        super().setUp()
        self.remote = emulators.shared("moto").client()
        self.blobs = emulators.shared("azurite").blobs()

    # -- helpers -------------------------------------------------------------

    def source(self, *rules: dict) -> str:
        bucket = self.make_bucket()
        self.s3.put_bucket_versioning(Bucket=bucket,
                                      VersioningConfiguration={"Status": "Enabled"})
        if rules:
            self.s3.put_bucket_replication(Bucket=bucket, ReplicationConfiguration={
                "Role": ROLE, "Rules": list(rules)})
        return bucket

    def remote_get(self, bucket: str, key: str):
        try:
            return self.remote.get_object(Bucket=AWS_BUCKET, Key=f"{bucket}/{key}")
        except ClientError:
            return None

    # -- the configuration -----------------------------------------------------

    def test_configuration_operations(self):
        bucket = self.make_bucket()
        self.assertS3Error("ReplicationConfigurationNotFoundError", 404,
                           self.s3.get_bucket_replication, Bucket=bucket)
        config = {"Role": ROLE, "Rules": [self.rule("awsrepl")]}
        self.assertS3Error("InvalidRequest", 400, self.s3.put_bucket_replication,
                           Bucket=bucket, ReplicationConfiguration=config)
        self.s3.put_bucket_versioning(Bucket=bucket,
                                      VersioningConfiguration={"Status": "Enabled"})
        self.s3.put_bucket_replication(Bucket=bucket, ReplicationConfiguration=config)
        got = self.s3.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"]
        self.assertEqual(got["Rules"][0]["Destination"]["StorageClass"], "awsrepl")
        self.assertS3Error("InvalidBucketState", 409, self.s3.put_bucket_versioning,
                           Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
        bad = {"Role": ROLE, "Rules": [self.rule("nowhere")]}
        self.assertS3Error("MalformedXML", 400, self.s3.put_bucket_replication,
                           Bucket=bucket, ReplicationConfiguration=bad)
        other = self.client(access_key="accessKey2", secret_key="verySecretKey2")
        self.assertS3Error("AccessDenied", 403, other.get_bucket_replication, Bucket=bucket)
        self.s3.delete_bucket_replication(Bucket=bucket)
        self.assertS3Error("ReplicationConfigurationNotFoundError", 404,
                           self.s3.get_bucket_replication, Bucket=bucket)

    # -- remote locations --------------------------------------------------------

    def test_to_aws_s3(self):
        bucket = self.source(self.rule("awsrepl", prefix="docs/"))
        body = os.urandom(200_000)
        vid = self.s3.put_object(Bucket=bucket, Key="docs/a", Body=body,
                                 ContentType="text/plain", Tagging="team=blue",
                                 Metadata={"colour": "blue"})["VersionId"]
        other = self.s3.put_object(Bucket=bucket, Key="other", Body=b"x")["VersionId"]
        self.wait_status(bucket, "docs/a", vid, "COMPLETED")
        got = self.remote_get(bucket, "docs/a")
        self.assertEqual(got["Body"].read(), body)
        self.assertEqual(got["Metadata"].get("colour"), "blue")
        self.assertEqual(got["ContentType"], "text/plain")
        tags = self.remote.get_object_tagging(Bucket=AWS_BUCKET, Key=f"{bucket}/docs/a")
        self.assertEqual(tags["TagSet"], [{"Key": "team", "Value": "blue"}])
        self.assertIsNone(self.status(bucket, "other", other))
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="docs/a")["ReplicationStatus"],
                         "COMPLETED")

    def test_to_azure_with_blocks(self):
        bucket = self.source(self.rule("azrepl"))
        small, big = os.urandom(1000), os.urandom(20 * MiB)
        v1 = self.s3.put_object(Bucket=bucket, Key="small", Body=small)["VersionId"]
        v2 = self.s3.put_object(Bucket=bucket, Key="big", Body=big)["VersionId"]
        self.wait_status(bucket, "small", v1, "COMPLETED")
        self.wait_status(bucket, "big", v2, "COMPLETED")
        self.assertEqual(self.blobs.get(AZ_CONTAINER, f"{bucket}/small")[2], small)
        got = self.blobs.get(AZ_CONTAINER, f"{bucket}/big")[2]
        self.assertEqual(hashlib.md5(got).digest(), hashlib.md5(big).digest())

    def test_multipart_64_mib_to_aws_s3(self):
        bucket = self.source(self.rule("awsrepl"))
        body = os.urandom(64 * MiB)
        self.s3.upload_fileobj(io.BytesIO(body), bucket, "big", Config=TransferConfig(
            multipart_threshold=8 * MiB, multipart_chunksize=8 * MiB, max_concurrency=4))
        vid = self.s3.head_object(Bucket=bucket, Key="big")["VersionId"]
        self.wait_status(bucket, "big", vid, "COMPLETED")
        head = self.remote.head_object(Bucket=AWS_BUCKET, Key=f"{bucket}/big")
        self.assertEqual(head["ContentLength"], len(body))
        self.assertTrue(head["ETag"].strip('"').endswith("-8"), head["ETag"])
        got = self.remote_get(bucket, "big")["Body"].read()
        self.assertEqual(hashlib.md5(got).digest(), hashlib.md5(body).digest())

    def test_delete_marker(self):
        bucket = self.source(self.rule("awsrepl", delete_markers=True))
        vid = self.s3.put_object(Bucket=bucket, Key="k", Body=b"bytes")["VersionId"]
        self.wait_status(bucket, "k", vid, "COMPLETED")
        self.assertIsNotNone(self.remote_get(bucket, "k"))
        marker = self.s3.delete_object(Bucket=bucket, Key="k")
        self.assertTrue(marker["DeleteMarker"])
        self.wait_until(lambda: self.remote_get(bucket, "k") is None,
                        "the delete marker on the remote")
        versions = self.remote.list_object_versions(Bucket=AWS_BUCKET, Prefix=f"{bucket}/k")
        self.assertEqual(len(versions.get("DeleteMarkers", [])), 1)

    def test_destination_down_then_up(self):
        bucket = self.source(self.rule("awslate"))
        vid = self.s3.put_object(Bucket=bucket, Key="k", Body=b"late")["VersionId"]
        self.wait_status(bucket, "k", vid, "FAILED")
        late = emulators.MotoServer()
        self.addCleanup(late.stop)
        late.start(port=self.late_port)
        late.client().create_bucket(Bucket=LATE_BUCKET)
        self.wait_status(bucket, "k", vid, "COMPLETED")
        got = late.client().get_object(Bucket=LATE_BUCKET, Key=f"{bucket}/k")
        self.assertEqual(got["Body"].read(), b"late")

    def test_encrypted_object_not_sent_in_the_clear_over_http(self):
        bucket = self.source(self.rule("awsrepl"))
        vid = self.s3.put_object(Bucket=bucket, Key="secret", Body=b"s" * 100,
                                 ServerSideEncryption="AES256")["VersionId"]
        self.wait_status(bucket, "secret", vid, "FAILED")
        self.assertIsNone(self.remote_get(bucket, "secret"))
        self.s3.delete_object(Bucket=bucket, Key="secret", VersionId=vid)

    # -- a bucket of this server -------------------------------------------------

    def test_local_replica(self):
        dest = self.make_bucket("dest")
        self.s3.put_bucket_versioning(Bucket=dest,
                                      VersioningConfiguration={"Status": "Enabled"})
        bucket = self.source(self.rule(None, dest=dest, delete_markers=True))
        body = os.urandom(100_000)
        vid = self.s3.put_object(Bucket=bucket, Key="k", Body=body,
                                 ServerSideEncryption="AES256")["VersionId"]
        self.wait_status(bucket, "k", vid, "COMPLETED")
        got = self.s3.get_object(Bucket=dest, Key="k", VersionId=vid)
        self.assertEqual(got["Body"].read(), body)
        self.assertEqual(got["ReplicationStatus"], "REPLICA")
        self.assertEqual(got["ServerSideEncryption"], "AES256")
        # a later tag change of the source version follows
        self.s3.put_object_tagging(Bucket=bucket, Key="k", VersionId=vid, Tagging={
            "TagSet": [{"Key": "t", "Value": "2"}]})
        self.assertEqual(self.status(bucket, "k", vid), "PENDING")
        self.wait_status(bucket, "k", vid, "COMPLETED")
        self.assertEqual(self.s3.get_object_tagging(Bucket=dest, Key="k", VersionId=vid)[
            "TagSet"], [{"Key": "t", "Value": "2"}])
        self.s3.delete_object(Bucket=bucket, Key="k")
        self.wait_until(lambda: self._gone(dest, "k"), "the replica's delete marker")

    def _gone(self, bucket: str, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=bucket, Key=key)
        except ClientError:
            return True
        return False

    # -- crash with a backlog ------------------------------------------------------

    def test_restart_with_a_backlog(self):
        bucket = self.source(self.rule("awsrepl", prefix="backlog/"))
        versions = {}
        for i in range(40):
            key = f"backlog/{i:03d}"
            versions[key] = self.s3.put_object(Bucket=bucket, Key=key,
                                               Body=key.encode())["VersionId"]
        last = "backlog/039"
        self.assertEqual(self.status(bucket, last, versions[last]), "PENDING")
        self.server.kill9()
        self.server.start()
        for key, vid in versions.items():
            self.wait_status(bucket, key, vid, "COMPLETED")
        names = [o["Key"] for o in self.remote.list_objects_v2(
            Bucket=AWS_BUCKET, Prefix=f"{bucket}/backlog/").get("Contents", [])]
        self.assertEqual(len(names), 40)


class SplitModeTests(_Replicated, S3TestCase):
    """A dmd and a ``--mode s3`` front: the hook and the replicator run in the
    dmd, which owns the metadata; a write through the front is replicated."""

    sharedServer = False

    def setUp(self) -> None:  # no S3TestCase server: a dmd and its front
        self.dmd = ServerProcess(mode="dmd", extra_config={"replication": SETTINGS})
        self.addCleanup(self.dmd.destroy)
        self.dmd.start()
        self.server = ServerProcess(mode="s3", dmd=self.dmd)
        self.addCleanup(self.server.destroy)
        self.server.start()
        self.workdir = self.server.workdir
        self.s3 = self.client()

    def test_local_replica_through_a_front(self):
        dest = self.make_bucket("dest")
        bucket = self.make_bucket("src")
        for name in (bucket, dest):
            self.s3.put_bucket_versioning(Bucket=name,
                                          VersioningConfiguration={"Status": "Enabled"})
        self.s3.put_bucket_replication(Bucket=bucket, ReplicationConfiguration={
            "Role": ROLE, "Rules": [self.rule(None, dest=dest)]})
        bodies = {"small": b"inline" * 10, "big": os.urandom(300_000)}  # a data file on :9991
        versions = {k: self.s3.put_object(Bucket=bucket, Key=k, Body=v)["VersionId"]
                    for k, v in bodies.items()}
        for key, vid in versions.items():
            self.wait_status(bucket, key, vid, "COMPLETED")
            got = self.s3.get_object(Bucket=dest, Key=key, VersionId=vid)
            self.assertEqual(got["Body"].read(), bodies[key])
            self.assertEqual(got["ReplicationStatus"], "REPLICA")
