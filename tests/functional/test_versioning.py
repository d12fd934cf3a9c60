# -*- test-case-name: tests.functional.test_versioning -*-
"""
Bucket versioning through boto3, case by case as the CloudServer docs
("Implementation of Bucket Versioning in API") and issue 4 list them:
versioning states, null versions (before versioning, while suspended,
preserved when re-enabled), delete markers and their headers, the
``versionId=null`` mapping, version-specific GET / HEAD / DELETE / copy
source, the error cases, multi-object delete with versions,
ListObjectVersions (paging included), ListObjects seeing only live
objects, and concurrent PUTs of one key.
"""

from __future__ import annotations

import threading

from botocore.exceptions import ClientError

from tests.functional.s3case import S3TestCase

def delete_all_versions(client, bucket: str) -> None:
    """Cleanup of a versioned bucket: every version and marker, then the bucket."""
    try:
        for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
            objects = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                       for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
            if objects:
                client.delete_objects(Bucket=bucket, Delete={"Objects": objects, "Quiet": True})
        client.delete_bucket(Bucket=bucket)
    except Exception as error:  # noqa: BLE001 - cleanup must not mask the test result
        print(f"cleanup of bucket {bucket} failed: {error}")


def headers(response) -> dict:
    return response["ResponseMetadata"]["HTTPHeaders"]


class VersioningTestCase(S3TestCase):
    """Helpers: versioned buckets (fully emptied on cleanup), puts, reads."""

    def bucket(self, status: str | None = "Enabled") -> str:
        name = self.make_bucket()
        self.addCleanup(delete_all_versions, self.s3, name)
        if status is not None:
            self.set_versioning(name, status)
        return name

    def set_versioning(self, bucket: str, status: str) -> None:
        self.s3.put_bucket_versioning(Bucket=bucket,
                                      VersioningConfiguration={"Status": status})

    def put(self, bucket: str, key: str, body: bytes):
        return self.s3.put_object(Bucket=bucket, Key=key, Body=body)

    def read(self, bucket: str, key: str, version: str | None = None) -> bytes:
        extra = {"VersionId": version} if version is not None else {}
        return self.s3.get_object(Bucket=bucket, Key=key, **extra)["Body"].read()

    def versions(self, bucket: str, **kwargs) -> list[tuple]:
        """[(key, version id, is latest, data or "DM")] in listing order."""
        r = self.s3.list_object_versions(Bucket=bucket, **kwargs)
        out = []
        for v in r.get("Versions", []):
            out.append((v["Key"], v["VersionId"], v["IsLatest"], v["Size"]))
        for m in r.get("DeleteMarkers", []):
            out.append((m["Key"], m["VersionId"], m["IsLatest"], "DM"))
        return out

    def live_keys_v1(self, bucket: str) -> list[str]:
        return [o["Key"] for o in self.s3.list_objects(Bucket=bucket).get("Contents", [])]

    def live_keys_v2(self, bucket: str) -> list[str]:
        return [o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


class BucketVersioningTests(VersioningTestCase):

    def test_get_put_bucket_versioning(self) -> None:
        bucket = self.bucket(None)
        r = self.s3.get_bucket_versioning(Bucket=bucket)
        self.assertNotIn("Status", r)  # never configured
        self.set_versioning(bucket, "Enabled")
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=bucket)["Status"], "Enabled")
        self.set_versioning(bucket, "Suspended")
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=bucket)["Status"], "Suspended")
        self.set_versioning(bucket, "Enabled")
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=bucket)["Status"], "Enabled")

    def test_mfa_delete_refused(self) -> None:
        bucket = self.bucket(None)
        # AWS's answer without x-amz-mfa; with it, we cannot verify the token.
        self.assertS3Error("AccessDenied", 403, self.s3.put_bucket_versioning,
                           Bucket=bucket, VersioningConfiguration={
                               "Status": "Enabled", "MFADelete": "Enabled"})
        self.assertS3Error("NotImplemented", 501, self.s3.put_bucket_versioning,
                           Bucket=bucket, MFA="20899872 301749", VersioningConfiguration={
                               "Status": "Enabled", "MFADelete": "Enabled"})
        self.assertNotIn("Status", self.s3.get_bucket_versioning(Bucket=bucket))
        # MfaDelete Disabled is what every bucket has: accepted.
        self.s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={
            "Status": "Enabled", "MFADelete": "Disabled"})
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=bucket)["Status"], "Enabled")

    def test_bad_status_is_malformed(self) -> None:
        bucket = self.bucket(None)
        body = (b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                b"<Status>On</Status></VersioningConfiguration>")
        r = self.signed_request("PUT", f"/{bucket}?versioning", body)
        self.assertEqual(r.status, 400)
        self.assertIn(b"<Code>MalformedXML</Code>", r.read())

    def test_empty_configuration_is_illegal(self) -> None:
        bucket = self.bucket(None)
        for body in (b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>',
                     b"<VersioningConfiguration><Status></Status></VersioningConfiguration>"):
            r = self.signed_request("PUT", f"/{bucket}?versioning", body)
            self.assertEqual(r.status, 400)
            answer = r.read()
            self.assertIn(b"<Code>IllegalVersioningConfigurationException</Code>", answer)
            self.assertIn(b"<Message>The Versioning element must be specified</Message>",
                          answer)
        self.assertNotIn("Status", self.s3.get_bucket_versioning(Bucket=bucket))

    def test_no_such_bucket(self) -> None:
        self.assertS3Error("NoSuchBucket", 404, self.s3.get_bucket_versioning,
                           Bucket="ft-no-such-versioning-bucket")


