# -*- test-case-name: tests.unit.test_kms -*-
"""The file KMS (the embedded default): the mem KMS's master keys, kept in
one JSON file under the metadata path.

One file, ``<dir>/keys.json`` (``{"version": 1, "keys": {id: base64}}``),
rather than a file per key: the whole key set is replaced atomically in
one write (temporary file, fsync, rename, fsync of the directory), a
reader never sees half a set, and there is one mode to check.  The keys
are few (the configured ids and one per bucket with bucket-level
encryption), so rewriting them all is cheap.

The directory is made 0700 and the file 0600; an existing file that group
or others may read stops start-up (someone copied or chmod-ed it: the keys
may have leaked, the operator decides).  The file is read once, at start;
each create/destroy rewrites it in the thread pool, one write at a time.
Key bytes are never logged: messages name key ids and paths only.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import stat
from collections.abc import Callable, Iterable

from twisted.internet import defer
from twisted.logger import Logger

from cloudserver.kms.config import DEFAULT_KEY_ID, KmsConfigError
from cloudserver.kms.errors import KmsUnavailable
from cloudserver.kms.memory import MemoryKms

log = Logger(namespace="cloudserver.kms.file")

FILE_NAME = "keys.json"
VERSION = 1
KEY_SIZE = 32


def read_keys(path: str) -> dict[str, bytes] | None:
    """The master keys of the key file at ``path`` (None when there is none);
    KmsConfigError naming the file when it cannot be used."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KmsConfigError(f"KMS key file {path} has mode {stat.S_IMODE(st.st_mode):o}: "
                             "group and others must have no access (chmod 600 it)")
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise KmsConfigError(f"cannot read KMS key file {path}: {e.strerror}") from None
    except ValueError:
        raise KmsConfigError(f"KMS key file {path} is not valid JSON") from None
    if not isinstance(doc, dict) or doc.get("version") != VERSION or \
            not isinstance(doc.get("keys"), dict):
        raise KmsConfigError(f"KMS key file {path} is not a version {VERSION} key file")
    keys = {}
    for key_id, value in doc["keys"].items():
        try:
            key = base64.b64decode(value, validate=True) if isinstance(value, str) else b""
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != KEY_SIZE:
            raise KmsConfigError(f"KMS key file {path}: key {key_id!r} is not a "
                                 f"{KEY_SIZE}-byte base64 key")
        keys[key_id] = key
    return keys


def write_keys(path: str, keys: dict[str, bytes]) -> None:
    """Replace the key file atomically (blocking: run it in a thread)."""
    directory = os.path.dirname(path)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    doc = {"version": VERSION,
           "keys": {k: base64.b64encode(v).decode("ascii") for k, v in sorted(keys.items())}}
    tmp = f"{path}.tmp.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(doc, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class FileKms(MemoryKms):
    """MemoryKms whose key set is saved to ``<directory>/keys.json``."""

    name = "file"

    def __init__(self, directory: str, defer_to_thread: Callable[..., defer.Deferred],
                 key_ids: Iterable[str] = (), default_key_id: str = DEFAULT_KEY_ID):
        self.path = os.path.join(directory, FILE_NAME)
        self._defer_to_thread = defer_to_thread
        self._lock = defer.DeferredLock()
        os.makedirs(directory, mode=0o700, exist_ok=True)
        stored = read_keys(self.path)
        super().__init__(key_ids, default_key_id, keys=stored or {})
        if stored is None or set(self._keys) != set(stored):
            # First start, or new configured ids: saved before anything is
            # encrypted under them (start-up, so blocking is fine).
            write_keys(self.path, self._keys)
            log.info("KMS file {path}: {count} master keys", path=self.path,
                     count=len(self._keys))

    def _save(self) -> defer.Deferred:
        """Write the current key set; one write at a time, each the newest set."""
        return self._lock.run(lambda: self._defer_to_thread(write_keys, self.path,
                                                            dict(self._keys)))

    def _added(self, key_id: str) -> defer.Deferred:
        def undo(failure):
            # Nothing may be encrypted under a key that would not survive a restart.
            self._keys.pop(key_id, None)
            log.error("KMS file {path}: cannot save new key {key_id}: {error}",
                      path=self.path, key_id=key_id, error=failure.getErrorMessage())
            raise KmsUnavailable(f"file KMS {self.path}: cannot save a new key")
        return self._save().addErrback(undo)

    def _removed(self, key_id: str) -> defer.Deferred:
        def report(failure):
            log.error("KMS file {path}: cannot save the removal of key {key_id}: {error}",
                      path=self.path, key_id=key_id, error=failure.getErrorMessage())
            return failure
        return self._save().addErrback(report)

    def close(self) -> defer.Deferred:
        """Fires once the key file write under way (if any) is done."""
        return self._lock.acquire().addCallback(lambda lock: lock.release())
