"""A throw-away PostgreSQL server for tests: Debian's postgresql-15 binaries
(.ci/apt-packages), initdb in a temporary directory, loopback only, a free
port, one server per test process (started on first use, stopped at exit).

initdb and postgres refuse to run as root, and the tests run as root in CI:
then they run as ``nobody`` (subprocess's user/group: postgres itself is
the child, so its signals reach it), in a directory it owns.
"""
from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

BIN_DIRS = ("/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin",
            "/usr/lib/postgresql/17/bin")
USER = "cloudserver"
_server: "PostgresServer | None" = None


def bin_dir() -> str | None:
    """Where initdb and postgres are (None: not installed)."""
    for d in BIN_DIRS:
        if os.access(os.path.join(d, "postgres"), os.X_OK) and \
                os.access(os.path.join(d, "initdb"), os.X_OK):
            return d
    found = shutil.which("postgres")
    return os.path.dirname(found) if found and shutil.which("initdb") else None


def available() -> bool:
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        return False
    return bin_dir() is not None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """One running server; ``dsn`` connects to its ``cloudserver`` database."""

    def __init__(self, durable: bool = False):
        self.bin = bin_dir()
        if self.bin is None:
            raise RuntimeError("PostgreSQL binaries not found")
        self.dir = tempfile.mkdtemp(prefix="cs-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None
        self._as: dict = {}
        if os.geteuid() == 0:
            import pwd

            nobody = pwd.getpwnam("nobody")
            os.chmod(self.dir, 0o755)
            os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)
            self._as = {"user": nobody.pw_uid, "group": nobody.pw_gid, "extra_groups": []}
        self._initdb()
        self.durable = durable
        self.start()

    @property
    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user={USER} dbname=postgres"

    def _initdb(self) -> None:
        subprocess.run([os.path.join(self.bin, "initdb"), "-D", self.data,
                        "-U", USER, "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                       cwd=self.dir, **self._as)

    def start(self) -> None:
        opts = ["-c", "listen_addresses=127.0.0.1", "-p", str(self.port),
                "-c", "unix_socket_directories=", "-c", "max_connections=60",
                "-c", "shared_buffers=32MB", "-c", "log_min_duration_statement=1000",
                "-c", "log_checkpoints=on", "-c", "log_lock_waits=on"]
        if not self.durable:  # unit tests: no fsync, as a RAM disk would be
            opts += ["-c", "fsync=off", "-c", "synchronous_commit=off",
                     "-c", "full_page_writes=off"]
        log = open(os.path.join(self.dir, "postgres.log"), "ab")
        self.proc = subprocess.Popen([os.path.join(self.bin, "postgres"), "-D", self.data] + opts,
                                     stdout=log, stderr=log, stdin=subprocess.DEVNULL,
                                     cwd=self.dir, **self._as)
        log.close()
        self._wait_ready()

    def _wait_ready(self, timeout: float = 30.0) -> None:
        import psycopg

        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited: {self.log_tail()}")
            try:
                psycopg.connect(self.dsn, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"postgres did not start: {self.log_tail()}")
                time.sleep(0.05)

    def log_tail(self) -> str:
        try:
            with open(os.path.join(self.dir, "postgres.log"), errors="replace") as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def stop(self, kill: bool = False) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # SIGINT: "fast" shutdown; SIGKILL: a crash (restarted with recovery)
            self.proc.send_signal(9 if kill else 2)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def destroy(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def shared_server() -> PostgresServer:
    """The process's server, started on first use, destroyed at exit."""
    global _server
    if _server is None:
        _server = PostgresServer()
        atexit.register(_server.destroy)
    return _server


def fresh_table() -> str:
    """A table name no other test uses."""
    return "t_" + uuid.uuid4().hex[:16]
