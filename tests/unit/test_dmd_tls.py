"""TLS on the dmd ports (:9990, :9991) and their clients: the config.json
keys (``metadataDaemon.https``, ``metadataClient.https`` / ``ca`` ...), the
listeners and client endpoints daemons.py builds from them, and in-memory
handshakes showing the clients verify the daemon's certificate.  No sockets."""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import attrs
from twisted.internet.endpoints import (
    HostnameEndpoint,
    SSL4ServerEndpoint,
    TCP4ServerEndpoint,
    UNIXServerEndpoint,
)
from twisted.internet.ssl import CertificateOptions
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from cloudserver import certs, daemons, tls
from cloudserver.config import CertFilePaths, ConfigError, DaemonAddress, load_config
from cloudserver.data.memory import MemoryDataStore
from tests.unit.test_tls import TempDirMixin, handshake

CHECKOUT = Path(__file__).resolve().parents[2]
_made: dict[str, certs.CertFiles] = {}


def shared_certs(name: str, hosts: list[str]) -> certs.CertFiles:
    """A CA and server certificate made once per test run (RSA key generation
    is most of these tests' time); tests only read them."""
    if name not in _made:
        directory = Path(tempfile.mkdtemp(prefix=f"dmd-tls-{name}-", dir=os.getcwd()))
        _made[name] = certs.write_ca_and_server(directory, hosts)
    return _made[name]
_SCRUB = ("SSL", "ENDPOINT", "S3AUTH_CONFIG", "S3_LOCATION_FILE", "METADATA_HOST",
          "DATA_HOST", "SCALITY_ACCESS_KEY_ID", "SCALITY_SECRET_ACCESS_KEY")


class LoadMixin(TempDirMixin):

    def load(self, sections: dict | None = None, **env):
        """load_config of conf/config.json with ``sections`` replaced."""
        d = self.tempdir()
        conf = json.loads((CHECKOUT / "conf" / "config.json").read_text())
        conf.pop("certFilePaths", None)
        conf.update(sections or {})
        (d / "config.json").write_text(json.dumps(conf))
        base = {k: v for k, v in os.environ.items() if k not in _SCRUB}
        base.update(S3_CONFIG_FILE=str(d / "config.json"), **env)
        return load_config(base)

    def assertConfigError(self, sections, *fragments, **env):
        error = self.assertRaises(ConfigError, self.load, sections, **env)
        for fragment in fragments:
            self.assertIn(fragment, str(error))
        return error


CFP = {"key": "/etc/s3/server.key", "cert": "/etc/s3/server.crt", "ca": "/etc/s3/ca.crt"}
CFP_PATHS = CertFilePaths(CFP["key"], CFP["cert"], CFP["ca"])


class DaemonConfigTests(LoadMixin, SynchronousTestCase):
    """metadataDaemon / dataDaemon ``https``: false, true or {key, cert, ca}."""

    def test_default_plain(self):
        config = self.load({"certFilePaths": CFP})
        for daemon in (config.metadata_daemon, config.data_daemon):
            self.assertFalse(daemon.https)
            self.assertIsNone(daemon.cert_file_paths)
        self.assertEqual(config.metadata_daemon, DaemonAddress("localhost", 9990))

    def test_true_reuses_cert_file_paths(self):
        config = self.load({"certFilePaths": CFP,
                            "metadataDaemon": {"bindAddress": "::", "port": 9990,
                                               "https": True},
                            "dataDaemon": {"https": False}})
        self.assertEqual(config.metadata_daemon,
                         DaemonAddress("::", 9990, https=True, cert_file_paths=CFP_PATHS))
        self.assertFalse(config.data_daemon.https)

    def test_true_with_ssl_env(self):
        config = self.load({"dataDaemon": {"https": True}}, SSL="true",
                           ENDPOINT="dmd.example")
        self.assertEqual(config.data_daemon.cert_file_paths, config.cert_file_paths)
        self.assertEqual(config.data_daemon.cert_file_paths.key,
                         os.path.abspath("server.key"))

    def test_true_without_cert_file_paths(self):
        self.assertConfigError({"metadataDaemon": {"https": True}},
                               "metadataDaemon.https", "certFilePaths")

    def test_own_files(self):
        config = self.load({"dataDaemon": {"https": {"key": "dmd.key", "cert": "/d/dmd.crt"}}})
        self.assertEqual(config.data_daemon.cert_file_paths,
                         CertFilePaths(os.path.abspath("dmd.key"), "/d/dmd.crt"))
        self.assertTrue(config.data_daemon.https)
        self.assertIsNone(config.cert_file_paths)  # the S3 port stays plain

    def test_bad_values(self):
        for value, fragment in (({"key": "k"}, "dataDaemon.https.cert"),
                                ({"ca": "a"}, "dataDaemon.https.ca"),
                                ({}, "dataDaemon.https.key"),
                                ({"key": 1, "cert": "c"}, "dataDaemon.https.key"),
                                ("yes", "dataDaemon.https must be"),
                                (1, "dataDaemon.https must be")):
            self.assertConfigError({"dataDaemon": {"https": value}}, fragment)

    def test_cert_file_paths_messages_unchanged(self):
        self.assertConfigError({"certFilePaths": {"key": "k"}}, "certFilePaths.cert")
        self.assertConfigError({"certFilePaths": "k"}, "certFilePaths must be an object")


