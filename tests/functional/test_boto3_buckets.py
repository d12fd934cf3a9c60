# -*- test-case-name: tests.functional.test_boto3_buckets -*-
"""Bucket operations through boto3 with default settings, path-style."""

from __future__ import annotations

from tests.functional.clients import ACCESS_KEY_2, SECRET_KEY_2, unique_bucket
from tests.functional.s3case import S3TestCase


class BucketTests(S3TestCase):

    def test_create_list_head_delete(self) -> None:
        """A created bucket is listed and HEADable; once deleted it is neither."""
        name = unique_bucket("life")
        created = self.s3.create_bucket(Bucket=name)
        self.assertEqual(created["ResponseMetadata"]["HTTPStatusCode"], 200)

        listing = self.s3.list_buckets()
        self.assertIn(name, [b["Name"] for b in listing["Buckets"]])
        self.assertIn("ID", listing["Owner"])
        entry = next(b for b in listing["Buckets"] if b["Name"] == name)
        self.assertIsNotNone(entry["CreationDate"])

        head = self.s3.head_bucket(Bucket=name)
        self.assertEqual(head["ResponseMetadata"]["HTTPStatusCode"], 200)

        deleted = self.s3.delete_bucket(Bucket=name)
        self.assertEqual(deleted["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertNotIn(name, [b["Name"] for b in self.s3.list_buckets()["Buckets"]])
        # HEAD has no body: botocore reports the status as the code.
        self.assertS3Error("404", 404, self.s3.head_bucket, Bucket=name)

    def test_missing_bucket(self) -> None:
        """Operations on a bucket that does not exist answer NoSuchBucket."""
        name = unique_bucket("missing")
        self.assertS3Error("NoSuchBucket", 404, self.s3.delete_bucket, Bucket=name)
        self.assertS3Error("NoSuchBucket", 404, self.s3.list_objects, Bucket=name)
        self.assertS3Error("NoSuchBucket", 404, self.s3.list_objects_v2, Bucket=name)
        self.assertS3Error("NoSuchBucket", 404, self.s3.put_object,
                           Bucket=name, Key="k", Body=b"x")
        self.assertS3Error("NoSuchBucket", 404, self.s3.get_object, Bucket=name, Key="k")

    def test_bucket_not_empty(self) -> None:
        """A bucket holding an object cannot be deleted, and is left intact."""
        name = self.make_bucket()
        self.s3.put_object(Bucket=name, Key="keep", Body=b"data")
        self.assertS3Error("BucketNotEmpty", 409, self.s3.delete_bucket, Bucket=name)
        self.assertEqual(self.s3.get_object(Bucket=name, Key="keep")["Body"].read(), b"data")

    def test_already_owned_by_you(self) -> None:
        """
        Re-creating one's own bucket answers BucketAlreadyOwnedByYou, except
        where both locations have legacyAwsBehavior (us-east-1 by default):
        there CloudServer, like AWS us-east-1, answers 200.
        """
        legacy = self.make_bucket("legacy")
        again = self.s3.create_bucket(Bucket=legacy)
        self.assertEqual(again["ResponseMetadata"]["HTTPStatusCode"], 200)

        name = unique_bucket("owned")
        self.s3.create_bucket(Bucket=name, CreateBucketConfiguration={
            "LocationConstraint": "us-west-1"})
        self.addCleanup(self.s3.delete_bucket, Bucket=name)
        self.assertEqual(self.s3.get_bucket_location(Bucket=name)["LocationConstraint"],
                         "us-west-1")
        self.assertS3Error("BucketAlreadyOwnedByYou", 409, self.s3.create_bucket, Bucket=name,
                           CreateBucketConfiguration={"LocationConstraint": "us-west-1"})

    def test_already_exists_other_account(self) -> None:
        """Another account cannot take the name: BucketAlreadyExists."""
        name = self.make_bucket()
        other = self.client(access_key=ACCESS_KEY_2, secret_key=SECRET_KEY_2)
        self.assertS3Error("BucketAlreadyExists", 409, other.create_bucket, Bucket=name)

    def test_accounts_see_own_buckets(self) -> None:
        """ListBuckets shows only the caller's buckets."""
        mine = self.make_bucket()
        other = self.client(access_key=ACCESS_KEY_2, secret_key=SECRET_KEY_2)
        theirs = self.make_bucket(client=other)
        self.assertNotIn(theirs, [b["Name"] for b in self.s3.list_buckets()["Buckets"]])
        names = [b["Name"] for b in other.list_buckets()["Buckets"]]
        self.assertIn(theirs, names)
        self.assertNotIn(mine, names)

    def test_other_account_denied(self) -> None:
        """A private bucket's objects are not readable by another account."""
        name = self.make_bucket()
        self.s3.put_object(Bucket=name, Key="secret", Body=b"s")
        other = self.client(access_key=ACCESS_KEY_2, secret_key=SECRET_KEY_2)
        self.assertS3Error("AccessDenied", 403, other.get_object, Bucket=name, Key="secret")
        self.assertS3Error("AccessDenied", 403, other.list_objects_v2, Bucket=name)
        self.assertS3Error("AccessDenied", 403, other.delete_bucket, Bucket=name)

    def test_invalid_bucket_names(self) -> None:
        """Names breaking the DNS rules are refused with InvalidBucketName."""
        for name in ["ab", "a" * 64, "Upper-Case-" + unique_bucket(),
                     "under_score-" + unique_bucket(), "-dash-first", "dot..dot",
                     "192.168.5.4", "ends-with-dash-"]:
            self.assertS3Error("InvalidBucketName", 400, self.s3.create_bucket, Bucket=name)
        names = [b["Name"] for b in self.s3.list_buckets()["Buckets"]]
        self.assertNotIn("ab", names)

    def test_bucket_location(self) -> None:
        """GetBucketLocation of a default bucket is us-east-1 (null or empty)."""
        name = self.make_bucket()
        location = self.s3.get_bucket_location(Bucket=name).get("LocationConstraint")
        self.assertIn(location, (None, "", "us-east-1"))


class CorsValidationTests(S3TestCase):
    """PutBucketCors refuses what AWS refuses and keeps the stored rules."""

    RULE = {"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}

    def test_rule_count_and_expose_headers(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
            {**self.RULE, "ExposeHeaders": ["ETag", "x-amz-request-id"]}]})
        error = self.assertS3Error("InvalidRequest", 400, self.s3.put_bucket_cors,
                                   Bucket=bucket,
                                   CORSConfiguration={"CORSRules": [self.RULE] * 101})
        self.assertIn("should not exceed allowed limit of 100 rules",
                      error.response["Error"]["Message"])
        self.s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [self.RULE] * 100})
        for bad in ("x-amz-meta-*", "two words", "a,b"):
            self.assertS3Error("InvalidRequest", 400, self.s3.put_bucket_cors, Bucket=bucket,
                               CORSConfiguration={"CORSRules": [
                                   {**self.RULE, "ExposeHeaders": ["ETag", bad]}]})
        self.assertEqual(len(self.s3.get_bucket_cors(Bucket=bucket)["CORSRules"]), 100)
