# -*- test-case-name: tests.unit.test_workers -*-
"""The supervisor's side of ``clusters: N``: N worker processes, kept running.

:class:`WorkerSupervisor` is the last child of the supervisor's service
tree, so it starts after the dmd listens and stops first:

- start: spawn workers 1..N (``reactor.spawnProcess``), each with the
  listening socket(s) as extra descriptors and a pipe on its stdin that it
  watches (its end of the pipe closes when the supervisor dies, however it
  dies, and the worker stops: no orphans after ``kill -9``);
- a worker that exits while the supervisor is not stopping is restarted
  after a backoff (``Backoff``: 0.1 s doubling to 5 s, back to 0.1 s once a
  worker has run 10 s), each exit and restart logged;
- stop: SIGTERM to every worker (each drains as one process does, up to
  ``shutdownTimeout``), wait for them all, SIGKILL whoever is left after
  the drain's deadline and a grace; only then do the dmd's listeners and
  stores stop (the rest of the tree), so the workers' last requests still
  reach their metadata.

Every line a worker writes (its twistd log on stdout, anything on stderr)
is logged here, tagged ``worker <n> [pid <pid>]``.
"""
from __future__ import annotations

import json
import re
from typing import Any, Callable

import attrs
from twisted.application import service
from twisted.internet import defer, error, protocol
from twisted.logger import Logger, LogLevel

log = Logger(namespace="cloudserver.workers")

#: twistd's text-log timestamp, dropped from a worker's line (the
#: supervisor's own log line carries one).
_TIMESTAMP = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?[+-]\d{4} ")
_LEVELS = {"debug": LogLevel.debug, "info": LogLevel.info, "warn": LogLevel.warn,
           "error": LogLevel.error, "fatal": LogLevel.critical}
#: Seconds past the workers' drain deadline before SIGKILL.
KILL_GRACE = 10.0
#: The longest line kept from a worker (the rest of it is dropped).
MAX_LINE = 64 * 1024


@attrs.frozen
class Backoff:
    """Delay before restarting a worker: ``initial`` doubling per quick
    failure up to ``cap``; a worker that ran ``stable`` seconds resets it."""

    initial: float = 0.1
    factor: float = 2.0
    cap: float = 5.0
    stable: float = 10.0

    def delay(self, failures: int) -> float:
        return min(self.cap, self.initial * self.factor ** max(0, failures - 1))


class WorkerProtocol(protocol.ProcessProtocol):
    """One worker process: its output lines and its end."""

    def __init__(self, supervisor: "WorkerSupervisor", number: int):
        self.supervisor = supervisor
        self.number = number
        self.started_at = 0.0
        #: kept: the transport forgets it once the process has ended
        self.pid: int | None = None
        self._partial = {1: b"", 2: b""}

    def makeConnection(self, transport: Any) -> None:
        self.pid = getattr(transport, "pid", None)
        super().makeConnection(transport)

    def childDataReceived(self, fd: int, data: bytes) -> None:
        buffered = self._partial.get(fd, b"") + data
        *lines, rest = buffered.split(b"\n")
        self._partial[fd] = rest[:MAX_LINE]
        for line in lines:
            self.supervisor.worker_line(self, line)

    def processEnded(self, reason: Any) -> None:
        for rest in self._partial.values():
            if rest:
                self.supervisor.worker_line(self, rest)
        self._partial = {}
        self.supervisor.worker_ended(self, reason)


def _why(reason: Any) -> str:
    value = getattr(reason, "value", None)
    signal = getattr(value, "signal", None)
    if signal is not None:
        return f"killed by signal {signal}"
    return f"exit status {getattr(value, 'exitCode', None)}"