class NullVersionTests(VersioningTestCase):

    def test_null_version_before_versioning(self) -> None:
        """An object put before versioning was configured is the null version."""
        bucket = self.bucket(None)
        put = self.put(bucket, "k", b"pre")
        self.assertNotIn("x-amz-version-id", headers(put))
        self.assertNotIn("VersionId", self.s3.head_object(Bucket=bucket, Key="k"))
        self.set_versioning(bucket, "Enabled")
        self.assertEqual(self.versions(bucket), [("k", "null", True, 3)])
        v1 = self.put(bucket, "k", b"first")["VersionId"]
        self.assertNotEqual(v1, "null")
        self.assertEqual(self.versions(bucket), [("k", v1, True, 5), ("k", "null", False, 3)])
        self.assertEqual(self.read(bucket, "k"), b"first")
        self.assertEqual(self.read(bucket, "k", "null"), b"pre")
        head = self.s3.head_object(Bucket=bucket, Key="k", VersionId="null")
        self.assertEqual((head["ContentLength"], head["VersionId"]), (3, "null"))

    def test_suspended_puts_overwrite_the_null_version(self) -> None:
        bucket = self.bucket("Enabled")
        v1 = self.put(bucket, "k", b"v1")["VersionId"]
        self.set_versioning(bucket, "Suspended")
        put = self.put(bucket, "k", b"null-1")
        self.assertIn(headers(put).get("x-amz-version-id"), (None, "null"))
        self.put(bucket, "k", b"null-two")
        self.assertEqual(self.versions(bucket), [("k", "null", True, 8), ("k", v1, False, 2)])
        self.assertEqual(self.read(bucket, "k"), b"null-two")
        self.assertEqual(self.read(bucket, "k", "null"), b"null-two")
        self.assertEqual(self.read(bucket, "k", v1), b"v1")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["VersionId"], "null")

    def test_suspended_put_replaces_null_that_is_not_latest(self) -> None:
        """The docs' case 3: the null version named by nullVersionId goes."""
        bucket = self.bucket("Suspended")
        self.put(bucket, "k", b"null-old")
        self.set_versioning(bucket, "Enabled")
        v2 = self.put(bucket, "k", b"v2")["VersionId"]
        self.set_versioning(bucket, "Suspended")
        self.put(bucket, "k", b"null-new!")
        self.assertEqual(self.versions(bucket), [("k", "null", True, 9), ("k", v2, False, 2)])
        self.assertEqual(self.read(bucket, "k", "null"), b"null-new!")

    def test_null_version_preserved_when_reenabled(self) -> None:
        bucket = self.bucket("Suspended")
        self.put(bucket, "k", b"null")
        self.set_versioning(bucket, "Enabled")
        v1 = self.put(bucket, "k", b"v1")["VersionId"]
        v2 = self.put(bucket, "k", b"v22")["VersionId"]
        self.assertEqual(self.versions(bucket), [("k", v2, True, 3), ("k", v1, False, 2),
                                                 ("k", "null", False, 4)])
        self.assertEqual(self.read(bucket, "k", "null"), b"null")
        # deleting the null version leaves the others alone
        r = self.s3.delete_object(Bucket=bucket, Key="k", VersionId="null")
        self.assertEqual(r["VersionId"], "null")
        self.assertEqual(self.versions(bucket), [("k", v2, True, 3), ("k", v1, False, 2)])
        self.assertS3Error("NoSuchVersion", 404, self.s3.get_object,
                           Bucket=bucket, Key="k", VersionId="null")

    def test_version_id_null_without_null_version(self) -> None:
        bucket = self.bucket("Enabled")
        self.put(bucket, "k", b"v1")
        self.assertS3Error("NoSuchVersion", 404, self.s3.get_object,
                           Bucket=bucket, Key="k", VersionId="null")
        self.assertS3Error("404", 404, self.s3.head_object,
                           Bucket=bucket, Key="k", VersionId="null")


