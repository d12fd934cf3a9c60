# -*- test-case-name: tests.unit.test_durable_queue -*-
"""A durable FIFO queue inside the metadata KV.

Entries live under their own prefix, keyed by a sortable sequence so that a
range scan yields them in order::

    prefix + b"\\x00" + <16-digit due time, ms> + <8-digit sequence> -> JSON item

An entry is added by putting ``entry(item)`` into the batch that makes it
necessary (write_hooks), so it is exactly as durable as that write.  The
consumer reads ``due(now)``, does the work, then ``ack``s the entry (one
delete) or ``retry``s it (delete + put with a later due time, one batch).
A crash between work and ack repeats the work: delivery is at-least-once.
"""
from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from twisted.internet import defer

from cloudserver.metadata import keys
from cloudserver.metadata.interfaces import IOrderedKV

#: Entry format version, stored in each item as "qv".
QUEUE_FORMAT = 1
_SEQ_MOD = 10 ** 8


class DurableQueue:
    """Entries of one consumer under ``prefix`` (e.g. b"R" for replication)."""

    def __init__(self, kv: IOrderedKV, prefix: bytes, clock: Callable[[], float]):
        if b"\x00" in prefix or not prefix:
            raise ValueError("a queue prefix is a non-empty name without NUL")
        self.kv = kv
        self.base = prefix + b"\x00"
        self._clock = clock
        # A random start: an entry of this process never takes the key of one
        # an earlier process left due in the same millisecond.
        self._seq = secrets.randbelow(_SEQ_MOD)

    def _key(self, due: float) -> bytes:
        self._seq = (self._seq + 1) % _SEQ_MOD
        return self.base + b"%016d%08d" % (int(due * 1000), self._seq)

    def entry(self, item: dict[str, Any], due: float | None = None) -> tuple[bytes, bytes]:
        """The (key, value) put that enqueues ``item`` (a JSON object)."""
        body = {**item, "qv": QUEUE_FORMAT}
        return self._key(self._clock() if due is None else due), json.dumps(
            body, separators=(",", ":")).encode("utf-8")

    def put(self, item: dict[str, Any], due: float | None = None) -> defer.Deferred:
        """Enqueue ``item`` in a batch of its own."""
        return self.kv.write([self.entry(item, due)])

    def due(self, now: float | None = None, limit: int = 100) -> list[tuple[bytes, dict]]:
        """Up to ``limit`` entries whose due time has come, oldest first."""
        now = self._clock() if now is None else now
        upto = self.base + b"%016d" % (int(now * 1000) + 1)
        out = []
        for k, v in self.kv.iterate(gte=self.base, lt=upto):
            out.append((k, json.loads(v)))
            if len(out) >= limit:
                break
        return out

    def next_due(self) -> float | None:
        """The due time (seconds) of the first entry, None when empty."""
        for k, _ in self.kv.iterate(gte=self.base, lt=keys.successor(self.base)):
            return int(k[len(self.base):len(self.base) + 16]) / 1000.0
        return None

    def __len__(self) -> int:
        return sum(1 for _ in self.kv.iterate(gte=self.base, lt=keys.successor(self.base)))

    def ack(self, entry_keys: Iterable[bytes]) -> defer.Deferred:
        """Remove done entries (one batch)."""
        return self.kv.write([], list(entry_keys))

    def retry(self, entry_key: bytes, item: dict[str, Any], due: float) -> defer.Deferred:
        """Move an entry to ``due`` (with its updated ``item``), one batch."""
        return self.kv.write([self.entry(item, due)], [entry_key])


class NextLook:
    """When a queue's consumer looks next: one pending call of ``look`` on
    ``clock``, the earliest asked for (a later request keeps it)."""

    def __init__(self, clock: Any, look: Callable[[], None]):
        self.clock = clock
        self._look = look
        self._call: Any = None

    def at(self, delay: float) -> None:
        when = self.clock.seconds() + delay
        if self._call is not None and self._call.active():
            if self._call.getTime() <= when:
                return
            self._call.cancel()
        self._call = self.clock.callLater(max(0.0, delay), self._fire)

    def cancel(self) -> None:
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None

    def _fire(self) -> None:
        self._call = None
        self._look()
