# -*- test-case-name: tests.unit.test_orphans -*-
"""No orphans through the S3 front: every PUT, copy, part and delete leaves
no data file without a record and no intent entry behind, on the file
store with its data intents (cloudserver.metadata.intents), and the
failure paths remove what they wrote."""
from __future__ import annotations

import os
import shutil
import tempfile
from types import SimpleNamespace

from twisted.internet import defer
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.data.file import FileDataStore
from cloudserver.data.sweep import track_data
from cloudserver.metadata.intents import INTENT_PREFIX
from cloudserver.metadata.keys import successor
from tests.unit.test_http import Harness, signed, status


def inline(f, *args, **kwargs):
    return defer.maybeDeferred(f, *args, **kwargs)


class FileHarnessCase(SynchronousTestCase):
    """The S3 site over a FileDataStore (pool work inline) whose metadata
    service and store track data intents, as build_backend sets them up."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="cloudserver-orphans-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.clock = Clock()
        self.store = FileDataStore(self.root, self.clock, inline, sync=False)
        self.h = Harness(data=self.store)
        self.kv = self.h.metadata.kv
        self.intents = track_data(SimpleNamespace(locations={}), self.kv, self.h.metadata,
                                  self.store)
        self.assertEqual(status(self.send("PUT", "/bucket")), 200)

    def send(self, method: str, path: str, body: bytes = b"", headers=None) -> bytes:
        out = self.h.send(signed(method, path, body, headers) + body)
        for _ in range(100):  # the copies' reads run on the store's cooperator
            if not self.clock.getDelayedCalls():
                break
            self.clock.advance(0)
            out += self.h.transport.value()
            self.h.transport.clear()
        return out

    def files(self) -> list[str]:
        return sorted(key for key, _ in self.store.iter_files())

    def entries(self) -> dict[bytes, bytes]:
        return dict(self.kv.iterate(gte=INTENT_PREFIX, lt=successor(INTENT_PREFIX)))

    def record(self, key: str) -> dict:
        return self.successResultOf(self.h.metadata.get_object("bucket", key))

    def data_keys(self, key: str) -> list[str]:
        return [p["key"] for p in self.record(key)["location"]]


class PutTests(FileHarnessCase):

    def test_put_leaves_its_file_and_no_entry(self):
        self.assertEqual(status(self.send("PUT", "/bucket/k", b"data")), 200)
        self.assertEqual(self.files(), self.data_keys("k"))
        self.assertEqual(self.entries(), {})

    def test_overwrite_and_delete_free_the_file_and_their_entry(self):
        self.send("PUT", "/bucket/k", b"one")
        self.assertEqual(status(self.send("PUT", "/bucket/k", b"two")), 200)
        self.assertEqual(self.files(), self.data_keys("k"))
        self.assertEqual(status(self.send("DELETE", "/bucket/k")), 204)
        self.assertEqual(self.files(), [])
        self.assertEqual(self.entries(), {})

    def test_failed_commit_removes_file_and_entry(self):
        def fail(*args, **kwargs):
            return defer.fail(OSError("metadata down"))

        self.h.metadata.put_object = fail
        self.assertEqual(status(self.send("PUT", "/bucket/k", b"data")), 500)
        self.flushLoggedErrors(OSError)
        self.assertEqual(self.files(), [])
        self.assertEqual(self.entries(), {})

    def test_bad_digest_removes_file_and_entry(self):
        out = self.send("PUT", "/bucket/k", b"data",
                        {"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="})
        self.assertEqual(status(out), 400, out)
        self.assertEqual(self.files(), [])
        self.assertEqual(self.entries(), {})

    def test_an_open_upload_has_its_entry(self):
        """A body still arriving: the file has a written entry, and the store
        knows it is being written (the sweep leaves it)."""
        head = signed("PUT", "/bucket/k", b"x" * 100)
        self.h.send(head + b"x" * 10)
        [key] = self.files()
        self.assertEqual(list(self.entries()), [INTENT_PREFIX + key.encode()])
        self.assertIn(key, self.intents.writing)
        # the client goes away: all of it goes
        self.h.proto.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.files(), [])
        self.assertEqual(self.entries(), {})
        self.assertEqual(self.intents.writing, {})


class CopyTests(FileHarnessCase):

    def copy(self, key: str, source: str = "/bucket/src", headers=None) -> bytes:
        return self.send("PUT", f"/bucket/{key}",
                         headers={"x-amz-copy-source": source, **(headers or {})})

    def test_copy_leaves_two_files_and_no_entry(self):
        self.send("PUT", "/bucket/src", b"data")
        self.assertEqual(status(self.copy("dst")), 200)
        self.assertEqual(self.files(), sorted(self.data_keys("src") + self.data_keys("dst")))
        self.assertEqual(self.entries(), {})

    def test_copy_of_missing_source_data_leaves_no_file(self):
        """Regression: the copy's writer was made before the source's data
        was opened, and nothing aborted it when that failed."""
        self.send("PUT", "/bucket/src", b"data")
        [src] = self.data_keys("src")
        os.unlink(self.store.path_for(src))
        self.assertNotEqual(status(self.copy("dst")), 200)
        self.flushLoggedErrors(KeyError)
        self.assertEqual(self.files(), [])
        self.assertEqual(self.entries(), {})

    def test_failed_commit_of_a_copy_onto_itself_keeps_its_data(self):
        """Regression: a copy onto itself that only rewrites metadata shares
        the pieces of the record it replaces; a failed commit deleted them."""
        self.send("PUT", "/bucket/src", b"data")
        before = self.data_keys("src")

        def fail(*args, **kwargs):
            return defer.fail(OSError("metadata down"))

        self.h.metadata.put_object = fail
        out = self.copy("src", headers={"x-amz-metadata-directive": "REPLACE"})
        self.assertEqual(status(out), 500, out)
        self.flushLoggedErrors(OSError)
        self.assertEqual(self.files(), before)


class MultipartTests(FileHarnessCase):

    def create(self) -> str:
        out = self.send("POST", "/bucket/mp?uploads")
        return out.split(b"<UploadId>")[1].split(b"</UploadId>")[0].decode()

    def test_abort_frees_the_parts(self):
        uid = self.create()
        for n in (1, 2):
            out = self.send("PUT", f"/bucket/mp?partNumber={n}&uploadId={uid}", b"part")
            self.assertEqual(status(out), 200, out)
        self.assertEqual(len(self.files()), 2)
        self.assertEqual(self.entries(), {})
        self.assertEqual(status(self.send("DELETE", f"/bucket/mp?uploadId={uid}")), 204)
        self.assertEqual(self.files(), [])
        self.assertEqual(self.entries(), {})

    def test_reuploaded_part_frees_the_old_one(self):
        uid = self.create()
        self.send("PUT", f"/bucket/mp?partNumber=1&uploadId={uid}", b"one")
        self.send("PUT", f"/bucket/mp?partNumber=1&uploadId={uid}", b"two")
        self.assertEqual(len(self.files()), 1)
        self.assertEqual(self.entries(), {})
