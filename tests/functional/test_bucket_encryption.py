# -*- test-case-name: tests.functional.test_bucket_encryption -*-
"""Bucket default encryption end to end with boto3: Put/Get/Delete
BucketEncryption and their refusals, and CloudServer's bucket-level
encryption made by ``bin/create_encrypted_bucket`` (the server's KMS knows
conf/config.json's testkey-1 and testkey-2)."""

from __future__ import annotations

import json
import sys

from tests.functional.clients import (
    ACCESS_KEY_2, SECRET_KEY_2, client_environment, run_command, unique_bucket)
from tests.functional.s3case import S3TestCase
from tests.functional.server import CHECKOUT

NOT_FOUND = "ServerSideEncryptionConfigurationNotFoundError"


def rules(algorithm: str, key_id: str | None = None, bucket_key: bool | None = None) -> dict:
    default = {"SSEAlgorithm": algorithm}
    if key_id is not None:
        default["KMSMasterKeyID"] = key_id
    rule: dict = {"ApplyServerSideEncryptionByDefault": default}
    if bucket_key is not None:
        rule["BucketKeyEnabled"] = bucket_key
    return {"Rules": [rule]}


class BucketEncryptionTests(S3TestCase):
    def default(self, bucket: str) -> dict:
        got = self.s3.get_bucket_encryption(Bucket=bucket)
        return got["ServerSideEncryptionConfiguration"]["Rules"][0]

    def test_put_get_delete(self):
        bucket = self.make_bucket("enc-crud")
        self.assertS3Error(NOT_FOUND, 404, self.s3.get_bucket_encryption, Bucket=bucket)
        self.s3.put_bucket_encryption(Bucket=bucket,
                                      ServerSideEncryptionConfiguration=rules("AES256"))
        self.assertEqual(self.default(bucket),
                         {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                          "BucketKeyEnabled": False})
        self.s3.put_bucket_encryption(
            Bucket=bucket, ServerSideEncryptionConfiguration=rules("aws:kms", "testkey-1", True))
        self.assertEqual(self.default(bucket),
                         {"ApplyServerSideEncryptionByDefault": {
                             "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "testkey-1"},
                          "BucketKeyEnabled": True})
        deleted = self.s3.delete_bucket_encryption(Bucket=bucket)
        self.assertEqual(deleted["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertS3Error(NOT_FOUND, 404, self.s3.get_bucket_encryption, Bucket=bucket)

    def test_refusals_change_nothing(self):
        bucket = self.make_bucket("enc-bad")
        self.s3.put_bucket_encryption(Bucket=bucket,
                                      ServerSideEncryptionConfiguration=rules("AES256"))
        self.assertS3Error("InvalidArgument", 400, self.s3.put_bucket_encryption,
                           Bucket=bucket,
                           ServerSideEncryptionConfiguration=rules("AES256", "testkey-1"))
        self.assertS3Error("KMS.NotFoundException", 400, self.s3.put_bucket_encryption,
                           Bucket=bucket,
                           ServerSideEncryptionConfiguration=rules("aws:kms", "no-such-key"))
        self.assertS3Error("MalformedXML", 400, self.s3.put_bucket_encryption, Bucket=bucket,
                           ServerSideEncryptionConfiguration={"Rules": [
                               rules("AES256")["Rules"][0], rules("aws:kms")["Rules"][0]]})
        self.assertEqual(self.default(bucket)["ApplyServerSideEncryptionByDefault"],
                         {"SSEAlgorithm": "AES256"})

    def test_other_account_refused(self):
        bucket = self.make_bucket("enc-owner")
        lisa = self.client(access_key=ACCESS_KEY_2, secret_key=SECRET_KEY_2)
        self.assertS3Error("AccessDenied", 403, lisa.put_bucket_encryption, Bucket=bucket,
                           ServerSideEncryptionConfiguration=rules("AES256"))
        self.assertS3Error("AccessDenied", 403, lisa.get_bucket_encryption, Bucket=bucket)


class CreateEncryptedBucketTests(S3TestCase):
    def run_tool(self, *args: str, check: bool = True):
        argv = [sys.executable, str(CHECKOUT / "bin" / "create_encrypted_bucket"),
                "-a", "accessKey1", "-k", "verySecretKey1", "-h", "127.0.0.1",
                "-p", str(self.server.port), *self.tls_args(), *args]
        return run_command(argv, client_environment(self.workdir), self.server, check=check)

    def test_tool_creates_an_encrypted_bucket(self):
        bucket = unique_bucket("enc-tool")
        result = self.run_tool("-b", bucket, "-v")
        self.addCleanup(self.s3.delete_bucket, Bucket=bucket)
        self.assertIn("x-amz-scal-server-side-encryption: AES256", result.stderr)
        self.assertNotIn("verySecretKey1", result.stdout + result.stderr)
        rule = self.s3.get_bucket_encryption(Bucket=bucket)[
            "ServerSideEncryptionConfiguration"]["Rules"][0]
        self.assertEqual(rule["ApplyServerSideEncryptionByDefault"], {"SSEAlgorithm": "AES256"})
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"secret")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["Body"].read(), b"secret")
        self.s3.delete_object(Bucket=bucket, Key="k")

    def tls_args(self) -> list[str]:
        return ["-s", "--ca-bundle", str(self.server.ca_file)] if self.server.tls else []

    def test_tool_reports_the_error(self):
        bucket = self.make_bucket("enc-taken")
        failed = self.run_tool("-b", bucket, "-a", "accessKey2", "-k", "verySecretKey2",
                               check=False)
        self.assertEqual(failed.returncode, 1)
        self.assertIn("BucketAlreadyExists", failed.stderr)

    def test_unknown_algorithm_refused(self):
        bucket = unique_bucket("enc-raw")
        response = self.signed_request("PUT", f"/{bucket}", headers={
            "x-amz-scal-server-side-encryption": "AES128"})
        self.assertEqual(response.status, 400)
        self.assertIn(b"<Code>InvalidArgument</Code>", response.read())
        self.assertS3Error("404", 404, self.s3.head_bucket, Bucket=bucket)


class CreateEncryptedBucketHTTPSTests(CreateEncryptedBucketTests):
    """The tool with -s against the server's HTTPS."""

    serverTLS = True


def deny_put(bucket: str, *conditions: dict) -> str:
    """A policy denying s3:PutObject on the bucket's objects under each
    condition (one statement each), as s3-tests' bucket_policy_put_obj_* do."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{bucket}/*", "Condition": condition}
        for condition in conditions]})


NO_SSE = {"Null": {"s3:x-amz-server-side-encryption": "true"}}


def not_algorithm(value: str) -> dict:
    return {"StringNotEquals": {"s3:x-amz-server-side-encryption": value}}


class SsePolicyConditionTests(S3TestCase):
    """The condition key s3:x-amz-server-side-encryption (s3-tests
    test_bucket_policy_put_obj_s3_noenc, _s3_incorrect_algo_sse_s3,
    _kms_noenc): the policy is decided before the SSE headers are
    validated, so a denied unknown algorithm is 403, not 400."""

    def with_policy(self, *conditions: dict) -> str:
        bucket = self.make_bucket("enc-policy")
        self.s3.put_bucket_policy(Bucket=bucket, Policy=deny_put(bucket, *conditions))
        self.addCleanup(self.s3.delete_bucket_policy, Bucket=bucket)
        return bucket

    def test_unencrypted_put_denied(self):
        bucket = self.with_policy(NO_SSE)
        self.assertS3Error("AccessDenied", 403, self.s3.put_object, Bucket=bucket, Key="k",
                           Body=b"k")
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"k", ServerSideEncryption="AES256")

    def test_other_algorithm_denied_before_validation(self):
        bucket = self.with_policy(not_algorithm("AES256"))
        self.assertS3Error("AccessDenied", 403, self.s3.put_object, Bucket=bucket, Key="k",
                           Body=b"k", ServerSideEncryption="AES192")
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"k", ServerSideEncryption="AES256")

    def test_kms_required(self):
        bucket = self.with_policy(not_algorithm("aws:kms"), NO_SSE)
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"k", ServerSideEncryption="aws:kms",
                           SSEKMSKeyId="testkey-1")
        self.assertS3Error("AccessDenied", 403, self.s3.put_object, Bucket=bucket, Key="u",
                           Body=b"u")
        self.assertS3Error("AccessDenied", 403, self.s3.put_object, Bucket=bucket, Key="u",
                           Body=b"u", ServerSideEncryption="AES256")
