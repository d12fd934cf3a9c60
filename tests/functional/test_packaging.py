# -*- test-case-name: tests.functional.test_packaging -*-
"""
The package as ``pip install .`` or a wheel installs it, not the checkout:
the wheel is built from a copy of the source tree, installed into a fresh
virtual environment, and the server is started there from an empty
directory.  An installed server used to stop at once, looking for
``<site-packages>/conf/config.json``.

The fresh environment has no dependencies of its own: a ``.pth`` file adds
the test environment's site-packages after its own, so nothing is
downloaded but the build requirements (setuptools, wheel) that pip's
isolated build fetches from the package index or its cache.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import urllib.request
import zipfile
from pathlib import Path

from twisted.trial import unittest

from tests.functional.clients import boto3_client, empty_and_delete_bucket, unique_bucket
from tests.functional.server import _SERVER_ENV_SCRUB, CHECKOUT, ServerProcess

BUILD_TIMEOUT = 300
#: What a wheel build does not need from the checkout.
_NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", ".tox", ".ci", "build", "dist", "*.egg-info", "_trial_temp*",
    "__pycache__", "localData", "localMetadata", "bench", "tests", "docs")
CONF_NAMES = ("config.json", "authdata.json", "locationConfig.json")


def _run(argv: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in argv], capture_output=True, text=True,
                            stdin=subprocess.DEVNULL, timeout=BUILD_TIMEOUT, **kwargs)
    if result.returncode != 0:
        raise AssertionError(f"{argv} exited {result.returncode}:\n{result.stdout}\n"
                             f"{result.stderr}")
    return result


class InstalledEnvironment:
    """The wheel, and a fresh venv with only it installed (built once per run)."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="cloudserver-wheel-", dir=os.getcwd()))
        atexit.register(shutil.rmtree, self.root, ignore_errors=True)
        source = self.root / "src"
        shutil.copytree(CHECKOUT, source, symlinks=True, ignore=_NOT_SOURCE)
        _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
              "-w", self.root / "wheels", source])
        (self.wheel,) = (self.root / "wheels").glob("cloudserver-*.whl")
        venv = self.root / "venv"
        _run([sys.executable, "-m", "venv", "--without-pip", venv])
        self.python = str(venv / "bin" / "python")
        site = Path(_run([self.python, "-c", "import sysconfig; "
                          "print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
        ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
        (site / "test-environment.pth").write_text("".join(f"{p}\n" for p in sorted(ours)))
        _run([sys.executable, "-m", "pip", "--python", self.python, "install", "--no-index",
              "--no-deps", "--quiet", self.wheel])

    def environment(self) -> dict[str, str]:
        """The caller's environment without what would pick the configuration."""
        scrub = set(_SERVER_ENV_SCRUB) | {"PYTHONPATH"}
        return {k: v for k, v in os.environ.items() if k not in scrub}


_installed: list[InstalledEnvironment] = []


def installed() -> InstalledEnvironment:
    if not _installed:
        _installed.append(InstalledEnvironment())
    return _installed[0]


class WheelTests(unittest.SynchronousTestCase):

    def setUp(self) -> None:
        self.env = installed()
        self.empty = Path(self.mktemp()).resolve()
        self.empty.mkdir(parents=True)

    def test_wheel_has_every_module_and_the_defaults(self) -> None:
        """A new subpackage cannot be left out (setup.cfg finds them), and the
        default configuration ships as real files equal to the checkout's conf/."""
        with zipfile.ZipFile(self.env.wheel) as wheel:
            names = set(wheel.namelist())
            for path in (CHECKOUT / "cloudserver").rglob("*.py"):
                self.assertIn(path.relative_to(CHECKOUT).as_posix(), names)
            self.assertIn("twisted/plugins/cloudserver_plugin.py", names)
            for name in CONF_NAMES:
                self.assertEqual(wheel.read(f"cloudserver/defaults/{name}"),
                                 (CHECKOUT / "conf" / name).read_bytes(), name)
            static = CHECKOUT / "cloudserver" / "console" / "static"
            for path in static.iterdir():  # the web console's files
                self.assertEqual(wheel.read(path.relative_to(CHECKOUT).as_posix()),
                                 path.read_bytes(), path.name)

    def test_operator_tools_are_installed(self) -> None:
        """bin/cloudserver-usage and bin/cloudserver-metadata are scripts of the
        package and run from an empty directory (the package, not the checkout)."""
        for name in ("cloudserver-usage", "cloudserver-metadata"):
            script = Path(self.env.python).parent / name
            self.assertTrue(script.exists(), script)
            out = _run([self.env.python, script, "--help"], cwd=self.empty,
                       env=self.env.environment()).stdout
            self.assertIn(f"usage: {name}", out)

    def test_installed_package_reads_its_defaults(self) -> None:
        """From an empty directory the installed package reads the defaults it
        ships, not the checkout's files nor a conf/ beside site-packages."""
        script = ("import json, cloudserver; from cloudserver.config import load_config; "
                  "c = load_config(); "
                  "print(json.dumps([cloudserver.__file__, list(c.files), c.port]))")
        out = _run([self.env.python, "-c", script], cwd=self.empty,
                   env=self.env.environment()).stdout
        module, files, port = json.loads(out)
        package = Path(module).parent
        self.assertTrue(package.is_relative_to(self.env.root / "venv"), module)
        self.assertEqual(port, 8000)
        self.assertEqual(sorted(what for what, _ in files),
                         ["auth file", "config file", "location file"])
        for _, path in files:
            self.assertEqual(Path(path).parent, package / "defaults")
            self.assertFalse(Path(path).is_symlink(), path)


class InstalledServerTests(unittest.SynchronousTestCase):
    """twistd of the installed package, started from an empty directory.  The
    test's config.json only moves the ports to free ones (the default
    9990/9991 may be taken); authdata.json and locationConfig.json are the
    packaged defaults."""

    def setUp(self) -> None:
        env = installed()
        empty = Path(self.mktemp()).resolve()
        empty.mkdir(parents=True)
        self.server = ServerProcess(cwd=empty, interpreter=env.python,
                                    extra_env={"PYTHONPATH": ""})
        self.addCleanup(self.server.destroy)
        self.server.start()
        self.s3 = boto3_client(self.server, empty)

    def test_answers_s3_requests(self) -> None:
        self.assertEqual(self.s3.list_buckets()["Buckets"], [])
        bucket = unique_bucket("wheel")
        self.s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={
            "LocationConstraint": "us-west-2"})
        self.addCleanup(empty_and_delete_bucket, self.s3, bucket)
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"installed")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["Body"].read(),
                         b"installed")
        log = self.server.log_path.read_text()
        site_defaults = installed().root / "venv"
        for what, name in (("auth file", "authdata.json"),
                           ("location file", "locationConfig.json")):
            lines = [line for line in log.splitlines() if f"config: {what} " in line]
            self.assertEqual(len(lines), 1, log)
            path = Path(lines[0].split(f"config: {what} ", 1)[1])
            self.assertTrue(path.is_relative_to(site_defaults), lines[0])
            self.assertEqual(path.name, name)
        self.assertIn(f"config: config file {self.server.config_path}", log)
        with urllib.request.urlopen(f"{self.server.endpoint}/_/console/", timeout=10) as page:
            self.assertIn(b"<title>cloudserver console</title>", page.read())