class ClientConfigTests(LoadMixin, SynchronousTestCase):
    """metadataClient / dataClient ``https`` (bool) and ``ca`` (PEM path)."""

    def test_default_plain(self):
        config = self.load()
        self.assertEqual(config.metadata_client, DaemonAddress("localhost", 9990))
        self.assertEqual(config.data_client, DaemonAddress("localhost", 9991))

    def test_https_with_ca(self):
        config = self.load({"metadataClient": {"host": "dmd.example", "port": 9990,
                                               "https": True, "ca": "./dmd-ca.crt"}},
                           METADATA_HOST="md.example")
        self.assertEqual(config.metadata_client,
                         DaemonAddress("md.example", 9990, https=True,
                                       ca=os.path.abspath("dmd-ca.crt")))
        self.assertFalse(config.data_client.https)

    def test_ca_defaults_to_cert_file_paths(self):
        config = self.load({"certFilePaths": CFP, "dataClient": {"https": True}})
        self.assertEqual(config.data_client.ca, CFP["ca"])
        # Without certFilePaths.ca: the platform's trust store.
        config = self.load({"certFilePaths": {"key": "/k", "cert": "/c"},
                            "dataClient": {"https": True}})
        self.assertIsNone(config.data_client.ca)
        self.assertIsNone(self.load({"dataClient": {"https": True}}).data_client.ca)
        # certFilePaths alone does not turn TLS on for the clients.
        self.assertFalse(self.load({"certFilePaths": CFP}).data_client.https)

    def test_bad_values(self):
        for section, fragment in (({"https": "true"}, "metadataClient.https must be"),
                                  ({"https": {"ca": "x"}}, "metadataClient.https must be"),
                                  ({"https": True, "ca": ""}, "metadataClient.ca must be"),
                                  ({"https": True, "ca": 3}, "metadataClient.ca must be"),
                                  ({"ca": "/ca.crt"}, "metadataClient.ca needs")):
            self.assertConfigError({"metadataClient": section}, fragment)


def _daemon(https: bool = False, paths: CertFilePaths | None = None) -> DaemonAddress:
    return DaemonAddress("127.0.0.1", 9990, https=https, cert_file_paths=paths)


