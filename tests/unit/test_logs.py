"""JSON logs: werelogs fields, one line per event, no secrets, and the
access log's batches in the same shape; config and twistd set-up."""
from __future__ import annotations

import io
import json

from twisted.internet.task import Clock
from twisted.logger import ILogObserver, Logger, LogPublisher
from twisted.python.components import Componentized
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from cloudserver import logs
from cloudserver.config import ConfigError, _log_format
from cloudserver.s3.http.accesslog import AccessLog

NOW = 1_700_000_000.25
BASE = logs.Base(hostname="h1", pid=42)


def lines_of(out) -> list[dict]:
    text = out.getvalue()
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    assert text.endswith("\n"), text
    return [json.loads(line) for line in text.split("\n")[:-1]]


class JsonObserverTests(SynchronousTestCase):
    def setUp(self):
        self.out = io.StringIO()
        self.log = Logger(namespace="cloudserver.test",
                          observer=LogPublisher(logs.JsonLogObserver(self.out, BASE)))

    def test_fields(self):
        self.log.info("hello {who}", who="world", request_id="R1", count=3)
        [line] = lines_of(self.out)
        self.assertEqual(line["message"], "hello world")
        self.assertEqual(line["level"], "info")
        self.assertEqual(line["name"], "cloudserver.test")
        self.assertEqual((line["hostname"], line["pid"]), ("h1", 42))
        self.assertEqual((line["req_id"], line["who"], line["count"]), ("R1", "world", 3))
        self.assertIsInstance(line["time"], int)

    def test_levels(self):
        self.log.debug("d")
        self.log.warn("w")
        self.log.error("e")
        self.log.critical("c")
        self.assertEqual([line["level"] for line in lines_of(self.out)],
                         ["debug", "warn", "error", "fatal"])

    def test_escaping_one_line_per_event(self):
        self.log.info("two\nlines \"quoted\" {x} caf\u00e9 \x00", x="{braces}\r\n")
        self.log.info("second")
        text = self.out.getvalue()
        self.assertEqual(text.count("\n"), 2)
        first, second = lines_of(self.out)
        self.assertEqual(first["message"], "two\nlines \"quoted\" {braces}\r\n caf\u00e9 \x00")
        self.assertEqual(second["message"], "second")

    def test_failure_is_one_line_with_stack(self):
        self.log.failure("request {request_id} failed", Failure(ZeroDivisionError("x")),
                         request_id="R2")
        [line] = lines_of(self.out)
        self.assertEqual(line["level"], "fatal")
        self.assertIn("ZeroDivisionError", line["stack"])
        self.assertEqual(line["req_id"], "R2")

    def test_secrets_never_written(self):
        self.log.info("GET {uri}", uri="/b/k?X-Amz-Signature=deadbeef&X-Amz-Security-Token=tok"
                      "&x-id=1", secret_key="verySecretKey1", password="pw",
                      authorization="AWS4-HMAC-SHA256 Signature=cafe")
        text = self.out.getvalue()
        for secret in ("deadbeef", "tok&", "verySecretKey1", "pw", "cafe"):
            self.assertNotIn(secret, text)
        [line] = lines_of(self.out)
        self.assertIn("X-Amz-Signature=REDACTED", line["message"])
        self.assertIn("x-id=1", line["uri"])

    def test_unserializable_values_are_text_or_left_out(self):
        self.log.info("x {obj}", obj=object(), nested={"a": 1})
        [line] = lines_of(self.out)
        self.assertNotIn("obj", line)
        self.assertTrue(line["message"].startswith("x <object"))

    def test_bytes_file(self):
        out = io.BytesIO()
        Logger(observer=LogPublisher(logs.JsonLogObserver(out, BASE))).info("caf\u00e9")
        self.assertEqual(lines_of(out)[0]["message"], "caf\u00e9")


ACCESS = dict(request_id="R1", client="127.0.0.1", client_port=5555, method="GET",
              url="/b/k?X-Amz-Signature=abc", op="GetObject", bucket="b", key="k",
              status=200, error="-", bytes_in=0, bytes_out=5, duration_ms=1.23456,
              account="Bart", canonical_id="79a5")


class JsonAccessLogTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.clock.advance(NOW)
        self.out = io.StringIO()
        self.log = AccessLog(self.clock, LogPublisher(logs.JsonLogObserver(self.out, BASE)))

    def test_werelogs_fields_once_per_turn(self):
        self.log.emit("R1 line", **ACCESS)
        self.log.emit("R2 line", **dict(ACCESS, request_id="R2", bucket="-", key="-",
                                        status=404, error="NoSuchBucket"))
        self.assertEqual(self.out.getvalue(), "")  # one append each, written later
        self.clock.advance(0)
        first, second = lines_of(self.out)
        self.assertEqual(first, {
            "time": int(NOW * 1000), "level": "info", "name": "cloudserver.s3",
            "message": "responded to request", "req_id": "R1", "clientIP": "127.0.0.1",
            "clientPort": 5555, "httpMethod": "GET",
            "httpURL": "/b/k?X-Amz-Signature=REDACTED", "httpCode": 200,
            "operation": "GetObject", "bucketName": "b", "objectKey": "k",
            "bodyLength": 0, "bytesSent": 5, "accountName": "Bart", "canonicalId": "79a5",
            "elapsed_ms": 1.235, "hostname": "h1", "pid": 42})
        self.assertEqual((second["httpCode"], second["errorCode"]), (404, "NoSuchBucket"))
        self.assertNotIn("bucketName", second)
        self.assertEqual(self.clock.getDelayedCalls(), [])


class ConfigTests(SynchronousTestCase):
    def test_default_text(self):
        self.assertEqual(_log_format({}, {}), "text")
        self.assertEqual(_log_format({"log": {"logLevel": "info"}}, {}), "text")

    def test_config_and_env_wins(self):
        self.assertEqual(_log_format({"log": {"format": "json"}}, {}), "json")
        self.assertEqual(_log_format({"log": {"format": "json"}}, {"LOG_FORMAT": "text"}),
                         "text")
        self.assertEqual(_log_format({}, {"LOG_FORMAT": "json"}), "json")

    def test_bad_values(self):
        self.assertRaises(ConfigError, _log_format, {"log": {"format": "xml"}}, {})
        self.assertRaises(ConfigError, _log_format, {}, {"LOG_FORMAT": "JSON "})


class TwistdSetUpTests(SynchronousTestCase):
    def test_install_as_application_component(self):
        app = Componentized()
        observer = logs.JsonLogObserver(io.StringIO(), BASE)
        self.assertTrue(logs.install(app, observer))
        self.assertIs(app.getComponent(ILogObserver), observer)
        self.assertFalse(logs.install(object(), observer))

    def test_log_file_as_twistd_chooses(self):
        import sys

        self.assertIs(logs.twistd_log_file({"nodaemon": True, "logfile": None}), sys.stdout)
        self.assertIs(logs.twistd_log_file({"nodaemon": True, "logfile": "-"}), sys.stdout)
        self.assertIsNone(logs.twistd_log_file({"syslog": True}))
        path = self.mktemp()
        out = logs.twistd_log_file({"nodaemon": True, "logfile": path})
        self.addCleanup(out.close)
        self.assertEqual(out.path, __import__("os").path.abspath(path))

    def test_top_service_carries_the_observer(self):
        from types import SimpleNamespace

        from cloudserver.tap import top_service

        class Opts(dict):
            parent = {"nodaemon": True, "logfile": None}

        from twisted.application.service import Application

        top = top_service(SimpleNamespace(log_format="json"), Opts(), None)
        app = Application("cloudserver")  # what twistd attaches makeService's tree to
        top.setServiceParent(app)
        self.assertIsInstance(app.getComponent(ILogObserver), logs.JsonLogObserver)
        text = top_service(SimpleNamespace(log_format="text"), Opts(), None)
        self.assertIsNone(text.log_observer)


class DebugHeadersTests(SynchronousTestCase):
    """LOG_LEVEL=debug logs a request's headers, never its credentials."""

    def test_secret_headers_left_out(self):
        import attrs
        from twisted.logger import globalLogPublisher

        from tests.unit.test_http import Harness, signed

        h = Harness()
        backend = h.site.resource.backend
        backend.config = attrs.evolve(backend.config, log_level="debug")
        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        h.send(signed("PUT", "/bucket", headers={
            "x-amz-security-token": "sessiontok",
            "x-amz-server-side-encryption-customer-key": "c3NlY2tleQ=="}))
        text = "".join(logs.event_fields(e)["message"] for e in events)
        self.assertIn("headers=", text)
        for secret in ("sessiontok", "c3NlY2tleQ==", "Signature=", "AWS4-HMAC"):
            self.assertNotIn(secret, text)
