# -*- test-case-name: tests.unit.test_data_producers -*-
"""BlockProducer, ChainedProducer and TransformingProducer: backpressure,
stop, failures, chaining, read-side transforms."""
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.iweb import UNKNOWN_LENGTH, IBodyProducer
from zope.interface.verify import verifyObject

from twisted.internet import defer

from cloudserver.data.producers import (
    BlockProducer, ChainedProducer, ShortRead, TransformingProducer, transformed)
from tests.unit.test_data_mixin import FakeConsumer, clock_cooperator, run_clock


class ListSource:
    """A BlockSource over bytes that records open/close and can fail."""

    def __init__(self, data: bytes, fail_open=None, fail_after=None):
        self.data = data
        self.pos = 0
        self.opened = 0
        self.closed = 0
        self.fail_open = fail_open
        self.fail_after = fail_after

    def open(self):
        if self.fail_open is not None:
            raise self.fail_open
        self.opened += 1

    def read(self, size):
        if self.fail_after is not None and self.pos >= self.fail_after:
            raise OSError(5, "Input/output error")
        block = self.data[self.pos:self.pos + size]
        self.pos += len(block)
        return block

    def close(self):
        self.closed += 1


class BlockProducerPushTests(SynchronousTestCase):
    cooperative = False

    def setUp(self):
        if self.cooperative:
            self.clock, self.cooperator = clock_cooperator()
        else:
            self.clock, self.cooperator = None, None

    def drive(self):
        if self.clock is not None:
            run_clock(self.clock)

    def make(self, data=b"0123456789" * 10, length=None, **kw):
        source = ListSource(data, **kw)
        producer = BlockProducer(source, len(data) if length is None else length,
                                 block_size=16, cooperator=self.cooperator)
        return source, producer

    def test_interface(self):
        self.assertTrue(verifyObject(IBodyProducer, self.make()[1]))

    def test_streams_blocks(self):
        source, producer = self.make()
        consumer = FakeConsumer()
        d = producer.startProducing(consumer)
        self.drive()
        self.assertIsNone(self.successResultOf(d))
        self.assertEqual(consumer.data, b"0123456789" * 10)
        self.assertEqual([len(c) for c in consumer.chunks], [16] * 6 + [4])
        self.assertEqual((source.opened, source.closed), (1, 1))

    def test_zero_length(self):
        source, producer = self.make(b"")
        consumer = FakeConsumer()
        d = producer.startProducing(consumer)
        self.drive()
        self.successResultOf(d)
        self.assertEqual(consumer.chunks, [])
        self.assertEqual(source.closed, 1)

    def test_pause_on_last_block_still_completes(self):
        _source, producer = self.make(b"x" * 10)
        consumer = FakeConsumer(on_first_write="pause")
        consumer.producer = producer
        d = producer.startProducing(consumer)
        self.drive()
        self.successResultOf(d)
        producer.resumeProducing()  # harmless after the end
        producer.pauseProducing()
        producer.stopProducing()

    def test_pause_before_start(self):
        _source, producer = self.make()
        producer.pauseProducing()
        consumer = FakeConsumer()
        d = producer.startProducing(consumer)
        self.drive()
        self.assertEqual(consumer.chunks, [])
        producer.resumeProducing()
        self.drive()
        self.successResultOf(d)
        self.assertEqual(len(consumer.data), 100)

    def test_repeated_pause_needs_one_resume(self):
        _source, producer = self.make()
        consumer = FakeConsumer(on_first_write="pause")
        consumer.producer = producer
        d = producer.startProducing(consumer)
        self.drive()
        producer.pauseProducing()  # already paused by the consumer
        self.drive()
        self.assertEqual(len(consumer.chunks), 1)
        producer.resumeProducing()
        self.drive()
        self.successResultOf(d)

    def test_resume_without_pause(self):
        _source, producer = self.make()
        consumer = FakeConsumer()
        producer.resumeProducing()
        d = producer.startProducing(consumer)
        producer.resumeProducing()
        self.drive()
        self.successResultOf(d)
        self.assertEqual(len(consumer.data), 100)

    def test_stop_closes_source(self):
        source, producer = self.make()
        consumer = FakeConsumer(on_first_write="stop")
        consumer.producer = producer
        d = producer.startProducing(consumer)
        self.drive()
        self.assertNoResult(d)
        self.assertEqual(len(consumer.chunks), 1)
        self.assertEqual(source.closed, 1)

    def test_stop_before_start(self):
        source, producer = self.make()
        producer.stopProducing()
        self.assertEqual(source.opened, 0)
        self.assertEqual(source.closed, 0)

    def test_open_failure(self):
        _source, producer = self.make(fail_open=KeyError("k"))
        self.failureResultOf(producer.startProducing(FakeConsumer()), KeyError)

    def test_read_failure(self):
        source, producer = self.make(fail_after=32)
        consumer = FakeConsumer()
        d = producer.startProducing(consumer)
        self.drive()
        self.failureResultOf(d, OSError)
        self.assertEqual(len(consumer.data), 32)
        self.assertEqual(source.closed, 1)

    def test_short_source(self):
        _source, producer = self.make(b"abc", length=10)
        d = producer.startProducing(FakeConsumer())
        self.drive()
        self.failureResultOf(d, ShortRead)

    def test_consumer_failure(self):
        source, producer = self.make()

        class Broken:
            def write(self, data):
                raise RuntimeError("transport gone")

        d = producer.startProducing(Broken())
        self.drive()
        self.failureResultOf(d, RuntimeError)
        self.assertEqual(source.closed, 1)

    def test_start_twice(self):
        _source, producer = self.make()
        producer.startProducing(FakeConsumer())
        self.assertRaises(RuntimeError, producer.startProducing, FakeConsumer())

    def test_bad_arguments(self):
        self.assertRaises(ValueError, BlockProducer, ListSource(b""), -1)
        self.assertRaises(ValueError, BlockProducer, ListSource(b""), 0, block_size=0)


