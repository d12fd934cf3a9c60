# -*- test-case-name: tests.functional.test_durability -*-
"""
Run a real ``twistd -n cloudserver`` for functional tests.

Functional tests talk to a separate server process through real clients, so
they may block: they are plain synchronous trial test cases.  This module
owns the process: a free loopback port, fresh data and metadata directories,
a log file, a bounded wait for the port to accept connections, and a stop
that escalates from SIGTERM to SIGKILL.  ``kill9`` and ``restart`` keep the
directories so durability tests can check what survived.

Trial has no ``setUpClass``; ``ServerTestCase`` shares one server between the
tests of a class by starting it lazily in the first ``setUp`` and stopping it
after the class's last test (or when another class needs a server, or at
interpreter exit when only part of a class was selected).
"""

from __future__ import annotations

import atexit
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import ClassVar

from twisted.python.reflect import prefixedMethodNames
from twisted.trial import unittest

from cloudserver import certs

#: The checkout: the server is started from here, as the README does.
CHECKOUT = Path(__file__).resolve().parents[2]

#: How long a server may take to accept connections.
START_TIMEOUT = 30.0
#: How long SIGTERM is given before SIGKILL.
STOP_TIMEOUT = 10.0

#: Environment variables that would change the server under test if inherited.
_SERVER_ENV_SCRUB = (
    "S3BACKEND",
    "S3DATA",
    "S3DATAPATH",
    "S3METADATAPATH",
    "S3_CONFIG_FILE",
    "S3AUTH_CONFIG",
    "S3_LOCATION_FILE",
    "SCALITY_ACCESS_KEY_ID",
    "SCALITY_SECRET_ACCESS_KEY",
    "ENDPOINT",
    "LISTEN_ADDR",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "SSL",
    "METADATA_HOST",
    "DATA_HOST",
)


def venv_bin(name: str) -> str:
    """
    The console script ``name`` installed next to the running interpreter.

    Tests run from ``.venv/bin/trial`` (or a tox env); the clients under
    test were installed into that same environment by the ``test`` extra.
    """
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} is not installed next to {sys.executable}")
    return found


def free_port() -> int:
    """
    A TCP port that was free on 127.0.0.1 a moment ago.

    Another process may take it before the server binds it; ``ServerProcess``
    retries on a fresh port when that happens.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _status_kib(pid: int, field: str) -> int:
    """One ``kB`` field (VmRSS, VmHWM, ...) of ``/proc/<pid>/status``."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


class ServerStartError(Exception):
    """The server did not come up; the message carries its log tail."""


