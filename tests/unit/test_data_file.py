# -*- test-case-name: tests.unit.test_data_file -*-
"""The file data store: the shared contract, on-disk layout, key validation,
backpressure and failure clean-up.  Real files in a temporary directory;
"thread pool" work runs inline or when a test releases it."""
import os

from twisted.internet import defer
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.data import file as file_module
from cloudserver.data.file import FileDataStore, InvalidDataKey, is_valid_key
from cloudserver.data.producers import ShortRead
from tests.unit.test_data_mixin import (
    DATA,
    DataStoreContractMixin,
    FakeConsumer,
    clock_cooperator,
    run_clock,
)


def inline(f, *args):
    """A defer_to_thread that runs the work at once."""
    return defer.maybeDeferred(f, *args)


class HeldThreads:
    """A defer_to_thread that holds work until the test releases it."""

    def __init__(self):
        self.pending = []

    def __call__(self, f, *args):
        d = defer.Deferred()
        self.pending.append((f, args, d))
        return d

    def names(self):
        return [f.__name__ for f, _, _ in self.pending]

    def release(self):
        f, args, d = self.pending.pop(0)
        try:
            result = f(*args)
        except Exception:  # noqa: BLE001 - becomes the Failure/Deferred result
            d.errback(Failure())
        else:
            d.callback(result)

    def release_all(self):
        while self.pending:
            self.release()


def files_under(root):
    return sorted(os.path.abspath(os.path.join(dirpath, name))
                  for dirpath, _, names in os.walk(root) for name in names)


class FileStoreMixin:
    def make_store(self, threads, **kw):
        self.root = self.mktemp()
        self.clock, cooperator = clock_cooperator()
        kw.setdefault("block_size", 4096)
        return FileDataStore(self.root, reactor=None, defer_to_thread=threads,
                             cooperator=cooperator, sync=True, **kw)

    def assertNoData(self):
        self.assertEqual(files_under(self.root), [])


class InlineThreadTests(FileStoreMixin, DataStoreContractMixin, SynchronousTestCase):
    def setUp(self):
        self.store = self.make_store(inline)

    def drive(self):
        run_clock(self.clock)

    def test_layout(self):
        key = self.put(b"hello")
        path = os.path.join(self.root, key[:2], key[2:4], key)
        self.assertEqual(files_under(self.root), [os.path.abspath(path)])
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"hello")

    def test_finish_syncs_file_and_new_directories(self):
        synced_dirs, synced_files = [], []
        self.patch(file_module, "fsync_dir", synced_dirs.append)
        from cloudserver.data import file_writer
        self.patch(file_writer, "_sync_data", synced_files.append)
        keys = iter(["abcd" + "1" * 36, "abcd" + "2" * 36, "abce" + "3" * 36])
        self.patch(file_module, "new_key", lambda: next(keys))
        root = os.path.abspath(self.root)
        self.put(b"one")
        self.assertEqual(synced_dirs, [root, os.path.join(root, "ab")])
        self.assertEqual(len(synced_files), 1)
        self.put(b"two")  # same leaf directory: nothing more to sync
        self.assertEqual(len(synced_dirs), 2)
        self.put(b"three")  # new leaf in an existing middle directory
        self.assertEqual(synced_dirs[2:], [os.path.join(root, "ab")])
        self.assertEqual(len(synced_files), 3)

    def test_no_sync(self):
        synced = []
        from cloudserver.data import file_writer
        self.patch(file_writer, "_sync_data", synced.append)
        self.patch(file_module, "fsync_dir", synced.append)
        self.store = FileDataStore(self.mktemp(), None, inline, cooperator=clock_cooperator()[1],
                                   sync=False)
        writer = self.store.create_writer()
        writer.write(b"x")
        self.successResultOf(writer.finish())
        self.assertEqual(synced, [])

    def test_invalid_keys_rejected(self):
        key = self.put(b"secret")
        bad = ["", "../" * 13 + "a", "..", "/etc/passwd", key.upper(), key[:-1], key + "0",
               key[:-1] + "\n", key + "\n", key[:20] + "/" + key[21:], "g" * 40,
               "\u0660" * 40, "0" * 39 + "\x00", None, 12, key.encode()]
        for candidate in bad:
            self.assertFalse(is_valid_key(candidate), candidate)
            self.assertRaises(InvalidDataKey, self.store.producer, candidate, 0, 0)
            self.assertRaises(KeyError, self.store.producer, candidate, 0, 0)
            self.failureResultOf(self.store.delete(candidate), InvalidDataKey)
            self.assertRaises(InvalidDataKey, self.store.path_for, candidate)
        self.assertEqual(self.read(key, 0, 6), b"secret")

    def test_path_stays_under_root(self):
        key = "0123456789abcdef0123456789abcdef01234567"
        path = self.store.path_for(key)
        self.assertTrue(path.startswith(os.path.abspath(self.root) + os.sep))

    def test_file_vanishes_before_start(self):
        key = self.put()
        producer = self.store.producer(key, 0, 10)
        os.unlink(self.store.path_for(key))
        d = producer.startProducing(FakeConsumer())
        self.failureResultOf(d, KeyError)

    def test_truncated_file(self):
        key = self.put()
        producer = self.store.producer(key, 0, len(DATA))
        os.truncate(self.store.path_for(key), 5000)
        consumer = FakeConsumer()
        d = producer.startProducing(consumer)
        self.drive()
        self.failureResultOf(d, ShortRead)
        self.assertEqual(consumer.data, DATA[:5000])

    def test_failed_write_leaves_nothing(self):
        def failing(f, *args):
            if f.__name__ == "_write":
                return defer.fail(OSError(28, "No space left on device"))
            return inline(f, *args)

        self.store = self.make_store(failing, flush_size=1000)
        writer = self.store.create_writer()
        self.assertIsNone(writer.write(b"x" * 999))
        writer.write(b"x" * 2)  # crosses flush_size: the flush fails
        self.assertNoData()
        self.failureResultOf(writer.write(b"more"), OSError)
        self.failureResultOf(writer.finish(), OSError)
        self.successResultOf(writer.abort())
        self.assertNoData()

    def test_failed_final_sync_leaves_nothing(self):
        from cloudserver.data import file_writer

        def broken_sync(fd):
            raise OSError(5, "Input/output error")

        self.patch(file_writer, "_sync_data", broken_sync)
        writer = self.store.create_writer()
        writer.write(DATA)
        self.failureResultOf(writer.finish(), OSError)
        self.assertNoData()

    def test_failed_open(self):
        def failing(f, *args):
            if f.__name__ == "_open_file":
                return defer.fail(PermissionError(13, "Permission denied"))
            return inline(f, *args)

        self.store = self.make_store(failing)
        writer = self.store.create_writer()
        self.failureResultOf(writer.write(b"abc"), PermissionError)
        self.failureResultOf(writer.finish(), PermissionError)
        self.assertNoData()