class DeleteMarkerTests(VersioningTestCase):

    def test_delete_creates_a_marker(self) -> None:
        bucket = self.bucket()
        v1 = self.put(bucket, "k", b"data")["VersionId"]
        r = self.s3.delete_object(Bucket=bucket, Key="k")
        h = headers(r)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertEqual(h["x-amz-delete-marker"], "true")
        dm = h["x-amz-version-id"]
        self.assertEqual((r["DeleteMarker"], r["VersionId"]), (True, dm))
        self.assertNotIn(dm, (v1, "null"))
        # the object is gone for plain reads, with the marker's headers
        e = self.assertS3Error("NoSuchKey", 404, self.s3.get_object, Bucket=bucket, Key="k")
        self.assertEqual(headers(e.response)["x-amz-delete-marker"], "true")
        self.assertEqual(headers(e.response)["x-amz-version-id"], dm)
        e = self.assertS3Error("404", 404, self.s3.head_object, Bucket=bucket, Key="k")
        self.assertEqual(headers(e.response)["x-amz-delete-marker"], "true")
        # but the old version is still there
        self.assertEqual(self.read(bucket, "k", v1), b"data")
        self.assertEqual(self.versions(bucket), [("k", v1, False, 4), ("k", dm, True, "DM")])
        self.assertEqual(self.live_keys_v1(bucket), [])
        self.assertEqual(self.live_keys_v2(bucket), [])

    def test_delete_marker_by_version_id_is_405(self) -> None:
        bucket = self.bucket()
        self.put(bucket, "k", b"data")
        dm = self.s3.delete_object(Bucket=bucket, Key="k")["VersionId"]
        e = self.assertS3Error("MethodNotAllowed", 405, self.s3.get_object,
                               Bucket=bucket, Key="k", VersionId=dm)
        self.assertEqual(headers(e.response)["x-amz-delete-marker"], "true")
        self.assertEqual(headers(e.response)["x-amz-version-id"], dm)
        e = self.assertS3Error("405", 405, self.s3.head_object,
                               Bucket=bucket, Key="k", VersionId=dm)
        self.assertEqual(headers(e.response)["x-amz-delete-marker"], "true")

    def test_deleting_the_marker_restores_the_object(self) -> None:
        bucket = self.bucket()
        v1 = self.put(bucket, "k", b"data")["VersionId"]
        dm = self.s3.delete_object(Bucket=bucket, Key="k")["VersionId"]
        r = self.s3.delete_object(Bucket=bucket, Key="k", VersionId=dm)
        h = headers(r)
        self.assertEqual((h["x-amz-delete-marker"], h["x-amz-version-id"]), ("true", dm))
        self.assertEqual(self.read(bucket, "k"), b"data")
        self.assertEqual(self.versions(bucket), [("k", v1, True, 4)])
        self.assertEqual(self.live_keys_v2(bucket), ["k"])

    def test_marker_for_a_missing_key(self) -> None:
        bucket = self.bucket()
        r = self.s3.delete_object(Bucket=bucket, Key="ghost")
        self.assertTrue(r["DeleteMarker"])
        self.assertEqual(self.versions(bucket), [("ghost", r["VersionId"], True, "DM")])

    def test_suspended_delete_makes_a_null_marker(self) -> None:
        bucket = self.bucket("Enabled")
        v1 = self.put(bucket, "k", b"v1")["VersionId"]
        self.set_versioning(bucket, "Suspended")
        self.put(bucket, "k", b"null")
        r = self.s3.delete_object(Bucket=bucket, Key="k")
        self.assertEqual((headers(r)["x-amz-delete-marker"], r["VersionId"]), ("true", "null"))
        # the null version was replaced by the marker; v1 stays
        self.assertEqual(self.versions(bucket), [("k", v1, False, 2), ("k", "null", True, "DM")])

    def test_unversioned_delete_has_no_marker(self) -> None:
        bucket = self.bucket(None)
        self.put(bucket, "k", b"x")
        r = self.s3.delete_object(Bucket=bucket, Key="k")
        self.assertNotIn("x-amz-delete-marker", headers(r))
        self.assertEqual(self.versions(bucket), [])


