"""Tests for DelimiterVersions and the listing scan budget (cloudserver.metadata.listing),
as pure algorithms over a MemoryKV, and through the service."""
from __future__ import annotations

import random

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata import version_id
from cloudserver.metadata.errors import InvalidArgument
from cloudserver.metadata.kv import LevelDBKV, MemoryKV
from cloudserver.metadata.listing import DelimiterVersions, list_range, make_filter
from cloudserver.metadata.service import MetadataService
from tests.unit.test_metadata_kv import inline_thread
from tests.unit.test_metadata_listing import BASE, CountingKV, make_kv, names, rec


def vid(n: int) -> str:
    """The n-th version id: a greater n is newer, so sorts first."""
    return version_id.format_version_id(1_600_000_000_000 + n, 0, "RG001")


def versioned(name: str, *vids: int, null: int | None = None, dm: int | None = None,
              master_only: bool = False):
    """Raw pairs of an object: master = newest version, a key per version."""
    out = []
    ordered = sorted(vids, reverse=True)

    def md(n):
        m = {"n": f"{name}@{n}", "versionId": vid(n)}
        if n == null:
            m["isNull"] = True
        if n == dm:
            m["isDeleteMarker"] = True
        return m

    out.append((name.encode(), rec(**md(ordered[0]))))
    for n in ordered[1:] if master_only else ordered:
        out.append((name.encode() + b"\x00" + vid(n).encode(), rec(**md(n))))
    return out


def run(kv, **params):
    return list_range(kv, BASE, make_filter({"listingType": "DelimiterVersions", **params}))


def entries(result):
    return [(v["key"], v["versionId"], v["isLatest"], v["isDeleteMarker"])
            for v in result["Versions"]]


