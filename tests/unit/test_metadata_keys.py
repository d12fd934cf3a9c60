"""Tests for cloudserver.metadata.keys: the key layout."""
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata import keys
from cloudserver.metadata.errors import InvalidBucketName, InvalidKey


class KeyLayoutTests(SynchronousTestCase):
    def test_layout(self):
        self.assertEqual(keys.bucket_key("bk"), b"B\x00bk")
        self.assertEqual(keys.object_key("bk", "foo/bar"), b"O\x00bk\x00foo/bar")
        self.assertEqual(keys.version_key("bk", "foo", "v1"), b"O\x00bk\x00foo\x00v1")
        self.assertEqual(keys.object_base("bk"), b"O\x00bk\x00")
        self.assertEqual(keys.bucket_from_key(b"B\x00bk"), "bk")
        self.assertEqual(keys.object_key("bk", "\u00e9"), b"O\x00bk\x00\xc3\xa9")

    def test_versions_sort_between_master_and_longer_names(self):
        """name < name NUL vid < name + anything: versions follow their master."""
        ordered = sorted([keys.object_key("b", "foo/bar"), keys.version_key("b", "foo", "v2"),
                          keys.object_key("b", "foo"), keys.object_key("b", "foo!"),
                          keys.version_key("b", "foo", "v1")])
        self.assertEqual(ordered, [keys.object_key("b", "foo"), keys.version_key("b", "foo", "v1"),
                                   keys.version_key("b", "foo", "v2"),
                                   keys.object_key("b", "foo!"), keys.object_key("b", "foo/bar")])
        self.assertGreater(keys.object_key("b", "foo") + keys.AFTER_VERSIONS,
                           keys.version_key("b", "foo", "\uffff"))

    def test_buckets_do_not_interleave(self):
        """A bucket's range never holds keys of a bucket whose name extends it."""
        base = keys.object_base("ab")
        other = keys.object_key("abc", "x")
        self.assertFalse(other.startswith(base))
        self.assertFalse(base <= other < keys.successor(base))

    def test_split_version(self):
        self.assertEqual(keys.split_version(b"foo"), (b"foo", None))
        self.assertEqual(keys.split_version(b"foo\x00v1"), (b"foo", b"v1"))

    def test_successor(self):
        self.assertEqual(keys.successor(b"photos/"), b"photos0")
        self.assertEqual(keys.successor(b"a\xff\xff"), b"b")
        self.assertIsNone(keys.successor(b""))
        self.assertIsNone(keys.successor(b"\xff"))

    def test_invalid_names(self):
        for bad in ("", "a\x00b", None, b"bytes", "\ud800"):
            self.assertRaises(InvalidKey, keys.object_key, "b", bad)
        for bad in ("", "a\x00b", None, "\udc80"):
            self.assertRaises(InvalidBucketName, keys.bucket_key, bad)
        self.assertRaises(InvalidKey, keys.version_key, "b", "k", "")
        self.assertEqual(InvalidKey.code, "InvalidArgument")
