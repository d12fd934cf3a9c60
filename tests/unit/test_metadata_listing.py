"""Tests for cloudserver.metadata.listing: Delimiter / DelimiterMaster and the driver."""
from __future__ import annotations

import json
import random

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata.errors import InvalidArgument
from cloudserver.metadata.kv import MemoryKV
from cloudserver.metadata.listing import (
    FILTER_ACCEPT,
    FILTER_END,
    FILTER_SKIP,
    Delimiter,
    DelimiterMaster,
    decode_token,
    encode_token,
    list_range,
    load_record,
    make_filter,
)

BASE = b"O\x00bkt\x00"
# AWS's "Listing object keys programmatically" example.
AWS_KEYS = ["sample.jpg", "photos/2006/January/sample.jpg", "photos/2006/February/sample2.jpg",
            "photos/2006/February/sample3.jpg", "photos/2006/February/sample4.jpg"]


def rec(**md) -> bytes:
    return json.dumps(md, separators=(",", ":")).encode()


class CountingKV:
    """Wraps a KV to count the entries a listing visits and the seeks it makes."""

    def __init__(self, kv):
        self.kv = kv
        self.visited = 0
        self.iterations = 0

    def iterate(self, **bounds):
        self.iterations += 1
        for pair in self.kv.iterate(**bounds):
            self.visited += 1
            yield pair


def make_kv(names=(), raw=()):
    """A MemoryKV holding objects ``names`` (value {"n": name}) and raw (key, value) pairs."""
    kv = MemoryKV()
    puts = [(BASE + n.encode(), rec(n=n)) for n in names]
    puts += [(BASE + k, v) for k, v in raw]
    # Neighbours outside the bucket range must never show up.
    puts += [(b"O\x00bks\x00zzz", rec()), (b"O\x00bkt0", rec()), (b"O\x00bktx\x00a", rec())]
    kv.write(puts)
    return kv


def listing(kv, **params):
    return list_range(kv, BASE, make_filter(params))


def names(result):
    return [c["key"] for c in result["Contents"]]


