# -*- test-case-name: tests.unit.test_resource -*-
"""The thin twisted.web adapter: one leaf resource for the whole S3 API.

Each request runs the same phases (``_handle``): route the raw
request-target (routing.py), authenticate from the headers (auth/),
authorize (access/: the gate here, the bucket and object decisions where
ops.common loads them), run the operation's ``async def`` handler (ops/),
then respond, streaming a producer when there is one.  Every failure is
rendered here, once, as S3 error XML; the access log is written once per
request, in ``render``.
"""
from __future__ import annotations

import os
from typing import Any

from twisted.internet.defer import CancelledError, Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.resource import Resource
from twisted.web.server import NOT_DONE_YET

from cloudserver.console import serve as console
from cloudserver.s3 import access
from cloudserver.s3.http.accesslog import AccessLog
from cloudserver.s3.auth.authenticate import AuthResult, authenticate
from cloudserver.s3.auth.request_info import RequestInfo
from cloudserver.s3.auth.throttle import AuthFailures
from cloudserver.s3.context import Backend, RequestContext, Response
from cloudserver.s3.http import healthcheck
from cloudserver.s3.errors import REASONS, S3Error, translate
from cloudserver.web.site import add_header_exact, canonical_header_name, sanitize_header_value
from cloudserver.s3.ops import HANDLERS
from cloudserver.s3.ops.cors import actual_request_headers as cors_headers
from cloudserver.s3.ops import website_serve
from cloudserver.s3.routing import route
from cloudserver.s3.xml import error_xml

log = Logger(namespace="cloudserver.s3")

SERVER_NAME = b"cloudserver"

#: request headers never logged (credentials, SSE-C keys)
SECRET_HEADERS = frozenset((
    "authorization", "x-amz-security-token",
    "x-amz-server-side-encryption-customer-key",
    "x-amz-copy-source-server-side-encryption-customer-key"))


def _decode_headers(request) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for name, values in request.requestHeaders.getAllRawHeaders():
        headers[name.decode("latin-1").lower()] = [v.decode("latin-1") for v in values]
    return headers


def _header_value(value: str) -> bytes:
    """A response header value as sent: latin-1, or UTF-8 where it can't be
    (S3 sends user metadata values as given)."""
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def _set_headers_public(rh, response: Response, request_id: str, length: int) -> None:
    """S3Resource._set_headers through twisted's public Headers methods."""
    rh.setRawHeaders(b"x-amz-request-id", [request_id.encode()])
    rh.setRawHeaders(b"x-amz-id-2", [request_id.encode()])
    rh.setRawHeaders(b"server", [SERVER_NAME])
    if response.content_type is not None:
        rh.setRawHeaders(b"content-type", [response.content_type.encode("latin-1")])
    else:
        rh.removeHeader(b"content-type")
    for name, value in response.headers:
        raw_value = _header_value(value)
        if name.startswith("x-amz-meta-"):
            add_header_exact(rh, name.encode("latin-1"), raw_value)
        else:
            rh.addRawHeader(name.encode("latin-1"), raw_value)
    if response.status not in (204, 304) or length:
        rh.setRawHeaders(b"content-length", [str(length).encode()])


def _cancel_unless_called(_, d: Deferred) -> None:
    """The client went away: cancel the request's handler if it still runs."""
    if not d.called:
        d.cancel()


