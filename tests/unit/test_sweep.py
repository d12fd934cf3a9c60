# -*- test-case-name: tests.unit.test_sweep -*-
"""The data intents of the metadata service's batches, the orphan sweep's
rules (other boots at once, this boot after the grace, never what is being
written), its service and metrics, and config.json ``orphanSweep``."""
from __future__ import annotations

import os
import shutil
import tempfile
from types import SimpleNamespace

from prometheus_client import CollectorRegistry, generate_latest
from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.config.errors import ConfigError
from cloudserver.config.sweep import SweepSettings, parse_sweep
from cloudserver.data.file import FileDataStore
from cloudserver.data.sweep import OrphanSweep, OrphanSweepService, track_data
from cloudserver.metadata.intents import (
    FREED, INTENT_PREFIX, WRITING, DataIntents, IntentRule, encode, intent_key, parse)
from cloudserver.metadata.keys import successor
from cloudserver.metadata.kv import MemoryKV
from cloudserver.metadata.service import MetadataService
from cloudserver.metrics.sweep import SweepCollector

K1, K2, K3 = "a" * 40, "b" * 40, "c" * 40


def inline(f, *args, **kwargs):
    return defer.maybeDeferred(f, *args, **kwargs)


def record(*keys: str, **extra) -> dict:
    return {"key": "x", "location": [{"key": k, "start": 0, "size": 1} for k in keys],
            **extra}


def entries(kv) -> dict[str, str]:
    return {k[len(INTENT_PREFIX):].decode(): v.decode().split(" ")[0]
            for k, v in kv.iterate(gte=INTENT_PREFIX, lt=successor(INTENT_PREFIX))}


class IntentRuleTests(SynchronousTestCase):

    def test_new_records_clear_freed_ones_get_an_entry(self):
        rule = IntentRule("boot", clock=lambda: 12.5)
        puts, deletes = rule.changes([record(K1)], [record(K1, K2)])
        self.assertEqual(deletes, [intent_key(K1)])
        self.assertEqual(puts, [(intent_key(K2), b"f boot 12500")])
        self.assertEqual(parse(*puts[0]), (K2, FREED, "boot", 12.5))

    def test_only_local_pieces(self):
        rule = IntentRule("boot", local_locations=["disk"])
        freed = {"location": [{"key": K1, "loc": "aws"}, {"key": K2, "loc": "disk"},
                              {"key": K3, "inline": 1}, {"key": "r", "remotePart": 1,
                                                          "loc": "aws"}]}
        puts, _ = rule.changes([], [freed])
        self.assertEqual([k for k, _ in puts], [intent_key(K2)])

    def test_malformed_values(self):
        for value in (b"", b"w boot", b"x boot 1", b"w boot one"):
            self.assertRaises(ValueError, parse, intent_key(K1), value)


