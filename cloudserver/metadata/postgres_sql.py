# -*- test-case-name: tests.unit.test_metadata_postgres -*-
"""The SQL of the postgres metadata backend; every method blocks, so it
runs in the thread pool (or at start-up, before the reactor runs).

Two tables, in SQL that PostgreSQL, CockroachDB and YugabyteDB all accept
(no PostgreSQL-only types, no stored procedures, no advisory locks):

    <t>       (k BYTEA PRIMARY KEY, v BYTEA NOT NULL)   the ordered KV
    <t>_lease (id INT PRIMARY KEY, owner TEXT, epoch BIGINT, seq BIGINT,
               expires TIMESTAMPTZ)                     one row: the writer

BYTEA compares bytewise (memcmp, no collation) on all three, so ``ORDER
BY k`` is the byte order LevelDB keeps.  One process at a time holds the
lease (``owner``, ``epoch``); every batch is one transaction whose first
statement renews the lease *only if it is still ours* and records the
batch's ``seq``: a process that lost its lease can never commit, and the
outcome of a COMMIT whose answer was lost is read back from ``seq``.
Serialization failures (SQLSTATE 40001, and 40P01) are retried.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from cloudserver.metadata.errors import MetadataUnavailable

Pair = tuple[bytes, bytes]
Ops = tuple[list[Pair], list[bytes]]
TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")
#: Attempts of a transaction that meets serialization failures.
RETRIES = 8
#: Pairs read per query when the cache is loaded.
PAGE = 5000


class LeaseLost(MetadataUnavailable):
    """Another process holds the metadata lease now: this one must stop."""


class LeaseHeld(MetadataUnavailable):
    """The lease is another live process's (start-up)."""


def final_state(batch: list[Ops]) -> tuple[list[Pair], list[bytes]]:
    """The batch's (puts, deletes) with each key once: the last op wins,
    deletes before puts within one write (IOrderedKV's ordering)."""
    state: dict[bytes, bytes | None] = {}
    for puts, deletes in batch:
        for k in deletes:
            state[k] = None
        for k, v in puts:
            state[k] = v
    puts = [(k, v) for k, v in state.items() if v is not None]
    return puts, [k for k, v in state.items() if v is None]


