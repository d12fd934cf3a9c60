# -*- test-case-name: tests.functional.test_versioning_ids -*-
"""
Which version a request names, through boto3 and raw signed requests: the
null version as the ACL and tagging operations report it, a delete marker
named by id (405), a well-formed id that names nothing (NoSuchVersion, and
no change), a malformed one (InvalidArgument; NoSuchVersion per key in
DeleteObjects, as AWS), and the id forms upstream CloudServer issues.
"""

from __future__ import annotations

from cloudserver.metadata import version_id as vid
from tests.functional.test_versioning import VersioningTestCase, headers

TAGS = {"TagSet": [{"Key": "t", "Value": "1"}]}
#: Well-formed, but no server issued it: a second of September 2020.
MISSING = vid.encode(vid.format_version_id(1_600_000_000_000, 7, "RG001"))


def upstream_ids() -> list[str]:
    """Ids of the forms upstream CloudServer issues that name nothing here:
    the hex form (of 27 characters, and with the "other information" its
    generator appends), and the base62 form of a 35-character id (with an
    instance id and a format suffix)."""
    internal = vid.format_version_id(1_600_000_000_000, 9, "RG001")
    long_internal = internal + "abcdef" + "|1"
    rg_number = int.from_bytes(long_internal[20:].encode("ascii"), "big")
    base62_35 = vid.encode(internal)[:12] + vid._b62(rg_number, 20)
    return [internal.encode().hex(), (internal + "0.1.2").encode().hex(), base62_35]


class NullVersionHeaderTests(VersioningTestCase):
    """The null version answers ``x-amz-version-id: null`` once the bucket has
    a versioning state, with or without ``versionId=null``."""

    def object_ops(self, bucket: str, key: str, **kw) -> list:
        """(name, response) of every ACL and tagging operation on the object."""
        s3 = self.s3
        return [
            ("GetObjectAcl", s3.get_object_acl(Bucket=bucket, Key=key, **kw)),
            ("PutObjectAcl", s3.put_object_acl(Bucket=bucket, Key=key, ACL="private", **kw)),
            ("PutObjectTagging", s3.put_object_tagging(Bucket=bucket, Key=key,
                                                       Tagging=TAGS, **kw)),
            ("GetObjectTagging", s3.get_object_tagging(Bucket=bucket, Key=key, **kw)),
            ("DeleteObjectTagging", s3.delete_object_tagging(Bucket=bucket, Key=key, **kw)),
            ("GetObject", s3.get_object(Bucket=bucket, Key=key, **kw)),
            ("HeadObject", s3.head_object(Bucket=bucket, Key=key, **kw)),
        ]

    def assertVersionHeader(self, responses: list, expected: str | None) -> None:
        got = [(name, headers(r).get("x-amz-version-id")) for name, r in responses]
        self.assertEqual(got, [(name, expected) for name, _ in responses])

    def test_written_before_versioning(self) -> None:
        bucket = self.bucket(None)
        self.put(bucket, "k", b"pre")
        self.set_versioning(bucket, "Enabled")
        self.assertVersionHeader(self.object_ops(bucket, "k"), "null")
        self.assertVersionHeader(self.object_ops(bucket, "k", VersionId="null"), "null")
        # a newer version on top: versionId=null still names the old one
        v1 = self.put(bucket, "k", b"v1")["VersionId"]
        self.assertVersionHeader(self.object_ops(bucket, "k", VersionId="null"), "null")
        self.assertVersionHeader(self.object_ops(bucket, "k"), v1)
        self.assertEqual(self.versions(bucket), [("k", v1, True, 2), ("k", "null", False, 3)])

    def test_written_while_suspended(self) -> None:
        bucket = self.bucket("Suspended")
        self.put(bucket, "k", b"null")
        self.assertVersionHeader(self.object_ops(bucket, "k"), "null")
        self.assertVersionHeader(self.object_ops(bucket, "k", VersionId="null"), "null")
        self.assertEqual(self.versions(bucket), [("k", "null", True, 4)])

    def test_never_versioned_bucket_has_no_version(self) -> None:
        bucket = self.bucket(None)
        self.put(bucket, "k", b"plain")
        self.assertVersionHeader(self.object_ops(bucket, "k"), None)


class DeleteMarkerVersionTests(VersioningTestCase):

    def test_every_object_operation_on_a_marker_is_405(self) -> None:
        """As AWS: 405 with x-amz-delete-marker, the marker's id and
        Last-Modified, and Allow naming the one method a marker takes."""
        bucket = self.bucket()
        self.put(bucket, "k", b"data")
        dm = self.s3.delete_object(Bucket=bucket, Key="k")["VersionId"]
        marker = self.s3.list_object_versions(Bucket=bucket)["DeleteMarkers"][0]
        kw = {"Bucket": bucket, "Key": "k", "VersionId": dm}
        calls = [(self.s3.get_object, {}), (self.s3.get_object_acl, {}),
                 (self.s3.put_object_acl, {"ACL": "private"}),
                 (self.s3.get_object_tagging, {}),
                 (self.s3.put_object_tagging, {"Tagging": TAGS}),
                 (self.s3.delete_object_tagging, {})]
        for f, extra in calls:
            e = self.assertS3Error("MethodNotAllowed", 405, f, **kw, **extra)
            h = headers(e.response)
            self.assertEqual((h["x-amz-delete-marker"], h["x-amz-version-id"], h["allow"]),
                             ("true", dm, "DELETE"), f)
            self.assertEqual(e.response["Error"]["ResourceType"], "DeleteMarker")
            self.assertEqual(h["last-modified"],
                             marker["LastModified"].strftime("%a, %d %b %Y %H:%M:%S GMT"))
        r = self.signed_request("HEAD", f"/{bucket}/k?versionId={dm}")
        self.assertEqual((r.status, r.read()), (405, b""))
        self.assertEqual((r.getheader("x-amz-delete-marker"), r.getheader("Allow")),
                         ("true", "DELETE"))
        self.assertIsNotNone(r.getheader("Last-Modified"))
        self.assertEqual(len(self.versions(bucket)), 2)


