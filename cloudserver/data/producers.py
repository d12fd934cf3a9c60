# -*- test-case-name: tests.unit.test_data_producers -*-
"""Body producers shared by the data stores.

``BlockProducer`` streams a byte range of one stored blob in fixed-size
blocks and follows the consumer's backpressure; ``ChainedProducer`` plays
several producers back to back (a multipart object is a list of locations);
``BytesProducer`` hands over bytes already in memory; ``transformed`` puts
read-side stages (a decrypting one) between a stored piece and its
consumer, the mirror of the upload chain's transforms.

All follow IBodyProducer: ``startProducing`` returns a Deferred that fires
with None once every byte was written, fails if reading fails, and never
fires after ``stopProducing`` (the consumer that stopped us already knows).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from twisted.internet import defer
from twisted.internet.task import Cooperator, TaskStopped
from twisted.python.failure import Failure
from twisted.web.iweb import UNKNOWN_LENGTH, IBodyProducer
from zope.interface import implementer

#: Block size for reads.  Measured with a real reactor, a twisted.web GET of a
#: page-cached 1 GiB file and curl over loopback (2 cores): 64 KiB ~1.0 GB/s,
#: 128 KiB ~1.3 GB/s, 256 KiB ~1.6 GB/s, 1 MiB ~2.0 GB/s.  256 KiB is well past
#: the 500 MB/s goal while keeping a GET's own memory (one block plus the
#: transport's buffer) small.
DEFAULT_BLOCK_SIZE = 256 * 1024


class BlockSource(Protocol):
    """Where a BlockProducer reads from: sequential reads of one range.

    ``open`` may raise (KeyError for a blob that vanished), ``read(n)``
    returns the next at most ``n`` bytes (empty means the blob is shorter
    than promised), ``close`` releases whatever ``open`` took and may be
    called more than once.
    """

    def open(self) -> None: ...

    def read(self, size: int) -> bytes: ...

    def close(self) -> None: ...


class ShortRead(IOError):
    """The stored blob ended before the promised length: a damaged store."""


def check_range(size: int, offset: int, length: int) -> None:
    """Raise ValueError unless ``[offset, offset+length)`` lies inside a blob
    of ``size`` bytes; the S3 layer resolves Range before asking."""
    if offset < 0 or length < 0 or offset + length > size:
        raise ValueError(f"range {offset}+{length} outside a blob of {size} bytes")


_IDLE, _RUNNING, _DONE, _STOPPED = "idle", "running", "done", "stopped"


@implementer(IBodyProducer)
class BlockProducer:
    """Stream ``length`` bytes from a BlockSource, one block per step.

    With a ``cooperator`` each block is one step of a cooperative task, so
    concurrent GETs take turns and a pause removes the task from the
    schedule.  Without one, a push loop writes blocks until the consumer
    pauses and carries on from ``resumeProducing``; that suits sources that
    are already in memory and consumers (transports) that pause once their
    buffer fills.  Either way nothing is written while paused.
    """

    def __init__(self, source: BlockSource, length: int,
                 block_size: int = DEFAULT_BLOCK_SIZE,
                 cooperator: Cooperator | None = None):
        if length < 0 or block_size <= 0:
            raise ValueError("length must be >= 0 and block_size > 0")
        self.length = length
        self._source = source
        self._block_size = block_size
        self._cooperator = cooperator
        self._state = _IDLE
        self._paused = False
        self._pumping = False
        self._task = None
        self._steps: Iterator[None] | None = None
        self._done: defer.Deferred | None = None

    def startProducing(self, consumer) -> defer.Deferred:
        if self._state != _IDLE:
            raise RuntimeError("a producer can only be started once")
        self._state = _RUNNING
        self._done = defer.Deferred()
        try:
            self._source.open()
        except Exception:  # noqa: BLE001 - becomes the Failure/Deferred result
            self._state = _DONE
            return defer.fail()
        self._steps = self._write_blocks(consumer)
        if self._cooperator is not None:
            self._task = self._cooperator.cooperate(self._steps)
            self._task.whenDone().addCallbacks(self._finished, self._failed)
            if self._paused:
                self._task.pause()
        elif not self._paused:
            self._pump()
        return self._done

    def _write_blocks(self, consumer) -> Iterator[None]:
        # The last block ends the iterator in the same step that writes it,
        # so completion does not wait for a resume after the final write.
        remaining = self.length
        read, block_size = self._source.read, self._block_size
        while remaining > 0:
            block = read(min(block_size, remaining))
            if not block:
                raise ShortRead(f"{remaining} bytes missing from the stored blob")
            remaining -= len(block)
            consumer.write(block)
            if remaining > 0:
                yield None

    def _pump(self) -> None:
        # Push mode.  Re-entrant calls (a consumer resuming us from inside
        # write) just let the running loop continue.
        if self._pumping:
            return
        self._pumping = True
        try:
            while self._state == _RUNNING and not self._paused:
                try:
                    next(self._steps)
                except StopIteration:
                    self._finished(None)
                except Exception:  # noqa: BLE001 - becomes the Failure/Deferred result
                    self._failed(Failure())
        finally:
            self._pumping = False

    def _finished(self, _ignored) -> None:
        if self._state != _RUNNING:
            return
        self._state = _DONE
        self._source.close()
        self._done.callback(None)

    def _failed(self, failure: Failure) -> None:
        if failure.check(TaskStopped) or self._state != _RUNNING:
            return
        self._state = _DONE
        self._source.close()
        self._done.errback(failure)

    def pauseProducing(self) -> None:
        if self._paused or self._state in (_DONE, _STOPPED):
            return
        self._paused = True
        if self._task is not None:
            self._task.pause()

    def resumeProducing(self) -> None:
        if not self._paused or self._state in (_DONE, _STOPPED):
            return
        self._paused = False
        if self._task is not None:
            self._task.resume()
        elif self._state == _RUNNING:
            self._pump()

    def stopProducing(self) -> None:
        """Stop now; the startProducing Deferred will never fire."""
        if self._state in (_DONE, _STOPPED):
            return
        started = self._state == _RUNNING
        self._state = _STOPPED
        if self._task is not None:
            self._task.stop()
        if started:
            self._source.close()


@implementer(IBodyProducer)
class ChainedProducer:
    """Play several producers one after the other into the same consumer.

    Pause, resume and stop go to the producer currently playing.  A pause
    that arrives as one producer ends is remembered, and the next one is
    started only after the matching resume.  The first failure stops the
    chain and fails the Deferred; later producers are never started (a
    BlockProducer holds no resources until started).
    """

    def __init__(self, producers: Sequence):
        self._producers = list(producers)
        lengths = [p.length for p in self._producers]
        if any(n is UNKNOWN_LENGTH for n in lengths):
            self.length = UNKNOWN_LENGTH
        else:
            self.length = sum(lengths)
        self._index = -1
        self._current = None
        self._consumer = None
        self._paused = False
        self._stopped = False
        self._done: defer.Deferred | None = None
        self._pending_start = False
        self._starting = False
        self._finished_early = False

    def startProducing(self, consumer) -> defer.Deferred:
        if self._done is not None:
            raise RuntimeError("a producer can only be started once")
        self._consumer = consumer
        self._done = defer.Deferred()
        self._next()
        return self._done

    def _next(self) -> None:
        # A loop, not recursion: producers that finish synchronously (push
        # mode into a consumer that never pauses, empty parts) would
        # otherwise nest one stack frame per part.
        while not self._stopped:
            if self._paused:
                self._pending_start = True
                return
            self._index += 1
            if self._index >= len(self._producers):
                self._current = None
                self._done.callback(None)
                return
            self._current = self._producers[self._index]
            self._starting, self._finished_early = True, False
            try:
                d = self._current.startProducing(self._consumer)
            except Exception:  # noqa: BLE001 - becomes the Failure/Deferred result
                d = defer.fail()
            d.addCallbacks(self._part_done, self._failed)
            self._starting = False
            if not self._finished_early:
                return

    def _part_done(self, _ignored) -> None:
        if self._starting:
            self._finished_early = True
        else:
            self._next()

    def _failed(self, failure: Failure) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._current = None
        self._done.errback(failure)

    def pauseProducing(self) -> None:
        if self._paused or self._stopped:
            return
        self._paused = True
        if self._current is not None:
            self._current.pauseProducing()

    def resumeProducing(self) -> None:
        if not self._paused or self._stopped:
            return
        self._paused = False
        if self._pending_start:
            self._pending_start = False
            self._next()
        elif self._current is not None:
            self._current.resumeProducing()

    def stopProducing(self) -> None:
        """Stop the playing producer; the chain's Deferred never fires."""
        if self._stopped:
            return
        self._stopped = True
        current, self._current = self._current, None
        if current is not None:
            current.stopProducing()


