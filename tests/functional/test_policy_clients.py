# -*- test-case-name: tests.functional.test_policy_clients -*-
"""Bucket policies set by the clients that set them: aws-cli ``s3api``,
s3cmd ``setpolicy``/``delpolicy`` and minio-py ``set_bucket_policy``, each
checked by anonymous plain-HTTP requests; and a policy sharing a bucket
with the second account for every operation family."""

from __future__ import annotations

import json

from tests.functional.clients import ACCESS_KEY_1, ACCESS_KEY_2, SECRET_KEY_1, SECRET_KEY_2
from tests.functional.clients import AwsCli, S3cmd
from tests.functional.s3case import S3TestCase
from tests.functional.test_policy import LISA_ACCOUNT, policy


def public_read(bucket: str) -> str:
    return policy(bucket, {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                           "Resource": f"arn:aws:s3:::{bucket}/*"})


class _Anonymous:
    def anonymous(self, method: str, path: str, body: bytes = b"") -> int:
        """The status of an unsigned request over plain HTTP."""
        connection = self.connection()
        connection.request(method, path, body=body)
        response = connection.getresponse()
        response.read()
        return response.status


class AwsCliPolicyTests(_Anonymous, S3TestCase):
    def test_s3api_policy_operations(self):
        aws = AwsCli(self.server, self.workdir / "home")
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        self.assertEqual(self.anonymous("GET", f"/{bucket}/k"), 403)
        aws("s3api", "put-bucket-policy", "--bucket", bucket, "--policy", public_read(bucket))
        got = json.loads(aws("s3api", "get-bucket-policy", "--bucket", bucket).stdout)
        self.assertEqual(json.loads(got["Policy"]), json.loads(public_read(bucket)))
        status = json.loads(aws("s3api", "get-bucket-policy-status", "--bucket", bucket).stdout)
        self.assertTrue(status["PolicyStatus"]["IsPublic"])
        self.assertEqual(self.anonymous("GET", f"/{bucket}/k"), 200)
        aws("s3api", "delete-bucket-policy", "--bucket", bucket)
        self.assertEqual(self.anonymous("GET", f"/{bucket}/k"), 403)
        missing = aws("s3api", "get-bucket-policy", "--bucket", bucket, check=False)
        self.assertIn("NoSuchBucketPolicy", missing.stderr)


class S3cmdPolicyTests(_Anonymous, S3TestCase):
    def test_setpolicy_delpolicy(self):
        s3cmd = S3cmd(self.server, self.workdir / "home", signature_v2=False)
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        document = self.workdir / "policy.json"
        document.write_text(public_read(bucket))
        s3cmd("setpolicy", document, f"s3://{bucket}")
        self.assertEqual(self.anonymous("GET", f"/{bucket}/k"), 200)
        self.assertIn("Policy", s3cmd("info", f"s3://{bucket}").stdout)
        s3cmd("delpolicy", f"s3://{bucket}")
        self.assertEqual(self.anonymous("GET", f"/{bucket}/k"), 403)


def minio_policy(bucket: str, write: bool) -> str:
    """minio-py's documented read-only and read-write bucket policies."""
    bucket_actions = ["s3:GetBucketLocation", "s3:ListBucket"]
    object_actions = ["s3:GetObject"]
    if write:
        bucket_actions.append("s3:ListBucketMultipartUploads")
        object_actions += ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
                           "s3:ListMultipartUploadParts"]
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": bucket_actions,
         "Resource": f"arn:aws:s3:::{bucket}"},
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": object_actions,
         "Resource": f"arn:aws:s3:::{bucket}/*"}]})


class MinioPolicyTests(_Anonymous, S3TestCase):
    def setUp(self) -> None:
        super().setUp()
        try:
            import minio
        except ImportError:
            self.skipTest("minio-py is not installed (the test extra has it)")
        self.minio = minio.Minio(f"127.0.0.1:{self.server.port}", access_key=ACCESS_KEY_1,
                                 secret_key=SECRET_KEY_1, secure=False, region="us-east-1")

    def test_read_only(self):
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        self.minio.set_bucket_policy(bucket, minio_policy(bucket, write=False))
        self.assertEqual(json.loads(self.minio.get_bucket_policy(bucket)),
                         json.loads(minio_policy(bucket, write=False)))
        self.assertEqual(self.anonymous("GET", f"/{bucket}/k"), 200)
        self.assertEqual(self.anonymous("GET", f"/{bucket}?list-type=2"), 200)
        self.assertEqual(self.anonymous("PUT", f"/{bucket}/new", b"y"), 403)
        self.assertEqual(self.anonymous("DELETE", f"/{bucket}/k"), 403)
        self.minio.delete_bucket_policy(bucket)
        self.assertEqual(self.anonymous("GET", f"/{bucket}/k"), 403)

    def test_read_write(self):
        bucket = self.make_bucket()
        self.minio.set_bucket_policy(bucket, minio_policy(bucket, write=True))
        self.assertEqual(self.anonymous("PUT", f"/{bucket}/new", b"y"), 200)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="new")["Body"].read(), b"y")
        self.assertEqual(self.anonymous("GET", f"/{bucket}/new"), 200)
        self.assertEqual(self.anonymous("DELETE", f"/{bucket}/new"), 204)
        self.assertEqual(self.anonymous("PUT", f"/{bucket}?versioning", b""), 403)


