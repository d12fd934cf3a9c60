# -*- test-case-name: tests.unit.test_notification_delivery -*-
"""The delivery service: POSTs queued notifications to their webhooks.

It runs only in the process that owns the metadata (``--mode all`` or the
dmd; never an S3 front), beside the lifecycle executor.  Each destination
has its own durable queue in the KV (``queues``): a dead destination
retries on its own schedule and never holds up the others, and since the
requests only ever append to a queue, never a request either.

For each due entry: one POST of ``{"Records": [record]}`` (JSON), signed
``X-Scal-Signature: sha256=<hex HMAC-SHA256(secret, body)>`` when the
destination has a secret; a 2xx answer acks the entry (one delete), any
other answer, a connection error or the destination's ``timeout`` moves
it ``backoff`` later (1 s, doubling, at most 5 min) in one batch.  A crash
between the POST and the ack sends it again: delivery is at-least-once,
receivers deduplicate by ``s3.object.sequencer``.  An entry still failing
after ``max_age`` is dropped (logged).  At most ``concurrency`` POSTs per
destination are in flight; a response body is read (and discarded) up to
``max_response`` bytes, a larger one fails the attempt.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

import attrs
import treq
from twisted.application import service
from twisted.internet import defer
from twisted.logger import Logger

from cloudserver.config.notifications import Destination
from cloudserver.metadata.queue import DurableQueue, NextLook
from cloudserver.notifications.record import record_from_item

log = Logger(namespace="cloudserver.notifications")
SIGNATURE_HEADER = "X-Scal-Signature"


@attrs.frozen
class DeliverySettings:
    concurrency: int = 4
    poll: float = 1.0
    backoff_min: float = 1.0
    backoff_max: float = 300.0
    max_age: float = 86400.0
    max_response: int = 64 * 1024


class DeliveryFailed(Exception):
    """One attempt did not get a 2xx answer (the reason, for the log)."""


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def request_body(record: Mapping[str, Any]) -> bytes:
    return json.dumps({"Records": [record]}, separators=(",", ":")).encode("utf-8")


def backoff(attempts: int, settings: DeliverySettings) -> float:
    """Seconds before attempt ``attempts + 1`` (attempts >= 1 have failed)."""
    return min(settings.backoff_max, settings.backoff_min * 2 ** min(attempts - 1, 30))


class _Destination:
    """One destination's queue and in-flight attempts."""

    def __init__(self, dest: Destination, queue: DurableQueue):
        self.dest = dest
        self.queue = queue
        self.inflight: dict[bytes, defer.Deferred] = {}
        self.down = False
        #: delivered, failed (attempts), dropped (entries): metrics, tests
        self.stats: Counter[str] = Counter()


