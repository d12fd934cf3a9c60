# -*- test-case-name: tests.unit.test_multipart_uploads -*-
"""UploadStore (the upload state MetadataService holds) over MemoryKV, and over
a KV whose batches stay in flight until told, as LevelDB's do."""
from __future__ import annotations

import json

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata import keys
from cloudserver.metadata.errors import NoSuchBucket
from cloudserver.metadata.usage import usage_key
from cloudserver.metadata.kv import MemoryKV
from cloudserver.metadata.service import MetadataService
from cloudserver.metadata.uploads import (
    InvalidPart, NoSuchUpload, part_identity, part_key, split_upload_key, upload_key,
    uploads_base)


class SlowKV(MemoryKV):
    """MemoryKV whose batches apply (and become visible) only on ``flush``."""

    def __init__(self):
        super().__init__()
        self.pending: list[tuple[list, list, defer.Deferred]] = []
        self.batches: list[tuple[list, list]] = []

    def write(self, puts, deletes=()):
        d = defer.Deferred()
        self.pending.append((list(puts), list(deletes), d))
        return d

    def flush(self):
        pending, self.pending = self.pending, []
        for puts, deletes, d in pending:
            self.batches.append((puts, deletes))
            MemoryKV.write(self, puts, deletes)
            d.callback(None)


def upload(name="k", uid="u1"):
    return {"uploadId": uid, "key": name, "owner": "o", "initiated": 1.0}


def part(number, etag, key=None):
    return {"partNumber": number, "etag": etag, "size": 10,
            "location": [{"key": key or f"data-{number}-{etag}", "start": 0, "size": 10}]}


def ident(number, etag, key=None):
    """What a complete names the part ``part(number, etag, key)`` by."""
    return part_identity(part(number, etag, key))


class Base(SynchronousTestCase):
    kv_class = MemoryKV

    def setUp(self):
        self.kv = self.kv_class()
        self.md = MetadataService(self.kv)
        self.done(self.md.create_bucket("b", {"owner": "o"}))

    def done(self, d):
        if isinstance(self.kv, SlowKV):
            self.kv.flush()
        return self.successResultOf(d)

    def fails(self, d, exc):
        if isinstance(self.kv, SlowKV):
            self.kv.flush()
        return self.failureResultOf(d, exc)


class KeyLayoutTests(SynchronousTestCase):

    def test_layout(self):
        self.assertEqual(upload_key("b", "a/b", "u1"), b"U\x00b\x00a/b\x00u1")
        self.assertEqual(part_key("u1", 7), b"P\x00u1\x0000007")
        self.assertEqual(split_upload_key(b"a/b\x00u1"), ("a/b", "u1"))

    def test_part_order_is_numeric(self):
        self.assertLess(part_key("u", 9), part_key("u", 10))
        self.assertLess(part_key("u", 999), part_key("u", 10000))

    def test_name_sorts_before_longer_names(self):
        # uploads of "a" come before uploads of "a0", whatever their ids
        self.assertLess(upload_key("b", "a", "zzzz"), upload_key("b", "a0", "0000"))

    def test_bad_part_numbers(self):
        self.assertRaises(ValueError, part_key, "u", 0)
        self.assertRaises(ValueError, part_key, "u", 10001)

    def test_bad_upload_ids_are_unknown(self):
        self.assertRaises(NoSuchUpload, upload_key, "b", "k", "")
        self.assertRaises(NoSuchUpload, upload_key, "b", "k", "a\x00b")
        self.assertRaises(NoSuchUpload, upload_key, "b", "k", "é")


