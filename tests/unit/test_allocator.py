"""config.json ``memory`` and the allocator service (cloudserver.allocator):
the mmap threshold set once at start, malloc_trim every interval in the pool."""
from __future__ import annotations

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.allocator import M_MMAP_THRESHOLD, AllocatorService, Libc
from cloudserver.config import ConfigError
from cloudserver.config.memory import MemorySettings, parse_memory


class FakeLibc:
    def __init__(self, works: bool = True):
        self.works, self.calls = works, []

    def mallopt(self, param, value):
        self.calls.append(("mallopt", param, value))
        return self.works

    def malloc_trim(self):
        self.calls.append(("malloc_trim",))
        return self.works


class MemoryConfigTests(SynchronousTestCase):

    def test_defaults(self):
        self.assertEqual(parse_memory({}), MemorySettings())
        self.assertEqual(parse_memory({"memory": {}}), MemorySettings(0, 10.0))

    def test_values(self):
        self.assertEqual(parse_memory({"memory": {"mmapThreshold": 0, "trimInterval": 0}}),
                         MemorySettings(0, 0.0))
        self.assertEqual(parse_memory({"memory": {"mmapThreshold": 1 << 20,
                                                  "trimInterval": 2.5}}),
                         MemorySettings(1 << 20, 2.5))

    def test_refused(self):
        for section in ([], {"mmapThreshold": -1}, {"mmapThreshold": 1.5},
                        {"mmapThreshold": 64 << 20}, {"trimInterval": "60"},
                        {"trimInterval": True}, {"trimInterval": -1}, {"other": 1}):
            self.assertRaises(ConfigError, parse_memory, {"memory": section})


class AllocatorServiceTests(SynchronousTestCase):

    def setUp(self):
        self.clock, self.libc, self.in_pool = Clock(), FakeLibc(), []

    def defer_to_thread(self, f, *args):
        self.in_pool.append(f)
        return defer.maybeDeferred(f, *args)

    def start(self, settings: MemorySettings) -> AllocatorService:
        svc = AllocatorService(settings, self.clock, self.defer_to_thread, self.libc)
        svc.startService()
        self.addCleanup(svc.stopService)
        return svc

    def test_threshold_then_trims(self):
        svc = self.start(MemorySettings(262144, 60.0))
        self.assertEqual(self.libc.calls, [("mallopt", M_MMAP_THRESHOLD, 262144)])
        self.clock.advance(59)
        self.assertEqual(svc.trims, 0)
        self.clock.advance(1)
        self.clock.advance(60)
        self.assertEqual(svc.trims, 2)
        self.assertEqual(self.libc.calls[1:], [("malloc_trim",)] * 2)
        self.assertEqual(self.in_pool, [self.libc.malloc_trim] * 2)

    def test_stop_ends_the_trims(self):
        svc = self.start(MemorySettings(0, 10.0))
        self.clock.advance(10)
        svc.stopService()
        self.clock.advance(100)
        self.assertEqual(self.libc.calls, [("malloc_trim",)])

    def test_off(self):
        self.start(MemorySettings(0, 0.0))
        self.clock.advance(1000)
        self.assertEqual(self.libc.calls, [])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_no_glibc_logged_not_fatal(self):
        self.libc.works = False
        self.start(MemorySettings(4096, 1.0))
        self.clock.advance(1)
        self.assertEqual(len(self.libc.calls), 2)
        self.assertEqual(len(self.flushLoggedErrors()), 0)

    def test_libc_without_the_functions(self):
        libc = Libc()
        libc._libc = object()
        self.assertFalse(libc.mallopt(M_MMAP_THRESHOLD, 4096))
        self.assertFalse(libc.malloc_trim())

    def test_real_libc_trims(self):
        # glibc on the platforms we run on; malloc_trim answers 0 or 1
        self.assertIn(Libc().malloc_trim(), (True, False))
