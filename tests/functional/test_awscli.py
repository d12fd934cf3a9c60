# -*- test-case-name: tests.functional.test_awscli -*-
"""aws-cli configured with ``~/.aws/credentials`` and ``~/.aws/config`` as in the
docs, over HTTP and over HTTPS (the test CA as ``ca_bundle`` in ``~/.aws/config``)."""

from __future__ import annotations

import json

from tests.functional.clients import LARGE_SIZE, AwsCli, md5_file, unique_bucket
from tests.functional.s3case import S3TestCase


class AwsCliTests(S3TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.aws = AwsCli(self.server, self.workdir / "home")

    def mb(self) -> str:
        bucket = unique_bucket(self._testMethodName.removeprefix("test_"))
        self.aws("s3", "mb", f"s3://{bucket}")
        self.addCleanup(self.aws, "s3", "rb", "--force", f"s3://{bucket}", check=False)
        return bucket

    def test_mb_cp_ls_rm(self) -> None:
        bucket = self.mb()
        self.assertIn(bucket, self.aws("s3", "ls").stdout)
        source = self.write_file("small.bin", 10_000)
        self.aws("s3", "cp", source, f"s3://{bucket}/dir/small.bin")
        listing = self.aws("s3", "ls", f"s3://{bucket}/dir/").stdout
        self.assertIn("10000 small.bin", listing)
        self.assertIn("PRE dir/", self.aws("s3", "ls", f"s3://{bucket}").stdout)
        target = self.workdir / "small.out"
        self.aws("s3", "cp", f"s3://{bucket}/dir/small.bin", target)
        self.assertEqual(target.read_bytes(), source.read_bytes())
        self.aws("s3", "rm", f"s3://{bucket}/dir/small.bin")
        self.assertEqual(self.aws("s3", "ls", f"s3://{bucket}", "--recursive").stdout, "")
        self.aws("s3", "rb", f"s3://{bucket}")
        self.assertNotIn(bucket, self.aws("s3", "ls").stdout)

    def test_cp_large_file(self) -> None:
        """Over 100 MiB: 13 parts of aws-cli's 8 MiB, up and down again."""
        bucket = self.mb()
        source = self.write_file("large.bin", LARGE_SIZE)
        self.aws("s3", "cp", source, f"s3://{bucket}/large.bin")
        head = json.loads(self.aws("s3api", "head-object", "--bucket", bucket,
                                   "--key", "large.bin").stdout)
        self.assertEqual(head["ContentLength"], LARGE_SIZE)
        self.assertTrue(head["ETag"].endswith('-13"'), head["ETag"])
        target = self.workdir / "large.out"
        self.aws("s3", "cp", f"s3://{bucket}/large.bin", target)
        self.assertEqual(md5_file(target), md5_file(source))
        source.unlink()
        target.unlink()

    def test_recursive_sync(self) -> None:
        bucket = self.mb()
        tree = self.workdir / "tree"
        for name in ("a.txt", "sub/b.txt", "sub/deeper/c.txt"):
            self.write_file(f"tree/{name}", 3000)
        self.aws("s3", "sync", tree, f"s3://{bucket}/t")
        out = self.aws("s3", "ls", "--recursive", f"s3://{bucket}").stdout
        for name in ("t/a.txt", "t/sub/b.txt", "t/sub/deeper/c.txt"):
            self.assertIn(name, out)
        back = self.workdir / "back"
        self.aws("s3", "sync", f"s3://{bucket}/t", back)
        for name in ("a.txt", "sub/b.txt", "sub/deeper/c.txt"):
            self.assertEqual((back / name).read_bytes(), (tree / name).read_bytes(), name)

    def test_s3api_put_get_head(self) -> None:
        bucket = self.mb()
        source = self.write_file("api.bin", 4096)
        put = json.loads(self.aws(
            "s3api", "put-object", "--bucket", bucket, "--key", "api key",
            "--body", source, "--content-type", "application/x-test",
            "--metadata", "owner=functional").stdout)
        self.assertEqual(put["ETag"], f'"{md5_file(source)}"')
        head = json.loads(self.aws("s3api", "head-object", "--bucket", bucket,
                                   "--key", "api key").stdout)
        self.assertEqual(head["ContentLength"], 4096)
        self.assertEqual(head["ContentType"], "application/x-test")
        self.assertEqual(head["Metadata"], {"owner": "functional"})
        target = self.workdir / "api.out"
        got = json.loads(self.aws("s3api", "get-object", "--bucket", bucket,
                                  "--key", "api key", target).stdout)
        self.assertEqual(got["ETag"], put["ETag"])
        self.assertEqual(target.read_bytes(), source.read_bytes())
        missing = self.aws("s3api", "head-object", "--bucket", bucket, "--key", "nope",
                           check=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("404", missing.stderr)

    def test_create_bucket_in_us_west_2(self) -> None:
        """A LocationConstraint of AWS's regions (us-west-2 is in upstream's
        default locationConfig.json) is accepted, and the bucket works."""
        bucket = unique_bucket("uswest2")
        self.aws("s3api", "create-bucket", "--bucket", bucket,
                 "--create-bucket-configuration", "LocationConstraint=us-west-2")
        self.addCleanup(self.aws, "s3", "rb", "--force", f"s3://{bucket}", check=False)
        source = self.write_file("west.bin", 2048)
        self.aws("s3api", "put-object", "--bucket", bucket, "--key", "west", "--body", source)
        target = self.workdir / "west.out"
        self.aws("s3api", "get-object", "--bucket", bucket, "--key", "west", target)
        self.assertEqual(target.read_bytes(), source.read_bytes())
        location = json.loads(self.aws("s3api", "get-bucket-location",
                                       "--bucket", bucket).stdout)
        self.assertEqual(location["LocationConstraint"], "us-west-2")

    def test_s3api_bucket_encryption(self) -> None:
        """put/get/delete-bucket-encryption as the aws-cli docs show them."""
        bucket = self.mb()
        config = {"Rules": [{"ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "testkey-2"}}]}
        self.aws("s3api", "put-bucket-encryption", "--bucket", bucket,
                 "--server-side-encryption-configuration", json.dumps(config))
        got = json.loads(self.aws("s3api", "get-bucket-encryption", "--bucket", bucket).stdout)
        rule = got["ServerSideEncryptionConfiguration"]["Rules"][0]
        self.assertEqual(rule["ApplyServerSideEncryptionByDefault"],
                         config["Rules"][0]["ApplyServerSideEncryptionByDefault"])
        self.aws("s3api", "delete-bucket-encryption", "--bucket", bucket)
        missing = self.aws("s3api", "get-bucket-encryption", "--bucket", bucket, check=False)
        self.assertNotEqual(missing.returncode, 0)
        self.assertIn("ServerSideEncryptionConfigurationNotFoundError", missing.stderr)


class AwsCliHTTPSTests(AwsCliTests):
    """The same over HTTPS."""

    serverTLS = True