class ServerProcess:
    """
    One ``twistd -n --pidfile= cloudserver`` subprocess and its directories.

    @ivar workdir: holds ``data/``, ``metadata/``, ``config.json`` and ``server.log``.
    @ivar port: the S3 port, fixed at the first start and kept by restarts.
    @ivar metadata_port: the metadata daemon's port (:9990 in production).
    @ivar data_port: the data daemon's port (:9991 in production).
    @ivar mode: ``--mode``: "all" (default), "dmd" (daemons only; started
        when both daemon ports accept) or "s3" (a front end; pass ``dmd``,
        the ServerProcess of the daemon it uses).
    """

    def __init__(self, workdir: str | os.PathLike[str] | None = None,
                 extra_env: dict[str, str] | None = None,
                 extra_args: tuple[str, ...] = (), *, tls: bool = False,
                 mode: str = "all", dmd: "ServerProcess | None" = None,
                 cwd: str | os.PathLike[str] | None = None,
                 interpreter: str | None = None,
                 extra_config: dict | None = None) -> None:
        if workdir is None:
            workdir = tempfile.mkdtemp(prefix="cloudserver-ft-", dir=os.getcwd())
        self.workdir = Path(workdir).resolve()
        self.data_dir = self.workdir / "data"
        self.metadata_dir = self.workdir / "metadata"
        self.log_path = self.workdir / "server.log"
        self.config_path = self.workdir / "config.json"
        self.extra_env = dict(extra_env or {})
        #: config.json fields set over the checkout's defaults.
        self.extra_config = dict(extra_config or {})
        self.extra_args = tuple(extra_args)
        self.port: int | None = None
        self.metadata_port: int | None = None
        self.data_port: int | None = None
        #: config.json metrics.port, when the test asked for one (as 0)
        self.metrics_port: int | None = None
        self.mode = mode
        self.dmd = dmd
        if mode == "s3" and dmd is None:
            raise ValueError("an s3-mode front needs the dmd it talks to")
        self.process: subprocess.Popen[bytes] | None = None
        #: With ``tls``: a test CA and a server certificate for 127.0.0.1 and
        #: localhost, made in ``workdir/tls``, served through certFilePaths.
        self.tls = tls
        #: The server's working directory (relative certFilePaths, SSL=true files).
        self.cwd = Path(cwd) if cwd is not None else CHECKOUT
        #: Run twistd with this Python (another environment, e.g. one the
        #: package was installed into from its wheel); default the script's own.
        self.interpreter = interpreter
        self.ca_file: str | None = None
        if tls:
            files = certs.write_ca_and_server(self.workdir / "tls", ["localhost", "127.0.0.1"])
            self.cert_files = files
            self.ca_file = str(files.ca_cert)
        self.argv: list[str] = []
        for directory in (self.data_dir, self.metadata_dir):
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    # -- addresses ---------------------------------------------------------

    @property
    def scheme(self) -> str:
        return "https" if self.tls else "http"

    @property
    def endpoint(self) -> str:
        """The path-style endpoint URL clients are pointed at."""
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.process is not None, "server is not running"
        return self.process.pid

    # -- life cycle --------------------------------------------------------

    def start(self, attempts: int = 3) -> None:
        """
        Start the server and wait until its S3 port accepts connections.

        The first start picks a free port (retrying on a fresh one if
        another process raced us to it); later starts reuse it.
        """
        keep_port = self.port is not None
        last_error: ServerStartError | None = None
        for _ in range(1 if keep_port else attempts):
            if not keep_port:
                self.port = free_port()
                self._write_config()
            try:
                self._start_once()
                return
            except ServerStartError as error:
                last_error = error
                if "address already in use" not in str(error).lower():
                    break
        assert last_error is not None
        raise last_error

    def _write_config(self) -> None:
        """
        conf/config.json with this server's ports: the S3 port and free ports
        for the metadata and data daemons (9990/9991 by default), so a test
        server never collides with another server on the machine.
        """
        config = json.loads((CHECKOUT / "conf" / "config.json").read_text())
        config.update(self.extra_config)
        config["port"] = self.port
        if self.tls:
            config["certFilePaths"] = self.cert_files.cert_file_paths()
        ports = []
        for daemon, client in (("metadataDaemon", "metadataClient"),
                               ("dataDaemon", "dataClient")):
            port = free_port()
            ports.append(port)
            config.setdefault(daemon, {})["port"] = port
            config.setdefault(client, {})["port"] = port
        self.metadata_port, self.data_port = ports
        metrics = config.get("metrics")
        if isinstance(metrics, dict) and metrics.get("port") == 0:
            # a metrics port asked for as 0: a free one, like the others
            self.metrics_port = free_port()
            config["metrics"] = {**metrics, "port": self.metrics_port}
        if self.dmd is not None:
            # A front end: reach the given dmd's daemons.
            assert self.dmd.metadata_port is not None, "start the dmd first"
            config["metadataClient"] = {"host": "127.0.0.1", "port": self.dmd.metadata_port}
            config["dataClient"] = {"host": "127.0.0.1", "port": self.dmd.data_port}
        self.config_path.write_text(json.dumps(config, indent=4))

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in _SERVER_ENV_SCRUB}
        env.update(
            LISTEN_ADDR="127.0.0.1",
            S3BACKEND="file",
            S3DATAPATH=str(self.data_dir),
            S3METADATAPATH=str(self.metadata_dir),
            S3_CONFIG_FILE=str(self.config_path),
            PYTHONUNBUFFERED="1",
        )
        env.update(self.extra_env)
        return env

    def _start_once(self) -> None:
        mode_args = ("--mode", self.mode) if self.mode != "all" else ()
        python = (self.interpreter,) if self.interpreter else ()
        self.argv = [*python, venv_bin("twistd"), "-n", "--pidfile=", "cloudserver",
                     "--port", str(self.port), *mode_args, *self.extra_args]
        # A dmd has no S3 port: it is up when both daemon ports accept.
        wait_for = ([self.metadata_port, self.data_port] if self.mode == "dmd"
                    else [self.port])
        with open(self.log_path, "ab") as log:
            log.write(f"==== {time.strftime('%H:%M:%S')} starting: "
                      f"{shlex.join(self.argv)}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                self.argv, cwd=self.cwd, env=self._environment(),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                code = self.process.returncode
                self.process = None
                raise ServerStartError(
                    f"server exited with status {code} before accepting "
                    f"connections on port {self.port}\n{self.describe()}")
            if all(_accepts(port) for port in wait_for):
                return
            time.sleep(0.1)
        self.stop()
        raise ServerStartError(
            f"server did not accept connections on port {self.port} within "
            f"{START_TIMEOUT:.0f}s\n{self.describe()}")

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL after ``STOP_TIMEOUT``; returns the exit status."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def send_signal(self, sig: int = signal.SIGTERM) -> None:
        """Signal the server this object started (by its pid), without waiting."""
        assert self.process is not None, "server is not running"
        self.process.send_signal(sig)

    def wait_exit(self, timeout: float) -> int:
        """The exit status of a server told to stop, once it has exited (at
        most ``timeout`` seconds; then ``subprocess.TimeoutExpired``)."""
        assert self.process is not None, "server is not running"
        code = self.process.wait(timeout)
        self.process = None
        return code

    def kill9(self) -> None:
        """Crash the server without warning (``kill -9``); the directories stay."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.kill()
            process.wait()

    def restart(self) -> None:
        """Start again on the same port and the same directories."""
        self.stop()
        self.start()

    def destroy(self) -> None:
        """Stop and delete the (possibly huge) data; keep the log for post-mortems."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
        shutil.rmtree(self.metadata_dir, ignore_errors=True)

    # -- observation -------------------------------------------------------

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def rss_kib(self) -> int:
        return _status_kib(self.pid, "VmRSS")

    def peak_rss_kib(self) -> int:
        """The high-water mark of resident memory (``VmHWM``)."""
        return _status_kib(self.pid, "VmHWM")

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as error:
            return f"(no server log: {error})"
        return "\n".join(text.splitlines()[-lines:])

    def describe(self, lines: int = 60) -> str:
        """A block for failure messages: the command line and the log tail."""
        return (f"---- server: {shlex.join(self.argv)} (cwd {self.cwd})\n"
                f"---- last {lines} lines of {self.log_path}:\n"
                f"{self.log_tail(lines)}\n---- end of server log")


def split_deployment(case: unittest.TestCase, fronts: int = 2
                     ) -> tuple[ServerProcess, list[ServerProcess]]:
    """A started dmd (``--mode dmd``) and ``fronts`` S3 fronts (``--mode s3``)
    on it, all destroyed in ``case``'s cleanup."""
    dmd = ServerProcess(mode="dmd")
    case.addCleanup(dmd.destroy)
    dmd.start()
    started = []
    for _ in range(fronts):
        front = ServerProcess(mode="s3", dmd=dmd)
        case.addCleanup(front.destroy)
        front.start()
        started.append(front)
    return dmd, started


# -- one shared server per test class ------------------------------------

_shared: dict[type, ServerProcess] = {}


def _stop_shared(keep: type | None = None) -> None:
    for cls in list(_shared):
        if cls is not keep:
            _shared.pop(cls).destroy()


atexit.register(_stop_shared)


class ServerTestCase(unittest.SynchronousTestCase):
    """
    Base class for tests that share one server per class.

    ``self.server`` is the running ``ServerProcess``.  A class that needs a
    server of its own per test (durability) overrides ``sharedServer``.  When
    a test fails, the tail of the server log is written to the test's output
    so that a CI log alone explains the failure.
    """

    #: False: every test gets a fresh server, stopped in its cleanup.
    sharedServer: ClassVar[bool] = True
    #: Extra environment for the server (e.g. ``{"LOG_LEVEL": "debug"}``).
    serverEnv: ClassVar[dict[str, str]] = {}
    #: True: the server speaks HTTPS with a test CA (``server.ca_file``).
    serverTLS: ClassVar[bool] = False
    #: config.json fields for the server (e.g. ``{"defaultObjectOwnership": ...}``).
    serverConfig: ClassVar[dict] = {}

    _remaining: ClassVar[set[str]]
    _startError: ClassVar[ServerStartError | None]
    server: ServerProcess

    def setUp(self) -> None:
        if not self.sharedServer:
            self.server = ServerProcess(extra_env=self.serverEnv, tls=self.serverTLS,
                                        extra_config=self.serverConfig)
            self.addCleanup(self.server.destroy)
            self.server.start()
            return
        cls = type(self)
        # Another class's server may still run (a partial selection of its
        # tests); one server at a time keeps the machine's load predictable.
        _stop_shared(keep=cls)
        if cls in _shared and not _shared[cls].alive():
            # An earlier test crashed it (that test failed, showing the log);
            # the rest of the class gets a fresh server instead of a cascade.
            _shared.pop(cls).destroy()
        if cls not in _shared:
            if cls.__dict__.get("_startError") is not None:
                raise cls._startError  # fail fast: it will not come up now
            cls._remaining = set(prefixedMethodNames(cls, "test"))
            server = ServerProcess(extra_env=self.serverEnv, tls=self.serverTLS,
                                   extra_config=self.serverConfig)
            try:
                server.start()
            except ServerStartError as error:
                cls._startError = error
                server.destroy()
                raise
            cls._startError = None
            _shared[cls] = server
        self.server = _shared[cls]
        self.addCleanup(self._releaseShared)

    def _releaseShared(self) -> None:
        cls = type(self)
        cls._remaining.discard(self._testMethodName)
        if not cls._remaining and cls in _shared:
            _shared.pop(cls).destroy()

    def run(self, result):  # type: ignore[override]
        """Run the test; if it failed, print the server log tail after it."""
        watcher = _FailureWatcher(result)
        super().run(watcher)
        server = getattr(self, "server", None)
        if watcher.failed and server is not None:
            print(f"\n{self.id()} failed; {server.describe(40)}", flush=True)


class _FailureWatcher:
    """A test result proxy that notes whether an error or failure was added."""

    def __init__(self, result) -> None:
        self._result = result
        self.failed = False

    def addError(self, *args, **kwargs):
        self.failed = True
        return self._result.addError(*args, **kwargs)

    def addFailure(self, *args, **kwargs):
        self.failed = True
        return self._result.addFailure(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._result, name)