class DelimiterTests(SynchronousTestCase):
    def check(self, keys, contents, prefixes, truncated=False, next_marker=None, **params):
        result = listing(make_kv(keys), **params)
        self.assertEqual((names(result), result["CommonPrefixes"], result["IsTruncated"],
                          result["NextMarker"]),
                         (contents, prefixes, truncated, next_marker))
        return result

    def test_all(self):
        r = self.check(["b", "a", "c"], ["a", "b", "c"], [])
        self.assertEqual(r["Contents"][0]["value"], {"n": "a"})
        self.assertIsNone(r["NextContinuationToken"])

    def test_empty(self):
        self.check([], [], [])

    def test_aws_example_delimiter(self):
        self.check(AWS_KEYS, ["sample.jpg"], ["photos/"], delimiter="/")

    def test_aws_example_prefix_delimiter(self):
        self.check(AWS_KEYS, [], ["photos/2006/February/", "photos/2006/January/"],
                   prefix="photos/2006/", delimiter="/")

    def test_s3tests_delimiter_basic(self):
        self.check(["foo/bar", "foo/bar/xyzzy", "quux/thud", "asdf"], ["asdf"],
                   ["foo/", "quux/"], delimiter="/")

    def test_s3tests_delimiter_alt(self):
        self.check(["bar", "baz", "cab", "foo"], ["foo"], ["ba", "ca"], delimiter="a")

    def test_multichar_delimiter(self):
        self.check(["a//b", "a/b", "a//c//d", "x"], ["a/b", "x"], ["a//"], delimiter="//")
        self.check(["a//b", "a//c//d"], ["a//b"], ["a//c//"], prefix="a//", delimiter="//")

    def test_delimiter_absent_and_prefix_absent(self):
        self.check(["bar", "baz", "cab", "foo"], ["bar", "baz", "cab", "foo"], [], delimiter="/")
        self.check(["b/a/c", "b/a/g", "g"], [], [], prefix="y", delimiter="z")

    def test_prefix(self):
        self.check(["foo/bar", "foo/baz", "quux", "fo", "foo"], ["foo/bar", "foo/baz"], [],
                   prefix="foo/")

    def test_prefix_is_whole_key(self):
        self.check(["foo", "foo/a", "foob"], ["foo", "foo/a", "foob"], [], prefix="foo")
        self.check(["foo", "foo/a", "foob"], ["foo", "foob"], ["foo/"], prefix="foo",
                   delimiter="/")

    def test_s3tests_delimiter_prefix_paging(self):
        """ceph s3-tests test_bucket_list_delimiter_prefix, page by page."""
        keys = ["asdf", "boo/bar", "boo/baz/xyzzy", "cquux/thud", "cquux/bla"]
        self.check(keys, ["asdf"], [], True, "asdf", delimiter="/", maxKeys=1)
        self.check(keys, [], ["boo/"], True, "boo/", delimiter="/", maxKeys=1, marker="asdf")
        self.check(keys, [], ["cquux/"], False, None, delimiter="/", maxKeys=1, marker="boo/")
        self.check(keys, ["asdf"], ["boo/"], True, "boo/", delimiter="/", maxKeys=2)
        self.check(keys, [], ["cquux/"], False, None, delimiter="/", maxKeys=2, marker="boo/")
        self.check(keys, ["boo/bar"], [], True, "boo/bar", prefix="boo/", delimiter="/",
                   maxKeys=1)
        self.check(keys, [], ["boo/baz/"], False, None, prefix="boo/", delimiter="/",
                   maxKeys=1, marker="boo/bar")

    def test_marker(self):
        keys = ["bar", "baz", "foo", "quxx"]
        self.check(keys, ["baz", "foo", "quxx"], [], marker="bar")
        self.check(keys, ["baz", "foo", "quxx"], [], marker="bas")
        self.check(keys, [], [], marker="zzz")
        self.check(keys, ["bar", "baz"], [], prefix="ba", marker="a")  # marker before prefix

    def test_marker_inside_common_prefix(self):
        """A common prefix sorting before the marker is not returned again."""
        self.check(AWS_KEYS, ["sample.jpg"], [], delimiter="/",
                   marker="photos/2006/February/sample3.jpg")
        self.check(AWS_KEYS + ["photos0"], ["photos0", "sample.jpg"], [], delimiter="/",
                   marker="photos/")

    def test_max_keys_boundaries(self):
        keys = ["bar", "baz", "foo", "quxx"]
        self.check(keys, [], [], False, None, maxKeys=0)
        self.check(keys, ["bar"], [], True, "bar", maxKeys=1)
        self.check(keys, ["bar", "baz", "foo"], [], True, "foo", maxKeys=3)
        self.check(keys, keys, [], False, None, maxKeys=4)
        self.check(keys, keys, [], False, None, maxKeys=5)
        self.check(keys, keys, [], False, None, maxKeys=-3 + 1000)

    def test_max_keys_counts_prefixes(self):
        keys = ["a/1", "a/2", "b", "c/1", "d"]
        self.check(keys, ["b"], ["a/"], True, "b", delimiter="/", maxKeys=2)
        self.check(keys, ["b"], ["a/", "c/"], True, "c/", delimiter="/", maxKeys=3)
        self.check(keys, ["b", "d"], ["a/", "c/"], False, None, delimiter="/", maxKeys=4)

    def test_default_max_keys(self):
        keys = [f"k{i:04d}" for i in range(1001)]
        r = listing(make_kv(keys))
        self.assertEqual(len(r["Contents"]), 1000)
        self.assertTrue(r["IsTruncated"])
        self.assertEqual(r["NextMarker"], "k0999")

    def test_unicode_byte_order(self):
        """Keys list in UTF-8 byte order (= code point order, not UTF-16 order)."""
        keys = ["z", "\u00e9", "a", "\u20ac", "\U0001f600", "\uffff", "\x7f", "A", "\u00e9/x"]
        r = listing(make_kv(keys))
        self.assertEqual(names(r), sorted(keys, key=lambda k: k.encode()))
        self.assertLess(names(r).index("\uffff"), names(r).index("\U0001f600"))

    def test_unicode_delimiter_and_prefix(self):
        keys = ["caf\u00e9\u2192menu", "caf\u00e9\u2192bar\u2192x", "caf\u00e9", "cafe"]
        self.check(keys, ["caf\u00e9\u2192menu"], ["caf\u00e9\u2192bar\u2192"],
                   prefix="caf\u00e9\u2192", delimiter="\u2192")
        self.check(keys, ["cafe", "caf\u00e9"], ["caf\u00e9\u2192"], delimiter="\u2192")

    def test_v2_continuation(self):
        keys = ["a", "b/1", "b/2", "c", "d"]
        r = listing(make_kv(keys), v2=True, delimiter="/", maxKeys=2)
        self.assertEqual((names(r), r["CommonPrefixes"], r["IsTruncated"], r["NextMarker"]),
                         (["a"], ["b/"], True, None))
        token = r["NextContinuationToken"]
        self.assertIsInstance(token, str)
        r = listing(make_kv(keys), v2=True, delimiter="/", maxKeys=2, continuationToken=token,
                    startAfter="zzz")  # the token wins over startAfter
        self.assertEqual((names(r), r["CommonPrefixes"], r["IsTruncated"]), (["c", "d"], [], False))
        self.assertIsNone(r["NextContinuationToken"])

    def test_v2_start_after(self):
        r = listing(make_kv(["a", "b", "c"]), v2=True, startAfter="a")
        self.assertEqual(names(r), ["b", "c"])
        r = listing(make_kv(["a", "b", "c"]), v2=False, startAfter="a")  # v1 ignores it
        self.assertEqual(names(r), ["a", "b", "c"])

    def test_bad_continuation_token(self):
        for bad in ("", "!!!", "abc", 5):
            self.assertRaises(InvalidArgument, make_filter, {"v2": True, "continuationToken": bad})
        self.assertEqual(decode_token(encode_token(b"\xc3\xa9/x")), b"\xc3\xa9/x")

    def test_bad_params(self):
        self.assertRaises(InvalidArgument, make_filter, {"listingType": "Nope"})
        self.assertRaises(InvalidArgument, make_filter, {"maxKeys": "ten"})
        self.assertRaises(InvalidArgument, make_filter, {"prefix": "\ud800"})
        self.assertIsInstance(make_filter({}), Delimiter)
        self.assertIsInstance(make_filter({"listingType": "DelimiterMaster"}), DelimiterMaster)

    def test_delimiter_lists_version_keys(self):
        """The plain Delimiter type sees versions as keys (internal buckets have none)."""
        kv = make_kv(["a"], raw=[(b"a\x00v1", rec())])
        self.assertEqual(names(listing(kv)), ["a", "a\x00v1"])

    def test_filter_protocol(self):
        """The filter alone, without a KV: ACCEPT, SKIP with a seek target, END."""
        f = Delimiter(delimiter="/", max_keys=1)
        self.assertEqual(f.start(), b"")
        self.assertIsNone(f.stop())
        self.assertEqual(f.filter(b"a/1", rec()), FILTER_ACCEPT)
        self.assertEqual(f.filter(b"a/2", rec()), FILTER_SKIP)
        self.assertEqual(f.skip_to(), b"a0")
        self.assertEqual(f.filter(b"b", rec()), FILTER_END)
        self.assertEqual(f.result()["NextMarker"], "a/")
        f = Delimiter(prefix="x/", marker="x/b")
        self.assertEqual((f.start(), f.stop()), (b"x/b\x00", b"x0"))

    def test_pagination_matches_full_listing(self):
        """Pages chained through NextMarker / tokens concatenate to the full listing."""
        rnd = random.Random(7)
        alphabet = ["a", "b", "/", "\u00e9", "-"]
        keys = sorted({"".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 6)))
                       for _ in range(300)})
        kv = make_kv(keys)
        for prefix in ("", "a", "a/", "\u00e9"):
            for delimiter in (None, "/", "b", "/a"):
                full = listing(kv, prefix=prefix, delimiter=delimiter, maxKeys=10000)
                self.assertFalse(full["IsTruncated"])
                expected = self.reference(keys, prefix, delimiter)
                self.assertEqual(self.items(full), expected)
                for page in (1, 2, 7):
                    for v2 in (False, True):
                        self.assertEqual(self.paged(kv, prefix, delimiter, page, v2), expected,
                                         (prefix, delimiter, page, v2))

    @staticmethod
    def reference(keys, prefix, delimiter):
        out = []
        for k in sorted(keys, key=str.encode):
            if not k.startswith(prefix):
                continue
            i = k.find(delimiter, len(prefix)) if delimiter else -1
            item = ("P", k[:i + len(delimiter)]) if i >= 0 else ("K", k)
            if item not in out:
                out.append(item)
        return sorted(out, key=lambda it: it[1].encode())

    @staticmethod
    def items(result):
        return sorted([("K", k) for k in names(result)] +
                      [("P", p) for p in result["CommonPrefixes"]], key=lambda it: it[1].encode())

    def paged(self, kv, prefix, delimiter, page, v2):
        out, params = [], {"prefix": prefix, "delimiter": delimiter, "maxKeys": page, "v2": v2}
        for _ in range(1000):
            r = listing(kv, **params)
            items = self.items(r)
            self.assertLessEqual(len(items), page)
            out += items
            if not r["IsTruncated"]:
                return out
            if v2:
                params["continuationToken"] = r["NextContinuationToken"]
            else:
                params["marker"] = r["NextMarker"]
        self.fail("listing did not terminate")


