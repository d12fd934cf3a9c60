# -*- test-case-name: tests.functional.test_operator_tools -*-
"""How an operator tool reaches a running server: the MetadataRPCClient the
S3 fronts use, on the dmd's :9990, driven by a reactor of its own.

Where: ``--host`` / ``--port``, else ``METADATA_HOST`` / ``METADATA_PORT``,
else localhost:9990 (config.json ``metadataDaemon``'s default); ``--https``
speaks TLS to a dmd with ``metadataDaemon.https`` (``--ca`` names the CA).
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater

from cloudserver.errors import DaemonUnavailable, DomainError

#: exit status: done; the server refused (its error printed); no server
OK, REFUSED, UNREACHABLE = 0, 1, 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_argument_group("where the server's metadata daemon is")
    where.add_argument("--host", default=os.environ.get("METADATA_HOST", "localhost"),
                       help="dmd host (default $METADATA_HOST or localhost)")
    where.add_argument("--port", type=int, default=int(os.environ.get("METADATA_PORT", 9990)),
                       help="dmd metadata RPC port (default $METADATA_PORT or 9990)")
    where.add_argument("--https", action="store_true",
                       help="TLS to a dmd with metadataDaemon.https")
    where.add_argument("--ca", default=None, help="CA certificate file to trust with --https")
    where.add_argument("--timeout", type=float, default=60.0,
                       help="seconds a call may take (default 60)")


def client(reactor: Any, args: argparse.Namespace) -> Any:
    """A started MetadataRPCClient for ``args``."""
    from cloudserver.daemons import metadata_endpoint
    from cloudserver.metadata.rpc_client import MetadataRPCClient

    target = SimpleNamespace(host=args.host, port=args.port, https=args.https, ca=args.ca)
    md = MetadataRPCClient(metadata_endpoint(reactor, target), reactor,
                           call_timeout=args.timeout, connect_wait=5.0)
    md.start()
    return md


def run(args: argparse.Namespace, work: Callable[[Any], Awaitable[int]]) -> int:
    """Run ``work(client)`` on a reactor; its exit status, or REFUSED /
    UNREACHABLE with the error on stderr."""
    from twisted.internet import reactor

    outcome: dict[str, Any] = {}

    async def main() -> int:
        md = client(reactor, args)
        try:
            return await work(md)
        finally:
            # not from inside the client's own callbacks (a failed connect)
            await deferLater(reactor, 0, lambda: None)
            await md.close()

    def start() -> None:
        d = Deferred.fromCoroutine(main())
        d.addBoth(lambda result: outcome.update(result=result))
        d.addBoth(lambda _: reactor.stop())

    reactor.callWhenRunning(start)
    reactor.run(installSignalHandlers=True)
    return report(outcome.get("result"), args)


def report(result: Any, args: argparse.Namespace) -> int:
    from twisted.python.failure import Failure

    if not isinstance(result, Failure):
        return result if isinstance(result, int) else OK
    error = result.value
    if isinstance(error, DaemonUnavailable):
        print(f"cannot reach the metadata daemon at {args.host}:{args.port}: {error}",
              file=sys.stderr)
        return UNREACHABLE
    if isinstance(error, DomainError):
        print(f"{error.code}: {error.message or error.detail or ''}".rstrip(": "),
              file=sys.stderr)
        return REFUSED
    if isinstance(error, (OSError, ValueError)):
        print(f"error: {error}", file=sys.stderr)
        return REFUSED
    result.printTraceback(file=sys.stderr)
    return REFUSED
