"""Write hooks add their entries to the object batch (metadata.write_hooks)."""
from twisted.trial import unittest

from cloudserver.metadata.kv import MemoryKV
from cloudserver.metadata.queue import DurableQueue
from cloudserver.metadata.service import MetadataService


class WriteHookTests(unittest.TestCase):
    def setUp(self):
        self.now = [1000.0]
        self.kv = MemoryKV()
        self.md = MetadataService(self.kv, clock=lambda: self.now[0])
        self.queue = DurableQueue(self.kv, b"T", lambda: self.now[0])
        self.seen = []

        def hook(write):
            self.seen.append((write.bucket, write.key, write.kind, write.event))
            return [self.queue.entry({"key": write.key, "kind": write.kind})]
        self.md.write_hooks.add(hook)
        self.successResultOf(self.md.create_bucket("b", {}))

    def test_put_and_delete_enqueue_in_their_batch(self):
        self.successResultOf(self.md.put_object("b", "k", {"a": 1},
                                                {"event": "s3:ObjectCreated:Copy"}))
        self.successResultOf(self.md.delete_object("b", "k"))
        self.assertEqual(self.seen, [("b", "k", "put", "s3:ObjectCreated:Copy"),
                                     ("b", "k", "delete", None)])
        self.assertEqual([item["kind"] for _, item in self.queue.due()], ["put", "delete"])

    def test_versioned_writes(self):
        self.successResultOf(self.md.put_object("b", "k", {"a": 1}, {"versioning": True}))
        self.successResultOf(self.md.put_object("b", "k", {"isDeleteMarker": True},
                                                {"versioning": True}))
        self.assertEqual([k for _, _, k, _ in self.seen], ["put", "put"])

    def test_a_failing_hook_fails_the_write_and_stores_nothing(self):
        def broken(write):
            raise ValueError("no")
        self.md.write_hooks.add(broken)
        self.failureResultOf(self.md.put_object("b", "k", {"a": 1}), ValueError)
        self.assertEqual(self.queue.due(), [])


class DurableQueueTests(unittest.TestCase):
    def setUp(self):
        self.now = [1000.0]
        self.kv = MemoryKV()
        self.queue = DurableQueue(self.kv, b"T", lambda: self.now[0])

    def test_order_due_ack_retry(self):
        self.successResultOf(self.queue.put({"n": 1}))
        self.successResultOf(self.queue.put({"n": 2}))
        self.successResultOf(self.queue.put({"n": 3}, due=1005.0))
        due = self.queue.due()
        self.assertEqual([i["n"] for _, i in due], [1, 2])
        self.assertEqual(due[0][1]["qv"], 1)
        self.successResultOf(self.queue.ack([due[0][0]]))
        self.successResultOf(self.queue.retry(due[1][0], {"n": 2, "tries": 1}, 1010.0))
        self.assertEqual(self.queue.due(), [])
        self.assertEqual(self.queue.next_due(), 1005.0)
        self.now[0] = 1011.0
        self.assertEqual([i["n"] for _, i in self.queue.due()], [3, 2])
        self.assertEqual(len(self.queue), 2)

    def test_prefix_checked(self):
        self.assertRaises(ValueError, DurableQueue, self.kv, b"", time)


def time():
    return 0.0
