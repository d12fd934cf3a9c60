# -*- test-case-name: tests.unit.test_upload_chain -*-
"""The upload body chain (cloudserver.s3.ops.upload_chain): hashers see the
plaintext, transforms make what is stored, and the digests are verified in
the writer's before_commit, whichever writer (memory: stages on the
reactor; file: stages in the writer's jobs; none: an empty body)."""
from __future__ import annotations

import hashlib
import os

from twisted.internet.defer import Deferred
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.data.memory import MemoryDataStore
from cloudserver.s3.model.checksums import BodyDigests
from cloudserver.s3.ops.upload_chain import UploadChain
from tests.unit.test_data_file import FileStoreMixin, HeldThreads, files_under, inline
from tests.unit.test_data_file_writer import read, xor
from tests.unit.test_upload_digests import crc32_b64

DATA = os.urandom(200_000)


class Mismatch(Exception):
    pass


class ChainContractMixin:
    """What every writer behind a chain gives: the same digests, stored
    bytes that are the transforms' output, one verification point."""

    def make_writer(self):
        raise NotImplementedError

    def stored(self, key) -> bytes:
        raise NotImplementedError

    def assertNothingStored(self) -> None:
        raise NotImplementedError

    def upload(self, data=DATA, transforms=(), verify=None):
        """(chain, digests, finish Deferred); ``verify(digests)`` is the check."""
        digests = BodyDigests(sha256=True, checksum="CRC32")
        chain = UploadChain(digests, self.make_writer(), transforms)
        for i in range(0, len(data), 9_000):
            waiting = chain.write(data[i:i + 9_000])
            if waiting is not None:
                self.successResultOf(waiting)
        d = self.finish(chain, (lambda: verify(digests)) if verify is not None else None)
        return chain, digests, d

    def finish(self, chain, verify):
        return Deferred.fromCoroutine(chain.finish(verify))

    def test_transform_runs_after_the_md5_of_the_plaintext(self):
        seen = []
        chain, digests, d = self.upload(
            transforms=[xor], verify=lambda digests: seen.append(digests.md5_hex()))
        key = self.successResultOf(d)
        self.assertEqual(seen, [hashlib.md5(DATA).hexdigest()])
        self.assertEqual(digests.size, len(DATA))
        self.assertEqual(digests.checksum, ("CRC32", crc32_b64(DATA)))
        self.assertEqual(self.stored(key), xor(DATA))

    def test_no_transform_stores_the_body(self):
        chain, digests, d = self.upload()
        key = self.successResultOf(d)
        self.assertEqual(self.stored(key), DATA)
        self.assertEqual(digests.md5_hex(), hashlib.md5(DATA).hexdigest())
        self.assertEqual(digests.sha256_hex(), hashlib.sha256(DATA).hexdigest())

    def test_failed_verification_stores_nothing(self):
        def verify(digests):
            raise Mismatch()

        chain, _, d = self.upload(verify=verify)
        self.failureResultOf(d, Mismatch)
        self.successResultOf(self.abort(chain))
        self.assertNothingStored()

    def abort(self, chain):
        return Deferred.fromCoroutine(chain.abort())


class MemoryWriterTests(ChainContractMixin, SynchronousTestCase):
    def setUp(self):
        self.store = MemoryDataStore()

    def make_writer(self):
        return self.store.create_writer()

    def stored(self, key):
        return self.store._blobs[key]

    def assertNothingStored(self):
        self.assertEqual(len(self.store), 0)

    def test_stages_run_on_the_reactor_before_write(self):
        writer = self.make_writer()
        chain = UploadChain(BodyDigests(), writer, [xor])
        chain.write(b"abc")
        self.assertEqual(writer._chunks, [xor(b"abc")])


class FileWriterTests(ChainContractMixin, FileStoreMixin, SynchronousTestCase):
    def setUp(self):
        self.store = self.make_store(inline, flush_size=64 * 1024)

    def make_writer(self):
        return self.store.create_writer()

    def stored(self, key):
        return read(self.store, key)

    def assertNothingStored(self):
        self.assertEqual(files_under(self.root), [])

    def test_stages_go_to_the_writer_thread(self):
        """Nothing is hashed or transformed on the reactor: the writer's
        jobs do both (no hand-off of their own)."""
        threads = HeldThreads()
        self.store = self.make_store(threads, flush_size=64 * 1024)
        digests = BodyDigests()
        calls = []
        chain = UploadChain(digests, self.make_writer(),
                            [lambda p: calls.append(len(p)) or xor(p)])
        threads.release()  # open
        chain.write(b"abc")
        self.assertEqual((calls, digests.size), ([], 3))
        d = self.finish(chain, None)
        self.assertEqual(threads.names(), ["_finish_file"])
        threads.release_all()
        key = self.successResultOf(d)
        self.assertEqual(calls, [3])
        self.assertEqual(digests.md5_hex(), hashlib.md5(b"abc").hexdigest())
        self.assertEqual(read(self.store, key), xor(b"abc"))


class NoWriterTests(SynchronousTestCase):
    def finish(self, chain, verify=None, **kw):
        return Deferred.fromCoroutine(chain.finish(verify, **kw))

    def test_empty_body_is_verified_too(self):
        calls = []
        chain = UploadChain(BodyDigests(), None)
        self.assertIsNone(chain.write(b""))
        self.assertIsNone(self.successResultOf(self.finish(chain, lambda: calls.append(1))))
        self.assertEqual(calls, [1])

        def mismatch():
            raise Mismatch()

        self.failureResultOf(self.finish(UploadChain(BodyDigests(), None), mismatch),
                             Mismatch)

    def test_empty_chunked_body_drops_its_writer(self):
        store = MemoryDataStore()
        chain = UploadChain(BodyDigests(), store.create_writer())
        calls = []
        self.assertIsNone(self.successResultOf(
            self.finish(chain, lambda: calls.append(1), keep_empty=False)))
        self.assertEqual((calls, len(store)), ([1], 0))

    def test_kept_empty_body(self):
        store = MemoryDataStore()
        chain = UploadChain(BodyDigests(), store.create_writer())
        key = self.successResultOf(self.finish(chain))
        self.assertEqual(store._blobs[key], b"")
