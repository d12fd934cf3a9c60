# -*- test-case-name: tests.unit.test_data_file,tests.unit.test_data_file_writer -*-
"""Writing one blob of the file data store without blocking the reactor.

Bytes arriving on the reactor thread are gathered in a buffer; once it holds
``flush_size`` bytes it is handed to the thread pool for one ``os.writev``.
Only one file operation is in flight at a time (open, a flush, the final
write + fdatasync + close, or the clean-up), which keeps the file offset
trivially ordered.  While an operation is in flight the buffer keeps
filling; past ``high_water`` bytes ``write`` returns a Deferred, the
backpressure signal, that fires once the in-flight operation is done and
the buffer has been handed on.

The buffer is a list of the caller's pieces, not one bytearray: a large
upload arrives as immutable ``bytes`` from the socket (or memoryviews of
them from the aws-chunked decoder), and keeping references instead of
copying saves a copy and the page faults of a freshly grown buffer per
flush.  Small pieces and mutable ones are copied (into a bytearray tail),
so a flush has few pieces and a caller may reuse its buffer once ``write``
returned.  Memory per writer: up to two flushes (one being written, the one
before it perhaps still being hashed) and ``high_water`` buffered bytes,
each at most twice its size in kept buffers (a kept memoryview covers at
least half of its bytes object), plus one incoming piece.

Digests in the I/O thread.  ``digest_with(update)`` (IDigestingWriter)
hands the writer the body's digests: pool threads feed every piece to
``update``, in order, never two calls at once.  hashlib, zlib and awscrt
release the GIL on large buffers, so the MD5 of the ETag and the
x-amz-checksum-* run beside the reactor instead of on it, and a large PUT
costs the reactor thread little more than its socket reads.  From the first
big flush on, flushes are hashed by a digest stream (one pool job that
takes flush after flush) while the writes go on beside it: MD5 is the
slower half (~1.6 ms per MiB against ~0.4 ms for the write), so the stream
gets the next flush queued while it hashes one, and the digests may lag the
writes by one flush.  The digests are complete when ``before_commit`` is
called, after the final job and before ``finish`` fires; a ``before_commit``
that raises (the digests do not match) removes the file and fails ``finish``.

Transforms (``digest_with(update, transforms)``) run in the writing job,
after the digests saw the plaintext (beside them for split flushes: a
transform never changes its input), so what is stored is their output;
writing jobs run one at a time, in order, so a stateful stage (a cipher)
sees the body in order.

Early writeback.  After each flush the kernel is asked to start writing the
range to disk (sync_file_range, Linux), and every ``SYNC_BEHIND_SIZE``
bytes an fdatasync of what is written so far runs in a pool thread of its
own, beside the writes and the hashing: on a disk with a volatile write
cache (a VM's virtio disk) the final fdatasync must otherwise flush the
whole object, ~0.2 s for 256 MiB after the last byte is in, while the
hashing thread, the critical path, sits idle.  Such a sync only starts
early what the final fdatasync does anyway; a failure of one fails the
upload (its error would not be reported again to the final one).

The file is created directly under its final name (O_EXCL).  Its key is
random and object metadata is written only after ``finish`` fired, so a
crash mid-write leaves at worst an unreferenced file; with ``intents``
its intent entry is written first (in the same pool job), which is how the
sweep finds it (cloudserver.metadata.intents, cloudserver.data.sweep).
``abort`` and every failure remove the file, then the entry.
"""
from __future__ import annotations

import collections
import os
import threading
import time
from collections.abc import Callable, Sequence

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from cloudserver.data.file_io import piece_size as _size
from cloudserver.data.file_io import start_writeback, write_pieces
from cloudserver.data.interfaces import IDigestingWriter

#: Bytes per flush (and, by default, buffered beside the one in flight).
#: Each flush costs a thread hand-off that takes ~0.2-0.5 ms to get going on
#: two busy cores; at 2 MiB that is ~10 % of a large PUT's time instead of
#: ~20 % at 1 MiB, for 2 MiB more memory per upload.
DEFAULT_FLUSH_SIZE = 2 * 1024 * 1024