class HeldThreadTests(FileStoreMixin, DataStoreContractMixin, SynchronousTestCase):
    """Thread work completes only when released: ordering and backpressure."""

    def setUp(self):
        self.threads = HeldThreads()
        self.store = self.make_store(self.threads, flush_size=8192)

    def drive(self):
        while self.threads.pending or self.clock.getDelayedCalls():
            self.threads.release_all()
            run_clock(self.clock)

    def test_backpressure(self):
        self.store = self.make_store(self.threads, flush_size=10, high_water=10)
        writer = self.store.create_writer()
        self.assertEqual(self.threads.names(), ["_open_file"])
        self.assertIsNone(writer.write(b"01234"))
        waiting = writer.write(b"56789a")  # 11 buffered while the open is held
        self.assertIsInstance(waiting, defer.Deferred)
        self.assertIsInstance(writer.write(b"b"), defer.Deferred)
        self.assertNoResult(waiting)
        self.threads.release()  # the open completes, the buffer goes to a flush
        self.assertIsNone(self.successResultOf(waiting))
        self.assertEqual(self.threads.names(), ["_write"])
        self.assertIsNone(writer.write(b"c" * 9))  # below the mark
        waiting = writer.write(b"d")
        self.assertNoResult(waiting)
        self.threads.release()
        self.successResultOf(waiting)
        self.assertEqual(self.threads.names(), ["_write"])
        d = writer.finish()
        self.assertEqual(self.threads.names(), ["_write"])  # one op at a time
        self.threads.release()
        self.assertEqual(self.threads.names(), ["_finish_file"])
        self.assertNoResult(d)
        self.threads.release()
        key = self.successResultOf(d)
        with open(self.store.path_for(key), "rb") as f:
            self.assertEqual(f.read(), b"0123456789ab" + b"c" * 9 + b"d")

    def test_no_backpressure_when_idle(self):
        self.store = self.make_store(self.threads, flush_size=10)
        writer = self.store.create_writer()
        self.threads.release()
        self.assertIsNone(writer.write(b"x" * 100))  # starts a flush
        self.assertEqual(self.threads.names(), ["_write"])

    def test_abort_waits_for_inflight_write(self):
        self.store = self.make_store(self.threads, flush_size=10, high_water=10)
        writer = self.store.create_writer()
        self.threads.release()
        writer.write(b"x" * 10)
        waiting = writer.write(b"y" * 10)
        aborted = writer.abort()
        self.failureResultOf(waiting, defer.CancelledError)
        self.assertEqual(self.threads.names(), ["_write"])
        self.assertNoResult(aborted)
        self.threads.release()
        self.assertEqual(self.threads.names(), ["_remove_file"])
        self.assertNoResult(aborted)
        self.threads.release()
        self.successResultOf(aborted)
        self.assertNoData()
        self.successResultOf(writer.abort())

    def test_abort_while_finishing(self):
        writer = self.store.create_writer()
        self.threads.release()
        writer.write(b"abc")
        finished = writer.finish()
        aborted = writer.abort()
        self.drive()
        self.failureResultOf(finished, defer.CancelledError)
        self.successResultOf(aborted)
        self.assertNoData()

    def test_abort_during_open(self):
        writer = self.store.create_writer()
        writer.write(b"abc")
        aborted = writer.abort()
        self.drive()
        self.successResultOf(aborted)
        self.assertNoData()
