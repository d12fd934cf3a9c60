"""
S3DATA=multiple against real emulators: moto_server as the aws_s3 endpoint,
Azurite as the azure endpoint, both started by the tests (emulators.py).

Each test checks the remote side directly: the object is in the remote
bucket or container under the name bucketMatch says, with its user
metadata; multipart uploads become one remote object; deletes remove it.
"""

from __future__ import annotations

import json
import os
import urllib.request
import uuid

from botocore.exceptions import ClientError

from tests.functional import emulators
from tests.functional.s3case import S3TestCase

AWS_MATCH_BUCKET = "remote-match"
AWS_MISMATCH_BUCKET = "remote-mismatch"
AZ_MATCH = "azmatch"
AZ_MISMATCH = "azmismatch"
MiB = 1024 * 1024


def location_config(moto_endpoint: str, azure_endpoint: str, dead_port: int) -> dict:
    def aws(bucket: str, match: bool, endpoint: str = moto_endpoint) -> dict:
        return {"type": "aws_s3", "legacyAwsBehavior": False, "details": {
            "awsEndpoint": endpoint, "bucketName": bucket, "bucketMatch": match,
            "https": False, "pathStyle": True,
            "credentials": {"accessKey": "testing", "secretKey": "testing"}}}

    def azure(container: str, match: bool) -> dict:
        return {"type": "azure", "legacyAwsBehavior": False, "details": {
            "azureStorageEndpoint": azure_endpoint, "azureContainerName": container,
            "azureStorageAccountName": emulators.AZURE_ACCOUNT,
            "azureStorageAccessKey": emulators.AZURE_KEY, "bucketMatch": match}}

    return {
        "us-east-1": {"type": "file", "legacyAwsBehavior": True, "details": {}},
        "memloc": {"type": "mem", "legacyAwsBehavior": False, "details": {}},
        "awsbackend": aws(AWS_MATCH_BUCKET, True),
        "awsbackendmismatch": aws(AWS_MISMATCH_BUCKET, False),
        "awsdown": aws(AWS_MATCH_BUCKET, True, f"127.0.0.1:{dead_port}"),
        "azurebackend": azure(AZ_MATCH, True),
        "azurebackendmismatch": azure(AZ_MISMATCH, False),
    }