class DelimiterVersionsTests(SynchronousTestCase):
    def test_docs_example(self):
        """foo/bar, bar, qux/quz, quz with two versions each (the docs' LIST table)."""
        raw = []
        for name in ("foo/bar", "bar", "qux/quz", "quz"):
            raw += versioned(name, 1, 2)
        r = run(make_kv([], raw))
        self.assertEqual(entries(r), [
            ("bar", vid(2), True, False), ("bar", vid(1), False, False),
            ("foo/bar", vid(2), True, False), ("foo/bar", vid(1), False, False),
            ("qux/quz", vid(2), True, False), ("qux/quz", vid(1), False, False),
            ("quz", vid(2), True, False), ("quz", vid(1), False, False)])
        self.assertEqual((r["IsTruncated"], r["NextKeyMarker"], r["NextVersionIdMarker"]),
                         (False, None, None))
        self.assertEqual(r["Versions"][0]["value"], {"n": "bar@2", "versionId": vid(2)})
        r = run(make_kv([], raw), delimiter="/")
        self.assertEqual(r["CommonPrefixes"], ["foo/", "qux/"])
        self.assertEqual([e[0] for e in entries(r)], ["bar", "bar", "quz", "quz"])

    def test_docs_key_layout_example(self):
        """The docs' first table: foo/bar with three versions, ids as printed there.

        Those illustrative ids are not in newest-first byte order (ours are:
        see test_docs_example), so the master's own version key sorts last
        here; it is still listed once, as the latest, in the master's place.
        """
        docs_ids = ["098506163554375999999PARIS 0.a430a1f85c6ec",
                    "098506163554373999999PARIS 0.41b510cd0fdf8",
                    "098506163554373999998PARIS 0.f9b82c166f695"]
        raw = [(b"foo/bar", rec(n=0, versionId=docs_ids[0]))]
        raw += [(b"foo/bar\x00" + v.encode(), rec(n=docs_ids.index(v), versionId=v))
                for v in docs_ids]
        kv = make_kv(["foo/baz"], raw)
        r = run(kv)
        self.assertEqual(entries(r), [("foo/bar", docs_ids[0], True, False),
                                      ("foo/bar", docs_ids[2], False, False),
                                      ("foo/bar", docs_ids[1], False, False),
                                      ("foo/baz", "null", True, False)])
        self.assertEqual([v["value"]["n"] for v in r["Versions"][:3]], [0, 2, 1])
        master = list_range(kv, BASE, make_filter({"listingType": "DelimiterMaster"}))
        self.assertEqual([(c["key"], c["value"].get("n")) for c in master["Contents"]],
                         [("foo/bar", 0), ("foo/baz", "foo/baz")])
        r = run(kv, maxKeys=1)
        self.assertEqual((r["NextKeyMarker"], r["NextVersionIdMarker"]),
                         ("foo/bar", docs_ids[0]))
        r = run(kv, keyMarker="foo/bar")
        self.assertEqual(entries(r), [("foo/baz", "null", True, False)])

    def test_delete_markers_in_the_stream(self):
        raw = versioned("k", 1, 2, 3, dm=3) + versioned("m", 5, dm=4)
        r = run(make_kv([], raw))
        self.assertEqual(entries(r), [("k", vid(3), True, True), ("k", vid(2), False, False),
                                      ("k", vid(1), False, False), ("m", vid(5), True, False)])

    def test_null_versions(self):
        """An id-less master, a master-only null, and a null stored as a version."""
        raw = [(b"a", rec(n="pre-versioning"))]
        raw += versioned("b", 7, 3, null=7, master_only=True)   # suspended put on top
        raw += versioned("c", 9, 4, null=4)                      # preserved null, older
        r = run(make_kv([], raw))
        self.assertEqual(entries(r), [
            ("a", "null", True, False),
            ("b", "null", True, False), ("b", vid(3), False, False),
            ("c", vid(9), True, False), ("c", "null", False, False)])

    def test_value_fields(self):
        """Projected values; ids, nulls and delete markers still read from the records."""
        raw = [(b"a", rec(n="pre-versioning"))]
        raw += versioned("c", 9, 4, null=4) + versioned("k", 2, 3, dm=3)
        kv = make_kv([], raw)
        r = run(kv, valueFields=["n", "absent"])
        self.assertEqual(entries(r), entries(run(kv)))
        self.assertEqual([v["value"] for v in r["Versions"]],
                         [{"n": "pre-versioning"}, {"n": "c@9"}, {"n": "c@4"}, {"n": "k@3"},
                          {"n": "k@2"}])

    def test_placeholder_master(self):
        raw = [(b"p", rec(isPHD=True))] + versioned("p", 2, 1)[1:] + [(b"q", rec(isPHD=True))]
        r = run(make_kv(["z"], raw))
        self.assertEqual(entries(r), [("p", vid(2), True, False), ("p", vid(1), False, False),
                                      ("z", "null", True, False)])

    def test_prefix(self):
        raw = versioned("dir/a", 1) + versioned("dir/b", 2, 1) + versioned("dis", 1)
        r = run(make_kv([], raw), prefix="dir/")
        self.assertEqual([e[:2] for e in entries(r)],
                         [("dir/a", vid(1)), ("dir/b", vid(2)), ("dir/b", vid(1))])

    def test_markers(self):
        raw = versioned("a", 3, 2, 1) + versioned("b", 2, 1)
        kv = make_kv([], raw)
        r = run(kv, keyMarker="a")
        self.assertEqual([e[:2] for e in entries(r)], [("b", vid(2)), ("b", vid(1))])
        r = run(kv, keyMarker="a", versionIdMarker=vid(3))
        self.assertEqual([e[:3] for e in entries(r)],
                         [("a", vid(2), False), ("a", vid(1), False), ("b", vid(2), True),
                          ("b", vid(1), False)])
        r = run(kv, keyMarker="a", versionIdMarker=vid(1))
        self.assertEqual([e[0] for e in entries(r)], ["b", "b"])
        r = run(kv, versionIdMarker=vid(1))  # ignored without a key marker
        self.assertEqual(len(entries(r)), 5)

    def test_null_marker_resumes_after_master(self):
        kv = make_kv([], [(b"a", rec(n="pre")), (b"a\x00" + vid(1).encode(), rec(n="odd"))])
        r = run(kv, keyMarker="a", versionIdMarker="null")
        self.assertEqual([e[:2] for e in entries(r)], [("a", vid(1))])

    def test_max_keys_and_next_markers(self):
        raw = versioned("a", 3, 2, 1) + versioned("b", 1)
        kv = make_kv([], raw)
        r = run(kv, maxKeys=2)
        self.assertEqual((r["IsTruncated"], r["NextKeyMarker"], r["NextVersionIdMarker"]),
                         (True, "a", vid(2)))
        r = run(kv, maxKeys=0)
        self.assertEqual((entries(r), r["IsTruncated"]), ([], False))
        r = run(kv, maxKeys=4)
        self.assertEqual((len(entries(r)), r["IsTruncated"]), (4, False))
        raw = versioned("d/x", 1) + versioned("e", 1)
        r = run(make_kv([], raw), delimiter="/", maxKeys=1)
        self.assertEqual((r["CommonPrefixes"], r["NextKeyMarker"], r["NextVersionIdMarker"]),
                         (["d/"], "d/", None))
        r = run(make_kv([], raw), delimiter="/", keyMarker="d/")
        self.assertEqual((r["CommonPrefixes"], [e[0] for e in entries(r)]), ([], ["e"]))

    def test_bad_params(self):
        self.assertRaises(InvalidArgument, make_filter,
                          {"listingType": "DelimiterVersions", "maxKeys": "x"})
        self.assertRaises(InvalidArgument, DelimiterVersions, key_marker="a",
                          version_id_marker="a\x00b")
        self.assertIsInstance(make_filter({"listingType": "DelimiterVersion"}), DelimiterVersions)

    def test_common_prefix_of_many_versions_is_seeked(self):
        raw = []
        for i in range(300):
            raw += versioned(f"big/{i:03d}", 3, 2, 1)
        kv = CountingKV(make_kv(["a", "z"], raw))
        r = run(kv, delimiter="/")
        self.assertEqual((r["CommonPrefixes"], [e[0] for e in entries(r)]),
                         (["big/"], ["a", "z"]))
        self.assertLessEqual(kv.visited, 6)

    def test_visits_bounded_by_max_keys(self):
        raw = []
        for i in range(200):
            raw += versioned(f"k{i:03d}", *range(1, 11))
        kv = CountingKV(make_kv([], raw))
        r = run(kv, maxKeys=25)
        self.assertEqual(len(entries(r)), 25)
        self.assertLessEqual(kv.visited, 2 * 26)

    def test_random_paging_matches_full_listing(self):
        rnd = random.Random(3)
        raw = []
        for i in range(120):
            name = "".join(rnd.choice("ab/") for _ in range(rnd.randint(1, 4))) + str(i)
            kind = rnd.random()
            if kind < 0.15:
                raw.append((name.encode(), rec(n=name)))  # written before versioning
                continue
            vids = rnd.sample(range(1, 30), rnd.randint(1, 4))
            top = max(vids)
            raw += versioned(name, *vids, dm=top if kind < 0.3 else None,
                             null=top if 0.3 <= kind < 0.45 else None,
                             master_only=0.3 <= kind < 0.45)
            if kind > 0.9:
                raw[-len(vids) - 1] = (name.encode(), rec(isPHD=True))
        kv = make_kv([], raw)
        svc_like = {k: v for k, v in raw}
        for delimiter in (None, "/", "b"):
            full = run(kv, delimiter=delimiter, maxKeys=100000)
            self.assertFalse(full["IsTruncated"])
            want = (entries(full), full["CommonPrefixes"])
            for page in (1, 2, 7):
                got, cps, params = [], [], {"delimiter": delimiter, "maxKeys": page}
                for _ in range(1000):
                    r = run(kv, **params)
                    got += entries(r)
                    cps += r["CommonPrefixes"]
                    if not r["IsTruncated"]:
                        break
                    params["keyMarker"] = r["NextKeyMarker"]
                    marker = r["NextVersionIdMarker"]
                    if marker == "null":
                        marker = self.null_position(svc_like, r["NextKeyMarker"])
                    params["versionIdMarker"] = marker
                self.assertEqual((got, cps), want, (delimiter, page))

    @staticmethod
    def null_position(raw, key):
        """What the service does for versionIdMarker "null": the null's internal id."""
        import json
        master = json.loads(raw[key.encode()])
        return master.get("versionId") or "null"


