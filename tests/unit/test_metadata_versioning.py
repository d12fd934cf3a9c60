"""Tests for versioned object metadata (cloudserver.metadata.versioning via the
service), run over MemoryKV and LevelDBKV: the CloudServer docs' cases."""
from __future__ import annotations

import json
import random

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata import errors, version_id
from cloudserver.metadata.kv import LevelDBKV, MemoryKV
from cloudserver.metadata.service import MetadataService
from cloudserver.metadata.versioning import Options, parse_options
from tests.unit.test_metadata_kv import HeldThreads, inline_thread

BASE = b"O\x00bkt\x00"
ENABLED = {"versioning": True}
SUSPENDED = {"versionId": ""}
INF = version_id.inf_version_id("RG001")


class VersioningTestsMixin:
    """The versioning state machine, whatever the KV below the service."""

    def make_kv(self):
        raise NotImplementedError

    def setUp(self):
        self.kv = self.make_kv()
        self.clock = Clock()
        self.clock.advance(1_700_000_000)
        self.svc = MetadataService(self.kv, "RG001", self.clock.seconds)
        self.ok(self.svc.create_bucket("bkt", {}))

    def ok(self, d):
        return self.successResultOf(d)

    def err(self, d, cls):
        return self.failureResultOf(d, cls).value

    def put(self, data, options=None, key="foo", **md):
        self.clock.advance(0.001)
        return self.ok(self.svc.put_object("bkt", key, {"data": data, **md}, options))

    def get(self, options=None, key="foo"):
        return self.ok(self.svc.get_object("bkt", key, options))

    def delete(self, vid, key="foo"):
        return self.ok(self.svc.delete_object("bkt", key, {"versionId": vid}))

    def layout(self, key="foo"):
        """[(key shown as in the docs' tables, data)]: master first, then versions."""
        out = []
        prefix = BASE + key.encode()
        for k, v in self.kv.iterate(gte=prefix, lt=prefix + b"\x01"):
            md = json.loads(v)
            rest = k[len(prefix):]
            shown = key if not rest else key + "." + rest[1:].decode()
            out.append((shown, md.get("data")))
        return out

    def vkey(self, vid, key="foo"):
        return f"{key}.{vid}"

    # -- creation of new versions ------------------------------------------------

    def test_docs_new_versions(self):
        """(1) and (2) PUT foo, versioning: true."""
        r1 = self.put("A", ENABLED)
        v1 = r1["versionId"]
        self.assertTrue(version_id.is_valid(v1))
        self.assertEqual(r1, {"versionId": v1, "isNull": False, "isDeleteMarker": False,
                              "previous": None, "deleted": []})
        self.assertEqual(self.layout(), [("foo", "A"), (self.vkey(v1), "A")])
        r2 = self.put("B", ENABLED)
        v2 = r2["versionId"]
        self.assertLess(v2, v1)
        self.assertEqual(r2["previous"]["data"], "A")
        self.assertEqual(self.layout(), [("foo", "B"), (self.vkey(v2), "B"), (self.vkey(v1), "A")])
        self.assertEqual(self.get()["versionId"], v2)
        self.assertEqual(self.get({"versionId": v1})["data"], "A")
        self.assertEqual(self.get({"versionId": v2}), self.get())

    def test_versioning_ignored_when_version_id_given(self):
        v1 = self.put("A", ENABLED)["versionId"]
        self.put("A2", {"versioning": True, "versionId": v1})
        self.assertEqual(self.layout(), [("foo", "A2"), (self.vkey(v1), "A2")])

    def test_no_such_version(self):
        v1 = self.put("A", ENABLED)["versionId"]
        other = version_id.format_version_id(1, 1, "RG001")
        e = self.err(self.svc.get_object("bkt", "foo", {"versionId": other}), errors.NoSuchVersion)
        self.assertEqual(e.code, "NoSuchVersion")
        self.err(self.svc.delete_object("bkt", "foo", {"versionId": other}),
                 errors.NoSuchVersion)
        self.err(self.svc.get_object("bkt", "bar", {"versionId": v1}), errors.NoSuchVersion)
        self.err(self.svc.get_object("nope", "foo", {"versionId": v1}), errors.NoSuchBucket)
        self.err(self.svc.delete_object("nope", "foo", {"versionId": v1}), errors.NoSuchBucket)
        self.err(self.svc.put_object("nope", "foo", {}, ENABLED), errors.NoSuchBucket)
        self.err(self.svc.get_object("bkt", "foo", {"versionId": 7}), errors.InvalidArgument)
        self.err(self.svc.get_object("bkt", "foo", {"versionId": "a\x00"}),
                 errors.InvalidArgument)

    def test_get_bucket_and_object_with_version(self):
        v1 = self.put("A", ENABLED)["versionId"]
        self.put("B", ENABLED)
        r = self.ok(self.svc.get_bucket_and_object("bkt", "foo", {"versionId": v1}))
        self.assertEqual(r["obj"]["data"], "A")
        r = self.ok(self.svc.get_bucket_and_object("bkt", "foo", {"versionId": INF}))
        self.assertIsNone(r["obj"])
        self.assertEqual(self.ok(self.svc.get_bucket_and_object("bkt", "foo"))["obj"]["data"], "B")

    # -- null versions --------------------------------------------------------------

    def test_docs_case1_null_versions(self):
        """(1) PUT versionId '' ; (2) PUT versionId '' again: one null master."""
        r1 = self.put("A", SUSPENDED)
        self.assertTrue(r1["isNull"])
        self.assertEqual(self.layout(), [("foo", "A")])
        master = self.get()
        self.assertEqual((master["isNull"], master["versionId"]), (True, r1["versionId"]))
        r2 = self.put("B", SUSPENDED)
        self.assertEqual(self.layout(), [("foo", "B")])
        self.assertEqual([d["data"] for d in r2["deleted"]], ["A"], "A's data is freed")
        self.assertEqual(r2["previous"]["data"], "A")

    def test_docs_case1_before_versioning(self):
        """Objects written without options are null versions without a versionId."""
        self.assertEqual(self.put("A"), {})
        self.assertEqual(self.put("B")["data"], "A")  # the plain API is unchanged
        self.assertNotIn("versionId", self.get())
        r = self.put("C", SUSPENDED)
        self.assertEqual([d["data"] for d in r["deleted"]], ["B"])
        self.assertEqual(self.layout(), [("foo", "C")])
        self.assertEqual(self.get({"versionId": "null"})["data"], "C")

    def test_docs_case1_literal_two_calls(self):
        """The docs' (2A) DELETE versionId=<master's> then (2B) PUT '' still works."""
        vid = self.put("A", SUSPENDED)["versionId"]
        r = self.delete(vid)
        self.assertEqual((r["isNull"], [d["data"] for d in r["deleted"]]), (True, ["A"]))
        self.assertEqual(self.layout(), [])
        self.assertEqual(self.put("B", SUSPENDED)["deleted"], [])
        self.assertEqual(self.layout(), [("foo", "B")])

    def test_docs_case2_preserve_pre_versioning_null(self):
        """(3A)+(3B) in one call: an id-less null master is kept as a version."""
        self.put("B")
        r = self.put("C", ENABLED)
        v2 = r["versionId"]
        self.assertEqual(r["deleted"], [])
        self.assertEqual(self.layout(), [("foo", "C"), (self.vkey(v2), "C"),
                                         (self.vkey(INF), "B")])
        null = self.get({"versionId": INF})
        self.assertEqual((null["isNull"], null["versionId"]), (True, INF))
        self.assertEqual(self.get()["nullVersionId"], INF)
        self.assertEqual(self.get({"versionId": "null"})["data"], "B")

    def test_docs_case2_preserve_suspended_null(self):
        v1 = self.put("B", SUSPENDED)["versionId"]
        v2 = self.put("C", ENABLED)["versionId"]
        self.assertEqual(self.layout(), [("foo", "C"), (self.vkey(v2), "C"), (self.vkey(v1), "B")])
        self.assertEqual(self.get()["nullVersionId"], v1)
        self.assertTrue(self.get({"versionId": v1})["isNull"])
        # nullVersionId is carried on by later versions
        self.put("D", ENABLED)
        self.assertEqual(self.get()["nullVersionId"], v1)
        self.assertEqual(self.get({"versionId": "null"})["data"], "B")

    def test_docs_case2_literal_two_calls(self):
        """(3A) PUT versionId=<non-versioned id> then (3B) PUT versioning: same end state."""
        self.put("B")
        r = self.put("B", {"versionId": INF}, isNull=True)
        self.assertEqual(self.layout(), [("foo", "B"), (self.vkey(INF), "B")])
        self.assertEqual(r["deleted"], [])
        v2 = self.put("C", ENABLED)["versionId"]
        self.assertEqual(self.layout(), [("foo", "C"), (self.vkey(v2), "C"),
                                         (self.vkey(INF), "B")])
        self.assertEqual(self.get()["nullVersionId"], INF)

    def test_docs_case3_overwrite_null_not_latest(self):
        """(4A)+(4B) in one call: the null version named by nullVersionId goes."""
        v1 = self.put("B", SUSPENDED)["versionId"]
        v2 = self.put("C", ENABLED)["versionId"]
        self.assertEqual(self.get()["nullVersionId"], v1)
        r = self.put("D", SUSPENDED)
        self.assertEqual([d["data"] for d in r["deleted"]], ["B"])
        self.assertEqual(r["previous"]["data"], "C")
        self.assertEqual(self.layout(), [("foo", "D"), (self.vkey(v2), "C")])
        master = self.get()
        self.assertTrue(master["isNull"])
        self.assertNotIn("nullVersionId", master)
        self.assertEqual(self.get({"versionId": "null"})["data"], "D")

    def test_docs_case3_literal_two_calls(self):
        v1 = self.put("B", SUSPENDED)["versionId"]
        v2 = self.put("C", ENABLED)["versionId"]
        r = self.delete(self.get()["nullVersionId"])
        self.assertEqual((r["versionId"], [d["data"] for d in r["deleted"]]), (v1, ["B"]))
        self.assertEqual(self.layout(), [("foo", "C"), (self.vkey(v2), "C")])
        self.err(self.svc.put_object("bkt", "foo", {}, {"versionId": "null"}),
                 errors.NoSuchVersion)  # the master's nullVersionId is stale now
        self.assertEqual(self.put("D", SUSPENDED)["deleted"], [])  # the stale id: nothing
        self.assertEqual(self.layout(), [("foo", "D"), (self.vkey(v2), "C")])

    def test_null_mapping_without_null_version(self):
        self.put("A", ENABLED)
        self.err(self.svc.get_object("bkt", "foo", {"versionId": "null"}), errors.NoSuchVersion)
        self.err(self.svc.delete_object("bkt", "foo", {"versionId": "null"}),
                 errors.NoSuchVersion)
        self.err(self.svc.put_object("bkt", "foo", {}, {"versionId": "null"}),
                 errors.NoSuchVersion)
        self.err(self.svc.get_object("bkt", "nothing", {"versionId": "null"}),
                 errors.NoSuchVersion)

    def test_delete_null_version(self):
        self.put("A")
        v2 = self.put("B", ENABLED)["versionId"]
        r = self.delete("null")
        self.assertEqual((r["versionId"], r["isNull"]), (INF, True))
        self.assertEqual(self.layout(), [("foo", "B"), (self.vkey(v2), "B")])

    def test_delete_id_less_null_master(self):
        self.put("A")
        r = self.delete("null")
        self.assertEqual((r["versionId"], r["isNull"], r["deleted"][0]["data"]), (None, True, "A"))
        self.assertEqual(self.layout(), [])

    # -- version-specific puts (ACL, tags) ----------------------------------------------

    def test_put_version_latest_updates_master(self):
        v1 = self.put("A", ENABLED)["versionId"]
        v2 = self.put("B", ENABLED)["versionId"]
        r = self.put("B+acl", {"versionId": v2})
        self.assertEqual((r["versionId"], r["deleted"]), (v2, []))
        self.assertEqual(self.layout(), [("foo", "B+acl"), (self.vkey(v2), "B+acl"),
                                         (self.vkey(v1), "A")])
        self.put("A+acl", {"versionId": v1})
        self.assertEqual(self.layout(), [("foo", "B+acl"), (self.vkey(v2), "B+acl"),
                                         (self.vkey(v1), "A+acl")])

    def test_put_version_master_only_null(self):
        """Footnote 2: the null master gets its own key too."""
        vid = self.put("A", SUSPENDED)["versionId"]
        self.put("A+acl", {"versionId": vid}, isNull=True)
        self.assertEqual(self.layout(), [("foo", "A+acl"), (self.vkey(vid), "A+acl")])
        # then a suspended put replaces it, key and all
        r = self.put("B", SUSPENDED)
        self.assertEqual([d["data"] for d in r["deleted"]], ["A+acl"])
        self.assertEqual(self.layout(), [("foo", "B")])

    def test_put_version_newer_than_master(self):
        """Replication: a newer version id becomes the master, the old one is kept."""
        self.put("A")
        newer = version_id.format_version_id(2_000_000_000_000, 0, "RG002")
        r = self.put("R", {"versionId": newer})
        self.assertEqual(r["deleted"], [])
        self.assertEqual(self.layout(), [("foo", "R"), (self.vkey(newer), "R"),
                                         (self.vkey(INF), "A")])

    def test_put_null_on_id_less_master(self):
        self.put("A")
        r = self.put("A+acl", {"versionId": "null"})
        self.assertEqual((r["versionId"], r["isNull"]), (None, True))
        self.assertEqual(self.layout(), [("foo", "A+acl")])
        self.assertNotIn("versionId", self.get())

    # -- deletes and delete markers ---------------------------------------------------

    def test_docs_delete_example(self):
        v1 = self.put("A", ENABLED)["versionId"]
        r = self.put(None, ENABLED, isDeleteMarker=True)
        dm = r["versionId"]
        self.assertTrue(r["isDeleteMarker"])
        self.assertTrue(self.get()["isDeleteMarker"])  # S3 answers 404 from this
        self.assertEqual(self.layout(),
                         [("foo", None), (self.vkey(dm), None), (self.vkey(v1), "A")])
        # deleting the delete marker restores the previous version
        r = self.delete(dm)
        self.assertEqual((r["versionId"], r["isDeleteMarker"]), (dm, True))
        self.assertEqual(self.get()["data"], "A")
        self.assertEqual(self.layout(), [("foo", "A"), (self.vkey(v1), "A")])

    def test_delete_with_versioning_flag_refused(self):
        self.put("A", ENABLED)
        self.err(self.svc.delete_object("bkt", "foo", ENABLED), errors.InvalidArgument)
        self.assertEqual(len(self.layout()), 2)

    def test_delete_marker_on_missing_object(self):
        r = self.put(None, ENABLED, key="ghost", isDeleteMarker=True)
        self.assertEqual((r["isDeleteMarker"], r["previous"]), (True, None))
        self.assertTrue(self.get(key="ghost")["isDeleteMarker"])

    def test_suspended_delete_marker_replaces_null(self):
        self.put("A", SUSPENDED)
        r = self.put(None, SUSPENDED, isDeleteMarker=True)
        self.assertEqual((r["isNull"], r["isDeleteMarker"]), (True, True))
        self.assertEqual([d["data"] for d in r["deleted"]], ["A"])
        self.assertEqual(self.layout(), [("foo", None)])

    def test_delete_latest_repairs_master(self):
        v1 = self.put("A", ENABLED)["versionId"]
        v2 = self.put("B", ENABLED)["versionId"]
        v3 = self.put("C", ENABLED)["versionId"]
        r = self.delete(v3)
        self.assertEqual([d["data"] for d in r["deleted"]], ["C"])
        self.assertEqual(self.layout(), [("foo", "B"), (self.vkey(v2), "B"), (self.vkey(v1), "A")])
        self.delete(v1)  # not the latest: master untouched
        self.assertEqual(self.layout(), [("foo", "B"), (self.vkey(v2), "B")])
        self.delete(v2)
        self.assertEqual(self.layout(), [])
        self.err(self.svc.get_object("bkt", "foo"), errors.NoSuchKey)
        self.ok(self.svc.delete_bucket("bkt"))

    def test_delete_master_only_null_repairs_to_version(self):
        v1 = self.put("A", ENABLED)["versionId"]
        self.put("B", {"versionId": v1})
        # a null master (newest id) that is stored in the master key only
        self.kv_put(b"foo", {"data": "N", "isNull": True, "versionId": "0" * 20 + "RG001  "})
        r = self.delete("null")
        self.assertEqual(r["deleted"][0]["data"], "N")
        self.assertEqual(self.layout(), [("foo", "B"), (self.vkey(v1), "B")])

    def test_plain_delete_unchanged(self):
        self.put("A")
        self.assertEqual(self.ok(self.svc.delete_object("bkt", "foo"))["data"], "A")
        self.assertEqual(self.layout(), [])
        self.put("B")
        self.assertEqual(self.ok(self.svc.delete_object("bkt", "foo", {"versionId": ""}))["data"],
                         "B")

    # -- placeholders -------------------------------------------------------------------

    def kv_put(self, rel, md):
        self.ok(self.kv.write([(BASE + rel, json.dumps(md).encode())]))

    def test_placeholder_resolved_and_repaired(self):
        v1 = self.put("A", ENABLED)["versionId"]
        self.kv_put(b"foo", {"isPHD": True, "versionId": "00"})
        self.assertEqual(self.get()["data"], "A")  # resolved; repaired in the background
        self.assertEqual(self.layout(), [("foo", "A"), (self.vkey(v1), "A")])
        self.kv_put(b"foo", {"isPHD": True})
        self.delete(v1)
        self.assertEqual(self.layout(), [])

    def test_placeholder_without_versions(self):
        self.kv_put(b"foo", {"isPHD": True})
        self.err(self.svc.get_object("bkt", "foo"), errors.NoSuchKey)
        self.assertEqual(self.layout(), [])
        self.assertEqual(self.ok(self.svc.get_bucket_and_object("bkt", "foo"))["obj"], None)

    def test_placeholder_replaced_by_older_version_put(self):
        v1 = self.put("A", ENABLED)["versionId"]
        v2 = self.put("B", ENABLED)["versionId"]
        self.kv_put(b"foo", {"isPHD": True})
        self.put("A+acl", {"versionId": v1})
        self.assertEqual(self.layout(), [("foo", "B"), (self.vkey(v2), "B"),
                                         (self.vkey(v1), "A+acl")])

    def test_placeholder_before_versioning_put(self):
        v1 = self.put("A", ENABLED)["versionId"]
        self.kv_put(b"foo", {"isPHD": True})
        r = self.put("B", ENABLED)
        self.assertEqual(r["previous"]["data"], "A")
        self.assertEqual(self.layout(), [("foo", "B"), (self.vkey(r["versionId"]), "B"),
                                         (self.vkey(v1), "A")])

    # -- data ownership under random sequences ------------------------------------------

    def test_random_sequences_free_each_record_once(self):
        """Every record written is either still stored or reported in ``deleted``
        exactly once, and the stored state matches a simple model."""
        rnd = random.Random(5)
        written, freed = {}, []
        for step in range(300):
            op = rnd.choice(["enabled", "suspended", "dm", "dm-suspended", "delete", "acl",
                             "plain-read"])
            tag = f"d{step}"
            if op in ("enabled", "suspended", "dm", "dm-suspended"):
                opts = ENABLED if op in ("enabled", "dm") else SUSPENDED
                extra = {"isDeleteMarker": True} if op.startswith("dm") else {}
                r = self.put(tag, opts, **extra)
                written[tag] = r["versionId"]
                freed += [d["data"] for d in r["deleted"]]
            elif op == "delete":
                live = self.versions()
                if live:
                    vid = rnd.choice(live)[0]
                    r = self.delete(vid)
                    freed += [d["data"] for d in r["deleted"]]
            elif op == "acl":
                live = self.versions()
                if live:
                    vid, data = rnd.choice(live)
                    self.put(data, {"versionId": vid})
            else:
                self.svc.get_object("bkt", "foo")
            stored = {data for _, data in self.versions()}
            self.assertEqual(len(freed), len(set(freed)), f"freed twice at step {step}")
            self.assertEqual(stored | set(freed), set(written), f"leak at step {step}")
            self.assertFalse(stored & set(freed), f"freed but stored at step {step}")
            self.check_master_is_latest()

    def versions(self):
        """[(vid, data)] of every version: version keys plus a master-only null."""
        out = []
        seen = set()
        for shown, data in self.layout():
            if shown != "foo":
                vid = shown.split(".", 1)[1]
                out.append((vid, data))
                seen.add(vid)
        if self.layout() and self.layout()[0][0] == "foo":
            master = self.get()
            if master.get("versionId") not in seen:
                out.append((master.get("versionId"), master.get("data")))
        return out

    def check_master_is_latest(self):
        layout = self.layout()
        if not layout:
            return
        self.assertEqual(layout[0][0], "foo", "versions without a master")
        master = self.get()
        if len(layout) > 1:
            first_vid = layout[1][0].split(".", 1)[1]
            self.assertLessEqual(master["versionId"], first_vid)


