# -*- test-case-name: tests.unit.test_data_inline -*-
"""The data side of small objects stored inline in their metadata record.

An upload whose declared size is at most the configured
``inlineDataMaxSize`` is collected by an ``InlineWriter`` instead of going
to a data file; the object's ``location`` is one inline piece carrying the
bytes as base64 (``inline_piece``), and the metadata service stores them
in the record's own synced batch (cloudserver.metadata.inline).  Reading
such a piece needs no store: its bytes came with the record.
"""
from __future__ import annotations

import base64
import secrets

from twisted.internet import defer

from cloudserver.data.producers import BytesProducer
from cloudserver.data.commit import run_before_commit

#: Default inline limit (config.json ``inlineDataMaxSize``; 0 turns it off).
DEFAULT_MAX_SIZE = 64 * 1024


class InlineWriter:
    """An IDataWriter that keeps at most ``limit`` bytes in memory.

    ``finish`` fires with a new piece id; the bytes are in ``data``."""

    def __init__(self, limit: int):
        self._limit = limit
        self._chunks: list[bytes] = []
        self.size = 0
        self.data: bytes | None = None
        self._state = "open"

    def write(self, data) -> None:
        if self._state != "open":
            raise (defer.CancelledError() if self._state == "aborted"
                   else RuntimeError("write after finish"))
        self.size += len(data)
        if self.size > self._limit:
            # The caller checks the declared length; this is the memory bound.
            raise ValueError("inline upload larger than its declared size")
        self._chunks.append(bytes(data))
        return None

    def finish(self, before_commit=None) -> defer.Deferred:
        """Keep the bytes in ``data``; ``before_commit`` runs first."""
        if self._state == "aborted":
            return defer.fail(defer.CancelledError())
        failed = run_before_commit(before_commit, self.abort)
        if failed is not None:
            return failed
        self._state = "finished"
        self.data = b"".join(self._chunks)
        self._chunks = []
        return defer.succeed(secrets.token_hex(16))

    def abort(self) -> defer.Deferred:
        self._state = "aborted"
        self._chunks = []
        self.data = None
        return defer.succeed(None)


def inline_piece(data_id: str, data: bytes) -> dict:
    """The location piece of an inline object, bytes included."""
    return {"inline": 1, "key": data_id, "start": 0, "size": len(data),
            "data": base64.b64encode(data).decode("ascii")}


def is_inline(piece: dict) -> bool:
    return bool(piece.get("inline"))


def producer(piece: dict, offset: int, length: int) -> BytesProducer:
    """``length`` bytes from ``offset`` of an inline piece.

    KeyError when the record came without its bytes (they were deleted
    meanwhile), as a local store does for a missing blob; ValueError for a
    range outside the piece."""
    text = piece.get("data")
    if text is None:
        raise KeyError(piece.get("key"))
    if offset < 0 or length < 0 or offset + length > piece["size"]:
        raise ValueError("range outside the inline piece")
    raw = base64.b64decode(text)
    if offset == 0 and length == len(raw):
        return BytesProducer(raw)
    return BytesProducer(raw[offset:offset + length])