class CrossAccountTests(S3TestCase):
    """Every operation family for the second account, through a policy."""

    def setUp(self) -> None:
        super().setUp()
        self.lisa = self.client(access_key=ACCESS_KEY_2, secret_key=SECRET_KEY_2)
        self.bucket = self.make_bucket()
        self.s3.put_object(Bucket=self.bucket, Key="bart", Body=b"b")
        self.s3.put_bucket_policy(Bucket=self.bucket, Policy=policy(self.bucket, {
            "Effect": "Allow", "Principal": {"AWS": LISA_ACCOUNT},
            "Action": ["s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:GetObject",
                       "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
                       "s3:ListMultipartUploadParts", "s3:GetObjectTagging",
                       "s3:PutObjectTagging", "s3:GetObjectAcl"],
            "Resource": [f"arn:aws:s3:::{self.bucket}", f"arn:aws:s3:::{self.bucket}/*"]}))

    def test_list_get_put_delete(self):
        bucket, lisa = self.bucket, self.lisa
        self.assertEqual([o["Key"] for o in lisa.list_objects_v2(Bucket=bucket)["Contents"]],
                         ["bart"])
        self.assertEqual(lisa.get_object(Bucket=bucket, Key="bart")["Body"].read(), b"b")
        lisa.put_object(Bucket=bucket, Key="lisa", Body=b"l")
        # ObjectWriter (the default): the writer owns what it writes
        lisa_id = lisa.list_objects(Bucket=bucket)
        owners = {o["Key"]: o["Owner"]["ID"] for o in lisa_id["Contents"]}
        self.assertNotEqual(owners["lisa"], owners["bart"])
        lisa.delete_object(Bucket=bucket, Key="lisa")
        self.assertS3Error("AccessDenied", 403, lisa.put_bucket_versioning, Bucket=bucket,
                           VersioningConfiguration={"Status": "Enabled"})

    def test_bucket_owner_enforced(self):
        bucket, lisa = self.bucket, self.lisa
        self.s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={
            "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
        lisa.put_object(Bucket=bucket, Key="lisa", Body=b"l")
        owners = {o["Key"]: o["Owner"]["ID"] for o in
                  self.s3.list_objects(Bucket=bucket)["Contents"]}
        self.assertEqual(owners["lisa"], owners["bart"])

    def test_multipart(self):
        bucket, lisa = self.bucket, self.lisa
        upload = lisa.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
        etag = lisa.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1,
                                Body=b"p" * 10)["ETag"]
        self.assertEqual(len(lisa.list_parts(Bucket=bucket, Key="mp", UploadId=upload)
                             ["Parts"]), 1)
        self.assertEqual(len(lisa.list_multipart_uploads(Bucket=bucket)["Uploads"]), 1)
        lisa.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload,
                                       MultipartUpload={"Parts": [{"PartNumber": 1,
                                                                   "ETag": etag}]})
        self.assertEqual(lisa.get_object(Bucket=bucket, Key="mp")["Body"].read(), b"p" * 10)
        other = lisa.create_multipart_upload(Bucket=bucket, Key="mp2")["UploadId"]
        lisa.abort_multipart_upload(Bucket=bucket, Key="mp2", UploadId=other)

    def test_tagging_and_acl_read(self):
        bucket, lisa = self.bucket, self.lisa
        lisa.put_object_tagging(Bucket=bucket, Key="bart",
                                Tagging={"TagSet": [{"Key": "t", "Value": "v"}]})
        self.assertEqual(lisa.get_object_tagging(Bucket=bucket, Key="bart")["TagSet"],
                         [{"Key": "t", "Value": "v"}])
        self.assertIn("Grants", lisa.get_object_acl(Bucket=bucket, Key="bart"))
        self.assertS3Error("AccessDenied", 403, lisa.get_bucket_acl, Bucket=bucket)
