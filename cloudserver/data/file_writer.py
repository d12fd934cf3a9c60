# -*- test-case-name: tests.unit.test_data_file -*-
"""Writing one blob of the file data store without blocking the reactor.

Bytes arriving on the reactor thread are gathered in a buffer; once it holds
``flush_size`` bytes it is handed to the thread pool for one ``os.write``
loop.  Only one file operation is in flight at a time (open, a flush, the
final write + fdatasync + close, or the clean-up), which keeps the file
offset trivially ordered.  While an operation is in flight the buffer keeps
filling; past ``high_water`` bytes ``write`` returns a Deferred, the
backpressure signal, that fires once the in-flight operation is done and
the buffer has been handed on.  Memory per writer is thus about
``flush_size + high_water`` plus one incoming chunk.

The file is created directly under its final name (O_EXCL).  Its key is
random and object metadata is written only after ``finish`` fired, so a
crash mid-write leaves at worst an unreferenced file (see cloudserver.data.file
on sweeping orphans); ``abort`` and every failure remove the file.
"""
from __future__ import annotations

import os
from collections.abc import Callable

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from cloudserver.data.interfaces import IDataWriter

DEFAULT_FLUSH_SIZE = 1024 * 1024

_OPEN, _FINISHING, _FINISHED, _CLOSING, _CLOSED = (
    "open", "finishing", "finished", "closing", "closed")

_sync_data = getattr(os, "fdatasync", os.fsync)

log = Logger()


def write_all(fd: int, data) -> None:
    """os.write until every byte is out (regular files rarely write short,
    but nothing promises they never do)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


@implementer(IDataWriter)
class FileDataWriter:
    """One new blob at ``path``; see the module docstring for the flow.

    ``prepare_dir()`` runs in the thread pool before the file is created:
    it makes the fan-out directories exist durably.
    """

    def __init__(self, key: str, path: str, defer_to_thread: Callable[..., defer.Deferred],
                 prepare_dir: Callable[[], None], sync: bool = True,
                 flush_size: int = DEFAULT_FLUSH_SIZE, high_water: int | None = None):
        self.key = key
        self.path = path
        self.size = 0
        self._defer_to_thread = defer_to_thread
        self._prepare_dir = prepare_dir
        self._sync = sync
        self._flush_size = flush_size
        self._high_water = flush_size if high_water is None else high_water
        self._buffer = bytearray()
        self._state = _OPEN
        self._busy = False
        self._error: Failure | None = None
        self._final_started = False
        self._cleanup_started = False
        self._waiters: list[defer.Deferred] = []
        self._finish_d: defer.Deferred | None = None
        self._abort_ds: list[defer.Deferred] = []
        # Touched only from the single in-flight thread operation.
        self._fd: int | None = None
        self._created = False
        self._start(self._open_file)

    # -- the reactor side ------------------------------------------------

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
        self._buffer += data
        self.size += len(data)
        if not self._busy:
            if len(self._buffer) >= self._flush_size:
                self._start_flush()
            return None
        if len(self._buffer) >= self._high_water:
            waiter = defer.Deferred()
            self._waiters.append(waiter)
            return waiter
        return None

    def finish(self) -> defer.Deferred:
        """Write the rest, fdatasync, close; fires with the key."""
        if self._state != _OPEN:
            if self._error is not None:
                return defer.fail(self._error)
            return defer.fail(RuntimeError(f"cannot finish a writer that is {self._state}"))
        self._state = _FINISHING
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
            self._release_waiters(Failure(defer.CancelledError("writer was aborted")))
            self._advance()
        return d

    def _start(self, func, *args) -> None:
        self._busy = True
        try:
            d = self._defer_to_thread(func, *args)
        except Exception:  # noqa: BLE001 - becomes the Failure/Deferred result
            d = defer.fail()
        d.addBoth(self._op_done)

    def _start_flush(self) -> None:
        data, self._buffer = self._buffer, bytearray()
        self._start(self._write, data)

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
            self._buffer = bytearray()
            self._release_waiters(self._error)
        state = self._state
        if state == _OPEN:
            if len(self._buffer) >= self._flush_size:
                self._start_flush()
            # Nothing or a fresh flush is in flight: the caller may go on.
            self._release_waiters(None)
        elif state == _FINISHING:
            if not self._final_started:
                self._final_started = True
                data, self._buffer = self._buffer, bytearray()
                self._start(self._finish_file, data)
            else:
                self._state = _FINISHED
                self._finish_d.callback(self.key)
        elif state == _CLOSING:
            if not self._cleanup_started:
                self._cleanup_started = True
                self._buffer = bytearray()
                self._start(self._remove_file)
            else:
                self._state = _CLOSED
                self._closed()

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
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC,
                           0o644)
        self._created = True

    def _write(self, data: bytearray) -> None:
        write_all(self._fd, data)

    def _finish_file(self, data: bytearray) -> None:
        fd = self._fd
        if data:
            write_all(fd, data)
        if self._sync:
            _sync_data(fd)
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