class SkipScanTests(SynchronousTestCase):
    """A listing seeks past what it does not return instead of scanning it."""

    def test_common_prefix_of_ten_thousand_keys(self):
        kv = CountingKV(make_kv(["a"] + [f"big/{i:05d}" for i in range(10000)] + ["z"]))
        r = list_range(kv, BASE, make_filter({"delimiter": "/"}))
        self.assertEqual((names(r), r["CommonPrefixes"]), (["a", "z"], ["big/"]))
        self.assertLessEqual(kv.visited, 6)
        self.assertLessEqual(kv.iterations, 2)

    def test_many_common_prefixes_paged(self):
        keys = [f"p{p:03d}/{i:03d}" for p in range(100) for i in range(50)]
        kv = CountingKV(make_kv(keys))
        r = list_range(kv, BASE, make_filter({"delimiter": "/", "maxKeys": 10}))
        self.assertEqual(len(r["CommonPrefixes"]), 10)
        self.assertTrue(r["IsTruncated"])
        self.assertLessEqual(kv.visited, 3 * 11)

    def test_versions_are_skipped(self):
        raw = [(b"obj\x00%05d" % i, rec(v=i)) for i in range(5000)]
        kv = CountingKV(make_kv(["a", "obj", "z"], raw))
        r = list_range(kv, BASE, make_filter({"listingType": "DelimiterMaster"}))
        self.assertEqual(names(r), ["a", "obj", "z"])
        self.assertLessEqual(kv.visited, 8)

    def test_few_versions_are_scanned_not_seeked(self):
        """Two versions an object: stepping over them beats a seek per object."""
        raw = [(b"k%03d\x00v%d" % (i, j), rec()) for i in range(100) for j in range(2)]
        kv = CountingKV(make_kv([f"k{i:03d}" for i in range(100)], raw))
        r = list_range(kv, BASE, make_filter({"listingType": "DelimiterMaster"}))
        self.assertEqual(len(names(r)), 100)
        self.assertEqual(kv.iterations, 1)
        raw = [(b"k%03d\x00v%02d" % (i, j), rec()) for i in range(10) for j in range(50)]
        kv = CountingKV(make_kv([f"k{i:03d}" for i in range(10)], raw))
        r = list_range(kv, BASE, make_filter({"listingType": "DelimiterMaster"}))
        self.assertEqual(len(names(r)), 10)
        self.assertLessEqual(kv.visited, 10 * 5)  # master + 4 versions, then a seek

    def test_common_prefix_of_versioned_objects(self):
        raw = [(b"d/%04d\x00v%d" % (i, j), rec()) for i in range(1000) for j in range(2)]
        kv = CountingKV(make_kv([f"d/{i:04d}" for i in range(1000)] + ["e"], raw))
        r = list_range(kv, BASE, make_filter({"listingType": "DelimiterMaster",
                                              "delimiter": "/"}))
        self.assertEqual((names(r), r["CommonPrefixes"]), (["e"], ["d/"]))
        self.assertLessEqual(kv.visited, 6)


