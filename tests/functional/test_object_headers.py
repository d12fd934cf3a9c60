# -*- test-case-name: tests.functional.test_object_headers -*-
"""
What a write takes from its headers, through boto3 against a real server:
CopyObject's metadata directive, ACL and copies onto the source's own key;
x-amz-website-redirect-location on PutObject, CopyObject and multipart
uploads; x-amz-tagging on CreateMultipartUpload and CopyObject.
"""

from __future__ import annotations

import datetime

from tests.functional.clients import ACCESS_KEY_2, SECRET_KEY_2
from tests.functional.s3case import S3TestCase
from tests.functional.test_versioning import delete_all_versions

CONTENT = {"CacheControl": "max-age=60", "ContentDisposition": "attachment",
           "ContentEncoding": "gzip", "ContentLanguage": "fr", "ContentType": "text/plain"}
EXPIRES = datetime.datetime(2033, 12, 1, 16, tzinfo=datetime.timezone.utc)


def tag_set(pairs: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(pairs.items())]


class CopyObjectHeadersTests(S3TestCase):

    def test_copy_keeps_content_headers_replace_drops_them(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="src", Body=b"x", Expires=EXPIRES,
                           Metadata={"a": "1"}, **CONTENT)
        self.s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket,
                                                                   "Key": "src"})
        head = self.s3.head_object(Bucket=bucket, Key="copy")
        for name, value in CONTENT.items():
            self.assertEqual(head[name], value, name)
        self.assertEqual(head["ExpiresString"], "Thu, 01 Dec 2033 16:00:00 GMT")
        self.assertEqual(head["Metadata"], {"a": "1"})
        self.s3.copy_object(Bucket=bucket, Key="replaced",
                            CopySource={"Bucket": bucket, "Key": "src"},
                            MetadataDirective="REPLACE", ContentLanguage="de")
        head = self.s3.head_object(Bucket=bucket, Key="replaced")
        self.assertEqual(head["ContentLanguage"], "de")
        self.assertEqual(head["ContentType"], "binary/octet-stream")
        for name in ("CacheControl", "ContentDisposition", "ContentEncoding",
                     "ExpiresString"):
            self.assertNotIn(name, head)
        self.assertEqual(head["Metadata"], {})

    def test_copy_acl_is_the_requests_owned_by_the_requester(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
        self.s3.put_object(Bucket=bucket, Key="src", Body=b"x", ACL="public-read")
        lisa = self.client(access_key=ACCESS_KEY_2, secret_key=SECRET_KEY_2)
        lisa_id = lisa.list_buckets()["Owner"]["ID"]
        lisa.copy_object(Bucket=bucket, Key="lisa", CopySource={"Bucket": bucket,
                                                                "Key": "src"})
        got = lisa.get_object_acl(Bucket=bucket, Key="lisa")
        self.assertEqual(got["Owner"]["ID"], lisa_id)
        self.assertEqual([(g["Grantee"].get("ID"), g["Permission"]) for g in got["Grants"]],
                         [(lisa_id, "FULL_CONTROL")])
        self.s3.copy_object(Bucket=bucket, Key="granted",
                            CopySource={"Bucket": bucket, "Key": "src"},
                            GrantRead=f"id={lisa_id}")
        grants = self.s3.get_object_acl(Bucket=bucket, Key="granted")["Grants"]
        self.assertIn((lisa_id, "READ"), [(g["Grantee"].get("ID"), g["Permission"])
                                          for g in grants])
        self.assertEqual(lisa.get_object(Bucket=bucket, Key="granted")["Body"].read(), b"x")
        self.s3.copy_object(Bucket=bucket, Key="public",
                            CopySource={"Bucket": bucket, "Key": "src"}, ACL="public-read")
        grants = self.s3.get_object_acl(Bucket=bucket, Key="public")["Grants"]
        self.assertIn("READ", [g["Permission"] for g in grants if g["Grantee"].get("URI")])

    def test_copy_onto_itself(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"same")
        source = {"Bucket": bucket, "Key": "k"}
        error = self.assertS3Error("InvalidRequest", 400, self.s3.copy_object,
                                   Bucket=bucket, Key="k", CopySource=source)
        self.assertIn("without changing the object's metadata, storage class, website "
                      "redirect location or encryption attributes.",
                      error.response["Error"]["Message"])
        self.s3.copy_object(Bucket=bucket, Key="k", CopySource=source,
                            StorageClass="REDUCED_REDUNDANCY")
        self.assertEqual(self.s3.head_object(Bucket=bucket, Key="k")["StorageClass"],
                         "REDUCED_REDUNDANCY")
        self.s3.copy_object(Bucket=bucket, Key="k", CopySource={**source, "VersionId": "null"})
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["Body"].read(), b"same")

    def test_restore_a_version_by_copying_it_onto_its_key(self) -> None:
        bucket = self.make_bucket()
        self.addCleanup(delete_all_versions, self.s3, bucket)
        self.s3.put_bucket_versioning(Bucket=bucket,
                                      VersioningConfiguration={"Status": "Enabled"})
        old = self.s3.put_object(Bucket=bucket, Key="k", Body=b"old")["VersionId"]
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"new")
        done = self.s3.copy_object(Bucket=bucket, Key="k",
                                   CopySource={"Bucket": bucket, "Key": "k", "VersionId": old})
        self.assertEqual(done["CopySourceVersionId"], old)
        self.assertNotEqual(done["VersionId"], old)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["Body"].read(), b"old")
        versions = self.s3.list_object_versions(Bucket=bucket)["Versions"]
        self.assertEqual(len(versions), 3)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k", VersionId=old)
                         ["Body"].read(), b"old")


