"""lifecycle.executor and .service: walks over a MemoryKV with a Clock.

Each test builds a metadata service and memory data stores, writes records
as the S3 front would, lets the executor walk, and checks what is left (in
the metadata and in the data stores) and what was counted."""
from __future__ import annotations

from twisted.internet import defer, task
from twisted.trial import unittest

from cloudserver.data.locations import Locations
from cloudserver.data.memory import MemoryDataStore
from cloudserver.lifecycle.executor import LifecycleExecutor
from cloudserver.lifecycle.service import LifecycleService
from cloudserver.lifecycle.settings import LifecycleSettings
from cloudserver.metadata import keys
from cloudserver.metadata.kv import MemoryKV
from cloudserver.metadata.service import MetadataService

DAY = 10.0
T0 = 1_000_000.0


def rule(**parts):
    return {"id": parts.pop("id", "r"), "status": "Enabled",
            "filter": parts.pop("filter", {}), **parts}


class Harness:
    def __init__(self, kv=None, store=None, batch=1000, rate=0.0, locations=None):
        self.clock = task.Clock()
        self.clock.advance(T0)
        self.kv = MemoryKV() if kv is None else kv
        self.metadata = MetadataService(self.kv, clock=self.clock.seconds)
        self.store = MemoryDataStore() if store is None else store
        self.locations = locations or Locations.single(self.store)
        self.settings = LifecycleSettings(interval=100, batch_size=batch, rate=rate, day=DAY)
        names = locations.stores if locations is not None else ()
        self.executor = LifecycleExecutor(self.metadata, self.kv, self.locations, self.clock,
                                          self.settings, names)

    def value(self, d):
        results = []
        d.addBoth(results.append)
        if not results:
            raise AssertionError("not fired")
        if isinstance(results[0], Exception) or hasattr(results[0], "raiseException"):
            results[0].raiseException()
        return results[0]

    def bucket(self, name, rules, versioning=None):
        attrs = {"name": name, "owner": "o", "creation-date": T0, "lifecycle": rules}
        if versioning:
            attrs["versioning"] = versioning
        self.value(self.metadata.create_bucket(name, attrs))

    def put(self, bucket, key, data=b"data", options=None, store=None, loc=None, **extra):
        store = self.store if store is None else store
        writer = store.create_writer()
        writer.write(data)
        dkey = self.value(writer.finish())
        piece = {"key": dkey, "start": 0, "size": len(data)}
        if loc:
            piece["loc"] = loc
        md = {"key": key, "size": len(data), "etag": "e" + key, "last-modified":
              self.clock.seconds(), "location": [piece], **extra}
        self.value(self.metadata.put_object(bucket, key, md, options))
        return dkey

    def walk(self, advance=1.0):
        d = defer.Deferred.fromCoroutine(self.executor.run_walk())
        for _ in range(100000):
            if d.called:
                break
            self.clock.advance(advance)
        return self.value(d)

    def versions(self, bucket):
        page = self.value(self.metadata.list_objects(
            bucket, {"listingType": "DelimiterVersions", "maxKeys": 10000}))
        return [(v["key"], v["isDeleteMarker"]) for v in page["Versions"]]