class _RemoteCase(S3TestCase):
    """Starts the emulators and points a S3DATA=multiple server at them."""

    def setUp(self) -> None:
        cls = type(self)
        if not cls.serverEnv:
            try:
                moto = emulators.shared("moto")
                azurite = emulators.shared("azurite")
            except emulators.EmulatorUnavailable as error:
                raise self.skipTest(f"emulators unavailable: {error}") from None
            remote = moto.client()
            for bucket in (AWS_MATCH_BUCKET, AWS_MISMATCH_BUCKET):
                try:
                    remote.create_bucket(Bucket=bucket)
                except ClientError:
                    pass  # another class made it
                # As the CloudServer docs ask: versioned remote buckets.
                remote.put_bucket_versioning(
                    Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
            blobs = azurite.blobs()
            for container in (AZ_MATCH, AZ_MISMATCH):
                blobs.create_container(container)
            dead = emulators.free_port()
            path = os.path.join(emulators.tempfile.mkdtemp(prefix="cloudserver-loc-"),
                                "locationConfig.json")
            with open(path, "w") as f:
                json.dump(location_config(moto.endpoint, azurite.endpoint, dead), f)
            cls.serverEnv = {"S3DATA": "multiple", "S3_LOCATION_FILE": path}
        super().setUp()
        self.remote = emulators.shared("moto").client()
        self.blobs = emulators.shared("azurite").blobs()

    def make_bucket_at(self, location: str | None) -> str:
        name = f"b-{uuid.uuid4().hex[:12]}"
        if location is None:
            self.s3.create_bucket(Bucket=name)
        else:
            self.s3.create_bucket(Bucket=name, CreateBucketConfiguration={
                "LocationConstraint": location})
        self.addCleanup(self._empty_and_delete, name)
        return name

    def _empty_and_delete(self, name: str) -> None:
        try:
            for obj in self.s3.list_objects_v2(Bucket=name).get("Contents", []):
                self.s3.delete_object(Bucket=name, Key=obj["Key"])
            for up in self.s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
                self.s3.abort_multipart_upload(Bucket=name, Key=up["Key"],
                                               UploadId=up["UploadId"])
            self.s3.delete_bucket(Bucket=name)
        except ClientError:
            pass


class _LocationTests:
    """The same checks for an aws_s3 and an azure location pair."""

    match_location: str
    mismatch_location: str

    def remote_body(self, match: bool, name: str) -> bytes | None:
        raise NotImplementedError

    def remote_metadata(self, match: bool, name: str) -> dict[str, str]:
        raise NotImplementedError

    def test_put_get_bucket_match(self):
        bucket = self.make_bucket_at(self.match_location)
        key = f"dir/obj-{uuid.uuid4().hex[:6]}"
        body = os.urandom(300_000)
        self.s3.put_object(Bucket=bucket, Key=key, Body=body, Metadata={"colour": "blue"})
        self.assertEqual(self.remote_body(True, key), body)
        self.assertEqual(self.remote_metadata(True, key).get("colour"), "blue")
        got = self.s3.get_object(Bucket=bucket, Key=key)
        self.assertEqual(got["Body"].read(), body)
        self.assertEqual(got["Metadata"], {"colour": "blue"})
        ranged = self.s3.get_object(Bucket=bucket, Key=key, Range="bytes=1000-99999")
        self.assertEqual(ranged["Body"].read(), body[1000:100000])
        self.assertEqual(ranged["ContentRange"], f"bytes 1000-99999/{len(body)}")
        head = self.s3.head_object(Bucket=bucket, Key=key)
        self.assertEqual(head["ContentLength"], len(body))
        self.s3.delete_object(Bucket=bucket, Key=key)
        self.assertIsNone(self.remote_body(True, key))

    def test_encrypted_put_sends_only_ciphertext(self):
        """SSE: the remote gets ciphertext of the same length, without the
        plaintext's Content-MD5 (it would not match what is sent)."""
        import base64
        import hashlib
        bucket = self.make_bucket_at(self.match_location)
        key = f"enc-{uuid.uuid4().hex[:6]}"
        body = b"remote plaintext pattern " * 12_000
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        self.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentMD5=md5,
                           ServerSideEncryption="AES256")
        remote = self.remote_body(True, key)
        self.assertEqual(len(remote), len(body))
        self.assertNotIn(b"remote plaintext pattern", remote)
        got = self.s3.get_object(Bucket=bucket, Key=key, Range="bytes=17-100016")
        self.assertEqual(got["Body"].read(), body[17:100017])
        self.assertEqual(got["ServerSideEncryption"], "AES256")
        self.s3.copy_object(Bucket=bucket, Key=key + "-copy", ServerSideEncryption="aws:kms",
                            CopySource={"Bucket": bucket, "Key": key})
        self.assertNotIn(b"remote plaintext pattern", self.remote_body(True, key + "-copy"))
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key=key + "-copy")["Body"].read(),
                         body)

    def test_put_bucket_mismatch_prefixes_bucket(self):
        bucket = self.make_bucket_at(self.mismatch_location)
        key = f"obj-{uuid.uuid4().hex[:6]}"
        self.s3.put_object(Bucket=bucket, Key=key, Body=b"hello remote")
        self.assertEqual(self.remote_body(False, f"{bucket}/{key}"), b"hello remote")
        self.assertIsNone(self.remote_body(False, key))
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read(),
                         b"hello remote")
        self.s3.delete_object(Bucket=bucket, Key=key)
        self.assertIsNone(self.remote_body(False, f"{bucket}/{key}"))

    def test_header_routes_object(self):
        bucket = self.make_bucket_at(None)  # us-east-1: the local file store
        routed = f"routed-{uuid.uuid4().hex[:6]}"
        local = f"local-{uuid.uuid4().hex[:6]}"
        self.s3.put_object(Bucket=bucket, Key=routed, Body=b"to the cloud",
                           Metadata={"scal-location-constraint": self.match_location})
        self.s3.put_object(Bucket=bucket, Key=local, Body=b"stays here")
        self.assertEqual(self.remote_body(True, routed), b"to the cloud")
        self.assertIsNone(self.remote_body(True, local))
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key=routed)["Body"].read(),
                         b"to the cloud")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key=local)["Body"].read(),
                         b"stays here")

    def test_multipart_becomes_one_remote_object(self):
        bucket = self.make_bucket_at(self.mismatch_location)
        key = f"mpu-{uuid.uuid4().hex[:6]}"
        part1, part2 = os.urandom(5 * MiB), os.urandom(123_457)
        up = self.s3.create_multipart_upload(Bucket=bucket, Key=key,
                                              Metadata={"kind": "mpu"})
        uid = up["UploadId"]
        e1 = self.s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1,
                                 Body=part1)["ETag"]
        e2 = self.s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=2,
                                 Body=part2)["ETag"]
        parts = self.s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)["Parts"]
        self.assertEqual([p["PartNumber"] for p in parts], [1, 2])
        self.s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                       {"PartNumber": 2, "ETag": e2}]})
        whole = part1 + part2
        self.assertEqual(self.remote_body(False, f"{bucket}/{key}"), whole)
        self.assertEqual(self.remote_metadata(False, f"{bucket}/{key}").get("kind"), "mpu")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read(), whole)
        across = self.s3.get_object(Bucket=bucket, Key=key,
                                    Range=f"bytes={5 * MiB - 10}-{5 * MiB + 9}")
        self.assertEqual(across["Body"].read(), whole[5 * MiB - 10:5 * MiB + 10])
        part = self.s3.get_object(Bucket=bucket, Key=key, PartNumber=2)
        self.assertEqual(part["Body"].read(), part2)

    def test_encrypted_multipart_sends_only_ciphertext(self):
        """SSE multipart to a remote: each part goes up encrypted with its own
        key and IV, the remote assembles one blob, reads decrypt each part's
        stretch of it (ranges across parts, partNumber), delete removes it."""
        bucket = self.make_bucket_at(self.mismatch_location)
        key = f"encmpu-{uuid.uuid4().hex[:6]}"
        part1 = b"remote mpu plaintext " * (5 * MiB // 21 + 1)
        part2 = b"second part plaintext " * 5000
        uid = self.s3.create_multipart_upload(Bucket=bucket, Key=key,
                                               ServerSideEncryption="AES256")["UploadId"]
        etags = [self.s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=n,
                                     Body=body)["ETag"]
                 for n, body in ((1, part1), (2, part2))]
        done = self.s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=uid,
            MultipartUpload={"Parts": [{"PartNumber": n + 1, "ETag": e}
                                       for n, e in enumerate(etags)]})
        self.assertEqual(done["ServerSideEncryption"], "AES256")
        whole = part1 + part2
        remote = self.remote_body(False, f"{bucket}/{key}")
        self.assertEqual(len(remote), len(whole))
        self.assertNotIn(b"plaintext", remote)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read(), whole)
        edge = len(part1)
        across = self.s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={edge - 9}-{edge + 9}")
        self.assertEqual(across["Body"].read(), whole[edge - 9:edge + 10])
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key=key, PartNumber=2)["Body"].read(),
                         part2)
        self.s3.delete_object(Bucket=bucket, Key=key)
        self.assertIsNone(self.remote_body(False, f"{bucket}/{key}"))

    def test_multipart_abort_leaves_nothing(self):
        bucket = self.make_bucket_at(self.match_location)
        key = f"aborted-{uuid.uuid4().hex[:6]}"
        uid = self.s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        self.s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=b"x")
        self.s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=uid)
        self.assertIsNone(self.remote_body(True, key))
        self.assertEqual(self.s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []), [])

    def test_copy_within_location(self):
        bucket = self.make_bucket_at(self.match_location)
        src, dst = (f"{n}-{uuid.uuid4().hex[:6]}" for n in ("src", "dst"))
        self.s3.put_object(Bucket=bucket, Key=src, Body=b"copy me")
        self.s3.copy_object(Bucket=bucket, Key=dst, CopySource={"Bucket": bucket, "Key": src})
        self.assertEqual(self.remote_body(True, dst), b"copy me")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key=dst)["Body"].read(),
                         b"copy me")

    def test_overwrite_then_delete(self):
        bucket = self.make_bucket_at(self.match_location)
        key = f"over-{uuid.uuid4().hex[:6]}"
        self.s3.put_object(Bucket=bucket, Key=key, Body=b"first")
        self.s3.put_object(Bucket=bucket, Key=key, Body=b"second!")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read(),
                         b"second!")
        self.assertEqual(self.remote_body(True, key), b"second!")


