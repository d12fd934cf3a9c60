# -*- test-case-name: tests.unit.test_metadata_rpc -*-
"""The front end of the :9990 metadata protocol (see cloudserver.metadata.rpc).

``MetadataRPCClient`` offers MetadataService's methods with the same
signatures and results (Deferreds; domain errors re-raised as their own
classes), so an S3 front in ``--mode s3`` runs unchanged on top of it.
Under it one ``MetadataRPCClientProtocol`` carries the calls of the
current connection; a twisted ClientService keeps that connection up,
reconnecting with a short backoff when the daemon restarts.

Failure modes, all surfacing as DaemonUnavailable (S3 503
ServiceUnavailable): no daemon to connect to, the connection lost while
a call waits (the call may or may not have been applied: like any
timeout, the client cannot tell), no answer within the call timeout, a
stream the daemon abandoned.
"""
from __future__ import annotations

import itertools
import json
from collections.abc import Mapping
from typing import Any

from OpenSSL import SSL
from twisted.application.internet import ClientService, backoffPolicy
from twisted.internet import defer, protocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from cloudserver.metadata import rpc
from cloudserver.errors import DaemonUnavailable
from cloudserver.metadata.interfaces import IMetadataService

log = Logger(namespace="cloudserver.dmd.client")

#: How long a call waits for a connection to the daemon before failing.
DEFAULT_CONNECT_WAIT = 2.0


class _Call:
    __slots__ = ("d", "decode", "streamed", "timer")

    def __init__(self, d: defer.Deferred, decode):
        self.d = d
        self.decode = decode
        self.timer = None
        self.streamed: dict[str, list] = {}


class MetadataRPCClientProtocol(rpc.LineProtocol):
    """One connection to the daemon: request ids, pending calls, timeouts, acks."""

    def __init__(self, clock: Any, call_timeout: float = rpc.DEFAULT_CALL_TIMEOUT_MS / 1000,
                 max_line: int = rpc.DEFAULT_MAX_LINE):
        super().__init__()
        self.clock = clock
        self.call_timeout = call_timeout
        self.max_line = max_line
        self._ids = itertools.count(1)
        self._calls: dict[int, _Call] = {}
        self.lost = False

    def call(self, name: str, params: Mapping[str, Any]) -> defer.Deferred:
        """Send one request; the Deferred fires with the decoded result."""
        method = rpc.METHODS[name]
        if method.encode_params is not None:
            params = method.encode_params(dict(params))
        call_id = next(self._ids)

        def cancel(_d):
            self._forget(call_id)

        d = defer.Deferred(cancel)
        if self.lost or self.transport is None:
            d.errback(DaemonUnavailable("metadata daemon: not connected"))
            return d
        try:
            line = rpc.encode({"id": call_id, "method": name, "params": params})
        except (TypeError, ValueError) as e:
            d.errback(TypeError(f"{name}: arguments are not JSON: {e}"))
            return d
        call = _Call(d, method.decode_result)
        self._calls[call_id] = call
        self._arm(call_id, call)
        self.transport.write(line)
        return d

    @property
    def pending(self) -> int:
        return len(self._calls)

    def _arm(self, call_id: int, call: _Call) -> None:
        if call.timer is not None and call.timer.active():
            call.timer.cancel()
        call.timer = self.clock.callLater(self.call_timeout, self._timed_out, call_id)

    def _forget(self, call_id: int) -> _Call | None:
        call = self._calls.pop(call_id, None)
        if call is not None and call.timer is not None and call.timer.active():
            call.timer.cancel()
        return call

    def _timed_out(self, call_id: int) -> None:
        call = self._calls.pop(call_id, None)
        if call is not None:
            call.timer = None
            call.d.errback(DaemonUnavailable(
                f"metadata daemon: no answer within {int(self.call_timeout * 1000)} ms"))

    # -- input ---------------------------------------------------------------

    def line_too_long(self) -> None:
        # We cannot tell whose reply it was: start over on a fresh connection.
        log.error("metadata daemon sent a line over {n} bytes; reconnecting", n=self.max_line)
        self.transport.loseConnection()

    def line_received(self, line: bytes) -> None:
        try:
            message = json.loads(line)
            call_id = message.get("id")
        except (ValueError, AttributeError):
            log.error("metadata daemon sent a bad line: {line!r}", line=line[:200])
            return
        if call_id is None:
            log.error("metadata daemon error: {error}", error=message.get("error"))
            return
        if "seq" in message:
            self._chunk(call_id, message)
            return
        call = self._forget(call_id)
        if call is None:
            return  # timed out or cancelled meanwhile
        if "error" in message:
            error = message["error"] or {}
            call.d.errback(rpc.error_from_wire(str(error.get("code")), error.get("message")))
            return
        result = message.get("result")
        if call.streamed and isinstance(result, dict):
            result.update(call.streamed)
        try:
            if call.decode is not None:
                result = call.decode(result)
        except Exception:  # noqa: BLE001 - a malformed result fails this call only
            call.d.errback(Failure())
            return
        call.d.callback(result)

    def _chunk(self, call_id: Any, message: dict) -> None:
        call = self._calls.get(call_id)
        # Ack even a call we gave up on, so the daemon finishes the stream.
        self.send({"ack": call_id, "seq": message.get("seq")})
        if call is None:
            return
        items = message.get("items")
        field = message.get("field")
        if isinstance(field, str) and isinstance(items, list):
            call.streamed.setdefault(field, []).extend(items)
        self._arm(call_id, call)

    def connectionMade(self) -> None:
        super().connectionMade()
        factory = getattr(self, "factory", None)
        if factory is not None:
            factory.current = self

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        self.lost = True
        factory = getattr(self, "factory", None)
        if factory is not None and factory.current is self:
            factory.current = None
        why = "connection lost"
        if reason.check(SSL.Error):
            # metadataClient.https: a certificate the CA does not vouch for,
            # a host name it does not cover, or a daemon not speaking TLS.
            why = f"TLS handshake failed: {reason.value!r}"
            log.warn("metadata daemon: {why}", why=why)
        calls, self._calls = self._calls, {}
        for call in calls.values():
            if call.timer is not None and call.timer.active():
                call.timer.cancel()
            call.d.errback(DaemonUnavailable(f"metadata daemon: {why}"))


