# -*- test-case-name: tests.unit.test_data_file_writer -*-
"""The file writer's fast path for large bodies: pieces kept without copies,
writev with short writes, digests in the I/O thread (beside the write for
big flushes), early writeback.  Real files in a temporary directory; the
"thread pool" runs work inline or when a test releases it."""
import hashlib
import os

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from cloudserver.data import file_io, file_writer
from cloudserver.data.file_writer import FileDataWriter, write_pieces
from cloudserver.data.interfaces import IDigestingWriter
from tests.unit.test_data_file import FileStoreMixin, HeldThreads, files_under, inline


def read(store, key) -> bytes:
    with open(store.path_for(key), "rb") as f:
        return f.read()


class Recorder:
    """A digest that remembers what it was fed (copies: pieces are not ours)."""

    def __init__(self):
        self.pieces: list[bytes] = []
        self.md5 = hashlib.md5()

    def __call__(self, piece) -> None:
        self.pieces.append(bytes(piece))
        self.md5.update(piece)

    @property
    def data(self) -> bytes:
        return b"".join(self.pieces)


def xor(piece) -> bytes:
    """A toy length-preserving transform (a stand-in for a cipher)."""
    return bytes(b ^ 0x5A for b in bytes(piece))


class PieceTests(SynchronousTestCase):
    def test_which_pieces_are_kept(self):
        big = bytes(range(256)) * 256  # 64 KiB
        kept = file_writer._kept
        self.assertTrue(kept(big))
        self.assertFalse(kept(big[:100]))  # small: copied into a tail
        self.assertFalse(kept(bytearray(big)))  # mutable: the caller may reuse it
        self.assertTrue(kept(memoryview(big)[:40000]))
        self.assertFalse(kept(memoryview(big)[:20000]))  # would pin 3x its size
        self.assertFalse(kept(memoryview(bytearray(big))))
        self.assertFalse(kept(memoryview(big)[::2]))  # not contiguous

    def test_write_pieces_resumes_after_short_writes(self):
        path = self.mktemp()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        real = os.writev
        calls = []

        def short(fd, buffers):
            calls.append(len(buffers))
            first = bytes(memoryview(buffers[0]).cast("B")[:3]) if buffers[0] else b""
            return real(fd, [first]) if len(calls) % 2 else real(fd, buffers)

        self.patch(os, "writev", short)
        pieces = [b"abcdefgh", memoryview(b"0123456789")[2:], bytearray(b"xyz")]
        write_pieces(fd, pieces)
        os.close(fd)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"abcdefgh23456789xyz")
        self.assertGreater(len(calls), 1)

    def test_write_pieces_batches_by_iov_max(self):
        self.patch(file_io, "_IOV_MAX", 4)
        path = self.mktemp()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
        sizes = []
        real = os.writev
        self.patch(os, "writev", lambda fd, bufs: sizes.append(len(bufs)) or real(fd, bufs))
        write_pieces(fd, [bytes([65 + i]) * 3 for i in range(10)])
        os.close(fd)
        self.assertEqual(sizes, [4, 4, 2])
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"".join(bytes([65 + i]) * 3 for i in range(10)))


