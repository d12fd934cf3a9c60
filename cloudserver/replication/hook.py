# -*- test-case-name: tests.unit.test_replication_rules -*-
"""Marking and enqueueing a new version in the batch that writes it.

Two functions on the metadata service's write hooks
(cloudserver.metadata.write_hooks): the *marker* gives a new version (a
versioned put, copy, POST, completed multipart upload, or a delete marker)
that a rule of its bucket matches ``replicationStatus: PENDING``; the
*hook* then adds the replication queue's entry to the same batch, so a
version is PENDING exactly when its entry exists, through any crash.

An update of an existing, replicated version (``versionId`` options) that
changes its tags (or its ACL, for a replica on this server) is marked
PENDING and enqueued again; other updates (the replicator's own status
changes, lifecycle moves) are not.  Replicas (REPLICA) never are, so two
buckets replicating to each other do not loop.  A bucket without a
configuration costs one KV get and a substring test per write.
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


def _tags(record: Mapping[str, Any]) -> dict:
    tags = record.get(Obj.TAGS) or {}
    return dict(tags) if isinstance(tags, list) else dict(tags)


class ReplicationHook:
    """The marker and the hook of one metadata service's replication."""

    def __init__(self, kv: Any, queue: DurableQueue,
                 wake: Callable[[], None] | None = None,
                 local_names: frozenset[str] = frozenset()):
        self.kv = kv
        self.queue = queue
        self._wake = wake
        #: the local (file, mem) locations: a replica there has an ACL to keep
        self.local_names = local_names
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

    def _stored(self, bucket: str, key: str, vid: str) -> dict | None:
        raw = self.kv.get(keys.version_key(bucket, key, vid))
        return json.loads(raw) if raw is not None else None

    def _metadata_change(self, bucket: str, key: str, record: Mapping[str, Any],
                         vid: str) -> bool:
        """An update of a replicated version (not PENDING, not a replica)
        whose tags, or ACL for a replica on this server, changed: to send."""
        status = record.get(Obj.REPLICATION_STATUS)
        if status in (None, PENDING, "REPLICA") or vid == "null":
            return False
        stored = self._stored(bucket, key, vid)
        if stored is None or stored.get(Obj.REPLICATION_STATUS) != status:
            return False  # a status change (the replicator's own write)
        rule = self._rule(bucket, key, record)
        if rule is None:
            return False
        if _tags(stored) != _tags(record):
            return True
        if stored.get(Obj.ACL) != record.get(Obj.ACL):
            where = rule.get("storageClass")
            return not where or where in self.local_names
        return False

    def mark(self, bucket: str, key: str, record: Mapping[str, Any],
             options: Mapping[str, Any]) -> Mapping[str, Any]:
        vid = options.get("versionId")
        if vid:
            if self.config(bucket) is not None and \
                    self._metadata_change(bucket, key, record, vid):
                return {**record, Obj.REPLICATION_STATUS: PENDING}
            return record
        if not options.get("versioning") or vid is not None:
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
        vid = options.get("versionId")
        if write.kind == "delete" or not (options.get("versioning") or vid):
            return []
        if self.config(write.bucket) is None:
            return []
        okey = write.okey if not vid else keys.version_key(write.bucket, write.key, vid)
        raw = write.changes.get(okey)
        if raw is None:
            return []
        record = json.loads(raw)
        if record.get(Obj.REPLICATION_STATUS) != PENDING:
            return []
        if vid:  # marked by a metadata change, unless it was PENDING already
            stored = self._stored(write.bucket, write.key, vid)
            if stored is None or stored.get(Obj.REPLICATION_STATUS) == PENDING:
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
