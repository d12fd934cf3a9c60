# -*- test-case-name: tests.unit.test_replication_service -*-
"""ReplicationService: the replicator, run by the process that owns the
metadata (``all``, ``dmd``; never a ``--mode s3`` front, whose writes reach
the dmd's metadata service, where the hook runs).

Building it installs the hook on the metadata service, so from then on new
versions matching a rule are marked and enqueued; the service starts the
replicator, which first resumes what a previous process left in the queue
(it is in the KV), and stopping lets the copies in flight end.
"""
from __future__ import annotations

from typing import Any, Callable

from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger

from cloudserver.metadata.queue import DurableQueue
from cloudserver.replication.hook import QUEUE_PREFIX, ReplicationHook
from cloudserver.replication.replicator import Replicator
from cloudserver.replication.transfer import REMOTE_TYPES, Transfer

log = Logger(namespace="cloudserver.replication")


class ReplicationService(service.Service):
    name = "replication"

    def __init__(self, replicator: Replicator, hook: ReplicationHook):
        self.replicator = replicator
        self.hook = hook

    def startService(self):
        super().startService()
        self.replicator.start()

    def stopService(self):
        super().stopService()
        return self.replicator.stop()


def replication_service(config: Any, metadata: Any, kv: Any, locations: Any, clock: Any,
                        run_blocking: Callable[..., defer.Deferred],
                        reader_for: Callable[[Transfer], Any]) -> ReplicationService | None:
    """The service for ``config`` (None when replication.enabled is false),
    its hook installed on ``metadata``.  ``reader_for(transfer)`` gives the
    function that reads a version's bytes in the clear (the S3 layer's)."""
    settings = config.replication
    if not settings.enabled:
        return None
    types = {name: str((loc or {}).get("type", "")) for name, loc in
             (getattr(config, "locations", None) or {}).items()}
    queue = DurableQueue(kv, QUEUE_PREFIX, clock.seconds)
    transfer = Transfer(metadata, locations, types, reader=None,
                        multipart_threshold=settings.multipart_threshold,
                        part_size=settings.part_size)
    transfer.reader = reader_for(transfer)
    replicator = Replicator(metadata, queue, transfer, clock, settings, run_blocking)
    local = frozenset(name for name, kind in types.items() if kind not in REMOTE_TYPES)
    hook = ReplicationHook(kv, queue, wake=replicator.wake, local_names=local)
    hook.install(metadata.write_hooks)
    log.info("replication: {n} copies at once, {rate} versions/s, retries from {b} s to "
             "{f} s", n=settings.concurrency, rate=settings.rate or "unlimited",
             b=settings.retry_backoff, f=settings.failed_retry_interval)
    return ReplicationService(replicator, hook)
