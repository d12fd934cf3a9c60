"""bin/cloudserver-make-certs: the docs' openssl steps as one command."""
from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import io
from pathlib import Path

from cryptography import x509
from twisted.trial.unittest import SynchronousTestCase

SCRIPT = Path(__file__).resolve().parents[2] / "bin" / "cloudserver-make-certs"


def load_tool():
    loader = importlib.machinery.SourceFileLoader("cloudserver_make_certs", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


class MakeCertsTests(SynchronousTestCase):

    def setUp(self):
        self.tool = load_tool()
        self.out = Path(self.mktemp()).resolve()

    def run_tool(self, *argv):
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = self.tool.main([*argv, "--out", str(self.out)])
        return code, stdout.getvalue(), stderr.getvalue()

    def test_creates_files_and_prints_config(self):
        code, out, _ = self.run_tool("s3.scality.test", "127.0.0.1")
        self.assertEqual(code, 0)
        for name in ("ca.key", "ca.crt", "server.key", "server.crt"):
            self.assertTrue((self.out / name).exists(), name)
        self.assertIn('"certFilePaths": {', out)
        self.assertIn(f'"key": "{self.out / "server.key"}"', out)
        cert = x509.load_pem_x509_certificate((self.out / "server.crt").read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        self.assertEqual(san.get_values_for_type(x509.DNSName),
                         ["s3.scality.test", "*.s3.scality.test"])

    def test_keeps_existing_files_unless_forced(self):
        self.assertEqual(self.run_tool("a.test")[0], 0)
        ca = (self.out / "ca.crt").read_bytes()
        code, _, err = self.run_tool("b.test")
        self.assertEqual(code, 1)
        self.assertIn("--force", err)
        self.assertEqual((self.out / "ca.crt").read_bytes(), ca)
        self.assertEqual(self.run_tool("b.test", "--force")[0], 0)
        self.assertNotEqual((self.out / "ca.crt").read_bytes(), ca)

    def test_executable(self):
        self.assertTrue(SCRIPT.stat().st_mode & 0o100)
        self.assertTrue(SCRIPT.read_text().startswith("#!/usr/bin/env python3\n"))

    def test_bad_days(self):
        with contextlib.redirect_stderr(io.StringIO()):
            self.assertRaises(SystemExit, self.tool.main, ["x.test", "--days", "0"])
