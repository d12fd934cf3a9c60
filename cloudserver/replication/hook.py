# -*- test-case-name: tests.unit.test_replication_rules -*-
"""Marking and enqueueing a new version in the batch that writes it.

Two functions on the metadata service's write hooks
(cloudserver.metadata.write_hooks): the *marker* gives a new version (a
versioned put, copy, POST, completed multipart upload, or a delete marker)
that a rule of its bucket matches ``replicationStatus: PENDING``; the
*hook* then adds the replication queue's entry to the same batch, so a
version is PENDING exactly when its entry exists, through any crash.

Updates of an existing version (``versionId`` options: the replicator's own
status changes, tags, ACLs, lifecycle moves) are neither marked nor
enqueued; nor are replicas (REPLICA), so two buckets replicating to each
other do not loop.  A bucket without a configuration costs one KV get and a
substring test per write.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from cloudserver.metadata import keys
from cloudserver.metadata.queue import DurableQueue
from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.metadata.write_hooks import ObjectWrite
from cloudserver.replication.rules import PENDING, destination, matching_rule, read_config

#: The replication queue's KV prefix (metadata/keys.py).
QUEUE_PREFIX = b"R"
_NEEDLE = b'"' + Bkt.REPLICATION.encode() + b'"'


class ReplicationHook:
    """The marker and the hook of one metadata service's replication."""

    def __init__(self, kv: Any, queue: DurableQueue,
                 wake: Callable[[], None] | None = None):
        self.kv = kv
        self.queue = queue
        self._wake = wake
        # bucket -> (raw bucket record, its configuration): parsed once per change
        self._configs: dict[str, tuple[bytes, dict | None]] = {}

    def install(self, write_hooks: Any) -> None:
        write_hooks.add_marker(self.mark)
        write_hooks.add(self)

    def config(self, bucket: str) -> dict | None:
        raw = self.kv.get(keys.bucket_key(bucket))
        if raw is None or _NEEDLE not in raw:
            self._configs.pop(bucket, None)
            return None
        cached = self._configs.get(bucket)
        if cached is not None and cached[0] == raw:
            return cached[1]
        stored = json.loads(raw).get(Bkt.REPLICATION)
        config = read_config(stored)
        if len(self._configs) > 10000:
            self._configs.clear()
        self._configs[bucket] = (raw, config)
        return config

    def _rule(self, bucket: str, key: str, record: Mapping[str, Any]) -> dict | None:
        config = self.config(bucket)
        if config is None:
            return None
        return matching_rule(config, key, record.get(Obj.TAGS),
                             delete_marker=bool(record.get(Obj.IS_DELETE_MARKER)))

    def mark(self, bucket: str, key: str, record: Mapping[str, Any],
             options: Mapping[str, Any]) -> Mapping[str, Any]:
        if not options.get("versioning") or options.get("versionId") is not None:
            return record
        if record.get(Obj.REPLICATION_STATUS) is not None:
            # a replica, or a status carried over by a copy: set afresh
            if record.get(Obj.REPLICATION_STATUS) == "REPLICA":
                return record
            record = {k: v for k, v in record.items() if k != Obj.REPLICATION_STATUS}
        if self._rule(bucket, key, record) is None:
            return record
        return {**record, Obj.REPLICATION_STATUS: PENDING}

    def __call__(self, write: ObjectWrite) -> list:
        options = write.options
        if write.kind == "delete" or not options.get("versioning") or \
                options.get("versionId") is not None:
            return []
        if self.config(write.bucket) is None:
            return []
        raw = write.changes.get(write.okey)
        if raw is None:
            return []
        record = json.loads(raw)
        if record.get(Obj.REPLICATION_STATUS) != PENDING:
            return []
        rule = self._rule(write.bucket, write.key, record)
        if rule is None:
            return []
        item = {"bucket": write.bucket, "key": write.key,
                "versionId": record.get(Obj.VERSION_ID),
                "deleteMarker": bool(record.get(Obj.IS_DELETE_MARKER)),
                **destination(rule)}
        if self._wake is not None:
            self._wake()
        return [self.queue.entry(item)]