class InlineWriterTests(FileStoreMixin, SynchronousTestCase):
    def setUp(self):
        self.store = self.make_store(inline, flush_size=64 * 1024)

    def test_provides_digesting_writer(self):
        writer = self.store.create_writer()
        self.assertTrue(verifyObject(IDigestingWriter, writer))
        self.successResultOf(writer.abort())

    def test_mutable_input_is_copied(self):
        """A caller may reuse its buffer as soon as write returned."""
        writer = self.store.create_writer()
        buf = bytearray(b"a" * 100)
        writer.write(buf)
        buf[:] = b"b" * 100
        writer.write(buf)
        view = memoryview(bytearray(b"c" * 50_000))
        writer.write(view)
        view[:] = b"d" * 50_000
        key = self.successResultOf(writer.finish())
        self.assertEqual(read(self.store, key), b"a" * 100 + b"b" * 100 + b"c" * 50_000)

    def test_released_view_does_not_void_the_piece(self):
        data = bytes(range(256)) * 200
        writer = self.store.create_writer()
        with memoryview(data) as view:
            writer.write(view)
        key = self.successResultOf(writer.finish())
        self.assertEqual(read(self.store, key), data)

    def test_mixed_pieces_in_order(self):
        big = os.urandom(100_000)
        parts = [b"x" * 10, big, memoryview(big)[10:90_000], b"y", bytearray(b"z" * 5), b"",
                 memoryview(b""), big[:30_000]]
        writer = self.store.create_writer()
        for part in parts:
            writer.write(part)
        key = self.successResultOf(writer.finish())
        expected = b"".join(bytes(p) for p in parts)
        self.assertEqual(writer.size, len(expected))
        self.assertEqual(read(self.store, key), expected)

    def test_digest_sees_every_byte_in_order(self):
        for split in (10**9, 1):  # digests in the writing thread, or beside it
            self.patch(file_writer, "SPLIT_DIGEST_SIZE", split)
            data = os.urandom(300_000)
            digest = Recorder()
            writer = self.store.create_writer()
            writer.digest_with(digest)
            for i in range(0, len(data), 7_000):
                writer.write(data[i:i + 7_000])
            key = self.successResultOf(writer.finish())
            self.assertEqual(digest.data, data)
            self.assertEqual(read(self.store, key), data)

    def test_transform_runs_after_the_digest_and_is_stored(self):
        """The digests see the plaintext, the file holds what the
        transforms made of it (in order), in both digest modes."""
        for split in (10**9, 1):
            self.patch(file_writer, "SPLIT_DIGEST_SIZE", split)
            self.check_transformed_upload(os.urandom(300_000))

    def check_transformed_upload(self, data: bytes) -> None:
        digest = Recorder()
        seen = []
        writer = self.store.create_writer()
        writer.digest_with(digest, [lambda p: seen.append(len(p)) or xor(p), bytes])
        for i in range(0, len(data), 7_000):
            writer.write(data[i:i + 7_000])
        checked = []
        key = self.successResultOf(writer.finish(
            before_commit=lambda: checked.append(digest.md5.hexdigest())))
        self.assertEqual(digest.data, data)
        self.assertEqual(checked, [hashlib.md5(data).hexdigest()])
        self.assertEqual(sum(seen), len(data))
        self.assertEqual(read(self.store, key), xor(data))

    def test_before_commit_failure_removes_the_file(self):
        writer = self.store.create_writer()
        writer.digest_with(Recorder())
        writer.write(b"x" * 100_000)

        def mismatch():
            raise ValueError("BadDigest")

        self.failureResultOf(writer.finish(before_commit=mismatch), ValueError)
        self.assertNoData()
        self.successResultOf(writer.abort())

    def test_digest_with_after_write_refused(self):
        writer = self.store.create_writer()
        writer.write(b"abc")
        self.assertRaises(RuntimeError, writer.digest_with, Recorder())
        self.successResultOf(writer.abort())

    def test_failing_digest_leaves_nothing(self):
        def broken(piece):
            raise MemoryError("no")

        for split in (10**9, 1):
            self.patch(file_writer, "SPLIT_DIGEST_SIZE", split)
            writer = self.store.create_writer()
            writer.digest_with(broken)
            writer.write(b"x" * 100_000)  # crosses flush_size: the flush fails
            self.failureResultOf(writer.finish(), MemoryError)
            self.assertNoData()

    def test_writeback_started_for_each_flush_not_the_last(self):
        ranges = []
        self.patch(file_writer, "start_writeback", lambda fd, off, n: ranges.append((off, n)))
        writer = self.store.create_writer()
        writer.write(b"a" * 70_000)
        writer.write(b"b" * 70_000)
        writer.write(b"c" * 1_000)
        key = self.successResultOf(writer.finish())
        self.assertEqual(ranges, [(0, 70_000), (70_000, 70_000)])
        self.assertEqual(len(read(self.store, key)), 141_000)

    def test_no_writeback_without_sync(self):
        ranges = []
        self.patch(file_writer, "start_writeback", lambda fd, off, n: ranges.append((off, n)))
        writer = FileDataWriter("0" * 40, self.mktemp(), inline, lambda: None, sync=False,
                                flush_size=10)
        writer.write(b"x" * 100)
        self.successResultOf(writer.finish())
        self.assertEqual(ranges, [])

    def test_start_writeback_is_harmless(self):
        path = self.mktemp()
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        os.write(fd, b"x" * 10_000)
        file_writer.start_writeback(fd, 0, 10_000)
        file_writer.start_writeback(fd, 0, 0)
        os.close(fd)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"x" * 10_000)


