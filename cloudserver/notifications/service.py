# -*- test-case-name: tests.unit.test_notification_delivery -*-
"""Wiring: the destinations' queues, the write hook and the delivery
service of the process that owns the metadata (tap.add_dmd).

Each destination's queue lives under ``N\\x01<resource>`` in the metadata
KV (the ``N`` range of metadata/keys.py), so a restart resumes every
backlog.  The queue of a destination removed from config.json is left in
place, untouched, and delivered again if it comes back.
"""
from __future__ import annotations

from typing import Any

from cloudserver.metadata.queue import DurableQueue
from cloudserver.notifications.delivery import DeliverySettings, NotificationDelivery
from cloudserver.notifications.hook import NotificationHook

QUEUE_PREFIX = b"N\x01"
CONNECT_TIMEOUT = 10


def destination_queue(kv: Any, resource: str, clock: Any) -> DurableQueue:
    return DurableQueue(kv, QUEUE_PREFIX + resource.encode("utf-8"), clock)


class _Delivery(NotificationDelivery):
    """The production service: also closes its HTTP connection pool."""

    def __init__(self, *args: Any, pool: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.pool = pool

    def stopService(self):
        d = super().stopService()
        closing = self.pool.closeCachedConnections()
        return closing if d is None else d.addCallback(lambda _: closing)


def notification_service(config: Any, metadata: Any, kv: Any, reactor: Any,
                         settings: DeliverySettings | None = None
                         ) -> NotificationDelivery | None:
    """The delivery service, its hook added to ``metadata``'s write hooks;
    None when config.json declares no destination."""
    destinations = config.notification_destinations
    if not destinations:
        return None
    from treq.client import HTTPClient
    from twisted.web.client import Agent, HTTPConnectionPool

    pool = HTTPConnectionPool(reactor, persistent=True)
    http = HTTPClient(Agent(reactor, pool=pool, connectTimeout=CONNECT_TIMEOUT))
    queues = {d.resource: destination_queue(kv, d.resource, reactor.seconds)
              for d in destinations}
    delivery = _Delivery(destinations, queues, http, reactor, settings or DeliverySettings(),
                         pool=pool)
    metadata.write_hooks.add(NotificationHook(kv, queues, reactor.seconds,
                                              on_enqueue=delivery.wake))
    return delivery