class BlockProducerCooperativeTests(BlockProducerPushTests):
    cooperative = True

    def test_one_block_per_step(self):
        _source, producer = self.make()
        consumer = FakeConsumer()
        d = producer.startProducing(consumer)
        self.assertEqual(consumer.chunks, [])
        self.clock.advance(0)
        self.assertGreaterEqual(len(consumer.chunks), 1)
        run_clock(self.clock)
        self.successResultOf(d)


class ChainedProducerTests(SynchronousTestCase):
    def setUp(self):
        self.clock, self.cooperator = clock_cooperator()

    def parts(self, *datas):
        return [BlockProducer(ListSource(d), len(d), block_size=4, cooperator=self.cooperator)
                for d in datas]

    def test_chain(self):
        chain = ChainedProducer(self.parts(b"abcdef", b"", b"ghij", b"k"))
        self.assertTrue(verifyObject(IBodyProducer, chain))
        self.assertEqual(chain.length, 11)
        consumer = FakeConsumer()
        d = chain.startProducing(consumer)
        run_clock(self.clock)
        self.assertIsNone(self.successResultOf(d))
        self.assertEqual(consumer.data, b"abcdefghijk")

    def test_empty_chain(self):
        d = ChainedProducer([]).startProducing(FakeConsumer())
        self.successResultOf(d)

    def test_unknown_length(self):
        class Unknown:
            length = UNKNOWN_LENGTH

        self.assertIs(ChainedProducer(self.parts(b"ab") + [Unknown()]).length, UNKNOWN_LENGTH)

    def test_pause_forwarded(self):
        chain = ChainedProducer(self.parts(b"abcdefgh", b"ijkl"))
        consumer = FakeConsumer(on_first_write="pause")
        consumer.producer = chain
        d = chain.startProducing(consumer)
        run_clock(self.clock)
        self.assertEqual(consumer.data, b"abcd")
        chain.resumeProducing()
        run_clock(self.clock)
        self.successResultOf(d)
        self.assertEqual(consumer.data, b"abcdefghijkl")

    def test_pause_at_boundary_delays_next(self):
        first, second = self.parts(b"abcd", b"efgh")
        chain = ChainedProducer([first, second])
        consumer = FakeConsumer(on_first_write="pause")
        consumer.producer = chain
        d = chain.startProducing(consumer)
        run_clock(self.clock)
        # The first part ended with the write that paused us: the second
        # part must not start until the consumer resumes.
        self.assertEqual(consumer.data, b"abcd")
        self.assertEqual(second._state, "idle")
        chain.resumeProducing()
        run_clock(self.clock)
        self.successResultOf(d)
        self.assertEqual(consumer.data, b"abcdefgh")

    def test_stop_forwarded(self):
        first, second = self.parts(b"abcdefgh", b"ijkl")
        chain = ChainedProducer([first, second])
        consumer = FakeConsumer(on_first_write="stop")
        consumer.producer = chain
        d = chain.startProducing(consumer)
        run_clock(self.clock)
        self.assertNoResult(d)
        self.assertEqual(consumer.data, b"abcd")
        self.assertEqual(first._state, "stopped")
        self.assertEqual(second._state, "idle")
        chain.pauseProducing()
        chain.resumeProducing()
        chain.stopProducing()

    def test_failure_stops_chain(self):
        first = BlockProducer(ListSource(b"abcd"), 4, cooperator=self.cooperator)
        bad = BlockProducer(ListSource(b"", fail_open=KeyError("gone")), 4)
        third = BlockProducer(ListSource(b"wxyz"), 4, cooperator=self.cooperator)
        chain = ChainedProducer([first, bad, third])
        consumer = FakeConsumer()
        d = chain.startProducing(consumer)
        run_clock(self.clock)
        self.failureResultOf(d, KeyError)
        self.assertEqual(consumer.data, b"abcd")
        self.assertEqual(third._state, "idle")

    def test_start_raising(self):
        class Raising:
            length = 1

            def startProducing(self, consumer):
                raise RuntimeError("boom")

        d = ChainedProducer([Raising()]).startProducing(FakeConsumer())
        self.failureResultOf(d, RuntimeError)

    def test_many_synchronous_parts(self):
        """Parts that finish at once do not nest stack frames."""
        parts = [BlockProducer(ListSource(b"x"), 1) for _ in range(5000)]
        consumer = FakeConsumer()
        d = ChainedProducer(parts).startProducing(consumer)
        self.successResultOf(d)
        self.assertEqual(len(consumer.data), 5000)

    def test_start_twice(self):
        chain = ChainedProducer([])
        chain.startProducing(FakeConsumer())
        self.assertRaises(RuntimeError, chain.startProducing, FakeConsumer())


