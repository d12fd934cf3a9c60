"""The servers under test: ours in each mode and backend, and the peers.

Each ``Server`` starts one or more processes on loopback ports, knows
their pids (for CPU and memory), and says which workloads it takes part in.
Logs go to files in the run's work directory; a server that does not come up
is reported as skipped with the tail of its log, never as a crash of the run.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
CHECKOUT = BENCH.parent

SMALL = ("put4k", "get4k", "head", "delete")
ALL = SMALL + ("put256m", "get256m", "mpu_up", "mpu_down", "list10k", "list100k")

_SCRUB = ("S3BACKEND", "S3DATA", "S3DATAPATH", "S3METADATAPATH", "S3_CONFIG_FILE",
          "S3AUTH_CONFIG", "S3_LOCATION_FILE", "SCALITY_ACCESS_KEY_ID",
          "SCALITY_SECRET_ACCESS_KEY", "ENDPOINT", "LISTEN_ADDR", "LOG_LEVEL",
          "METADATA_HOST", "DATA_HOST")


class StartError(Exception):
    pass


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Server:
    """One server under test.  Subclasses fill ``commands()``."""

    #: workloads this server runs (the ceiling has no storage: small only)
    workloads: tuple[str, ...] = ALL
    #: "ours", "ceiling" or "peer": decides the ratio columns
    kind = "peer"

    def __init__(self, name: str, port: int, workdir: Path, python: str):
        self.name = name
        self.port = port
        self.workdir = workdir / name
        self.python = python
        self.procs: list[subprocess.Popen] = []
        self.skip_reason: str | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    def commands(self) -> list[tuple[list[str], dict[str, str], int]]:
        """(argv, extra environment, port to wait for) for each process, in order."""
        raise NotImplementedError

    def start(self, timeout: float = 30.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        base_env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
        for i, (argv, env, wait_port) in enumerate(self.commands()):
            log = open(self.workdir / f"server{i}.log", "ab")
            proc = subprocess.Popen(argv, cwd=self.cwd(), env={**base_env, **env},
                                    stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
            self.procs.append(proc)
            deadline = time.monotonic() + timeout
            while not accepts(wait_port):
                if proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise StartError(f"{self.name}: {argv[0]} did not serve :{wait_port}\n"
                                     + self.log_tail(i))
                time.sleep(0.1)

    def cwd(self) -> str:
        return str(self.workdir)

    def log_tail(self, i: int = 0, lines: int = 15) -> str:
        try:
            text = (self.workdir / f"server{i}.log").read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        self.procs = []


class CeilingServer(Server):
    workloads = SMALL
    kind = "ceiling"

    def commands(self):
        return [([self.python, str(BENCH / "ceiling_server.py"), str(self.port)], {},
                 self.port)]


class MotoServer(Server):
    def commands(self):
        moto = str(Path(self.python).parent / "moto_server")
        return [([moto, "-H", "127.0.0.1", "-p", str(self.port)], {}, self.port)]


class OurServer(Server):
    """``twistd -n cloudserver``: all in one process, or split (``dmd`` + ``s3``).

    ``checkout`` is the tree the server runs from (a snapshot keeps a long run
    away from edits in progress); its ``conf/`` is copied with this server's
    ports: S3 on ``port``, the daemons on ``port + 40`` and ``port + 70``.
    """

    kind = "ours"

    def __init__(self, name, port, workdir, python, backend: str = "file",
                 split: bool = False, checkout: Path = CHECKOUT, log_level: str | None = None,
                 extra_env: dict[str, str] | None = None, extra_config: dict | None = None):
        super().__init__(name, port, workdir, python)
        #: more environment (the postgres metadata backend: S3METADATA, S3METADATA_DSN)
        self.extra_env = dict(extra_env or {})
        #: config.json fields over the checkout's (the postgres backend's table)
        self.extra_config = dict(extra_config or {})
        self.backend = backend
        self.split = split
        self.checkout = Path(checkout)
        self.log_level = log_level
        self.md_port = port + 40
        self.data_port = port + 70

    def cwd(self):
        return str(self.checkout)

    def _config(self) -> Path:
        config = json.loads((self.checkout / "conf" / "config.json").read_text())
        config.update(self.extra_config)
        config["port"] = self.port
        config.setdefault("metadataDaemon", {}).update(bindAddress="127.0.0.1",
                                                       port=self.md_port)
        config.setdefault("dataDaemon", {}).update(bindAddress="127.0.0.1",
                                                   port=self.data_port)
        config.setdefault("metadataClient", {}).update(host="127.0.0.1", port=self.md_port)
        config.setdefault("dataClient", {}).update(host="127.0.0.1", port=self.data_port)
        path = self.workdir / "config.json"
        path.write_text(json.dumps(config, indent=4))
        return path

    def commands(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        env = {
            "LISTEN_ADDR": "127.0.0.1",
            "S3BACKEND": self.backend,
            "S3DATAPATH": str(self.workdir / "data"),
            "S3METADATAPATH": str(self.workdir / "metadata"),
            "S3_CONFIG_FILE": str(self._config()),
            "PYTHONPATH": str(self.checkout),
        }
        if self.log_level:
            env["LOG_LEVEL"] = self.log_level
        env.update(self.extra_env)
        twistd = [str(Path(self.python).parent / "twistd"), "-n", "--pidfile="]
        if not self.split:
            return [(twistd + ["cloudserver", "--port", str(self.port)], env, self.port)]
        return [(twistd + ["cloudserver", "--mode", "dmd"], env, self.md_port),
                (twistd + ["cloudserver", "--mode", "s3", "--port", str(self.port)], env,
                 self.port)]


def parent_map() -> dict[int, int]:
    """pid -> parent pid of every process on the machine (from /proc)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
    return parents


