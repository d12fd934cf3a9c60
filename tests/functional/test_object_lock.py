# -*- test-case-name: tests.functional.test_object_lock -*-
"""Object lock per version, end to end with boto3 and aws-cli s3api:
Put/GetObjectRetention, Put/GetObjectLegalHold, the lock headers of
PutObject, CopyObject and multipart uploads, GET/HEAD echoing them.

``lock_bucket`` creates a bucket with object lock; its clean-up lifts
legal holds, removes GOVERNANCE retentions with
x-amz-bypass-governance-retention, then deletes every version; the tests use GOVERNANCE (or
COMPLIANCE for a few seconds, waited out) so that it can.
"""
from __future__ import annotations

import datetime
import json
import time

from tests.functional.clients import AwsCli, unique_bucket
from tests.functional.s3case import S3TestCase

FUTURE = datetime.datetime(2140, 1, 1, tzinfo=datetime.timezone.utc)


class ObjectLockCase(S3TestCase):

    def lock_bucket(self, rule: dict | None = None) -> str:
        """A bucket created with object lock; ``rule``: its default
        retention, as BucketRecord keeps it ({mode, days | years})."""
        name = unique_bucket(self._testMethodName.removeprefix("test_"))
        self.s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
        self.addCleanup(self.clean_lock_bucket, name)
        if rule is not None:
            retention = {"Mode": rule["mode"]}
            retention.update({"Days": rule["days"]} if "days" in rule
                             else {"Years": rule["years"]})
            self.s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={
                "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": retention}})
        return name

    def clean_lock_bucket(self, name: str) -> None:
        listing = self.s3.list_object_versions(Bucket=name)
        for v in listing.get("Versions", []) + listing.get("DeleteMarkers", []):
            try:
                self.s3.put_object_legal_hold(Bucket=name, Key=v["Key"],
                                              VersionId=v["VersionId"],
                                              LegalHold={"Status": "OFF"})
                # GOVERNANCE yields to the bypass (a removal of the retention)
                self.s3.put_object_retention(Bucket=name, Key=v["Key"],
                                             VersionId=v["VersionId"], Retention={},
                                             BypassGovernanceRetention=True)
            except Exception:  # noqa: BLE001 - a delete marker has no lock
                pass
            self.s3.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"])
        self.s3.delete_bucket(Bucket=name)


