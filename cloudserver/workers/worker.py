# -*- test-case-name: tests.unit.test_workers -*-
"""How a supervisor starts its workers, and a worker's own pieces.

A worker is ``python -m cloudserver.workers -n --pidfile= cloudserver
--mode s3 --worker N --listen-fd 3 [--metadata-socket P --data-socket P]``
with the supervisor's environment and working directory, so it reads the
same configuration files.  Descriptor 3 is the S3 listening socket; stdin
is a pipe from the supervisor that nothing is written to: when it reads
end-of-file the supervisor is gone and the worker stops (``ParentWatch``).
"""
from __future__ import annotations

import os
import sys
import threading
from typing import Any, Callable

from twisted.application import service
from twisted.logger import Logger

from cloudserver.workers import sockets
from cloudserver.workers.supervisor import WorkerSupervisor

log = Logger(namespace="cloudserver.workers")

#: The S3 listening socket's descriptor in a worker.
LISTEN_FD = 3
#: Environment variable of the bench: ``shared`` gives the workers one
#: listening socket instead of one SO_REUSEPORT socket each (the default:
#: docs/ARCHITECTURE.md "Several workers" says why).
SOCKETS_ENV = "CLOUDSERVER_WORKER_SOCKETS"


class ParentWatch(service.Service):
    """Stops this worker when its stdin reaches end-of-file (the supervisor
    exited or was killed).  A thread blocks on the read: the reactor's
    stdio support would make stdout, where twistd logs, non-blocking."""

    def __init__(self, reactor: Any, fd: int = 0,
                 read: Callable[[int, int], bytes] = os.read):
        self.reactor = reactor
        self.fd = fd
        self.read = read

    def startService(self) -> None:
        super().startService()
        threading.Thread(target=self._wait, name="cloudserver-parent-watch",
                         daemon=True).start()

    def _wait(self) -> None:
        try:
            while self.read(self.fd, 1024):
                pass
        except OSError:
            pass
        self.reactor.callFromThread(self.parent_gone)

    def parent_gone(self) -> None:
        if not self.running:
            return
        log.warn("worker: the supervisor is gone; stopping")
        self.reactor.stop()


def worker_argv(number: int, unix: tuple[str, str] | None,
                python: str = sys.executable) -> list[str]:
    """The command line of worker ``number``."""
    argv = [python, "-m", "cloudserver.workers", "-n", "--pidfile=", "cloudserver",
            "--mode", "s3", "--worker", str(number), "--listen-fd", str(LISTEN_FD)]
    if unix is not None:
        argv += ["--metadata-socket", unix[0], "--data-socket", unix[1]]
    return argv


def supervisor_service(config: Any, reactor: Any, unix: tuple[str, str] | None,
                       env: dict[str, str] | None = None,
                       on_exit: Callable[[int | None], None] | None = None
                       ) -> WorkerSupervisor:
    """The WorkerSupervisor of ``config.clusters`` workers, the S3 port bound
    now (an address in use stops start-up here, as for one process);
    ``on_exit(pid)`` once a worker has exited (metrics/shared.py)."""
    env = dict(os.environ if env is None else env)
    reuseport = env.get(SOCKETS_ENV) != "shared"
    try:
        listening = sockets.listening_sockets(config.listen_addr, config.port,
                                              config.clusters, reuseport=reuseport,
                                              backlog=config.limits.backlog)
    except OSError as e:
        raise SystemExit(f"cloudserver: cannot listen on port {config.port}: "
                         f"{e.strerror}") from None

    def command(number: int) -> tuple[list[str], dict[int, int]]:
        sock = listening[(number - 1) % len(listening)]
        return worker_argv(number, unix), {LISTEN_FD: sock.fileno()}

    supervisor = WorkerSupervisor(reactor, config.clusters, command, env,
                                  config.shutdown_timeout,
                                  json_lines=config.log_format == "json", on_exit=on_exit)
    # kept open: a restarted worker adopts its socket again, and meanwhile
    # the connections the kernel gave that socket wait in its queue
    supervisor.listening = listening
    log.info("cloudserver: {n} S3 workers on {scheme}://{addr}:{port} ({how}), "
             "dmd over {hop}", n=config.clusters,
             scheme="https" if config.cert_file_paths else "http",
             addr=config.listen_addr or "*", port=config.port,
             how="SO_REUSEPORT sockets" if reuseport else "one shared socket",
             hop="Unix sockets" if unix else "TCP")
    return supervisor