class MissingVersionTests(VersioningTestCase):

    def fill(self) -> tuple[str, list]:
        bucket = self.bucket(None)
        self.put(bucket, "pre", b"pre")
        self.set_versioning(bucket, "Enabled")
        self.put(bucket, "k", b"one")
        self.s3.delete_object(Bucket=bucket, Key="gone")
        return bucket, self.versions(bucket)

    def assertNoSuchVersion(self, bucket: str, key: str, version: str) -> None:
        kw = {"Bucket": bucket, "Key": key, "VersionId": version}
        for f, extra in [(self.s3.get_object, {}), (self.s3.get_object_acl, {}),
                         (self.s3.put_object_acl, {"ACL": "public-read"}),
                         (self.s3.get_object_tagging, {}),
                         (self.s3.put_object_tagging, {"Tagging": TAGS}),
                         (self.s3.delete_object_tagging, {})]:
            e = self.assertS3Error("NoSuchVersion", 404, f, **kw, **extra)
            error = e.response["Error"]
            self.assertEqual((error["Message"], error["Key"], error["VersionId"]),
                             ("The specified version does not exist.", key, version), f)
        r = self.signed_request("HEAD", f"/{bucket}/{key}?versionId={version}")
        self.assertEqual((r.status, r.read()), (404, b""))

    def test_no_such_version_changes_nothing(self) -> None:
        bucket, before = self.fill()
        for key in ("k", "pre", "gone", "never"):
            self.assertNoSuchVersion(bucket, key, MISSING)
        self.assertEqual(self.versions(bucket), before)
        self.assertEqual(self.s3.get_object_tagging(Bucket=bucket, Key="k")["TagSet"], [])

    def test_delete_of_a_missing_version_makes_no_marker(self) -> None:
        bucket, before = self.fill()
        for status in ("Enabled", "Suspended"):
            self.set_versioning(bucket, status)
            for key in ("k", "pre", "gone", "never"):
                r = self.s3.delete_object(Bucket=bucket, Key=key, VersionId=MISSING)
                self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
                self.assertNotIn("x-amz-delete-marker", headers(r))
                self.assertEqual(self.versions(bucket), before)

    def test_multi_delete_missing_and_malformed(self) -> None:
        """A well-formed id that names nothing is deleted (no marker); a
        malformed one is that key's NoSuchVersion error (as AWS and upstream)."""
        bucket, before = self.fill()
        r = self.s3.delete_objects(Bucket=bucket, Delete={"Objects": [
            {"Key": "k", "VersionId": MISSING}, {"Key": "k", "VersionId": "garbage"},
            {"Key": "never", "VersionId": MISSING}]})
        self.assertEqual([(d["Key"], d["VersionId"], d.get("DeleteMarker"))
                          for d in r["Deleted"]], [("k", MISSING, None), ("never", MISSING, None)])
        self.assertEqual([(e["Key"], e["VersionId"], e["Code"]) for e in r["Errors"]],
                         [("k", "garbage", "NoSuchVersion")])
        self.assertEqual(self.versions(bucket), before)

    def test_malformed_is_invalid_argument(self) -> None:
        bucket, before = self.fill()
        kw = {"Bucket": bucket, "Key": "k", "VersionId": "garbage"}
        for f, extra in [(self.s3.get_object, {}), (self.s3.get_object_acl, {}),
                         (self.s3.put_object_acl, {"ACL": "public-read"}),
                         (self.s3.get_object_tagging, {}),
                         (self.s3.put_object_tagging, {"Tagging": TAGS}),
                         (self.s3.delete_object_tagging, {}), (self.s3.delete_object, {})]:
            e = self.assertS3Error("InvalidArgument", 400, f, **kw, **extra)
            self.assertEqual(e.response["Error"]["Message"], "Invalid version id specified")
        self.assertEqual(self.versions(bucket), before)

    def test_upstream_id_forms_are_well_formed(self) -> None:
        bucket, before = self.fill()
        for version in upstream_ids():
            self.assertNoSuchVersion(bucket, "k", version)
            r = self.s3.delete_object(Bucket=bucket, Key="k", VersionId=version)
            self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual(self.versions(bucket), before)
        # the hex form of one of our own ids names that version
        v1 = next(v[1] for v in before if v[0] == "k")
        hex_id = vid.decode(v1).encode().hex()
        got = self.s3.get_object(Bucket=bucket, Key="k", VersionId=hex_id)
        self.assertEqual(got["Body"].read(), b"one")
