# -*- test-case-name: tests.functional.test_lifecycle_config -*-
"""Lifecycle configuration end to end: boto3's Put/Get/DeleteBucketLifecycle-
Configuration and the legacy Put/GetBucketLifecycle, AWS's refusals, the
x-amz-expiration header on object responses; request payment, logging and
accelerate configuration; s3cmd's expire / getlifecycle / dellifecycle /
payer and aws-cli's s3api lifecycle commands."""

from __future__ import annotations

import datetime
import email.utils
import json
import re

from tests.functional.clients import (
    ACCESS_KEY_2, SECRET_KEY_2, AwsCli, S3cmd, unique_bucket)
from tests.functional.s3case import S3TestCase

EXPIRY = re.compile(r'^expiry-date="([^"]+)", rule-id="([^"]+)"$')


def days_rule(rule_id: str, days: int, prefix: str = "", **extra) -> dict:
    return {"ID": rule_id, "Filter": {"Prefix": prefix}, "Status": "Enabled",
            "Expiration": {"Days": days}, **extra}


class LifecycleConfigurationTests(S3TestCase):
    def put(self, bucket: str, *rules: dict, **kw):
        return self.s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": list(rules)}, **kw)

    def test_put_get_delete(self):
        bucket = self.make_bucket("lc-crud")
        self.assertS3Error("NoSuchLifecycleConfiguration", 404,
                           self.s3.get_bucket_lifecycle_configuration, Bucket=bucket)
        rules = [
            days_rule("logs", 30, "logs/"),
            {"ID": "tagged", "Status": "Disabled", "Expiration": {"Days": 7},
             "Filter": {"And": {"Prefix": "tmp/", "Tags": [{"Key": "a", "Value": "1"}],
                                "ObjectSizeGreaterThan": 10}}},
            {"ID": "versions", "Filter": {}, "Status": "Enabled",
             "NoncurrentVersionExpiration": {"NoncurrentDays": 2,
                                             "NewerNoncurrentVersions": 3},
             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
            {"ID": "cold", "Filter": {"Prefix": "archive/"}, "Status": "Enabled",
             "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"},
                             {"Days": 90, "StorageClass": "GLACIER"}]},
            {"ID": "date", "Filter": {"Prefix": "d/"}, "Status": "Enabled",
             "Expiration": {"Date": datetime.datetime(2030, 1, 1,
                                                      tzinfo=datetime.timezone.utc)}},
        ]
        self.assertEqual(self.put(bucket, *rules)["ResponseMetadata"]["HTTPStatusCode"], 200)
        got = self.s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        self.assertEqual(got[:4], rules[:4])
        self.assertEqual(got[4]["Expiration"]["Date"], rules[4]["Expiration"]["Date"])
        deleted = self.s3.delete_bucket_lifecycle(Bucket=bucket)
        self.assertEqual(deleted["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertS3Error("NoSuchLifecycleConfiguration", 404,
                           self.s3.get_bucket_lifecycle_configuration, Bucket=bucket)

    def test_legacy_prefix_rules(self):
        """The v1 API (top-level Prefix, as s3cmd and s3-tests send it) round-trips
        in its own shape through both APIs."""
        bucket = self.make_bucket("lc-v1")
        rules = [{"ID": "old", "Prefix": "old/", "Status": "Enabled",
                  "Expiration": {"Days": 31}}]
        self.s3.put_bucket_lifecycle(Bucket=bucket, LifecycleConfiguration={"Rules": rules})
        self.assertEqual(self.s3.get_bucket_lifecycle(Bucket=bucket)["Rules"], rules)
        self.assertEqual(
            self.s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"], rules)
        self.put(bucket, {"Prefix": "p/", "Status": "Enabled", "Expiration": {"Days": 1}})
        [got] = self.s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        self.assertTrue(got["ID"])  # AWS names a rule put without an ID

    def test_refusals_change_nothing(self):
        bucket = self.make_bucket("lc-bad")
        self.put(bucket, days_rule("keep", 5))
        for code, rules in [
                ("InvalidArgument", [days_rule("a" * 256, 1)]),
                ("InvalidArgument", [days_rule("x", 1, "a"), days_rule("x", 2, "b")]),
                ("InvalidArgument", [days_rule("zero", 0)]),
                ("MalformedXML", [{**days_rule("s", 1), "Status": "enabled"}]),
                ("MalformedXML", [{"ID": "both", "Prefix": "a", "Filter": {"Prefix": "b"},
                                   "Status": "Enabled", "Expiration": {"Days": 1}}]),
                ("InvalidArgument", [{"ID": "noon", "Filter": {}, "Status": "Enabled",
                                      "Expiration": {"Date": datetime.datetime(
                                          2030, 1, 1, 12, tzinfo=datetime.timezone.utc)}}]),
                ("InvalidArgument", [{"ID": "newer", "Filter": {}, "Status": "Enabled",
                                      "NoncurrentVersionExpiration": {
                                          "NoncurrentDays": 1,
                                          "NewerNoncurrentVersions": 101}}]),
                ("InvalidRequest", [{"ID": "none", "Filter": {}, "Status": "Enabled"}]),
                ("MalformedXML", [{"ID": "sc", "Filter": {}, "Status": "Enabled",
                                   "Transitions": [{"Days": 1,
                                                    "StorageClass": "REDUCED_REDUNDANCY"}]}])]:
            with self.subTest(code=code, rules=rules):
                self.assertS3Error(code, 400, self.put, bucket, *rules)
        got = self.s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        self.assertEqual([r["ID"] for r in got], ["keep"])

    def test_content_md5_required(self):
        bucket = self.make_bucket("lc-md5")
        body = (b'<LifecycleConfiguration><Rule><ID>r</ID><Filter/><Status>Enabled</Status>'
                b'<Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>')
        resp = self.signed_request("PUT", f"/{bucket}?lifecycle", body)
        self.assertEqual(resp.status, 400)
        self.assertIn(b"Missing required header for this request: Content-MD5", resp.read())
        self.assertS3Error("NoSuchLifecycleConfiguration", 404,
                           self.s3.get_bucket_lifecycle_configuration, Bucket=bucket)

    def test_only_the_owner(self):
        bucket = self.make_bucket("lc-owner")
        other = self.client(access_key=ACCESS_KEY_2, secret_key=SECRET_KEY_2)
        self.assertS3Error("AccessDenied", 403, other.put_bucket_lifecycle_configuration,
                           Bucket=bucket,
                           LifecycleConfiguration={"Rules": [days_rule("r", 1)]})

    def assertExpiry(self, headers: dict, rule_id: str, after: datetime.datetime):
        match = EXPIRY.match(headers.get("x-amz-expiration", ""))
        self.assertIsNotNone(match, headers)
        when = email.utils.parsedate_to_datetime(match.group(1))
        self.assertEqual(match.group(2), rule_id)
        self.assertEqual((when.hour, when.minute, when.second), (0, 0, 0))
        self.assertEqual((when - after).days, 1)

    def test_expiration_header(self):
        """On PUT, GET, HEAD, Copy and CompleteMultipartUpload of objects a rule
        selects (by prefix and tags), and on none other."""
        bucket = self.make_bucket("lc-header")
        self.put(bucket, days_rule("by-prefix", 1, "exp/"),
                 {"ID": "by-tag", "Filter": {"Tag": {"Key": "t", "Value": "1"}},
                  "Status": "Enabled", "Expiration": {"Days": 1}})
        start = datetime.datetime.now(datetime.timezone.utc)

        def hdrs(resp):
            return resp["ResponseMetadata"]["HTTPHeaders"]
        self.assertExpiry(hdrs(self.s3.put_object(Bucket=bucket, Key="exp/a", Body=b"x")),
                          "by-prefix", start)
        self.assertExpiry(hdrs(self.s3.head_object(Bucket=bucket, Key="exp/a")),
                          "by-prefix", start)
        self.assertExpiry(hdrs(self.s3.get_object(Bucket=bucket, Key="exp/a")),
                          "by-prefix", start)
        copied = self.s3.copy_object(Bucket=bucket, Key="exp/b",
                                     CopySource={"Bucket": bucket, "Key": "exp/a"})
        self.assertExpiry(hdrs(copied), "by-prefix", start)
        upload = self.s3.create_multipart_upload(Bucket=bucket, Key="exp/mpu")
        part = self.s3.upload_part(Bucket=bucket, Key="exp/mpu", PartNumber=1,
                                   UploadId=upload["UploadId"], Body=b"p")
        done = self.s3.complete_multipart_upload(
            Bucket=bucket, Key="exp/mpu", UploadId=upload["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        self.assertExpiry(hdrs(done), "by-prefix", start)
        plain = self.s3.put_object(Bucket=bucket, Key="other", Body=b"x")
        self.assertNotIn("x-amz-expiration", hdrs(plain))
        self.s3.put_object_tagging(Bucket=bucket, Key="other",
                                   Tagging={"TagSet": [{"Key": "t", "Value": "1"}]})
        self.assertExpiry(hdrs(self.s3.head_object(Bucket=bucket, Key="other")),
                          "by-tag", start)
        self.s3.delete_bucket_lifecycle(Bucket=bucket)
        self.assertNotIn("x-amz-expiration",
                         hdrs(self.s3.head_object(Bucket=bucket, Key="exp/a")))


class BucketSettingsTests(S3TestCase):
    def test_request_payment(self):
        bucket = self.make_bucket("payer")
        self.assertEqual(self.s3.get_bucket_request_payment(Bucket=bucket)["Payer"],
                         "BucketOwner")
        self.s3.put_bucket_request_payment(
            Bucket=bucket, RequestPaymentConfiguration={"Payer": "Requester"})
        self.assertEqual(self.s3.get_bucket_request_payment(Bucket=bucket)["Payer"],
                         "Requester")
        # x-amz-request-payer is accepted.
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x", RequestPayer="requester")
        got = self.s3.get_object(Bucket=bucket, Key="k", RequestPayer="requester")
        self.assertEqual(got["Body"].read(), b"x")
        self.assertS3Error("MalformedXML", 400, self.s3.put_bucket_request_payment,
                           Bucket=bucket, RequestPaymentConfiguration={"Payer": "Nobody"})
        self.assertEqual(self.s3.get_bucket_request_payment(Bucket=bucket)["Payer"],
                         "Requester")

    def test_requester_must_acknowledge(self):
        """AWS: on a Requester Pays bucket, others must send x-amz-request-payer."""
        bucket = self.make_bucket("payer-ack")
        self.s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
        other = self.client(access_key=ACCESS_KEY_2, secret_key=SECRET_KEY_2)
        other.list_objects_v2(Bucket=bucket)
        self.s3.put_bucket_request_payment(
            Bucket=bucket, RequestPaymentConfiguration={"Payer": "Requester"})
        self.assertS3Error("AccessDenied", 403, other.list_objects_v2, Bucket=bucket)
        other.list_objects_v2(Bucket=bucket, RequestPayer="requester")
        self.s3.list_objects_v2(Bucket=bucket)

    def test_logging(self):
        bucket = self.make_bucket("logged")
        target = self.make_bucket("logs")
        self.assertNotIn("LoggingEnabled", self.s3.get_bucket_logging(Bucket=bucket))
        status = {"LoggingEnabled": {"TargetBucket": target, "TargetPrefix": "access/",
                                     "TargetGrants": [{"Grantee": {
                                         "Type": "Group", "URI":
                                         "http://acs.amazonaws.com/groups/global/AllUsers"},
                                         "Permission": "READ"}]}}
        self.s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus=status)
        got = self.s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"]
        self.assertEqual(got, status["LoggingEnabled"])
        self.assertS3Error("InvalidTargetBucketForLogging", 400, self.s3.put_bucket_logging,
                           Bucket=bucket, BucketLoggingStatus={"LoggingEnabled": {
                               "TargetBucket": unique_bucket("nosuch"),
                               "TargetPrefix": "x/"}})
        other = self.client(access_key=ACCESS_KEY_2, secret_key=SECRET_KEY_2)
        foreign = self.make_bucket("foreign", client=other)
        self.assertS3Error("InvalidTargetBucketForLogging", 400, self.s3.put_bucket_logging,
                           Bucket=bucket, BucketLoggingStatus={"LoggingEnabled": {
                               "TargetBucket": foreign, "TargetPrefix": "x/"}})
        self.assertEqual(self.s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"],
                         status["LoggingEnabled"])
        self.s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={})
        self.assertNotIn("LoggingEnabled", self.s3.get_bucket_logging(Bucket=bucket))

    def test_accelerate(self):
        bucket = self.make_bucket("accel")
        got = self.s3.get_bucket_accelerate_configuration(Bucket=bucket)
        self.assertNotIn("Status", got)
        self.assertS3Error("NotImplemented", 501, self.s3.put_bucket_accelerate_configuration,
                           Bucket=bucket, AccelerateConfiguration={"Status": "Enabled"})


class S3cmdLifecycleTests(S3TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.s3cmd = S3cmd(self.server, self.workdir / "home", signature_v2=False)

    def test_expire_getlifecycle_dellifecycle(self):
        bucket = self.make_bucket("s3cmd-lc")
        self.s3cmd("expire", f"s3://{bucket}", "--expiry-days=30", "--expiry-prefix=logs/")
        [rule] = self.s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        self.assertEqual((rule["Filter"], rule["Expiration"]),
                         ({"Prefix": "logs/"}, {"Days": 30}))
        policy = self.s3cmd("getlifecycle", f"s3://{bucket}").stdout
        self.assertIn("<Days>30</Days>", policy)
        self.assertIn("logs/", self.s3cmd("info", f"s3://{bucket}").stdout)
        self.s3cmd("expire", f"s3://{bucket}", "--expiry-date=2030-01-01T00:00:00.000Z")
        [rule] = self.s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        self.assertEqual(rule["Expiration"]["Date"].year, 2030)
        self.s3cmd("dellifecycle", f"s3://{bucket}")
        self.assertS3Error("NoSuchLifecycleConfiguration", 404,
                           self.s3.get_bucket_lifecycle_configuration, Bucket=bucket)

    def test_payer(self):
        bucket = self.make_bucket("s3cmd-payer")
        self.s3cmd("payer", "--requester-pays", f"s3://{bucket}")
        self.assertEqual(self.s3.get_bucket_request_payment(Bucket=bucket)["Payer"],
                         "Requester")
        self.assertRegex(self.s3cmd("info", f"s3://{bucket}").stdout, r"Payer:\s+Requester")
        source = self.write_file("p.bin", 100)
        self.s3cmd("put", "--requester-pays", source, f"s3://{bucket}/p.bin")
        self.s3cmd("payer", f"s3://{bucket}")
        self.assertEqual(self.s3.get_bucket_request_payment(Bucket=bucket)["Payer"],
                         "BucketOwner")


class AwsCliLifecycleTests(S3TestCase):
    def test_s3api_lifecycle(self):
        aws = AwsCli(self.server, self.workdir / "home")
        bucket = self.make_bucket("cli-lc")
        config = {"Rules": [{"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled",
                             "Expiration": {"Days": 3},
                             "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]}
        aws("s3api", "put-bucket-lifecycle-configuration", "--bucket", bucket,
            "--lifecycle-configuration", json.dumps(config))
        got = json.loads(aws("s3api", "get-bucket-lifecycle-configuration", "--bucket",
                             bucket).stdout)
        self.assertEqual(got["Rules"], config["Rules"])
        aws("s3api", "delete-bucket-lifecycle", "--bucket", bucket)
        missing = aws("s3api", "get-bucket-lifecycle-configuration", "--bucket", bucket,
                      check=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("NoSuchLifecycleConfiguration", missing.stderr)