class VersionSpecificTests(VersioningTestCase):

    def test_get_head_delete_by_version(self) -> None:
        bucket = self.bucket()
        ids = [self.put(bucket, "k", b"x" * n)["VersionId"] for n in (1, 2, 3)]
        self.assertEqual(len(set(ids)), 3)
        for n, vid in zip((1, 2, 3), ids):
            got = self.s3.get_object(Bucket=bucket, Key="k", VersionId=vid)
            self.assertEqual((got["Body"].read(), got["VersionId"]), (b"x" * n, vid))
            head = self.s3.head_object(Bucket=bucket, Key="k", VersionId=vid)
            self.assertEqual((head["ContentLength"], head["VersionId"]), (n, vid))
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["VersionId"], ids[2])
        # delete a middle version: nothing else changes
        r = self.s3.delete_object(Bucket=bucket, Key="k", VersionId=ids[1])
        self.assertEqual(r["VersionId"], ids[1])
        self.assertNotIn("x-amz-delete-marker", headers(r))
        self.assertEqual(self.versions(bucket), [("k", ids[2], True, 3), ("k", ids[0], False, 1)])
        # delete the latest: the previous one becomes the object
        self.s3.delete_object(Bucket=bucket, Key="k", VersionId=ids[2])
        self.assertEqual(self.read(bucket, "k"), b"x")
        self.assertEqual(self.versions(bucket), [("k", ids[0], True, 1)])
        # and the last one: the key is gone
        self.s3.delete_object(Bucket=bucket, Key="k", VersionId=ids[0])
        self.assertEqual(self.versions(bucket), [])
        self.assertS3Error("NoSuchKey", 404, self.s3.get_object, Bucket=bucket, Key="k")

    def test_no_such_version(self) -> None:
        bucket = self.bucket()
        v1 = self.put(bucket, "k", b"1")["VersionId"]
        self.put(bucket, "k", b"2")
        self.s3.delete_object(Bucket=bucket, Key="k", VersionId=v1)
        self.assertS3Error("NoSuchVersion", 404, self.s3.get_object,
                           Bucket=bucket, Key="k", VersionId=v1)
        self.assertS3Error("404", 404, self.s3.head_object, Bucket=bucket, Key="k", VersionId=v1)
        self.assertS3Error("NoSuchVersion", 404, self.s3.get_object,
                           Bucket=bucket, Key="other", VersionId=v1)
        # deleting a version that is not there is not an error (as AWS)
        r = self.s3.delete_object(Bucket=bucket, Key="k", VersionId=v1)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)

    def test_malformed_version_id(self) -> None:
        bucket = self.bucket()
        self.put(bucket, "k", b"1")
        for bad in ("garbage", "0" * 32 + "x", "ffff"):
            self.assertS3Error("InvalidArgument", 400, self.s3.get_object,
                               Bucket=bucket, Key="k", VersionId=bad)
            self.assertS3Error("400", 400, self.s3.head_object,
                               Bucket=bucket, Key="k", VersionId=bad)
            self.assertS3Error("InvalidArgument", 400, self.s3.delete_object,
                               Bucket=bucket, Key="k", VersionId=bad)
        self.assertEqual(self.read(bucket, "k"), b"1")

    def test_put_with_version_id_is_refused(self) -> None:
        bucket = self.bucket()
        v1 = self.put(bucket, "k", b"1")["VersionId"]
        r = self.signed_request("PUT", f"/{bucket}/k?versionId={v1}", b"overwrite")
        body = r.read()
        self.assertEqual(r.status, 400, body)
        self.assertIn(b"<Code>InvalidArgument</Code>", body)
        self.assertEqual(self.read(bucket, "k", v1), b"1")
        self.assertEqual(len(self.versions(bucket)), 1)
        # CopyObject too (the docs: no API overwrites an existing version)
        r = self.signed_request("PUT", f"/{bucket}/k?versionId={v1}", b"",
                                {"x-amz-copy-source": f"/{bucket}/k"})
        self.assertEqual(r.status, 400)
        self.assertIn(b"<Code>InvalidArgument</Code>", r.read())
        self.assertEqual(len(self.versions(bucket)), 1)


