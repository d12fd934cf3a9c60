# -*- test-case-name: tests.unit.test_replication_service -*-
"""The replicator over the memory metadata service with a Clock: draining,
concurrency and rate, FAILED then retried with backoff to COMPLETED, the
queue surviving a restart, local replicas; and config.json's section."""
from __future__ import annotations

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.config.errors import ConfigError
from cloudserver.config.replication import ReplicationSettings, parse_replication
from cloudserver.data.locations import Locations
from cloudserver.data.memory import MemoryDataStore
from cloudserver.metadata.kv import MemoryKV
from cloudserver.metrics.collectors import ReplicationCollector
from cloudserver.metadata.queue import DurableQueue
from cloudserver.metadata.service import MetadataService
from cloudserver.replication.hook import QUEUE_PREFIX, ReplicationHook
from cloudserver.replication.replicator import Replicator, percentile
from cloudserver.replication.transfer import ReplicationError, Transfer
from cloudserver.s3.ops.object_read import piece_producers
from tests.unit.test_replication_rules import config, rule


class FakeTransfer:
    def __init__(self):
        self.calls = []
        self.pending: list[defer.Deferred] = []
        self.fail = None
        self.hold = False

    def copy(self, item, record):
        self.calls.append(item["key"])
        if self.fail is not None:
            return defer.fail(self.fail)
        if self.hold:
            d = defer.Deferred()
            self.pending.append(d)
            return d
        return defer.succeed(None)


class ReplicatorTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.clock.advance(1000)
        self.kv = MemoryKV()
        self.md = MetadataService(self.kv, clock=self.clock.seconds)
        self.successResultOf(self.md.create_bucket("src", {
            "name": "src", "owner": "o", "creation-date": 1, "versioning": "Enabled",
            "replication": config(rule(deleteMarkers=True))}))
        self.transfer = FakeTransfer()
        self.settings = ReplicationSettings(concurrency=2, retry_backoff=1,
                                            failed_retry_interval=8)
        self.replicator = self.start()

    def start(self, settings=None):
        queue = DurableQueue(self.kv, QUEUE_PREFIX, self.clock.seconds)
        replicator = Replicator(self.md, queue, self.transfer, self.clock,
                                settings or self.settings, defer.maybeDeferred)
        hook = ReplicationHook(self.kv, queue, replicator.wake)
        self.md.write_hooks = type(self.md.write_hooks)()
        hook.install(self.md.write_hooks)
        replicator.start()
        self.queue = queue
        return replicator

    def put(self, key):
        md = {"key": key, "size": 1, "etag": "e", "last-modified": self.clock.seconds(),
              "location": []}
        return self.successResultOf(self.md.put_object("src", key, md,
                                                       {"versioning": True}))["versionId"]

    def status(self, key, vid=None):
        opts = {"versionId": vid} if vid else None
        return self.successResultOf(self.md.get_object("src", key, opts)).get(
            "replicationStatus")

    def test_drains_to_completed(self):
        vid = self.put("a")
        self.assertEqual(self.status("a"), "PENDING")
        self.clock.advance(0.01)
        self.assertEqual(self.transfer.calls, ["a"])
        self.assertEqual(self.status("a", vid), "COMPLETED")
        self.assertEqual(len(self.queue), 0)
        self.assertEqual(self.replicator.completed, 1)
        [lag] = self.replicator.lags
        self.assertAlmostEqual(lag, 0.01)
        self.assertEqual(self.replicator._burst, [])  # the empty queue's summary logged

    def test_percentile(self):
        ordered = list(range(1, 101))
        self.assertEqual((percentile(ordered, 50), percentile(ordered, 99.0)), (50, 99))
        self.assertEqual(percentile([3.0], 99), 3.0)

    def test_metrics(self):
        self.put("a")
        self.clock.advance(0.01)
        families = {f.name: f for f in ReplicationCollector(self.replicator).collect()}
        samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
                   for f in families.values() for s in f.samples}
        self.assertEqual(samples[("cloudserver_replication_versions_total",
                                  (("outcome", "completed"),))], 1)
        self.assertEqual(samples[("cloudserver_replication_in_flight", ())], 0)
        self.assertAlmostEqual(samples[("cloudserver_replication_lag_seconds",
                                        (("quantile", "0.99"),))], 0.01)

    def test_concurrency(self):
        self.transfer.hold = True
        for key in "abcde":
            self.put(key)
        self.clock.advance(0.01)
        self.assertEqual(self.transfer.calls, ["a", "b"])
        self.transfer.pending[0].callback(None)
        self.clock.advance(0)
        self.assertEqual(self.transfer.calls, ["a", "b", "c"])
        for _ in range(10):
            for d in [d for d in self.transfer.pending if not d.called]:
                d.callback(None)
            self.clock.advance(0)
        self.assertEqual(sorted(self.transfer.calls), list("abcde"))
        self.assertEqual(len(self.queue), 0)

    def test_rate(self):
        self.replicator.running = False
        self.replicator = self.start(ReplicationSettings(rate=2, concurrency=10))
        for key in "abcd":
            self.put(key)
        self.clock.advance(0.01)
        self.assertEqual(len(self.transfer.calls), 1)
        self.clock.advance(0.5)
        self.assertEqual(len(self.transfer.calls), 2)
        self.clock.pump([0.5, 0.5])
        self.assertEqual(len(self.transfer.calls), 4)

    def test_failed_then_retried_with_backoff(self):
        self.transfer.fail = ReplicationError("down")
        vid = self.put("a")
        self.clock.advance(0.01)
        self.assertEqual(self.status("a", vid), "FAILED")
        [(_, item)] = self.queue.due(now=self.clock.seconds() + 100)
        self.assertEqual((item["attempts"], item["error"]), (1, "ReplicationError: down"))
        self.clock.advance(1)       # first retry after retryBackoff
        self.assertEqual(len(self.transfer.calls), 2)
        self.clock.advance(1.9)     # the next one 2 s later
        self.assertEqual(len(self.transfer.calls), 2)
        self.clock.advance(0.1)
        self.assertEqual(len(self.transfer.calls), 3)
        self.transfer.fail = None
        self.clock.advance(4)
        self.assertEqual(self.status("a", vid), "COMPLETED")
        self.assertEqual(len(self.queue), 0)
        self.assertEqual(self.replicator.failures, 3)

    def test_backoff_capped(self):
        self.transfer.fail = ReplicationError("down")
        self.put("a")
        self.clock.pump([0.01] + [8.0] * 6)
        [(_, item)] = self.queue.due(now=self.clock.seconds() + 100)
        self.assertEqual(item["attempts"], 7)

    def test_restart_resumes_the_backlog(self):
        self.transfer.hold = True
        for key in "abc":
            self.put(key)
        self.clock.advance(0.01)
        # the process dies: nothing acknowledged; a new one resumes
        self.replicator.running = False
        self.transfer = FakeTransfer()
        self.replicator = self.start()
        self.clock.advance(0)
        self.clock.advance(0)
        self.assertEqual(sorted(self.transfer.calls), ["a", "b", "c"])
        self.assertEqual([self.status(k) for k in "abc"], ["COMPLETED"] * 3)

    def test_tags_changed_during_the_copy_send_again(self):
        self.transfer.hold = True
        vid = self.put("a")
        self.clock.advance(0.01)
        md = self.successResultOf(self.md.get_object("src", "a", {"versionId": vid}))
        self.successResultOf(self.md.put_object("src", "a", {**md, "tags": {"t": "1"}},
                                                {"versionId": vid}))
        self.transfer.hold = False
        self.transfer.pending[0].callback(None)
        self.clock.advance(0.01)
        self.assertEqual(self.transfer.calls, ["a", "a"])
        self.assertEqual(self.status("a", vid), "COMPLETED")
        self.assertEqual(len(self.queue), 0)

    def test_gone_or_done_versions_are_dropped(self):
        vid = self.put("a")
        self.successResultOf(self.md.delete_object("src", "a", {"versionId": vid}))
        self.clock.advance(0.01)
        self.assertEqual(self.transfer.calls, [])
        self.assertEqual(len(self.queue), 0)

    def test_stop_waits_for_copies_in_flight(self):
        self.transfer.hold = True
        self.put("a")
        self.clock.advance(0.01)
        d = self.replicator.stop()
        self.assertNoResult(d)
        self.transfer.pending[0].callback(None)
        self.successResultOf(d)