class ServiceIntentTests(SynchronousTestCase):
    """Each commit of the metadata service carries its intent changes."""

    def setUp(self):
        self.kv = MemoryKV()
        self.service = MetadataService(self.kv, clock=lambda: 100.0)
        self.service.intents = IntentRule("boot", clock=lambda: 100.0)
        self.successResultOf(self.service.create_bucket("b", {}))

    def begin(self, *keys: str) -> None:
        for key in keys:
            self.kv.put_unsynced([(intent_key(key), encode(WRITING, "boot", 1))])

    def test_put_clears_overwrite_frees(self):
        self.begin(K1, K2)
        self.successResultOf(self.service.put_object("b", "x", record(K1)))
        self.assertEqual(entries(self.kv), {K2: WRITING})
        self.successResultOf(self.service.put_object("b", "x", record(K2)))
        self.assertEqual(entries(self.kv), {K1: FREED})

    def test_delete_frees(self):
        self.successResultOf(self.service.put_object("b", "x", record(K1)))
        self.successResultOf(self.service.delete_object("b", "x"))
        self.assertEqual(entries(self.kv), {K1: FREED})

    def test_versioned_delete_frees_the_version(self):
        put = self.successResultOf(self.service.put_object("b", "x", record(K1),
                                                           {"versioning": True}))
        self.successResultOf(self.service.put_object("b", "x", record(K2),
                                                     {"versioning": True}))
        self.assertEqual(entries(self.kv), {})
        self.successResultOf(self.service.delete_object("b", "x",
                                                        {"versionId": put["versionId"]}))
        self.assertEqual(entries(self.kv), {K1: FREED})

    def test_parts_abort_and_completion(self):
        svc = self.service
        self.successResultOf(svc.create_upload("b", "x", "u1", {"uploadId": "u1"}))
        self.begin(K1, K2, K3)
        for n, key in ((1, K1), (2, K2)):
            self.successResultOf(svc.put_part("b", "x", "u1", n, {
                "partNumber": n, "etag": key[:4], "size": 1,
                "location": [{"key": key, "start": 0, "size": 1}]}))
        self.assertEqual(entries(self.kv), {K3: WRITING})
        self.successResultOf(svc.put_part("b", "x", "u1", 2, {
            "partNumber": 2, "etag": "e3", "size": 1,
            "location": [{"key": K3, "start": 0, "size": 1}]}))
        self.assertEqual(entries(self.kv), {K2: FREED})
        from cloudserver.metadata.uploads import part_identity
        part1 = {"partNumber": 1, "etag": K1[:4], "size": 1,
                 "location": [{"key": K1, "start": 0, "size": 1}]}
        self.successResultOf(svc.complete_upload("b", "x", "u1", record(K1),
                                                 {1: part_identity(part1)}))
        # part 2 was left out: its data is freed with the completion
        self.assertEqual(entries(self.kv), {K2: FREED, K3: FREED})

    def test_abort_frees_every_part(self):
        svc = self.service
        self.successResultOf(svc.create_upload("b", "x", "u1", {"uploadId": "u1"}))
        self.successResultOf(svc.put_part("b", "x", "u1", 1, {
            "partNumber": 1, "etag": "e", "size": 1,
            "location": [{"key": K1, "start": 0, "size": 1}]}))
        self.successResultOf(svc.abort_upload("b", "x", "u1"))
        self.assertEqual(entries(self.kv), {K1: FREED})

    def test_without_a_rule_nothing_is_written(self):
        self.service.intents = None
        self.successResultOf(self.service.put_object("b", "x", record(K1)))
        self.successResultOf(self.service.delete_object("b", "x"))
        self.assertEqual(entries(self.kv), {})