class UploadTests(Base):

    def test_create_and_get(self):
        self.done(self.md.create_upload("b", "k", "u1", upload()))
        got = self.done(self.md.get_upload("b", "k", "u1"))
        self.assertEqual(got["uploadId"], "u1")
        self.assertEqual(got["mdVersion"], 1)

    def test_unknown_upload(self):
        self.fails(self.md.get_upload("b", "k", "nope"), NoSuchUpload)
        self.done(self.md.create_upload("b", "k", "u1", upload()))
        # an upload belongs to its key
        self.fails(self.md.get_upload("b", "other", "u1"), NoSuchUpload)

    def test_no_bucket(self):
        self.fails(self.md.create_upload("nob", "k", "u1", upload()), NoSuchBucket)
        self.fails(self.md.get_upload("nob", "k", "u1"), NoSuchBucket)

    def test_put_part_reports_replaced(self):
        self.done(self.md.create_upload("b", "k", "u1", upload()))
        self.assertEqual(self.done(self.md.put_part("b", "k", "u1", 1, part(1, "a"))), {})
        previous = self.done(self.md.put_part("b", "k", "u1", 1, part(1, "b")))
        self.assertEqual(previous["etag"], "a")

    def test_put_part_without_upload(self):
        self.fails(self.md.put_part("b", "k", "u1", 1, part(1, "a")), NoSuchUpload)

    def test_list_parts_paging(self):
        self.done(self.md.create_upload("b", "k", "u1", upload()))
        for n in (3, 1, 10, 2):
            self.done(self.md.put_part("b", "k", "u1", n, part(n, "e")))
        records, truncated = self.done(self.md.list_parts("u1", 0, 3))
        self.assertEqual([r["partNumber"] for r in records], [1, 2, 3])
        self.assertTrue(truncated)
        records, truncated = self.done(self.md.list_parts("u1", 3, 3))
        self.assertEqual([r["partNumber"] for r in records], [10])
        self.assertFalse(truncated)

    def test_complete_is_one_batch(self):
        self.done(self.md.create_upload("b", "k", "u1", upload()))
        self.done(self.md.put_part("b", "k", "u1", 1, part(1, "a")))
        self.done(self.md.put_part("b", "k", "u1", 2, part(2, "b")))
        self.done(self.md.put_object("b", "k", {"etag": "old", "location": []}))
        writes = []
        real_write = self.kv.write
        self.kv.write = lambda puts, deletes=(): writes.append((puts, deletes)) or \
            real_write(puts, deletes)
        result = self.done(self.md.complete_upload("b", "k", "u1", {"etag": "x-1"},
                                                   {1: ident(1, "a")}))
        self.assertEqual(len(writes), 1)
        puts, deletes = writes[0]
        # the object, and the bucket's usage counted in the same batch
        self.assertEqual([k for k, _ in puts], [keys.object_key("b", "k"), usage_key("b")])
        self.assertEqual(sorted(deletes), sorted([upload_key("b", "k", "u1"),
                                                  part_key("u1", 1), part_key("u1", 2)]))
        self.assertEqual(result["result"]["etag"], "old")  # the replaced record
        self.assertEqual([p["partNumber"] for p in result["unused"]], [2])
        self.assertEqual(self.done(self.md.get_object("b", "k"))["etag"], "x-1")
        # nothing of the upload is left
        self.assertEqual(list(self.kv.iterate(gte=b"P\x00", lt=b"P\x01")), [])
        self.assertEqual(list(self.kv.iterate(gte=b"U\x00", lt=b"U\x01")), [])
        self.fails(self.md.complete_upload("b", "k", "u1", {"etag": "x-1"}, {1: ident(1, "a")}),
                   NoSuchUpload)

    def test_complete_versioned(self):
        """With versioning options the object becomes a new version, in the same
        batch that removes the upload."""
        self.done(self.md.create_upload("b", "k", "u1", upload()))
        self.done(self.md.put_part("b", "k", "u1", 1, part(1, "a")))
        result = self.done(self.md.complete_upload("b", "k", "u1", {"etag": "x-1"},
                                                   {1: ident(1, "a")}, {"versioning": True}))
        self.assertTrue(result["result"]["versionId"])
        got = self.done(self.md.get_object("b", "k", {"versionId": result["result"]
                                                      ["versionId"]}))
        self.assertEqual(got["etag"], "x-1")
        self.assertEqual(list(self.kv.iterate(gte=b"U\x00", lt=b"U\x01")), [])

    def test_complete_checks_parts(self):
        self.done(self.md.create_upload("b", "k", "u1", upload()))
        self.done(self.md.put_part("b", "k", "u1", 1, part(1, "a")))
        self.fails(self.md.complete_upload("b", "k", "u1", {}, {1: "other"}), InvalidPart)
        self.fails(self.md.complete_upload("b", "k", "u1", {}, {2: "a"}), InvalidPart)
        # the failed attempts changed nothing
        self.done(self.md.get_upload("b", "k", "u1"))

    def test_abort(self):
        self.done(self.md.create_upload("b", "k", "u1", upload()))
        self.done(self.md.put_part("b", "k", "u1", 1, part(1, "a")))
        removed = self.done(self.md.abort_upload("b", "k", "u1"))
        self.assertEqual([p["etag"] for p in removed], ["a"])
        self.fails(self.md.abort_upload("b", "k", "u1"), NoSuchUpload)
        self.assertEqual(list(self.kv.iterate(gte=b"P\x00", lt=b"P\x01")), [])

    def test_state_is_in_the_kv(self):
        """A new service over the same store (a restart) sees the upload."""
        self.done(self.md.create_upload("b", "k", "u1", upload()))
        self.done(self.md.put_part("b", "k", "u1", 1, part(1, "a")))
        again = MetadataService(self.kv)
        self.assertEqual(self.successResultOf(again.get_upload("b", "k", "u1"))["key"], "k")
        records, _ = self.successResultOf(again.list_parts("u1"))
        self.assertEqual(records[0]["etag"], "a")
        stored = json.loads(self.kv.get(part_key("u1", 1)))
        self.assertEqual(stored["mdVersion"], 1)

    def test_delete_bucket_uploads(self):
        for i in range(3):
            self.done(self.md.create_upload("b", f"k{i}", f"u{i}", upload(f"k{i}", f"u{i}")))
            self.done(self.md.put_part("b", f"k{i}", f"u{i}", 1, part(1, "a")))
        removed, more = self.done(self.md.delete_bucket_uploads("b", limit=2))
        self.assertEqual((len(removed), more), (2, True))
        removed, more = self.done(self.md.delete_bucket_uploads("b", limit=2))
        self.assertEqual((len(removed), more), (1, False))
        self.assertEqual(list(self.kv.iterate(gte=uploads_base("b"), lt=b"V")), [])


