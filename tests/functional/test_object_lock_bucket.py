# -*- test-case-name: tests.functional.test_object_lock_bucket -*-
"""Object lock on buckets against the real server, with boto3 and aws-cli
s3api: CreateBucket with lock, Put/GetObjectLockConfiguration and AWS's
errors, versioning that cannot be suspended, and deletes refused while a
version is locked (under retention or legal hold)."""
from __future__ import annotations

import datetime
import json


from tests.functional.clients import AwsCli, empty_and_delete_bucket, unique_bucket
from tests.functional.s3case import S3TestCase

GOVERNANCE_DAY = {"ObjectLockEnabled": "Enabled",
                  "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}}


class ObjectLockBucketTests(S3TestCase):
    def locked_bucket(self) -> str:
        name = unique_bucket(self._testMethodName.removeprefix("test_"))
        self.s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
        self.addCleanup(empty_and_delete_bucket, self.s3, name)
        return name

    def test_create_get_put_configuration(self) -> None:
        bucket = self.locked_bucket()
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=bucket)["Status"], "Enabled")
        got = self.s3.get_object_lock_configuration(Bucket=bucket)
        self.assertEqual(got["ObjectLockConfiguration"], {"ObjectLockEnabled": "Enabled"})
        self.s3.put_object_lock_configuration(Bucket=bucket,
                                              ObjectLockConfiguration=GOVERNANCE_DAY)
        got = self.s3.get_object_lock_configuration(Bucket=bucket)
        self.assertEqual(got["ObjectLockConfiguration"], GOVERNANCE_DAY)
        compliance = {"ObjectLockEnabled": "Enabled",
                      "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Years": 1}}}
        self.s3.put_object_lock_configuration(Bucket=bucket,
                                              ObjectLockConfiguration=compliance)
        got = self.s3.get_object_lock_configuration(Bucket=bucket)
        self.assertEqual(got["ObjectLockConfiguration"], compliance)

    def test_configuration_errors(self) -> None:
        bucket = self.locked_bucket()
        for rule, code in (({"Mode": "GOVERNANCE", "Days": 1, "Years": 1}, "MalformedXML"),
                           ({"Mode": "governance", "Days": 1}, "MalformedXML"),
                           ({"Mode": "GOVERNANCE", "Days": 0}, "InvalidRetentionPeriod"),
                           ({"Mode": "GOVERNANCE", "Years": -1}, "InvalidRetentionPeriod")):
            self.assertS3Error(code, 400, self.s3.put_object_lock_configuration,
                               Bucket=bucket, ObjectLockConfiguration={
                                   "ObjectLockEnabled": "Enabled",
                                   "Rule": {"DefaultRetention": rule}})
        self.assertS3Error("MalformedXML", 400, self.s3.put_object_lock_configuration,
                           Bucket=bucket, ObjectLockConfiguration={
                               "ObjectLockEnabled": "Disabled"})
        got = self.s3.get_object_lock_configuration(Bucket=bucket)
        self.assertNotIn("Rule", got["ObjectLockConfiguration"])

    def test_plain_bucket(self) -> None:
        """No configuration (404); PUT needs versioning Enabled (409), then
        turns lock on, and versioning can no longer be suspended."""
        bucket = self.make_bucket()
        self.assertS3Error("ObjectLockConfigurationNotFoundError", 404,
                           self.s3.get_object_lock_configuration, Bucket=bucket)
        self.assertS3Error("InvalidBucketState", 409, self.s3.put_object_lock_configuration,
                           Bucket=bucket, ObjectLockConfiguration=GOVERNANCE_DAY)
        self.s3.put_bucket_versioning(Bucket=bucket,
                                      VersioningConfiguration={"Status": "Enabled"})
        self.s3.put_object_lock_configuration(Bucket=bucket,
                                              ObjectLockConfiguration=GOVERNANCE_DAY)
        self.assertS3Error("InvalidBucketState", 409, self.s3.put_bucket_versioning,
                           Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})

    def test_suspend_versioning(self) -> None:
        bucket = self.locked_bucket()
        self.assertS3Error("InvalidBucketState", 409, self.s3.put_bucket_versioning,
                           Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=bucket)["Status"], "Enabled")

    def test_bad_header_value_creates_nothing(self) -> None:
        name = unique_bucket("badlock")
        response = self.signed_request("PUT", f"/{name}", headers={
            "x-amz-bucket-object-lock-enabled": "maybe"})
        body = response.read()
        self.assertEqual(response.status, 400, body)
        self.assertIn(b"<Code>InvalidArgument</Code>", body)
        self.assertS3Error("404", 404, self.s3.head_bucket, Bucket=name)

    def retained(self, bucket: str, key: str, mode: str, seconds: float) -> str:
        """A version of ``key`` retained ``seconds`` in ``mode`` (PutObjectRetention)."""
        version = self.s3.put_object(Bucket=bucket, Key=key, Body=b"x")["VersionId"]
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(
            seconds=seconds)
        self.s3.put_object_retention(Bucket=bucket, Key=key, VersionId=version,
                                     Retention={"Mode": mode, "RetainUntilDate": until})
        return version

    def test_delete_refused_while_retained(self) -> None:
        bucket = self.locked_bucket()
        governed = self.retained(bucket, "g", "GOVERNANCE", 3600)
        complied = self.retained(bucket, "c", "COMPLIANCE", 3)
        for key, version in (("g", governed), ("c", complied)):
            self.assertS3Error("AccessDenied", 403, self.s3.delete_object,
                               Bucket=bucket, Key=key, VersionId=version)
        # Without a version id: a delete marker, the version stays.
        marker = self.s3.delete_object(Bucket=bucket, Key="c")
        self.assertTrue(marker["DeleteMarker"])
        self.s3.head_object(Bucket=bucket, Key="c", VersionId=complied)
        out = self.s3.delete_objects(Bucket=bucket, Delete={"Objects": [
            {"Key": "g", "VersionId": governed}, {"Key": "c", "VersionId": complied}]})
        self.assertEqual(sorted(e["Code"] for e in out["Errors"]), ["AccessDenied"] * 2)
        self.assertS3Error("BucketNotEmpty", 409, self.s3.delete_bucket, Bucket=bucket)
        out = self.s3.delete_objects(Bucket=bucket, BypassGovernanceRetention=True, Delete={
            "Objects": [{"Key": "g", "VersionId": governed},
                        {"Key": "c", "VersionId": complied}], "Quiet": True})
        self.assertEqual([(e["Key"], e["Code"]) for e in out["Errors"]],
                         [("c", "AccessDenied")])
        self.assertS3Error("404", 404, self.s3.head_object, Bucket=bucket, Key="g",
                           VersionId=governed)
        # The COMPLIANCE version (3 s) is waited out by the clean-up helper.

    def test_legal_hold_blocks_bypass(self) -> None:
        bucket = self.locked_bucket()
        version = self.s3.put_object(Bucket=bucket, Key="h", Body=b"x")["VersionId"]
        self.s3.put_object_legal_hold(Bucket=bucket, Key="h", VersionId=version,
                                      LegalHold={"Status": "ON"})
        self.assertS3Error("AccessDenied", 403, self.s3.delete_object, Bucket=bucket,
                           Key="h", VersionId=version, BypassGovernanceRetention=True)
        # The clean-up helper turns the hold OFF before deleting.