class ScanBudgetTests(SynchronousTestCase):
    """A page ends early, with a marker, once too many hidden entries were visited."""

    def deleted(self, names):
        return [(n.encode(), rec(isDeleteMarker=True)) for n in names]

    def test_delete_markers_end_the_page_early(self):
        raw = self.deleted([f"gone{i:04d}" for i in range(1000)])
        kv = CountingKV(make_kv(["a", "zz"], raw))
        flt = make_filter({"listingType": "DelimiterMaster"})
        r = list_range(kv, BASE, flt, skip_budget=100)
        self.assertEqual((names(r), r["IsTruncated"], r["NextMarker"]), (["a"], True, "gone0099"))
        self.assertLessEqual(kv.visited, 102)
        out, params = names(r), {"listingType": "DelimiterMaster", "marker": r["NextMarker"]}
        for _ in range(20):
            r = list_range(kv, BASE, make_filter(params), skip_budget=100)
            out += names(r)
            if not r["IsTruncated"]:
                break
            params["marker"] = r["NextMarker"]
        self.assertEqual(out, ["a", "zz"])

    def test_v2_token(self):
        kv = make_kv(["zz"], self.deleted([f"g{i:03d}" for i in range(50)]))
        r = list_range(kv, BASE, make_filter({"listingType": "DelimiterMaster", "v2": True}),
                       skip_budget=10)
        self.assertTrue(r["IsTruncated"])
        r = list_range(kv, BASE, make_filter({"listingType": "DelimiterMaster", "v2": True,
                                              "continuationToken": r["NextContinuationToken"]}))
        self.assertEqual(names(r), ["zz"])

    def test_no_stop_inside_unreturned_common_prefix(self):
        """dir/ holds only deleted objects but one: it must still be listed."""
        raw = self.deleted([f"dir/{i:03d}" for i in range(50)]) + [(b"dir/zz", rec())]
        r = list_range(make_kv([], raw), BASE,
                       make_filter({"listingType": "DelimiterMaster", "delimiter": "/"}),
                       skip_budget=5)
        self.assertEqual((r["CommonPrefixes"], r["IsTruncated"]), (["dir/"], False))

    def test_no_stop_between_placeholder_and_version(self):
        raw = self.deleted([f"g{i}" for i in range(5)]) + [
            (b"p", rec(isPHD=True)), (b"p\x00" + vid(1).encode(), rec(n="p"))]
        r = list_range(make_kv([], raw), BASE, make_filter({"listingType": "DelimiterMaster"}),
                       skip_budget=6)
        self.assertEqual(names(r), ["p"])

    def test_plain_delimiter_budget(self):
        kv = make_kv([f"k{i}" for i in range(10)])
        r = list_range(kv, BASE, make_filter({}), skip_budget=1)
        self.assertEqual(len(names(r)), 10)  # nothing skipped, nothing cut


