"""The listing handlers' record -> entry conversions (cloudserver.s3.ops.listing,
the ListObjectVersions part of cloudserver.s3.ops.versioning)."""
import random

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata import version_id
from cloudserver.s3.ops.listing import LISTED_FIELDS, OWNER_FIELDS, iso8601_cached, list_entries
from cloudserver.s3.ops.versioning import VERSION_FIELDS, version_entries
from cloudserver.s3.xmlbuild import iso8601
from cloudserver.s3.xmllisting import ListEntry
from cloudserver.s3.xmlversions import VersionEntry

MD = {"last-modified": 1_763_800_000.1234, "etag": "e", "size": 7}


class Iso8601CachedTests(SynchronousTestCase):
    def test_same_as_iso8601(self):
        iso = iso8601_cached()
        rnd = random.Random(3)
        stamps = [0, 0.0004, 0.0005, 0.0015, 0.9995, 0.99949, 59.9999, 1_763_800_000,
                  1_763_800_000.5, 1_763_800_000.0005, 1_763_800_000.9996, 1.7e9 + 0.12345]
        stamps += [rnd.uniform(1e9, 2e9) for _ in range(2000)]
        base = rnd.uniform(1e9, 2e9)
        stamps += [base + i * 0.0007 for i in range(3000)]  # many in one second
        for ts in stamps:
            self.assertEqual(iso(ts), iso8601(ts), ts)


class ListEntriesTests(SynchronousTestCase):
    def test_fields_and_defaults(self):
        contents = [{"key": "a", "value": dict(MD)},
                    {"key": "b", "value": {**MD, "storage-class": "GLACIER", "owner": "o2",
                                           "owner-name": "n2"}}]
        lm = iso8601(MD["last-modified"])
        self.assertEqual(list_entries(contents, None), [
            ListEntry("a", lm, "e", 7), ListEntry("b", lm, "e", 7, "GLACIER")])
        self.assertEqual(list_entries(contents, ("bo", "bn")), [
            ListEntry("a", lm, "e", 7, "STANDARD", "bo", "bn"),
            ListEntry("b", lm, "e", 7, "GLACIER", "o2", "n2")])

    def test_listings_ask_for_what_they_render(self):
        self.assertEqual(set(LISTED_FIELDS), {"last-modified", "etag", "size", "storage-class"})
        self.assertEqual(set(OWNER_FIELDS), {"owner", "owner-name"})
        self.assertEqual(set(VERSION_FIELDS),
                         set(LISTED_FIELDS) | set(OWNER_FIELDS) | {"isNull"})


class VersionEntriesTests(SynchronousTestCase):
    def test_ids_markers_owners(self):
        internal = version_id.format_version_id(1_600_000_000_000, 0, "RG001")
        versions = [
            {"key": "k", "versionId": internal, "isLatest": True, "isDeleteMarker": True,
             "value": {"last-modified": 1.5, "owner": "o"}},
            {"key": "k", "versionId": "v-null", "isLatest": False, "isDeleteMarker": False,
             "value": {**MD, "isNull": True}},
            {"key": "n", "versionId": "null", "isLatest": True, "isDeleteMarker": False,
             "value": {**MD, "storage-class": "GLACIER"}}]
        lm = iso8601(MD["last-modified"])
        self.assertEqual(version_entries(versions, "bo", "bn"), [
            VersionEntry("k", version_id.encode(internal), True, iso8601(1.5), "o", "bn", True),
            VersionEntry("k", "null", False, lm, "bo", "bn", False, "e", 7),
            VersionEntry("n", "null", True, lm, "bo", "bn", False, "e", 7, "GLACIER")])