class DelimiterMasterTests(SynchronousTestCase):
    def run_master(self, kv, **params):
        return listing(kv, listingType="DelimiterMaster", **params)

    def test_docs_example(self):
        """The CloudServer docs' LIST example: masters only, versions hidden."""
        masters = ["foo/bar", "bar", "qux/quz", "quz"]
        raw = [(b"foo/bar\x00v2", rec()), (b"foo/bar\x00v1", rec()),
               (b"qux/quz\x00v2", rec()), (b"qux/quz\x00v1", rec()),
               (b"quz\x00v2", rec()), (b"quz\x00v1", rec())]
        r = self.run_master(make_kv(masters, raw))
        self.assertEqual(names(r), ["bar", "foo/bar", "qux/quz", "quz"])

    def test_delete_markers_hidden(self):
        raw = [(b"gone", rec(isDeleteMarker=True)), (b"gone\x00v2", rec(isDeleteMarker=True)),
               (b"gone\x00v1", rec(n="old")), (b"kept", rec(isDeleteMarker=False))]
        r = self.run_master(make_kv(["a"], raw))
        self.assertEqual(names(r), ["a", "kept"])

    def test_prefix_of_deleted_objects_not_listed(self):
        raw = [(b"dir/x", rec(isDeleteMarker=True)), (b"dir/y", rec(isDeleteMarker=True)),
               (b"mix/x", rec(isDeleteMarker=True)), (b"mix/y", rec())]
        r = self.run_master(make_kv(["a"], raw), delimiter="/")
        self.assertEqual((names(r), r["CommonPrefixes"]), (["a"], ["mix/"]))

    def test_placeholder_master_uses_latest_version(self):
        # Version ids sort newest first (the docs' decreasing timestamps).
        raw = [(b"k", rec(isPHD=True)), (b"k\x00v1", rec(n="latest")), (b"k\x00v2", rec(n="old")),
               (b"m", rec(isPHD=True)), (b"m\x00v1", rec(isDeleteMarker=True)),
               (b"m\x00v2", rec(n="under-dm")), (b"p", rec(isPHD=True))]
        r = self.run_master(make_kv(["z"], raw))
        self.assertEqual([(c["key"], c["value"].get("n")) for c in r["Contents"]],
                         [("k", "latest"), ("z", "z")])

    def test_marker_skips_versions_of_marker(self):
        raw = [(b"a\x00v1", rec()), (b"b\x00v1", rec())]
        r = self.run_master(make_kv(["a", "b", "c"], raw), marker="a")
        self.assertEqual(names(r), ["b", "c"])
        f = DelimiterMaster(marker="a")
        self.assertEqual(f.start(), b"a\x01")

    def test_truncation_ignores_hidden_entries(self):
        """A page is truncated only if a listable entry follows it."""
        raw = [(b"b", rec(isDeleteMarker=True)), (b"a\x00v1", rec())]
        r = self.run_master(make_kv(["a"], raw), maxKeys=1)
        self.assertEqual((names(r), r["IsTruncated"]), (["a"], False))
        r = self.run_master(make_kv(["a", "c"], raw), maxKeys=1)
        self.assertEqual((names(r), r["IsTruncated"], r["NextMarker"]), (["a"], True, "a"))

    def test_value_mentioning_delete_marker_text(self):
        """User metadata containing the words does not hide an object."""
        raw = [(b"k", rec(meta='"isDeleteMarker":true "isPHD"'))]
        self.assertEqual(names(self.run_master(make_kv([], raw))), ["k"])

    def test_random_paging_matches_reference(self):
        rnd = random.Random(11)
        raw, live = [], []
        for i in range(400):
            name = "".join(rnd.choice("ab/") for _ in range(rnd.randint(1, 5))) + str(i % 7)
            key = name.encode()
            if any(k == key for k, _ in raw):
                continue
            deleted = rnd.random() < 0.3
            raw.append((key, rec(isDeleteMarker=True) if deleted else rec(n=name)))
            for v in range(rnd.randint(0, 3)):
                raw.append((key + b"\x00v%d" % v, rec(n="version")))
            if not deleted:
                live.append(name)
        kv = make_kv([], raw)
        for delimiter in (None, "/", "b"):
            expected = DelimiterTests.reference(live, "", delimiter)
            for page in (1, 3, 1000):
                out, params = [], {"delimiter": delimiter, "maxKeys": page}
                while True:
                    r = self.run_master(kv, **params)
                    out += DelimiterTests.items(r)
                    if not r["IsTruncated"]:
                        break
                    params["marker"] = r["NextMarker"]
                self.assertEqual(out, expected, (delimiter, page))


