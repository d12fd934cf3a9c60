# -*- test-case-name: tests.unit.test_data_file -*-
"""The file data store: one file per blob under S3DATAPATH (./localData).

Layout.  Keys are ``secrets.token_hex(20)``, 40 lower-case hex digits, like
CloudServer's /DataFile keys.  A blob lives at ``root/ab/cd/<key>`` where
``ab`` and ``cd`` are the key's first four digits, so no directory grows
beyond a few thousand entries per million objects.  Keys are validated
strictly before any path is built: a key that is not exactly 40 hex digits
is refused (InvalidDataKey, a KeyError), so no key can name a path outside
``root``.

Durability.  ``finish`` fdatasyncs the file before it fires.  The first time
this process creates a fan-out directory it fsyncs the parent directories,
under a lock so a concurrent writer cannot acknowledge into a directory whose
entry is not yet on disk; the file's own entry is made durable with the
file by fsync on journalling filesystems (ext4, xfs, btrfs).

Orphans.  Metadata references a key only after its writer finished, and
aborts and failures delete their file, so the only strays are files of
writes or deletes that a crash (kill -9, power loss) interrupted.  With
``intents`` (cloudserver.metadata.intents.DataIntents, set where the
metadata KV lives in this process) every file has an intent entry from
before it exists until its commit, and again from the commit that frees
it until ``delete``; cloudserver.data.sweep removes the files of stale
entries.  ``iter_files`` walks the whole store (bin/cloudserver-check).

Reading.  ``producer`` stats the file at once (raising KeyError for a
missing key, before the S3 layer has sent any header) and opens it only in
``startProducing``; blocks are read with ``os.pread`` on the reactor thread,
one block per cooperator step.  Those reads come from the page cache almost
always and are short; a cold read costs one disk seek per block.
"""
from __future__ import annotations

import os
import re
import secrets
import threading
from collections.abc import Callable

from twisted.internet import defer
from twisted.internet.task import Cooperator
from zope.interface import implementer

from cloudserver.data.file_writer import DEFAULT_FLUSH_SIZE, FileDataWriter
from cloudserver.data.interfaces import IDataStore
from cloudserver.data.producers import DEFAULT_BLOCK_SIZE, BlockProducer, check_range

KEY_LENGTH = 40
_KEY_RE = re.compile(f"[0-9a-f]{{{KEY_LENGTH}}}")


class InvalidDataKey(KeyError):
    """A key that this store can never have issued (wrong length, not hex).

    A KeyError, so callers that map missing keys to 404 need nothing more.
    """


def is_valid_key(key) -> bool:
    return isinstance(key, str) and _KEY_RE.fullmatch(key) is not None