class S3Resource(Resource):
    """The root of the S3 front: every path is handled here (a leaf)."""

    isLeaf = True

    def __init__(self, backend: Backend, clock: Any, access_log: AccessLog | None = None,
                 metrics: Any = None):
        super().__init__()
        self.backend = backend
        self.clock = clock
        self.access_log = access_log if access_log is not None else AccessLog(clock)
        #: cloudserver.metrics.families.Metrics, or None (no metrics port)
        self.metrics = metrics
        #: the handlers running (a graceful stop waits for them: a cut
        #: upload's handler removes its partial data before it ends)
        self._running: set[Deferred] = set()
        self._idle_waiters: list[Deferred] = []
        limits = getattr(backend.config, "limits", None)
        #: failed signatures per client address (config.json limits)
        self.auth_failures = AuthFailures(
            clock, getattr(limits, "auth_failure_burst", 50),
            getattr(limits, "auth_failures_per_minute", 60.0))

    def when_idle(self) -> Deferred:
        """Fires once no handler runs (web/drain.DrainingServerService)."""
        d = Deferred()
        if self._running:
            self._idle_waiters.append(d)
        else:
            d.callback(None)
        return d

    def _handler_done(self, result, d: Deferred):
        self._running.discard(d)
        if not self._running:
            waiters, self._idle_waiters = self._idle_waiters, []
            for w in waiters:
                w.callback(None)
        return result

    def render(self, request):
        request_id = os.urandom(8).hex().upper()
        started = self.clock.seconds()
        if self.metrics is not None:
            self.metrics.request_started()
        d = Deferred.fromCoroutine(self._handle(request, request_id))
        if not d.called:
            self._running.add(d)
            d.addBoth(self._handler_done, d)
        request.notifyFinish().addErrback(_cancel_unless_called, d)
        d.addErrback(self._last_resort, request, request_id)
        d.addBoth(self._log, request, request_id, started)
        return NOT_DONE_YET

    async def _handle(self, request, request_id: str):
        """The phases of every request: route, authenticate, authorize, run,
        respond.  Any failure before respond becomes an S3 error response."""
        headers = _decode_headers(request)
        host = headers.get("host", [""])[0]
        raw_uri = request.uri.decode("latin-1")
        raw_path, _, raw_query = raw_uri.partition("?")
        method = request.method.decode("latin-1").upper()
        client = getattr(request.getClientAddress(), "host", "")
        if raw_path.startswith(healthcheck.PREFIX):  # internal routes, no S3 auth
            answer = console.handle(method, raw_path)  # public files, no secret
            if answer is None:
                answer = await healthcheck.handle(self.backend, method, raw_path, client)
            if answer is not None:
                return await self._send(request, answer, request_id)
        op = None
        try:
            op = self._route(request, method, host, raw_path, raw_query, headers, request_id)
            auth = self._authenticate(op, method, host, raw_path, raw_query, headers, client)
            request.s3_account = auth.account
            ctx = RequestContext(op=op, method=method, headers=headers, auth=auth,
                                 body=request.body, backend=self.backend,
                                 request_id=request_id, host=host,
                                 client_ip=client,
                                 secure=request.channel.secure)
            access.gate(ctx).require()
            response = await self._run(ctx)
        except CancelledError:
            return None
        except Exception:
            response = self._failed(Failure(), op, raw_path, request_id, method)
        # respond: CORS headers for requests with an Origin, then the response.
        if "origin" in headers:
            response.headers.extend(await self._cors_headers(request, headers, method))
        return await self._send(request, response, request_id)

    def _route(self, request, method: str, host: str, raw_path: str, raw_query: str,
               headers: dict[str, list[str]], request_id: str):
        op = route(method, host, raw_path, raw_query, headers,
                   self.backend.config.rest_endpoints,
                   getattr(self.backend.config, "website_endpoints", ()))
        request.s3_op = op
        if self.backend.config.log_level != "info":
            log.debug("{request_id} {method} {uri} headers={headers}",
                      request_id=request_id, method=method,
                      uri=request.uri.decode("latin-1"),
                      headers={k: v for k, v in headers.items() if k not in SECRET_HEADERS})
        return op

    def _authenticate(self, op, method: str, host: str, raw_path: str, raw_query: str,
                      headers: dict[str, list[str]], client: str) -> AuthResult:
        if op.name == "CorsPreflight" or op.website:
            # Browsers send preflights without credentials, even to a
            # presigned URL: the bucket's CORS rules alone decide.  A
            # website serves what anonymous callers may read.
            return AuthResult(None, None)
        # op.query is what info.query_dict() would decode (routing refuses
        # a query that is not UTF-8): handing it over saves a second parse.
        info = RequestInfo(method=method, raw_path=raw_path, raw_query=raw_query,
                           headers=headers, host=host, parsed_query=op.query)
        try:
            auth = authenticate(info, self.backend.accounts, self.clock.seconds(),
                                bucket_from_host=op.bucket if op.virtual_host else None)
        except S3Error as err:
            if err.code == "SignatureDoesNotMatch":
                blocked = self.auth_failures.blocked(client)
                self.auth_failures.failed(client)
                if blocked:  # the same answer as a right signature gets now
                    raise S3Error("SlowDown") from None
            raise
        if auth.account is not None and self.auth_failures.blocked(client):
            raise S3Error("SlowDown")  # guessing from here: right or wrong, wait
        return auth

    @staticmethod
    def _run(ctx: RequestContext):
        """The operation's handler coroutine (awaited by ``_handle``)."""
        handler = HANDLERS.get(ctx.op.name)
        if handler is None:
            raise S3Error("NotImplemented", f"{ctx.op.name} is not implemented by this server")
        return handler(ctx)

    def _failed(self, failure: Failure, op, raw_path: str, request_id: str,
                method: str) -> Response:
        err = translate(failure.value)
        if err is None:
            log.failure("request {request_id} failed", failure, request_id=request_id)
            err = S3Error("InternalError")
        if op is not None and op.website:
            return website_serve.error_response(err, request_id, method)
        resource = raw_path if op is None else (
            "/" + (op.bucket or "") + ("/" + op.key if op.key is not None else ""))
        return self.error_response(err, resource, request_id, method)

    async def _cors_headers(self, request, headers: dict[str, list[str]],
                            method: str) -> list[tuple[str, str]]:
        """Access-Control-* headers for a request with an Origin (errors too,
        as S3); the bucket's rules are read only for such requests."""
        op = getattr(request, "s3_op", None)
        if op is None or not op.bucket or op.name == "CorsPreflight":
            return []
        try:
            return await cors_headers(self.backend.metadata, op.bucket, headers, method)
        except CancelledError:
            return []  # the client is gone; _send notices
        except Exception:
            log.failure("CORS headers for {bucket}", Failure(), bucket=op.bucket)
            return []

    @staticmethod
    def error_response(err: S3Error, resource: str, request_id: str,
                       method: str) -> Response:
        body = b"" if method == "HEAD" else error_xml(
            err.code, err.message, resource, request_id,
            {k: str(v) for k, v in err.extra.items()})
        resp = Response.xml(body, status=err.status, headers=list(err.headers.items()))
        resp.length = len(body)
        resp.error_code = err.code
        return resp

    async def _send(self, request, response: Response, request_id: str):
        if request._disconnected:
            if response.producer is not None:
                response.producer.stopProducing()
            return response
        request.setResponseCode(response.status, REASONS.get(response.status))
        length = response.length if response.length is not None else len(response.body)
        self._set_headers(request.responseHeaders, response, request_id, length)
        if response.producer is None:
            if response.body and request.method != b"HEAD":
                request.write(response.body)
            request.finish()
            return response
        if request.method == b"HEAD":
            request.finish()
            return response
        producer = response.producer
        request.registerProducer(producer, True)
        try:
            await producer.startProducing(request)
        except Exception:
            # The client is gone or the store failed mid-body: the status line is
            # out, so the only honest signal left is to cut the connection.
            failure = Failure()
            if not request._disconnected:
                log.failure("body stream {request_id} failed", failure,
                            request_id=request_id)
                request.s3_cut = True
                request.unregisterProducer()
                request.channel.transport.abortConnection()
            return response
        request.unregisterProducer()
        if not request._disconnected:
            request.finish()
        return response

    @staticmethod
    def _set_headers(rh, response: Response, request_id: str, length: int) -> None:
        """The response headers, straight into the Headers' dict (names in
        twisted.web's case, values sanitized as it would): the public
        methods re-encode and re-check every name on every call."""
        raw = getattr(rh, "_rawHeaders", None)
        if not isinstance(raw, dict):  # a future twisted: the public way
            _set_headers_public(rh, response, request_id, length)
            return
        rid = request_id.encode()
        raw[b"X-Amz-Request-Id"] = [rid]
        raw[b"X-Amz-Id-2"] = [rid]
        raw[b"Server"] = [SERVER_NAME]
        if response.content_type is not None:
            raw[b"Content-Type"] = [
                sanitize_header_value(response.content_type.encode("latin-1"))]
        else:
            raw.pop(b"Content-Type", None)
        for name, value in response.headers:
            raw_value = _header_value(value)
            if name.startswith("x-amz-meta-"):
                add_header_exact(rh, name.encode("latin-1"), raw_value)
            else:
                if b"\n" in raw_value or b"\r" in raw_value:
                    raw_value = sanitize_header_value(raw_value)
                raw.setdefault(canonical_header_name(name), []).append(raw_value)
        if response.status not in (204, 304) or length:
            raw[b"Content-Length"] = [b"%d" % length]

    def _last_resort(self, failure: Failure, request, request_id: str):
        log.failure("unhandled error in request {request_id}", failure,
                    request_id=request_id)
        if not request._disconnected and not request.startedWriting:
            request.setResponseCode(500, b"Internal Server Error")
            request.finish()
        return None

    def _log(self, response, request, request_id: str, started: float) -> None:
        """One access-log line per request (see accesslog.py for where it goes;
        the fields also go to structured observers when there are any)."""
        status, code = _outcome(response, request)
        op = getattr(request, "s3_op", None)
        if op is not None:
            op_name = op.name
            bucket = op.bucket or "-"
            key = op.key[:256] if op.key is not None else "-"
        else:
            op_name = request.method.decode("latin-1")
            bucket = key = "-"
        address = request.getClientAddress()
        client = getattr(address, "host", "-")
        bytes_in = request.body.received
        bytes_out = getattr(request, "bytes_sent", 0)
        duration_ms = (self.clock.seconds() - started) * 1000
        account = getattr(request, "s3_account", None)
        line = (f"{request_id} {client} {op_name} bucket={bucket} key={key} {status} {code} "
                f"in={bytes_in} out={bytes_out} {duration_ms:.1f}ms")
        self.access_log.emit(line, request_id=request_id, client=client, op=op_name,
                             bucket=bucket, key=key, status=status, error=code,
                             bytes_in=bytes_in, bytes_out=bytes_out, duration_ms=duration_ms,
                             client_port=getattr(address, "port", None),
                             method=request.method.decode("latin-1"),
                             url=request.uri.decode("latin-1"),
                             account=account.name if account is not None else None,
                             canonical_id=account.canonical_id if account is not None else None)
        if self.metrics is not None:  # the same facts, counted (metrics/families.py)
            self.metrics.request_done(op_name, status, code, bytes_in, bytes_out,
                                      duration_ms / 1000)


#: the status logged for a response the client did not wait for (nginx's
#: "client closed request"; no HTTP status fits, and 200 would be a lie)
CLIENT_CLOSED = 499


def _outcome(response, request) -> tuple[int, str]:
    """(status, error code) of the access line: what was answered, unless
    the answer never completed — the client went away (499, or the answer's
    error code when it was one) or the body stream failed (500)."""
    status = getattr(response, "status", request.code)
    code = getattr(response, "error_code", None) or "-"
    if getattr(request, "s3_cut", False):
        return 500, "InternalError"
    if request._disconnected and not request.finished:
        return CLIENT_CLOSED, code
    return status, code