class PostgresStore:
    """The database side: a psycopg_pool.ConnectionPool and the statements.

    ``owner`` names this process in the lease row (host, pid, boot);
    ``lease`` is its length in seconds; ``sleep`` is injected for tests.
    """

    def __init__(self, dsn: str, table: str, owner: str, lease: float = 10.0,
                 pool_size: int = 4, sleep: Callable[[float], None] = time.sleep,
                 connect_timeout: float = 5.0):
        import psycopg  # imported here: only the postgres backend needs it
        from psycopg_pool import ConnectionPool

        if not TABLE_NAME.match(table):
            raise ValueError(f"table name {table!r} must match {TABLE_NAME.pattern}")
        self._psycopg = psycopg
        #: a transaction the server rolled back, to run again (SQLSTATE 40xxx)
        self._retryable = (psycopg.errors.TransactionRollback,
                           psycopg.errors.SerializationFailure,
                           psycopg.errors.DeadlockDetected)
        self.table, self.lease_table = table, f"{table}_lease"
        self.owner, self.lease = owner, float(lease)
        self.epoch = 0
        self.seq = 0
        self._sleep = sleep
        self.pool = ConnectionPool(dsn, min_size=1, max_size=max(2, pool_size), open=False,
                                   kwargs={"autocommit": True,
                                           "connect_timeout": max(1, int(connect_timeout)),
                                           "application_name": "cloudserver",
                                           # a database host gone silent is noticed in
                                           # seconds, not at the kernel's 2 hours
                                           "keepalives": 1, "keepalives_idle": 5,
                                           "keepalives_interval": 2, "keepalives_count": 3},
                                   timeout=connect_timeout)
        try:
            self.pool.open(wait=True, timeout=connect_timeout)
        except psycopg.OperationalError as e:  # PoolTimeout: nothing answered
            self.pool.close()
            raise MetadataUnavailable(f"metadata database unreachable: {e}") from None

    def close(self) -> None:
        self.pool.close()

    # -- schema and lease ---------------------------------------------------

    def create_schema(self) -> None:
        statements = (
            f"CREATE TABLE IF NOT EXISTS {self.table} "
            "(k BYTEA PRIMARY KEY, v BYTEA NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.lease_table} (id INT PRIMARY KEY, "
            "owner TEXT NOT NULL, epoch BIGINT NOT NULL, seq BIGINT NOT NULL, "
            "expires TIMESTAMPTZ NOT NULL)",
            f"INSERT INTO {self.lease_table} (id, owner, epoch, seq, expires) "
            "VALUES (1, '', 0, 0, now()) ON CONFLICT (id) DO NOTHING",
        )
        for _ in range(3):
            try:
                with self.pool.connection() as conn:
                    for sql in statements:
                        conn.execute(sql)
                return
            except self._psycopg.errors.UniqueViolation:
                continue  # two processes created the same table at once

    def try_acquire(self) -> bool:
        """Take the lease if it is free, expired or already ours."""
        with self.pool.connection() as conn:
            row = conn.execute(
                f"UPDATE {self.lease_table} SET owner = %s, epoch = epoch + 1, seq = 0, "
                "expires = now() + INTERVAL '1 second' * %s "
                "WHERE id = 1 AND (owner = '' OR owner = %s OR expires < now()) "
                "RETURNING epoch", (self.owner, self.lease, self.owner)).fetchone()
        if row is None:
            return False
        self.epoch, self.seq = row[0], 0
        return True

    def acquire(self, wait: float) -> None:
        """Take the lease, waiting up to ``wait`` seconds for a holder's
        lease to expire (a crashed process's); LeaseHeld otherwise."""
        deadline = time.monotonic() + wait
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                raise LeaseHeld(f"the metadata lease of {self.table} is held by "
                                f"{self.holder()!r}")
            self._sleep(min(0.5, max(0.05, self.lease / 10)))

    def holder(self) -> str:
        with self.pool.connection() as conn:
            row = conn.execute(f"SELECT owner FROM {self.lease_table} WHERE id = 1").fetchone()
        return row[0] if row else ""

    def renew(self) -> None:
        """Extend our lease; LeaseLost when it is no longer ours."""
        with self.pool.connection() as conn:
            cur = conn.execute(
                f"UPDATE {self.lease_table} SET expires = now() + INTERVAL '1 second' * %s "
                "WHERE id = 1 AND owner = %s AND epoch = %s", (self.lease, self.owner, self.epoch))
            if cur.rowcount != 1:
                raise LeaseLost(f"the metadata lease of {self.table} was taken over")

    def release(self) -> None:
        with self.pool.connection() as conn:
            conn.execute(f"UPDATE {self.lease_table} SET owner = '', expires = now() "
                         "WHERE id = 1 AND owner = %s AND epoch = %s", (self.owner, self.epoch))

    # -- data ---------------------------------------------------------------

    def load(self) -> Iterator[list[Pair]]:
        """Every pair in key order, a page at a time (keyset pagination)."""
        after = None
        while True:
            with self.pool.connection() as conn:
                if after is None:
                    rows = conn.execute(f"SELECT k, v FROM {self.table} ORDER BY k LIMIT %s",
                                        (PAGE,)).fetchall()
                else:
                    rows = conn.execute(f"SELECT k, v FROM {self.table} WHERE k > %s "
                                        "ORDER BY k LIMIT %s", (after, PAGE)).fetchall()
            if not rows:
                return
            yield [(bytes(k), bytes(v)) for k, v in rows]
            if len(rows) < PAGE:
                return
            after = rows[-1][0]

    def write_batch(self, batch: list[Ops]) -> None:
        """One transaction: fence (and renew) the lease, delete, upsert."""
        puts, deletes = final_state(batch)
        self.seq += 1
        for attempt in range(RETRIES):
            try:
                return self._transaction(puts, deletes, self.seq)
            except self._retryable:  # 40001, 40P01
                if attempt == RETRIES - 1:
                    raise MetadataUnavailable("metadata transaction kept conflicting")
                self._sleep(0.002 * 2 ** attempt)
            except self._psycopg.OperationalError as e:
                raise MetadataUnavailable(f"metadata database: {e}") from None

    def _transaction(self, puts: list[Pair], deletes: list[bytes], seq: int) -> None:
        with self.pool.connection() as conn:
            try:
                # One round trip for everything but the COMMIT (pipeline
                # mode); the fence's row count is checked before committing.
                with conn.pipeline():
                    conn.execute("BEGIN")
                    cur = conn.execute(
                        f"UPDATE {self.lease_table} SET seq = %s, "
                        "expires = now() + INTERVAL '1 second' * %s "
                        "WHERE id = 1 AND owner = %s AND epoch = %s",
                        (seq, self.lease, self.owner, self.epoch))
                    self._apply(conn, puts, deletes)
                if cur.rowcount != 1:
                    raise LeaseLost(f"the metadata lease of {self.table} was taken over")
            except BaseException:
                self._rollback(conn)
                raise
            try:
                conn.execute("COMMIT")
            except self._retryable:
                raise  # refused at commit (CockroachDB): nothing applied, retried
            except self._psycopg.OperationalError:
                self._resolve(seq)

    def _apply(self, conn: Any, puts: list[Pair], deletes: list[bytes]) -> None:
        if deletes:
            conn.execute(f"DELETE FROM {self.table} WHERE k = ANY(%s)", (deletes,))
        if puts:
            with conn.cursor() as cur:
                cur.executemany(f"INSERT INTO {self.table} (k, v) VALUES (%s, %s) "
                                "ON CONFLICT (k) DO UPDATE SET v = excluded.v", puts)

    def _rollback(self, conn: Any) -> None:
        try:
            conn.execute("ROLLBACK")
        except self._psycopg.Error:
            pass  # the connection is gone: the server rolled back

    def _resolve(self, seq: int) -> None:
        """The COMMIT's answer was lost: did it happen?  Asks again until the
        lease runs out (then nobody can tell: LeaseLost, the process stops)."""
        deadline = time.monotonic() + self.lease
        while time.monotonic() < deadline:
            try:
                with self.pool.connection() as conn:
                    row = conn.execute(f"SELECT owner, epoch, seq FROM {self.lease_table} "
                                       "WHERE id = 1").fetchone()
            except self._psycopg.OperationalError:
                self._sleep(0.2)
                continue
            if row is None or (row[0], row[1]) != (self.owner, self.epoch):
                break
            if row[2] == seq:
                return
            raise MetadataUnavailable("metadata transaction did not commit")
        raise LeaseLost("the outcome of a metadata commit is unknown")

    def put_now(self, puts: list[Pair], deletes: list[bytes]) -> None:
        """Apply at once in autocommit, unfenced (the data intents)."""
        try:
            with self.pool.connection() as conn:
                with conn.transaction():
                    self._apply(conn, puts, deletes)
        except self._psycopg.OperationalError as e:
            raise MetadataUnavailable(f"metadata database: {e}") from None

    def drop(self) -> None:
        """Remove both tables (tests)."""
        with self.pool.connection() as conn:
            conn.execute(f"DROP TABLE IF EXISTS {self.table}")
            conn.execute(f"DROP TABLE IF EXISTS {self.lease_table}")