class FastPathTests(SynchronousTestCase):
    """DelimiterMaster's hot path (no delimiter) against its general path."""

    @staticmethod
    def general(kv, params):
        flt = make_filter({"listingType": "DelimiterMaster", **params})
        flt._plain = False  # what every key went through before the hot path
        return list_range(kv, BASE, flt)

    def test_random_buckets_match_general_path(self):
        rnd = random.Random(5)
        raw, seen = [], set()
        for i in range(500):
            name = "".join(rnd.choice("ab/") for _ in range(rnd.randint(1, 4))) + str(i % 5)
            if name in seen:
                continue
            seen.add(name)
            key = name.encode()
            kind = rnd.random()
            if kind < 0.2:
                master = rec(isDeleteMarker=True)
            elif kind < 0.3:
                master = rec(isPHD=True)
            else:
                master = rec(n=name, size=i)
            raw.append((key, master))
            for v in range(rnd.randint(0, 4)):
                version = rec(isDeleteMarker=True) if rnd.random() < 0.2 else rec(n=f"{name}@{v}")
                raw.append((key + b"\x00v%d" % v, version))
        kv = make_kv([], raw)
        for fields in (None, ["n", "missing"]):
            for page in (1, 4, 1000):
                for v2 in (False, True):
                    params = {"maxKeys": page, "v2": v2, "valueFields": fields}
                    pages = 0
                    while True:
                        fast = listing(kv, listingType="DelimiterMaster", **params)
                        self.assertEqual(fast, self.general(kv, params), (fields, page, v2, pages))
                        pages += 1
                        if not fast["IsTruncated"]:
                            break
                        if v2:
                            params["continuationToken"] = fast["NextContinuationToken"]
                        else:
                            params["marker"] = fast["NextMarker"]
                    self.assertGreater(pages, 0)


