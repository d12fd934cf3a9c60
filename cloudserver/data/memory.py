# -*- test-case-name: tests.unit.test_data_memory -*-
"""The memory data store: blobs in a dict, for tests and the ``mem`` backend.

It keeps the same contract as the file store (random hex keys, streaming
producers honouring backpressure, abort leaves nothing) so the S3 layer
cannot tell them apart.
"""
from __future__ import annotations

import secrets

from twisted.internet import defer
from twisted.internet.task import Cooperator
from zope.interface import implementer

from cloudserver.data.interfaces import IDataStore, IDataWriter
from cloudserver.data.producers import BlockProducer, check_range
from cloudserver.data.commit import run_before_commit

#: Memory blobs are already in memory; smaller blocks just mean fairer turns.
MEMORY_BLOCK_SIZE = 64 * 1024


class _BytesSource:
    """A BlockSource over a slice of an immutable bytes object."""

    __slots__ = ("_data", "_pos")

    def __init__(self, data: bytes, offset: int):
        self._data = data
        self._pos = offset

    def open(self) -> None:
        pass

    def read(self, size: int) -> bytes:
        block = self._data[self._pos:self._pos + size]
        self._pos += len(block)
        return block

    def close(self) -> None:
        pass


@implementer(IDataWriter)
class MemoryDataWriter:
    """Collects chunks; ``finish`` joins them once and publishes the blob."""

    def __init__(self, store: MemoryDataStore, key: str):
        self._store = store
        self.key = key
        self._chunks: list[bytes] = []
        self.size = 0
        self._state = "open"

    def write(self, data) -> None:
        if self._state != "open":
            if self._state == "aborted":
                raise defer.CancelledError("writer was aborted")
            raise RuntimeError("writer already finished")
        self._chunks.append(bytes(data))
        self.size += len(data)

    def finish(self, before_commit=None) -> defer.Deferred:
        """Publish the blob; ``before_commit`` runs first (IDataWriter.finish)."""
        if self._state != "open":
            return defer.fail(RuntimeError(f"cannot finish a writer that is {self._state}"))
        failed = run_before_commit(before_commit, self.abort)
        if failed is not None:
            return failed
        self._state = "finished"
        self._store._blobs[self.key] = b"".join(self._chunks)
        self._chunks = []
        return defer.succeed(self.key)

    def abort(self) -> defer.Deferred:
        """Drop the bytes; after ``finish`` this deletes the published blob."""
        if self._state == "finished":
            self._store._blobs.pop(self.key, None)
        self._state = "aborted"
        self._chunks = []
        return defer.succeed(None)


@implementer(IDataStore)
class MemoryDataStore:
    """Blobs keyed by ``secrets.token_hex(20)``, like the file store.

    Producers use ``cooperator`` when given, else one built on ``clock``
    (``clock.callLater(0, step)``), else a push loop driven by the
    consumer's pause/resume.
    """

    def __init__(self, clock=None, cooperator: Cooperator | None = None,
                 block_size: int = MEMORY_BLOCK_SIZE):
        self._own_cooperator = cooperator is None and clock is not None
        if self._own_cooperator:
            cooperator = Cooperator(scheduler=lambda step: clock.callLater(0, step))
        self._cooperator = cooperator
        self._block_size = block_size
        self._blobs: dict[str, bytes] = {}

    def create_writer(self) -> MemoryDataWriter:
        key = secrets.token_hex(20)
        while key in self._blobs:  # pragma: no cover - 160 random bits
            key = secrets.token_hex(20)
        return MemoryDataWriter(self, key)

    def producer(self, key: str, offset: int, length: int) -> BlockProducer:
        """Raises KeyError at once for a missing key, ValueError for a range
        outside the blob."""
        data = self._blobs[key]
        check_range(len(data), offset, length)
        return BlockProducer(_BytesSource(data, offset), length,
                             block_size=self._block_size, cooperator=self._cooperator)

    def delete(self, key: str) -> defer.Deferred:
        self._blobs.pop(key, None)
        return defer.succeed(None)

    def close(self) -> None:
        if self._own_cooperator:
            self._cooperator.stop()

    # Introspection for tests and the REST data server.
    def __contains__(self, key: str) -> bool:
        return key in self._blobs

    def __len__(self) -> int:
        return len(self._blobs)