class WorkerSupervisor(service.Service):
    """Runs ``count`` workers; ``command(n)`` gives worker n's
    (argv, extra child fds {child fd: our fd}); ``env`` their environment;
    ``stop_timeout`` the drain deadline a worker was given (shutdownTimeout)."""

    def __init__(self, reactor: Any, count: int,
                 command: Callable[[int], tuple[list[str], dict[int, int]]],
                 env: dict[str, str], stop_timeout: float, backoff: Backoff = Backoff(),
                 kill_grace: float = KILL_GRACE, json_lines: bool = False,
                 on_exit: Callable[[int | None], None] | None = None):
        self.reactor = reactor
        self.count = count
        self.command = command
        self.env = env
        self.stop_timeout = stop_timeout
        self.backoff = backoff
        self.kill_grace = kill_grace
        self.json_lines = json_lines
        #: called with a worker's pid once it has exited (its live gauges)
        self.on_exit = on_exit
        #: the running worker of each number
        self.workers: dict[int, WorkerProtocol] = {}
        #: quick failures in a row, by worker number
        self.failures: dict[int, int] = {}
        #: restarts made (all workers), for tests and logs
        self.restarts = 0
        self._pending: dict[int, Any] = {}
        self._waiters: list[defer.Deferred] = []
        #: the listening sockets the workers inherit (closed on stop)
        self.listening: list[Any] = []
        self.stopping = False

    def startService(self) -> None:
        super().startService()
        for number in range(1, self.count + 1):
            self.spawn(number)

    def spawn(self, number: int) -> WorkerProtocol:
        self._pending.pop(number, None)
        proto = WorkerProtocol(self, number)
        argv, fds = self.command(number)
        child_fds: dict[int, Any] = {0: "w", 1: "r", 2: "r", **fds}
        proto.started_at = self.reactor.seconds()
        self.reactor.spawnProcess(proto, argv[0], argv, env=self.env, childFDs=child_fds)
        self.workers[number] = proto
        log.info("worker {n} started (pid {pid})", n=number, pid=proto.pid)
        return proto

    # -- a worker's output and end --------------------------------------------

    def worker_line(self, proto: WorkerProtocol, line: bytes) -> None:
        line = _TIMESTAMP.sub(b"", line.rstrip(b"\r"))
        if not line:
            return
        text = line.decode("utf-8", "replace")
        tag = f"worker {proto.number} [pid {proto.pid}]"
        if self.json_lines and text.startswith("{"):
            try:
                fields = json.loads(text)
            except ValueError:
                fields = None
            if isinstance(fields, dict):
                self._json_line(proto, fields)
                return
        log.info("{worker}: {line}", worker=tag, line=text)

    def _json_line(self, proto: WorkerProtocol, fields: dict) -> None:
        """A worker's JSON line, logged with its own fields and level (its
        pid as ``workerPid``: ``pid`` is this process's)."""
        level = _LEVELS.get(str(fields.pop("level", "info")), LogLevel.info)
        fields.pop("time", None)
        fields.pop("hostname", None)
        fields["workerPid"] = fields.pop("pid", proto.pid)
        fields["workerId"] = proto.number  # upstream's field names: workerId, workerPid
        name = str(fields.pop("name", "cloudserver"))
        message = str(fields.pop("message", ""))
        # log_text: twisted's legacy bridge owns an event's "message" key,
        # and a log_ key is not copied again as a field of a JSON line
        Logger(namespace=name).emit(level, "{log_text}", log_text=message, **fields)

    def worker_ended(self, proto: WorkerProtocol, reason: Any) -> None:
        if self.workers.get(proto.number) is proto:
            del self.workers[proto.number]
        if self.on_exit is not None:
            try:
                self.on_exit(proto.pid)
            except Exception:  # noqa: BLE001 - never stops a restart
                log.failure("worker {n}: after its exit", n=proto.number)
        ran = self.reactor.seconds() - proto.started_at
        if self.stopping:
            log.info("worker {n} (pid {pid}) stopped: {why}", n=proto.number,
                     pid=proto.pid, why=_why(reason))
            if not self.workers:
                waiters, self._waiters = self._waiters, []
                for d in waiters:
                    d.callback(None)
            return
        failures = 1 if ran >= self.backoff.stable else self.failures.get(proto.number, 0) + 1
        self.failures[proto.number] = failures
        delay = self.backoff.delay(failures)
        log.warn("worker {n} (pid {pid}) exited unexpectedly ({why}) after {ran:.1f}s; "
                 "restarting it in {delay:.1f}s", n=proto.number, pid=proto.pid,
                 why=_why(reason), ran=ran, delay=delay)
        self._pending[proto.number] = self.reactor.callLater(delay, self._restart, proto.number)

    def _restart(self, number: int) -> None:
        if self.stopping or number in self.workers:
            return
        self.restarts += 1
        self.spawn(number)

    # -- stop -------------------------------------------------------------------

    def stopService(self) -> defer.Deferred:
        super().stopService()
        self.stopping = True
        for call in self._pending.values():
            if call.active():
                call.cancel()
        self._pending.clear()
        return defer.Deferred.fromCoroutine(self._stop_workers())

    def _signal(self, proto: WorkerProtocol, name: str) -> None:
        try:
            proto.transport.signalProcess(name)
        except (error.ProcessExitedAlready, OSError):
            pass

    def _when_none_left(self) -> defer.Deferred:
        """Fires once no worker runs (a fresh Deferred: a timeout cancels
        only it)."""
        d = defer.Deferred()
        if self.workers:
            self._waiters.append(d)
        else:
            d.callback(None)
        return d

    async def _stop_workers(self) -> None:
        # Our copies first: once the workers have closed theirs a new
        # connection is refused instead of waiting in a queue nobody reads.
        for sock in self.listening:
            sock.close()
        running = list(self.workers.values())
        if not running:
            return
        log.info("stopping {n} worker(s)", n=len(running))
        for proto in running:
            self._signal(proto, "TERM")
        wait = self.stop_timeout + self.kill_grace
        try:
            await self._when_none_left().addTimeout(wait, self.reactor)
        except defer.TimeoutError:
            left = list(self.workers.values())
            log.warn("{n} worker(s) still running {t:.0f}s after SIGTERM: SIGKILL",
                     n=len(left), t=wait)
            for proto in left:
                self._signal(proto, "KILL")
            await self._when_none_left()
