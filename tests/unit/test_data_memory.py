# -*- test-case-name: tests.unit.test_data_memory -*-
"""The memory data store against the shared data-store contract."""
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.data.memory import MemoryDataStore
from tests.unit.test_data_mixin import (
    DATA,
    DataStoreContractMixin,
    FakeConsumer,
    clock_cooperator,
    run_clock,
)


class PushModeTests(DataStoreContractMixin, SynchronousTestCase):
    """No clock, no cooperator: producers push until the consumer pauses."""

    def setUp(self):
        self.store = MemoryDataStore(block_size=4096)

    def drive(self):
        pass

    def assertNoData(self):
        self.assertEqual(len(self.store), 0)

    def test_finish_publishes_only_then(self):
        writer = self.store.create_writer()
        writer.write(b"abc")
        self.assertNotIn(writer.key, self.store)
        self.assertEqual(self.successResultOf(writer.finish()), writer.key)
        self.assertIn(writer.key, self.store)

    def test_resume_from_inside_write(self):
        """A consumer that pauses and resumes within write does not nest."""
        key = self.put()
        producer = self.store.producer(key, 0, len(DATA))

        class Bouncy(FakeConsumer):
            def write(self, data):
                super().write(data)
                producer.pauseProducing()
                producer.resumeProducing()

        consumer = Bouncy()
        d = producer.startProducing(consumer)
        self.assertIsNone(self.successResultOf(d))
        self.assertEqual(consumer.data, DATA)


class ClockCooperatorTests(DataStoreContractMixin, SynchronousTestCase):
    """A cooperator on an injected clock: one block per step."""

    def setUp(self):
        self.clock, cooperator = clock_cooperator()
        self.store = MemoryDataStore(cooperator=cooperator, block_size=4096)

    def drive(self):
        run_clock(self.clock)

    def assertNoData(self):
        self.assertEqual(len(self.store), 0)

    def test_one_block_per_step(self):
        key = self.put()
        producer = self.store.producer(key, 0, 3 * 4096)
        consumer = FakeConsumer()
        d = producer.startProducing(consumer)
        self.assertEqual(len(consumer.chunks), 0)
        calls = self.clock.getDelayedCalls()
        self.assertEqual(len(calls), 1)
        run_clock(self.clock)
        self.assertEqual([len(c) for c in consumer.chunks], [4096] * 3)
        self.successResultOf(d)


class ClockArgumentTests(DataStoreContractMixin, SynchronousTestCase):
    """MemoryDataStore(clock=...) builds its own cooperator on that clock."""

    def setUp(self):
        from twisted.internet.task import Clock
        self.clock = Clock()
        self.store = MemoryDataStore(clock=self.clock, block_size=4096)

    def drive(self):
        run_clock(self.clock)

    def assertNoData(self):
        self.assertEqual(len(self.store), 0)
