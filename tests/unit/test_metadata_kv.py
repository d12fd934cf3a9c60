"""Tests for cloudserver.metadata.kv: one mixin run against every IOrderedKV."""
from __future__ import annotations

import random

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from cloudserver.metadata.interfaces import IOrderedKV
from cloudserver.metadata.kv import KVClosed, LevelDBKV, MemoryKV


def inline_thread(f, *args):
    """A defer_to_thread that runs ``f`` at once, on the calling thread."""
    return defer.maybeDeferred(f, *args)


class HeldThreads:
    """A defer_to_thread whose calls wait until the test releases them."""

    def __init__(self):
        self.calls: list[tuple] = []

    def __call__(self, f, *args):
        d = defer.Deferred()
        self.calls.append((f, args, d))
        return d

    @property
    def pending(self) -> int:
        return len(self.calls)

    def release(self, fail: Exception | None = None):
        """Run the oldest held call (or fail it) and fire its Deferred."""
        f, args, d = self.calls.pop(0)
        if fail is not None:
            d.errback(fail)
            return
        d.callback(f(*args))


class KVTestsMixin:
    """Behaviour every IOrderedKV shares.  Subclasses define make_kv()."""

    def make_kv(self):
        raise NotImplementedError

    def setUp(self):
        self.kv = self.make_kv()

    def put(self, *pairs, deletes=()):
        self.successResultOf(self.kv.write(list(pairs), list(deletes)))

    def keys(self, **bounds):
        return [k for k, _ in self.kv.iterate(**bounds)]

    def test_interface(self):
        verifyObject(IOrderedKV, self.kv)

    def test_get_missing(self):
        self.assertIsNone(self.kv.get(b"nope"))

    def test_put_get_overwrite_delete(self):
        self.put((b"a", b"1"))
        self.assertEqual(self.kv.get(b"a"), b"1")
        self.put((b"a", b"2"))
        self.assertEqual(self.kv.get(b"a"), b"2")
        self.put(deletes=[b"a"])
        self.assertIsNone(self.kv.get(b"a"))
        self.assertEqual(self.keys(), [])

    def test_delete_missing_is_noop(self):
        self.put(deletes=[b"ghost"])
        self.assertEqual(self.keys(), [])

    def test_byte_order(self):
        """Keys come back in byte order: NUL first, UTF-8 multi-byte after ASCII."""
        keys = [b"b", b"a\x00v1", b"a", b"\xc3\xa9", b"a/", b"\x7f", b"", b"\xf0\x9f\x98\x80",
                b"\xef\xbf\xbf", b"ab"]
        keys = [k for k in keys if k]  # LevelDB allows b"", but we never use it
        self.put(*[(k, k) for k in keys])
        self.assertEqual(self.keys(), sorted(keys))
        self.assertEqual([v for _, v in self.kv.iterate()], sorted(keys))

    def test_bounds(self):
        self.put(*[(bytes([c]), b"") for c in b"abcdef"])
        self.assertEqual(self.keys(gte=b"c"), [b"c", b"d", b"e", b"f"])
        self.assertEqual(self.keys(gt=b"c"), [b"d", b"e", b"f"])
        self.assertEqual(self.keys(gte=b"cc", lt=b"e"), [b"d"])
        self.assertEqual(self.keys(lt=b"c"), [b"a", b"b"])
        self.assertEqual(self.keys(gt=b"f"), [])
        self.assertEqual(self.keys(gte=b"b", lt=b"b"), [])
        self.assertRaises(ValueError, lambda: list(self.kv.iterate(gte=b"a", gt=b"a")))

    def test_reverse(self):
        self.put(*[(bytes([c]), b"") for c in b"abcdef"])
        self.assertEqual(self.keys(reverse=True), [b"f", b"e", b"d", b"c", b"b", b"a"])
        self.assertEqual(self.keys(gte=b"b", lt=b"e", reverse=True), [b"d", b"c", b"b"])
        self.assertEqual(self.keys(gt=b"b", lt=b"e", reverse=True), [b"d", b"c"])
        self.assertEqual(self.keys(lt=b"a", reverse=True), [])
        self.assertEqual(self.keys(gte=b"z", reverse=True), [])

    def test_batch_deletes_then_puts(self):
        """A key both deleted and put in one batch ends up put."""
        self.put((b"x", b"old"))
        self.put((b"x", b"new"), (b"y", b"1"), deletes=[b"x"])
        self.assertEqual(self.kv.get(b"x"), b"new")
        self.assertEqual(self.kv.get(b"y"), b"1")

    def test_batch_atomic_mix(self):
        self.put((b"a", b"1"), (b"b", b"2"), (b"c", b"3"))
        self.put((b"d", b"4"), deletes=[b"a", b"c"])
        self.assertEqual(list(self.kv.iterate()), [(b"b", b"2"), (b"d", b"4")])

    def test_non_bytes_rejected(self):
        self.failureResultOf(self.kv.write([("a", b"1")]), TypeError)
        self.failureResultOf(self.kv.write([(b"a", 1)]), TypeError)
        self.assertIsNone(self.kv.get(b"a"))

    def test_random_against_model(self):
        rnd = random.Random(42)
        model: dict[bytes, bytes] = {}
        for _ in range(3000):
            k = bytes(rnd.choice(b"ab\x00\xff/") for _ in range(rnd.randint(1, 4)))
            if rnd.random() < 0.3:
                self.put(deletes=[k])
                model.pop(k, None)
            else:
                v = str(rnd.random()).encode()
                self.put((k, v))
                model[k] = v
        self.assertEqual(list(self.kv.iterate()), sorted(model.items()))
        self.assertEqual(list(self.kv.iterate(reverse=True)),
                         sorted(model.items(), reverse=True))
        for _ in range(200):
            a, b = sorted(bytes(rnd.choice(b"ab\x00\xff/") for _ in range(2)) for _ in "xy")
            want = sorted(k for k in model if a <= k < b)
            self.assertEqual(self.keys(gte=a, lt=b), want)
            self.assertEqual(self.keys(gte=a, lt=b, reverse=True), want[::-1])
            self.assertEqual(self.keys(gt=a), sorted(k for k in model if k > a))

    def test_close(self):
        self.put((b"a", b"1"))
        self.assertIsNone(self.successResultOf(defer.maybeDeferred(self.kv.close)))