class SweepTests(SynchronousTestCase):

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="cloudserver-sweep-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.now = 10000.0
        self.kv = MemoryKV()
        self.store = FileDataStore(self.root, Clock(), inline, sync=False)
        self.intents = DataIntents(self.kv, "me", lambda: self.now)
        self.store.intents = self.intents
        self.sweep = OrphanSweep(self.intents, self.store, inline, grace=3600,
                                 batch_size=2, clock=lambda: self.now)

    def file(self, key: str, size: int = 5) -> None:
        path = self.store.path_for(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(b"x" * size)

    def entry(self, key: str, kind: str, boot: str, age: float) -> None:
        self.kv.put_unsynced([(intent_key(key), encode(kind, boot, self.now - age))])

    def test_rules(self):
        self.file(K1)  # another boot's upload: swept at once
        self.entry(K1, WRITING, "old", 1)
        self.file(K2)  # ours, young: kept
        self.entry(K2, WRITING, "me", 10)
        self.file(K3, 7)  # ours, freed and older than the grace: swept
        self.entry(K3, FREED, "me", 4000)
        self.file("d" * 40)  # no entry: never looked at
        result = self.successResultOf(self.sweep.run())
        self.assertEqual(result, (3, 2, 12))
        self.assertEqual(entries(self.kv), {K2: WRITING})
        self.assertEqual(sorted(k for k, _ in self.store.iter_files()), [K2, "d" * 40])
        stats = self.sweep.stats
        self.assertEqual((stats.sweeps, stats.examined, stats.removed, stats.removed_bytes),
                         (1, 3, 2, 12))

    def test_never_what_is_being_written(self):
        writer = self.store.create_writer()  # its entry and file exist now
        self.now += 7200
        self.successResultOf(self.sweep.run())
        self.assertTrue(os.path.exists(writer.path))
        self.assertEqual(list(entries(self.kv)), [writer.key])
        self.successResultOf(writer.abort())
        self.assertEqual(entries(self.kv), {})

    def test_a_long_writer_is_kept_a_grace_past_its_finish(self):
        writer = self.store.create_writer()
        writer.write(b"data")
        self.now += 7200  # a two-hour upload
        key = self.successResultOf(writer.finish())
        self.successResultOf(self.sweep.run())
        self.assertTrue(os.path.exists(self.store.path_for(key)))
        self.now += 3600
        self.successResultOf(self.sweep.run())
        self.assertFalse(os.path.exists(self.store.path_for(key)))

    def test_entry_without_file_and_malformed_entries_go(self):
        self.entry(K1, WRITING, "old", 0)
        self.kv.put_unsynced([(intent_key(K2), b"garbage")])
        self.assertEqual(self.successResultOf(self.sweep.run()), (2, 0, 0))
        self.assertEqual(entries(self.kv), {})

    def test_delete_clears_the_entry(self):
        self.file(K1)
        self.entry(K1, FREED, "me", 0)
        self.successResultOf(self.store.delete(K1))
        self.assertEqual(entries(self.kv), {})

    def test_service_sweeps_at_start_and_every_interval(self):
        clock = Clock()
        svc = OrphanSweepService(self.sweep, clock, interval=60)
        svc.startService()
        self.entry(K1, WRITING, "old", 0)
        clock.advance(0)
        self.assertEqual(entries(self.kv), {})
        self.entry(K2, WRITING, "old", 0)
        clock.advance(59)
        self.assertEqual(list(entries(self.kv)), [K2])
        clock.advance(1)
        self.assertEqual(entries(self.kv), {})
        self.assertIsNone(svc.stopService())
        self.assertEqual(clock.getDelayedCalls(), [])

    def test_metrics(self):
        self.file(K1, 9)
        self.entry(K1, WRITING, "old", 0)
        self.successResultOf(self.sweep.run())
        registry = CollectorRegistry()
        registry.register(SweepCollector(self.sweep.stats))
        text = generate_latest(registry).decode()
        self.assertIn("cloudserver_orphan_files_removed_total 1.0", text)
        self.assertIn("cloudserver_orphan_bytes_removed_total 9.0", text)
        self.assertIn("cloudserver_orphan_entries_examined_total 1.0", text)

    def test_track_data_only_for_file_stores(self):
        service = MetadataService(MemoryKV())
        self.assertIsNone(track_data(SimpleNamespace(locations={}), service.kv, service,
                                     object()))
        self.assertIsNone(service.intents)


class SettingsTests(SynchronousTestCase):

    def test_defaults_and_values(self):
        self.assertEqual(parse_sweep({}), SweepSettings())
        self.assertEqual(parse_sweep({"orphanSweep": {"interval": 60, "grace": 0}}),
                         SweepSettings(interval=60.0, grace=0.0))

    def test_refused(self):
        for section in ([], {"interval": 0}, {"grace": -1}, {"batchSize": 1.5},
                        {"enabled": "yes"}, {"graze": 1}):
            self.assertRaises(ConfigError, parse_sweep, {"orphanSweep": section})


class PutUnsyncedTests(SynchronousTestCase):

    def test_memory_kv_applies_at_once_and_refuses_bad_types(self):
        kv = MemoryKV()
        kv.put_unsynced([(b"a", b"1"), (b"b", b"2")])
        kv.put_unsynced([], [b"a"])
        self.assertEqual(list(kv.iterate()), [(b"b", b"2")])
        self.assertRaises(TypeError, kv.put_unsynced, [("a", b"1")])

    def test_leveldb_kv(self):
        from cloudserver.metadata.kv import KVClosed, LevelDBKV

        path = tempfile.mkdtemp(prefix="cloudserver-kv-")
        self.addCleanup(shutil.rmtree, path, True)
        kv = LevelDBKV(path, inline)
        kv.put_unsynced([(b"a", b"1")])
        self.assertEqual(kv.get(b"a"), b"1")
        kv.put_unsynced([], [b"a"])
        self.assertIsNone(kv.get(b"a"))
        self.successResultOf(kv.close())
        self.assertRaises(KVClosed, kv.put_unsynced, [(b"a", b"1")])
