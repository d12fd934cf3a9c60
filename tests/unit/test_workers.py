"""The supervisor of ``clusters: N`` (cloudserver/workers): spawning,
restarts with backoff, the stop sequence, worker output, the parent
watch, and the tree ``--mode all`` builds with clusters > 1 -- all with
fake processes and a fake clock."""
from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile

from twisted.application.internet import StreamServerEndpointService
from twisted.internet.endpoints import UNIXServerEndpoint
from twisted.internet.error import ProcessDone, ProcessTerminated
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import LogLevel, globalLogPublisher
from twisted.python import usage
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from cloudserver import tap
from cloudserver.data.rest import DataSite
from cloudserver.metadata.rpc_server import MetadataRPCFactory
from cloudserver.workers import sockets, worker
from cloudserver.workers.supervisor import Backoff, WorkerSupervisor


class FakeProcess:
    """The process transport spawnProcess returns: its pid and the signals sent."""

    def __init__(self, pid: int):
        self.pid = pid
        self.signals: list[str] = []

    def signalProcess(self, name: str) -> None:
        self.signals.append(name)


class ProcessReactor(MemoryReactorClock):
    """MemoryReactorClock with a spawnProcess that records and fakes."""

    def __init__(self):
        super().__init__()
        self.spawned: list[tuple] = []
        self._pids = itertools.count(100)

    def spawnProcess(self, proto, executable, args, env=None, path=None, uid=None, gid=None,
                     usePTY=0, childFDs=None):
        transport = FakeProcess(next(self._pids))
        proto.makeConnection(transport)
        self.spawned.append((proto, executable, args, childFDs))
        return transport


def died(proto, signal=9):
    proto.processEnded(Failure(ProcessTerminated(signal=signal)))


def exited(proto, code=0):
    proto.processEnded(Failure(ProcessDone(code) if code == 0 else
                               ProcessTerminated(exitCode=code)))