class MemoryKVTests(KVTestsMixin, SynchronousTestCase):
    def make_kv(self):
        return MemoryKV()

    def test_small_chunks(self):
        """Chunk splits and removals keep order (load=2 forces many chunks)."""
        kv = MemoryKV(load=2)
        keys = [b"%05d" % i for i in range(200)]
        random.Random(1).shuffle(keys)
        for k in keys:
            kv.write([(k, k)])
        self.assertEqual([k for k, _ in kv.iterate()], sorted(keys))
        for k in keys[:150]:
            kv.write([], [k])
        self.assertEqual([k for k, _ in kv.iterate()], sorted(keys[150:]))
        self.assertEqual([k for k, _ in kv.iterate(reverse=True)], sorted(keys[150:])[::-1])
        self.assertEqual(len(kv), 50)

    def test_write_during_iteration(self):
        """Writing while iterating neither raises nor yields a deleted key twice."""
        kv = MemoryKV(load=2)
        for i in range(20):
            kv.write([(b"%02d" % i, b"")])
        seen = []
        for k, _ in kv.iterate():
            seen.append(k)
            kv.write([], [k])
        self.assertEqual(seen, sorted(set(seen)))
        self.assertEqual(len(seen), 20)

    def test_write_is_immediate(self):
        d = self.kv.write([(b"k", b"v")])
        self.assertEqual(self.kv.get(b"k"), b"v")
        self.assertIsNone(self.successResultOf(d))


class SmallChunkMemoryKVTests(KVTestsMixin, SynchronousTestCase):
    """The same behaviour with tiny chunks, so every path of the chunk list runs."""

    def make_kv(self):
        return MemoryKV(load=2)


