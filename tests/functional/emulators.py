# -*- test-case-name: tests.functional.test_remote_locations -*-
"""
Real remote-storage emulators for the aws_s3 and azure location tests.

- ``MotoServer``: moto's standalone S3 server (``moto_server``, installed by
  the ``test`` extra: ``moto[server]``).
- ``Azurite``: Microsoft's Azure Storage emulator, blob service only.  It is
  an npm package; the first use installs it with ``npm install --prefix
  <cache>`` (the version pinned in ``AZURITE_VERSION``) into
  ``$CLOUDSERVER_EMULATORS_DIR`` (default ``~/.cache/cloudserver-emulators``),
  under a file lock so parallel runs install it once.  Later runs reuse it.

Both listen on a free loopback port with their state in a temporary
directory, and are stopped at interpreter exit.  ``AzureBlobs`` is a tiny
synchronous blob client (http.client + the server's own SharedKey signer)
for checking what really landed in a container.
"""

from __future__ import annotations

import atexit
import fcntl
import http.client
import os
import shutil
import subprocess
import tempfile
import time
from email.utils import formatdate
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree

from cloudserver.data.azure import API_VERSION, shared_key
from tests.functional.server import free_port, venv_bin

AZURITE_VERSION = "3.37.0"
#: Azurite's well-known development account.
AZURE_ACCOUNT = "devstoreaccount1"
AZURE_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/"
             "K1SZFPTOtr/KBHBeksoGMGw==")
START_TIMEOUT = 60.0
NPM_TIMEOUT = 600.0


class EmulatorUnavailable(Exception):
    """The emulator cannot be installed or started here (the message says why)."""


def _wait_port(process: subprocess.Popen, port: int, log: Path, what: str) -> None:
    import socket

    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmulatorUnavailable(f"{what} exited ({process.returncode}): "
                                      f"{log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise EmulatorUnavailable(f"{what} did not listen on {port} in {START_TIMEOUT:.0f}s")


class _Process:
    def __init__(self) -> None:
        self.port: int | None = None
        self.process: subprocess.Popen | None = None
        self.workdir = Path(tempfile.mkdtemp(prefix=f"cloudserver-{type(self).__name__}-"))
        self.log_path = self.workdir / "emulator.log"

    def _spawn(self, argv: list[str], what: str, port: int | None = None) -> None:
        self.port = free_port() if port is None else port
        argv = [a.replace("{port}", str(self.port)) for a in argv]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=subprocess.STDOUT, cwd=self.workdir)
        _wait_port(self.process, self.port, self.log_path, what)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


class MotoServer(_Process):
    """``moto_server`` on a free port; ``endpoint`` is its host:port."""

    def start(self, port: int | None = None) -> "MotoServer":
        """``port``: this one (a destination a server already names, coming
        up late), else a free one."""
        try:
            binary = venv_bin("moto_server")
        except FileNotFoundError as error:
            raise EmulatorUnavailable(f"{error}: pip install -e '.[test]'") from None
        self._spawn([binary, "-H", "127.0.0.1", "-p", "{port}"], "moto_server", port)
        return self

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client(self):
        import boto3
        from botocore.config import Config

        return boto3.client("s3", endpoint_url=f"http://{self.endpoint}",
                            aws_access_key_id="testing", aws_secret_access_key="testing",
                            region_name="us-east-1",
                            config=Config(s3={"addressing_style": "path"}))


def emulators_dir() -> Path:
    return Path(os.environ.get("CLOUDSERVER_EMULATORS_DIR")
                or Path.home() / ".cache" / "cloudserver-emulators")


def install_azurite() -> Path:
    """The azurite-blob script, installed with npm on first use."""
    root = emulators_dir() / f"azurite-{AZURITE_VERSION}"
    script = root / "node_modules" / "azurite" / "dist" / "src" / "blob" / "main.js"
    if script.exists():
        return script
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        raise EmulatorUnavailable("node and npm are needed to install Azurite")
    root.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".azurite-{AZURITE_VERSION}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not script.exists():
            result = subprocess.run(
                [npm, "install", "--prefix", str(root), "--no-audit", "--no-fund",
                 "--loglevel=error", f"azurite@{AZURITE_VERSION}"],
                stdin=subprocess.DEVNULL, capture_output=True, text=True,
                timeout=NPM_TIMEOUT)
            if result.returncode != 0 or not script.exists():
                raise EmulatorUnavailable(f"npm install azurite failed: "
                                          f"{result.stdout[-1000:]}{result.stderr[-2000:]}")
    return script


class Azurite(_Process):
    """Azurite's blob service on a free port."""

    def start(self) -> "Azurite":
        script = install_azurite()
        self._spawn([shutil.which("node") or "node", str(script), "--blobHost", "127.0.0.1",
                     "--blobPort", "{port}", "--location", str(self.workdir / "data"),
                     "--silent", "--skipApiVersionCheck", "--disableProductStyleUrl"],
                    "azurite")
        return self

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{AZURE_ACCOUNT}"

    def blobs(self) -> "AzureBlobs":
        return AzureBlobs(self.port)


class AzureBlobs:
    """A synchronous check of what is in an Azurite container."""

    def __init__(self, port: int) -> None:
        self.port = port

    def request(self, method: str, path: str, query: str = "", body: bytes = b"",
                headers: dict[str, str] | None = None):
        url = f"http://127.0.0.1:{self.port}/{AZURE_ACCOUNT}{path}" + \
            (f"?{query}" if query else "")
        headers = dict(headers or {})
        headers["x-ms-date"] = formatdate(usegmt=True)
        headers["x-ms-version"] = API_VERSION
        signed = dict(headers)
        signed["Content-Length"] = str(len(body))
        headers["Authorization"] = shared_key(AZURE_ACCOUNT, AZURE_KEY, method, url, signed)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, url[len(f"http://127.0.0.1:{self.port}"):], body=body,
                         headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def create_container(self, name: str) -> None:
        status, _, body = self.request("PUT", f"/{name}", "restype=container")
        if status not in (201, 409):
            raise AssertionError(f"create container {name}: {status} {body!r}")

    def get(self, container: str, blob: str):
        """(status, headers, body) of a blob."""
        return self.request("GET", f"/{container}/{quote(blob, safe='/~')}")

    def names(self, container: str) -> list[str]:
        status, _, body = self.request("GET", f"/{container}",
                                       "restype=container&comp=list")
        assert status == 200, body
        root = ElementTree.fromstring(body)
        return sorted(n.text or "" for n in root.iter("Name"))


_running: dict[str, _Process] = {}


def shared(kind: str):
    """One running emulator of each kind for the whole test run."""
    if kind not in _running:
        emulator = {"moto": MotoServer, "azurite": Azurite}[kind]()
        try:
            emulator.start()
        except BaseException:
            emulator.stop()
            raise
        _running[kind] = emulator
    return _running[kind]


@atexit.register
def _stop_all() -> None:
    for emulator in _running.values():
        emulator.stop()
    _running.clear()