def with_descendants(roots, parents: dict[int, int]) -> list[int]:
    """``roots`` and every process below them, roots first: a node cluster's
    primary forks its workers, which do the serving and must be counted."""
    out = list(roots)
    seen = set(out)
    children: dict[int, list[int]] = {}
    for pid, ppid in sorted(parents.items()):
        children.setdefault(ppid, []).append(pid)
    i = 0
    while i < len(out):
        for child in children.get(out[i], ()):
            if child not in seen:
                seen.add(child)
                out.append(child)
        i += 1
    return out


class UpstreamServer(Server):
    """Upstream Zenko CloudServer (Node.js), file backend, from a build folder.

    ``peer_dir`` holds ``cloudserver/`` as built by
    ``/work/shared/tools/upstream-peer/README.md``.  Like its own
    ``start-file.sh``: ``mdserver.js`` (metadata daemon), ``dataserver.js``
    (data daemon) and ``index.js`` (S3, a cluster primary and its worker),
    here on this server's ports (S3 on ``port``, the daemons on ``port + 40``
    and ``port + 70``, as ours), with its data and metadata in the work
    directory and its own ``config.json`` otherwise unchanged (1 worker,
    info logs, as measured in issue 21).  CPU and RSS are summed over every
    process, the cluster's worker included.
    """

    kind = "upstream"

    def __init__(self, name, port, workdir, python, peer_dir: Path, node: str = "node"):
        super().__init__(name, port, workdir, python)
        self.peer_dir = Path(peer_dir)
        self.node = node
        self.md_port = port + 40
        self.data_port = port + 70

    @property
    def tree(self) -> Path:
        return self.peer_dir / "cloudserver"

    def missing(self) -> str | None:
        """Why this peer cannot run (None when it can)."""
        for part in ("index.js", "mdserver.js", "dataserver.js", "config.json", "node_modules"):
            if not (self.tree / part).exists():
                return f"no upstream build: {self.tree / part} is missing"
        return None

    def cwd(self):
        return str(self.tree)

    def _config(self) -> Path:
        config = json.loads((self.tree / "config.json").read_text())
        config["port"] = self.port
        config["clusters"] = 1
        config["metadataDaemon"] = {**config.get("metadataDaemon", {}),
                                    "bindAddress": "127.0.0.1", "port": self.md_port}
        config["dataDaemon"] = {**config.get("dataDaemon", {}),
                                "bindAddress": "127.0.0.1", "port": self.data_port}
        config["metadataClient"] = {"host": "127.0.0.1", "port": self.md_port}
        config["dataClient"] = {"host": "127.0.0.1", "port": self.data_port}
        path = self.workdir / "config.json"
        path.write_text(json.dumps(config, indent=4))
        return path

    def commands(self):
        self.workdir.mkdir(parents=True, exist_ok=True)
        for sub in ("data", "metadata"):
            (self.workdir / sub).mkdir(exist_ok=True)
        env = {
            "S3BACKEND": "file",
            "S3DATAPATH": str(self.workdir / "data"),
            "S3METADATAPATH": str(self.workdir / "metadata"),
            "S3_CONFIG_FILE": str(self._config()),
        }
        return [([self.node, "mdserver.js"], env, self.md_port),
                ([self.node, "dataserver.js"], env, self.data_port),
                ([self.node, "index.js"], env, self.port)]

    def start(self, timeout: float = 60.0) -> None:
        why = self.missing()
        if why:
            raise StartError(f"{self.name}: {why}")
        super().start(timeout)
        self._pids = with_descendants(super().pids, parent_map())

    @property
    def pids(self) -> list[int]:
        return list(getattr(self, "_pids", None) or super().pids)

    def stop(self) -> None:
        workers = [pid for pid in self.pids if pid not in {p.pid for p in self.procs}]
        super().stop()
        for pid in workers:  # the primary ends its worker; make sure
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if b"index.js" not in f.read():
                        continue  # gone, and its pid taken by another process
                os.kill(pid, signal.SIGKILL)
            except (FileNotFoundError, ProcessLookupError):
                pass
        self._pids = []


def default_python() -> str:
    venv = CHECKOUT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable
