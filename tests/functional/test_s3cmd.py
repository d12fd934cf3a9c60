# -*- test-case-name: tests.functional.test_s3cmd -*-
"""s3cmd with the docs' ``.s3cfg`` template, signature v4 and signature v2, over
HTTP and over HTTPS (``use_https = True`` and the test CA as ``ca_certs_file``)."""

from __future__ import annotations

from typing import ClassVar

from tests.functional.clients import LARGE_SIZE, S3cmd, md5_file, unique_bucket
from tests.functional.s3case import S3TestCase


class _S3cmdMixin:
    signatureV2: ClassVar[bool]

    def setUp(self) -> None:
        super().setUp()
        self.s3cmd = S3cmd(self.server, self.workdir / "home", signature_v2=self.signatureV2)

    def mb(self) -> str:
        bucket = unique_bucket(f"s3cmd{'v2' if self.signatureV2 else 'v4'}")
        self.s3cmd("mb", f"s3://{bucket}")
        self.addCleanup(self.s3cmd, "rb", "--recursive", "--force", f"s3://{bucket}",
                        check=False)
        return bucket

    def test_mb_put_get_ls_del_rb(self) -> None:
        bucket = self.mb()
        self.assertIn(f"s3://{bucket}", self.s3cmd("ls").stdout)
        source = self.write_file("file.bin", 50_000)
        self.s3cmd("put", source, f"s3://{bucket}/some dir/file.bin")
        listing = self.s3cmd("ls", f"s3://{bucket}/some dir/").stdout
        self.assertIn(f"s3://{bucket}/some dir/file.bin", listing)
        self.assertIn("DIR", self.s3cmd("ls", f"s3://{bucket}").stdout)
        target = self.workdir / "file.out"
        self.s3cmd("get", f"s3://{bucket}/some dir/file.bin", target)
        self.assertEqual(target.read_bytes(), source.read_bytes())
        info = self.s3cmd("info", f"s3://{bucket}/some dir/file.bin").stdout
        self.assertIn("50000", info)
        self.s3cmd("del", f"s3://{bucket}/some dir/file.bin")
        self.assertEqual(self.s3cmd("ls", "--recursive", f"s3://{bucket}").stdout.strip(), "")
        self.s3cmd("rb", f"s3://{bucket}")
        self.assertNotIn(f"s3://{bucket}", self.s3cmd("ls").stdout)

    def test_sync_tree(self) -> None:
        bucket = self.mb()
        tree = self.workdir / "tree"
        names = ["top.txt", "a/one.txt", "a/b/two.txt", "c d/three+four.txt"]
        for name in names:
            self.write_file(f"tree/{name}", 2000)
        self.s3cmd("sync", f"{tree}/", f"s3://{bucket}/backup/")
        listing = self.s3cmd("ls", "--recursive", f"s3://{bucket}").stdout
        for name in names:
            self.assertIn(f"s3://{bucket}/backup/{name}", listing)
        # A second sync after a change uploads the change and deletes the removed.
        (tree / "top.txt").write_bytes(b"changed")
        (tree / "a/one.txt").unlink()
        self.s3cmd("sync", "--delete-removed", f"{tree}/", f"s3://{bucket}/backup/")
        back = self.workdir / "back"
        back.mkdir()
        self.s3cmd("sync", f"s3://{bucket}/backup/", f"{back}/")
        self.assertEqual((back / "top.txt").read_bytes(), b"changed")
        self.assertFalse((back / "a/one.txt").exists())
        for name in names[2:]:
            self.assertEqual((back / name).read_bytes(), (tree / name).read_bytes(), name)

    def test_mb_bucket_location_eu(self) -> None:
        """``--bucket-location=EU`` (AWS's legacy name of eu-west-1, in
        upstream's default locationConfig.json): the bucket is made, takes
        objects, and GetBucketLocation answers EU, as AWS does."""
        bucket = unique_bucket(f"eu{'v2' if self.signatureV2 else 'v4'}")
        self.s3cmd("mb", "--bucket-location=EU", f"s3://{bucket}")
        self.addCleanup(self.s3cmd, "rb", "--recursive", "--force", f"s3://{bucket}",
                        check=False)
        source = self.write_file("eu.bin", 3000)
        self.s3cmd("put", source, f"s3://{bucket}/eu.bin")
        target = self.workdir / "eu.out"
        self.s3cmd("get", f"s3://{bucket}/eu.bin", target)
        self.assertEqual(target.read_bytes(), source.read_bytes())
        self.assertEqual(self.s3.get_bucket_location(Bucket=bucket)["LocationConstraint"],
                         "EU")
        self.assertEqual(self.s3.head_bucket(Bucket=bucket)["ResponseMetadata"]
                         ["HTTPHeaders"]["x-amz-bucket-region"], "eu-west-1")
        info = self.s3cmd("info", f"s3://{bucket}").stdout
        self.assertRegex(info, r"Location:\s+(EU|eu-west-1)")


class _LargeFileMixin:
    """Signature v4 classes only: s3cmd's v2 multipart is the same code with
    another signer, and the matrix must stay quick."""

    def test_put_get_large_file(self) -> None:
        """Over 100 MiB: 7 parts of s3cmd's 15 MiB."""
        bucket = self.mb()
        source = self.write_file("large.bin", LARGE_SIZE)
        self.s3cmd("put", source, f"s3://{bucket}/large.bin")
        head = self.s3.head_object(Bucket=bucket, Key="large.bin")
        self.assertEqual(head["ContentLength"], LARGE_SIZE)
        self.assertTrue(head["ETag"].endswith('-7"'), head["ETag"])
        target = self.workdir / "large.out"
        self.s3cmd("get", f"s3://{bucket}/large.bin", target)
        self.assertEqual(md5_file(target), md5_file(source))
        source.unlink()
        target.unlink()


class S3cmdV4Tests(_LargeFileMixin, _S3cmdMixin, S3TestCase):
    signatureV2 = False


class S3cmdV2Tests(_S3cmdMixin, S3TestCase):
    signatureV2 = True


class S3cmdV4HTTPSTests(_LargeFileMixin, _S3cmdMixin, S3TestCase):
    signatureV2 = False
    serverTLS = True


class S3cmdV2HTTPSTests(_S3cmdMixin, S3TestCase):
    signatureV2 = True
    serverTLS = True