class ExpirationTests(unittest.SynchronousTestCase):
    def test_unversioned_objects_deleted_and_data_freed(self):
        h = Harness()
        h.bucket("b", [rule(expiration={"days": 2}, filter={"prefix": "old/"})])
        for i in range(5):
            h.put("b", f"old/{i}")
        h.put("b", "keep")
        h.clock.advance(19)
        self.assertTrue(h.walk())
        self.assertEqual(len(h.versions("b")), 6)  # not due yet
        h.clock.advance(1)
        self.assertTrue(h.walk())
        self.assertEqual(h.versions("b"), [("keep", False)])
        self.assertEqual(len(h.store), 1)
        self.assertEqual(h.executor.stats["expire"], 5)
        self.assertIsNone(h.executor.load_cursor())

    def test_versioned_gets_markers_then_noncurrent_and_markers_go(self):
        h = Harness()
        h.bucket("v", [rule(expiration={"days": 1}),
                       rule(id="nc", noncurrentExpiration={"days": 1}),
                       rule(id="m", expiration={"expiredObjectDeleteMarker": True})],
                 versioning="Enabled")
        h.put("v", "a", options={"versioning": True})
        h.clock.advance(10)
        h.walk()
        self.assertEqual(h.versions("v"), [("a", True), ("a", False)])
        self.assertEqual(len(h.store), 1)  # the version keeps its data
        h.clock.advance(10)
        h.walk()  # the noncurrent version expired (data freed); the marker is alone
        self.assertEqual(h.versions("v"), [("a", True)])
        self.assertEqual(len(h.store), 0)
        h.walk()
        self.assertEqual(h.versions("v"), [])
        self.assertEqual(h.executor.stats["delete-marker"], 1)

    def test_newer_noncurrent_versions_kept(self):
        h = Harness()
        h.bucket("v", [rule(noncurrentExpiration={"days": 1, "newer": 1})],
                 versioning="Enabled")
        for _ in range(4):
            h.put("v", "a", options={"versioning": True})
            h.clock.advance(1)
        h.clock.advance(20)
        h.walk()
        self.assertEqual(h.versions("v"), [("a", False), ("a", False)])
        self.assertEqual(len(h.store), 2)

    def test_locked_version_kept(self):
        h = Harness()
        h.bucket("v", [rule(noncurrentExpiration={"days": 1})], versioning="Enabled")
        h.put("v", "a", options={"versioning": True}, legalHold=True)
        h.put("v", "a", options={"versioning": True})
        h.clock.advance(20)
        h.walk()
        self.assertEqual(len(h.versions("v")), 2)
        self.assertEqual(h.executor.stats["locked"], 1)

    def test_object_changed_since_listing_is_left(self):
        h = Harness()
        h.bucket("b", [rule(expiration={"days": 1})])
        h.put("b", "a")
        h.clock.advance(20)
        original = h.metadata.get_object

        def overwrite_then_get(bucket, key, options=None):
            h.put("b", "a")  # a client's PUT lands between listing and action
            h.metadata.get_object = original
            return original(bucket, key, options)
        h.metadata.get_object = overwrite_then_get
        h.walk()
        self.assertEqual(h.versions("b"), [("a", False)])
        self.assertEqual(h.executor.stats["raced"], 1)


class UploadTests(unittest.SynchronousTestCase):
    def test_incomplete_upload_aborted_and_parts_freed(self):
        h = Harness()
        h.bucket("b", [rule(abortIncomplete={"days": 1})])
        h.value(h.metadata.create_upload("b", "big", "u1", {
            "uploadId": "u1", "bucket": "b", "key": "big", "initiated": T0}))
        writer = h.store.create_writer()
        writer.write(b"part")
        dkey = h.value(writer.finish())
        h.value(h.metadata.put_part("b", "big", "u1", 1, {
            "partNumber": 1, "size": 4, "etag": "x", "last-modified": T0,
            "location": [{"key": dkey, "start": 0, "size": 4}]}))
        h.clock.advance(20)
        h.walk()
        page = h.value(h.metadata.list_uploads("b", {}))
        self.assertEqual(page["Uploads"], [])
        self.assertEqual(len(h.store), 0)
        self.assertEqual(h.executor.stats["abort"], 1)


