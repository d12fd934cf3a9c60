# -*- test-case-name: tests.unit.test_notification_delivery -*-
"""The delivery service against a fake webhook (StubTreq over a
twisted.web resource) on a Clock: request shape and signature, acks,
retries with backoff, timeouts, the response limit, bounded concurrency,
a dead destination beside a live one, stopping, the metrics."""
from __future__ import annotations

import hashlib
import hmac
import json
import types

from treq.testing import StubTreq
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from cloudserver.config.notifications import Destination
from cloudserver.metadata.kv import MemoryKV
from cloudserver.metadata.service import MetadataService
from cloudserver.metrics.collectors import NotificationCollector
from cloudserver.metrics.families import Metrics
from cloudserver.notifications.delivery import (
    DeliverySettings, NotificationDelivery, backoff, signature)
from cloudserver.notifications.record import queue_item, record_from_item
from cloudserver.notifications.service import destination_queue, notification_service
from tests.unit.test_metrics import value

ITEM = {"event": "s3:ObjectCreated:Put", "region": "us-east-1", "bucket": "b",
        "config_id": "c", "sequencer": "00", "size": 1}


class Receiver(Resource):
    """Records each POST; answers ``codes`` in turn (then 200), or hangs."""

    isLeaf = True

    def __init__(self):
        super().__init__()
        self.requests: list[tuple[str, bytes, dict]] = []
        self.codes: list[int] = []
        self.hang = False
        self.body = b"ok"
        self.pending: list = []

    def render_POST(self, request):
        headers = {k.decode().lower(): v[0].decode()
                   for k, v in request.requestHeaders.getAllRawHeaders()}
        self.requests.append((request.uri.decode(), request.content.read(), headers))
        if self.hang:
            self.pending.append(request)
            return NOT_DONE_YET
        request.setResponseCode(self.codes.pop(0) if self.codes else 200)
        return self.body


class Host(Resource):
    """Two receivers at /a and /b (two destinations on one stub)."""

    def __init__(self, a, b):
        super().__init__()
        self.putChild(b"a", a)
        self.putChild(b"b", b)


class DeliveryTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.clock.advance(1000)
        self.kv = MemoryKV()
        self.a, self.b = Receiver(), Receiver()
        self.stub = StubTreq(Host(self.a, self.b))
        self.dests = (
            Destination(resource="a", type="webhook", url="http://hooks.test/a",
                        secret="s3cr3t", timeout=5),
            Destination(resource="b", type="webhook", url="http://hooks.test/b"))
        self.queues = {d.resource: destination_queue(self.kv, d.resource, self.clock.seconds)
                       for d in self.dests}
        self.settings = DeliverySettings(concurrency=2, max_response=1024)
        self.delivery = NotificationDelivery(self.dests, self.queues, self.stub, self.clock,
                                             self.settings)

    def enqueue(self, dest="a", n=1, **item):
        for i in range(n):
            self.successResultOf(self.queues[dest].put(queue_item(
                dest, **{**ITEM, "key": f"k{i}", "when": self.clock.seconds(), **item})))

    def run_for(self, seconds: float, step: float = 0.5):
        self.stub.flush()
        for _ in range(int(seconds / step)):
            self.clock.advance(step)
            self.stub.flush()

    def left(self, dest="a"):
        return len(self.queues[dest])

    def test_post_shape_signature_and_ack(self):
        self.enqueue()
        self.delivery.startService()
        self.run_for(0.5)
        (uri, body, headers), = self.a.requests
        self.assertEqual(uri, "/a")
        record, = json.loads(body)["Records"]
        self.assertEqual(record, record_from_item(queue_item(
            "a", **ITEM, key="k0", when=1000)))
        self.assertEqual((record["eventName"], record["s3"]["object"]),
                         ("ObjectCreated:Put", {"key": "k0", "size": 1, "sequencer": "00"}))
        self.assertEqual(headers["content-type"], "application/json")
        expected = "sha256=" + hmac.new(b"s3cr3t", body, hashlib.sha256).hexdigest()
        self.assertEqual(headers["x-scal-signature"], expected)
        self.assertEqual(signature("s3cr3t", body), expected)
        self.assertEqual((self.left(), self.delivery.delivered), (0, 1))

    def test_no_secret_no_signature_and_wake(self):
        self.delivery.startService()
        self.run_for(0.5)
        self.enqueue("b")
        self.delivery.wake()
        self.clock.advance(0.01)
        self.stub.flush()
        (_, _, headers), = self.b.requests
        self.assertNotIn("x-scal-signature", headers)
        self.assertEqual(self.left("b"), 0)

    def test_backoff_schedule(self):
        self.assertEqual([backoff(n, self.settings) for n in (1, 2, 3, 9, 10, 40)],
                         [1, 2, 4, 256, 300, 300])

    def test_down_then_up_is_retried_with_backoff(self):
        self.a.codes = [500, 503, 404]
        self.enqueue()
        self.delivery.startService()
        self.run_for(0.5)
        self.assertEqual((len(self.a.requests), self.left()), (1, 1))
        self.run_for(1.0)    # retried after 1 s
        self.assertEqual(len(self.a.requests), 2)
        self.run_for(1.5)    # then 2 s
        self.assertEqual(len(self.a.requests), 2)
        self.run_for(1.0)
        self.assertEqual(len(self.a.requests), 3)
        self.run_for(4.0)    # then 4 s: 200
        self.assertEqual(len(self.a.requests), 4)
        self.assertEqual((self.left(), self.delivery.failures, self.delivery.delivered),
                         (0, 3, 1))
        bodies = {body for _, body, _ in self.a.requests}
        self.assertEqual(len(bodies), 1)    # the same event each time

    def test_timeout_counts_as_a_failure(self):
        self.a.hang = True
        self.enqueue()
        self.delivery.startService()
        self.run_for(4.5)
        self.assertEqual(self.delivery.failures, 0)
        self.run_for(1.0)
        self.assertEqual((self.delivery.failures, self.left()), (1, 1))
        item = self.queues["a"].due(self.clock.seconds() + 10)[0][1]
        self.assertEqual(item["attempts"], 1)

    def test_response_over_the_limit_fails(self):
        self.a.body = b"x" * 2048
        self.enqueue()
        self.delivery.startService()
        self.run_for(0.5)
        self.assertEqual((self.delivery.failures, self.delivery.delivered, self.left()),
                         (1, 0, 1))

    def test_bounded_concurrency_and_a_dead_destination_holds_up_no_other(self):
        self.a.hang = True
        self.enqueue("a", n=5)
        self.enqueue("b", n=3)
        self.delivery.startService()
        self.run_for(1.0)
        self.assertEqual(len(self.a.requests), 2)      # concurrency 2
        self.assertEqual((len(self.b.requests), self.left("b")), (3, 0))

    def test_too_old_is_dropped(self):
        self.a.codes = [500]
        self.enqueue(when=self.clock.seconds() - 86401)
        self.delivery.startService()
        self.run_for(0.5)
        self.assertEqual((self.delivery.dropped, self.left()), (1, 0))

    def test_malformed_entry_dropped(self):
        self.successResultOf(self.queues["a"].put({"dest": "a"}))
        self.delivery.startService()
        self.run_for(0.5)
        self.assertEqual((self.delivery.dropped, self.left(), self.a.requests), (1, 0, []))

    def test_stop_cancels_in_flight_and_keeps_the_entry(self):
        self.a.hang = True
        self.enqueue()
        self.delivery.startService()
        self.run_for(0.5)
        self.successResultOf(self.delivery.stopService())
        self.assertEqual((self.left(), self.delivery.failures), (1, 0))
        item = self.queues["a"].due(self.clock.seconds())[0][1]
        self.assertNotIn("attempts", item)  # never tried: 0
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_metrics_by_destination_and_outcome(self):
        m = Metrics(process=False)
        m.register(NotificationCollector(self.delivery))
        self.a.codes = [500]
        self.enqueue("a")
        self.enqueue("b", n=2)
        self.delivery.startService()
        self.run_for(1.5)
        for dest, outcome, count in [("a", "delivered", 1), ("a", "failed", 1),
                                     ("b", "delivered", 2), ("b", "dropped", 0)]:
            self.assertEqual(value(m, "cloudserver_notifications_total", destination=dest,
                                   outcome=outcome), count)

    def test_a_bug_waits_for_the_poll_never_a_hot_loop(self):
        calls = []

        async def broken(*args):
            calls.append(1)
            raise RuntimeError("bug")

        self.a.codes = [500]
        self.delivery._failed = broken
        self.enqueue()
        self.delivery.startService()
        self.run_for(0.5)
        self.assertEqual(len(calls), 1)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


class WiringTests(SynchronousTestCase):
    def test_hook_and_service_only_with_destinations(self):
        kv, reactor = MemoryKV(), MemoryReactorClock()
        md = MetadataService(kv)
        none = types.SimpleNamespace(notification_destinations=())
        self.assertIsNone(notification_service(none, md, kv, reactor))
        self.assertFalse(md.write_hooks)
        some = types.SimpleNamespace(notification_destinations=(
            Destination(resource="a", type="webhook", url="http://127.0.0.1:1/"),))
        delivery = notification_service(some, md, kv, reactor)
        self.assertTrue(md.write_hooks)
        delivery.startService()
        self.successResultOf(delivery.stopService())