class CopySourceVersionTests(VersioningTestCase):

    def test_copy_from_a_version(self) -> None:
        bucket = self.bucket()
        v1 = self.put(bucket, "src", b"old")["VersionId"]
        v2 = self.put(bucket, "src", b"newer")["VersionId"]
        r = self.s3.copy_object(Bucket=bucket, Key="dst",
                                CopySource={"Bucket": bucket, "Key": "src", "VersionId": v1})
        self.assertEqual(r["CopySourceVersionId"], v1)
        self.assertEqual(headers(r)["x-amz-copy-source-version-id"], v1)
        dst_vid = r["VersionId"]
        self.assertNotIn(dst_vid, (v1, v2, "null"))
        self.assertEqual(self.read(bucket, "dst"), b"old")
        # without a version: the latest, and its id is reported
        r = self.s3.copy_object(Bucket=bucket, Key="dst",
                                CopySource={"Bucket": bucket, "Key": "src"})
        self.assertEqual(r["CopySourceVersionId"], v2)
        self.assertEqual(self.read(bucket, "dst"), b"newer")
        self.assertEqual(self.read(bucket, "dst", dst_vid), b"old")
        # a copy from the null version
        plain = self.bucket(None)
        self.put(plain, "p", b"pre")
        r = self.s3.copy_object(Bucket=bucket, Key="fromnull",
                                CopySource={"Bucket": plain, "Key": "p", "VersionId": "null"})
        self.assertEqual(self.read(bucket, "fromnull"), b"pre")

    def test_copy_from_a_delete_marker(self) -> None:
        bucket = self.bucket()
        self.put(bucket, "src", b"data")
        dm = self.s3.delete_object(Bucket=bucket, Key="src")["VersionId"]
        self.assertS3Error("NoSuchKey", 404, self.s3.copy_object, Bucket=bucket, Key="dst",
                           CopySource={"Bucket": bucket, "Key": "src"})
        self.assertS3Error("InvalidRequest", 400, self.s3.copy_object, Bucket=bucket,
                           Key="dst", CopySource={"Bucket": bucket, "Key": "src",
                                                  "VersionId": dm})

    def test_copy_from_missing_or_bad_version(self) -> None:
        bucket = self.bucket()
        v1 = self.put(bucket, "src", b"1")["VersionId"]
        self.put(bucket, "src", b"2")
        self.s3.delete_object(Bucket=bucket, Key="src", VersionId=v1)
        self.assertS3Error("NoSuchVersion", 404, self.s3.copy_object, Bucket=bucket, Key="d",
                           CopySource={"Bucket": bucket, "Key": "src", "VersionId": v1})
        self.assertS3Error("InvalidArgument", 400, self.s3.copy_object, Bucket=bucket,
                           Key="d", CopySource={"Bucket": bucket, "Key": "src",
                                                "VersionId": "garbage"})


