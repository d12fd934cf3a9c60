# -*- test-case-name: tests.unit.test_logs -*-
"""JSON logs: one werelogs-shaped object per line (config.json ``log.format``).

Upstream CloudServer logs through werelogs, whose lines log shippers
already parse: ``time`` (ms since the epoch), ``level``, ``name``,
``message``, ``hostname``, ``pid``, ``req_id`` and, on the line that ends a
request, ``elapsed_ms``, ``httpCode``, ``httpMethod``, ``httpURL``,
``bucketName``, ``objectKey``, ``bytesSent``, ``bodyLength``, ``clientIP``,
``clientPort``, ``accountName`` / ``canonicalId``, ``errorCode``.  Here every
twisted.logger event is written in that shape by :class:`JsonLogObserver`,
installed the way twistd installs observers (:func:`install`); the access
line (s3/http/accesslog.py) batches its lines into the observer's file
itself.  ``jsonFileLogObserver`` is not used: it writes twisted's own event
serialization, not werelogs' fields.

Secrets never reach a line: fields whose name says secret, password,
token, signature or authorization are dropped, and presigned-URL
signatures and session tokens in any text are replaced by ``REDACTED``.
"""
from __future__ import annotations

import json
import os
import re
import socket
import sys
from typing import Any

from twisted.logger import FileLogObserver, LogLevel, eventAsText

NAME = "cloudserver"

LEVELS = {LogLevel.debug: "debug", LogLevel.info: "info", LogLevel.warn: "warn",
          LogLevel.error: "error", LogLevel.critical: "fatal"}

_SECRET_FIELD = re.compile(r"secret|password|passwd|token|signature|authorization|"
                           r"credential|sse_?key|private", re.IGNORECASE)
_SECRET_QUERY = re.compile(r"((?:X-Amz-Signature|Signature|X-Amz-Security-Token)=)[^&\s'\"]*",
                           re.IGNORECASE)
_PLAIN = (str, int, float, bool, type(None))
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"),
                          check_circular=False, default=str).encode


def redact(text: str) -> str:
    """``text`` without presigned-URL signatures and session tokens."""
    if "=" not in text:
        return text
    return _SECRET_QUERY.sub(r"\1REDACTED", text)


class Base:
    """The fields every line carries, found once per process."""

    def __init__(self, hostname: str | None = None, pid: int | None = None):
        self.hostname = socket.gethostname() if hostname is None else hostname
        self.pid = os.getpid() if pid is None else pid

    def line(self, fields: dict) -> str:
        """One JSON line of ``fields`` with hostname and pid."""
        fields["hostname"] = self.hostname
        fields["pid"] = self.pid
        return _dumps(fields) + "\n"


def event_fields(event: dict) -> dict:
    """The werelogs fields of a twisted.logger event: its text as
    ``message``, its plain fields (none named like a secret) beside it,
    a failure's traceback as ``stack``."""
    level = event.get("log_level")
    fields: dict[str, Any] = {
        "time": int(event.get("log_time", 0) * 1000),
        "level": LEVELS.get(level, "info"),
        "name": event.get("log_namespace") or NAME,
        "message": redact(eventAsText(event, includeTraceback=False,
                                      includeTimestamp=False, includeSystem=False)),
    }
    for key, value in event.items():
        if (key.startswith("log_") or key in fields or key in ("format", "message")
                or not isinstance(value, _PLAIN) or _SECRET_FIELD.search(key)):
            continue
        fields["req_id" if key == "request_id" else key] = (
            redact(value) if isinstance(value, str) else value)
    failure = event.get("log_failure")
    if failure is not None:
        fields["stack"] = redact(failure.getTraceback())
        fields.setdefault("error", failure.getErrorMessage())
    return fields


class JsonLogObserver(FileLogObserver):
    """A twisted.logger observer writing each event as one werelogs JSON
    line to ``out`` (text or binary file)."""

    def __init__(self, out: Any, base: Base | None = None):
        self.base = Base() if base is None else base
        super().__init__(out, self.format_event)

    def format_event(self, event: dict) -> str:
        try:
            return self.base.line(event_fields(event))
        except Exception as e:  # noqa: BLE001 - a log line must never raise
            return self.base.line({"time": int(event.get("log_time", 0) * 1000),
                                   "level": "error", "name": NAME,
                                   "message": f"unformattable log event: {e!r}"})

    @property
    def out(self) -> Any:
        """The file the lines go to (the access log writes its batches there)."""
        return self._outFile

    @property
    def encoding(self) -> str | None:
        return self._encoding


def twistd_log_file(twistd_options: Any) -> Any:
    """The file twistd would log to for these options (``-n`` without
    ``--logfile``, or ``--logfile -``: stdout; else the log file, default
    twistd.log, rotated on SIGUSR1 as twistd does); None for syslog."""
    from twisted.python import logfile

    get = getattr(twistd_options, "get", lambda name, default=None: default)
    if get("syslog", False):
        return None
    name = get("logfile", "") or ""
    if name == "-" or (get("nodaemon", False) and not name):
        return sys.stdout
    out = logfile.LogFile.fromFullPath(name or "twistd.log")
    try:
        import signal

        if not signal.getsignal(signal.SIGUSR1):
            from twisted.internet import reactor

            def rotate(_signal, _frame):
                reactor.callFromThread(out.rotate)
            signal.signal(signal.SIGUSR1, rotate)
    except (ImportError, ValueError, AttributeError):
        pass
    return out


def install(application: Any, observer: Any) -> bool:
    """Make ``observer`` the application's log observer, as a .tac file
    does: twistd's AppLogger takes an ILogObserver component of the
    application when no ``--logger`` was given.  False when ``application``
    cannot hold one (not run by twistd)."""
    from twisted.logger import ILogObserver

    set_component = getattr(application, "setComponent", None)
    if set_component is None or getattr(application, "getComponent", None) is None:
        return False
    if application.getComponent(ILogObserver, None) is None:
        set_component(ILogObserver, observer)
    return True