class CursorTests(unittest.SynchronousTestCase):
    def test_restart_continues_the_walk(self):
        h = Harness(batch=10, rate=10.0)  # one step a second
        h.bucket("b", [rule(expiration={"days": 1})])
        for i in range(100):
            h.put("b", f"k{i:03d}")
        h.clock.advance(20)
        d = defer.Deferred.fromCoroutine(h.executor.run_walk())
        h.clock.advance(3.5)  # three steps applied, then the process "dies"
        h.executor.stopping = True
        h.clock.advance(1)
        self.assertFalse(h.value(d))
        cursor = h.executor.load_cursor()
        done = h.executor.stats["examined"]
        self.assertTrue(0 < done < 100, done)
        self.assertEqual(cursor["marker"], f"k{done - 1:03d}")
        self.assertEqual(len(h.versions("b")), 100 - done)
        # a new process over the same KV and data
        h2 = Harness(kv=h.kv, store=h.store, batch=10, rate=10.0)
        h2.clock.advance(h.clock.seconds() - h2.clock.seconds())
        self.assertTrue(h2.walk())
        self.assertEqual(h2.executor.stats["examined"], 100 - done)  # not started over
        self.assertEqual(h2.versions("b"), [])
        self.assertEqual(len(h.store), 0)

    def test_key_with_more_versions_than_a_batch(self):
        h = Harness(batch=3)
        h.bucket("v", [rule(noncurrentExpiration={"days": 1})], versioning="Enabled")
        for _ in range(7):
            h.put("v", "a", options={"versioning": True})
        h.put("v", "b", options={"versioning": True})
        h.clock.advance(20)
        h.walk()
        self.assertEqual(h.versions("v"), [("a", False), ("b", False)])
        self.assertEqual(h.executor.stats["noncurrent"], 6)

    def test_buckets_without_rules_are_not_walked(self):
        h = Harness()
        h.bucket("none", None)
        h.bucket("off", [{"id": "x", "status": "Disabled", "filter": {},
                          "expiration": {"days": 1}}])
        h.put("none", "a")
        h.put("off", "a")
        h.clock.advance(100)
        h.walk()
        self.assertEqual(h.executor.stats["examined"], 0)


class TransitionTests(unittest.SynchronousTestCase):
    def test_moves_data_then_frees_the_old(self):
        hot, cold = MemoryDataStore(), MemoryDataStore()
        locations = Locations(hot, {"hot": hot, "cold": cold}, {"hot": "mem", "cold": "mem"},
                              multiple=True)
        h = Harness(store=hot, locations=locations)
        h.bucket("b", [rule(transitions=[{"days": 1, "storageClass": "cold"},
                                         {"days": 2, "storageClass": "GLACIER"}])],
                 versioning="Enabled")
        h.put("b", "a", data=b"x" * 100, options={"versioning": True}, loc="hot")
        h.clock.advance(10)
        h.walk()
        md = h.value(h.metadata.get_object("b", "a"))
        self.assertEqual(md["storage-class"], "cold")
        self.assertEqual(md["location"][0]["loc"], "cold")
        self.assertEqual((len(hot), len(cold)), (0, 1))
        self.assertEqual(cold._blobs[md["location"][0]["key"]], b"x" * 100)
        self.assertEqual(h.executor.stats["transition"], 1)
        h.clock.advance(10)
        h.walk()  # GLACIER is not a location: left where it is, counted
        self.assertEqual(h.executor.stats["unsupported"], 1)
        self.assertEqual(len(cold), 1)


class ServiceTests(unittest.SynchronousTestCase):
    def test_walks_every_interval_and_resumes_at_start(self):
        h = Harness()
        h.bucket("b", [rule(expiration={"days": 1})])
        h.put("b", "a")
        svc = LifecycleService(h.executor)
        svc.startService()
        h.clock.advance(99)
        self.assertEqual(svc.walks, 0)
        h.clock.advance(1)
        h.clock.advance(0)
        self.assertEqual(svc.walks, 1)
        self.assertEqual(h.versions("b"), [])
        self.successResultOf(defer.maybeDeferred(svc.stopService))
        # a cursor left by a dead process: the next start walks at once
        h.value(h.kv.write([(keys.LIFECYCLE_CURSOR, b'{"started": 0, "bucket": null, '
                                                    b'"phase": "versions", "marker": null}')]))
        svc2 = LifecycleService(h.executor)
        svc2.startService()
        h.clock.advance(0)
        h.clock.advance(0)
        self.assertEqual(svc2.walks, 1)
        self.successResultOf(defer.maybeDeferred(svc2.stopService))
