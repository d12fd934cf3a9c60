"""Which services and listeners each ``--mode`` builds (nothing is started)."""
from __future__ import annotations

import json
import os

from twisted.application.internet import StreamServerEndpointService
from twisted.internet.endpoints import UNIXServerEndpoint
from twisted.internet.testing import MemoryReactorClock
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from cloudserver import tap
from cloudserver.daemons import ClientsService
from cloudserver.data.rest import DataSite
from cloudserver.data.rest_client import RestDataStore
from cloudserver.kms.file import FileKms
from cloudserver.kms.memory import MemoryKms
from cloudserver.metadata.rpc_client import MetadataRPCClient
from cloudserver.metadata.rpc_server import MetadataRPCFactory
from cloudserver.web.site import StreamingSite


class ModeTests(SynchronousTestCase):
    def build(self, mode: str, extra_env: dict | None = None):
        tmp = self.mktemp()
        os.makedirs(tmp)
        with open(os.path.join(os.path.dirname(tap.__file__), "..", "conf",
                               "config.json")) as f:
            config = json.load(f)
        config["metadataDaemon"] = {"bindAddress": "127.0.0.2", "port": 9101}
        config["dataDaemon"] = {"bindAddress": "127.0.0.2", "port": 9102}
        config["metadataClient"] = {"host": "dmd.example", "port": 9103}
        config["dataClient"] = {"host": "dmd.example", "port": 9104}
        path = os.path.join(tmp, "config.json")
        with open(path, "w") as f:
            json.dump(config, f)
        env = {"S3BACKEND": "mem", "S3_CONFIG_FILE": path, **(extra_env or {})}
        options = tap.Options()
        options.parseOptions(["--mode", mode, "--port", "8101"])
        top = tap.makeService(options, reactor=MemoryReactorClock(), env=env)
        listeners = {}
        for svc in top:
            if isinstance(svc, StreamServerEndpointService):
                ep = svc.endpoint
                if isinstance(ep, UNIXServerEndpoint):  # a dmd's Unix sockets, beside
                    continue
                listeners[type(svc.factory)] = (ep._interface, ep._port)
        return top, listeners

    def test_all(self):
        _, listeners = self.build("all")
        self.assertEqual(listeners, {StreamingSite: ("", 8101),
                                     MetadataRPCFactory: ("127.0.0.2", 9101),
                                     DataSite: ("127.0.0.2", 9102)})

    def test_listen_addr_overrides_bind_address(self):
        _, listeners = self.build("dmd", {"LISTEN_ADDR": "127.0.0.3"})
        self.assertEqual(listeners, {MetadataRPCFactory: ("127.0.0.3", 9101),
                                     DataSite: ("127.0.0.3", 9102)})

    def test_s3(self):
        top, listeners = self.build("s3", {"METADATA_HOST": "md.example"})
        self.assertEqual(listeners, {StreamingSite: ("", 8101)})
        clients = [s for s in top if isinstance(s, ClientsService)]
        self.assertEqual(len(clients), 1)
        self.assertIsInstance(clients[0].metadata, MetadataRPCClient)
        self.assertIsInstance(clients[0].data, RestDataStore)
        self.assertEqual(clients[0].data.base, "http://dmd.example:9104")
        self.assertEqual(clients[0].metadata.endpoint._hostText, "md.example")

    def test_lifecycle_only_where_the_metadata_is(self):
        from cloudserver.lifecycle.service import LifecycleService

        for mode, expected in (("all", 1), ("dmd", 1), ("s3", 0)):
            top, _ = self.build(mode)
            found = [s for s in top if isinstance(s, LifecycleService)]
            self.assertEqual(len(found), expected, mode)

    def test_bad_mode(self):
        self.assertRaises(usage.UsageError, tap.Options().parseOptions, ["--mode", "both"])


class KmsWiringTests(SynchronousTestCase):
    """tap builds the configured KMS for the S3 front (also ``--mode s3``)
    and closes it on stop; a dmd holds none."""

    def build(self, mode: str, **env):
        meta = os.path.abspath(self.mktemp())
        env = {"S3KMS": "file", "S3METADATAPATH": meta, **env}
        top, _ = ModeTests.build(self, mode, env)
        services = [s for s in top if isinstance(s, tap.KmsService)]
        return services, meta

    def test_front_holds_the_kms(self):
        for mode in ("all", "s3"):
            services, meta = self.build(mode)
            self.assertEqual(len(services), 1)
            kms = services[0].kms
            self.assertIsInstance(kms, FileKms)
            self.assertEqual(kms.path, os.path.join(meta, "kms", "keys.json"))
            self.assertTrue(self.successResultOf(kms.has_key("testkey-1")))

    def test_dmd_has_none(self):
        services, meta = self.build("dmd")
        self.assertEqual(services, [])
        self.assertFalse(os.path.exists(os.path.join(meta, "kms")))

    def test_mem_backend_gets_mem_kms(self):
        services, _ = self.build("all", S3KMS="")
        self.assertIsInstance(services[0].kms, MemoryKms)
        self.assertNotIsInstance(services[0].kms, FileKms)

    def test_bad_key_file_stops_start(self):
        meta = os.path.abspath(self.mktemp())
        os.makedirs(os.path.join(meta, "kms"))
        path = os.path.join(meta, "kms", "keys.json")
        with open(path, "w") as f:
            f.write("{}")
        os.chmod(path, 0o600)
        e = self.assertRaises(SystemExit, ModeTests.build, self, "all",
                              {"S3KMS": "file", "S3METADATAPATH": meta})
        self.assertIn(path, str(e))