class RetentionTests(ObjectLockCase):

    def test_put_get_retention_and_head(self) -> None:
        bucket = self.lock_bucket()
        vid = self.s3.put_object(Bucket=bucket, Key="k", Body=b"abc")["VersionId"]
        retention = {"Mode": "GOVERNANCE", "RetainUntilDate": FUTURE}
        self.s3.put_object_retention(Bucket=bucket, Key="k", Retention=retention)
        self.assertEqual(self.s3.get_object_retention(Bucket=bucket, Key="k")["Retention"],
                         retention)
        head = self.s3.head_object(Bucket=bucket, Key="k", VersionId=vid)
        self.assertEqual(head["ObjectLockMode"], "GOVERNANCE")
        self.assertEqual(head["ObjectLockRetainUntilDate"], FUTURE)
        self.assertS3Error("AccessDenied", 403, self.s3.delete_object, Bucket=bucket,
                           Key="k", VersionId=vid)

    def test_no_retention_is_404(self) -> None:
        bucket = self.lock_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"abc")
        self.assertS3Error("NoSuchObjectLockConfiguration", 404,
                           self.s3.get_object_retention, Bucket=bucket, Key="k")

    def test_bucket_without_lock(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"abc")
        for call, kwargs in ((self.s3.put_object_retention, {"Retention": {
                "Mode": "GOVERNANCE", "RetainUntilDate": FUTURE}}),
                (self.s3.get_object_retention, {}),
                (self.s3.put_object_legal_hold, {"LegalHold": {"Status": "ON"}}),
                (self.s3.get_object_legal_hold, {})):
            error = self.assertS3Error("InvalidRequest", 400, call, Bucket=bucket, Key="k",
                                       **kwargs)
            self.assertEqual(error.response["Error"]["Message"],
                             "Bucket is missing Object Lock Configuration")
        self.assertS3Error("InvalidRequest", 400, self.s3.put_object, Bucket=bucket,
                           Key="k2", Body=b"x", ObjectLockLegalHoldStatus="ON")

    def test_governance_shorten_needs_bypass(self) -> None:
        bucket = self.lock_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"abc")
        later = {"Mode": "GOVERNANCE", "RetainUntilDate": datetime.datetime(
            2130, 1, 3, tzinfo=datetime.timezone.utc)}
        sooner = {"Mode": "GOVERNANCE", "RetainUntilDate": datetime.datetime(
            2130, 1, 1, tzinfo=datetime.timezone.utc)}
        self.s3.put_object_retention(Bucket=bucket, Key="k", Retention=sooner)
        self.s3.put_object_retention(Bucket=bucket, Key="k", Retention=later)  # extend
        self.assertS3Error("AccessDenied", 403, self.s3.put_object_retention,
                           Bucket=bucket, Key="k", Retention=sooner)
        self.s3.put_object_retention(Bucket=bucket, Key="k", Retention=sooner,
                                     BypassGovernanceRetention=True)
        self.assertEqual(self.s3.get_object_retention(Bucket=bucket, Key="k")["Retention"],
                         sooner)

    def test_bad_mode_and_past_date(self) -> None:
        bucket = self.lock_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"abc")
        self.assertS3Error("MalformedXML", 400, self.s3.put_object_retention, Bucket=bucket,
                           Key="k", Retention={"Mode": "governance",
                                               "RetainUntilDate": FUTURE})
        past = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
        self.assertS3Error("InvalidArgument", 400, self.s3.put_object_retention,
                           Bucket=bucket, Key="k",
                           Retention={"Mode": "GOVERNANCE", "RetainUntilDate": past})

    def test_compliance_only_extends(self) -> None:
        bucket = self.lock_bucket()
        until = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=3)
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"abc", ObjectLockMode="COMPLIANCE",
                           ObjectLockRetainUntilDate=until)
        for retention in ({"Mode": "GOVERNANCE", "RetainUntilDate": until},
                          {"Mode": "COMPLIANCE",
                           "RetainUntilDate": until - datetime.timedelta(seconds=1)}):
            self.assertS3Error("AccessDenied", 403, self.s3.put_object_retention,
                               Bucket=bucket, Key="k", Retention=retention,
                               BypassGovernanceRetention=True)
        time.sleep(max(0.0, (until - datetime.datetime.now(datetime.timezone.utc))
                       .total_seconds()) + 0.2)


