# -*- test-case-name: tests.functional.test_policy -*-
"""Bucket policies end to end: boto3 as the owner (accessKey1), as a second
account (accessKey2) and anonymously, over HTTP and over HTTPS."""

from __future__ import annotations

import json

import botocore

from tests.functional.clients import ACCESS_KEY_2, SECRET_KEY_2
from tests.functional.s3case import S3TestCase

LISA_ACCOUNT = "123456789013"


def policy(bucket: str, *statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


class PolicyTests(S3TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.lisa = self.client(access_key=ACCESS_KEY_2, secret_key=SECRET_KEY_2)
        self.anon = self.client(signature_version=botocore.UNSIGNED)

    def test_put_get_delete_and_status(self):
        bucket = self.make_bucket()
        self.assertS3Error("NoSuchBucketPolicy", 404, self.s3.get_bucket_policy, Bucket=bucket)
        text = policy(bucket, {"Sid": "read", "Effect": "Allow", "Principal": "*",
                               "Action": "s3:GetObject",
                               "Resource": f"arn:aws:s3:::{bucket}/*"})
        self.s3.put_bucket_policy(Bucket=bucket, Policy=text)
        self.assertEqual(json.loads(self.s3.get_bucket_policy(Bucket=bucket)["Policy"]),
                         json.loads(text))
        self.assertTrue(self.s3.get_bucket_policy_status(Bucket=bucket)
                        ["PolicyStatus"]["IsPublic"])
        self.s3.delete_bucket_policy(Bucket=bucket)
        self.assertS3Error("NoSuchBucketPolicy", 404, self.s3.get_bucket_policy, Bucket=bucket)

    def test_malformed_policy(self):
        bucket = self.make_bucket()
        self.assertS3Error("MalformedPolicy", 400, self.s3.put_bucket_policy, Bucket=bucket,
                           Policy=policy(bucket, {"Effect": "Allow", "Principal": "*",
                                                  "Action": "s3:GetObject",
                                                  "Resource": "arn:aws:s3:::elsewhere/*"}))
        self.assertS3Error("NoSuchBucketPolicy", 404, self.s3.get_bucket_policy, Bucket=bucket)

    def test_public_read_prefix_for_anonymous(self):
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="public/a", Body=b"open")
        self.s3.put_object(Bucket=bucket, Key="private/b", Body=b"closed")
        self.s3.put_bucket_policy(Bucket=bucket, Policy=policy(bucket, {
            "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/public/*"}))
        self.assertEqual(self.anon.get_object(Bucket=bucket, Key="public/a")["Body"].read(),
                         b"open")
        self.assertS3Error("AccessDenied", 403, self.anon.get_object, Bucket=bucket,
                           Key="private/b")
        self.assertS3Error("AccessDenied", 403, self.anon.list_objects_v2, Bucket=bucket)

    def test_cross_account_read_write(self):
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"bart")
        self.assertS3Error("AccessDenied", 403, self.lisa.get_object, Bucket=bucket, Key="k")
        self.s3.put_bucket_policy(Bucket=bucket, Policy=policy(bucket, {
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{LISA_ACCOUNT}:root"},
            "Action": ["s3:GetObject", "s3:PutObject", "s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}))
        self.assertEqual(self.lisa.get_object(Bucket=bucket, Key="k")["Body"].read(), b"bart")
        self.lisa.put_object(Bucket=bucket, Key="from-lisa", Body=b"lisa")
        keys = [o["Key"] for o in self.lisa.list_objects_v2(Bucket=bucket)["Contents"]]
        self.assertEqual(keys, ["from-lisa", "k"])
        self.assertS3Error("AccessDenied", 403, self.lisa.delete_object, Bucket=bucket,
                           Key="k")
        self.assertS3Error("AccessDenied", 403, self.anon.get_object, Bucket=bucket, Key="k")

    def test_explicit_deny_over_the_owner(self):
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        self.s3.put_bucket_policy(Bucket=bucket, Policy=policy(bucket, {
            "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
            "Resource": f"arn:aws:s3:::{bucket}/*"}))
        self.assertS3Error("AccessDenied", 403, self.s3.delete_object, Bucket=bucket, Key="k")
        # the owner can always take its policy back
        self.s3.delete_bucket_policy(Bucket=bucket)
        self.s3.delete_object(Bucket=bucket, Key="k")


class SecureTransportTests(S3TestCase):
    """A policy that denies aws:SecureTransport false: refused over plain
    HTTP (this class), served over HTTPS (the subclass)."""

    expect_allowed = False

    def test_secure_transport_condition(self):
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        self.s3.put_bucket_policy(Bucket=bucket, Policy=policy(bucket, {
            "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}))
        if self.expect_allowed:
            self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["Body"].read(), b"x")
        else:
            self.assertS3Error("AccessDenied", 403, self.s3.get_object, Bucket=bucket, Key="k")
        self.s3.delete_bucket_policy(Bucket=bucket)


class SecureTransportHttpsTests(SecureTransportTests):
    serverTLS = True
    expect_allowed = True