class ListUploadsTests(Base):

    def setUp(self):
        super().setUp()
        for name, uid in [("a", "1"), ("a", "2"), ("d/x", "3"), ("d/y", "4"), ("e", "5"),
                          ("f/g/h", "6")]:
            self.done(self.md.create_upload("b", name, uid, upload(name, uid)))

    def listing(self, **params):
        return self.done(self.md.list_uploads("b", params))

    def names(self, result):
        return [(u["key"], u["uploadId"]) for u in result["Uploads"]]

    def test_all(self):
        result = self.listing()
        self.assertEqual(self.names(result), [("a", "1"), ("a", "2"), ("d/x", "3"),
                                              ("d/y", "4"), ("e", "5"), ("f/g/h", "6")])
        self.assertFalse(result["IsTruncated"])

    def test_delimiter(self):
        result = self.listing(delimiter="/")
        self.assertEqual(self.names(result), [("a", "1"), ("a", "2"), ("e", "5")])
        self.assertEqual(result["CommonPrefixes"], ["d/", "f/"])

    def test_prefix_and_delimiter(self):
        result = self.listing(prefix="f/", delimiter="/")
        self.assertEqual(result["CommonPrefixes"], ["f/g/"])
        self.assertEqual(self.names(result), [])

    def test_paging_with_markers(self):
        first = self.listing(maxUploads=3)
        self.assertEqual(self.names(first), [("a", "1"), ("a", "2"), ("d/x", "3")])
        self.assertTrue(first["IsTruncated"])
        self.assertEqual((first["NextKeyMarker"], first["NextUploadIdMarker"]), ("d/x", "3"))
        second = self.listing(maxUploads=3, keyMarker="d/x", uploadIdMarker="3")
        self.assertEqual(self.names(second), [("d/y", "4"), ("e", "5"), ("f/g/h", "6")])
        self.assertFalse(second["IsTruncated"])

    def test_upload_id_marker_within_a_key(self):
        result = self.listing(keyMarker="a", uploadIdMarker="1")
        self.assertEqual(self.names(result)[0], ("a", "2"))
        result = self.listing(keyMarker="a")
        self.assertEqual(self.names(result)[0], ("d/x", "3"))

    def test_paging_over_common_prefixes(self):
        first = self.listing(delimiter="/", maxUploads=3)
        self.assertEqual(self.names(first), [("a", "1"), ("a", "2")])
        self.assertEqual(first["CommonPrefixes"], ["d/"])
        self.assertTrue(first["IsTruncated"])
        self.assertEqual(first["NextKeyMarker"], "d/")
        second = self.listing(delimiter="/", maxUploads=3, keyMarker="d/")
        self.assertEqual(self.names(second), [("e", "5")])
        self.assertEqual(second["CommonPrefixes"], ["f/"])
        self.assertFalse(second["IsTruncated"])

    def test_upload_id_marker_is_ignored_without_key_marker(self):
        """AWS: "If key-marker is not specified, the upload-id-marker
        parameter is ignored"."""
        self.assertEqual(self.names(self.listing(uploadIdMarker="3")),
                         self.names(self.listing()))

    def test_key_marker_only_excludes_its_uploads(self):
        result = self.listing(keyMarker="d/x")
        self.assertEqual(self.names(result), [("d/y", "4"), ("e", "5"), ("f/g/h", "6")])
        result = self.listing(keyMarker="d/x", uploadIdMarker="2")  # "3" > "2"
        self.assertEqual(self.names(result)[0], ("d/x", "3"))

    def test_key_marker_before_the_prefix(self):
        result = self.listing(prefix="d/", keyMarker="a")
        self.assertEqual(self.names(result), [("d/x", "3"), ("d/y", "4")])

    def test_key_marker_equal_to_the_prefix_is_a_key(self):
        """A marker that is the prefix (not a common prefix below it) skips
        only the uploads of that key; keys after it are listed."""
        self.done(self.md.create_upload("b", "d/", "0", upload("d/", "0")))
        result = self.listing(prefix="d/", delimiter="/", keyMarker="d/")
        self.assertEqual(self.names(result), [("d/x", "3"), ("d/y", "4")])
        result = self.listing(prefix="f/", delimiter="/", keyMarker="f/")
        self.assertEqual(result["CommonPrefixes"], ["f/g/"])
        # a common prefix given back as the marker is skipped whole
        result = self.listing(prefix="f/", delimiter="/", keyMarker="f/g/")
        self.assertEqual((result["CommonPrefixes"], self.names(result)), ([], []))

    def test_paging_one_by_one_sees_everything_once(self):
        for params in ({}, {"delimiter": "/"}, {"prefix": "d/"}):
            full = self.listing(**params)
            seen, cps, marker = [], [], {}
            for _ in range(20):
                page = self.listing(maxUploads=1, **params, **marker)
                seen += self.names(page)
                cps += page["CommonPrefixes"]
                if not page["IsTruncated"]:
                    break
                marker = {"keyMarker": page["NextKeyMarker"],
                          "uploadIdMarker": page["NextUploadIdMarker"]}
            self.assertEqual((seen, cps), (self.names(full), full["CommonPrefixes"]), params)

    def test_zero(self):
        result = self.listing(maxUploads=0)
        self.assertEqual((result["Uploads"], result["IsTruncated"]), ([], False))