class DaemonListenerTests(LoadMixin, SynchronousTestCase):
    """daemon_services / daemon_tls_options: which endpoint each port gets."""

    def setUp(self):
        self.dir = self.tempdir()
        self.files = shared_certs("dmd", ["localhost", "127.0.0.1"])
        self.paths = CertFilePaths(*(str(p) for p in (self.files.server_key,
                                                      self.files.server_cert,
                                                      self.files.ca_cert)))
        self.config = self.load()

    def services(self, md: DaemonAddress, dd: DaemonAddress):
        config = attrs.evolve(self.config, metadata_daemon=md, data_daemon=dd)
        metadata, data = object(), MemoryDataStore()
        return daemons.daemon_services(config, MemoryReactorClock(), metadata, data)

    def test_plain_and_tls(self):
        md, dd = self.services(_daemon(), _daemon(True, self.paths))
        self.assertIsInstance(md.endpoint, TCP4ServerEndpoint)
        self.assertIsInstance(dd.endpoint, SSL4ServerEndpoint)
        self.assertIsInstance(dd.endpoint._sslContextFactory, CertificateOptions)
        md, dd = self.services(_daemon(True, self.paths), _daemon())
        self.assertIsInstance(md.endpoint, SSL4ServerEndpoint)
        self.assertIsInstance(dd.endpoint, TCP4ServerEndpoint)

    def test_bad_file_names_the_field(self):
        bad = attrs.evolve(self.paths, key=str(self.dir / "missing.key"))
        error = self.assertRaises(SystemExit, daemons.daemon_tls_options, self.config,
                                  _daemon(True, bad), "metadataDaemon")
        for fragment in ("TLS configuration error (metadataDaemon)",
                         "metadataDaemon.https.key", str(self.dir / "missing.key")):
            self.assertIn(fragment, str(error))

    def test_shared_files_named_as_cert_file_paths(self):
        bad = attrs.evolve(self.paths, cert=str(self.files.ca_key))  # not a certificate
        config = attrs.evolve(self.config, cert_file_paths=bad)
        error = self.assertRaises(SystemExit, daemons.daemon_tls_options, config,
                                  _daemon(True, bad), "dataDaemon")
        self.assertIn("certFilePaths.cert", str(error))
        self.assertIn("holds no PEM certificate", str(error))

    def test_ssl_env_makes_the_files(self):
        d = self.tempdir()
        paths = CertFilePaths(str(d / "server.key"), str(d / "server.crt"), str(d / "ca.crt"))
        config = attrs.evolve(self.config, cert_file_paths=paths,
                              ssl_make_certs_for="dmd.example")
        options = daemons.daemon_tls_options(config, _daemon(True, paths), "dataDaemon")
        self.assertIsInstance(options, CertificateOptions)
        self.assertTrue(certs.CertFiles.in_directory(d).all_exist())

    def test_plain_daemon_has_no_options(self):
        self.assertIsNone(daemons.daemon_tls_options(self.config, _daemon(), "dataDaemon"))


class ClientEndpointTests(LoadMixin, SynchronousTestCase):
    """The metadata RPC endpoint and the data REST agent of ``--mode s3``."""

    def setUp(self):
        self.dir = self.tempdir()
        self.files = shared_certs("dmd", ["localhost", "127.0.0.1"])
        self.other = shared_certs("other", ["localhost"])
        self.server = tls.server_options(CertFilePaths(
            str(self.files.server_key), str(self.files.server_cert), str(self.files.ca_cert)))
        self.config = self.load()

    def client(self, host="127.0.0.1", ca=None, https=True):
        return DaemonAddress(host, 9990, https=https,
                             ca=str(ca or self.files.ca_cert) if https else None)

    def creator(self, client):
        """The TLS connection creator of the metadata endpoint for ``client``."""
        endpoint = daemons.metadata_endpoint(MemoryReactorClock(), client)
        self.assertNotIsInstance(endpoint, HostnameEndpoint)  # wrapped in TLS
        return daemons.metadata_tls(client)

    def test_plain(self):
        endpoint = daemons.metadata_endpoint(MemoryReactorClock(), self.client(https=False))
        self.assertIsInstance(endpoint, HostnameEndpoint)
        self.assertEqual(endpoint._hostText, "127.0.0.1")

    def test_metadata_tls_verifies(self):
        _, s = handshake(self.server, self.creator(self.client()))
        self.assertEqual(s.wrappedProtocol.data, b"ping")
        _, s = handshake(self.server, self.creator(self.client("localhost")))
        self.assertEqual(s.wrappedProtocol.data, b"ping")

    def test_metadata_tls_refuses_other_ca(self):
        _, s = handshake(self.server, self.creator(self.client(ca=self.other.ca_cert)))
        self.assertEqual(getattr(s.wrappedProtocol, "data", b""), b"")

    def test_metadata_tls_refuses_wrong_host(self):
        _, s = handshake(self.server, self.creator(self.client("dmd.example")))
        self.assertEqual(getattr(s.wrappedProtocol, "data", b""), b"")

    def backend(self, mc: DaemonAddress, dc: DaemonAddress):
        config = attrs.evolve(self.config, metadata_client=mc,
                              data_client=attrs.evolve(dc, port=9991))
        return daemons.remote_backend(config, MemoryReactorClock())

    def test_remote_backend(self):
        metadata, data, _ = self.backend(self.client(), self.client("localhost"))
        self.assertEqual(data.base, "https://localhost:9991")
        self.assertNotIsInstance(metadata.endpoint, HostnameEndpoint)

    def test_data_policy_verifies(self):
        self.assertIsNone(daemons.data_https_policy(self.client(https=False)))
        policy = daemons.data_https_policy(self.client())
        _, s = handshake(self.server, policy.creatorForNetloc(b"localhost", 9991))
        self.assertEqual(s.wrappedProtocol.data, b"ping")
        for client, host in ((self.client(ca=self.other.ca_cert), b"127.0.0.1"),
                             (self.client(), b"dmd.example")):
            policy = daemons.data_https_policy(client)
            _, s = handshake(self.server, policy.creatorForNetloc(host, 9991))
            self.assertEqual(getattr(s.wrappedProtocol, "data", b""), b"")

    def test_remote_backend_plain(self):
        metadata, data, _ = self.backend(self.client(https=False), self.client(https=False))
        self.assertEqual(data.base, "http://127.0.0.1:9991")
        self.assertIsInstance(metadata.endpoint, HostnameEndpoint)

    def test_bad_ca_names_the_field(self):
        missing = str(self.dir / "missing-ca.crt")
        error = self.assertRaises(SystemExit, self.backend, self.client(ca=missing),
                                  self.client(https=False))
        self.assertIn("metadataClient.ca", str(error))
        self.assertIn(missing, str(error))
        not_pem = self.dir / "not-pem.crt"
        not_pem.write_text("hello\n")
        error = self.assertRaises(SystemExit, self.backend, self.client(https=False),
                                  self.client(ca=not_pem))
        self.assertIn("dataClient.ca", str(error))