#: Pieces shorter than this are copied into a bytearray tail rather than
#: kept by reference (few iovecs and few digest calls per flush).
MIN_KEPT_PIECE = 16 * 1024
#: From the first flush of at least this many bytes on, the digests are
#: hashed in a thread of their own, beside the writes (_DigestStream);
#: before (small objects), in the writing thread.
SPLIT_DIGEST_SIZE = 512 * 1024
#: Written bytes between two background fdatasyncs ("sync behind").
SYNC_BEHIND_SIZE = 16 * 1024 * 1024

_OPEN, _FINISHING, _FINISHED, _CLOSING, _CLOSED = (
    "open", "finishing", "finished", "closing", "closed")

_sync_data = getattr(os, "fdatasync", os.fsync)

log = Logger()


def _sync_and_close(fd: int) -> None:
    try:
        _sync_data(fd)
    finally:
        os.close(fd)


def _first_failure(results: list) -> Failure | None:
    """DeferredList results -> the first failure (the chain's error), or None."""
    for ok, value in results:
        if not ok:
            return value
    return None


def _kept(data) -> bool:
    """May ``data`` be held until the flush instead of copied?  Only big
    enough immutable pieces: bytes, or a memoryview covering at least half
    of a bytes object (so a small slice never pins a large buffer)."""
    kind = type(data)
    if kind is bytes:
        return len(data) >= MIN_KEPT_PIECE
    if kind is memoryview:
        base = data.obj
        return (type(base) is bytes and data.nbytes >= MIN_KEPT_PIECE
                and 2 * data.nbytes >= len(base) and data.c_contiguous)
    return False


class _DigestStream:
    """The digests of one upload, fed flush after flush in the thread pool.

    One pool job at a time feeds the queued flushes to ``digest``, in order,
    and a job that finished one flush takes the next one queued meanwhile:
    a steady upload keeps one thread hashing, without the hand-off between
    flushes (a fresh pool job takes ~0.2-0.5 ms to start on two busy cores,
    a fifth of what a MiB's MD5 takes).  ``post`` returns a Deferred that
    fires on the reactor (``call_from_thread``) once that flush is hashed.
    After a failure, or ``stop``, the flushes still queued are not hashed
    and their Deferreds fail.
    """

    def __init__(self, digest: Callable[[object], None],
                 run: Callable[..., defer.Deferred], call_from_thread: Callable[..., None]):
        self._digest = digest
        self._run = run
        self._call = call_from_thread
        self._lock = threading.Lock()
        self._queue: collections.deque = collections.deque()
        self._draining = False
        self._stopped = False

    def post(self, pieces: list) -> defer.Deferred:
        d = defer.Deferred()
        with self._lock:
            self._queue.append((pieces, d))
            start = not self._draining
            self._draining = True
        if start:
            self._run(self._drain).addErrback(self._not_started)
        return d

    def stop(self) -> None:
        """Hash nothing more (the upload failed or was aborted)."""
        self._stopped = True

    def _drain(self) -> None:
        """Thread side: hash queued flushes until there are none."""
        while True:
            with self._lock:
                if not self._queue:
                    self._draining = False
                    return
                pieces, d = self._queue.popleft()
            if self._stopped:
                self._call(d.errback, Failure(defer.CancelledError("digests stopped")))
                continue
            try:
                for piece in pieces:
                    self._digest(piece)
            except BaseException:  # noqa: BLE001 - reported through the flush's Deferred
                self._stopped = True
                self._call(d.errback, Failure())
            else:
                self._call(d.callback, None)

    def _not_started(self, failure: Failure) -> None:
        with self._lock:
            queued = list(self._queue)
            self._queue.clear()
            self._draining = False
        for _, d in queued:
            d.errback(failure)