class WebsiteRedirectTests(S3TestCase):

    def test_put_object(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x",
                           WebsiteRedirectLocation="/other.html")
        self.assertEqual(self.s3.head_object(Bucket=bucket, Key="k")
                         ["WebsiteRedirectLocation"], "/other.html")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")
                         ["WebsiteRedirectLocation"], "/other.html")
        error = self.assertS3Error("InvalidRedirectLocation", 400, self.s3.put_object,
                                   Bucket=bucket, Key="k", Body=b"y",
                                   WebsiteRedirectLocation="other.html")
        self.assertEqual(error.response["Error"]["Message"], "The website redirect location "
                         "must have a prefix of 'http://' or 'https://' or '/'.")
        self.assertS3Error("InvalidRedirectLocation", 400, self.s3.put_object,
                           Bucket=bucket, Key="k", Body=b"y",
                           WebsiteRedirectLocation="/" + "a" * 2048)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["Body"].read(), b"x")

    def test_copy_object_has_the_requests_redirect(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="src", Body=b"x",
                           WebsiteRedirectLocation="/a")
        source = {"Bucket": bucket, "Key": "src"}
        self.s3.copy_object(Bucket=bucket, Key="plain", CopySource=source)
        self.assertNotIn("WebsiteRedirectLocation",
                         self.s3.head_object(Bucket=bucket, Key="plain"))
        self.s3.copy_object(Bucket=bucket, Key="src", CopySource=source,
                            WebsiteRedirectLocation="http://example.com/")
        self.assertEqual(self.s3.head_object(Bucket=bucket, Key="src")
                         ["WebsiteRedirectLocation"], "http://example.com/")
        self.assertS3Error("InvalidRedirectLocation", 400, self.s3.copy_object,
                           Bucket=bucket, Key="bad", CopySource=source,
                           WebsiteRedirectLocation="ftp://example.com/")
        self.assertS3Error("404", 404, self.s3.head_object, Bucket=bucket, Key="bad")

    def test_multipart_upload(self) -> None:
        bucket = self.make_bucket()
        self.assertS3Error("InvalidRedirectLocation", 400, self.s3.create_multipart_upload,
                           Bucket=bucket, Key="mp", WebsiteRedirectLocation="example.com")
        upload = self.s3.create_multipart_upload(
            Bucket=bucket, Key="mp", WebsiteRedirectLocation="https://example.com/")["UploadId"]
        etag = self.s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1,
                                   Body=b"part")["ETag"]
        self.s3.complete_multipart_upload(
            Bucket=bucket, Key="mp", UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="mp")
                         ["WebsiteRedirectLocation"], "https://example.com/")


class UploadTaggingTests(S3TestCase):

    def test_multipart_upload_tags(self) -> None:
        bucket = self.make_bucket()
        for tagging, code in (("a=1&a=2", "InvalidArgument"), ("aws:k=v", "InvalidTag"),
                              ("k=" + "v" * 257, "InvalidTag"),
                              ("&".join(f"k{i}=v" for i in range(11)), "BadRequest")):
            self.assertS3Error(code, 400, self.s3.create_multipart_upload,
                               Bucket=bucket, Key="mp", Tagging=tagging)
        self.assertNotIn("Uploads", self.s3.list_multipart_uploads(Bucket=bucket))
        upload = self.s3.create_multipart_upload(
            Bucket=bucket, Key="mp", Tagging="b=2&a=%C3%A9")["UploadId"]
        etag = self.s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1,
                                   Body=b"part")["ETag"]
        self.s3.complete_multipart_upload(
            Bucket=bucket, Key="mp", UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
        self.assertEqual(self.s3.get_object_tagging(Bucket=bucket, Key="mp")["TagSet"],
                         tag_set({"a": "é", "b": "2"}))
        self.assertEqual(self.s3.head_object(Bucket=bucket, Key="mp")["ResponseMetadata"]
                         ["HTTPHeaders"]["x-amz-tagging-count"], "2")

    def test_copy_object_tagging_directive(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="src", Body=b"x", Tagging="src=1")
        source = {"Bucket": bucket, "Key": "src"}
        self.s3.copy_object(Bucket=bucket, Key="copied", CopySource=source,
                            Tagging="ignored=1")
        self.assertEqual(self.s3.get_object_tagging(Bucket=bucket, Key="copied")["TagSet"],
                         tag_set({"src": "1"}))
        self.s3.copy_object(Bucket=bucket, Key="replaced", CopySource=source,
                            TaggingDirective="REPLACE", Tagging="new=2&other=")
        self.assertEqual(self.s3.get_object_tagging(Bucket=bucket, Key="replaced")["TagSet"],
                         tag_set({"new": "2", "other": ""}))
        for tagging, code in (("a=1&a=2", "InvalidArgument"), ("aws:k=v", "InvalidTag"),
                              ("&".join(f"k{i}=v" for i in range(11)), "BadRequest")):
            self.assertS3Error(code, 400, self.s3.copy_object, Bucket=bucket, Key="bad",
                               CopySource=source, TaggingDirective="REPLACE", Tagging=tagging)
        error = self.assertS3Error("InvalidArgument", 400, self.s3.copy_object,
                                   Bucket=bucket, Key="bad", CopySource=source,
                                   TaggingDirective="MERGE")
        self.assertEqual(error.response["Error"]["Message"], "Unknown tagging directive.")
        self.assertS3Error("404", 404, self.s3.head_object, Bucket=bucket, Key="bad")