class LevelDBKVTests(KVTestsMixin, SynchronousTestCase):
    def make_kv(self):
        self.path = self.mktemp()
        kv = LevelDBKV(self.path, inline_thread)
        self.addCleanup(lambda: kv.close())
        return kv

    def test_durable_across_reopen(self):
        self.put((b"a", b"1"), (b"b", b"2"))
        self.successResultOf(self.kv.close())
        kv = LevelDBKV(self.path, inline_thread)
        self.addCleanup(kv.close)
        self.assertEqual(list(kv.iterate()), [(b"a", b"1"), (b"b", b"2")])

    def test_write_after_close(self):
        self.successResultOf(self.kv.close())
        self.failureResultOf(self.kv.write([(b"a", b"1")]), KVClosed)
        self.assertIsNone(self.successResultOf(self.kv.close()))


class GroupCommitTests(SynchronousTestCase):
    """LevelDBKV batches concurrent writes while one synced batch is in flight."""

    def setUp(self):
        self.threads = HeldThreads()
        self.kv = LevelDBKV(self.mktemp(), self.threads)

    def tearDown(self):
        d = self.kv.close()
        while self.threads.pending:
            self.threads.release()
        self.successResultOf(d)

    def test_group_commit(self):
        fired = []
        d1 = self.kv.write([(b"k", b"1")])
        d1.addCallback(lambda _: fired.append(1))
        self.assertEqual(self.threads.pending, 1)
        others = []
        for i in (2, 3, 4):
            d = self.kv.write([(b"k", b"%d" % i), (b"k%d" % i, b"")])
            d.addCallback(lambda _, i=i: fired.append(i))
            others.append(d)
        self.assertEqual(self.threads.pending, 1, "later writes wait for the first batch")
        self.assertEqual(fired, [])
        self.threads.release()
        self.assertEqual(fired, [1])
        self.assertEqual(self.kv.get(b"k"), b"1")
        self.assertEqual(self.threads.pending, 1, "the three queued writes form one batch")
        self.threads.release()
        self.assertEqual(fired, [1, 2, 3, 4])
        self.assertEqual(self.kv.batches, 2)
        self.assertEqual(self.kv.get(b"k"), b"4", "the later write wins")
        self.assertEqual([k for k, _ in self.kv.iterate()], [b"k", b"k2", b"k3", b"k4"])

    def test_failed_batch_errbacks_all_then_continues(self):
        d1 = self.kv.write([(b"a", b"1")])
        d2 = self.kv.write([(b"b", b"2")])
        d3 = self.kv.write([(b"c", b"3")])
        self.threads.release()  # batch 1: a
        self.successResultOf(d1)
        self.threads.release(fail=OSError("disk full"))  # batch 2: b and c
        self.failureResultOf(d2, OSError)
        self.failureResultOf(d3, OSError)
        d4 = self.kv.write([(b"d", b"4")])
        self.threads.release()
        self.successResultOf(d4)
        self.assertEqual([k for k, _ in self.kv.iterate()], [b"a", b"d"])

    def test_write_from_callback_goes_to_next_batch(self):
        order = []

        def again(_):
            order.append("first")
            self.kv.write([(b"b", b"")]).addCallback(lambda _: order.append("second"))

        self.kv.write([(b"a", b"")]).addCallback(again)
        self.threads.release()
        self.assertEqual(order, ["first"])
        self.threads.release()
        self.assertEqual(order, ["first", "second"])

    def test_close_waits_for_in_flight(self):
        d1 = self.kv.write([(b"a", b"1")])
        d2 = self.kv.write([(b"b", b"2")])
        closed = self.kv.close()
        self.assertNoResult(closed)
        self.failureResultOf(self.kv.write([(b"c", b"3")]), KVClosed)
        self.threads.release()
        self.assertNoResult(closed)
        self.threads.release()
        self.successResultOf(d1)
        self.successResultOf(d2)
        self.successResultOf(closed)