def unxor(piece) -> bytes:
    """A toy decrypting stage: undoes tests.unit.test_data_file_writer.xor."""
    return bytes(b ^ 0x5A for b in bytes(piece))


class TransformingProducerTests(SynchronousTestCase):
    """The GET mirror of the upload chain: stored pieces -> stages -> response."""

    def setUp(self):
        self.clock, self.cooperator = clock_cooperator()

    def source(self):
        data = unxor(b"abcdefghij")
        return BlockProducer(ListSource(data), len(data), block_size=4,
                             cooperator=self.cooperator)

    def test_no_transforms_is_the_source_itself(self):
        source = self.source()
        self.assertIs(transformed(source), source)
        self.assertIs(transformed(source, []), source)

    def test_stages_run_in_order_on_every_block(self):
        calls = []
        producer = transformed(self.source(), [unxor, lambda b: calls.append(b) or b.upper()])
        self.assertTrue(verifyObject(IBodyProducer, producer))
        self.assertEqual(producer.length, 10)
        consumer = FakeConsumer()
        d = producer.startProducing(consumer)
        run_clock(self.clock)
        self.assertIsNone(self.successResultOf(d))
        self.assertEqual(consumer.data, b"ABCDEFGHIJ")
        self.assertEqual(calls, [b"abcd", b"efgh", b"ij"])

    def test_pause_and_resume_pass_through(self):
        source = self.source()
        producer = TransformingProducer(source, [unxor])
        consumer = FakeConsumer(on_first_write="pause")
        consumer.producer = producer
        d = producer.startProducing(consumer)
        run_clock(self.clock)
        self.assertEqual(consumer.data, b"abcd")
        self.assertTrue(source._paused)
        producer.resumeProducing()
        run_clock(self.clock)
        self.successResultOf(d)
        self.assertEqual(consumer.data, b"abcdefghij")

    def test_stop_passes_through(self):
        list_source = ListSource(unxor(b"abcdefghij"))
        source = BlockProducer(list_source, 10, block_size=4, cooperator=self.cooperator)
        producer = TransformingProducer(source, [unxor])
        consumer = FakeConsumer(on_first_write="stop")
        consumer.producer = producer
        d = producer.startProducing(consumer)
        run_clock(self.clock)
        self.assertNoResult(d)
        self.assertEqual(consumer.data, b"abcd")
        self.assertEqual(list_source.closed, 1)

    def test_in_a_chain_and_prepare(self):
        """Each piece gets its own stages; ``prepare`` reaches a remote source."""
        prepared = []

        class Remote:
            length = 2

            def prepare(self):
                prepared.append(True)
                return defer.succeed(None)

            def startProducing(self, consumer):
                consumer.write(unxor(b"kl"))
                return defer.succeed(None)

        first = transformed(Remote(), [unxor])
        self.successResultOf(first.prepare())
        self.assertEqual(prepared, [True])
        self.successResultOf(transformed(self.source(), [unxor]).prepare())
        chain = ChainedProducer([transformed(self.source(), [unxor]), first])
        consumer = FakeConsumer()
        d = chain.startProducing(consumer)
        run_clock(self.clock)
        self.successResultOf(d)
        self.assertEqual(consumer.data, b"abcdefghijkl")
