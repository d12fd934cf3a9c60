# -*- test-case-name: tests.unit.test_accesslog -*-
"""The access log: one line per request, at the cost of a list append.

Through twisted.logger a line costs ~25 µs — an event dict, the publisher,
then the text observer's ``formatTime`` (a tz-aware datetime and strftime
per event), its string.Formatter pass and a flush per line — a twentieth of
a small request.  When the process logs the way twistd sets it up (the
global publisher feeding exactly one text observer, the classic
"timestamp [system] text" format), the lines are formatted here instead,
byte for byte what that observer would write (checked once against the
observer's own formatter), the timestamp once a second, and written to its
file once per reactor turn.

Any other set-up — another observer added (a JSON log, trial's), a
different time format — gets the same twisted.logger event as always, with
every field (request_id, client, op, bucket, key, status, error, bytes_in,
bytes_out, duration_ms) for structured observers.

With JSON logs (config.json ``log.format``, cloudserver/logs.py) the only
observer is a :class:`~cloudserver.logs.JsonLogObserver`: the lines are
werelogs objects (``message`` "responded to request", ``httpCode``,
``bytesSent``, ...), written to its file the same way.

The request's own cost is one list append (its time, line and fields);
formatting happens when the turn's lines are written.  Lines wait at most
until the end of the reactor turn; other log events of that turn may be
written before them (each line keeps its own timestamp).
"""
from __future__ import annotations

from typing import Any

from twisted.logger import (
    FileLogObserver,
    Logger,
    LogLevel,
    formatTime,
    globalLogPublisher,
    timeFormatRFC3339,
)

from cloudserver.logs import JsonLogObserver, redact

NAMESPACE = "cloudserver.s3"
_SYSTEM = f" [{NAMESPACE}#info] "


class AccessLog:
    """Writes access lines for one S3 front (``clock``: the reactor)."""

    def __init__(self, clock: Any, publisher: Any = globalLogPublisher):
        self._clock = clock
        self._publisher = publisher
        self._log = Logger(namespace=NAMESPACE, observer=publisher)
        #: (observer, its file, its encoding) once verified; None otherwise
        self._direct: tuple[Any, Any, str | None] | None = None
        #: observers that were checked and are not a classic text observer
        self._refused: Any = None
        #: (time, line, fields) of each line not written yet
        self._pending: list[tuple[float, str, dict]] = []
        self._flush_call = None
        self._second: int | None = None
        self._stamp = ""
        if hasattr(clock, "addSystemEventTrigger"):
            clock.addSystemEventTrigger("after", "shutdown", self.flush)

    def emit(self, line: str, **fields: Any) -> None:
        """Log ``line``; ``fields`` are the event's fields for other observers."""
        direct = self._direct_observer()
        if direct is None:
            self._log.info("{line}", line=line, **fields)
            return
        self._pending.append((self._clock.seconds(), line, fields))
        if self._flush_call is None:
            self._flush_call = self._clock.callLater(0, self.flush)

    def flush(self) -> None:
        """Write the pending lines (end of a reactor turn, shutdown)."""
        call, self._flush_call = self._flush_call, None
        if call is not None and call.active():
            call.cancel()
        lines, self._pending = self._pending, []
        if not lines:
            return
        direct = self._direct
        if direct is None or not self._publishes_only_to(direct[0]):
            # The logging set-up changed meanwhile: hand them to it.
            for _, line, fields in lines:
                self._log.info("{line}", line=line, **fields)
            return
        observer, out, encoding = direct
        if isinstance(observer, JsonLogObserver):
            text = "".join([observer.base.line(werelogs_fields(when, fields))
                            for when, _, fields in lines])
        else:
            text = "".join([self._classic(when, line) for when, line, _ in lines])
        out.write(text if encoding is None else text.encode(encoding))
        out.flush()

    def _classic(self, when: float, line: str) -> str:
        """``line`` as twistd's text observer writes it (stamp once a second)."""
        second = int(when)
        if second != self._second:
            self._stamp = formatTime(second, timeFormatRFC3339)
            self._second = second
        text = line.replace("\n", "\n\t") if "\n" in line else line
        return f"{self._stamp}{_SYSTEM}{text}\n"

    # -- is the set-up twistd's? -------------------------------------------

    def _observers(self) -> list | None:
        observers = getattr(self._publisher, "_observers", None)
        return observers if isinstance(observers, list) else None

    def _publishes_only_to(self, observer: Any) -> bool:
        observers = self._observers()
        return observers is not None and len(observers) == 1 and observers[0] is observer

    def _direct_observer(self):
        direct = self._direct
        if direct is not None and self._publishes_only_to(direct[0]):
            return direct
        observers = self._observers()
        if observers is None or len(observers) != 1:
            self._direct = None
            return None
        observer = observers[0]
        if observer is self._refused:
            return None
        self.flush()  # lines pending for another observer go first
        self._direct = _classic_text_file(observer)
        if self._direct is None:
            self._refused = observer
        return self._direct


def _classic_text_file(observer: Any) -> tuple[Any, Any, str | None] | None:
    """(observer, file, encoding) when ``observer`` is a FileLogObserver that
    writes what :class:`AccessLog` would (twistd's ``textFileLogObserver``),
    or the JSON observer of cloudserver.logs."""
    if type(observer) is JsonLogObserver:
        return observer, observer.out, observer.encoding
    if type(observer) is not FileLogObserver:
        return None
    out = getattr(observer, "_outFile", None)
    if out is None or not hasattr(out, "write"):
        return None
    when = 1234567890.5
    probe = {"log_format": "{line}", "line": "probe {x}\nnext", "log_time": when,
             "log_namespace": NAMESPACE, "log_level": LogLevel.info, "log_source": None}
    expected = (f"{formatTime(int(when), timeFormatRFC3339)}{_SYSTEM}"
                "probe {x}\n\tnext\n")
    try:
        if observer.formatEvent(probe) != expected:
            return None
    except Exception:  # noqa: BLE001 - any surprise: use the events
        return None
    return observer, out, getattr(observer, "_encoding", None)


#: access-log field -> werelogs field, in the order they are written
_WERELOGS = (("request_id", "req_id"), ("client", "clientIP"), ("client_port", "clientPort"),
             ("method", "httpMethod"), ("url", "httpURL"), ("status", "httpCode"),
             ("error", "errorCode"), ("op", "operation"), ("bucket", "bucketName"),
             ("key", "objectKey"), ("bytes_in", "bodyLength"), ("bytes_out", "bytesSent"),
             ("account", "accountName"), ("canonical_id", "canonicalId"))


def werelogs_fields(when: float, fields: dict) -> dict:
    """The werelogs object of one access line (upstream's end-of-request
    "responded to request"); a field that is "-" (no bucket, no error) or
    absent is left out, as werelogs does."""
    out: dict[str, Any] = {"time": int(when * 1000), "level": "info", "name": NAMESPACE,
                           "message": "responded to request"}
    for ours, theirs in _WERELOGS:
        value = fields.get(ours)
        if value is None or value == "-":
            continue
        out[theirs] = redact(value) if ours == "url" else value
    duration = fields.get("duration_ms")
    if duration is not None:
        out["elapsed_ms"] = round(duration, 3)
    return out