class DeleteObjectsTests(VersioningTestCase):

    def test_multi_delete_with_versions(self) -> None:
        bucket = self.bucket()
        a1 = self.put(bucket, "a", b"a1")["VersionId"]
        a2 = self.put(bucket, "a", b"a2")["VersionId"]
        b1 = self.put(bucket, "b", b"b1")["VersionId"]
        dm_c = self.s3.delete_object(Bucket=bucket, Key="c")["VersionId"]
        r = self.s3.delete_objects(Bucket=bucket, Delete={"Objects": [
            {"Key": "a", "VersionId": a1},      # one version
            {"Key": "b"},                       # a new delete marker
            {"Key": "c", "VersionId": dm_c},    # removes a delete marker
        ]})
        self.assertEqual(r.get("Errors", []), [])
        deleted = {d["Key"]: d for d in r["Deleted"]}
        self.assertEqual(deleted["a"]["VersionId"], a1)
        self.assertNotIn("DeleteMarker", deleted["a"])
        self.assertTrue(deleted["b"]["DeleteMarker"])
        dm_b = deleted["b"]["DeleteMarkerVersionId"]
        self.assertEqual((deleted["c"]["VersionId"], deleted["c"]["DeleteMarker"],
                          deleted["c"]["DeleteMarkerVersionId"]), (dm_c, True, dm_c))
        self.assertEqual(self.versions(bucket), [
            ("a", a2, True, 2), ("b", b1, False, 2), ("b", dm_b, True, "DM")])
        self.assertEqual(self.live_keys_v2(bucket), ["a"])

    def test_multi_delete_errors_per_key(self) -> None:
        bucket = self.bucket()
        self.put(bucket, "a", b"a")
        r = self.s3.delete_objects(Bucket=bucket, Delete={"Objects": [
            {"Key": "a", "VersionId": "garbage"}, {"Key": "a", "VersionId": "null"}]})
        errors = r.get("Errors", [])
        # a malformed id is that key's NoSuchVersion in a multi-object delete, as AWS
        self.assertEqual([(e["Key"], e["Code"]) for e in errors], [("a", "NoSuchVersion")])
        # a missing null version is reported deleted, as AWS does
        self.assertEqual([(d["Key"], d.get("VersionId")) for d in r["Deleted"]], [("a", "null")])
        self.assertEqual(self.live_keys_v2(bucket), ["a"])

    def test_multi_delete_quiet_versions(self) -> None:
        bucket = self.bucket()
        ids = [self.put(bucket, f"k{i}", b"x")["VersionId"] for i in range(5)]
        r = self.s3.delete_objects(Bucket=bucket, Delete={"Quiet": True, "Objects": [
            {"Key": f"k{i}", "VersionId": v} for i, v in enumerate(ids)]})
        self.assertEqual((r.get("Deleted", []), r.get("Errors", [])), ([], []))
        self.assertEqual(self.versions(bucket), [])


