# -*- test-case-name: tests.functional.test_policy_keys -*-
"""Bucket policies end to end, the parts that need the stored object or
the bucket's listing right: object-tag condition keys, wildcard bucket
resources, and what a missing key answers to who may or may not list."""

from __future__ import annotations


import botocore
import botocore.exceptions

from tests.functional.clients import ACCESS_KEY_2, SECRET_KEY_2
from tests.functional.s3case import S3TestCase
from tests.functional.test_policy import LISA_ACCOUNT, policy

LISA = {"AWS": f"arn:aws:iam::{LISA_ACCOUNT}:root"}
PUBLIC_TAG = {"StringEquals": {"s3:ExistingObjectTag/security": "public"}}


class ObjectTagConditionTests(S3TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.lisa = self.client(access_key=ACCESS_KEY_2, secret_key=SECRET_KEY_2)

    def tagged_bucket(self, action: str, condition: dict) -> str:
        bucket = self.make_bucket()
        for key, tags in (("public", [("security", "public"), ("foo", "bar")]),
                          ("private", [("security", "private")]),
                          ("other", [("security1", "public")])):
            self.s3.put_object(Bucket=bucket, Key=key, Body=b"x")
            self.s3.put_object_tagging(Bucket=bucket, Key=key, Tagging={
                "TagSet": [{"Key": k, "Value": v} for k, v in tags]})
        self.s3.put_bucket_policy(Bucket=bucket, Policy=policy(bucket, {
            "Effect": "Allow", "Principal": LISA, "Action": action,
            "Resource": f"arn:aws:s3:::{bucket}/*", "Condition": condition}))
        return bucket

    def test_existing_tag_get_object(self):
        bucket = self.tagged_bucket("s3:GetObject", PUBLIC_TAG)
        self.assertEqual(self.lisa.get_object(Bucket=bucket, Key="public")["Body"].read(), b"x")
        for key in ("private", "other"):
            self.assertS3Error("AccessDenied", 403, self.lisa.get_object, Bucket=bucket, Key=key)

    def test_existing_tag_object_acl(self):
        bucket = self.tagged_bucket("s3:GetObjectAcl", PUBLIC_TAG)
        self.lisa.get_object_acl(Bucket=bucket, Key="public")
        self.assertS3Error("AccessDenied", 403, self.lisa.get_object_acl, Bucket=bucket,
                           Key="private")

    def test_existing_tag_object_tagging(self):
        bucket = self.tagged_bucket(["s3:GetObjectTagging", "s3:PutObjectTagging"],
                                    PUBLIC_TAG)
        self.assertEqual(len(self.lisa.get_object_tagging(Bucket=bucket, Key="public")
                             ["TagSet"]), 2)
        self.assertS3Error("AccessDenied", 403, self.lisa.get_object, Bucket=bucket, Key="public")
        self.assertS3Error("AccessDenied", 403, self.lisa.get_object_tagging, Bucket=bucket,
                           Key="private")
        # the tags decided on are the stored ones: once changed, the next write is refused
        self.lisa.put_object_tagging(Bucket=bucket, Key="public", Tagging={
            "TagSet": [{"Key": "security", "Value": "private"}]})
        self.assertS3Error("AccessDenied", 403, self.lisa.put_object_tagging, Bucket=bucket,
                           Key="public", Tagging={"TagSet": [{"Key": "security",
                                                              "Value": "public"}]})
        # a missing key is not revealed to who may not list
        self.assertS3Error("AccessDenied", 403, self.lisa.get_object_tagging, Bucket=bucket,
                           Key="missing")

    def test_request_object_tag_on_put(self):
        bucket = self.make_bucket()
        self.s3.put_bucket_policy(Bucket=bucket, Policy=policy(bucket, {
            "Effect": "Allow", "Principal": LISA, "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
            "Condition": {"StringEquals": {"s3:RequestObjectTag/security": "public"}}}))
        self.assertS3Error("AccessDenied", 403, self.lisa.put_object, Bucket=bucket, Key="k",
                           Body=b"x")
        self.assertS3Error("AccessDenied", 403, self.lisa.put_object, Bucket=bucket, Key="k",
                           Body=b"x", Tagging="security=private")
        self.lisa.put_object(Bucket=bucket, Key="k", Body=b"x", Tagging="security=public")
        self.assertEqual(self.s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"],
                         [{"Key": "security", "Value": "public"}])

    def test_request_object_tag_on_put_object_tagging(self):
        bucket = self.tagged_bucket("s3:PutObjectTagging", {
            "ForAllValues:StringEquals": {"s3:RequestObjectTagKeys": ["security"]}})
        self.lisa.put_object_tagging(Bucket=bucket, Key="public", Tagging={
            "TagSet": [{"Key": "security", "Value": "x"}]})
        self.assertS3Error("AccessDenied", 403, self.lisa.put_object_tagging, Bucket=bucket,
                           Key="public", Tagging={"TagSet": [{"Key": "other", "Value": "x"}]})




class ResourceTests(S3TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.lisa = self.client(access_key=ACCESS_KEY_2, secret_key=SECRET_KEY_2)

    def test_wildcard_buckets_name_this_one(self):
        """arn:aws:s3:::* and arn:aws:s3:::*/* are valid in any bucket's policy
        (s3-tests test_bucket_policy_another_bucket): the same text on two."""
        text = policy("", {"Effect": "Allow", "Principal": {"AWS": "*"},
                           "Action": "s3:ListBucket",
                           "Resource": ["arn:aws:s3:::*", "arn:aws:s3:::*/*"]})
        for bucket in (self.make_bucket(), self.make_bucket()):
            self.s3.put_object(Bucket=bucket, Key="k", Body=b"x")
            self.s3.put_bucket_policy(Bucket=bucket, Policy=text)
            self.assertEqual(len(self.lisa.list_objects(Bucket=bucket)["Contents"]), 1)

    def test_resources_outside_the_bucket_and_mismatched_actions(self):
        bucket = self.make_bucket()
        for resource, action, message in (
                ("arn:aws:s3:::other*", "s3:GetObject", "Policy has invalid resource"),
                (f"arn:aws:s3:::{bucket}/*", "s3:ListBucket",
                 "Action does not apply to any resource(s) in statement"),
                (f"arn:aws:s3:::{bucket}", "s3:GetObject",
                 "Action does not apply to any resource(s) in statement")):
            error = self.assertS3Error("MalformedPolicy", 400, self.s3.put_bucket_policy,
                                       Bucket=bucket, Policy=policy(bucket, {
                                           "Effect": "Allow", "Principal": "*",
                                           "Action": action, "Resource": resource}))
            self.assertEqual(error.response["Error"]["Message"], message)
        self.assertS3Error("NoSuchBucketPolicy", 404, self.s3.get_bucket_policy, Bucket=bucket)


class MissingKeyTests(S3TestCase):
    """A missing key or version is 404 only to who may list the bucket
    (s3:ListBucket with s3:prefix the key), else 403."""

    def setUp(self) -> None:
        super().setUp()
        self.lisa = self.client(access_key=ACCESS_KEY_2, secret_key=SECRET_KEY_2)

    def status(self, f, **kwargs) -> int:
        try:
            f(**kwargs)
        except botocore.exceptions.ClientError as error:
            return error.response["ResponseMetadata"]["HTTPStatusCode"]
        self.fail("no error")

    def test_listing_a_prefix_reveals_absence_under_it(self):
        bucket = self.make_bucket()
        self.s3.put_bucket_policy(Bucket=bucket, Policy=policy(bucket, {
            "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{bucket}",
            "Condition": {"StringLike": {"s3:prefix": "public/*"}}}))
        for f in (self.lisa.head_object, self.lisa.get_object):
            self.assertEqual(self.status(f, Bucket=bucket, Key="public/object"), 404)
            self.assertEqual(self.status(f, Bucket=bucket, Key="private/object"), 403)

    def test_missing_version_hidden_from_who_may_not_list(self):
        bucket = self.make_bucket()
        self.s3.put_bucket_versioning(Bucket=bucket,
                                      VersioningConfiguration={"Status": "Enabled"})
        version = self.s3.put_object(Bucket=bucket, Key="k", Body=b"x")["VersionId"]
        self.s3.delete_object(Bucket=bucket, Key="k", VersionId=version)
        self.s3.put_bucket_policy(Bucket=bucket, Policy=policy(bucket, {
            "Effect": "Allow", "Principal": LISA, "Action": "s3:GetObjectVersion",
            "Resource": f"arn:aws:s3:::{bucket}/*"}))
        self.assertS3Error("AccessDenied", 403, self.lisa.get_object, Bucket=bucket, Key="k",
                           VersionId=version)
        self.assertS3Error("NoSuchVersion", 404, self.s3.get_object, Bucket=bucket, Key="k",
                           VersionId=version)
        self.s3.put_bucket_policy(Bucket=bucket, Policy=policy(bucket, {
            "Effect": "Allow", "Principal": LISA, "Action": "s3:ListBucket",
            "Resource": f"arn:aws:s3:::{bucket}"}))
        self.assertS3Error("NoSuchVersion", 404, self.lisa.get_object, Bucket=bucket, Key="k",
                           VersionId=version)


class AnonymousOwnerOperationTests(S3TestCase):
    def test_policy_grants_owner_operations_to_anonymous(self):
        anon = self.client(signature_version=botocore.UNSIGNED)
        bucket = self.make_bucket()
        self.s3.put_bucket_tagging(Bucket=bucket,
                                   Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        self.assertS3Error("AccessDenied", 403, anon.get_bucket_tagging, Bucket=bucket)
        self.s3.put_bucket_policy(Bucket=bucket, Policy=policy(bucket, {
            "Effect": "Allow", "Principal": "*",
            "Action": ["s3:GetBucketTagging", "s3:GetObjectTagging", "s3:GetBucketPolicy"],
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]}))
        self.assertEqual(anon.get_bucket_tagging(Bucket=bucket)["TagSet"],
                         [{"Key": "a", "Value": "b"}])
        self.assertEqual(anon.get_object_tagging(Bucket=bucket, Key="k")["TagSet"], [])
        self.assertS3Error("AccessDenied", 403, anon.get_bucket_versioning, Bucket=bucket)
        # the policy itself stays with the owner's account
        self.assertS3Error("AccessDenied", 403, anon.get_bucket_policy, Bucket=bucket)


class ConfirmRemoveSelfTests(S3TestCase):
    def test_confirm_header(self):
        bucket = self.make_bucket()
        text = policy(bucket, {"Effect": "Deny", "Principal": "*", "Action": "s3:*BucketPolicy",
                               "Resource": f"arn:aws:s3:::{bucket}"})
        self.s3.put_bucket_policy(Bucket=bucket, Policy=text, ConfirmRemoveSelfBucketAccess=True)
        # the owner's account keeps the policy's management anyway
        self.assertEqual(self.s3.get_bucket_policy(Bucket=bucket)["Policy"], text)
        self.s3.delete_bucket_policy(Bucket=bucket)