class HeldWriterTests(FileStoreMixin, SynchronousTestCase):
    """Which thread jobs run, and when: the digest stream hashes flush after
    flush in one job, one flush behind the writes at most."""

    def setUp(self):
        self.threads = HeldThreads()
        self.store = self.make_store(self.threads, flush_size=100, high_water=100)
        self.patch(file_writer, "SPLIT_DIGEST_SIZE", 150)

    def release(self, name):
        """Run the first held job called ``name``."""
        index = self.threads.names().index(name)
        f, args, d = self.threads.pending.pop(index)
        try:
            result = f(*args)
        except Exception:  # noqa: BLE001 - becomes the Deferred's failure
            d.errback()
        else:
            d.callback(result)

    def writer(self, digest=None):
        writer = self.store.create_writer()
        writer.digest_with(digest if digest is not None else Recorder())
        self.threads.release()  # open
        return writer

    def test_small_flush_hashes_in_the_writing_job(self):
        digest = Recorder()
        writer = self.writer(digest)
        writer.write(b"a" * 120)
        self.assertEqual(self.threads.names(), ["_write"])
        self.assertEqual(digest.data, b"")  # nothing hashed on the caller's side
        self.threads.release()
        self.assertEqual(digest.data, b"a" * 120)
        d = writer.finish()
        self.assertEqual(self.threads.names(), ["_finish_file"])
        self.threads.release()
        self.successResultOf(d)

    def test_transform_and_before_commit_run_in_the_jobs(self):
        """A transform costs the reactor nothing (it runs in the writing
        job), and before_commit waits for the last job and the last digest."""
        digest = Recorder()
        calls = []
        writer = self.store.create_writer()
        writer.digest_with(digest, [lambda p: calls.append("transform") or xor(p)])
        self.threads.release()  # open
        writer.write(b"a" * 200)  # a split flush: written and hashed beside
        self.assertEqual(calls, [])
        self.assertEqual(self.threads.names(), ["_write", "_drain"])
        self.release("_write")
        self.assertEqual(calls, ["transform"])
        writer.write(b"b" * 50)
        d = writer.finish(before_commit=lambda: calls.append(bytes(digest.data)))
        self.release("_finish_file")
        self.assertEqual(calls, ["transform", "transform"])
        self.assertNoResult(d)
        self.release("_drain")  # the digests catch up: now the check
        key = self.successResultOf(d)
        self.assertEqual(calls[-1], b"a" * 200 + b"b" * 50)
        self.assertEqual(read(self.store, key), xor(b"a" * 200 + b"b" * 50))

    def test_stream_hashes_beside_the_writes(self):
        digest = Recorder()
        writer = self.writer(digest)
        writer.write(b"a" * 200)
        self.assertEqual(self.threads.names(), ["_write", "_drain"])
        waiting = writer.write(b"b" * 100)
        self.assertIsInstance(waiting, defer.Deferred)
        self.release("_write")  # the first flush waits for nothing else
        self.successResultOf(waiting)
        # The second flush is queued to the running stream: no new job.
        self.assertEqual(self.threads.names(), ["_drain", "_write"])
        waiting = writer.write(b"c" * 100)
        self.release("_write")
        self.assertNoResult(waiting)  # the first flush is not hashed yet
        self.assertEqual(digest.data, b"")
        # The job hashes the queued flushes in order, and (reports being
        # synchronous here) the third one, posted as the first is reported.
        self.release("_drain")
        self.successResultOf(waiting)
        self.assertEqual(digest.data, b"a" * 200 + b"b" * 100 + b"c" * 100)
        self.assertEqual(self.threads.names(), ["_write"])
        finished = writer.finish()
        self.release("_write")
        self.assertEqual(self.threads.names(), ["_finish_file"])
        self.release("_finish_file")
        key = self.successResultOf(finished)
        expected = b"a" * 200 + b"b" * 100 + b"c" * 100
        self.assertEqual(digest.data, expected)
        self.assertEqual(read(self.store, key), expected)

    def test_small_last_flush_still_in_order(self):
        digest = Recorder()
        writer = self.writer(digest)
        writer.write(b"a" * 200)
        writer.write(b"b" * 10)
        finished = writer.finish()
        self.release("_write")
        self.assertEqual(self.threads.names(), ["_drain", "_finish_file"])
        self.threads.release_all()
        self.successResultOf(finished)
        self.assertEqual(digest.data, b"a" * 200 + b"b" * 10)

    def test_failing_digest_leaves_nothing(self):
        def broken(piece):
            raise MemoryError("no")

        writer = self.writer(broken)
        writer.write(b"a" * 200)
        self.threads.release_all()
        writer.write(b"b" * 200)  # waits for the failed digest
        self.threads.release_all()
        self.failureResultOf(writer.finish(), MemoryError)
        self.threads.release_all()
        self.assertEqual(files_under(self.root), [])

    def test_failed_write_beside_digest_leaves_nothing(self):
        writer = self.writer()
        writer.write(b"a" * 200)
        index = self.threads.names().index("_write")
        self.threads.pending[index] = (_fail_enospc, (), self.threads.pending[index][2])
        self.threads.release_all()
        self.failureResultOf(writer.finish(), OSError)
        self.threads.release_all()
        self.assertEqual(files_under(self.root), [])

    def test_abort_stops_hashing(self):
        digest = Recorder()
        writer = self.writer(digest)
        writer.write(b"a" * 200)
        self.release("_write")
        writer.write(b"b" * 200)  # second flush queued behind the first
        aborted = writer.abort()
        self.release("_write")
        self.assertEqual(self.threads.names(), ["_drain"])
        self.assertNoResult(aborted)  # the flush in flight waits for its digest
        self.release("_drain")  # the stream finds itself stopped
        self.assertEqual(digest.data, b"")
        self.assertEqual(self.threads.names(), ["_remove_file"])
        self.release("_remove_file")
        self.successResultOf(aborted)
        self.assertEqual(files_under(self.root), [])
        self.assertEqual(self.threads.names(), [])

    def test_finish_then_abort_while_hashing(self):
        writer = self.writer()
        writer.write(b"a" * 200)
        finished = writer.finish()
        aborted = writer.abort()
        self.threads.release_all()
        self.failureResultOf(finished, defer.CancelledError)
        self.successResultOf(aborted)
        self.assertEqual(files_under(self.root), [])

    def test_stream_that_cannot_start(self):
        def refusing(f, *args):
            if f.__name__ == "_drain":
                raise RuntimeError("pool stopped")
            return self.threads(f, *args)

        self.store = self.make_store(refusing, flush_size=100, high_water=100)
        writer = self.store.create_writer()
        writer.digest_with(Recorder())
        self.threads.release()
        writer.write(b"a" * 200)
        self.threads.release_all()
        writer.write(b"b" * 200)
        self.threads.release_all()
        self.failureResultOf(writer.finish(), RuntimeError)
        self.threads.release_all()
        self.assertEqual(files_under(self.root), [])


