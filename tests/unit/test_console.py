# -*- test-case-name: tests.unit.test_console -*-
"""The console's files (cloudserver/console/serve.py): what is served, with
which types and headers, what is refused, and the metrics port's redirect."""
from __future__ import annotations

import re

from twisted.internet.address import IPv4Address
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.config import load_config
from cloudserver.console import serve
from cloudserver.metrics.families import Metrics
from cloudserver.metrics.site import metrics_site
from tests.unit.test_http import Harness, signed, status
from tests.unit.test_metrics import InlinePool, InlineReactor


def header(response: bytes, name: str) -> str | None:
    head = response.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    for line in head.split("\r\n")[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            return v.strip()
    return None


class ServeTests(SynchronousTestCase):
    def test_files_and_types(self):
        for name, kind in (("index.html", "text/html"), ("app.js", "text/javascript"),
                           ("sigv4.js", "text/javascript"), ("console.css", "text/css")):
            answer = serve.handle("GET", "/_/console/" + name)
            self.assertEqual(answer.status, 200, name)
            self.assertTrue(answer.content_type.startswith(kind), answer.content_type)
            self.assertEqual(answer.body, serve.FILES[name][0])
        self.assertEqual(serve.handle("GET", "/_/console/").body, serve.FILES["index.html"][0])

    def test_every_answer_has_the_policy(self):
        for method, path in (("GET", "/_/console/"), ("GET", "/_/console/nope.js"),
                             ("POST", "/_/console/"), ("GET", "/_/console")):
            answer = serve.handle(method, path)
            headers = dict(answer.headers)
            self.assertEqual(headers["Content-Security-Policy"], serve.CSP)
            self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
            self.assertEqual(headers["X-Frame-Options"], "DENY")

    def test_strict_policy(self):
        self.assertIn("default-src 'self'", serve.CSP)
        self.assertIn("frame-ancestors 'none'", serve.CSP)
        self.assertNotIn("unsafe-inline", serve.CSP)
        self.assertNotIn("unsafe-eval", serve.CSP)

    def test_no_inline_script_or_style(self):
        """The CSP forbids them: a page that had one would break."""
        page = serve.FILES["index.html"][0].decode()
        self.assertEqual(re.findall(r"<script(?![^>]*\bsrc=)", page), [])
        self.assertNotIn("<style", page)
        self.assertNotRegex(page, r"\son[a-z]+=")
        self.assertNotIn("style=", page)
        for name, (body, _) in serve.FILES.items():
            if name.endswith(".js"):
                self.assertNotIn(b"innerHTML", body, name)
                self.assertNotIn(b"eval(", body, name)
                self.assertNotIn(b"localStorage", body, name)
                self.assertNotIn(b"document.cookie", body, name)

    def test_not_found_and_refused(self):
        self.assertEqual(serve.handle("GET", "/_/console/../conf/authdata.json").status, 404)
        self.assertEqual(serve.handle("GET", "/_/console/static/app.js").status, 404)
        self.assertEqual(serve.handle("GET", "/_/console/__init__.py").status, 404)
        self.assertEqual(serve.handle("GET", "/_/console/serve.py").status, 404)
        answer = serve.handle("PUT", "/_/console/index.html")
        self.assertEqual(answer.status, 405)
        self.assertIn(("Allow", "GET, HEAD"), answer.headers)
        redirect = serve.handle("GET", "/_/console")
        self.assertEqual(redirect.status, 301)
        self.assertIn(("Location", "/_/console/"), redirect.headers)

    def test_other_paths_are_not_ours(self):
        for path in ("/_/consoles", "/_/healthcheck", "/bucket/_/console/", "/"):
            self.assertIsNone(serve.handle("GET", path), path)

    def test_imports_resolve(self):
        """Every module a script imports is one of the served files."""
        for name, (body, _) in serve.FILES.items():
            for target in re.findall(rb'from "\./([^"]+)"', body):
                self.assertIn(target.decode(), sorted(serve.FILES), name)
        page = serve.FILES["index.html"][0].decode()
        for target in re.findall(r'(?:src|href)="([^"#]+)"', page):
            if not target.startswith("data:"):
                self.assertIn(target, sorted(serve.FILES))


class S3PortTests(SynchronousTestCase):
    def get(self, path: str, method: str = "GET") -> bytes:
        return Harness().send(f"{method} {path} HTTP/1.1\r\nHost: localhost:8000\r\n\r\n".encode())

    def test_served_without_auth(self):
        out = self.get("/_/console/")
        self.assertEqual(status(out), 200)
        self.assertEqual(header(out, "content-type"), "text/html; charset=utf-8")
        self.assertEqual(header(out, "content-security-policy"), serve.CSP)
        self.assertIn(b"<title>cloudserver console</title>", out)
        self.assertEqual(status(self.get("/_/console/app.js")), 200)
        head = self.get("/_/console/app.js", "HEAD")
        self.assertEqual(status(head), 200)
        self.assertTrue(head.endswith(b"\r\n\r\n"))

    def test_not_found_is_not_s3(self):
        out = self.get("/_/console/missing.js")
        self.assertEqual(status(out), 404)
        self.assertEqual(header(out, "content-security-policy"), serve.CSP)
        self.assertEqual(status(self.get("/_/console/", "DELETE")), 405)

    def test_s3_still_answers(self):
        h = Harness()
        self.assertEqual(status(h.send(signed("GET", "/"))), 200)
        out = h.send(b"POST /_/console/ HTTP/1.1\r\nHost: localhost:8000\r\n"
                     b"Content-Length: 0\r\n\r\n")
        self.assertEqual(status(out), 405)


class MetricsPortTests(SynchronousTestCase):
    def get(self, path: str, console_port: int | None, host: str = "example.test:8002") -> bytes:
        backend = type("B", (), {"config": load_config({"S3BACKEND": "mem"}), "kms": None,
                                 "locations": None})()
        proto = metrics_site(Metrics(process=False).registry, backend, InlineReactor(),
                             InlinePool(), console_port).buildProtocol(None)
        transport = StringTransport(peerAddress=IPv4Address("TCP", "127.0.0.1", 1234))
        proto.makeConnection(transport)
        proto.dataReceived(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
        return transport.value()

    def test_redirect_to_the_s3_port(self):
        out = self.get("/_/console/", 8000)
        self.assertTrue(out.startswith(b"HTTP/1.1 302"), out[:80])
        self.assertEqual(header(out, "location"), "http://example.test:8000/_/console/")
        out = self.get("/_/console/", 8000, host="[::1]:8002")
        self.assertEqual(header(out, "location"), "http://[::1]:8000/_/console/")

    def test_no_s3_port_no_console(self):
        self.assertTrue(self.get("/_/console/", None).startswith(b"HTTP/1.1 404"))

    def test_odd_host_falls_back(self):
        out = self.get("/_/console/", 8000, host="evil@x")
        self.assertEqual(header(out, "location"), "http://localhost:8000/_/console/")