class SupervisorTests(SynchronousTestCase):
    def setUp(self):
        self.reactor = ProcessReactor()
        self.events: list[dict] = []
        globalLogPublisher.addObserver(self.events.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.events.append)

    def supervisor(self, count=2, **kwargs):
        def command(n):
            return ["python", "-m", "cloudserver.workers", "--worker", str(n)], {3: 42}

        s = WorkerSupervisor(self.reactor, count, command, {"A": "1"}, stop_timeout=30,
                             **kwargs)
        s.startService()
        return s

    def test_spawns_workers_with_socket_and_stdin_pipe(self):
        s = self.supervisor(3)
        self.assertEqual(sorted(s.workers), [1, 2, 3])
        proto, executable, args, fds = self.reactor.spawned[0]
        self.assertEqual(executable, "python")
        self.assertEqual(args[-2:], ["--worker", "1"])
        self.assertEqual(fds, {0: "w", 1: "r", 2: "r", 3: 42})
        self.assertEqual(proto.pid, 100)

    def test_backoff_doubles_to_cap(self):
        b = Backoff(initial=0.1, factor=2, cap=1.0)
        self.assertEqual([b.delay(n) for n in (1, 2, 3, 4, 5, 9)],
                         [0.1, 0.2, 0.4, 0.8, 1.0, 1.0])

    def test_dead_worker_restarted_after_backoff(self):
        s = self.supervisor(2)
        first = s.workers[1]
        died(first)
        self.assertNotIn(1, s.workers)
        self.reactor.advance(0.09)
        self.assertNotIn(1, s.workers)
        self.reactor.advance(0.02)
        self.assertIsNot(s.workers[1], first)
        self.assertEqual((s.restarts, len(self.reactor.spawned)), (1, 3))
        warned = [e for e in self.events if e.get("log_level") == LogLevel.warn]
        self.assertIn("killed by signal 9", warned[0]["why"])

    def test_quick_failures_back_off_then_reset(self):
        s = self.supervisor(1, backoff=Backoff(initial=1.0, factor=2, cap=4.0, stable=10))
        delays = []
        for _ in range(4):
            exited(s.workers[1], 1)
            delays.append(s._pending[1].getTime() - self.reactor.seconds())
            self.reactor.advance(delays[-1])
        self.assertEqual(delays, [1.0, 2.0, 4.0, 4.0])
        self.reactor.advance(11)  # ran long enough: the next failure starts over
        exited(s.workers[1], 1)
        self.assertEqual(s._pending[1].getTime() - self.reactor.seconds(), 1.0)

    def test_stop_terms_workers_and_waits_for_all(self):
        s = self.supervisor(2)
        w1, w2 = s.workers[1], s.workers[2]
        d = s.stopService()
        self.assertEqual((w1.transport.signals, w2.transport.signals), (["TERM"], ["TERM"]))
        self.assertNoResult(d)
        exited(w1)
        self.assertNoResult(d)
        exited(w2)
        self.successResultOf(d)
        self.reactor.advance(60)
        self.assertEqual(len(self.reactor.spawned), 2)  # no restart while stopping

    def test_stop_cancels_pending_restart(self):
        s = self.supervisor(2)
        died(s.workers[1])
        d = s.stopService()
        exited(s.workers[2])
        self.successResultOf(d)
        self.reactor.advance(10)
        self.assertEqual(len(self.reactor.spawned), 2)

    def test_stop_kills_after_deadline(self):
        s = self.supervisor(1, kill_grace=5)
        w = s.workers[1]
        d = s.stopService()
        self.reactor.advance(34)
        self.assertEqual(w.transport.signals, ["TERM"])
        self.reactor.advance(2)
        self.assertEqual(w.transport.signals, ["TERM", "KILL"])
        self.assertNoResult(d)
        died(w)
        self.successResultOf(d)

    def test_stop_closes_listening_sockets_first(self):
        s = self.supervisor(1)
        closed = []

        class Sock:
            def close(self):
                closed.append(list(s.workers[1].transport.signals))

        s.listening = [Sock()]
        s.stopService()
        self.assertEqual(closed, [[]])

    def test_worker_lines_tagged(self):
        s = self.supervisor(1)
        proto = s.workers[1]
        proto.childDataReceived(1, b"2026-12-02T05:41:06+0000 [cloudserver.s3#info] GET 200\n"
                                   b"partial")
        proto.childDataReceived(2, b"Traceback\n")
        exited(proto)
        lines = [(e["worker"], e["line"]) for e in self.events if "line" in e]
        self.assertEqual(lines, [("worker 1 [pid 100]", "[cloudserver.s3#info] GET 200"),
                                 ("worker 1 [pid 100]", "Traceback"),
                                 ("worker 1 [pid 100]", "partial")])

    def test_worker_json_lines_keep_fields(self):
        s = self.supervisor(1, json_lines=True)
        line = {"time": 1, "level": "warn", "name": "cloudserver.s3", "message": "hi",
                "pid": 555, "httpCode": 200}
        s.workers[1].childDataReceived(1, json.dumps(line).encode() + b"\n")
        event = [e for e in self.events if e.get("httpCode") == 200][0]
        self.assertEqual((event["log_level"], event["log_namespace"], event["log_text"],
                          event["workerPid"], event["workerId"]),
                         (LogLevel.warn, "cloudserver.s3", "hi", 555, 1))


class ParentWatchTests(SynchronousTestCase):
    def test_end_of_stdin_stops_the_worker(self):
        reactor = MemoryReactorClock()
        stopped = []
        reactor.stop = lambda: stopped.append(True)
        reactor.callFromThread = lambda f, *a: f(*a)
        reads = iter([b"x", b""])
        watch = worker.ParentWatch(reactor, read=lambda fd, n: next(reads))
        watch.running = True
        watch._wait()
        self.assertEqual(stopped, [True])

    def test_stopping_worker_ignores_end_of_stdin(self):
        reactor = MemoryReactorClock()
        reactor.stop = lambda: self.fail("stopped twice")
        watch = worker.ParentWatch(reactor)
        watch.parent_gone()


class CommandTests(SynchronousTestCase):
    def test_worker_argv(self):
        argv = worker.worker_argv(2, ("/m/rpc.sock", "/m/data.sock"), python="py")
        self.assertEqual(argv, ["py", "-m", "cloudserver.workers", "-n", "--pidfile=",
                                "cloudserver", "--mode", "s3", "--worker", "2",
                                "--listen-fd", "3", "--metadata-socket", "/m/rpc.sock",
                                "--data-socket", "/m/data.sock"])
        options = tap.Options()
        options.parseOptions(argv[6:])
        self.assertEqual((options["worker"], options["listen-fd"]), (2, 3))

    def test_worker_needs_s3_mode_and_fd(self):
        self.assertRaises(usage.UsageError, tap.Options().parseOptions, ["--worker", "1"])
        self.assertRaises(usage.UsageError, tap.Options().parseOptions,
                          ["--worker", "1", "--mode", "s3"])

    def test_unix_paths_fit_sockaddr(self):
        self.assertEqual(sockets.unix_paths("/var/md"),
                         ("/var/md/dmd-rpc.sock", "/var/md/dmd-data.sock"))
        self.assertIsNone(sockets.unix_paths("/" + "m" * 100))


