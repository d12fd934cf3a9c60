# -*- test-case-name: tests.unit.test_check -*-
"""cloudserver.check.run_check: orphans, records missing data or with the
wrong size (multipart pieces are whole blobs whatever their offset in the
object), missing inline bytes, and what --repair removes (old orphans,
never records, never a file in flight)."""
from __future__ import annotations

import os
import shutil
import tempfile

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.check import run_check
from cloudserver.data.file import FileDataStore
from cloudserver.metadata.intents import WRITING, IntentRule, encode, intent_key
from cloudserver.metadata.kv import MemoryKV
from cloudserver.metadata.records import encode_record
from cloudserver.metadata import keys

A, B, C, D, E = ("a" * 40, "b" * 40, "c" * 40, "d" * 40, "e" * 40)


class RunCheckTests(SynchronousTestCase):

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="cloudserver-check-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.store = FileDataStore(self.root, Clock(), None, sync=False)
        self.kv = MemoryKV()
        self.now = 100000.0
        self.rule = IntentRule("boot")

    def file(self, key: str, size: int, age: float = 0) -> None:
        path = self.store.path_for(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(b"x" * size)
        os.utime(path, (self.now - age, self.now - age))

    def put(self, kv_key: bytes, pieces: list[dict]) -> None:
        self.kv.put_unsynced([(kv_key, encode_record({"location": pieces}))])

    def check(self, **kwargs):
        return run_check(self.kv, self.store, self.rule, grace=3600,
                         clock=lambda: self.now, **kwargs)

    def test_report(self):
        # a multipart object: pieces at object offsets 0 and 5, each a whole blob
        self.put(keys.object_key("b", "mp"), [{"key": A, "start": 0, "size": 5},
                                              {"key": B, "start": 5, "size": 3}])
        self.file(A, 5)
        self.file(B, 3)
        self.put(keys.object_key("b", "short"), [{"key": C, "start": 0, "size": 9}])
        self.file(C, 4)
        self.put(keys.version_key("b", "gone", "v1"), [{"key": D, "start": 0, "size": 1}])
        self.put(keys.object_key("b", "inline"), [{"key": "i1", "start": 0, "size": 2,
                                                   "inline": 1}])
        self.file(E, 7, age=7200)  # an orphan
        report = self.check()
        self.assertEqual((report["files"], report["referenced"], report["orphans"],
                          report["missing"]), (4, 4, 1, 3))
        problems = {(m.get("key"), m["problem"]) for m in report["missingList"]}
        self.assertEqual(problems, {("short", "wrong size: 4 bytes, record needs 9"),
                                    ("gone", "data file missing"),
                                    ("inline", "inline data missing")})
        gone = [m for m in report["missingList"] if m.get("key") == "gone"][0]
        self.assertEqual(gone["versionId"], "v1")
        self.assertEqual(report["orphanList"], [{"dataKey": E, "size": 7, "age": 7200.0}])

    def test_repair_removes_old_orphans_only(self):
        self.file(A, 1, age=7200)
        self.file(B, 1, age=10)
        self.file(C, 1, age=7200)  # in flight in the running process
        self.kv.put_unsynced([(intent_key(A), encode(WRITING, "old", self.now - 7200)),
                              (intent_key(C), encode(WRITING, "me", self.now - 10))])
        report = self.check(repair=True, boot="me")
        self.assertEqual((report["orphans"], report["inFlight"], report["removed"]), (2, 1, 1))
        self.assertFalse(os.path.exists(self.store.path_for(A)))
        self.assertIsNone(self.kv.get(intent_key(A)))
        self.assertTrue(os.path.exists(self.store.path_for(B)))
        self.assertTrue(os.path.exists(self.store.path_for(C)))

    def test_parts_are_references(self):
        self.kv.put_unsynced([(b"P\x00upload1\x0000001", encode_record(
            {"partNumber": 1, "location": [{"key": A, "start": 0, "size": 1}]}))])
        self.file(A, 1, age=7200)
        report = self.check(repair=True)
        self.assertEqual((report["orphans"], report["missing"], report["removed"]), (0, 0, 0))
