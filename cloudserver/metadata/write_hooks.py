# -*- test-case-name: tests.unit.test_write_hooks -*-
"""Write hooks: work that must be recorded in the same batch as an object write.

Replication and bucket notifications both need "this version was written /
removed" to survive a crash exactly as the write does: not a callback after
the batch (lost on kill -9 between the two), but a queue entry *inside* the
batch.  The metadata service calls each hook with a ``ObjectWrite`` while it
assembles an object batch (put, delete, completion of a multipart upload);
a hook returns the ``(key, value)`` puts it adds (usually one
``DurableQueue.entry``), or an empty list.  Hooks run on the metadata
owner's thread, synchronously, once per write: they must be cheap when the
bucket has nothing configured.

A *marker* runs earlier, before a put is planned, and may return a changed
copy of the record (replication marks a new version PENDING there, so the
version, its master and the hooks all store and see the same record).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ObjectWrite:
    """One object batch about to be written.

    ``changes``: stored key -> encoded record (None: deleted), the master
    and version keys of ``okey``; ``result``: what the call answers (the
    record replaced, or the versioning result with ``versionId``);
    ``options``: the caller's options (versioning, and ``event``, the S3
    event name the front passes, e.g. ``s3:ObjectCreated:Copy``); ``kind``:
    ``put``, ``delete`` or ``complete``.
    """
    bucket: str
    key: str
    okey: bytes
    changes: Mapping[bytes, bytes | None]
    result: Any
    kind: str
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def event(self) -> str | None:
        event = self.options.get("event") if self.options else None
        return event if isinstance(event, str) else None


WriteHook = Callable[[ObjectWrite], list]
#: ``marker(bucket, key, record, options) -> record``: may return a changed
#: copy of a record about to be put (replication marks a new version PENDING).
RecordMarker = Callable[[str, str, Mapping[str, Any], Mapping[str, Any]], Mapping[str, Any]]


class WriteHooks:
    """The hooks of one metadata service, in registration order."""

    def __init__(self) -> None:
        self._hooks: list[WriteHook] = []
        self._markers: list[RecordMarker] = []

    def add(self, hook: WriteHook) -> None:
        self._hooks.append(hook)

    def remove(self, hook: WriteHook) -> None:
        self._hooks.remove(hook)

    def __bool__(self) -> bool:
        return bool(self._hooks)

    @property
    def marking(self) -> bool:
        return bool(self._markers)

    def add_marker(self, marker: RecordMarker) -> None:
        self._markers.append(marker)

    def mark(self, bucket: str, key: str, record: Mapping[str, Any],
             options: Mapping[str, Any] | None) -> Mapping[str, Any]:
        """``record`` as the markers change it, before its put is planned
        (so the stored version, its master and the hooks all see the change)."""
        for marker in self._markers:
            record = marker(bucket, key, record, options or {})
        return record

    def puts(self, write: ObjectWrite) -> list:
        """Every hook's puts for ``write``; a hook that raises fails the write
        (its entry would otherwise be lost silently)."""
        out: list = []
        for hook in self._hooks:
            out.extend(hook(write))
        return out
