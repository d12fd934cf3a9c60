"""cloudserver.metadata.usage: per-bucket totals kept in the write batches
and equal, after any mix of writes, to a count from scratch."""
from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata import errors, usage
from cloudserver.metadata.kv import LevelDBKV, MemoryKV
from cloudserver.metadata.service import MetadataService
from tests.unit.test_metadata_kv import HeldThreads, inline_thread


def obj(name: str, size: int, **more) -> dict:
    return {"key": name, "size": size, "location": [], **more}


def part(number: int, size: int) -> dict:
    return {"partNumber": number, "etag": f"e{number}", "size": size,
            "location": [{"key": f"d{number}-{size}", "start": 0, "size": size}]}


VERSIONED = {"versioning": True}
NULL = {"versionId": ""}


class UsageTestsMixin:
    def make_kv(self):
        raise NotImplementedError

    def setUp(self):
        self.kv = self.make_kv()
        self.svc = MetadataService(self.kv)
        self.ok(self.svc.create_bucket("b", {"owner": "me"}))

    def ok(self, d):
        return self.successResultOf(d)

    def usage_of(self, bucket="b") -> dict:
        return self.ok(self.svc.get_usage(bucket))["buckets"][0]

    def stored(self, bucket="b") -> dict:
        return usage.as_dict(usage.decode(self.kv.get(usage.usage_key(bucket))))

    def counted(self, bucket="b") -> dict:
        return usage.as_dict(usage.scan_bucket(self.kv, bucket,
                                               self.svc.uploads.parts_by_upload))

    def assertInStep(self, bucket="b", **expected):
        """Running totals == the stored record == a count from scratch."""
        running = {k: v for k, v in self.usage_of(bucket).items() if k != "name"}
        self.assertEqual(running, self.stored(bucket))
        self.assertEqual(running, self.counted(bucket))
        for name, value in expected.items():
            self.assertEqual(running[name], value, name)

    def test_new_bucket_has_a_zero_record(self):
        self.assertEqual(self.stored(), usage.as_dict(usage.zero()))
        self.assertEqual(self.kv.get(usage.usage_key("b"))[:1], b"{")
        self.assertIn(b'"mdVersion":1', self.kv.get(usage.usage_key("b")))

    def test_plain_put_overwrite_delete(self):
        self.ok(self.svc.put_object("b", "k", obj("k", 10)))
        self.ok(self.svc.put_object("b", "j", obj("j", 5)))
        self.assertInStep(objects=2, objectBytes=15, versions=2, bytes=15)
        self.ok(self.svc.put_object("b", "k", obj("k", 3)))
        self.assertInStep(objects=2, objectBytes=8, versions=2, bytes=8)
        self.ok(self.svc.delete_object("b", "k"))
        self.assertInStep(objects=1, objectBytes=5, versions=1, bytes=5)

    def test_metadata_update_writes_no_counter(self):
        self.ok(self.svc.put_object("b", "k", obj("k", 10)))
        writes = []
        real = self.kv.write
        self.kv.write = lambda puts, deletes=(): writes.append(puts) or real(puts, deletes)
        self.ok(self.svc.put_object("b", "k", obj("k", 10, acl={"x": 1})))
        self.assertEqual([[k for k, _ in puts] for puts in writes], [[b"O\x00b\x00k"]])

    def test_versions_markers_and_nulls(self):
        self.ok(self.svc.put_object("b", "k", obj("k", 7)))  # before versioning
        v1 = self.ok(self.svc.put_object("b", "k", obj("k", 10), VERSIONED))["versionId"]
        self.assertInStep(objects=1, objectBytes=10, versions=2, bytes=17)
        v2 = self.ok(self.svc.put_object("b", "k", obj("k", 20), VERSIONED))["versionId"]
        self.assertInStep(objects=1, objectBytes=20, versions=3, bytes=37)
        marker = self.ok(self.svc.put_object(
            "b", "k", obj("k", 0, isDeleteMarker=True), VERSIONED))["versionId"]
        self.assertInStep(objects=0, objectBytes=0, versions=3, bytes=37, deleteMarkers=1)
        self.ok(self.svc.delete_object("b", "k", {"versionId": marker}))
        self.assertInStep(objects=1, objectBytes=20, versions=3, deleteMarkers=0)
        self.ok(self.svc.delete_object("b", "k", {"versionId": v1}))  # noncurrent
        self.assertInStep(objects=1, versions=2, bytes=27)
        self.ok(self.svc.put_object("b", "k", obj("k", 4), NULL))  # suspended
        self.assertInStep(objects=1, objectBytes=4, versions=2, bytes=24)
        self.ok(self.svc.put_object("b", "k", obj("k", 6), NULL))  # null replaced
        self.assertInStep(objects=1, objectBytes=6, versions=2, bytes=26)
        self.ok(self.svc.put_object("b", "k", obj("k", 0, isDeleteMarker=True), NULL))
        self.assertInStep(objects=0, versions=1, bytes=20, deleteMarkers=1)
        self.ok(self.svc.delete_object("b", "k", {"versionId": "null"}))
        self.assertInStep(objects=1, objectBytes=20, versions=1, deleteMarkers=0)
        self.ok(self.svc.delete_object("b", "k", {"versionId": v2}))
        self.assertInStep(**usage.as_dict(usage.zero()))

    def test_version_metadata_update(self):
        vid = self.ok(self.svc.put_object("b", "k", obj("k", 10), VERSIONED))["versionId"]
        self.ok(self.svc.put_object("b", "k", obj("k", 10, tags={"a": "1"}),
                                    {"versionId": vid}))
        self.assertInStep(objects=1, versions=1, bytes=10)

    def test_multipart(self):
        self.ok(self.svc.create_upload("b", "m", "u1", {"uploadId": "u1"}))
        self.ok(self.svc.put_part("b", "m", "u1", 1, part(1, 100)))
        self.ok(self.svc.put_part("b", "m", "u1", 2, part(2, 50)))
        self.ok(self.svc.put_part("b", "m", "u1", 2, part(2, 30)))  # re-uploaded
        self.assertInStep(uploads=1, uploadBytes=130, objects=0)
        self.ok(self.svc.create_upload("b", "n", "u2", {"uploadId": "u2"}))
        self.ok(self.svc.put_part("b", "n", "u2", 1, part(1, 9)))
        self.assertInStep(uploads=2, uploadBytes=139)
        from cloudserver.metadata.uploads import part_identity
        expected = {1: part_identity(part(1, 100)), 2: part_identity(part(2, 30))}
        self.ok(self.svc.complete_upload("b", "m", "u1", obj("m", 130), expected))
        self.assertInStep(uploads=1, uploadBytes=9, objects=1, objectBytes=130)
        self.ok(self.svc.abort_upload("b", "n", "u2"))
        self.assertInStep(uploads=0, uploadBytes=0, objects=1, bytes=130)

    def test_bucket_uploads_removed(self):
        self.ok(self.svc.create_upload("b", "m", "u1", {"uploadId": "u1"}))
        self.ok(self.svc.put_part("b", "m", "u1", 1, part(1, 100)))
        self.ok(self.svc.delete_bucket_uploads("b"))
        self.assertInStep(uploads=0, uploadBytes=0)

    def test_delete_bucket_drops_the_record(self):
        self.ok(self.svc.delete_bucket("b"))
        self.assertIsNone(self.kv.get(usage.usage_key("b")))
        self.assertNotIn("b", self.svc.usage.totals)
        self.failureResultOf(self.svc.get_usage("b"), errors.NoSuchBucket)
        self.ok(self.svc.create_bucket("b", {}))
        self.assertEqual(self.usage_of()["objects"], 0)

    def test_bucket_without_a_record_is_counted_once_and_stored(self):
        self.ok(self.svc.put_object("b", "k", obj("k", 10)))
        self.ok(self.svc.put_object("b", "v", obj("v", 5), VERSIONED))
        self.ok(self.svc.put_object("b", "v", obj("v", 6), VERSIONED))
        self.ok(self.svc.create_upload("b", "m", "u1", {"uploadId": "u1"}))
        self.ok(self.svc.put_part("b", "m", "u1", 1, part(1, 100)))
        expected = self.stored()
        self.ok(self.kv.write([], [usage.usage_key("b")]))  # as before counters existed
        svc = MetadataService(self.kv)
        self.assertNotIn("b", svc.usage.totals)
        got = self.ok(svc.get_usage())
        self.assertEqual({k: v for k, v in got["buckets"][0].items() if k != "name"},
                         expected)
        self.assertEqual(self.stored(), expected)
        self.assertEqual(got["total"], {**expected, "buckets": 1})

    def test_first_write_counts_an_unrecorded_bucket(self):
        self.ok(self.svc.put_object("b", "k", obj("k", 10)))
        self.ok(self.kv.write([], [usage.usage_key("b")]))
        svc = MetadataService(self.kv)
        self.ok(svc.put_object("b", "j", obj("j", 1)))
        self.assertEqual(self.stored()["bytes"], 11)

    def test_totals_over_buckets(self):
        self.ok(self.svc.create_bucket("c", {}))
        self.ok(self.svc.put_object("b", "k", obj("k", 10)))
        self.ok(self.svc.put_object("c", "k", obj("k", 1)))
        got = self.ok(self.svc.get_usage())
        self.assertEqual([e["name"] for e in got["buckets"]], ["b", "c"])
        self.assertEqual((got["total"]["buckets"], got["total"]["bytes"]), (2, 11))

    def test_placeholder_master_counts_once_repaired(self):
        vid = self.ok(self.svc.put_object("b", "k", obj("k", 10), VERSIONED))["versionId"]
        self.ok(self.kv.write([(b"O\x00b\x00k", b'{"isPHD":true,"mdVersion":1}')]))
        svc = MetadataService(self.kv)
        svc.usage.totals.pop("b")
        self.assertEqual(svc.usage.of("b")[0][usage.OBJECTS], 0)
        self.ok(svc.get_object("b", "k"))  # repairs the master
        self.assertEqual(self.stored()["objects"], 1)
        self.assertEqual(self.counted()["versions"], 1)
        self.assertTrue(vid)


