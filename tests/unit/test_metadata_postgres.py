"""Tests for cloudserver.metadata.postgres_kv / postgres_sql against a real
PostgreSQL (tests/postgres_server.py): the KV contract every IOrderedKV
passes, the service, versioning and usage mixins over it, and the lease.

Skipped only when the PostgreSQL binaries or psycopg are absent (CI
installs both: .ci/apt-packages, the test extra)."""
from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import SkipTest, SynchronousTestCase

from cloudserver.metadata.errors import MetadataUnavailable
from tests import postgres_server
from tests.unit.test_metadata_kv import HeldThreads, KVTestsMixin, inline_thread
from tests.unit.test_metadata_service import ServiceTestsMixin
from tests.unit.test_metadata_usage import UsageTestsMixin
from tests.unit.test_metadata_versioning import VersioningTestsMixin

if not postgres_server.available():
    raise SkipTest("PostgreSQL (/usr/lib/postgresql/*/bin) or psycopg not installed")

from cloudserver.metadata.postgres_kv import PostgresKV  # noqa: E402
from cloudserver.metadata.postgres_sql import (LeaseHeld, LeaseLost,  # noqa: E402
                                               PostgresStore, final_state)


class PostgresFixture:
    """Makes stores and KVs on fresh tables of the process's server."""

    def make_store(self, table=None, owner="test-a", lease=30.0):
        server = postgres_server.shared_server()
        store = PostgresStore(server.dsn, table or self.table, owner, lease=lease, pool_size=2)
        self.addCleanup(store.close)
        return store

    def make_pg_kv(self, owner="test-a", threads=inline_thread, clock=None, lease=30.0,
                   on_lost=None):
        if not hasattr(self, "table"):
            self.table = postgres_server.fresh_table()
            self.addCleanup(self._drop)
        self.clock = clock if clock is not None else getattr(self, "clock", None) or Clock()
        kv = PostgresKV(self.make_store(owner=owner, lease=lease), threads,
                        self.clock.seconds, on_lost=on_lost)
        kv.open()
        self.addCleanup(kv.close)
        return kv

    def _drop(self):
        store = self.make_store(owner="dropper")
        store.drop()


class PostgresKVTests(PostgresFixture, KVTestsMixin, SynchronousTestCase):
    def make_kv(self):
        return self.make_pg_kv()

    def test_durable_across_reopen(self):
        """A new holder (after a clean close) loads what the first wrote."""
        self.put((b"a", b"1"), (b"b\x00\xff", b"2"))
        self.successResultOf(self.kv.close())
        kv = self.make_pg_kv(owner="test-b")
        self.assertEqual(list(kv.iterate()), [(b"a", b"1"), (b"b\x00\xff", b"2")])

    def test_load_pages(self):
        """More pairs than one page of the start-up load."""
        from cloudserver.metadata import postgres_sql

        self.patch(postgres_sql, "PAGE", 7)
        pairs = [(b"k%03d" % i, b"v") for i in range(30)]
        self.put(*pairs)
        self.successResultOf(self.kv.close())
        self.assertEqual(list(self.make_pg_kv(owner="test-b").iterate()), pairs)

    def test_write_after_close(self):
        from cloudserver.metadata.kv import KVClosed

        self.successResultOf(self.kv.close())
        self.failureResultOf(self.kv.write([(b"a", b"1")]), KVClosed)

    def test_visible_only_once_committed(self):
        """A batch reaches the cache when its transaction has committed."""
        threads = HeldThreads()
        self.successResultOf(self.kv.close())
        kv = self.make_pg_kv(owner="test-b", threads=threads)
        d = kv.write([(b"x", b"1")])
        self.assertIsNone(kv.get(b"x"))
        threads.release()
        self.successResultOf(d)
        self.assertEqual(kv.get(b"x"), b"1")

    def test_group_commit(self):
        """Writes queued behind a batch in flight go as one transaction."""
        self.successResultOf(self.kv.close())
        threads = HeldThreads()
        kv = self.make_pg_kv(owner="test-b", threads=threads)
        ds = [kv.write([(b"k%d" % i, b"v")]) for i in range(5)]
        self.assertEqual(threads.pending, 1)
        threads.release()
        self.assertEqual(threads.pending, 1)
        threads.release()
        for d in ds:
            self.successResultOf(d)
        self.assertEqual(kv.batches, 2)
        self.assertEqual(len(list(kv.iterate())), 5)

    def test_put_unsynced(self):
        self.kv.put_unsynced([(b"I\x00f", b"w")])
        self.assertEqual(self.kv.get(b"I\x00f"), b"w")
        self.kv.put_unsynced([], [b"I\x00f"])
        self.assertIsNone(self.kv.get(b"I\x00f"))
        store = self.make_store(owner="reader")
        self.assertEqual(sum(len(p) for p in store.load()), 0)


class FinalStateTests(SynchronousTestCase):
    def test_last_write_wins(self):
        batch = [([(b"a", b"1"), (b"b", b"1")], []), ([(b"a", b"2")], [b"b", b"c"]),
                 ([(b"c", b"3")], [b"c"])]
        puts, deletes = final_state(batch)
        self.assertEqual(sorted(puts), [(b"a", b"2"), (b"c", b"3")])
        self.assertEqual(deletes, [b"b"])


