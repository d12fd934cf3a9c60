"""The access log writes what twistd's text observer would, or events."""
from __future__ import annotations

import io

from twisted.internet.task import Clock
from twisted.logger import (
    LogLevel,
    LogPublisher,
    formatEventAsClassicLogText,
    textFileLogObserver,
)
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.http.accesslog import NAMESPACE, AccessLog

NOW = 1_700_000_000.25
FIELDS = {"request_id": "R1", "status": 200}


def classic(line: str, when: float) -> str:
    """What textFileLogObserver writes for our event at ``when``."""
    return formatEventAsClassicLogText({
        "log_format": "{line}", "line": line, "log_time": when,
        "log_namespace": NAMESPACE, "log_level": LogLevel.info})


class AccessLogTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.clock.advance(NOW)
        self.out = io.StringIO()
        self.publisher = LogPublisher(textFileLogObserver(self.out))
        self.log = AccessLog(self.clock, self.publisher)

    def test_same_text_once_per_turn(self):
        self.log.emit("R1 127.0.0.1 GetObject bucket=b key=k 200 - in=0 out=5 0.1ms",
                      **FIELDS)
        self.clock.advance(1.5)
        self.log.emit("R2 {braces} and a\nnewline", **FIELDS)
        self.assertEqual(self.out.getvalue(), classic(
            "R1 127.0.0.1 GetObject bucket=b key=k 200 - in=0 out=5 0.1ms", NOW))
        self.clock.advance(0)
        self.assertEqual(self.out.getvalue(), classic(
            "R1 127.0.0.1 GetObject bucket=b key=k 200 - in=0 out=5 0.1ms", NOW)
            + classic("R2 {braces} and a\nnewline", NOW + 1.5))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_bytes_file(self):
        out = io.BytesIO()
        log = AccessLog(self.clock, LogPublisher(textFileLogObserver(out)))
        log.emit("R1 caf\u00e9", **FIELDS)
        log.flush()
        self.assertEqual(out.getvalue(), classic("R1 caf\u00e9", NOW).encode("utf-8"))

    def test_other_observers_get_events(self):
        events = []
        self.publisher.addObserver(events.append)
        self.log.emit("R1 line", **FIELDS)
        self.assertEqual(len(events), 1)
        self.assertEqual(events[0]["request_id"], "R1")
        self.assertEqual(events[0]["log_namespace"], NAMESPACE)
        self.assertIn("R1 line", self.out.getvalue())  # through the observer itself

    def test_other_time_format_gets_events(self):
        out = io.StringIO()
        log = AccessLog(self.clock, LogPublisher(textFileLogObserver(out, timeFormat="%H")))
        log.emit("R1 line", **FIELDS)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.assertTrue(out.getvalue().endswith(f" [{NAMESPACE}#info] R1 line\n"))
        self.assertNotIn("T", out.getvalue().split(" ")[0])

    def test_observer_added_before_the_flush(self):
        self.log.emit("R1 line", **FIELDS)
        events = []
        self.publisher.addObserver(events.append)
        self.clock.advance(0)
        self.assertEqual([e["line"] for e in events], ["R1 line"])
        self.assertEqual(events[0]["request_id"], "R1")
        self.assertIn("R1 line", self.out.getvalue())

    def test_back_to_direct_after_the_extra_observer_leaves(self):
        events = []
        self.publisher.addObserver(events.append)
        self.log.emit("R1 line", **FIELDS)
        self.publisher.removeObserver(events.append)
        self.log.emit("R2 line", **FIELDS)
        self.clock.advance(0)
        self.assertEqual(len(events), 1)
        self.assertTrue(self.out.getvalue().endswith(classic("R2 line", NOW)))