class MemoryUsageTests(UsageTestsMixin, SynchronousTestCase):
    def make_kv(self):
        return MemoryKV()


class LevelDBUsageTests(UsageTestsMixin, SynchronousTestCase):
    def make_kv(self):
        kv = LevelDBKV(self.mktemp(), inline_thread)
        self.addCleanup(kv.close)
        return kv


class ConcurrentWritesTests(SynchronousTestCase):
    """Writes in flight at once, to many keys of one bucket: none is lost."""

    def setUp(self):
        self.threads = HeldThreads()
        self.kv = LevelDBKV(self.mktemp(), self.threads)
        self.svc = MetadataService(self.kv)
        d = self.svc.create_bucket("b", {})
        self.drain()
        self.successResultOf(d)

    def drain(self):
        while self.threads.pending:
            self.threads.release()

    def test_many_keys_in_flight(self):
        done = [self.svc.put_object("b", f"k{i % 7}", obj(f"k{i % 7}", i), VERSIONED)
                for i in range(40)]
        done += [self.svc.put_object("b", f"p{i}", obj(f"p{i}", 1)) for i in range(10)]
        self.assertGreater(self.threads.pending, 0)
        self.drain()
        for d in done:
            self.successResultOf(d)
        stored = usage.as_dict(usage.decode(self.kv.get(usage.usage_key("b"))))
        counted = usage.as_dict(usage.scan_bucket(self.kv, "b",
                                                  self.svc.uploads.parts_by_upload))
        self.assertEqual(stored, counted)
        self.assertEqual((stored["versions"], stored["objects"]), (50, 17))
        self.assertEqual(stored["bytes"], sum(range(40)) + 10)

    def test_failed_batch_is_taken_back(self):
        d1 = self.svc.put_object("b", "k", obj("k", 5))
        self.threads.release(fail=OSError("disk"))
        self.failureResultOf(d1, OSError)
        self.drain()
        self.assertEqual(self.svc.usage.totals["b"][usage.BYTES], 0)
        stored = usage.decode(self.kv.get(usage.usage_key("b")))
        self.assertEqual(stored[usage.BYTES], 0)
