# -*- test-case-name: tests.unit.test_workers -*-
"""The sockets of a supervisor and its workers.

* ``listening_sockets``: the S3 port, bound by the supervisor before any
  worker starts (a port in use stops start-up, as for one process).  With
  ``reuseport`` (the default of worker.supervisor_service) one SO_REUSEPORT
  socket per worker, the kernel spreading connections by a hash of the
  addresses; else one socket every worker inherits and accepts from.
  docs/ARCHITECTURE.md "Several workers" says which measured better and why.
* ``AdoptedPortEndpoint``: a worker's IStreamServerEndpoint over the
  inherited descriptor (``reactor.adoptStreamPort``), TLS-wrapped like the
  single process's port, so the draining listener service (web/drain.py)
  works unchanged.
* ``unix_paths`` / ``unix_listener``: the dmd's Unix sockets for its own
  workers, under the metadata path, mode 0600.
"""
from __future__ import annotations

import os
import socket
import stat
from typing import Any

from twisted.internet import defer
from twisted.internet.endpoints import UNIXServerEndpoint
from twisted.internet.interfaces import IStreamServerEndpoint
from zope.interface import implementer

#: The Unix sockets' listen backlog, and the S3 port's unless config.json
#: ``limits.backlog`` says otherwise (twisted's default is 50: too few for
#: a burst of clients).
BACKLOG = 1024
#: The names of the dmd's Unix sockets under the metadata path.
RPC_SOCKET = "dmd-rpc.sock"
DATA_SOCKET = "dmd-data.sock"
#: sun_path's size on Linux, less the terminating NUL.
MAX_UNIX_PATH = 107


def _family(host: str) -> int:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def listening_sockets(host: str, port: int, count: int,
                      reuseport: bool = False, backlog: int = BACKLOG) -> list[socket.socket]:
    """Listening sockets for ``host:port`` ('' = every IPv4 interface): one
    shared, or ``count`` with SO_REUSEPORT; non-blocking and inheritable,
    each queueing ``backlog`` connections."""
    sockets = []
    for _ in range(count if reuseport else 1):
        sock = socket.socket(_family(host), socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if reuseport:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            sock.listen(backlog)
        except OSError:
            sock.close()
            for other in sockets:
                other.close()
            raise
        sock.setblocking(False)
        sock.set_inheritable(True)
        sockets.append(sock)
        port = sock.getsockname()[1]  # port 0: the others share the one chosen
    return sockets


@implementer(IStreamServerEndpoint)
class AdoptedPortEndpoint:
    """Listens on an inherited listening descriptor ``fd`` (closed here once
    adopted: the port holds its own duplicate), TLS with ``tls`` options."""

    def __init__(self, reactor: Any, fd: int, tls: Any = None):
        self.reactor = reactor
        self.fd = fd
        self.tls = tls

    def listen(self, factory: Any) -> defer.Deferred:
        try:
            family = _family_of(self.fd)
            if self.tls is not None:
                from twisted.protocols.tls import TLSMemoryBIOFactory

                factory = TLSMemoryBIOFactory(self.tls, False, factory)
            port = self.reactor.adoptStreamPort(self.fd, family, factory)
            os.close(self.fd)
        except Exception:  # noqa: BLE001 - the service reports it
            return defer.fail()
        return defer.succeed(port)


def _family_of(fd: int) -> int:
    probe = socket.socket(fileno=os.dup(fd))
    try:
        return probe.family
    finally:
        probe.close()


def unix_paths(metadata_path: str) -> tuple[str, str] | None:
    """(metadata RPC, data REST) socket paths under ``metadata_path``, or
    None when they would not fit in a sockaddr_un (then TCP is used)."""
    paths = (os.path.join(metadata_path, RPC_SOCKET), os.path.join(metadata_path, DATA_SOCKET))
    if any(len(os.fsencode(p)) > MAX_UNIX_PATH for p in paths):
        return None
    return paths


def remove_stale(path: str) -> None:
    """Remove a socket file a killed supervisor left (never another file)."""
    try:
        if stat.S_ISSOCK(os.lstat(path).st_mode):
            os.remove(path)
    except FileNotFoundError:
        pass


def unix_listener(reactor: Any, path: str) -> UNIXServerEndpoint:
    """A Unix server endpoint at ``path``, readable and writable by this
    user only (the workers run as the supervisor's user)."""
    remove_stale(path)
    return UNIXServerEndpoint(reactor, path, backlog=BACKLOG, mode=0o600)
