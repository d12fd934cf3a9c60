# -*- test-case-name: tests.unit.test_lifecycle_executor -*-
"""A lifecycle transition: move a version's data to another location.

The StorageClass of a Transition names a location of locationConfig.json
(an aws_s3 or azure one as a cold tier, or a local one).  The move keeps
the object readable throughout: each piece is copied to the new location
(bytes as stored: an encrypted piece keeps its cipher record), then the
version's record is rewritten in place with the new pieces and
``storage-class`` = the location's name, and only after that record is
durable is the old data freed.  If the version changed meanwhile (a write,
a delete, a tag update racing the copy), the new copy is removed and the
old record left alone: the next walk decides again.
"""
from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer
from twisted.internet.interfaces import IConsumer

from cloudserver.data.write_context import WriteContext
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.metadata.schema import PieceRecord as Piece

log = Logger(namespace="cloudserver.lifecycle")

#: Piece fields that describe the bytes (kept) rather than where they are.
KEPT_FIELDS = (Piece.CIPHER,)


@implementer(IConsumer)
class _WriterConsumer:
    """Feeds a producer's bytes to an IDataWriter, pausing the producer
    while the writer asks to wait (backpressure end to end)."""

    def __init__(self, writer: Any):
        self.writer = writer
        self.producer = None
        self.failed: Exception | None = None

    def registerProducer(self, producer, streaming):
        self.producer = producer

    def unregisterProducer(self):
        self.producer = None

    def write(self, data: bytes) -> None:
        wait = self.writer.write(data)
        if wait is not None and self.producer is not None:
            self.producer.pauseProducing()
            wait.addCallbacks(self._resume, self._fail)

    def _resume(self, _):
        if self.producer is not None:
            self.producer.resumeProducing()

    def _fail(self, failure):
        self.failed = failure.value
        if self.producer is not None:
            self.producer.stopProducing()


def _context(bucket: str, record: dict, size: int) -> WriteContext:
    return WriteContext(bucket=bucket, key=record.get(Obj.KEY, ""), size=size,
                        content_type=record.get(Obj.CONTENT_TYPE),
                        metadata=record.get(Obj.METADATA) or {},
                        headers=record.get(Obj.HEADERS) or {})


async def stream_into(make_producer: Any, writer: Any) -> Any:
    """Play the producer ``make_producer()`` gives into ``writer`` with
    backpressure and finish it (its data key); on any failure the writer
    is aborted."""
    try:
        producer = await defer.maybeDeferred(make_producer)
        prepare = getattr(producer, "prepare", None)
        if prepare is not None:
            await defer.maybeDeferred(prepare)
        consumer = _WriterConsumer(writer)
        await producer.startProducing(consumer)
        if consumer.failed is not None:
            raise consumer.failed
        return await writer.finish()
    except BaseException:
        await defer.maybeDeferred(writer.abort)
        raise


async def copy_piece(locations: Any, target: str, bucket: str, record: dict,
                     piece: dict) -> dict:
    """A copy of ``piece`` in ``target``: its new piece record."""
    size = piece[Piece.SIZE]
    writer = locations.create_writer(target, _context(bucket, record, size))
    key = await stream_into(lambda: locations.producer(piece, 0, size), writer)
    extra = {f: piece[f] for f in KEPT_FIELDS if f in piece}
    return locations.piece(target, key, piece[Piece.START], size, **extra)


def movable(record: dict) -> bool:
    """Pieces we can move one by one: not the shared blob of an encrypted
    remote multipart object, not parts still staged in a remote upload, not
    bytes kept inline in the record (small objects stay with their metadata:
    an in-place version update would not free inline bytes)."""
    return not any(p.get(Piece.REMOTE_PART) or p.get(Piece.BLOB_START) or p.get(Piece.INLINE)
                   for p in record.get(Obj.LOCATION) or ())


async def transition(executor: Any, bucket: str, action: Any) -> bool:
    """Move one version (``action``: decide.Action TRANSITION); True when done."""
    record = await executor._unchanged(bucket, action)
    if record is None:
        return False
    if not movable(record):
        log.warn("lifecycle: {bucket}/{key} is inline or a remote multipart object, not moved",
                 bucket=bucket, key=action.key)
        return False
    locations = executor.locations
    new_pieces: list[dict] = []
    try:
        for piece in record.get(Obj.LOCATION) or ():
            new_pieces.append(await copy_piece(locations, action.storage_class, bucket,
                                               record, piece))
    except BaseException:
        await executor._free(new_pieces)
        raise
    if await executor._unchanged(bucket, action) is None:
        await executor._free(new_pieces)  # written or deleted meanwhile
        return False
    moved = {**record, Obj.LOCATION: new_pieces, Obj.STORAGE_CLASS: action.storage_class}
    options = None
    if record.get(Obj.VERSION_ID):
        options = {"versionId": record[Obj.VERSION_ID]}
    try:
        await executor.metadata.put_object(bucket, action.key, moved, options)
    except BaseException:
        await executor._free(new_pieces)
        raise
    await executor._free(record.get(Obj.LOCATION) or [])
    return True