class LockHeadersTests(ObjectLockCase):

    def test_put_object_headers_echoed(self) -> None:
        bucket = self.lock_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"abc", ObjectLockMode="GOVERNANCE",
                           ObjectLockRetainUntilDate=FUTURE, ObjectLockLegalHoldStatus="ON")
        got = self.s3.get_object(Bucket=bucket, Key="k")
        self.assertEqual((got["ObjectLockMode"], got["ObjectLockRetainUntilDate"],
                          got["ObjectLockLegalHoldStatus"]), ("GOVERNANCE", FUTURE, "ON"))
        self.assertS3Error("AccessDenied", 403, self.s3.delete_object, Bucket=bucket,
                           Key="k", VersionId=got["VersionId"], BypassGovernanceRetention=True)

    def test_mode_without_date(self) -> None:
        bucket = self.lock_bucket()
        self.assertS3Error("InvalidArgument", 400, self.s3.put_object, Bucket=bucket,
                           Key="k", Body=b"abc", ObjectLockMode="GOVERNANCE")

    def test_lock_headers_need_an_integrity_header(self) -> None:
        bucket = self.lock_bucket()
        path = f"/{bucket}/k"
        response = self.signed_request("PUT", path, b"abc",
                                       {"x-amz-object-lock-legal-hold": "ON"})
        body = response.read()
        self.assertEqual(response.status, 400)
        self.assertIn(b"Content-MD5 OR x-amz-checksum- HTTP header is required", body)
        self.assertS3Error("NoSuchKey", 404, self.s3.get_object, Bucket=bucket, Key="k")

    def test_bucket_default_applies(self) -> None:
        bucket = self.lock_bucket({"mode": "GOVERNANCE", "days": 1})
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"abc")
        retention = self.s3.get_object_retention(Bucket=bucket, Key="k")["Retention"]
        self.assertEqual(retention["Mode"], "GOVERNANCE")
        left = retention["RetainUntilDate"] - datetime.datetime.now(datetime.timezone.utc)
        self.assertTrue(datetime.timedelta(hours=23) < left <= datetime.timedelta(days=1))

    def test_copy_gets_the_requests_lock_not_the_sources(self) -> None:
        bucket = self.lock_bucket()
        self.s3.put_object(Bucket=bucket, Key="src", Body=b"abc", ObjectLockLegalHoldStatus="ON")
        self.s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket,
                                                                  "Key": "src"},
                            ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=FUTURE)
        head = self.s3.head_object(Bucket=bucket, Key="dst")
        self.assertEqual(head["ObjectLockMode"], "GOVERNANCE")
        self.assertNotIn("ObjectLockLegalHoldStatus", head)

    def test_multipart_legal_hold(self) -> None:
        bucket = self.lock_bucket()
        uid = self.s3.create_multipart_upload(Bucket=bucket, Key="k",
                                              ObjectLockLegalHoldStatus="ON")["UploadId"]
        etag = self.s3.upload_part(Bucket=bucket, Key="k", UploadId=uid, PartNumber=1,
                                   Body=b"abc")["ETag"]
        done = self.s3.complete_multipart_upload(
            Bucket=bucket, Key="k", UploadId=uid,
            MultipartUpload={"Parts": [{"ETag": etag, "PartNumber": 1}]})
        self.assertEqual(self.s3.get_object_legal_hold(Bucket=bucket, Key="k")["LegalHold"],
                         {"Status": "ON"})
        self.assertS3Error("AccessDenied", 403, self.s3.delete_object, Bucket=bucket,
                           Key="k", VersionId=done["VersionId"])


class LegalHoldTests(ObjectLockCase):

    def test_on_off(self) -> None:
        bucket = self.lock_bucket()
        vid = self.s3.put_object(Bucket=bucket, Key="k", Body=b"abc")["VersionId"]
        self.s3.put_object_legal_hold(Bucket=bucket, Key="k", LegalHold={"Status": "ON"})
        self.assertEqual(self.s3.get_object_legal_hold(Bucket=bucket, Key="k")["LegalHold"],
                         {"Status": "ON"})
        self.assertS3Error("AccessDenied", 403, self.s3.delete_object, Bucket=bucket,
                           Key="k", VersionId=vid)
        self.s3.put_object_legal_hold(Bucket=bucket, Key="k", LegalHold={"Status": "OFF"})
        self.s3.delete_object(Bucket=bucket, Key="k", VersionId=vid)

    def test_bad_status(self) -> None:
        bucket = self.lock_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"abc")
        self.assertS3Error("MalformedXML", 400, self.s3.put_object_legal_hold, Bucket=bucket,
                           Key="k", LegalHold={"Status": "abc"})


class AwsCliLockTests(ObjectLockCase):

    def test_s3api_retention_and_legal_hold(self) -> None:
        aws = AwsCli(self.server, self.workdir / "home")
        bucket = self.lock_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"abc")
        aws("s3api", "put-object-retention", "--bucket", bucket, "--key", "k",
            "--retention", '{"Mode":"GOVERNANCE","RetainUntilDate":"2140-01-01T00:00:00Z"}')
        got = json.loads(aws("s3api", "get-object-retention", "--bucket", bucket,
                             "--key", "k").stdout)
        self.assertEqual(got["Retention"]["Mode"], "GOVERNANCE")
        self.assertTrue(got["Retention"]["RetainUntilDate"].startswith("2140-01-01T00:00:00"))
        aws("s3api", "put-object-legal-hold", "--bucket", bucket, "--key", "k",
            "--legal-hold", "Status=ON")
        got = json.loads(aws("s3api", "get-object-legal-hold", "--bucket", bucket,
                             "--key", "k").stdout)
        self.assertEqual(got["LegalHold"], {"Status": "ON"})
