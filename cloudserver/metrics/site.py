# -*- test-case-name: tests.unit.test_metrics -*-
"""The metrics port (config.json ``metrics``): ``GET /metrics`` in the
Prometheus text format, served by prometheus_client's own exposition over
this server's registry, and the healthcheck (``/_/healthcheck``,
``/_/healthcheck/deep``) with the S3 port's rules.

``prometheus_client.twisted.MetricsResource`` is a WSGIResource of the
library's WSGI app on the *global* reactor and its thread pool; ours is
the same resource built with the injected reactor and pool (tests drive it
without a reactor).  Collecting runs in that pool, off the reactor thread:
a scrape never stalls requests, and the families are thread-safe.

``/_/console/`` (the web console) is served by the S3 port, the origin the
page signs its requests to: here it is a redirect there, in the modes
that have an S3 port.  Everything else is a 404.  No S3 authentication: the port is for the
operator's network (it binds to localhost unless ``bindAddress`` says
otherwise); the healthcheck keeps its ``healthChecks.allowFrom`` check.
"""
from __future__ import annotations

from typing import Any

from prometheus_client.exposition import make_wsgi_app
from twisted.internet.defer import Deferred
from twisted.web.resource import NoResource, Resource
from twisted.web.server import NOT_DONE_YET, Site
from twisted.web.wsgi import WSGIResource

from cloudserver.console import serve as console
from cloudserver.s3.http import healthcheck


class HealthResource(Resource):
    """``/_/…``: healthcheck.handle over ``backend`` (config, locations, kms)."""

    isLeaf = True

    def __init__(self, backend: Any, console_port: int | None = None):
        super().__init__()
        self.backend = backend
        #: the S3 port the console is served on (None: no S3 port here)
        self.console_port = console_port

    def render(self, request):
        method = request.method.decode("latin-1").upper()
        path = request.path.decode("latin-1")
        client = getattr(request.getClientAddress(), "host", "")
        if self.console_port is not None:
            host = (request.getHeader(b"host") or b"").decode("latin-1")
            secure = getattr(self.backend.config, "cert_file_paths", None) is not None
            answer = console.elsewhere(method, path, host, self.console_port, secure)
            if answer is not None:
                self._answer(answer, request)
                return NOT_DONE_YET
        d = Deferred.fromCoroutine(healthcheck.handle(self.backend, method, path, client))
        d.addCallback(self._answer, request)
        d.addErrback(self._failed, request)
        return NOT_DONE_YET

    @staticmethod
    def _answer(response, request) -> None:
        if response is None:
            request.setResponseCode(404)
            body = b""
        else:
            request.setResponseCode(response.status)
            request.setHeader(b"content-type", response.content_type.encode())
            for name, value in response.headers:
                request.setHeader(name.encode("latin-1"), value.encode("latin-1"))
            body = response.body
        request.setHeader(b"content-length", b"%d" % len(body))
        if request.method != b"HEAD":
            request.write(body)
        request.finish()

    @staticmethod
    def _failed(failure, request) -> None:
        if not request.finished and not request._disconnected:
            request.setResponseCode(500)
            request.finish()


class MetricsRoot(Resource):
    """``/metrics`` and ``/_/``; the rest is not found."""

    def __init__(self, registry: Any, backend: Any, reactor: Any, pool: Any,
                 console_port: int | None = None):
        super().__init__()
        self.putChild(b"metrics", WSGIResource(reactor, pool, make_wsgi_app(registry)))
        self.putChild(b"_", HealthResource(backend, console_port))

    def getChild(self, path, request):
        return NoResource()


def metrics_site(registry: Any, backend: Any, reactor: Any, pool: Any,
                 console_port: int | None = None) -> Site:
    """The twisted.web Site of the metrics port (``pool``: where scrapes run;
    ``console_port``: the S3 port ``/_/console/`` redirects to, if any)."""
    site = Site(MetricsRoot(registry, backend, reactor, pool, console_port), reactor=reactor)
    site.displayTracebacks = False
    site.noisy = False
    return site