class LeaseTests(PostgresFixture, SynchronousTestCase):
    """One holder at a time; a holder that lost the lease can never commit."""

    def setUp(self):
        self.lost = []
        self.kv = self.make_pg_kv(on_lost=self.lost.append)

    def test_second_holder_refused(self):
        store = self.make_store(owner="test-b")
        self.assertRaises(LeaseHeld, store.acquire, 0)

    def test_released_on_close(self):
        self.successResultOf(self.kv.close())
        store = self.make_store(owner="test-b")
        store.acquire(0)
        self.assertEqual(store.holder(), "test-b")

    def test_expired_lease_taken_over_and_fenced(self):
        """Once a holder's lease has expired another takes it; the first's
        next write fails, it is lost, and it serves no more reads."""
        self.successResultOf(self.kv.write([(b"a", b"1")]))
        thief = self.make_store(owner="test-b")
        with thief.pool.connection() as conn:
            conn.execute(f"UPDATE {thief.lease_table} SET expires = now() - INTERVAL '1 second'")
        thief.acquire(0)
        f = self.failureResultOf(self.kv.write([(b"a", b"2")]), LeaseLost)
        self.assertEqual(self.lost, [f.value])
        self.assertRaises(MetadataUnavailable, self.kv.get, b"a")
        self.failureResultOf(self.kv.write([(b"b", b"1")]), MetadataUnavailable)
        self.assertEqual(dict(p for page in thief.load() for p in page), {b"a": b"1"})

    def test_heartbeat_renews(self):
        clock = self.clock
        kv2 = self.kv
        kv2.start(clock)
        store = self.make_store(owner="test-b")
        clock.advance(11)  # a third of the lease: one renewal
        self.assertRaises(LeaseHeld, store.acquire, 0)
        self.assertIsNone(kv2.get(b"x"))

    def test_heartbeat_notices_takeover(self):
        self.kv.start(self.clock)
        thief = self.make_store(owner="test-b")
        with thief.pool.connection() as conn:
            conn.execute(f"UPDATE {thief.lease_table} SET expires = now() - INTERVAL '1 second'")
        thief.acquire(0)
        self.clock.advance(10)
        self.assertEqual(len(self.lost), 1)
        self.assertIsInstance(self.lost[0], LeaseLost)

    def test_reads_refused_when_lease_may_have_run_out(self):
        """Without a renewal for a whole lease, reads fail (another holder
        may be writing); a later renewal with the same epoch resumes them."""
        self.clock.advance(31)
        self.assertRaises(MetadataUnavailable, self.kv.get, b"a")
        self.assertRaises(MetadataUnavailable, self.kv.iterate)
        self.kv.start(self.clock)
        self.clock.advance(10)
        self.assertIsNone(self.kv.get(b"a"))
        self.assertEqual(self.lost, [])

    def test_commit_outcome_read_back(self):
        """The seq of the last committed batch tells a lost COMMIT answer."""
        self.successResultOf(self.kv.write([(b"a", b"1")]))
        store = self.kv.store
        self.assertIsNone(store._resolve(store.seq))
        self.assertRaises(MetadataUnavailable, store._resolve, store.seq + 1)

    def test_serialization_failure_retried(self):
        import psycopg

        store = self.kv.store
        real, calls = store._transaction, []

        def flaky(*args):
            calls.append(args)
            if len(calls) < 3:
                raise psycopg.errors.SerializationFailure("conflict")
            return real(*args)

        self.patch(store, "_transaction", flaky)
        self.patch(store, "_sleep", lambda s: None)
        self.successResultOf(self.kv.write([(b"a", b"1")]))
        self.assertEqual(len(calls), 3)
        self.assertEqual(self.kv.get(b"a"), b"1")

    def test_database_down_is_unavailable(self):
        store = self.kv.store

        def down(*args):
            import psycopg

            raise psycopg.OperationalError("connection refused")

        self.patch(store, "_transaction", down)
        self.failureResultOf(self.kv.write([(b"a", b"1")]), MetadataUnavailable)
        self.assertEqual(self.lost, [])
        self.assertIsNone(self.kv.get(b"a"))


class PostgresServiceTests(PostgresFixture, ServiceTestsMixin, SynchronousTestCase):
    def make_kv(self):
        return self.make_pg_kv()


class PostgresVersioningTests(PostgresFixture, VersioningTestsMixin, SynchronousTestCase):
    def make_kv(self):
        return self.make_pg_kv(clock=Clock())


class PostgresUsageTests(PostgresFixture, UsageTestsMixin, SynchronousTestCase):
    def make_kv(self):
        return self.make_pg_kv()



class StartUpTests(PostgresFixture, SynchronousTestCase):
    def test_reads_before_the_reactor_runs_renew(self):
        """A slow start-up (services reading the KV before the reactor runs)
        renews the lease instead of failing its reads."""
        from twisted.internet.testing import MemoryReactorClock

        reactor = MemoryReactorClock()
        kv = self.make_pg_kv(clock=reactor)
        kv.start(reactor)
        reactor.advance(31)  # longer than the lease, the reactor not running
        self.assertIsNone(kv.get(b"a"))
        reactor.running = True
        for f, args, kwargs in reactor.whenRunningHooks:
            f(*args, **kwargs)
        kv._heartbeat.stop()  # once running, only the heartbeat renews
        reactor.advance(31)
        self.assertRaises(MetadataUnavailable, kv.get, b"a")
