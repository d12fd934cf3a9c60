"""The listing handlers' record -> entry conversions (cloudserver.s3.ops.listing,
the ListObjectVersions part of cloudserver.s3.ops.versioning)."""
import random

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata import version_id
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.listing import (
    LISTED_FIELDS,
    OWNER_FIELDS,
    iso8601_cached,
    list_entries,
    page_size,
    parse_max_keys,
)
from cloudserver.s3.ops.versioning import VERSION_FIELDS, version_entries
from cloudserver.s3.xml.build import iso8601
from cloudserver.s3.xml.listing import ListEntry
from cloudserver.s3.xml.versions import VersionEntry
from tests.unit.test_acl import BART
from tests.unit.test_acl_ops import Harness

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


class ParseMaxKeysTests(SynchronousTestCase):
    def test_requested_value_is_kept(self):
        """Above 1000 the requested value is what MaxKeys echoes (upstream);
        only the page is capped."""
        self.assertEqual(parse_max_keys(None), 1000)
        for value, n in (("0", 0), ("7", 7), ("5000", 5000), ("2147483647", 2147483647),
                         ("+12", 12), ("0012", 12)):
            self.assertEqual(parse_max_keys(value), n)
        self.assertEqual([page_size(n) for n in (0, 7, 1000, 1001, 2147483647)],
                         [0, 7, 1000, 1000, 1000])

    def test_not_an_integer_or_out_of_range(self):
        for value in ("", "abc", "1.5", "1_000", " 5", "5 ", "0x10", "\u0665",
                      "2147483648", "99999999999999999999", "9" * 5000):
            err = self.assertRaises(S3Error, parse_max_keys, value)
            self.assertEqual((err.code, err.extra["ArgumentName"]),
                             ("InvalidArgument", "max-keys"), value)
        err = self.assertRaises(S3Error, parse_max_keys, "-1")
        self.assertEqual((err.code, err.extra["ArgumentName"]), ("InvalidArgument", "maxKeys"))


class MaxKeysHandlerTests(Harness):
    """Bart's bucket "b" with 1002 objects: a page stops at 1000 whatever is asked."""

    def setUp(self):
        super().setUp()
        for i in range(1001):
            self.put_object(f"m{i:04d}", BART)

    def listing(self, query: dict) -> bytes:
        return self.call(self.ctx("GET", "/b", query=query)).body

    def test_above_1000(self):
        for query in ({"max-keys": "5000"}, {"list-type": "2", "max-keys": "5000"},
                      {"versions": "", "max-keys": "5000"}):
            body = self.listing(query)
            self.assertIn(b"<MaxKeys>5000</MaxKeys>", body, query)
            self.assertIn(b"<IsTruncated>true</IsTruncated>", body, query)
            entries = body.count(b"<Version>") if "versions" in query else body.count(
                b"<Contents>")
            self.assertEqual(entries, 1000, query)

    def test_at_most_what_exists(self):
        body = self.listing({"list-type": "2", "max-keys": "1500", "prefix": "m1"})
        self.assertIn(b"<MaxKeys>1500</MaxKeys>", body)
        self.assertIn(b"<KeyCount>1</KeyCount>", body)
        self.assertIn(b"<IsTruncated>false</IsTruncated>", body)

    def test_bad_values_for_every_listing(self):
        for extra in ({}, {"list-type": "2"}, {"versions": ""}):
            for value in ("-1", "ten", "2147483648"):
                err = self.call_fails(self.ctx("GET", "/b", query={**extra, "max-keys": value}))
                self.assertEqual(err.code, "InvalidArgument", (extra, value))