class MakeServiceTests(LoadMixin, SynchronousTestCase):
    """config.json -> tap.makeService: the dmd ports listen with TLS."""

    def test_dmd_mode(self):
        from twisted.application.internet import StreamServerEndpointService

        from cloudserver import tap
        files = shared_certs("dmd", ["localhost", "127.0.0.1"])
        d = self.tempdir()
        conf = json.loads((CHECKOUT / "conf" / "config.json").read_text())
        conf["certFilePaths"] = files.cert_file_paths()
        conf["metadataDaemon"] = {"bindAddress": "127.0.0.2", "port": 9101, "https": True}
        conf["dataDaemon"] = {"bindAddress": "127.0.0.2", "port": 9102,
                              "https": {"key": str(files.server_key),
                                        "cert": str(files.server_cert)}}
        (d / "config.json").write_text(json.dumps(conf))
        options = tap.Options()
        options.parseOptions(["--mode", "dmd"])
        top = tap.makeService(options, reactor=MemoryReactorClock(),
                              env={"S3BACKEND": "mem", "S3_CONFIG_FILE": str(d / "config.json")})
        endpoints = [svc.endpoint for svc in top
                     if isinstance(svc, StreamServerEndpointService)
                     and not isinstance(svc.endpoint, UNIXServerEndpoint)]  # TCP ones
        self.assertEqual([(type(e), e._port) for e in endpoints],
                         [(SSL4ServerEndpoint, 9101), (SSL4ServerEndpoint, 9102)])


class RPCClientTLSFailureTests(SynchronousTestCase):
    """A failed handshake reaches the S3 client as a 503 saying why, and the log."""

    def test_handshake_failure(self):
        from OpenSSL import SSL
        from twisted.internet.task import Clock
        from twisted.internet.testing import StringTransport
        from twisted.logger import globalLogPublisher
        from twisted.python.failure import Failure

        from cloudserver.metadata.errors import DaemonUnavailable
        from cloudserver.metadata.rpc_client import MetadataRPCClientProtocol

        events: list = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        proto = MetadataRPCClientProtocol(Clock())
        proto.makeConnection(StringTransport())
        d = proto.call("get_bucket", {"name": "b"})
        error = SSL.Error([("SSL routines", "", "certificate verify failed")])
        proto.connectionLost(Failure(error))
        failure = self.failureResultOf(d, DaemonUnavailable)
        self.assertIn("TLS handshake failed", str(failure.value))
        self.assertIn("certificate verify failed", str(failure.value))
        self.assertTrue([e for e in events if "TLS handshake failed" in str(e.get("why"))])