class AwsLocationTests(_LocationTests, _RemoteCase):
    match_location = "awsbackend"
    mismatch_location = "awsbackendmismatch"

    def _bucket(self, match: bool) -> str:
        return AWS_MATCH_BUCKET if match else AWS_MISMATCH_BUCKET

    def remote_body(self, match: bool, name: str) -> bytes | None:
        try:
            return self.remote.get_object(Bucket=self._bucket(match), Key=name)["Body"].read()
        except ClientError as error:
            if error.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise

    def remote_metadata(self, match: bool, name: str) -> dict[str, str]:
        return self.remote.head_object(Bucket=self._bucket(match), Key=name)["Metadata"]

    def test_unknown_location_header(self):
        bucket = self.make_bucket_at(None)
        self.assertS3Error("InvalidArgument", 400, self.s3.put_object, Bucket=bucket,
                           Key="k", Body=b"x", Metadata={"scal-location-constraint": "nope"})

    def test_unknown_bucket_location(self):
        self.assertS3Error("InvalidLocationConstraint", 400, self.s3.create_bucket,
                           Bucket=f"b-{uuid.uuid4().hex[:12]}",
                           CreateBucketConfiguration={"LocationConstraint": "nope"})

    def test_remote_down_is_503_and_leaves_no_metadata(self):
        bucket = self.make_bucket_at("awsdown")
        self.assertS3Error("ServiceUnavailable", 503, self.s3.put_object, Bucket=bucket,
                           Key="k", Body=b"lost")
        self.assertS3Error("404", 404, self.s3.head_object, Bucket=bucket, Key="k")
        with open(self.server.log_path, errors="replace") as log:
            self.assertIn("location awsdown", log.read())

    def test_server_side_encryption_and_tags_travel(self):
        bucket = self.make_bucket_at(self.match_location)
        key = f"tagged-{uuid.uuid4().hex[:6]}"
        self.s3.put_object(Bucket=bucket, Key=key, Body=b"t", Tagging="team=storage")
        tags = self.remote.get_object_tagging(Bucket=AWS_MATCH_BUCKET, Key=key)["TagSet"]
        self.assertEqual(tags, [{"Key": "team", "Value": "storage"}])

    def test_healthcheck(self):
        base = self.server.endpoint
        with urllib.request.urlopen(base + "/_/healthcheck") as r:
            self.assertEqual(r.status, 200)
        try:
            urllib.request.urlopen(base + "/_/healthcheck/deep")
            self.fail("a dead location must make the deep check fail")
        except urllib.error.HTTPError as error:
            self.assertEqual(error.code, 503)
            results = json.loads(error.read())
        self.assertEqual(results["awsbackend"]["code"], 200)
        self.assertEqual(results["azurebackend"]["code"], 200)
        self.assertEqual(results["us-east-1"]["code"], 200)
        self.assertEqual(results["awsdown"]["code"], 503)


class AzureLocationTests(_LocationTests, _RemoteCase):
    match_location = "azurebackend"
    mismatch_location = "azurebackendmismatch"

    def _container(self, match: bool) -> str:
        return AZ_MATCH if match else AZ_MISMATCH

    def remote_body(self, match: bool, name: str) -> bytes | None:
        status, _, body = self.blobs.get(self._container(match), name)
        if status == 404:
            return None
        self.assertEqual(status, 200, body)
        return body

    def remote_metadata(self, match: bool, name: str) -> dict[str, str]:
        status, headers, _ = self.blobs.get(self._container(match), name)
        self.assertEqual(status, 200)
        return {k[len("x-ms-meta-"):]: v for k, v in headers.items()
                if k.lower().startswith("x-ms-meta-")}
