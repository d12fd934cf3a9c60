# -*- test-case-name: tests.unit.test_intents -*-
"""Data intents: the KV entries that make orphan data files cheap to find.

A data file no record refers to (an upload killed before its commit, data
freed by a commit whose process died before the unlink) must be found
without scanning the metadata for each file.  So every local data file
that is not yet, or no longer, referenced has an intent in the KV, beside
the records (docs/ARCHITECTURE.md "No orphans")::

    b"I\\x00" + data key -> b"w <boot> <ms>"   written: its upload has not committed
    b"I\\x00" + data key -> b"f <boot> <ms>"   freed: a commit dropped the last reference

* ``w``: the file store writes it (``DataIntents.begin``, an unsynced
  LevelDB put in the writer's first pool job, before the file exists: a
  kill -9 keeps it, the kernel has it; the next synced batch makes it
  durable) and the commit that first refers to the key deletes it *in the
  same synced batch* as the record (put_object, put_part).  So an intent
  ``w`` still there means: never committed.
* ``f``: the commit that frees a record's last reference (overwrite,
  delete, abort, completion leaving parts out) writes it in its batch; the
  file store's ``delete`` removes it with the file.
* An abort or failed upload removes its file, then its intent.

The sweep (cloudserver.data.sweep) reads only these entries.  ``<boot>``
names the process that wrote the entry: one of another boot can be in
flight nowhere (its uploads, commits and deletes died with it), so it is
swept at once; one of this boot once it is older than the grace.  Only
keys of the local file store get intents (``IntentRule.local_keys``): a
remote location's data has no file here.
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from twisted.logger import Logger

from cloudserver.metadata import keys

INTENT_PREFIX = b"I\x00"
WRITING = "w"
FREED = "f"

_log = Logger()


def intent_key(data_key: str) -> bytes:
    return INTENT_PREFIX + data_key.encode("ascii")


def new_boot() -> str:
    """A process's id in the entries it writes."""
    return secrets.token_hex(6)


def encode(kind: str, boot: str, seconds: float) -> bytes:
    return f"{kind} {boot} {int(seconds * 1000)}".encode("ascii")


def parse(key: bytes, value: bytes) -> tuple[str, str, str, float]:
    """(data key, kind, boot, seconds) of one entry; ValueError if malformed."""
    fields = value.decode("ascii").split(" ")
    if len(fields) != 3 or fields[0] not in (WRITING, FREED):
        raise ValueError(f"malformed intent {value!r}")
    return (key[len(INTENT_PREFIX):].decode("ascii"), fields[0], fields[1],
            int(fields[2]) / 1000)


def _pieces(record: Any) -> list:
    if not isinstance(record, Mapping):
        return []
    pieces = record.get("location")
    return pieces if isinstance(pieces, list) else []


class IntentRule:
    """Which pieces have intents, and the batch changes a commit makes.

    ``local_locations``: the location names whose store is this process's
    file store (S3DATA=multiple); a piece without ``loc`` is in the default
    store, local when ``default_local``.
    """

    def __init__(self, boot: str, default_local: bool = True,
                 local_locations: Iterable[str] = (),
                 clock: Callable[[], float] = time.time):
        self.boot = boot
        self._default_local = default_local
        self._local = frozenset(local_locations)
        self._clock = clock

    def local_keys(self, record: Any) -> set[str]:
        out = set()
        for piece in _pieces(record):
            if not isinstance(piece, Mapping) or piece.get("inline"):
                continue
            key = piece.get("key")
            if not isinstance(key, str) or not key.isascii() or not key:
                continue
            loc = piece.get("loc")
            if (self._default_local if loc is None else loc in self._local):
                out.add(key)
        return out

    def changes(self, new: Iterable[Any], freed: Iterable[Any]
                ) -> tuple[list[tuple[bytes, bytes]], list[bytes]]:
        """(puts, deletes) for a batch that commits the ``new`` records and
        drops the ``freed`` ones: the new records' written intents go, the
        freed records' keys that no new record keeps get a freed intent."""
        kept: set[str] = set()
        for record in new:
            kept |= self.local_keys(record)
        dropped: set[str] = set()
        for record in freed:
            dropped |= self.local_keys(record)
        dropped -= kept
        if not dropped:
            return [], [intent_key(k) for k in kept]
        value = encode(FREED, self.boot, self._clock())
        return ([(intent_key(k), value) for k in sorted(dropped)],
                [intent_key(k) for k in kept])


#: A writer that lived longer than this is remembered a grace past its
#: finish (``DataIntents.busy``): its commit may come after its intent is
#: older than the grace.
LONG_WRITE = 60.0


class DataIntents:
    """The file store's side: ``begin`` before a file is created, ``end``
    once it is gone (thread side, in pool jobs, unsynced); ``started`` and
    ``settled`` on the reactor bracket a writer, so the sweep can tell what
    is in flight in this process (``busy``).  ``boot``: this process's id
    in its entries.
    """

    def __init__(self, kv: Any, boot: str, clock: Callable[[], float] = time.time):
        self.kv = kv
        self.boot = boot
        self._clock = clock
        #: key -> start time of each open writer of this process
        self.writing: dict[str, float] = {}
        #: key -> finish time of long writers, until a grace after it
        self.recent: dict[str, float] = {}

    def begin(self, data_key: str) -> None:
        self.kv.put_unsynced([(intent_key(data_key), encode(WRITING, self.boot, self._clock()))])

    def end(self, data_key: str) -> None:
        try:
            self.kv.put_unsynced([], [intent_key(data_key)])
        except Exception:  # noqa: BLE001 - a closed KV at stop: the sweep retries
            _log.failure("could not clear the intent of {key}", key=data_key)

    def started(self, data_key: str) -> None:
        self.writing[data_key] = self._clock()

    def settled(self, data_key: str, finished: bool) -> None:
        began = self.writing.pop(data_key, None)
        now = self._clock()
        if finished and began is not None and now - began > LONG_WRITE:
            self.recent[data_key] = now

    def busy(self, data_key: str, grace: float) -> bool:
        """Is ``data_key`` being written here, or finished by a long writer
        less than ``grace`` ago (its commit may still be coming)?"""
        if data_key in self.writing:
            return True
        done = self.recent.get(data_key)
        return done is not None and self._clock() - done < grace

    def forget_recent(self, grace: float) -> None:
        now = self._clock()
        for key in [k for k, t in self.recent.items() if now - t >= grace]:
            del self.recent[key]

    def scan(self, after: bytes | None = None, limit: int = 1000) -> list[tuple[bytes, bytes]]:
        """Up to ``limit`` raw entries after ``after`` (a key), in key order."""
        it = self.kv.iterate(gt=after, gte=None if after else INTENT_PREFIX,
                             lt=keys.successor(INTENT_PREFIX))
        out = []
        for pair in it:
            out.append(pair)
            if len(out) == limit:
                break
        close = getattr(it, "close", None)
        if close is not None:
            close()
        return out