class DigestStreamTests(SynchronousTestCase):
    def test_flush_posted_while_hashing_goes_to_the_same_job(self):
        """The reactor posts the next flush while the job hashes one: the
        job takes it on, no new pool job (and no hand-off) between them."""
        held = HeldThreads()
        fed, reported = [], []

        def digest(piece):
            fed.append(piece)
            if piece == b"one":
                second.append(stream.post([b"two"]))

        second = []
        stream = file_writer._DigestStream(digest, held, lambda f, *a: reported.append(a) or f(*a))
        first = stream.post([b"one"])
        self.assertEqual(held.names(), ["_drain"])
        held.release()
        self.assertEqual(fed, [b"one", b"two"])
        self.assertEqual(held.names(), [])
        self.successResultOf(first)
        self.successResultOf(second[0])
        stream.post([b"three"])  # the job ended: a new one
        self.assertEqual(held.names(), ["_drain"])

    def test_failure_fails_the_rest(self):
        held = HeldThreads()

        def digest(piece):
            if piece == b"bad":
                raise ValueError(piece)

        stream = file_writer._DigestStream(digest, held, lambda f, *a: f(*a))
        ds = [stream.post([p]) for p in (b"ok", b"bad", b"later")]
        held.release()
        self.successResultOf(ds[0])
        self.failureResultOf(ds[1], ValueError)
        self.failureResultOf(ds[2], defer.CancelledError)