@implementer(IBodyProducer)
class BytesProducer:
    """Bytes already in memory: a small request body, an inline object."""

    def __init__(self, data: bytes):
        #: the bytes: a response may send them as its body, without streaming
        self.data = data
        self.length = len(data)

    def startProducing(self, consumer) -> defer.Deferred:
        consumer.write(self.data)
        return defer.succeed(None)

    def pauseProducing(self) -> None:
        pass

    def resumeProducing(self) -> None:
        pass

    def stopProducing(self) -> None:
        pass


class _TransformingConsumer:
    """What a transformed source writes to: each block goes through the
    stages, in order, on to the real consumer."""

    __slots__ = ("_consumer", "_transforms")

    def __init__(self, consumer, transforms: tuple):
        self._consumer = consumer
        self._transforms = transforms

    def write(self, data) -> None:
        for transform in self._transforms:
            data = transform(data)
        self._consumer.write(data)

    def registerProducer(self, producer, streaming) -> None:
        self._consumer.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        self._consumer.unregisterProducer()


@implementer(IBodyProducer)
class TransformingProducer:
    """``source``'s bytes through ``transforms`` (each ``bytes -> bytes``,
    run on the reactor, in order, one block at a time).

    Stages keep the length (as AES-CTR does), so ``length`` is the
    source's; pause, resume and stop go to the source, and so does
    ``prepare`` (a remote source's early answer)."""

    def __init__(self, source, transforms: Sequence[Callable[[object], bytes]]):
        self.source = source
        self.length = source.length
        self._transforms = tuple(transforms)

    def prepare(self) -> defer.Deferred:
        prepare = getattr(self.source, "prepare", None)
        return prepare() if prepare is not None else defer.succeed(None)

    def apply(self, data: bytes) -> bytes:
        """``data`` through the transforms at once (a source already in
        memory: an inline object)."""
        for transform in self._transforms:
            data = transform(data)
        return data

    def startProducing(self, consumer) -> defer.Deferred:
        return self.source.startProducing(_TransformingConsumer(consumer, self._transforms))

    def pauseProducing(self) -> None:
        self.source.pauseProducing()

    def resumeProducing(self) -> None:
        self.source.resumeProducing()

    def stopProducing(self) -> None:
        self.source.stopProducing()


def transformed(source, transforms: Sequence[Callable[[object], bytes]] = ()):
    """``source`` read through ``transforms``; ``source`` itself when there
    are none (what every read is until encryption: no cost)."""
    if not transforms:
        return source
    return TransformingProducer(source, transforms)
