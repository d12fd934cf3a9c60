"""Local CA and server certificates (cloudserver.certs), TLS options from
certFilePaths (cloudserver.tls, config.py, tap.s3_tls_options): files
checked at start-up, TLS 1.2+ only, AEAD suites, the CA chain sent.
Handshakes run in memory (iosim), no sockets."""
from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

import attrs
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.internet.ssl import CertificateOptions, TLSVersion
from twisted.protocols.tls import TLSMemoryBIOFactory
from twisted.test.iosim import connectedServerAndClient
from twisted.trial.unittest import SynchronousTestCase

from cloudserver import certs, tls
from cloudserver.config import CertFilePaths, ConfigError, load_config
from cloudserver.tap import s3_tls_options


class Collect(Protocol):
    def __init__(self):
        self.data = b""
        self.lost = None

    def dataReceived(self, data):
        self.data += data

    def connectionLost(self, reason):
        self.lost = reason


def handshake(server_options, client_options, payload=b"ping"):
    """Connect in memory, send ``payload`` client -> server; (client, server)."""
    clock = Clock()  # small TLS writes are flushed by a callLater(0)
    server_factory = TLSMemoryBIOFactory(server_options, False, Factory.forProtocol(Collect),
                                         clock=clock)
    client_factory = TLSMemoryBIOFactory(client_options, True, Factory.forProtocol(Collect),
                                         clock=clock)

    def client():
        proto = client_factory.buildProtocol(None)
        proto.wrappedProtocol.connectionMade = lambda: proto.write(payload)
        return proto

    c, s, pump = connectedServerAndClient(lambda: server_factory.buildProtocol(None), client,
                                          clock=clock)
    for _ in range(5):
        pump.flush()
        clock.advance(0)
    return c, s


class TempDirMixin:
    def tempdir(self) -> Path:
        path = Path(self.mktemp()).resolve()
        path.mkdir(parents=True)
        return path