class NotificationDelivery(service.Service):
    """``queues``: resource -> its DurableQueue (the hook's); ``http``: a
    treq HTTPClient (tests: StubTreq); ``clock``: IReactorTime."""

    name = "notifications"

    def __init__(self, destinations: tuple[Destination, ...],
                 queues: Mapping[str, DurableQueue], http: Any, clock: Any,
                 settings: DeliverySettings = DeliverySettings()):
        self.http = http
        self.clock = clock
        self.settings = settings
        self._dests = {d.resource: _Destination(d, queues[d.resource]) for d in destinations}
        self._next = NextLook(clock, self._pump)

    def stats(self) -> dict[str, Counter[str]]:
        """resource -> its counts (delivered, failed, dropped)."""
        return {name: Counter(state.stats) for name, state in self._dests.items()}

    def _total(self, what: str) -> int:
        return sum(state.stats[what] for state in self._dests.values())

    @property
    def delivered(self) -> int:
        return self._total("delivered")

    @property
    def failures(self) -> int:
        return self._total("failed")

    @property
    def dropped(self) -> int:
        return self._total("dropped")

    # -- scheduling ---------------------------------------------------------

    def startService(self) -> None:
        super().startService()
        self._schedule(0)

    def wake(self) -> None:
        """New entries are being written: look soon (their batch is durable
        a group commit later; the poll catches a slower one)."""
        if self.running:
            self._schedule(0.01)

    def _schedule(self, delay: float) -> None:
        self._next.at(delay)

    def _pump(self) -> None:
        if not self.running:
            return
        now = self.clock.seconds()
        for state in self._dests.values():
            free = self.settings.concurrency - len(state.inflight)
            if free <= 0:
                continue
            for key, item in state.queue.due(now, limit=len(state.inflight) + free):
                if key in state.inflight:
                    continue
                self._start(state, key, item)
        self._schedule(self.settings.poll)

    def stopService(self) -> defer.Deferred | None:
        super().stopService()
        self._next.cancel()
        pending = [d for s in self._dests.values() for d in s.inflight.values()]
        for d in pending:
            d.cancel()  # not acked: sent again after the restart
        if not pending:
            return None
        return defer.DeferredList(pending, consumeErrors=True).addCallback(lambda _: None)

    # -- one attempt ---------------------------------------------------------

    def _start(self, state: _Destination, key: bytes, item: dict) -> None:
        d = defer.Deferred.fromCoroutine(self._attempt(state, key, item))
        state.inflight[key] = d
        d.addErrback(self._bug)
        d.addBoth(self._finished, state, key)

    def _bug(self, failure: Any) -> bool:
        log.failure("notifications: delivery bug (the entry waits for the next poll)",
                    failure)
        return False

    def _finished(self, ok: Any, state: _Destination, key: bytes) -> None:
        state.inflight.pop(key, None)
        if self.running and ok is not False:
            self._schedule(0)  # after a bug, the poll: never a hot loop

    async def _attempt(self, state: _Destination, key: bytes, item: dict) -> None:
        record = record_from_item(item)
        if record is None:
            log.warn("notifications: dropping a malformed queue entry for {dest}",
                     dest=state.dest.resource)
            state.stats["dropped"] += 1
            await state.queue.ack([key])
            return
        try:
            await self._post(state.dest, request_body(record))
        except Exception as e:
            if not self.running:
                return  # stopping cancelled it: the entry stays as it is
            reason = str(e) or type(e).__name__
        else:
            state.stats["delivered"] += 1
            if state.down:
                state.down = False
                log.info("notifications: {dest} reachable again", dest=state.dest.resource)
            await state.queue.ack([key])
            return
        await self._failed(state, key, item, reason)

    async def _failed(self, state: _Destination, key: bytes, item: dict, reason: str) -> None:
        state.stats["failed"] += 1
        if not state.down:
            state.down = True
            log.warn("notifications: delivery to {dest} failed ({reason}); retrying with "
                     "backoff", dest=state.dest.resource, reason=reason)
        now = self.clock.seconds()
        attempts = int(item.get("attempts", 0)) + 1
        first = item.get("when", now)
        if now - first > self.settings.max_age:
            state.stats["dropped"] += 1
            log.warn("notifications: dropping an event for {dest} after {n} attempts "
                     "({reason})", dest=state.dest.resource, n=attempts, reason=reason)
            await state.queue.ack([key])
            return
        await state.queue.retry(key, {**item, "attempts": attempts},
                                now + backoff(attempts, self.settings))

    async def _post(self, dest: Destination, body: bytes) -> None:
        headers = {"Content-Type": ["application/json"], "User-Agent": ["cloudserver"]}
        if dest.secret:
            headers[SIGNATURE_HEADER] = [signature(dest.secret, body)]
        current = [self.http.request("POST", dest.url, data=body, headers=headers)]
        timer = self.clock.callLater(dest.timeout, lambda: current[0].cancel())
        received = 0

        def bounded(data: bytes) -> None:
            nonlocal received
            received += len(data)
            if received > self.settings.max_response:
                raise DeliveryFailed("response body over the size limit")

        try:
            response = await current[0]
            current[0] = treq.collect(response, bounded)
            await current[0]
        except Exception:
            if not timer.active() and self.running:
                raise DeliveryFailed(f"no answer within {dest.timeout:g} s") from None
            raise
        finally:
            if timer.active():
                timer.cancel()
        if not 200 <= response.code < 300:
            raise DeliveryFailed(f"HTTP {response.code}")