class MemoryVersioningTests(VersioningTestsMixin, SynchronousTestCase):
    def make_kv(self):
        return MemoryKV()


class LevelDBVersioningTests(VersioningTestsMixin, SynchronousTestCase):
    def make_kv(self):
        kv = LevelDBKV(self.mktemp(), inline_thread)
        self.addCleanup(kv.close)
        return kv


class ConcurrencyTests(SynchronousTestCase):
    """Calls on one object while LevelDB batches wait in the (fake) thread pool."""

    def setUp(self):
        self.threads = HeldThreads()
        self.kv = LevelDBKV(self.mktemp(), self.threads)
        self.clock = Clock()
        self.svc = MetadataService(self.kv, "RG001", self.clock.seconds)
        self.drain(self.svc.create_bucket("bkt", {}))

    def tearDown(self):
        self.drain(self.kv.close())

    def drain(self, d):
        while self.threads.pending:
            self.threads.release()
        return self.successResultOf(d)

    def put(self, data, options=ENABLED, **md):
        return self.svc.put_object("bkt", "foo", {"data": data, **md}, options)

    def get(self, options=None):
        return self.successResultOf(self.svc.get_object("bkt", "foo", options))

    def test_concurrent_versioned_puts(self):
        d1, d2 = self.put("A"), self.put("B")
        r2 = self.drain(d2)
        r1 = self.successResultOf(d1)
        self.assertLess(r2["versionId"], r1["versionId"])
        self.assertEqual(r2["previous"]["data"], "A", "the second saw the first in flight")
        self.assertEqual(self.get()["data"], "B")
        self.assertEqual(self.get({"versionId": r1["versionId"]})["data"], "A")
        self.assertEqual(self.kv.batches, 3)  # create, A, then B alone (held)

    def test_delete_older_while_newer_put_in_flight(self):
        """Planned against the in-flight put of B, deleting A leaves the master alone
        (against the KV alone it would have removed the master, losing B)."""
        a = self.drain(self.put("A"))
        blocker = self.svc.put_object("bkt", "other", {})
        d_b = self.put("B")
        d_del = self.svc.delete_object("bkt", "foo", {"versionId": a["versionId"]})
        self.drain(blocker)
        r = self.successResultOf(d_del)
        self.assertEqual(r["previous"]["data"], "B")
        self.assertEqual(self.get()["data"], "B")
        self.assertEqual(self.get({"versionId": self.successResultOf(d_b)["versionId"]})["data"],
                         "B")
        self.failureResultOf(self.svc.get_object("bkt", "foo", {"versionId": a["versionId"]}),
                             errors.NoSuchVersion)

    def test_put_and_deletes_in_one_group_commit(self):
        a = self.drain(self.put("A"))
        blocker = self.svc.put_object("bkt", "other", {})
        d_b, d_c = self.put("B"), self.put("C")
        self.drain(blocker)
        b, c = self.successResultOf(d_b), self.successResultOf(d_c)
        self.assertEqual(c["previous"]["data"], "B")
        blocker = self.svc.put_object("bkt", "other", {})
        d1 = self.svc.delete_object("bkt", "foo", {"versionId": c["versionId"]})
        d2 = self.svc.delete_object("bkt", "foo", {"versionId": b["versionId"]})
        r2 = self.drain(d2)
        self.successResultOf(d1)
        self.successResultOf(blocker)
        self.assertEqual(r2["previous"]["data"], "B", "the second delete saw the first's repair")
        self.assertEqual(self.get()["versionId"], a["versionId"])

    def test_two_deletes_of_the_latest_in_flight(self):
        a = self.drain(self.put("A"))
        b = self.drain(self.put("B"))
        c = self.drain(self.put("C"))
        blocker = self.svc.put_object("bkt", "other", {})
        d1 = self.svc.delete_object("bkt", "foo", {"versionId": c["versionId"]})
        d2 = self.svc.delete_object("bkt", "foo", {"versionId": b["versionId"]})
        d3 = self.svc.delete_object("bkt", "foo", {"versionId": c["versionId"]})
        self.failureResultOf(d3, errors.NoSuchVersion)  # already gone (in flight)
        self.drain(blocker)
        self.successResultOf(d1)
        self.successResultOf(d2)
        self.assertEqual(self.get()["versionId"], a["versionId"])
        self.assertEqual(self.svc._staged, {})
        self.assertEqual(self.svc._staged_versions, {})

    def test_suspended_put_sees_in_flight_null(self):
        blocker = self.svc.put_object("bkt", "other", {})
        d1 = self.put("A", SUSPENDED)
        d2 = self.put("B", SUSPENDED)
        self.drain(blocker)
        self.assertEqual(self.successResultOf(d1)["deleted"], [])
        self.assertEqual([x["data"] for x in self.successResultOf(d2)["deleted"]], ["A"])
        self.assertEqual(self.get()["data"], "B")

    def test_failed_batch_unstages(self):
        d = self.put("A")
        self.threads.release(fail=OSError("disk"))
        self.failureResultOf(d, OSError)
        self.assertEqual((self.svc._staged, self.svc._staged_versions), ({}, {}))
        self.drain(self.put("B"))
        self.assertEqual(self.get()["data"], "B")


class OptionsTests(SynchronousTestCase):
    def test_parse(self):
        self.assertEqual(parse_options(None), Options())
        self.assertTrue(parse_options({"versionId": None, "versioning": False}).plain)
        self.assertEqual(parse_options({"versioning": True}), Options(versioning=True))
        self.assertEqual(parse_options({"versionId": ""}).version_id, "")
        self.assertFalse(parse_options({"versionId": ""}).plain)
        self.assertRaises(errors.InvalidArgument, parse_options, {"versionId": 3})
        self.assertRaises(errors.InvalidArgument, parse_options, ["versioning"])
        self.assertRaises(errors.NotImplementedOption, parse_options, {"repairMaster": True})

    def test_no_such_version_from_name(self):
        self.assertIsInstance(errors.from_name("NoSuchVersion"), errors.NoSuchVersion)
