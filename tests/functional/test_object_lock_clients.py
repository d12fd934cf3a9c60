# -*- test-case-name: tests.functional.test_object_lock_clients -*-
"""Object lock with a real backup tool and through a crash: a restic
repository on a locked bucket whose pack files cannot be deleted, and
retentions, legal holds and lock configurations that survive ``kill -9``."""
from __future__ import annotations

import datetime
import os

from tests.functional.clients import Restic, empty_and_delete_bucket, unique_bucket
from tests.functional.s3case import S3TestCase

FUTURE = datetime.datetime(2140, 1, 1, tzinfo=datetime.timezone.utc)


def locked_bucket(case: S3TestCase, mode: str = "GOVERNANCE", days: int = 1) -> str:
    name = unique_bucket(case._testMethodName.removeprefix("test_"))
    case.s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    case.addCleanup(lambda: empty_and_delete_bucket(case.client(), name))
    case.s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": mode, "Days": days}}})
    return name


class ResticLockedRepositoryTests(S3TestCase):
    """restic init and backup into a bucket whose default retention locks
    every object it writes; its data cannot then be removed."""

    def test_backup_then_pack_files_cannot_be_deleted(self) -> None:
        bucket = locked_bucket(self)
        restic = Restic(self.server, self.workdir / "restic", bucket, "repo")
        source = self.workdir / "source"
        source.mkdir()
        (source / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))
        (source / "note.txt").write_text("locked backup\n")
        restic("init")
        restic("backup", source)
        restic("check")
        packs = [v for v in self.s3.list_object_versions(
            Bucket=bucket, Prefix="repo/data/")["Versions"]]
        self.assertTrue(packs)
        for version in packs:
            head = self.s3.head_object(Bucket=bucket, Key=version["Key"],
                                       VersionId=version["VersionId"])
            self.assertEqual(head["ObjectLockMode"], "GOVERNANCE")
            self.assertS3Error("AccessDenied", 403, self.s3.delete_object, Bucket=bucket,
                               Key=version["Key"], VersionId=version["VersionId"])
        # restic's own delete (forget --prune) only hides them behind markers
        restic("forget", "--keep-last", "0", "--prune", check=False)
        for version in packs:
            self.s3.head_object(Bucket=bucket, Key=version["Key"],
                                VersionId=version["VersionId"])
        restored = self.workdir / "restored"
        restic("restore", "latest", "--target", restored, check=False)


class LockSurvivesCrashTests(S3TestCase):
    sharedServer = False  # the test crashes its own server

    def test_retention_and_holds_survive_kill9(self) -> None:
        bucket = locked_bucket(self, days=2)
        kept = self.s3.put_object(Bucket=bucket, Key="default", Body=b"d")["VersionId"]
        until = self.s3.head_object(Bucket=bucket, Key="default")["ObjectLockRetainUntilDate"]
        compliance = self.s3.put_object(
            Bucket=bucket, Key="c", Body=b"c", ObjectLockMode="COMPLIANCE",
            ObjectLockRetainUntilDate=datetime.datetime.now(datetime.timezone.utc)
            + datetime.timedelta(seconds=20))["VersionId"]
        held = self.s3.put_object(Bucket=bucket, Key="h", Body=b"h",
                                  ObjectLockLegalHoldStatus="ON")["VersionId"]
        self.server.kill9()
        self.server.start()
        self.s3 = self.client()
        config = self.s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
        self.assertEqual(config["Rule"]["DefaultRetention"], {"Mode": "GOVERNANCE", "Days": 2})
        self.assertEqual(self.s3.get_object_retention(Bucket=bucket, Key="default",
                                                      VersionId=kept)["Retention"],
                         {"Mode": "GOVERNANCE", "RetainUntilDate": until})
        self.assertEqual(self.s3.get_object_retention(
            Bucket=bucket, Key="c", VersionId=compliance)["Retention"]["Mode"], "COMPLIANCE")
        self.assertEqual(self.s3.get_object_legal_hold(
            Bucket=bucket, Key="h", VersionId=held)["LegalHold"], {"Status": "ON"})
        for key, version in (("default", kept), ("c", compliance), ("h", held)):
            self.assertS3Error("AccessDenied", 403, self.s3.delete_object, Bucket=bucket,
                               Key=key, VersionId=version)
        self.assertS3Error("InvalidBucketState", 409, self.s3.put_bucket_versioning,
                           Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
