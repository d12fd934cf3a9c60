# -*- test-case-name: tests.functional.test_config -*-
"""
Servers started with Zenko CloudServer's environment variables:
S3BACKEND=mem, SCALITY_ACCESS_KEY_ID / SCALITY_SECRET_ACCESS_KEY, ENDPOINT.
"""

from __future__ import annotations

from tests.functional.s3case import S3TestCase


class MemoryBackendTests(S3TestCase):
    serverEnv = {"S3BACKEND": "mem"}

    def test_objects_in_memory(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="m", Body=b"in memory")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="m")["Body"].read(),
                         b"in memory")
        self.assertEqual([o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket)["Contents"]],
                         ["m"])
        # Nothing of it reaches the data and metadata directories' files.
        data_files = [p for p in self.server.data_dir.rglob("*") if p.is_file()]
        self.assertEqual(data_files, [])

    def test_nothing_survives_restart(self) -> None:
        bucket = self.make_bucket()
        self.server.restart()
        self.s3 = self.client()
        self.assertNotIn(bucket, [b["Name"] for b in self.s3.list_buckets()["Buckets"]])


class EnvironmentCredentialTests(S3TestCase):
    serverEnv = {"SCALITY_ACCESS_KEY_ID": "newAccessKey",
                 "SCALITY_SECRET_ACCESS_KEY": "newSecretKey"}

    def test_environment_account_replaces_authdata(self) -> None:
        custom = self.client(access_key="newAccessKey", secret_key="newSecretKey")
        bucket = self.make_bucket(client=custom)
        custom.put_object(Bucket=bucket, Key="k", Body=b"custom account")
        self.assertEqual(custom.get_object(Bucket=bucket, Key="k")["Body"].read(),
                         b"custom account")
        # authdata.json is ignored: the default key is unknown now.
        self.assertS3Error("InvalidAccessKeyId", 403, self.s3.list_buckets)


class EndpointTests(S3TestCase):
    serverEnv = {"ENDPOINT": "s3.example.test"}

    def test_extra_endpoint_path_and_virtual_host(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="e", Body=b"endpoint")
        path_style = self.signed_request("GET", f"/{bucket}/e", host="s3.example.test")
        self.assertEqual((path_style.status, path_style.read()), (200, b"endpoint"))
        hosted = self.signed_request("GET", "/e", host=f"{bucket}.s3.example.test")
        self.assertEqual((hosted.status, hosted.read()), (200, b"endpoint"))
