# -*- test-case-name: tests.unit.test_drain -*-
"""Graceful stop of a listener: stop accepting, let the work under way
finish up to a deadline, then cut what is left.

twistd stops the application on SIGTERM / SIGINT from a 'before shutdown'
trigger and keeps the reactor running until the Deferred of the top
service's ``stopService`` fires; so a listener's stop may take as long as
its connections need.  :class:`DrainingServerService` stops listening first (a
new connection is refused at once), then asks :class:`ConnectionDrain` to
end every open connection:

- a connection with nothing under way is closed now (an idle HTTP
  keep-alive connection, an RPC connection with no call in flight);
- a busy one finishes what it is doing and then closes itself (an HTTP
  response not yet started says ``Connection: close``);
- at the deadline whatever is still open is aborted; an upload cut so
  leaves nothing, as for any client that disconnects (the upload
  pipeline removes its partial data and commits no record).

A connection takes part by calling ``add`` / ``remove`` on its drain when
made and lost, and by having ``begin_drain()``: close now if idle, else
close when done.  Knows nothing of HTTP or S3.
"""
from __future__ import annotations

from typing import Any

from twisted.application import service
from twisted.application.internet import StreamServerEndpointService
from twisted.internet import defer
from twisted.logger import Logger

log = Logger(namespace="cloudserver.stop")


class ConnectionDrain:
    """The open connections of one listener, and ending them on stop."""

    def __init__(self, clock: Any, name: str = "listener"):
        self.clock = clock
        self.name = name
        self.connections: set[Any] = set()
        self.draining = False
        self._waiters: list[defer.Deferred] = []
        self._deadline_call = None

    def add(self, connection: Any) -> None:
        self.connections.add(connection)
        if self.draining:  # accepted just before the port closed
            connection.begin_drain()

    def remove(self, connection: Any) -> None:
        self.connections.discard(connection)
        if self.draining and not self.connections:
            self._finished()

    def drain(self, timeout: float) -> defer.Deferred:
        """End every connection; fires once all are closed (at the latest
        ``timeout`` seconds from now, when the remaining ones are aborted)."""
        d = defer.Deferred()
        if self.draining:
            if not self.connections:
                d.callback(None)
            else:
                self._waiters.append(d)
            return d
        self.draining = True
        if self.connections:
            log.info("{name}: stopping, {n} connection(s) open; waiting up to {t}s",
                     name=self.name, n=len(self.connections), t=timeout)
        self._waiters.append(d)
        self._deadline_call = self.clock.callLater(timeout, self._deadline, timeout)
        for connection in list(self.connections):
            connection.begin_drain()
        if not self.connections:
            self._finished()
        return d

    def _deadline(self, timeout: float) -> None:
        self._deadline_call = None
        left = list(self.connections)
        if left:
            log.warn("{name}: {n} connection(s) still busy after {t}s: closing them",
                     name=self.name, n=len(left), t=timeout)
        for connection in left:
            connection.transport.abortConnection()

    def _finished(self) -> None:
        call, self._deadline_call = self._deadline_call, None
        if call is not None and call.active():
            call.cancel()
        waiters, self._waiters = self._waiters, []
        for d in waiters:
            d.callback(None)


#: Seconds a stop waits, once the connections are closed, for the handlers
#: still running (a cut upload removing its partial data) to end.
HANDLER_GRACE = 5.0


class DrainingServerService(StreamServerEndpointService):
    """A listening service whose stop also drains its connections: the port
    is closed first (new connections are refused), then
    ``drain.drain(timeout)``, then, if the factory has ``when_idle``, the
    work its requests left running (at most HANDLER_GRACE seconds)."""

    def __init__(self, endpoint: Any, factory: Any, drain: ConnectionDrain, timeout: float):
        super().__init__(endpoint, factory)
        self.drain = drain
        self.timeout = timeout

    def stopService(self) -> defer.Deferred:
        return defer.Deferred.fromCoroutine(self._stop())

    async def _stop(self) -> None:
        await super().stopService()
        await self.drain.drain(self.timeout)
        when_idle = getattr(self.factory, "when_idle", None)
        if when_idle is None:
            return
        try:
            await when_idle().addTimeout(HANDLER_GRACE, self.drain.clock)
        except defer.TimeoutError:
            log.warn("{name}: handlers still running {t}s after the connections closed",
                     name=self.drain.name, t=HANDLER_GRACE)


class SequentialMultiService(service.MultiService):
    """A MultiService whose children stop one after the other, last added
    first, each once the previous one's stop has finished.

    twisted's MultiService stops them all at once; here the S3 front must
    have drained before the stores close (a request finishing its upload
    still writes metadata), and the stores must have written their last
    batch before the thread pool they write in stops.  A child whose stop
    fails is logged and the next one is stopped all the same.
    """

    def stopService(self) -> defer.Deferred:
        service.Service.stopService(self)
        return defer.Deferred.fromCoroutine(self._stop_all(list(reversed(list(self)))))

    async def _stop_all(self, children: list) -> None:
        for child in children:
            try:
                await defer.maybeDeferred(child.stopService)
            except Exception:  # noqa: BLE001 - one failed stop must not keep the rest running
                log.failure("stopping {child}", child=child)
