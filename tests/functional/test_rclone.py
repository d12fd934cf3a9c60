# -*- test-case-name: tests.functional.test_rclone -*-
"""
rclone with the docs' remote (provider Other, ``region = other-v2-signature``)
and the same remote signing with v4, over HTTP and over HTTPS (the test CA
given with rclone's global ``--ca-cert``).
"""

from __future__ import annotations

import hashlib

from tests.functional.clients import LARGE_SIZE, Rclone, md5_file, unique_bucket
from tests.functional.s3case import S3TestCase


class RcloneTests(S3TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.rclone = Rclone(self.server, self.workdir / "home")

    def tree(self) -> dict[str, bytes]:
        names = ["one.txt", "dir/two.bin", "dir/sub/three.bin", "with space/four+.txt"]
        contents = {}
        for index, name in enumerate(names):
            contents[name] = self.write_file(f"src/{name}", 1000 * (index + 1)).read_bytes()
        return contents

    def workflow(self, remote: str) -> None:
        """mkdir, copy, lsd, ls, check, sync, purge on one remote."""
        bucket = unique_bucket(f"rclone{remote}")
        target = f"{remote}:{bucket}"
        self.addCleanup(self.rclone, "purge", target, check=False)
        files = self.tree()
        source = self.workdir / "src"

        self.rclone("mkdir", target)
        self.assertIn(bucket, self.rclone("lsd", f"{remote}:").stdout)
        self.rclone("copy", source, f"{target}/data")
        listing = self.rclone("ls", target).stdout
        for name, data in files.items():
            self.assertIn(f"{len(data)} data/{name}", listing)
        self.assertIn("dir", self.rclone("lsd", f"{target}/data").stdout)
        self.rclone("check", source, f"{target}/data")

        # sync: a changed file, a new file, a removed file.
        (source / "one.txt").write_bytes(b"changed content")
        (source / "new.txt").write_bytes(b"new file")
        (source / "dir/two.bin").unlink()
        self.rclone("sync", source, f"{target}/data")
        self.rclone("check", source, f"{target}/data")
        listing = self.rclone("ls", target).stdout
        self.assertNotIn("two.bin", listing)
        self.assertIn("8 data/new.txt", listing)
        back = self.workdir / "back"
        self.rclone("copy", f"{target}/data", back)
        self.assertEqual((back / "one.txt").read_bytes(), b"changed content")

        self.rclone("purge", target)
        self.assertNotIn(bucket, self.rclone("lsd", f"{remote}:").stdout)

    def test_v2_remote(self) -> None:
        self.workflow("v2")

    def test_v4_remote(self) -> None:
        self.workflow("v4")

    def test_multipart(self) -> None:
        """A 5 MiB upload cutoff makes rclone upload 12 MiB in 3 parts (v4 and v2)."""
        source = self.write_file("mp/big.bin", 12 * 1024 * 1024 + 7)
        digest = hashlib.md5(source.read_bytes()).hexdigest()
        for remote in ("v4", "v2"):
            bucket = unique_bucket(f"rclonemp{remote}")
            target = f"{remote}:{bucket}"
            self.addCleanup(self.rclone, "purge", target, check=False)
            self.rclone("mkdir", target)
            self.rclone("copy", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M",
                        source.parent, target)
            head = self.s3.head_object(Bucket=bucket, Key="big.bin")
            self.assertEqual(head["ContentLength"], source.stat().st_size)
            self.assertTrue(head["ETag"].endswith('-3"'), head["ETag"])
            self.rclone("check", source.parent, target)
            back = self.workdir / f"mp-back-{remote}"
            self.rclone("copy", target, back)
            self.assertEqual(hashlib.md5((back / "big.bin").read_bytes()).hexdigest(), digest)

    def test_large_file(self) -> None:
        """Over 100 MiB in 16 MiB parts, 4 at a time (v4 remote); rclone's
        default cutoff (200 MiB) would send it in one PUT."""
        source = self.write_file("large/large.bin", LARGE_SIZE)
        bucket = unique_bucket("rclonelarge")
        target = f"v4:{bucket}"
        self.addCleanup(self.rclone, "purge", target, check=False)
        self.rclone("mkdir", target)
        self.rclone("copy", "--s3-upload-cutoff", "32M", "--s3-chunk-size", "16M",
                    "--s3-upload-concurrency", "4", source.parent, target)
        head = self.s3.head_object(Bucket=bucket, Key="large.bin")
        self.assertEqual(head["ContentLength"], LARGE_SIZE)
        self.assertTrue(head["ETag"].endswith('-7"'), head["ETag"])
        self.rclone("check", source.parent, target)
        back = self.workdir / "large-back"
        self.rclone("copy", target, back)
        self.assertEqual(md5_file(back / "large.bin"), md5_file(source))
        source.unlink()
        (back / "large.bin").unlink()


class RcloneHTTPSTests(RcloneTests):
    """The same over HTTPS."""

    serverTLS = True
