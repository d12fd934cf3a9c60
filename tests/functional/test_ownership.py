# -*- test-case-name: tests.functional.test_ownership -*-
"""S3 Object Ownership end to end with boto3 as two accounts (Bart,
accessKey1, owns the buckets; Lisa, accessKey2, writes into them through a
bucket ACL grant of WRITE): the OwnershipControls operations, the
x-amz-object-ownership header, who owns what each setting lets Lisa write,
ACLs disabled under BucketOwnerEnforced, and config.json's
``defaultObjectOwnership``."""

from __future__ import annotations

import botocore

from tests.functional.clients import (
    ACCESS_KEY_2, SECRET_KEY_2, empty_and_delete_bucket, unique_bucket)
from tests.functional.s3case import S3TestCase

BART = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
LISA = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2bf"
ENFORCED, PREFERRED, WRITER = "BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"
BFC = "bucket-owner-full-control"


def controls(value: str) -> dict:
    return {"Rules": [{"ObjectOwnership": value}]}


class OwnershipTests(S3TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.lisa = self.client(access_key=ACCESS_KEY_2, secret_key=SECRET_KEY_2)

    def create(self, tag: str, **kwargs) -> str:
        name = unique_bucket(tag)
        self.s3.create_bucket(Bucket=name, **kwargs)
        self.addCleanup(empty_and_delete_bucket, self.s3, name)
        return name

    def ownership(self, bucket: str) -> str:
        rules = self.s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
        return rules["Rules"][0]["ObjectOwnership"]

    def shared(self, setting: str | None) -> str:
        """A bucket of Bart's that Lisa may write into, with ``setting``."""
        bucket = self.create("own-" + (setting or "none").lower())
        self.s3.put_bucket_acl(Bucket=bucket, GrantWrite=f'id="{LISA}"',
                               GrantFullControl=f'id="{BART}"')
        if setting is not None:
            self.s3.put_bucket_ownership_controls(Bucket=bucket,
                                                  OwnershipControls=controls(setting))
        return bucket

    def owner(self, bucket: str, key: str, client=None) -> str:
        return (client or self.s3).get_object_acl(Bucket=bucket, Key=key)["Owner"]["ID"]

    def upload_owner(self, bucket: str, key: str, **kwargs) -> str:
        upload = self.lisa.create_multipart_upload(Bucket=bucket, Key=key, **kwargs)
        self.addCleanup(self.s3.abort_multipart_upload, Bucket=bucket, Key=key,
                        UploadId=upload["UploadId"])
        # ListParts needs READ on the bucket: the bucket owner asks
        parts = self.s3.list_parts(Bucket=bucket, Key=key, UploadId=upload["UploadId"])
        self.assertEqual(parts["Initiator"]["ID"], LISA)
        return parts["Owner"]["ID"]

    # -- the configuration -----------------------------------------------------------

    def test_no_controls_by_default(self):
        bucket = self.create("own-default")
        self.assertS3Error("OwnershipControlsNotFoundError", 404,
                           self.s3.get_bucket_ownership_controls, Bucket=bucket)

    def test_put_get_delete(self):
        bucket = self.create("own-crud")
        for value in (ENFORCED, PREFERRED, WRITER):
            self.s3.put_bucket_ownership_controls(Bucket=bucket,
                                                  OwnershipControls=controls(value))
            self.assertEqual(self.ownership(bucket), value)
        self.assertS3Error("MalformedXML", 400, self.s3.put_bucket_ownership_controls,
                           Bucket=bucket, OwnershipControls=controls("Everyone"))
        self.assertS3Error("AccessDenied", 403, self.lisa.put_bucket_ownership_controls,
                           Bucket=bucket, OwnershipControls=controls(ENFORCED))
        self.assertEqual(self.ownership(bucket), WRITER)
        self.s3.delete_bucket_ownership_controls(Bucket=bucket)
        self.assertS3Error("OwnershipControlsNotFoundError", 404,
                           self.s3.get_bucket_ownership_controls, Bucket=bucket)
        self.s3.delete_bucket_ownership_controls(Bucket=bucket)

    def test_create_bucket_header(self):
        for value in (ENFORCED, PREFERRED, WRITER):
            self.assertEqual(self.ownership(self.create("own-h", ObjectOwnership=value)),
                             value)
        self.assertS3Error("InvalidArgument", 400, self.s3.create_bucket,
                           Bucket=unique_bucket("own-bad"), ObjectOwnership="Anyone")

    def test_enforced_needs_a_private_bucket_acl(self):
        self.assertS3Error("InvalidBucketAclWithObjectOwnership", 400, self.s3.create_bucket,
                           Bucket=unique_bucket("own-pub"), ACL="public-read",
                           ObjectOwnership=ENFORCED)
        bucket = self.create("own-pub", ACL="public-read")
        self.assertS3Error("InvalidBucketAclWithObjectOwnership", 400,
                           self.s3.put_bucket_ownership_controls, Bucket=bucket,
                           OwnershipControls=controls(ENFORCED))
        self.assertS3Error("OwnershipControlsNotFoundError", 404,
                           self.s3.get_bucket_ownership_controls, Bucket=bucket)
        self.s3.put_bucket_acl(Bucket=bucket, ACL="private")
        self.s3.put_bucket_ownership_controls(Bucket=bucket,
                                              OwnershipControls=controls(ENFORCED))

    # -- who owns what Lisa writes -------------------------------------------------------

    def test_object_writer(self):
        for setting in (None, WRITER):
            bucket = self.shared(setting)
            for key, kwargs in (("plain", {}), ("bfc", {"ACL": BFC})):
                self.lisa.put_object(Bucket=bucket, Key=key, Body=b"x", **kwargs)
                self.assertEqual(self.owner(bucket, key, self.lisa), LISA, (setting, key))
            self.assertEqual(self.upload_owner(bucket, "mpu", ACL=BFC), LISA)
            self.lisa.copy_object(Bucket=bucket, Key="copy", ACL=BFC,
                                  CopySource={"Bucket": bucket, "Key": "plain"})
            self.assertEqual(self.owner(bucket, "copy", self.lisa), LISA)

    def test_bucket_owner_preferred(self):
        bucket = self.shared(PREFERRED)
        self.lisa.put_object(Bucket=bucket, Key="plain", Body=b"x")
        self.assertEqual(self.owner(bucket, "plain", self.lisa), LISA)
        self.lisa.put_object(Bucket=bucket, Key="private", Body=b"x", ACL="private")
        self.assertEqual(self.owner(bucket, "private", self.lisa), LISA)
        self.lisa.put_object(Bucket=bucket, Key="bfc", Body=b"x", ACL=BFC)
        self.assertEqual(self.owner(bucket, "bfc"), BART)
        listed = self.s3.list_objects_v2(Bucket=bucket, FetchOwner=True)["Contents"]
        self.assertEqual({o["Key"]: o["Owner"]["ID"] for o in listed},
                         {"bfc": BART, "plain": LISA, "private": LISA})
        self.assertEqual(self.upload_owner(bucket, "mpu"), LISA)
        self.assertEqual(self.upload_owner(bucket, "mpu-bfc", ACL=BFC), BART)
        self.lisa.copy_object(Bucket=bucket, Key="copy", ACL=BFC,
                              CopySource={"Bucket": bucket, "Key": "plain"})
        self.assertEqual(self.owner(bucket, "copy"), BART)
        # ACLs stay enabled
        self.s3.put_bucket_acl(Bucket=bucket, ACL="private")
        self.lisa.put_object_acl(Bucket=bucket, Key="plain", ACL="public-read")

    def test_multipart_completion_keeps_the_owner(self):
        bucket = self.shared(PREFERRED)
        upload = self.lisa.create_multipart_upload(Bucket=bucket, Key="mpu", ACL=BFC)
        part = self.lisa.upload_part(Bucket=bucket, Key="mpu", UploadId=upload["UploadId"],
                                     PartNumber=1, Body=b"part")
        self.lisa.complete_multipart_upload(
            Bucket=bucket, Key="mpu", UploadId=upload["UploadId"],
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]})
        self.assertEqual(self.owner(bucket, "mpu"), BART)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="mpu")["Body"].read(), b"part")

    # -- BucketOwnerEnforced ---------------------------------------------------------

    def test_enforced_refuses_acls(self):
        bucket = self.create("own-enf", ObjectOwnership=ENFORCED)
        self.s3.put_object(Bucket=bucket, Key="plain", Body=b"x")
        self.s3.put_object(Bucket=bucket, Key="bfc", Body=b"x", ACL=BFC)
        self.s3.put_object(Bucket=bucket, Key="grant", Body=b"x",
                           GrantFullControl=f'id="{BART}"')
        refused = [
            (self.s3.put_object, {"Key": "p", "Body": b"x", "ACL": "private"}),
            (self.s3.put_object, {"Key": "p", "Body": b"x", "ACL": "public-read"}),
            (self.s3.put_object, {"Key": "p", "Body": b"x", "GrantRead": f'id="{LISA}"'}),
            (self.s3.create_multipart_upload, {"Key": "p", "ACL": "private"}),
            (self.s3.copy_object, {"Key": "p", "ACL": "private",
                                   "CopySource": {"Bucket": bucket, "Key": "plain"}}),
            (self.s3.put_bucket_acl, {"ACL": "private"}),
            (self.s3.put_bucket_acl, {"GrantRead": f'id="{LISA}"'}),
            (self.s3.put_object_acl, {"Key": "plain", "ACL": "public-read"}),
        ]
        for call, kwargs in refused:
            error = self.assertS3Error("AccessControlListNotSupported", 400, call,
                                       Bucket=bucket, **kwargs)
            self.assertEqual(error.response["Error"]["Message"],
                             "The bucket does not allow ACLs")
        keys = [o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket)["Contents"]]
        self.assertEqual(keys, ["bfc", "grant", "plain"])
        self.s3.put_bucket_acl(Bucket=bucket, ACL=BFC)
        for response in (self.s3.get_bucket_acl(Bucket=bucket),
                         self.s3.get_object_acl(Bucket=bucket, Key="plain")):
            self.assertEqual(response["Owner"]["ID"], BART)
            self.assertEqual([(g["Grantee"]["ID"], g["Permission"])
                              for g in response["Grants"]], [(BART, "FULL_CONTROL")])

    def test_enforced_gives_the_bucket_owner_what_others_wrote(self):
        bucket = self.shared(WRITER)
        anon = self.client(signature_version=botocore.UNSIGNED)
        self.lisa.put_object(Bucket=bucket, Key="lisa", Body=b"hers")
        self.lisa.put_object(Bucket=bucket, Key="pub", Body=b"public", ACL="public-read")
        self.assertS3Error("AccessDenied", 403, self.s3.get_object, Bucket=bucket, Key="lisa")
        self.assertEqual(anon.get_object(Bucket=bucket, Key="pub")["Body"].read(), b"public")
        self.s3.put_bucket_acl(Bucket=bucket, ACL="private")
        self.s3.put_bucket_ownership_controls(Bucket=bucket,
                                              OwnershipControls=controls(ENFORCED))
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="lisa")["Body"].read(), b"hers")
        acl = self.s3.get_object_acl(Bucket=bucket, Key="lisa")
        self.assertEqual(acl["Owner"], {"ID": BART, "DisplayName": "Bart"})
        self.assertEqual(len(acl["Grants"]), 1)
        # Lisa owns nothing here now, and her public-read grant counts for nothing
        self.assertS3Error("AccessDenied", 403, self.lisa.get_object, Bucket=bucket,
                           Key="lisa")
        self.assertS3Error("AccessDenied", 403, anon.get_object, Bucket=bucket, Key="pub")


class DefaultEnforcedTests(S3TestCase):
    """config.json ``defaultObjectOwnership: BucketOwnerEnforced`` (AWS's
    default since 2023)."""

    serverConfig = {"defaultObjectOwnership": ENFORCED}

    def test_new_buckets_are_enforced(self):
        bucket = self.make_bucket("own-cfg")
        rules = self.s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
        self.assertEqual(rules["Rules"], [{"ObjectOwnership": ENFORCED}])
        self.assertS3Error("AccessControlListNotSupported", 400, self.s3.put_object,
                           Bucket=bucket, Key="k", Body=b"x", ACL="public-read")
        self.assertS3Error("InvalidBucketAclWithObjectOwnership", 400, self.s3.create_bucket,
                           Bucket=unique_bucket("own-cfg-pub"), ACL="public-read")

    def test_header_overrides_the_default(self):
        bucket = unique_bucket("own-cfg-writer")
        self.s3.create_bucket(Bucket=bucket, ObjectOwnership=WRITER, ACL="public-read")
        self.addCleanup(empty_and_delete_bucket, self.s3, bucket)
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x", ACL="public-read")
