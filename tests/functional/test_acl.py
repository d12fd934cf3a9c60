# -*- test-case-name: tests.functional.test_acl -*-
"""ACLs and the public access block end to end: boto3 as two accounts
(Bart and Lisa of conf/authdata.json) and as an anonymous caller."""

from __future__ import annotations

import botocore

from tests.functional.clients import (
    ACCESS_KEY_2, SECRET_KEY_2, empty_and_delete_bucket, unique_bucket)
from tests.functional.s3case import S3TestCase

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
ANONYMOUS = "65a011a29cdf8ec533ec3d1ccaae921c"
BART = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
LISA = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2bf"


def grants(response) -> list[tuple[str, str]]:
    return [(g["Grantee"].get("ID") or g["Grantee"].get("URI"), g["Permission"])
            for g in response["Grants"]]


class AclTests(S3TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.lisa = self.client(access_key=ACCESS_KEY_2, secret_key=SECRET_KEY_2)
        self.anon = self.client(signature_version=botocore.UNSIGNED)

    def test_default_acls(self):
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        for response in (self.s3.get_bucket_acl(Bucket=bucket),
                         self.s3.get_object_acl(Bucket=bucket, Key="k")):
            self.assertEqual(response["Owner"], {"ID": BART, "DisplayName": "Bart"})
            self.assertEqual(grants(response), [(BART, "FULL_CONTROL")])
            self.assertEqual(response["Grants"][0]["Grantee"]["DisplayName"], "Bart")

    def test_canned_bucket_acl_at_creation(self):
        bucket = unique_bucket("acl-create")
        self.s3.create_bucket(Bucket=bucket, ACL="public-read")
        self.addCleanup(empty_and_delete_bucket, self.s3, bucket)
        self.assertEqual(grants(self.s3.get_bucket_acl(Bucket=bucket)),
                         [(ALL_USERS, "READ"), (BART, "FULL_CONTROL")])
        self.anon.list_objects(Bucket=bucket)
        # us-east-1 answers 200 to a re-creation, unless it asks for another ACL
        self.s3.create_bucket(Bucket=bucket, ACL="public-read")
        self.assertS3Error("BucketAlreadyExists", 409, self.s3.create_bucket, Bucket=bucket)
        self.s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
        self.assertEqual(grants(self.s3.get_bucket_acl(Bucket=bucket)),
                         [(ALL_USERS, "READ"), (ALL_USERS, "WRITE"), (BART, "FULL_CONTROL")])

    def test_anonymous_reads_public_object(self):
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="public", Body=b"hello", ACL="public-read")
        self.s3.put_object(Bucket=bucket, Key="private", Body=b"secret")
        body = self.anon.get_object(Bucket=bucket, Key="public")["Body"].read()
        self.assertEqual(body, b"hello")
        self.assertS3Error("AccessDenied", 403, self.anon.get_object, Bucket=bucket,
                           Key="private")
        self.assertS3Error("AccessDenied", 403, self.anon.list_objects_v2, Bucket=bucket)
        self.assertS3Error("AccessDenied", 403, self.anon.put_object, Bucket=bucket,
                           Key="new", Body=b"x")
        self.assertS3Error("AccessDenied", 403, self.anon.list_buckets)

    def test_anonymous_missing_bucket(self):
        self.assertS3Error("NoSuchBucket", 404, self.anon.get_object,
                           Bucket="no-such-bucket-for-acl", Key="k")

    def test_public_read_write_bucket_for_others(self):
        bucket = self.make_bucket()
        self.s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
        self.lisa.put_object(Bucket=bucket, Key="lisa", Body=b"l")
        listed = self.lisa.list_objects_v2(Bucket=bucket)["Contents"]
        self.assertEqual([o["Key"] for o in listed], ["lisa"])
        # Lisa owns her object: the bucket owner may not read it ...
        self.assertS3Error("AccessDenied", 403, self.s3.get_object, Bucket=bucket, Key="lisa")
        # ... until she grants it
        self.lisa.put_object_acl(Bucket=bucket, Key="lisa", ACL="bucket-owner-full-control")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="lisa")["Body"].read(), b"l")
        self.assertEqual(
            sorted(grants(self.lisa.get_object_acl(Bucket=bucket, Key="lisa"))),
            sorted([(LISA, "FULL_CONTROL"), (BART, "FULL_CONTROL")]))
        # configuration stays the owner's
        self.assertS3Error("AccessDenied", 403, self.lisa.delete_bucket, Bucket=bucket)
        self.assertS3Error("AccessDenied", 403, self.lisa.get_bucket_acl, Bucket=bucket)

    def test_grant_by_email_and_header(self):
        bucket = self.make_bucket()
        self.s3.put_bucket_acl(Bucket=bucket, GrantRead=f'id="{LISA}"',
                               GrantFullControl='emailAddress="sampleaccount1@sampling.com"')
        self.assertEqual(grants(self.s3.get_bucket_acl(Bucket=bucket)),
                         [(LISA, "READ"), (BART, "FULL_CONTROL")])
        self.lisa.head_bucket(Bucket=bucket)
        self.assertS3Error("AccessDenied", 403, self.lisa.put_object, Bucket=bucket,
                           Key="k", Body=b"x")
        policy = self.s3.get_bucket_acl(Bucket=bucket)
        policy["Grants"].append({"Grantee": {"Type": "AmazonCustomerByEmail",
                                             "EmailAddress": "nobody@example.invalid"},
                                 "Permission": "READ"})
        self.assertS3Error("UnresolvableGrantByEmailAddress", 400, self.s3.put_bucket_acl,
                           Bucket=bucket, AccessControlPolicy={
                               "Owner": policy["Owner"], "Grants": policy["Grants"]})

    def test_bad_canned_acl(self):
        bucket = self.make_bucket()
        client = self.client()
        client.meta.events.register(
            "before-call.s3.PutBucketAcl",
            lambda **kw: kw["params"]["headers"].update({"x-amz-acl": "public-ready"}))
        self.assertS3Error("InvalidArgument", 400, client.put_bucket_acl, Bucket=bucket,
                           ACL="public-read")

    def test_copy_does_not_copy_the_acl(self):
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="src", Body=b"x", ACL="public-read")
        self.s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket,
                                                                  "Key": "src"})
        self.assertEqual(grants(self.s3.get_object_acl(Bucket=bucket, Key="dst")),
                         [(BART, "FULL_CONTROL")])
        self.s3.copy_object(Bucket=bucket, Key="dst2", ACL="public-read",
                            CopySource={"Bucket": bucket, "Key": "src"})
        self.assertEqual(self.anon.get_object(Bucket=bucket, Key="dst2")["Body"].read(), b"x")

    def test_public_access_block(self):
        bucket = self.make_bucket()
        self.assertS3Error("NoSuchPublicAccessBlockConfiguration", 404,
                           self.s3.get_public_access_block, Bucket=bucket)
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read")
        config = {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                  "BlockPublicPolicy": False, "RestrictPublicBuckets": False}
        self.s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=config)
        self.assertEqual(self.s3.get_public_access_block(Bucket=bucket)
                         ["PublicAccessBlockConfiguration"], config)
        self.assertS3Error("AccessDenied", 403, self.anon.get_object, Bucket=bucket, Key="k")
        self.assertS3Error("AccessDenied", 403, self.s3.put_object, Bucket=bucket, Key="p",
                           Body=b"", ACL="public-read")
        self.assertS3Error("AccessDenied", 403, self.s3.put_bucket_acl, Bucket=bucket,
                           ACL="authenticated-read")
        self.s3.delete_public_access_block(Bucket=bucket)
        self.assertEqual(self.anon.get_object(Bucket=bucket, Key="k")["Body"].read(), b"x")

    def owner_of(self, bucket: str, key: str) -> str:
        listed = self.s3.list_objects(Bucket=bucket, Prefix=key)["Contents"]
        return next(o["Owner"]["ID"] for o in listed if o["Key"] == key)

    def test_public_write_grantees_replace_objects_of_any_owner(self):
        """WRITE to AllUsers (public-read-write): anonymous callers and other
        accounts may create, overwrite and delete objects, the bucket
        owner's included, as upstream does and as ceph/s3-tests records AWS
        doing (test_object_anon_put_write_access,
        test_access_bucket_publicreadwrite_object_private)."""
        bucket = self.make_bucket()
        self.s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
        for key in ("a", "b", "c", "d"):
            self.s3.put_object(Bucket=bucket, Key=key, Body=b"bart")
        self.anon.put_object(Bucket=bucket, Key="anon", Body=b"new")
        self.anon.put_object(Bucket=bucket, Key="a", Body=b"anon")      # over Bart's
        self.assertEqual(self.owner_of(bucket, "a"), ANONYMOUS)
        self.anon.delete_object(Bucket=bucket, Key="b")                  # Bart's
        self.anon.delete_object(Bucket=bucket, Key="anon")               # its own
        self.lisa.put_object(Bucket=bucket, Key="c", Body=b"lisa")      # over Bart's
        self.assertEqual(self.owner_of(bucket, "c"), LISA)
        self.lisa.delete_object(Bucket=bucket, Key="d")
        self.lisa.put_object(Bucket=bucket, Key="c", Body=b"again")     # her own
        self.lisa.delete_object(Bucket=bucket, Key="c")
        listed = self.s3.list_objects_v2(Bucket=bucket)["Contents"]
        self.assertEqual([o["Key"] for o in listed], ["a"])

    def test_authenticated_users_and_account_write_grants(self):
        bucket = self.make_bucket()
        for grant in (f'uri="{AUTHENTICATED_USERS}"', f'id="{LISA}"'):
            self.s3.put_bucket_acl(Bucket=bucket, GrantWrite=grant)
            self.s3.put_object(Bucket=bucket, Key="k", Body=b"bart")
            self.assertS3Error("AccessDenied", 403, self.anon.put_object, Bucket=bucket,
                               Key="k", Body=b"anon")
            self.assertS3Error("AccessDenied", 403, self.anon.delete_object, Bucket=bucket,
                               Key="k")
            self.assertEqual(self.owner_of(bucket, "k"), BART)
            self.lisa.put_object(Bucket=bucket, Key="k", Body=b"lisa")
            self.assertEqual(self.owner_of(bucket, "k"), LISA)
            self.s3.put_object(Bucket=bucket, Key="k", Body=b"bart")
            self.lisa.delete_object(Bucket=bucket, Key="k")
            self.assertNotIn("Contents", self.s3.list_objects_v2(Bucket=bucket))