class ListObjectVersionsTests(VersioningTestCase):

    def fill(self) -> tuple[str, dict]:
        """a: 3 versions; d/x, d/y: 1 each; gone: version + marker; n: pre-versioning null."""
        bucket = self.bucket(None)
        self.put(bucket, "n", b"null")
        self.set_versioning(bucket, "Enabled")
        ids = {"a": [self.put(bucket, "a", b"a" * i)["VersionId"] for i in (1, 2, 3)]}
        ids["d/x"] = [self.put(bucket, "d/x", b"dx")["VersionId"]]
        ids["d/y"] = [self.put(bucket, "d/y", b"dy")["VersionId"]]
        ids["gone"] = [self.put(bucket, "gone", b"g")["VersionId"]]
        ids["gone-dm"] = [self.s3.delete_object(Bucket=bucket, Key="gone")["VersionId"]]
        return bucket, ids

    def test_versions_markers_and_latest(self) -> None:
        bucket, ids = self.fill()
        r = self.s3.list_object_versions(Bucket=bucket)
        self.assertFalse(r["IsTruncated"])
        self.assertEqual([(v["Key"], v["VersionId"], v["IsLatest"]) for v in r["Versions"]], [
            ("a", ids["a"][2], True), ("a", ids["a"][1], False), ("a", ids["a"][0], False),
            ("d/x", ids["d/x"][0], True), ("d/y", ids["d/y"][0], True),
            ("gone", ids["gone"][0], False), ("n", "null", True)])
        self.assertEqual([(m["Key"], m["VersionId"], m["IsLatest"])
                          for m in r["DeleteMarkers"]], [("gone", ids["gone-dm"][0], True)])
        a3 = r["Versions"][0]
        self.assertEqual((a3["Size"], a3["ETag"].strip('"') != "", a3["StorageClass"]),
                         (3, True, "STANDARD"))
        self.assertIn("ID", r["DeleteMarkers"][0]["Owner"])
        # ListObjects v1 and v2 see only the live objects
        live = ["a", "d/x", "d/y", "n"]
        self.assertEqual(self.live_keys_v1(bucket), live)
        self.assertEqual(self.live_keys_v2(bucket), live)

    def test_common_prefixes_and_prefix(self) -> None:
        bucket, ids = self.fill()
        r = self.s3.list_object_versions(Bucket=bucket, Delimiter="/")
        self.assertEqual([p["Prefix"] for p in r["CommonPrefixes"]], ["d/"])
        self.assertEqual(sorted({v["Key"] for v in r["Versions"]}), ["a", "gone", "n"])
        r = self.s3.list_object_versions(Bucket=bucket, Prefix="d/")
        self.assertEqual([v["Key"] for v in r["Versions"]], ["d/x", "d/y"])
        self.assertNotIn("CommonPrefixes", r)
        r = self.s3.list_objects_v2(Bucket=bucket, Delimiter="/")
        self.assertEqual(([o["Key"] for o in r["Contents"]],
                          [p["Prefix"] for p in r["CommonPrefixes"]]), (["a", "n"], ["d/"]))

    def test_key_and_version_id_markers(self) -> None:
        bucket, ids = self.fill()
        a = ids["a"]
        r = self.s3.list_object_versions(Bucket=bucket, MaxKeys=2)
        self.assertTrue(r["IsTruncated"])
        self.assertEqual((r["NextKeyMarker"], r["NextVersionIdMarker"]), ("a", a[1]))
        self.assertEqual([v["VersionId"] for v in r["Versions"]], [a[2], a[1]])
        r = self.s3.list_object_versions(Bucket=bucket, MaxKeys=2, KeyMarker="a",
                                         VersionIdMarker=a[1])
        self.assertEqual([(v["Key"], v["VersionId"]) for v in r["Versions"]],
                         [("a", a[0]), ("d/x", ids["d/x"][0])])
        self.assertEqual((r["KeyMarker"], r["VersionIdMarker"]), ("a", a[1]))
        # a key marker alone resumes after every version of that key
        r = self.s3.list_object_versions(Bucket=bucket, KeyMarker="a")
        self.assertEqual([v["Key"] for v in r["Versions"]], ["d/x", "d/y", "gone", "n"])
        # a version-id marker "null" resumes after the null version
        r = self.s3.list_object_versions(Bucket=bucket, KeyMarker="gone", VersionIdMarker="null")
        self.assertEqual([v["Key"] for v in r["Versions"]], ["n"])
        r = self.s3.list_object_versions(Bucket=bucket, KeyMarker="n", VersionIdMarker="null")
        self.assertEqual(r.get("Versions", []), [])
        # a version-id marker needs a key marker; a malformed one is refused
        self.assertS3Error("InvalidArgument", 400, self.s3.list_object_versions,
                           Bucket=bucket, VersionIdMarker=a[0])
        self.assertS3Error("InvalidArgument", 400, self.s3.list_object_versions,
                           Bucket=bucket, KeyMarker="a", VersionIdMarker="garbage")

    def test_paging_matches_the_full_listing(self) -> None:
        bucket, ids = self.fill()
        full = self.versions(bucket)
        full_sorted = sorted(full)
        for page_size in (1, 2, 3, 5):
            seen, kwargs = [], {"MaxKeys": page_size}
            for _ in range(50):
                r = self.s3.list_object_versions(Bucket=bucket, **kwargs)
                entries = r.get("Versions", []) + r.get("DeleteMarkers", [])
                self.assertLessEqual(len(entries), page_size)
                seen += [(v["Key"], v["VersionId"], v["IsLatest"],
                          v["Size"] if "Size" in v else "DM") for v in entries]
                if not r["IsTruncated"]:
                    break
                kwargs.update(KeyMarker=r["NextKeyMarker"],
                              VersionIdMarker=r["NextVersionIdMarker"])
            self.assertEqual(sorted(seen), full_sorted, page_size)
            self.assertEqual(len(seen), len(full))
        # boto3's own paginator
        pages = self.s3.get_paginator("list_object_versions").paginate(
            Bucket=bucket, PaginationConfig={"PageSize": 2})
        n = sum(len(p.get("Versions", [])) + len(p.get("DeleteMarkers", [])) for p in pages)
        self.assertEqual(n, len(full))

    def test_paging_with_delimiter(self) -> None:
        bucket, ids = self.fill()
        seen, prefixes, kwargs = [], [], {"MaxKeys": 1, "Delimiter": "/"}
        for _ in range(50):
            r = self.s3.list_object_versions(Bucket=bucket, **kwargs)
            seen += [v["Key"] for v in r.get("Versions", []) + r.get("DeleteMarkers", [])]
            prefixes += [p["Prefix"] for p in r.get("CommonPrefixes", [])]
            if not r["IsTruncated"]:
                break
            kwargs.update(KeyMarker=r["NextKeyMarker"])
            if r.get("NextVersionIdMarker"):
                kwargs["VersionIdMarker"] = r["NextVersionIdMarker"]
            else:
                kwargs.pop("VersionIdMarker", None)
        self.assertEqual(prefixes, ["d/"])
        self.assertEqual(sorted(seen), ["a", "a", "a", "gone", "gone", "n"])

    def test_many_versions_of_many_keys(self) -> None:
        """More than one page (1000) of versions, listed and paged by boto3."""
        bucket = self.bucket()
        for i in range(120):
            self.put(bucket, f"k{i % 40:02d}", b"%d" % i)
        r = self.s3.list_object_versions(Bucket=bucket)
        self.assertEqual(len(r["Versions"]), 120)
        self.assertEqual(sum(v["IsLatest"] for v in r["Versions"]), 40)
        self.assertEqual(len(self.live_keys_v2(bucket)), 40)
        r = self.s3.list_objects_v2(Bucket=bucket, MaxKeys=10)
        self.assertEqual((r["KeyCount"], r["IsTruncated"]), (10, True))
        r = self.s3.list_objects(Bucket=bucket, MaxKeys=10, Marker="k35")
        self.assertEqual([o["Key"] for o in r["Contents"]], [f"k{i}" for i in range(36, 40)])