class ValueFieldsTests(SynchronousTestCase):
    """``valueFields``: entries carry only the named fields of their records."""

    RECORD = {"etag": "e", "size": 3, "last-modified": 1.5, "acl": {"owner": "o"},
              "location": [{"size": 9}]}

    def kv(self):
        raw = [(b"a", rec(**self.RECORD)), (b"d/b", rec(**self.RECORD)),
               (b"p", rec(isPHD=True)), (b"p\x00v1", rec(**self.RECORD, n="latest"))]
        return make_kv([], raw)

    def test_projection_every_path(self):
        want = {"etag": "e", "size": 3}
        fields = ["etag", "size", "storage-class"]
        for kind in ("Delimiter", "DelimiterMaster"):
            for delimiter in (None, "/"):
                r = listing(self.kv(), listingType=kind, delimiter=delimiter,
                            valueFields=fields)
                for c in r["Contents"]:
                    if c["key"] != "p" or kind == "DelimiterMaster":  # Delimiter: raw keys
                        self.assertEqual(c["value"], want, (kind, delimiter, c["key"]))
        r = listing(self.kv(), listingType="DelimiterMaster")
        self.assertEqual(r["Contents"][0]["value"], self.RECORD)
        self.assertEqual(names(r), ["a", "d/b", "p"])

    def test_bad_value_fields(self):
        for bad in ("etag", [1], [None], 5, {"etag": 1}):
            self.assertRaises(InvalidArgument, make_filter, {"valueFields": bad})

    def test_through_rpc(self):
        """The projection happens in the daemon: the stream carries only the fields."""
        from twisted.internet.task import Clock

        from cloudserver.metadata.rpc_client import MetadataRPCClient
        from cloudserver.metadata.service import MetadataService
        from tests.unit.test_metadata_rpc import FakeEndpoint

        clock = Clock()
        service = MetadataService(MemoryKV())
        endpoint = FakeEndpoint(service, clock)
        client = MetadataRPCClient(endpoint, clock, connect_wait=2.0)
        client.start()
        self.addCleanup(client.close)
        service.create_bucket("bkt", {})
        for i in range(150):
            service.put_object("bkt", f"k{i:03d}", {**self.RECORD, "size": i})
        d = client.list_objects("bkt", {"listingType": "DelimiterMaster",
                                        "valueFields": ("size", "etag")})
        endpoint.flush()
        r = self.successResultOf(d)
        self.assertEqual(len(r["Contents"]), 150)
        self.assertEqual(r["Contents"][149], {"key": "k149", "value": {"size": 149, "etag": "e"}})


class LoadRecordTests(SynchronousTestCase):
    def test_same_as_json_loads(self):
        for text in ['{"a":1,"b":[1,2,{"c":null}],"é":"\\u00e9\\"x"}', '{}', '[1]', '"s"',
                     ' {"a":1} ', '{"a":1}\n', '3']:
            self.assertEqual(load_record(text.encode()), json.loads(text), text)

    def test_rejects_what_json_rejects(self):
        for text in ['{"a":1}x', '{"a":1}{}', '', '  ', '{"a":', 'nope', '{"a":1']:
            self.assertRaises(ValueError, load_record, text.encode())
        self.assertRaises(UnicodeDecodeError, load_record, b'{"a":"\xff"}')