class CertsTests(TempDirMixin, SynchronousTestCase):

    def test_files_and_names(self):
        d = self.tempdir()
        files = certs.write_ca_and_server(d, ["s3.scality.test", "127.0.0.1"])
        self.assertEqual(files, certs.CertFiles.in_directory(d))
        self.assertTrue(files.all_exist())
        self.assertEqual(files.server_key.stat().st_mode & 0o777, 0o600)
        self.assertEqual(files.ca_key.stat().st_mode & 0o777, 0o600)
        cert = x509.load_pem_x509_certificate(files.server_cert.read_bytes())
        ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        self.assertEqual(san.get_values_for_type(x509.DNSName),
                         ["s3.scality.test", "*.s3.scality.test"])
        self.assertEqual(san.get_values_for_type(x509.IPAddress),
                         [ipaddress.ip_address("127.0.0.1")])
        self.assertEqual(cert.issuer, ca.subject)
        cert.verify_directly_issued_by(ca)
        self.assertTrue(ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
        self.assertEqual(files.cert_file_paths(),
                         {"key": str(d / "server.key"), "cert": str(d / "server.crt"),
                          "ca": str(d / "ca.crt")})

    def test_ensure_keeps_existing_files(self):
        d = self.tempdir()
        first = certs.ensure_ca_and_server(d, ["a.test"])
        ca = first.ca_cert.read_bytes()
        certs.ensure_ca_and_server(d, ["b.test"])
        self.assertEqual(first.ca_cert.read_bytes(), ca)
        first.server_key.unlink()
        certs.ensure_ca_and_server(d, ["b.test"])
        self.assertNotEqual(first.ca_cert.read_bytes(), ca)

    def test_no_host(self):
        ca_key, ca_cert = certs.make_ca()
        self.assertRaises(ValueError, certs.make_server_cert, ca_key, ca_cert, [])


class ServerOptionsTests(TempDirMixin, SynchronousTestCase):

    def assertRefused(self, server):
        # The handshake failed: the application protocol got nothing (it may
        # not even have been connected).
        received = getattr(server.wrappedProtocol, "data", b"")
        self.assertEqual(received, b"")

    def setUp(self):
        self.dir = self.tempdir()
        self.files = certs.write_ca_and_server(self.dir, ["localhost", "127.0.0.1"])
        self.paths = CertFilePaths(str(self.files.server_key), str(self.files.server_cert),
                                   str(self.files.ca_cert))

    def assertTLSError(self, paths, *fragments):
        error = self.assertRaises(tls.TLSConfigError, tls.server_options, paths)
        for fragment in fragments:
            self.assertIn(fragment, str(error))
        return error

    def test_missing_key(self):
        missing = str(self.dir / "nope.key")
        self.assertTLSError(attrs.evolve(self.paths, key=missing),
                            "certFilePaths.key", missing, "No such file")

    def test_missing_cert_and_ca(self):
        missing = str(self.dir / "nope.crt")
        self.assertTLSError(attrs.evolve(self.paths, cert=missing), "certFilePaths.cert", missing)
        self.assertTLSError(attrs.evolve(self.paths, ca=missing), "certFilePaths.ca", missing)

    def test_unreadable_key(self):
        # A directory cannot be read as a file (chmod 000 does not stop root).
        self.assertTLSError(attrs.evolve(self.paths, key=str(self.dir)),
                            "certFilePaths.key", str(self.dir))

    def test_not_pem(self):
        junk = self.dir / "junk.pem"
        junk.write_text("hello\n")
        self.assertTLSError(attrs.evolve(self.paths, key=str(junk)), "no PEM private key")
        self.assertTLSError(attrs.evolve(self.paths, cert=str(junk)), "no PEM certificate")

    def test_key_cert_mismatch(self):
        self.assertTLSError(attrs.evolve(self.paths, key=str(self.files.ca_key)),
                            "does not belong", str(self.files.ca_key))

    def test_encrypted_key(self):
        key = serialization.load_pem_private_key(self.files.server_key.read_bytes(), None)
        encrypted = self.dir / "enc.key"
        encrypted.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret")))
        self.assertTLSError(attrs.evolve(self.paths, key=str(encrypted)), "encrypted")

    def test_handshake_sends_chain(self):
        c, s = handshake(tls.server_options(self.paths),
                         tls.client_options("localhost", str(self.files.ca_cert)))
        self.assertEqual(s.wrappedProtocol.data, b"ping")
        conn = c.getHandle()
        self.assertEqual(conn.get_protocol_version_name(), "TLSv1.3")
        chain = [x.to_cryptography() for x in conn.get_peer_cert_chain()]
        self.assertEqual([x.subject.rfc4514_string() for x in chain][1],
                         x509.load_pem_x509_certificate(
                             self.files.ca_cert.read_bytes()).subject.rfc4514_string())
        self.assertEqual(len(chain), 2)

    def test_ip_address_name(self):
        c, s = handshake(tls.server_options(self.paths),
                         tls.client_options("127.0.0.1", str(self.files.ca_cert)))
        self.assertEqual(s.wrappedProtocol.data, b"ping")

    def test_tls12_aead_accepted(self):
        client = CertificateOptions(lowerMaximumSecurityTo=TLSVersion.TLSv1_2)
        c, s = handshake(tls.server_options(self.paths), client)
        self.assertEqual(s.wrappedProtocol.data, b"ping")
        conn = c.getHandle()
        self.assertEqual(conn.get_protocol_version_name(), "TLSv1.2")
        self.assertIn(conn.get_cipher_name().split("-")[0], ("ECDHE",))
        self.assertRegex(conn.get_cipher_name(), "GCM|CHACHA20")

    def test_tls11_refused(self):
        client = CertificateOptions(insecurelyLowerMinimumTo=TLSVersion.TLSv1_0,
                                    lowerMaximumSecurityTo=TLSVersion.TLSv1_1)
        self.patch(client, "_makeContext", _with_seclevel0(client._makeContext))
        c, s = handshake(tls.server_options(self.paths), client)
        self.assertRefused(s)

    def test_cbc_suite_refused(self):
        client = CertificateOptions(lowerMaximumSecurityTo=TLSVersion.TLSv1_2)
        client._cipherString = "ECDHE-RSA-AES128-SHA256:AES128-GCM-SHA256"
        c, s = handshake(tls.server_options(self.paths), client)
        self.assertRefused(s)

    def test_wrong_host_refused_by_client(self):
        c, s = handshake(tls.server_options(self.paths),
                         tls.client_options("other.test", str(self.files.ca_cert)))
        self.assertRefused(s)

    def test_unknown_ca_refused_by_client(self):
        other = certs.write_ca_and_server(self.tempdir(), ["localhost"])
        c, s = handshake(tls.server_options(self.paths),
                         tls.client_options("localhost", str(other.ca_cert)))
        self.assertRefused(s)

    def test_https_policy(self):
        policy = tls.https_policy(str(self.files.ca_cert))
        c, s = handshake(tls.server_options(self.paths),
                         policy.creatorForNetloc(b"localhost", 8000))
        self.assertEqual(s.wrappedProtocol.data, b"ping")

    def test_endpoints(self):
        from twisted.internet.endpoints import SSL4ServerEndpoint, TCP4ServerEndpoint
        from twisted.internet.testing import MemoryReactor
        reactor = MemoryReactor()
        self.assertIsInstance(tls.server_endpoint(reactor, 8000), TCP4ServerEndpoint)
        options = tls.server_options(self.paths)
        service = tls.server_service(reactor, 8000, Factory(), interface="127.0.0.1",
                                     tls=options)
        self.assertIsInstance(service.endpoint, SSL4ServerEndpoint)
        service.startService()
        port, factory, context, backlog, interface = reactor.sslServers[0]
        self.assertEqual((port, interface), (8000, "127.0.0.1"))
        self.assertIs(context, options)


def _with_seclevel0(make_context):
    # OpenSSL 3 refuses TLS 1.1 at its default security level even as a
    # client; level 0 lets this client try, so the server is what refuses.
    def make():
        ctx = make_context()
        ctx.set_cipher_list(b"DEFAULT:@SECLEVEL=0")
        return ctx
    return make


class ConfigTests(TempDirMixin, SynchronousTestCase):

    def load(self, section=None, **env):
        d = self.tempdir()
        conf = json.loads((Path(__file__).parents[2] / "conf" / "config.json").read_text())
        conf.pop("certFilePaths", None)
        if section is not None:
            conf["certFilePaths"] = section
        (d / "config.json").write_text(json.dumps(conf))
        base = {k: v for k, v in os.environ.items()
                if k not in ("SSL", "ENDPOINT", "S3AUTH_CONFIG", "S3_LOCATION_FILE",
                             "SCALITY_ACCESS_KEY_ID", "SCALITY_SECRET_ACCESS_KEY")}
        base.update(S3_CONFIG_FILE=str(d / "config.json"), **env)
        return load_config(base)

    def test_no_tls(self):
        config = self.load()
        self.assertIsNone(config.cert_file_paths)
        self.assertIsNone(self.load({"key": "", "cert": "", "ca": ""}).cert_file_paths)

    def test_paths(self):
        config = self.load({"key": "./test.key", "cert": "/etc/x/test.crt", "ca": "ca.crt"})
        self.assertEqual(config.cert_file_paths, CertFilePaths(
            os.path.abspath("test.key"), "/etc/x/test.crt", os.path.abspath("ca.crt")))
        self.assertIsNone(config.ssl_make_certs_for)
        self.assertIsNone(self.load({"key": "k", "cert": "c"}).cert_file_paths.ca)

    def test_incomplete(self):
        for section, fragment in (({"key": "k"}, "certFilePaths.cert"),
                                  ({"cert": "c", "ca": "a"}, "certFilePaths.key"),
                                  ({"ca": "a"}, "certFilePaths.ca"),
                                  ({"key": 1, "cert": "c"}, "certFilePaths.key"),
                                  ("k", "certFilePaths must be an object")):
            error = self.assertRaises(ConfigError, self.load, section)
            self.assertIn(fragment, str(error))

    def test_ssl_env(self):
        config = self.load(SSL="true", ENDPOINT="s3.scality.test")
        self.assertEqual(config.cert_file_paths, CertFilePaths(
            os.path.abspath("server.key"), os.path.abspath("server.crt"),
            os.path.abspath("ca.crt")))
        self.assertEqual(config.ssl_make_certs_for, "s3.scality.test")
        self.assertIn("s3.scality.test", config.rest_endpoints)
        self.assertIsNone(self.load(SSL="false", ENDPOINT="x.test").cert_file_paths)
        # certFilePaths wins over SSL=true's generated files.
        config = self.load({"key": "/k", "cert": "/c"}, SSL="TRUE", ENDPOINT="x.test")
        self.assertEqual(config.cert_file_paths, CertFilePaths("/k", "/c"))
        self.assertIsNone(config.ssl_make_certs_for)

    def test_ssl_env_errors(self):
        self.assertIn("ENDPOINT", str(self.assertRaises(ConfigError, self.load, SSL="true")))
        self.assertIn("SSL", str(self.assertRaises(ConfigError, self.load, SSL="maybe")))


class TapTests(TempDirMixin, SynchronousTestCase):

    def config(self, paths, make_for=None):
        conf = ConfigTests.load(self, None)
        return attrs.evolve(conf, cert_file_paths=paths, ssl_make_certs_for=make_for)

    def test_plain(self):
        self.assertIsNone(s3_tls_options(self.config(None)))

    def test_ssl_makes_files_once(self):
        d = self.tempdir()
        paths = CertFilePaths(str(d / "server.key"), str(d / "server.crt"), str(d / "ca.crt"))
        options = s3_tls_options(self.config(paths, "s3.scality.test"))
        self.assertIsInstance(options, CertificateOptions)
        ca = (d / "ca.crt").read_bytes()
        s3_tls_options(self.config(paths, "s3.scality.test"))
        self.assertEqual((d / "ca.crt").read_bytes(), ca)

    def test_bad_file_stops_start(self):
        d = self.tempdir()
        paths = CertFilePaths(str(d / "missing.key"), str(d / "missing.crt"))
        error = self.assertRaises(SystemExit, s3_tls_options, self.config(paths))
        self.assertIn(str(d / "missing.key"), str(error))
        self.assertIn("TLS configuration error", str(error))

