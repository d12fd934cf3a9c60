# -*- test-case-name: tests.unit.test_data_memory,tests.unit.test_data_file -*-
"""The contract every IDataStore keeps, as a mixin run against each store.

A concrete test case sets ``self.store`` in setUp and provides ``drive()``
(run whatever the store scheduled: cooperator steps, held thread work) and
``assertNoData()`` (nothing stored any more).
"""
from __future__ import annotations

from twisted.internet import defer
from twisted.internet.task import Clock, Cooperator
from zope.interface.verify import verifyObject

from cloudserver.data.interfaces import IDataStore, IDataWriter

DATA = bytes((i * 7 + i // 251) % 256 for i in range(50_003))


class FakeConsumer:
    """Collects writes; optionally pauses or stops its producer after the
    first write, as a transport with a full buffer or a dropped client would."""

    def __init__(self, on_first_write: str | None = None):
        self.chunks: list[bytes] = []
        self.producer = None
        self.on_first_write = on_first_write

    def write(self, data: bytes) -> None:
        assert isinstance(data, bytes)
        self.chunks.append(data)
        if len(self.chunks) == 1 and self.on_first_write == "pause":
            self.producer.pauseProducing()
        elif len(self.chunks) == 1 and self.on_first_write == "stop":
            self.producer.stopProducing()

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


def clock_cooperator() -> tuple[Clock, Cooperator]:
    """A cooperator whose steps run when the returned Clock is advanced; one
    work unit per step so tests see every block boundary."""
    clock = Clock()
    cooperator = Cooperator(scheduler=lambda step: clock.callLater(0, step),
                            terminationPredicateFactory=lambda: (lambda: True))
    return clock, cooperator


def run_clock(clock: Clock) -> None:
    while clock.getDelayedCalls():
        clock.advance(0)


class DataStoreContractMixin:
    """Tests shared by every IDataStore implementation."""

    store: IDataStore

    def drive(self) -> None:
        raise NotImplementedError

    def assertNoData(self) -> None:
        raise NotImplementedError

    # -- helpers ----------------------------------------------------------

    def put(self, data: bytes = DATA, chunk: int = 997) -> str:
        writer = self.store.create_writer()
        for start in range(0, len(data), chunk):
            waiting = writer.write(data[start:start + chunk])
            if waiting is not None:
                self.drive()
                self.successResultOf(waiting)
        d = writer.finish()
        self.drive()
        return self.successResultOf(d)

    def read(self, key: str, offset: int, length: int) -> bytes:
        producer = self.store.producer(key, offset, length)
        self.assertEqual(producer.length, length)
        consumer = FakeConsumer()
        consumer.producer = producer
        d = producer.startProducing(consumer)
        self.drive()
        self.assertIsNone(self.successResultOf(d))
        return consumer.data

    # -- the contract -----------------------------------------------------

    def test_provides_interfaces(self):
        self.assertTrue(verifyObject(IDataStore, self.store))
        writer = self.store.create_writer()
        self.assertTrue(verifyObject(IDataWriter, writer))
        self.drive()
        writer.abort()
        self.drive()

    def test_round_trip_many_chunks(self):
        key = self.put()
        self.assertEqual(self.read(key, 0, len(DATA)), DATA)

    def test_writer_counts_size(self):
        writer = self.store.create_writer()
        writer.write(b"abc")
        writer.write(memoryview(b"defg"))
        self.assertEqual(writer.size, 7)
        d = writer.finish()
        self.drive()
        key = self.successResultOf(d)
        self.assertEqual(self.read(key, 0, 7), b"abcdefg")

    def test_empty_blob(self):
        key = self.put(b"")
        self.assertEqual(self.read(key, 0, 0), b"")

    def test_ranges(self):
        key = self.put()
        n = len(DATA)
        for offset, length in [(0, 10), (0, n), (12_345, 20_000), (n - 1, 1),
                               (n // 2, 0), (n, 0), (1, n - 1)]:
            self.assertEqual(self.read(key, offset, length), DATA[offset:offset + length],
                             (offset, length))

    def test_range_outside_blob(self):
        key = self.put(b"0123456789")
        for offset, length in [(0, 11), (5, 6), (11, 0), (-1, 1), (0, -1)]:
            self.assertRaises(ValueError, self.store.producer, key, offset, length)

    def test_keys_are_distinct_hex(self):
        keys = {self.put(b"x") for _ in range(5)}
        self.assertEqual(len(keys), 5)
        for key in keys:
            self.assertEqual(len(key), 40)
            int(key, 16)

    def test_missing_key(self):
        self.assertRaises(KeyError, self.store.producer, "0" * 40, 0, 0)

    def test_abort_leaves_nothing(self):
        writer = self.store.create_writer()
        for start in range(0, len(DATA), 4096):
            writer.write(DATA[start:start + 4096])
        self.drive()
        d = writer.abort()
        self.drive()
        self.assertIsNone(self.successResultOf(d))
        self.assertNoData()
        # A second abort is harmless.
        d = writer.abort()
        self.drive()
        self.assertIsNone(self.successResultOf(d))
        self.assertRaises(KeyError, self.store.producer, writer.key, 0, 0)

    def test_abort_before_any_write(self):
        writer = self.store.create_writer()
        d = writer.abort()
        self.drive()
        self.assertIsNone(self.successResultOf(d))
        self.assertNoData()

    def test_abort_after_finish_removes_blob(self):
        key = self.put()
        writer = self.store.create_writer()
        writer.write(b"data")
        d = writer.finish()
        self.drive()
        self.successResultOf(d)
        d = writer.abort()
        self.drive()
        self.successResultOf(d)
        self.assertRaises(KeyError, self.store.producer, writer.key, 0, 0)
        self.assertEqual(self.read(key, 0, len(DATA)), DATA)

    def test_before_commit_runs_once_before_finish_fires(self):
        """The one verification point: called after every byte was taken,
        before the key is handed out."""
        writer = self.store.create_writer()
        writer.write(DATA[:30_000])
        writer.write(DATA[30_000:])
        calls = []
        d = writer.finish(before_commit=lambda: calls.append(writer.size))
        d.addCallback(lambda key: calls.append(key) or key)
        self.drive()
        key = self.successResultOf(d)
        self.assertEqual(calls, [len(DATA), key])
        self.assertEqual(self.read(key, 0, len(DATA)), DATA)

    def test_before_commit_that_raises_leaves_nothing(self):
        """A mismatch found in before_commit fails finish with its error and
        removes what was written."""
        writer = self.store.create_writer()
        writer.write(DATA)

        def mismatch():
            raise ValueError("digests differ")

        d = writer.finish(before_commit=mismatch)
        self.drive()
        self.failureResultOf(d, ValueError)
        d = writer.abort()  # the caller's clean-up: harmless
        self.drive()
        self.successResultOf(d)
        self.assertNoData()
        self.assertRaises(KeyError, self.store.producer, writer.key, 0, 0)

    def test_write_after_abort(self):
        writer = self.store.create_writer()
        writer.abort()
        self.drive()
        self.assertRaises(defer.CancelledError, writer.write, b"late")

    def test_write_after_finish(self):
        writer = self.store.create_writer()
        writer.finish()
        self.drive()
        self.assertRaises(RuntimeError, writer.write, b"late")
        self.failureResultOf(writer.finish(), RuntimeError)

    def test_delete(self):
        key = self.put()
        other = self.put(b"other")
        d = self.store.delete(key)
        self.drive()
        self.assertIsNone(self.successResultOf(d))
        self.assertRaises(KeyError, self.store.producer, key, 0, 0)
        self.assertEqual(self.read(other, 0, 5), b"other")
        # Deleting again (a missing key) is not an error.
        d = self.store.delete(key)
        self.drive()
        self.assertIsNone(self.successResultOf(d))

    def test_producer_honours_pause(self):
        key = self.put()
        producer = self.store.producer(key, 0, len(DATA))
        consumer = FakeConsumer(on_first_write="pause")
        consumer.producer = producer
        d = producer.startProducing(consumer)
        self.drive()
        self.assertEqual(len(consumer.chunks), 1)
        self.assertNoResult(d)
        producer.resumeProducing()
        self.drive()
        self.assertIsNone(self.successResultOf(d))
        self.assertEqual(consumer.data, DATA)
        self.assertGreater(len(consumer.chunks), 1)

    def test_producer_stop(self):
        key = self.put()
        producer = self.store.producer(key, 0, len(DATA))
        consumer = FakeConsumer(on_first_write="stop")
        consumer.producer = producer
        d = producer.startProducing(consumer)
        self.drive()
        self.assertEqual(len(consumer.chunks), 1)
        self.assertNoResult(d)
        # Calls after stop are ignored.
        producer.resumeProducing()
        producer.pauseProducing()
        producer.stopProducing()
        self.drive()
        self.assertEqual(len(consumer.chunks), 1)
        self.assertNoResult(d)

    def test_close(self):
        self.store.close()