def new_key() -> str:
    return secrets.token_hex(KEY_LENGTH // 2)


def fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class _FileSource:
    """A BlockSource reading one range of a file with pread."""

    __slots__ = ("_fd", "_key", "_length", "_path", "_pos")

    def __init__(self, path: str, key: str, offset: int, length: int):
        self._path = path
        self._key = key
        self._pos = offset
        self._length = length
        self._fd: int | None = None

    def open(self) -> None:
        try:
            self._fd = os.open(self._path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            raise KeyError(self._key) from None
        if self._length and hasattr(os, "posix_fadvise"):
            os.posix_fadvise(self._fd, self._pos, self._length, os.POSIX_FADV_SEQUENTIAL)

    def read(self, size: int) -> bytes:
        block = os.pread(self._fd, size, self._pos)
        self._pos += len(block)
        return block

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)


@implementer(IDataStore)
class FileDataStore:
    """Blobs as files under ``root``; see the module docstring.

    ``defer_to_thread(f, *args)`` runs ``f`` in a thread pool and returns a
    Deferred (in production ``partial(deferToThreadPool, reactor, pool)``;
    in tests an inline call).  ``reactor`` schedules the default cooperator
    when none is injected, and its ``callFromThread`` reports hashed flushes
    of an upload back (without a reactor, tests: called at once, which
    suits a ``defer_to_thread`` that runs work inline).  ``sync=False``
    skips fdatasync (tests, benchmarks of the non-durable path).
    """

    def __init__(self, root: str, reactor, defer_to_thread: Callable[..., defer.Deferred],
                 cooperator: Cooperator | None = None, sync: bool = True,
                 block_size: int = DEFAULT_BLOCK_SIZE, flush_size: int = DEFAULT_FLUSH_SIZE,
                 high_water: int | None = None):
        self.root = os.path.abspath(root)
        self._defer_to_thread = defer_to_thread
        self._own_cooperator = cooperator is None
        if cooperator is None:
            cooperator = Cooperator(scheduler=lambda step: reactor.callLater(0, step))
        self._cooperator = cooperator
        self._sync = sync
        self._block_size = block_size
        self._flush_size = flush_size
        self._high_water = high_water
        self._call_from_thread = getattr(reactor, "callFromThread", None) or _call_inline
        self._durable_dirs: set[str] = set()
        self._dir_lock = threading.Lock()
        #: on_fsync(seconds), called in a worker thread after each new file's
        #: fdatasync (metrics; None: not timed)
        self.on_fsync: Callable[[float], None] | None = None
        #: the data intents (cloudserver.metadata.intents.DataIntents), None: untracked
        self.intents = None
        # Startup, before the reactor runs: blocking here is fine.
        os.makedirs(self.root, exist_ok=True)

    def path_for(self, key: str) -> str:
        """The file of ``key``; InvalidDataKey unless it is 40 hex digits."""
        if not is_valid_key(key):
            raise InvalidDataKey(key)
        return os.path.join(self.root, key[0:2], key[2:4], key)

    def create_writer(self) -> FileDataWriter:
        key = new_key()
        path = self.path_for(key)
        leaf = os.path.dirname(path)
        if self.intents is not None:
            self.intents.started(key)
        return FileDataWriter(key, path, self._defer_to_thread,
                              lambda: self._prepare_dir(leaf), sync=self._sync,
                              flush_size=self._flush_size, high_water=self._high_water,
                              call_from_thread=self._call_from_thread,
                              on_fsync=self.on_fsync, intents=self.intents)

    def _prepare_dir(self, leaf: str) -> None:
        """Thread side: make ``root/ab/cd`` exist, durably when we made it."""
        if leaf in self._durable_dirs:
            return
        with self._dir_lock:
            if leaf in self._durable_dirs:
                return
            middle = os.path.dirname(leaf)
            created = []
            for directory in (middle, leaf):
                try:
                    os.mkdir(directory, 0o755)
                    created.append(directory)
                except FileExistsError:
                    pass
            if self._sync:
                for directory in created:
                    fsync_dir(os.path.dirname(directory))
            self._durable_dirs.add(leaf)

    def producer(self, key: str, offset: int, length: int) -> BlockProducer:
        """Raises KeyError at once when the key is missing (InvalidDataKey
        when it is malformed) and ValueError for a range outside the blob.
        A file deleted between this call and startProducing fails the
        Deferred with KeyError instead."""
        path = self.path_for(key)
        try:
            size = os.stat(path).st_size
        except FileNotFoundError:
            raise KeyError(key) from None
        check_range(size, offset, length)
        return BlockProducer(_FileSource(path, key, offset, length), length,
                             block_size=self._block_size, cooperator=self._cooperator)

    def delete(self, key: str) -> defer.Deferred:
        """Unlink in the thread pool; missing files are fine, malformed keys
        fail with InvalidDataKey."""
        try:
            path = self.path_for(key)
        except InvalidDataKey:
            return defer.fail()
        return self._defer_to_thread(_unlink_quietly, path, key, self.intents)

    def iter_files(self):
        """(key, path) of every blob file, directory by directory (thread
        side: it lists directories).  Names that are not keys are skipped."""
        for top in _sorted_dirs(self.root):
            for leaf in _sorted_dirs(top):
                try:
                    names = sorted(os.listdir(leaf))
                except FileNotFoundError:
                    continue
                for name in names:
                    if is_valid_key(name) and name[0:2] == os.path.basename(top) \
                            and name[2:4] == os.path.basename(leaf):
                        yield name, os.path.join(leaf, name)

    def close(self) -> None:
        if self._own_cooperator:
            self._cooperator.stop()


def _call_inline(f, *args) -> None:
    f(*args)


def _unlink_quietly(path: str, key: str | None = None, intents=None) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    if intents is not None:
        intents.end(key)


def _sorted_dirs(path: str) -> list[str]:
    """The two-hex-digit fan-out directories under ``path``."""
    try:
        names = sorted(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [os.path.join(path, n) for n in names
            if len(n) == 2 and all(c in "0123456789abcdef" for c in n)
            and os.path.isdir(os.path.join(path, n))]