class ServiceListingTestsMixin:
    """Listings through the service, whatever the KV below it (memory, LevelDB)."""

    def make_kv(self):
        raise NotImplementedError

    def setUp(self):
        self.clock = Clock()
        self.clock.advance(1_700_000_000)
        self.svc = MetadataService(self.make_kv(), "RG001", self.clock.seconds)
        self.successResultOf(self.svc.create_bucket("bkt", {}))

    def put(self, key, options=None, **md):
        self.clock.advance(0.001)
        return self.successResultOf(self.svc.put_object("bkt", key, md, options))

    def listing(self, **params):
        return self.successResultOf(self.svc.list_objects(
            "bkt", {"listingType": "DelimiterVersions", **params}))

    def test_docs_cases_listed(self):
        self.put("a", n=1)                                  # before versioning
        self.put("b", {"versionId": ""}, n=1)                # suspended
        v2 = self.put("b", {"versioning": True}, n=2)["versionId"]
        dm = self.put("c", {"versioning": True}, isDeleteMarker=True)["versionId"]
        r = self.listing()
        self.assertEqual(entries(r), [("a", "null", True, False), ("b", v2, True, False),
                                      ("b", "null", False, False), ("c", dm, True, True)])
        master = self.successResultOf(self.svc.list_objects("bkt",
                                                           {"listingType": "DelimiterMaster"}))
        self.assertEqual(names(master), ["a", "b"])

    def test_null_marker_resolved_by_the_service(self):
        self.put("b", {"versionId": ""}, n=1)
        self.put("b", {"versioning": True}, n=2)
        self.put("b", {"versioning": True}, n=3)
        self.put("c", {"versionId": ""}, n=1)
        out, params = [], {"maxKeys": 1}
        while True:
            r = self.listing(**params)
            out += entries(r)
            if not r["IsTruncated"]:
                break
            params.update(keyMarker=r["NextKeyMarker"], versionIdMarker=r["NextVersionIdMarker"])
        self.assertEqual([(k, v == "null") for k, v, _, _ in out],
                         [("b", False), ("b", False), ("b", True), ("c", True)])
        r = self.listing(keyMarker="b", versionIdMarker="null")
        self.assertEqual([e[0] for e in entries(r)], ["c"])
        r = self.listing(keyMarker="nothing", versionIdMarker="null")
        self.assertEqual([e[0] for e in entries(r)], [])

    def test_null_marker_on_key_without_null_version(self):
        """Resumes after every version of the key, not right after its master
        (which would list the master's own version key again, as not latest)."""
        v1 = self.put("gone", {"versioning": True}, n=1)["versionId"]
        dm = self.put("gone", {"versioning": True}, isDeleteMarker=True)["versionId"]
        self.put("n", n=1)
        self.assertEqual(entries(self.listing()), [
            ("gone", dm, True, True), ("gone", v1, False, False), ("n", "null", True, False)])
        r = self.listing(keyMarker="gone", versionIdMarker="null")
        self.assertEqual(entries(r), [("n", "null", True, False)])

    def test_docs_listing_example(self):
        """The docs' LIST table (foo/bar, bar, qux/quz, quz, two versions each but
        bar), written through the service: masters only, and every version."""
        ids = {}
        for name in ("foo/bar", "qux/quz", "quz"):
            ids[name] = [self.put(name, {"versioning": True}, n=i)["versionId"]
                         for i in (1, 2)]
        self.put("bar", n=0)
        master = self.successResultOf(self.svc.list_objects(
            "bkt", {"listingType": "DelimiterMaster"}))
        self.assertEqual(sorted(names(master)), ["bar", "foo/bar", "qux/quz", "quz"])
        self.assertEqual(names(master), ["bar", "foo/bar", "qux/quz", "quz"])
        master = self.successResultOf(self.svc.list_objects(
            "bkt", {"listingType": "DelimiterMaster", "delimiter": "/"}))
        self.assertEqual((names(master), master["CommonPrefixes"]),
                         (["bar", "quz"], ["foo/", "qux/"]))
        r = self.listing()
        want = [("bar", "null", True, False)]
        for name in ("foo/bar", "qux/quz", "quz"):
            want += [(name, ids[name][1], True, False), (name, ids[name][0], False, False)]
        self.assertEqual(entries(r), want)
        # paging one entry at a time gives the same stream
        out, params = [], {"maxKeys": 1}
        while True:
            page = self.listing(**params)
            out += entries(page)
            if not page["IsTruncated"]:
                break
            params.update(keyMarker=page["NextKeyMarker"],
                          versionIdMarker=page["NextVersionIdMarker"])
        self.assertEqual(out, want)


class MemoryServiceListingTests(ServiceListingTestsMixin, SynchronousTestCase):
    def make_kv(self):
        return MemoryKV()


class LevelDBServiceListingTests(ServiceListingTestsMixin, SynchronousTestCase):
    def make_kv(self):
        kv = LevelDBKV(self.mktemp(), inline_thread)
        self.addCleanup(kv.close)
        return kv