@implementer(IDigestingWriter)
class FileDataWriter:
    """One new blob at ``path``; see the module docstring for the flow.

    ``prepare_dir()`` runs in the thread pool before the file is created:
    it makes the fan-out directories exist durably.
    """

    def __init__(self, key: str, path: str, defer_to_thread: Callable[..., defer.Deferred],
                 prepare_dir: Callable[[], None], sync: bool = True,
                 flush_size: int = DEFAULT_FLUSH_SIZE, high_water: int | None = None,
                 call_from_thread: Callable[..., None] | None = None,
                 on_fsync: Callable[[float], None] | None = None,
                 intents: object | None = None):
        self.key = key
        #: the data intents (cloudserver.metadata.intents.DataIntents): an
        #: entry before the file exists, removed after it is removed
        self._intents = intents
        #: called (in the worker thread) with the seconds of the final fdatasync
        self._on_fsync = on_fsync
        self.path = path
        self.size = 0
        self._defer_to_thread = defer_to_thread
        self._prepare_dir = prepare_dir
        self._sync = sync
        self._flush_size = flush_size
        self._high_water = flush_size if high_water is None else high_water
        #: pieces of the next flush: kept bytes/memoryviews and bytearray tails
        self._pieces: list = []
        self._buffered = 0
        self._tail: bytearray | None = None
        self._digest: Callable[[object], None] | None = None
        self._transforms: tuple[Callable[[object], bytes], ...] = ()
        self._before_commit: Callable[[], None] | None = None
        self._call_from_thread = call_from_thread
        self._stream: _DigestStream | None = None
        #: the latest flush's "hashed" Deferred that no operation waited on yet
        self._hashing: defer.Deferred | None = None
        self._state = _OPEN
        self._busy = False
        self._error: Failure | None = None
        self._final_started = False
        self._cleanup_started = False
        self._waiters: list[defer.Deferred] = []
        self._finish_d: defer.Deferred | None = None
        #: the background fdatasync in flight, and bytes handed on since one began
        self._behind: defer.Deferred | None = None
        self._unsynced = 0
        self._abort_ds: list[defer.Deferred] = []
        # Touched only from the single in-flight thread operation.
        self._fd: int | None = None
        self._offset = 0
        self._created = False
        self._start(self._open_file)

    # -- the reactor side ------------------------------------------------

    def digest_with(self, update: Callable[[object], None],
                    transforms: Sequence[Callable[[object], bytes]] = ()) -> None:
        """Call ``update(piece)`` on every byte written, in order, in the I/O
        thread, before the bytes are written; complete when ``before_commit``
        is called.  ``transforms`` turn each piece into what is stored."""
        if self.size or self._digest is not None:
            raise RuntimeError("digest_with must come before the first write")
        self._digest = update
        self._transforms = tuple(transforms)

    def write(self, data) -> defer.Deferred | None:
        """Queue ``data``; None, or a Deferred to wait on (backpressure).

        After a failure the returned Deferred fails with it; writing to an
        aborted writer raises CancelledError, to a finished one RuntimeError.
        """
        if self._state != _OPEN:
            if self._error is not None:
                return defer.fail(self._error)
            if self._state == _FINISHED or self._state == _FINISHING:
                raise RuntimeError("writer already finished")
            raise defer.CancelledError("writer was aborted")
        size = _size(data)
        if not size:
            return None
        if _kept(data):
            # A view of our own: the caller releasing theirs cannot void it.
            self._pieces.append(data if type(data) is bytes else memoryview(data))
            self._tail = None
        elif self._tail is not None:
            self._tail += data
        else:
            self._tail = bytearray(data)
            self._pieces.append(self._tail)
        self._buffered += size
        self.size += size
        if not self._busy:
            if self._buffered >= self._flush_size:
                self._start_flush()
            return None
        if self._buffered >= self._high_water:
            waiter = defer.Deferred()
            self._waiters.append(waiter)
            return waiter
        return None

    def finish(self, before_commit: Callable[[], None] | None = None) -> defer.Deferred:
        """Write the rest, fdatasync, close, call ``before_commit``; fires
        with the key (IDataWriter.finish)."""
        if self._state != _OPEN:
            if self._error is not None:
                return defer.fail(self._error)
            return defer.fail(RuntimeError(f"cannot finish a writer that is {self._state}"))
        self._state = _FINISHING
        self._before_commit = before_commit
        self._finish_d = defer.Deferred()
        finish_d = self._finish_d
        self._release_waiters(None)
        self._advance()
        return finish_d

    def abort(self) -> defer.Deferred:
        """Remove the file (also after ``finish``); fires with None once it
        is gone.  A pending ``finish`` then fails with CancelledError."""
        if self._state == _CLOSED:
            return defer.succeed(None)
        d = defer.Deferred()
        self._abort_ds.append(d)
        if self._state != _CLOSING:
            self._state = _CLOSING
            self._stop_hashing()
            self._release_waiters(Failure(defer.CancelledError("writer was aborted")))
            self._advance()
        return d

    def _start(self, func, *args) -> None:
        self._busy = True
        self._run(func, *args).addBoth(self._op_done)

    def _run(self, func, *args) -> defer.Deferred:
        try:
            return self._defer_to_thread(func, *args)
        except Exception:  # noqa: BLE001 - becomes the Failure/Deferred result
            return defer.fail()

    def _start_pieces(self, func, pieces: list) -> None:
        """Start ``func(pieces, digest)`` for one flush (``_write``, or
        ``_finish_file`` for the last one).

        With digests and a thread-safe way back to the reactor, a big flush
        (or any flush once one was) goes to the digest stream and is hashed
        beside the write: MD5 alone takes ~1.6 ms per MiB, the write and
        its writeback ~0.4 ms.  The operation in flight is then over when
        the write is done and the previous flush is hashed, so the stream
        always has the next flush queued while it hashes one; the last
        operation also waits for the last flush's digests.  Small objects
        are hashed in the writing job (one hand-off in all).
        """
        digest = self._digest
        if digest is not None and self._stream is None and (
                self._call_from_thread is None
                or sum(map(_size, pieces)) < SPLIT_DIGEST_SIZE):
            self._start(func, pieces, digest)
            return
        if digest is None:
            self._start(func, pieces, None)
            return
        if self._stream is None:
            self._stream = _DigestStream(digest, self._run, self._call_from_thread)
        waits = [self._run(func, pieces, None)]
        if self._hashing is not None:
            waits.append(self._hashing)
        self._hashing = self._stream.post(pieces) if pieces else None
        if func == self._finish_file and self._hashing is not None:
            waits.append(self._hashing)
            self._hashing = None
        self._busy = True
        ops = defer.DeferredList(waits, consumeErrors=True)
        ops.addCallback(_first_failure).addBoth(self._op_done)

    def _take_pieces(self) -> list:
        pieces, self._pieces = self._pieces, []
        self._buffered = 0
        self._tail = None
        return pieces

    def _start_flush(self) -> None:
        size = self._buffered
        self._start_pieces(self._write, self._take_pieces())
        self._sync_behind(size)

    def _sync_behind(self, size: int) -> None:
        """Start a background fdatasync once ``SYNC_BEHIND_SIZE`` more bytes
        were handed on (see the module docstring), one at a time.  It runs on
        a duplicate of the descriptor, so closing or removing the file never
        waits for it; only ``finish`` does, for its outcome."""
        if not self._sync:
            return
        self._unsynced += size
        if self._unsynced < SYNC_BEHIND_SIZE or self._behind is not None:
            return
        self._unsynced = 0
        try:
            fd = os.dup(self._fd)
        except OSError:
            self._behind_done(Failure())
            return
        self._behind = self._run(_sync_and_close, fd)
        self._behind.addBoth(self._behind_done)

    def _behind_done(self, result) -> None:
        self._behind = None
        if isinstance(result, Failure) and self._error is None and self._state in (
                _OPEN, _FINISHING):
            self._error = result
            if not self._busy:
                self._advance()

    def _op_done(self, result) -> None:
        self._busy = False
        if isinstance(result, Failure):
            if self._cleanup_started:
                log.failure("could not remove {path}", result, path=self.path)
            elif self._error is None:
                self._error = result
        self._advance()

    def _advance(self) -> None:
        """Decide the next step; runs whenever no operation is in flight."""
        if self._busy:
            return
        if self._error is not None and self._state in (_OPEN, _FINISHING):
            self._state = _CLOSING
            self._stop_hashing()
            self._take_pieces()
            self._release_waiters(self._error)
        state = self._state
        if state == _OPEN:
            if self._buffered >= self._flush_size:
                self._start_flush()
            # Nothing or a fresh flush is in flight: the caller may go on.
            self._release_waiters(None)
        elif state == _FINISHING:
            if not self._final_started:
                behind = self._behind
                if behind is not None:
                    # Its outcome counts: wait for it before the last write.
                    self._busy = True
                    behind.addBoth(lambda _: self._op_done(None))
                    return
                self._final_started = True
                self._start_pieces(self._finish_file, self._take_pieces())
            elif self._committed():
                self._state = _FINISHED
                if self._intents is not None:
                    self._intents.settled(self.key, True)
                self._finish_d.callback(self.key)
            else:
                self._advance()  # before_commit refused: remove the file
        elif state == _CLOSING:
            if not self._cleanup_started:
                self._cleanup_started = True
                self._take_pieces()
                self._start(self._remove_file)
            else:
                self._state = _CLOSED
                if self._intents is not None:
                    self._intents.settled(self.key, False)
                self._closed()

    def _committed(self) -> bool:
        """Run ``before_commit`` (every byte is hashed and written); False,
        with the writer failed, when it raised."""
        check, self._before_commit = self._before_commit, None
        if check is None:
            return True
        try:
            check()
        except Exception:  # noqa: BLE001 - fails finish, through _advance
            self._error = Failure()
            return False
        return True

    def _stop_hashing(self) -> None:
        if self._stream is not None:
            self._stream.stop()
        hashing, self._hashing = self._hashing, None
        if hashing is not None:
            hashing.addErrback(lambda _: None)  # the writer failed or was aborted anyway

    def _closed(self) -> None:
        if self._finish_d is not None and not self._finish_d.called:
            self._finish_d.errback(
                self._error if self._error is not None
                else Failure(defer.CancelledError("writer was aborted")))
        abort_ds, self._abort_ds = self._abort_ds, []
        for d in abort_ds:
            d.callback(None)

    def _release_waiters(self, result) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if isinstance(result, Failure):
                waiter.errback(result)
            else:
                waiter.callback(result)

    # -- the thread side: one of these runs at a time ---------------------

    def _open_file(self) -> None:
        self._prepare_dir()
        if self._intents is not None:
            self._intents.begin(self.key)  # before the file: a crash finds it
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                           0o644)
        self._created = True

    def _write(self, pieces: list, digest) -> None:
        offset = self._offset
        self._write_pieces(pieces, digest)
        if self._sync:
            # Start writing these pages to disk now, so the final fdatasync
            # waits for the last flush, not for the whole object.
            start_writeback(self._fd, offset, self._offset - offset)

    def _write_pieces(self, pieces: list, digest) -> None:
        if digest is not None:
            for piece in pieces:
                digest(piece)
        for transform in self._transforms:
            pieces = [transform(piece) for piece in pieces]
        write_pieces(self._fd, pieces)
        self._offset += sum(map(_size, pieces))

    def _finish_file(self, pieces: list, digest) -> None:
        fd = self._fd
        if pieces:
            self._write_pieces(pieces, digest)
        if self._sync:
            started = time.perf_counter()
            _sync_data(fd)
            if self._on_fsync is not None:
                self._on_fsync(time.perf_counter() - started)
        self._fd = None
        os.close(fd)

    def _remove_file(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)
        if self._created:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        if self._intents is not None:
            self._intents.end(self.key)