class InFlightTests(Base):
    """Batches not yet durable (LevelDB): the races the mixin closes."""

    kv_class = SlowKV

    def setUp(self):
        super().setUp()
        self.done(self.md.create_upload("b", "k", "u1", upload()))
        self.done(self.md.put_part("b", "k", "u1", 1, part(1, "a")))

    def test_reupload_in_flight_reports_the_staged_part(self):
        d1 = self.md.put_part("b", "k", "u1", 1, part(1, "b"))
        d2 = self.md.put_part("b", "k", "u1", 1, part(1, "c"))
        self.kv.flush()
        self.assertEqual(self.successResultOf(d1)["etag"], "a")
        self.assertEqual(self.successResultOf(d2)["etag"], "b")

    def test_complete_keeps_the_part_it_validated_over_one_in_flight(self):
        """The complete validated part 1 as "a"; "b" is on its way: the
        complete wins with "a", the re-upload reports nothing replaced (its
        caller must not free "a"), and "b" is among the unused parts."""
        d = self.md.put_part("b", "k", "u1", 1, part(1, "b"))
        completing = self.md.complete_upload("b", "k", "u1", {"etag": "x-1"},
                                             {1: ident(1, "a")})
        self.kv.flush()
        self.assertEqual(self.successResultOf(d), {})
        unused = self.successResultOf(completing)["unused"]
        self.assertEqual([p["etag"] for p in unused], ["b"])
        self.assertEqual(list(self.kv.iterate(gte=b"P\x00", lt=b"P\x01")), [])
        self.assertEqual(self.done(self.md.get_object("b", "k"))["etag"], "x-1")

    def test_two_reuploads_in_flight(self):
        """"b" then "c" in flight: "b"'s caller frees nothing ("a" is the
        object's), "c"'s caller frees "b", the complete frees "c"."""
        d1 = self.md.put_part("b", "k", "u1", 1, part(1, "b"))
        d2 = self.md.put_part("b", "k", "u1", 1, part(1, "c"))
        completing = self.md.complete_upload("b", "k", "u1", {}, {1: ident(1, "a")})
        self.kv.flush()
        self.assertEqual(self.successResultOf(d1), {})
        self.assertEqual(self.successResultOf(d2)["etag"], "b")
        unused = self.successResultOf(completing)["unused"]
        self.assertEqual([p["etag"] for p in unused], ["c"])

    def test_complete_refuses_a_part_replaced_durably_with_the_same_etag(self):
        """A re-upload of the same bytes that landed first has replaced the
        record the complete validated (and its caller frees that data): the
        identity, not the ETag, tells them apart."""
        self.done(self.md.put_part("b", "k", "u1", 1, part(1, "a", key="again")))
        self.fails(self.md.complete_upload("b", "k", "u1", {}, {1: ident(1, "a")}),
                   InvalidPart)
        done = self.done(self.md.complete_upload("b", "k", "u1", {},
                                                 {1: ident(1, "a", key="again")}))
        self.assertEqual(done["unused"], [])

    def test_claims_end_with_the_writes(self):
        """A completion's claim covers only the writes in flight with it."""
        self.md.put_part("b", "k", "u1", 1, part(1, "b"))
        self.md.complete_upload("b", "k", "u1", {}, {1: ident(1, "a")})
        self.kv.flush()
        self.assertEqual(self.md.uploads._mpu_staged, {})

    def test_abort_removes_parts_in_flight(self):
        d = self.md.put_part("b", "k", "u1", 2, part(2, "x"))
        aborted = self.md.abort_upload("b", "k", "u1")
        self.kv.flush()
        self.successResultOf(d)
        removed = self.successResultOf(aborted)
        self.assertEqual(sorted(p["partNumber"] for p in removed), [1, 2])
        self.assertEqual(list(self.kv.iterate(gte=b"P\x00", lt=b"P\x01")), [])

    def test_no_part_after_close_begins(self):
        completing = self.md.complete_upload("b", "k", "u1", {"etag": "e"}, {1: ident(1, "a")})
        late = self.md.put_part("b", "k", "u1", 2, part(2, "x"))
        second = self.md.complete_upload("b", "k", "u1", {"etag": "e"}, {1: ident(1, "a")})
        aborting = self.md.abort_upload("b", "k", "u1")
        self.failureResultOf(late, NoSuchUpload)
        self.failureResultOf(second, NoSuchUpload)
        self.failureResultOf(aborting, NoSuchUpload)
        self.kv.flush()
        self.successResultOf(completing)
        self.assertEqual(list(self.kv.iterate(gte=b"P\x00", lt=b"P\x01")), [])
        self.assertEqual(self.done(self.md.get_object("b", "k"))["etag"], "e")