class _ClientFactory(protocol.Factory):
    noisy = False
    def __init__(self, clock: Any, stats: rpc.CallStats | None = None, **options: Any):
        self.clock = clock
        self.options = options
        self.stats = stats if stats is not None else rpc.CallStats()
        #: the connected protocol, None between connections
        self.current: MetadataRPCClientProtocol | None = None

    def buildProtocol(self, addr) -> MetadataRPCClientProtocol:
        p = MetadataRPCClientProtocol(self.clock, **self.options)
        p.factory = self
        self.stats.connections += 1
        return p


@implementer(IMetadataService)
class MetadataRPCClient:
    """IMetadataService over :9990; the same methods as MetadataService.

    ``endpoint`` is an IStreamClientEndpoint (production:
    ``HostnameEndpoint(reactor, host, port)``, wrapped in TLS when
    metadataClient.https: see daemons.metadata_endpoint); ``clock`` an
    IReactorTime.
    Call ``start()`` (or run ``service`` under a MultiService) before use.
    """

    def __init__(self, endpoint: Any, clock: Any, *,
                 call_timeout: float = rpc.DEFAULT_CALL_TIMEOUT_MS / 1000,
                 connect_wait: float = DEFAULT_CONNECT_WAIT,
                 max_retry_delay: float = 1.0):
        self.clock = clock
        self.endpoint = endpoint
        self.connect_wait = connect_wait
        #: calls by method, in flight, connections made (metrics read them)
        self.stats = rpc.CallStats()
        factory = self._factory = _ClientFactory(clock, self.stats, call_timeout=call_timeout)
        self.service = ClientService(
            endpoint, factory, clock=clock,
            retryPolicy=backoffPolicy(initialDelay=0.05, maxDelay=max_retry_delay, factor=2.0,
                                      jitter=lambda: 0))

    def start(self) -> None:
        self.service.startService()

    def close(self) -> defer.Deferred:
        return defer.maybeDeferred(self.service.stopService)

    # -- plumbing ----------------------------------------------------------

    async def _call(self, name: str, params: dict[str, Any]) -> Any:
        self.stats.started(name)
        try:
            connected = self.service.whenConnected(failAfterFailures=1)
            if not connected.called:
                connected.addTimeout(self.connect_wait, self.clock)
            try:
                proto = await connected
            except Exception as e:  # noqa: BLE001 - every way of not connecting is a 503
                raise DaemonUnavailable(f"metadata daemon unreachable: {e!r}") from None
            return await proto.call(name, params)
        finally:
            self.stats.in_flight -= 1

    def _do(self, method: str, /, **params: Any) -> defer.Deferred:
        """One call; on a live connection straight onto it.  ClientService's
        ``whenConnected`` (a state-machine transition and a Deferred) and a
        coroutine per call were 40 % of a call's cost in a front's profile
        (bench/README.md "Several workers"); they remain for the calls that
        must wait for a connection."""
        proto = self._factory.current
        if proto is None or proto.lost or not self.service.running:
            return defer.Deferred.fromCoroutine(self._call(method, params))
        self.stats.started(method)
        return proto.call(method, params).addBoth(self._call_done)

    def _call_done(self, result: Any) -> Any:
        self.stats.in_flight -= 1
        return result

    # -- buckets -------------------------------------------------------------

    def create_bucket(self, name, attrs):
        return self._do("create_bucket", name=name, attrs=attrs)

    def get_bucket(self, name):
        return self._do("get_bucket", name=name)

    def update_bucket(self, name, attrs):
        return self._do("update_bucket", name=name, attrs=attrs)

    def delete_bucket(self, name):
        return self._do("delete_bucket", name=name)

    def list_buckets(self):
        return self._do("list_buckets")

    # -- objects -------------------------------------------------------------

    def put_object(self, bucket, key, md, options=None):
        return self._do("put_object", bucket=bucket, key=key, md=md, options=options)

    def get_object(self, bucket, key, options=None):
        return self._do("get_object", bucket=bucket, key=key, options=options)

    def delete_object(self, bucket, key, options=None):
        return self._do("delete_object", bucket=bucket, key=key, options=options)

    def get_bucket_and_object(self, bucket, key, options=None):
        return self._do("get_bucket_and_object", bucket=bucket, key=key, options=options)

    def list_objects(self, bucket, params):
        return self._do("list_objects", bucket=bucket, params=params)

    # -- multipart uploads ---------------------------------------------------

    def create_upload(self, bucket, name, upload_id, record):
        return self._do("create_upload", bucket=bucket, name=name, upload_id=upload_id,
                        record=record)

    def get_upload(self, bucket, name, upload_id):
        return self._do("get_upload", bucket=bucket, name=name, upload_id=upload_id)

    def list_uploads(self, bucket, params):
        return self._do("list_uploads", bucket=bucket, params=params)

    def put_part(self, bucket, name, upload_id, part_number, record):
        return self._do("put_part", bucket=bucket, name=name, upload_id=upload_id,
                        part_number=part_number, record=record)

    def list_parts(self, upload_id, marker=0, max_parts=1000):
        return self._do("list_parts", upload_id=upload_id, marker=marker, max_parts=max_parts)

    def complete_upload(self, bucket, name, upload_id, md, expected, options=None):
        return self._do("complete_upload", bucket=bucket, name=name, upload_id=upload_id,
                        md=md, expected=expected, options=options)

    def abort_upload(self, bucket, name, upload_id):
        return self._do("abort_upload", bucket=bucket, name=name, upload_id=upload_id)

    def delete_bucket_uploads(self, bucket, limit=1000):
        return self._do("delete_bucket_uploads", bucket=bucket, limit=limit)

    # -- operator tools ------------------------------------------------------

    def get_usage(self, bucket=None):
        return self._do("get_usage", bucket=bucket)

    def export_bucket(self, bucket, cursor=None, limit=500):
        return self._do("export_bucket", bucket=bucket, cursor=cursor, limit=limit)

    def import_bucket(self, name, record, replace=False):
        return self._do("import_bucket", name=name, record=record, replace=replace)

    def import_records(self, bucket, items):
        return self._do("import_records", bucket=bucket, items=items)
