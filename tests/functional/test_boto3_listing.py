# -*- test-case-name: tests.functional.test_boto3_listing -*-
"""ListObjects v1 and v2: prefix, delimiter, markers and pagination."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

from tests.functional.clients import unique_bucket
from tests.functional.s3case import S3TestCase

TREE = ["a", "b/1", "b/2", "b/c/3", "c/4", "d.txt", "photos/2020/feb.jpg",
        "photos/2020/jan.jpg", "photos/2021/mar.jpg", "photos/x.jpg"]

MANY = 2500


def many_key(index: int) -> str:
    return f"p{index % 10}/k{index:05d}"


class ListingTests(S3TestCase):
    """Listing tests share two buckets filled once per server."""

    _filled: ClassVar[dict[str, str]] = {}

    def filled_bucket(self, name: str, keys: list[str]) -> str:
        """A bucket holding ``keys`` (with the key as body), created once."""
        cache_key = f"{self.server.port}:{name}"
        if cache_key not in self._filled:
            bucket = unique_bucket(name)
            self.s3.create_bucket(Bucket=bucket)
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(lambda k: self.s3.put_object(Bucket=bucket, Key=k,
                                                           Body=k.encode()), keys))
            self._filled[cache_key] = bucket
        return self._filled[cache_key]

    def tree(self) -> str:
        return self.filled_bucket("tree", TREE)

    def many(self) -> str:
        return self.filled_bucket("many", [many_key(i) for i in range(MANY)])

    def test_v2_all(self) -> None:
        listing = self.s3.list_objects_v2(Bucket=self.tree())
        self.assertEqual([o["Key"] for o in listing["Contents"]], TREE)
        self.assertEqual(listing["KeyCount"], len(TREE))
        self.assertFalse(listing["IsTruncated"])
        first = listing["Contents"][0]
        self.assertEqual(first["Size"], 1)
        self.assertEqual(first["StorageClass"], "STANDARD")
        self.assertTrue(first["ETag"].startswith('"'))
        self.assertNotIn("Owner", first)  # v2 lists owners only with FetchOwner

    def test_v2_fetch_owner(self) -> None:
        listing = self.s3.list_objects_v2(Bucket=self.tree(), FetchOwner=True)
        self.assertIn("ID", listing["Contents"][0]["Owner"])

    def test_v2_delimiter(self) -> None:
        listing = self.s3.list_objects_v2(Bucket=self.tree(), Delimiter="/")
        self.assertEqual([o["Key"] for o in listing["Contents"]], ["a", "d.txt"])
        self.assertEqual([p["Prefix"] for p in listing["CommonPrefixes"]],
                         ["b/", "c/", "photos/"])
        self.assertEqual(listing["KeyCount"], 5)

    def test_v2_prefix_delimiter(self) -> None:
        listing = self.s3.list_objects_v2(Bucket=self.tree(), Prefix="photos/", Delimiter="/")
        self.assertEqual([o["Key"] for o in listing["Contents"]], ["photos/x.jpg"])
        self.assertEqual([p["Prefix"] for p in listing["CommonPrefixes"]],
                         ["photos/2020/", "photos/2021/"])
        self.assertEqual(listing["Prefix"], "photos/")

    def test_v2_prefix_no_match(self) -> None:
        listing = self.s3.list_objects_v2(Bucket=self.tree(), Prefix="zzz")
        self.assertEqual(listing["KeyCount"], 0)
        self.assertNotIn("Contents", listing)

    def test_v2_start_after_and_continuation(self) -> None:
        bucket = self.tree()
        listing = self.s3.list_objects_v2(Bucket=bucket, StartAfter="b/c/3")
        self.assertEqual([o["Key"] for o in listing["Contents"]], TREE[4:])
        keys, token = [], None
        while True:
            kwargs = {"ContinuationToken": token} if token else {}
            page = self.s3.list_objects_v2(Bucket=bucket, MaxKeys=3, **kwargs)
            keys += [o["Key"] for o in page.get("Contents", [])]
            self.assertLessEqual(page["KeyCount"], 3)
            if not page["IsTruncated"]:
                break
            token = page["NextContinuationToken"]
        self.assertEqual(keys, TREE)

    def test_v2_delimiter_pagination(self) -> None:
        """Common prefixes count towards MaxKeys and are never repeated."""
        bucket = self.tree()
        entries, token = [], None
        while True:
            kwargs = {"ContinuationToken": token} if token else {}
            page = self.s3.list_objects_v2(Bucket=bucket, Delimiter="/", MaxKeys=2, **kwargs)
            entries += [o["Key"] for o in page.get("Contents", [])]
            entries += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
            if not page["IsTruncated"]:
                break
            token = page["NextContinuationToken"]
        self.assertEqual(sorted(entries), ["a", "b/", "c/", "d.txt", "photos/"])

    def test_v1_delimiter_and_marker(self) -> None:
        bucket = self.tree()
        listing = self.s3.list_objects(Bucket=bucket, Delimiter="/")
        self.assertEqual([o["Key"] for o in listing["Contents"]], ["a", "d.txt"])
        self.assertEqual([p["Prefix"] for p in listing["CommonPrefixes"]],
                         ["b/", "c/", "photos/"])
        marked = self.s3.list_objects(Bucket=bucket, Marker="c/4")
        self.assertEqual([o["Key"] for o in marked["Contents"]], TREE[5:])
        self.assertIn("ID", marked["Contents"][0]["Owner"])

    def test_v1_truncated_next_marker(self) -> None:
        """With a delimiter, a truncated v1 listing carries NextMarker."""
        bucket = self.tree()
        page = self.s3.list_objects(Bucket=bucket, Delimiter="/", MaxKeys=2)
        self.assertTrue(page["IsTruncated"])
        self.assertEqual(page["NextMarker"], "b/")
        rest = self.s3.list_objects(Bucket=bucket, Delimiter="/", Marker=page["NextMarker"])
        self.assertEqual([o["Key"] for o in rest["Contents"]], ["d.txt"])
        self.assertEqual([p["Prefix"] for p in rest["CommonPrefixes"]], ["c/", "photos/"])

    def test_v1_paginator_2500(self) -> None:
        pages = list(self.s3.get_paginator("list_objects").paginate(Bucket=self.many()))
        keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
        self.assertEqual(keys, sorted(many_key(i) for i in range(MANY)))
        self.assertEqual(len(pages), 3)  # 1000 + 1000 + 500

    def test_v2_paginator_2500(self) -> None:
        paginator = self.s3.get_paginator("list_objects_v2")
        pages = list(paginator.paginate(Bucket=self.many(), PaginationConfig={"PageSize": 700}))
        keys = [o["Key"] for page in pages for o in page.get("Contents", [])]
        self.assertEqual(keys, sorted(many_key(i) for i in range(MANY)))
        self.assertEqual([p["KeyCount"] for p in pages], [700, 700, 700, 400])

    def test_v2_paginator_prefix_delimiter_2500(self) -> None:
        paginator = self.s3.get_paginator("list_objects_v2")
        prefixes = []
        for page in paginator.paginate(Bucket=self.many(), Delimiter="/",
                                       PaginationConfig={"PageSize": 3}):
            prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
            self.assertNotIn("Contents", page)
        self.assertEqual(prefixes, [f"p{i}/" for i in range(10)])
        one = list(paginator.paginate(Bucket=self.many(), Prefix="p7/"))
        keys = [o["Key"] for page in one for o in page.get("Contents", [])]
        self.assertEqual(keys, sorted(many_key(i) for i in range(MANY) if i % 10 == 7))

    def test_max_keys_1000_cap(self) -> None:
        """MaxKeys above 1000 is capped at 1000."""
        listing = self.s3.list_objects_v2(Bucket=self.many(), MaxKeys=5000)
        self.assertEqual(listing["KeyCount"], 1000)
        self.assertTrue(listing["IsTruncated"])

    def test_max_keys_above_1000_is_echoed(self) -> None:
        """The page stops at 1000; MaxKeys echoes what was asked (upstream)."""
        bucket = self.many()
        v2 = self.s3.list_objects_v2(Bucket=bucket, MaxKeys=5000)
        v1 = self.s3.list_objects(Bucket=bucket, MaxKeys=5000)
        for listing in (v2, v1):
            self.assertEqual(listing["MaxKeys"], 5000)
            self.assertEqual(len(listing["Contents"]), 1000)
            self.assertTrue(listing["IsTruncated"])
        versions = self.s3.list_object_versions(Bucket=bucket, MaxKeys=5000)
        self.assertEqual(versions["MaxKeys"], 5000)
        self.assertEqual(len(versions["Versions"]), 1000)
        self.assertTrue(versions["IsTruncated"])
        rest = self.s3.list_objects_v2(Bucket=bucket, MaxKeys=2000, StartAfter="p9/k00009")
        self.assertEqual((rest["MaxKeys"], rest["KeyCount"]), (2000, 249))
        self.assertFalse(rest["IsTruncated"])

    def test_bad_max_keys(self) -> None:
        bucket = self.tree()
        for listing in ("list-type=2&", "", "versions&"):
            for value in ("-1", "ten", "2147483648"):
                r = self.signed_request("GET", f"/{bucket}?{listing}max-keys={value}")
                self.assertEqual(r.status, 400, (listing, value))
                self.assertIn(b"<Code>InvalidArgument</Code>", r.read())

    def test_empty_bucket(self) -> None:
        bucket = self.make_bucket()
        listing = self.s3.list_objects_v2(Bucket=bucket)
        self.assertEqual(listing["KeyCount"], 0)
        self.assertFalse(listing["IsTruncated"])
        self.assertNotIn("Contents", listing)
