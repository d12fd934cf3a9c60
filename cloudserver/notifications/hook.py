# -*- test-case-name: tests.unit.test_notification_hook -*-
"""The write hook that queues bucket notifications in the write's own batch.

Registered on the metadata owner's ``MetadataService.write_hooks``; for a
write whose options carry an S3 event (cloudserver.s3.ops.events) it reads
the bucket's configuration and, for each rule the event and key match,
returns one entry (record.queue_item: the facts the AWS record is made
of) in that destination's queue (notifications/service.py): the event is
exactly as durable as the write (at-least-once, never an event for a
write that did not happen).  One entry per
destination, so that a dead destination's retries do not repeat the
others' deliveries.

Cheap when nothing is configured: one KV read of the bucket record (what
every write's planning already does) and a substring test; the decoded
configuration is cached against the record's bytes.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from typing import Any

from cloudserver.metadata import keys
from cloudserver.metadata.interfaces import IOrderedKV
from cloudserver.metadata.queue import DurableQueue
from cloudserver.metadata.records import decode_record
from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.metadata.write_hooks import ObjectWrite
from cloudserver.notifications.record import queue_item
from cloudserver.notifications.rules import NotificationConfig
from cloudserver.s3.model.versions import client_version_id, result_version_id

_MARK = ('"' + Bkt.NOTIFICATION + '"').encode()
_CACHE_SIZE = 1024
DEFAULT_REGION = "us-east-1"


class NotificationHook:
    """``hook(write) -> [(key, value)]``: the queue entries of one write.

    ``queues``: the queue of each destination config.json declares (a rule
    naming another is skipped: it could not be delivered); ``on_enqueue``:
    called when entries were added (the delivery service looks soon).
    """

    def __init__(self, kv: IOrderedKV, queues: Mapping[str, DurableQueue],
                 clock: Callable[[], float], on_enqueue: Callable[[], None] | None = None):
        self.kv = kv
        self.queues = queues
        self.clock = clock
        self.on_enqueue = on_enqueue
        self._cache: dict[str, tuple[bytes, NotificationConfig, dict]] = {}
        self._seq = itertools.count()

    def _bucket(self, bucket: str) -> tuple[NotificationConfig, dict] | None:
        raw = self.kv.get(keys.bucket_key(bucket))
        if raw is None or _MARK not in raw:
            self._cache.pop(bucket, None)
            return None
        cached = self._cache.get(bucket)
        if cached is not None and cached[0] == raw:
            return cached[1], cached[2]
        attrs = decode_record(raw)
        config = NotificationConfig.from_record(attrs.get(Bkt.NOTIFICATION))
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[bucket] = (raw, config, attrs)
        return config, attrs

    def _sequencer(self, when: float) -> str:
        # grows with time and, within a microsecond, with this counter
        return f"{int(when * 1_000_000):014X}{next(self._seq) % 0x10000:04X}"

    def __call__(self, write: ObjectWrite) -> list:
        event = write.event
        if event is None:
            return []
        found = self._bucket(write.bucket)
        if found is None:
            return []
        config, attrs = found
        rules = [r for r in config.matching(event, write.key) if r.resource in self.queues]
        if not rules:
            return []
        when = self.clock()
        details = _object_details(write)
        info = write.options.get("eventInfo") or {}
        puts = []
        for rule in rules:
            item = queue_item(
                rule.resource, event=event, when=when,
                region=attrs.get(Bkt.LOCATION) or DEFAULT_REGION, bucket=write.bucket,
                key=write.key, config_id=rule.id, sequencer=self._sequencer(when),
                owner=attrs.get(Bkt.OWNER), info=info if isinstance(info, dict) else None,
                **details)
            puts.append(self.queues[rule.resource].entry(item))
        if self.on_enqueue is not None:
            self.on_enqueue()
        return puts


def _object_details(write: ObjectWrite) -> dict[str, Any]:
    """size, eTag, versionId of the object the write made (or removed)."""
    if write.kind in ("put", "complete"):
        raw = write.changes.get(write.okey)
        if raw is None:
            raw = next((v for v in write.changes.values() if v is not None), None)
        md = decode_record(raw) if raw is not None else {}
        version = client_version_id(md)
        if md.get(Obj.IS_DELETE_MARKER):
            return {"version_id": version}
        return {"size": md.get(Obj.SIZE), "etag": md.get(Obj.ETAG) or None,
                "version_id": version}
    result = write.result if isinstance(write.result, dict) else {}
    if "deleted" in result:  # a versioned delete: its versionId
        return {"version_id": result_version_id(result)}
    return {}