class ConcurrentPutTests(VersioningTestCase):

    def test_two_concurrent_puts_make_two_versions(self) -> None:
        bucket = self.bucket()
        clients = [self.client(), self.client()]
        for round_ in range(5):
            key = f"race{round_}"
            results: list = [None, None]
            barrier = threading.Barrier(2)

            def put(i: int, barrier=barrier, results=results, key=key) -> None:
                barrier.wait()
                try:
                    results[i] = clients[i].put_object(Bucket=bucket, Key=key,
                                                       Body=b"writer %d" % i)["VersionId"]
                except ClientError as e:  # reported by the assertion below
                    results[i] = e

            threads = [threading.Thread(target=put, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            self.assertTrue(all(isinstance(r, str) for r in results), results)
            self.assertNotEqual(results[0], results[1])
            versions = self.versions(bucket, Prefix=key)
            self.assertEqual(sorted(v[1] for v in versions), sorted(results))
            latest = [v for v in versions if v[2]]
            self.assertEqual(len(latest), 1)
            # the master is the later write: the version listed first (newest)
            self.assertEqual(latest[0][1], versions[0][1])
            got = self.s3.get_object(Bucket=bucket, Key=key)
            self.assertEqual(got["VersionId"], latest[0][1])
            winner = results.index(latest[0][1])
            self.assertEqual(got["Body"].read(), b"writer %d" % winner)
