# -*- test-case-name: tests.unit.test_data_file_writer -*-
"""The system calls under the file writer (file_writer.py): gathered writes
that resume after short writes, and the kernel's early writeback
(sync_file_range on Linux).  They run in pool threads."""
from __future__ import annotations

import ctypes
import os
import sys

#: Most buffers one os.writev takes (Linux IOV_MAX).
_IOV_MAX = getattr(os, "IOV_MAX", 1024) if hasattr(os, "writev") else 1


def piece_size(piece) -> int:
    """Bytes in a piece (a memoryview's len counts items, not bytes)."""
    return len(piece) if type(piece) is not memoryview else piece.nbytes


def write_all(fd: int, data) -> None:
    """os.write until every byte is out (regular files rarely write short,
    but nothing promises they never do)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def write_pieces(fd: int, pieces: list) -> None:
    """Write ``pieces`` in order with as few ``writev`` calls as possible,
    resuming after short writes."""
    if not hasattr(os, "writev"):  # pragma: no cover - every POSIX has it
        for piece in pieces:
            write_all(fd, piece)
        return
    pending = list(pieces)
    while pending:
        batch = pending[:_IOV_MAX]
        written = os.writev(fd, batch)
        done = 0
        for piece in batch:
            size = piece_size(piece)
            if written < size:
                break
            written -= size
            done += 1
        del pending[:done]
        if written:
            pending[0] = memoryview(pending[0]).cast("B")[written:]


def _load_sync_file_range():
    """libc's sync_file_range(2) (Linux), or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        func = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):  # pragma: no cover - a libc without it
        return None
    func.argtypes = (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint)
    func.restype = ctypes.c_int
    return func


_sync_file_range = _load_sync_file_range()
_SYNC_FILE_RANGE_WRITE = 2


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing a just-written range to disk, without
    waiting for it and without dropping it from the page cache.

    Only a head start for the final fdatasync (which alone decides
    durability, and reports errors): with the default dirty thresholds
    (10 % of RAM) a 256 MiB object would otherwise sit in the page cache
    until that fdatasync and make it wait ~0.3 s for the whole object.
    Failures are ignored for the same reason.  A no-op off Linux.
    """
    if _sync_file_range is not None and length > 0:
        _sync_file_range(fd, offset, length, _SYNC_FILE_RANGE_WRITE)