class ObjectLockAwsCliTests(S3TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.aws = AwsCli(self.server, self.workdir / "home")

    def test_s3api_object_lock_configuration(self) -> None:
        bucket = unique_bucket("clilock")
        self.aws("s3api", "create-bucket", "--bucket", bucket,
                 "--object-lock-enabled-for-bucket")
        self.addCleanup(empty_and_delete_bucket, self.s3, bucket)
        self.aws("s3api", "put-object-lock-configuration", "--bucket", bucket,
                 "--object-lock-configuration", json.dumps(GOVERNANCE_DAY))
        got = json.loads(self.aws("s3api", "get-object-lock-configuration",
                                  "--bucket", bucket).stdout)
        self.assertEqual(got["ObjectLockConfiguration"], GOVERNANCE_DAY)
        failed = self.aws("s3api", "put-bucket-versioning", "--bucket", bucket,
                          "--versioning-configuration", "Status=Suspended", check=False)
        self.assertNotEqual(failed.returncode, 0)
        self.assertIn("InvalidBucketState", failed.stderr)
        bad = {"ObjectLockEnabled": "Enabled",
               "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 0}}}
        failed = self.aws("s3api", "put-object-lock-configuration", "--bucket", bucket,
                          "--object-lock-configuration", json.dumps(bad), check=False)
        self.assertIn("InvalidRetentionPeriod", failed.stderr)
