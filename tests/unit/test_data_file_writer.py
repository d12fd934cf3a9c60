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

from cloudserver.data import file_writer
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
        self.patch(file_writer, "_IOV_MAX", 4)
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
    """Which thread jobs run, and that one flush is over only when both
    its digest and its write are."""

    def setUp(self):
        self.threads = HeldThreads()
        self.store = self.make_store(self.threads, flush_size=100, high_water=100)
        self.patch(file_writer, "SPLIT_DIGEST_SIZE", 150)

    def test_small_flush_hashes_in_the_writing_job(self):
        digest = Recorder()
        writer = self.store.create_writer()
        writer.digest_with(digest)
        self.threads.release()  # open
        writer.write(b"a" * 120)
        self.assertEqual(self.threads.names(), ["_write"])
        self.assertEqual(digest.data, b"")  # nothing hashed on the caller's side
        self.threads.release()
        self.assertEqual(digest.data, b"a" * 120)
        d = writer.finish()
        self.assertEqual(self.threads.names(), ["_finish_file"])
        self.threads.release()
        self.successResultOf(d)

    def test_big_flush_hashes_beside_the_write(self):
        digest = Recorder()
        writer = self.store.create_writer()
        writer.digest_with(digest)
        self.threads.release()  # open
        writer.write(b"a" * 200)
        self.assertEqual(self.threads.names(), ["_digest_pieces", "_write"])
        waiting = writer.write(b"b" * 100)
        self.assertIsInstance(waiting, defer.Deferred)
        # The write finishes first: the flush is not over until the digest is.
        f, args, d = self.threads.pending.pop(1)
        d.callback(f(*args))
        self.assertNoResult(waiting)
        self.assertEqual(self.threads.names(), ["_digest_pieces"])
        self.threads.release()
        self.successResultOf(waiting)
        self.assertEqual(digest.data, b"a" * 200)
        self.assertEqual(self.threads.names(), ["_write"])  # 100 bytes: one job
        finished = writer.finish()
        self.threads.release_all()
        key = self.successResultOf(finished)
        self.assertEqual(digest.data, b"a" * 200 + b"b" * 100)
        self.assertEqual(read(self.store, key), b"a" * 200 + b"b" * 100)

    def test_big_final_flush_hashes_beside_the_sync(self):
        digest = Recorder()
        writer = self.store.create_writer()
        writer.digest_with(digest)
        writer.write(b"a" * 99)
        writer.write(b"b" * 99)  # still opening: both buffered
        finished = writer.finish()
        self.threads.release()  # open
        self.assertEqual(self.threads.names(), ["_digest_pieces", "_finish_file"])
        self.threads.release()
        self.assertNoResult(finished)
        self.threads.release()
        self.successResultOf(finished)
        self.assertEqual(digest.data, b"a" * 99 + b"b" * 99)

    def test_failed_write_beside_digest_leaves_nothing(self):
        writer = self.store.create_writer()
        writer.digest_with(Recorder())
        self.threads.release()
        writer.write(b"a" * 200)
        self.threads.pending[1] = (_fail_enospc, (), self.threads.pending[1][2])
        self.threads.release_all()
        self.failureResultOf(writer.finish(), OSError)
        self.threads.release_all()
        self.assertEqual(files_under(self.root), [])

    def test_abort_waits_for_both_jobs(self):
        writer = self.store.create_writer()
        writer.digest_with(Recorder())
        self.threads.release()
        writer.write(b"a" * 200)
        aborted = writer.abort()
        self.threads.release()
        self.assertEqual(self.threads.names(), ["_write"])
        self.threads.release()
        self.assertEqual(self.threads.names(), ["_remove_file"])
        self.threads.release()
        self.successResultOf(aborted)
        self.assertEqual(files_under(self.root), [])


def _fail_enospc():
    raise OSError(28, "No space left on device")