class SupervisorTreeTests(SynchronousTestCase):
    """``--mode all`` with clusters: 2 builds the dmd, its Unix sockets and
    the supervisor (nothing started, no socket bound)."""

    def build(self):
        tmp = os.path.abspath(self.mktemp())
        os.makedirs(tmp)
        with open(os.path.join(os.path.dirname(tap.__file__), "..", "conf",
                               "config.json")) as f:
            config = json.load(f)
        config["clusters"] = 2
        path = os.path.join(tmp, "config.json")
        with open(path, "w") as f:
            json.dump(config, f)
        bound = []
        self.patch(sockets, "listening_sockets",
                   lambda host, port, count, reuseport=False, backlog=1024:
                   bound.append((host, port, count, reuseport)) or [])
        short = tempfile.mkdtemp(prefix="cs-md-")  # a socket path must fit in 107 bytes
        self.addCleanup(shutil.rmtree, short, True)
        env = {"S3BACKEND": "mem", "S3_CONFIG_FILE": path, "S3METADATAPATH": short}
        options = tap.Options()
        options.parseOptions(["--port", "8101"])
        return tap.makeService(options, reactor=MemoryReactorClock(), env=env), short, bound

    def test_tree(self):
        top, tmp, bound = self.build()
        children = list(top)
        self.assertIsInstance(children[-1], WorkerSupervisor)  # stopped first
        self.assertEqual(children[-1].count, 2)
        self.assertEqual(bound, [("", 8101, 2, True)])  # SO_REUSEPORT, one per worker
        unix = {type(s.factory): s.endpoint._address for s in children
                if isinstance(s, StreamServerEndpointService)
                and isinstance(s.endpoint, UNIXServerEndpoint)}
        md = tmp
        self.assertEqual(unix, {MetadataRPCFactory: os.path.join(md, "dmd-rpc.sock"),
                                DataSite: os.path.join(md, "dmd-data.sock")})
        # no S3 listener of its own: the workers have it
        from cloudserver.web.site import StreamingSite
        self.assertFalse([s for s in children if isinstance(s, StreamServerEndpointService)
                          and type(s.factory) is StreamingSite])


class DmdUnixSocketTests(SynchronousTestCase):
    """A separately started ``--mode dmd`` also listens on the Unix sockets
    (a ``--mode s3`` front on the same machine may use them); ``--mode s3``
    dials them with --metadata-socket / --data-socket."""

    def build(self, args):
        short = tempfile.mkdtemp(prefix="cs-md-")
        self.addCleanup(shutil.rmtree, short, True)
        env = {"S3BACKEND": "mem", "S3METADATAPATH": short}
        options = tap.Options()
        options.parseOptions(args)
        return tap.makeService(options, reactor=MemoryReactorClock(), env=env), short

    def test_dmd_listens_on_unix_sockets(self):
        top, md = self.build(["--mode", "dmd"])
        unix = sorted(s.endpoint._address for s in top
                      if isinstance(s, StreamServerEndpointService)
                      and isinstance(s.endpoint, UNIXServerEndpoint))
        self.assertEqual(unix, [os.path.join(md, "dmd-data.sock"),
                                os.path.join(md, "dmd-rpc.sock")])
        self.assertEqual([s.endpoint._mode for s in top
                          if isinstance(s, StreamServerEndpointService)
                          and isinstance(s.endpoint, UNIXServerEndpoint)], [0o600, 0o600])

    def test_front_dials_unix_sockets(self):
        from cloudserver.daemons import ClientsService

        top, _ = self.build(["--mode", "s3", "--metadata-socket", "/m/rpc.sock",
                             "--data-socket", "/m/data.sock"])
        clients = [s for s in top if isinstance(s, ClientsService)][0]
        self.assertEqual(clients.metadata.endpoint._path, "/m/rpc.sock")
        endpoint = clients.data.http._agent._endpointFactory.endpointForURI(None)
        self.assertEqual(endpoint._path, "/m/data.sock")

    def test_sockets_go_together(self):
        self.assertRaises(usage.UsageError, tap.Options().parseOptions,
                          ["--mode", "s3", "--metadata-socket", "/m/rpc.sock"])