class LocalReplicaTests(SynchronousTestCase):
    """Transfer.to_bucket: the bytes copied into the destination bucket, the
    same version id, REPLICA; a repeated copy is not done twice."""

    def setUp(self):
        self.kv = MemoryKV()
        self.md = MetadataService(self.kv, clock=lambda: 1000.0)
        self.store = MemoryDataStore()
        self.locations = Locations.single(self.store)
        for name in ("src", "dst"):
            self.successResultOf(self.md.create_bucket(name, {
                "name": name, "owner": "o", "creation-date": 1, "versioning": "Enabled"}))

        async def reader(record, start, length):
            return piece_producers(self.locations, record["location"], start, length)
        self.transfer = Transfer(self.md, self.locations, {}, reader)

    def write(self, data: bytes) -> dict:
        writer = self.store.create_writer()
        writer.write(data)
        key = self.successResultOf(writer.finish())
        md = {"key": "k", "size": len(data), "etag": "e1", "last-modified": 1.0,
              "location": [{"key": key, "start": 0, "size": len(data)}]}
        vid = self.successResultOf(self.md.put_object("src", "k", md, {"versioning": True}))
        return self.successResultOf(self.md.get_object("src", "k",
                                                       {"versionId": vid["versionId"]}))

    def test_replica(self):
        record = self.write(b"hello")
        item = {"bucket": "src", "key": "k", "dest": "dst"}
        self.successResultOf(defer.Deferred.fromCoroutine(self.transfer.copy(item, record)))
        replica = self.successResultOf(self.md.get_object("dst", "k"))
        self.assertEqual(replica["versionId"], record["versionId"])
        self.assertEqual(replica["replicationStatus"], "REPLICA")
        [piece] = replica["location"]
        self.assertNotEqual(piece["key"], record["location"][0]["key"])
        self.assertEqual(self.store._blobs[piece["key"]], b"hello")
        self.successResultOf(defer.Deferred.fromCoroutine(self.transfer.copy(item, record)))
        self.assertEqual(len(self.store), 2)

    def test_tags_and_acl_follow(self):
        record = self.write(b"hello")
        item = {"bucket": "src", "key": "k", "dest": "dst"}
        self.successResultOf(defer.Deferred.fromCoroutine(self.transfer.copy(item, record)))
        changed = {**record, "tags": {"a": "b"}, "acl": {"grants": ["x"]}}
        self.successResultOf(defer.Deferred.fromCoroutine(self.transfer.copy(item, changed)))
        replica = self.successResultOf(self.md.get_object("dst", "k"))
        self.assertEqual((replica["tags"], replica["acl"]), ({"a": "b"}, {"grants": ["x"]}))
        self.assertEqual(len(self.store), 2)  # the bytes were not copied again
        self.successResultOf(defer.Deferred.fromCoroutine(self.transfer.copy(item, record)))
        self.assertNotIn("tags", self.successResultOf(self.md.get_object("dst", "k")))

    def test_lock_only_into_a_lock_bucket(self):
        record = {**self.write(b"x"), "retentionMode": "GOVERNANCE",
                  "retentionDate": "2100-01-01T00:00:00.000Z", "legalHold": True}
        item = {"bucket": "src", "key": "k", "dest": "dst"}
        self.successResultOf(defer.Deferred.fromCoroutine(self.transfer.copy(item, record)))
        replica = self.successResultOf(self.md.get_object("dst", "k"))
        self.assertFalse({"retentionMode", "retentionDate", "legalHold"} & set(replica))

    def test_missing_destination_fails(self):
        record = self.write(b"x")
        d = defer.Deferred.fromCoroutine(self.transfer.copy(
            {"bucket": "src", "key": "k", "dest": "nope"}, record))
        self.failureResultOf(d, ReplicationError)

    def test_delete_marker_replica(self):
        md = {"key": "k", "size": 0, "etag": "", "last-modified": 1.0, "location": [],
              "isDeleteMarker": True}
        vid = self.successResultOf(self.md.put_object("src", "k", md, {"versioning": True}))
        record = self.successResultOf(self.md.get_object("src", "k",
                                                         {"versionId": vid["versionId"]}))
        item = {"bucket": "src", "key": "k", "dest": "dst"}
        self.successResultOf(defer.Deferred.fromCoroutine(self.transfer.copy(item, record)))
        marker = self.successResultOf(self.md.get_object(
            "dst", "k", {"versionId": record["versionId"]}))
        self.assertTrue(marker["isDeleteMarker"])


class SettingsTests(SynchronousTestCase):
    def test_defaults_and_values(self):
        self.assertEqual(parse_replication({}), ReplicationSettings())
        got = parse_replication({"replication": {"enabled": False, "concurrency": 8,
                                                 "rate": 50, "failedRetryInterval": 60}})
        self.assertEqual((got.enabled, got.concurrency, got.rate, got.failed_retry_interval),
                         (False, 8, 50.0, 60.0))

    def test_refused(self):
        for section in ({"concurrency": 0}, {"bogus": 1}, {"enabled": "yes"},
                        {"partSize": 1024}, {"rate": -1}, {"retryBackoff": True}):
            self.assertRaises(ConfigError, parse_replication, {"replication": section})
        self.assertRaises(ConfigError, parse_replication, {"replication": []})