def _fail_enospc():
    raise OSError(28, "No space left on device")


class SyncBehindTests(FileStoreMixin, SynchronousTestCase):
    """Background fdatasyncs every SYNC_BEHIND_SIZE bytes: one at a time, on
    a descriptor of their own, awaited by finish, fatal when they fail."""

    def setUp(self):
        self.threads = HeldThreads()
        self.store = self.make_store(self.threads, flush_size=100, high_water=100)
        self.patch(file_writer, "SYNC_BEHIND_SIZE", 250)
        self.synced = []
        real = file_writer._sync_data
        self.patch(file_writer, "_sync_data", lambda fd: self.synced.append(fd) or real(fd))

    def release(self, name):
        index = self.threads.names().index(name)
        self.threads.pending.insert(0, self.threads.pending.pop(index))
        self.threads.release()

    def writer(self):
        writer = self.store.create_writer()
        self.threads.release()  # open
        return writer

    def write_flushes(self, writer, count, byte=b"a"):
        for _ in range(count):
            writer.write(byte * 100)
            self.release("_write")

    def test_one_sync_per_threshold_one_at_a_time(self):
        writer = self.writer()
        self.write_flushes(writer, 2)
        self.assertEqual(self.threads.names(), [])  # 200 bytes: not yet
        self.write_flushes(writer, 1)
        self.assertEqual(self.threads.names(), ["_sync_and_close"])
        self.write_flushes(writer, 3)  # 300 more while the first still runs
        self.assertEqual(self.threads.names(), ["_sync_and_close"])
        self.release("_sync_and_close")
        self.write_flushes(writer, 1)  # the next flush starts the next one
        self.assertEqual(self.threads.names(), ["_sync_and_close"])
        finished = writer.finish()
        self.assertEqual(self.threads.names(), ["_sync_and_close"])  # waited for
        self.assertNoResult(finished)
        self.release("_sync_and_close")
        self.assertEqual(self.threads.names(), ["_finish_file"])
        self.threads.release()
        key = self.successResultOf(finished)
        self.assertEqual(read(self.store, key), b"a" * 700)
        self.assertEqual(len(self.synced), 3)  # two behind, the final one

    def test_a_failed_sync_fails_the_upload(self):
        def broken(fd):
            raise OSError(5, "EIO")

        writer = self.writer()
        self.write_flushes(writer, 3)
        self.patch(file_writer, "_sync_data", broken)
        self.release("_sync_and_close")
        self.threads.release_all()
        self.failureResultOf(writer.finish(), OSError)
        self.threads.release_all()
        self.assertNoData()

    def test_a_sync_failing_while_finishing(self):
        writer = self.writer()
        self.write_flushes(writer, 3)
        finished = writer.finish()
        self.patch(file_writer, "_sync_data", lambda fd: 1 / 0)
        self.release("_sync_and_close")
        self.threads.release_all()
        self.failureResultOf(finished, ZeroDivisionError)
        self.assertNoData()

    def test_abort_does_not_wait_for_a_sync(self):
        writer = self.writer()
        self.write_flushes(writer, 3)
        aborted = writer.abort()
        self.release("_remove_file")
        self.successResultOf(aborted)
        self.assertNoData()
        self.release("_sync_and_close")  # its own descriptor: still valid
        self.assertEqual(self.threads.names(), [])

    def test_none_without_sync(self):
        writer = FileDataWriter("0" * 40, self.mktemp(), self.threads, lambda: None,
                                sync=False, flush_size=100)
        self.threads.release()
        self.write_flushes(writer, 5)
        self.assertEqual(self.threads.names(), [])
        writer.finish()
        self.threads.release_all()
        self.assertEqual(self.synced, [])
