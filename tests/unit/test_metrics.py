# -*- test-case-name: tests.unit.test_metrics -*-
"""The metrics of cloudserver.metrics: request counters moved by in-process
requests, each server's own registry, the lower layers' hooks (group
commit, fsync, RPC stats, lifecycle stats, KMS), the metrics site, the
config.json ``metrics`` section and the wiring of makeService."""
from __future__ import annotations

import json
import os
from collections import Counter

from twisted.application.internet import StreamServerEndpointService
from twisted.internet.endpoints import UNIXServerEndpoint
from twisted.internet import defer
from twisted.internet.address import IPv4Address
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.server import Site

from cloudserver import tap
from cloudserver.config import ConfigError, load_config
from cloudserver.data.file import FileDataStore
from cloudserver.kms.errors import NoSuchKmsKey
from cloudserver.kms.memory import MemoryKms
from cloudserver.metadata.kv import GroupCommitter, MemoryKV
from cloudserver.metadata.rpc_client import MetadataRPCClient
from cloudserver.metadata.rpc_server import MetadataRPCFactory
from cloudserver.metadata.service import MetadataService
from cloudserver.metadata.rpc import CallStats
from cloudserver.metrics.collectors import LifecycleCollector, RPCCollector, UsageCollector
from cloudserver.metrics.families import Metrics
from cloudserver.metrics.kms import CountingKms
from cloudserver.metrics.site import metrics_site
from tests.unit.test_data_file import clock_cooperator, inline
from tests.unit.test_metadata_rpc import FakeEndpoint, HeldService
from tests.unit.test_metadata_rpc import request as rpc_request
from tests.unit.test_http import Harness, signed, status


def value(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


class RequestMetricsTests(SynchronousTestCase):
    """The request families move once per request, from S3Resource._log."""

    def setUp(self):
        self.h = Harness()
        self.metrics = Metrics(process=False)
        self.h.site.resource.metrics = self.metrics

    def test_requests_bytes_errors(self):
        m = self.metrics
        self.assertEqual(status(self.h.send(signed("PUT", "/bucket"))), 200)
        body = b"x" * 1234
        self.assertEqual(status(self.h.send(signed("PUT", "/bucket/k", body) + body)), 200)
        out = self.h.send(signed("GET", "/bucket/k"))
        self.assertEqual(status(out), 200)
        self.assertEqual(status(self.h.send(signed("GET", "/bucket/missing"))), 404)
        self.assertEqual(value(m, "cloudserver_requests_total", operation="PutObject",
                               status_class="2xx"), 1)
        self.assertEqual(value(m, "cloudserver_requests_total", operation="GetObject",
                               status_class="2xx"), 1)
        self.assertEqual(value(m, "cloudserver_requests_total", operation="GetObject",
                               status_class="4xx"), 1)
        self.assertEqual(value(m, "cloudserver_errors_total", code="NoSuchKey"), 1)
        self.assertEqual(value(m, "cloudserver_request_received_bytes_total",
                               operation="PutObject"), 1234)
        self.assertGreater(value(m, "cloudserver_response_sent_bytes_total",
                                 operation="GetObject"), 1234)
        self.assertEqual(value(m, "cloudserver_request_duration_seconds_count",
                               operation="CreateBucket"), 1)
        self.assertEqual(value(m, "cloudserver_requests_in_flight"), 0)

    def test_in_flight_while_running(self):
        self.h.site.resource.metrics.request_started()
        self.assertEqual(value(self.metrics, "cloudserver_requests_in_flight"), 1)
        self.metrics.request_done("GetObject", 503, "SlowDown", 0, 10, 0.5)
        self.assertEqual(value(self.metrics, "cloudserver_requests_in_flight"), 0)
        self.assertEqual(value(self.metrics, "cloudserver_requests_total",
                               operation="GetObject", status_class="5xx"), 1)
        self.assertEqual(value(self.metrics, "cloudserver_errors_total", code="SlowDown"), 1)

    def test_each_server_has_its_own_registry(self):
        other = Metrics(process=False)
        self.metrics.request_done("PutObject", 200, "-", 1, 0, 0.001)
        self.assertEqual(value(self.metrics, "cloudserver_requests_total",
                               operation="PutObject", status_class="2xx"), 1)
        self.assertEqual(value(other, "cloudserver_requests_total",
                               operation="PutObject", status_class="2xx"), 0)
        Metrics()  # with the process collector: still no clash
        Metrics()


class HookTests(SynchronousTestCase):
    """The lower layers' hooks and counters, read into the families."""

    def test_group_commit_batches(self):
        held = []

        def hold(f, *args):
            d = defer.Deferred()
            held.append((d, f, args))
            return d

        committer = GroupCommitter(lambda batch: None, hold)
        m = Metrics(process=False)
        committer.on_batch = m.kv_batch
        committer.submit(([(b"a", b"1")], []))
        committer.submit(([(b"b", b"2")], []))
        committer.submit(([(b"c", b"3")], []))
        held.pop(0)[0].callback(None)  # the first batch: one write
        held.pop(0)[0].callback(None)  # the second: the two queued meanwhile
        self.assertEqual(value(m, "cloudserver_metadata_kv_batch_writes_count"), 2)
        self.assertEqual(value(m, "cloudserver_metadata_kv_batch_writes_sum"), 3)
        self.assertEqual(value(m, "cloudserver_metadata_kv_batch_seconds_count"), 2)

    def test_fsync_is_timed(self):
        from cloudserver.data import file_writer

        self.patch(file_writer, "_sync_data", lambda fd: None)
        store = FileDataStore(self.mktemp(), None, inline, cooperator=clock_cooperator()[1])
        m = Metrics(process=False)
        store.on_fsync = m.fsync
        writer = store.create_writer()
        writer.write(b"x" * 100)
        self.successResultOf(writer.finish())
        self.assertEqual(value(m, "cloudserver_data_fsync_seconds_count"), 1)

    def test_rpc_stats(self):
        stats = CallStats()
        stats.started("get_object")
        stats.started("get_object")
        stats.in_flight -= 1
        stats.connections = 3
        m = Metrics(process=False)
        m.register(RPCCollector(stats, "client"))
        self.assertEqual(value(m, "cloudserver_dmd_rpc_calls_total", side="client",
                               method="get_object"), 2)
        self.assertEqual(value(m, "cloudserver_dmd_rpc_in_flight", side="client"), 1)
        self.assertEqual(value(m, "cloudserver_dmd_rpc_reconnects_total", side="client"), 2)

    def test_rpc_server_counts_calls_in_flight(self):
        factory = MetadataRPCFactory(HeldService(), Clock())
        server = factory.buildProtocol(None)
        server.makeConnection(StringTransport())
        server.dataReceived(rpc_request(1, "get_bucket", name="b"))
        server.dataReceived(rpc_request(2, "get_bucket", name="c"))
        self.assertEqual((factory.stats.calls, factory.stats.in_flight,
                          factory.stats.connections), ({"get_bucket": 2}, 2, 1))
        for _, _, d in factory.service.calls:
            d.callback({"owner": "me"})
        self.assertEqual(factory.stats.in_flight, 0)

    def test_rpc_client_counts_calls_and_connections(self):
        clock = Clock()
        endpoint = FakeEndpoint(MetadataService(MemoryKV()), clock)
        client = MetadataRPCClient(endpoint, clock)
        client.start()
        self.addCleanup(client.close)
        d = client.list_buckets()
        self.assertEqual((client.stats.calls, client.stats.in_flight),
                         ({"list_buckets": 1}, 1))
        endpoint.flush()
        self.successResultOf(d)
        self.assertEqual((client.stats.in_flight, client.stats.connections), (0, 1))

    def test_usage_per_bucket_capped(self):
        """The largest buckets by bytes, the rest summed as _other, and the
        totals, from the service's running totals (written, not scanned)."""
        svc = MetadataService(MemoryKV())
        for i, size in enumerate((5, 50, 20, 1)):
            self.successResultOf(svc.create_bucket(f"b{i}", {}))
            self.successResultOf(svc.put_object(f"b{i}", "k", {"key": "k", "size": size}))
        self.successResultOf(svc.put_object("b1", "j", {"key": "j", "size": 3},
                                            {"versioning": True}))
        m = Metrics(process=False)
        m.register(UsageCollector(svc.usage, top=2))
        svc.kv.iterate = None  # a scrape reads no record
        self.assertEqual(value(m, "cloudserver_bucket_bytes", bucket="b1"), 53)
        self.assertEqual(value(m, "cloudserver_bucket_objects", bucket="b1"), 2)
        self.assertEqual(value(m, "cloudserver_bucket_bytes", bucket="b2"), 20)
        self.assertIsNone(m.registry.get_sample_value("cloudserver_bucket_bytes",
                                                      {"bucket": "b0"}))
        self.assertEqual(value(m, "cloudserver_bucket_bytes", bucket="_other"), 6)
        self.assertEqual(value(m, "cloudserver_bucket_versions", bucket="_other"), 2)
        self.assertEqual(value(m, "cloudserver_usage_buckets"), 4)
        self.assertEqual(value(m, "cloudserver_usage_bytes"), 79)
        self.assertEqual(value(m, "cloudserver_usage_objects"), 5)
        self.successResultOf(svc.delete_object("b3", "k"))
        self.assertEqual(value(m, "cloudserver_usage_bytes"), 78)

    def test_lifecycle_stats(self):
        class Executor:
            stats = Counter(expire=2, examined=10)

        m = Metrics(process=False)
        m.register(LifecycleCollector(Executor()))
        self.assertEqual(value(m, "cloudserver_lifecycle_actions_total", kind="expire"), 2)
        Executor.stats["expire"] += 1
        self.assertEqual(value(m, "cloudserver_lifecycle_actions_total", kind="expire"), 3)

    def test_kms_calls_and_failures(self):
        m = Metrics(process=False)
        kms = CountingKms(MemoryKms(), m)
        self.assertEqual(kms.name, "mem")
        plain, wrapped = self.successResultOf(
            defer.ensureDeferred(kms.generate_data_key(kms.default_key_id, {})))
        self.failureResultOf(defer.ensureDeferred(kms.generate_data_key("nope", {})),
                             NoSuchKmsKey)
        self.assertEqual(value(m, "cloudserver_kms_calls_total",
                               method="generate_data_key"), 2)
        self.assertEqual(value(m, "cloudserver_kms_failures_total",
                               method="generate_data_key"), 1)


class InlineReactor(MemoryReactorClock):
    """callFromThread at once: the WSGI resource's thread hops run inline."""

    def callFromThread(self, f, *args, **kwargs):
        f(*args, **kwargs)


class InlinePool:
    def callInThreadWithCallback(self, on_result, f, *args, **kwargs):
        on_result(True, f(*args, **kwargs))

    def callInThread(self, f, *args, **kwargs):
        f(*args, **kwargs)


class MetricsSiteTests(SynchronousTestCase):
    def get(self, path: str, client: str = "127.0.0.1") -> bytes:
        config = load_config({"S3BACKEND": "mem"})

        class Locations:
            async def healthcheck(self):
                return [("us-east-1", {"code": 200, "message": "OK"})]

        # a dmd's view: locations, no KMS
        backend = type("B", (), {"config": config, "kms": None, "locations": Locations()})()
        m = Metrics(process=False)
        m.request_done("PutObject", 200, "-", 1, 0, 0.001)
        proto = metrics_site(m.registry, backend, InlineReactor(), InlinePool()
                             ).buildProtocol(None)
        transport = StringTransport(peerAddress=IPv4Address("TCP", client, 1234))
        proto.makeConnection(transport)
        proto.dataReceived(f"GET {path} HTTP/1.0\r\n\r\n".encode())
        return transport.value()

    def test_metrics_text(self):
        out = self.get("/metrics")
        self.assertTrue(out.startswith(b"HTTP/1.0 200"), out[:100])
        self.assertIn(b'cloudserver_requests_total{operation="PutObject",status_class="2xx"} 1.0',
                      out)

    def test_healthcheck(self):
        out = self.get("/_/healthcheck")
        self.assertTrue(out.startswith(b"HTTP/1.0 200"), out[:100])
        self.assertIn(b'{"status": "OK"}', out)
        self.assertTrue(self.get("/_/healthcheck", "10.1.2.3").startswith(b"HTTP/1.0 403"))
        out = self.get("/_/healthcheck/deep")
        self.assertTrue(out.startswith(b"HTTP/1.0 200"), out[:100])
        self.assertEqual(json.loads(out.split(b"\r\n\r\n", 1)[1]),
                         {"us-east-1": {"code": 200, "message": "OK"}})

    def test_other_paths_not_found(self):
        for path in ("/", "/bucket/key", "/_/other"):
            self.assertTrue(self.get(path).startswith(b"HTTP/1.0 404"), path)


def _config_file(test, **fields) -> str:
    with open(os.path.join(os.path.dirname(tap.__file__), "..", "conf", "config.json")) as f:
        raw = json.load(f)
    raw.update(fields)
    path = test.mktemp()
    with open(path, "w") as f:
        json.dump(raw, f)
    return path


class MetricsConfigTests(SynchronousTestCase):
    def test_absent_is_off(self):
        self.assertIsNone(load_config({"S3_CONFIG_FILE": _config_file(self)}).metrics)

    def test_port_and_bind_address(self):
        c = load_config({"S3_CONFIG_FILE": _config_file(self, metrics={"port": 8002})})
        self.assertEqual((c.metrics.host, c.metrics.port), ("localhost", 8002))
        c = load_config({"S3_CONFIG_FILE": _config_file(
            self, metrics={"port": 9102, "bindAddress": "0.0.0.0"})})
        self.assertEqual((c.metrics.host, c.metrics.port), ("0.0.0.0", 9102))

    def test_bad_sections_name_the_field(self):
        for section, words in (([8002], "metrics must be an object"),
                               ({}, "metrics.port is required"),
                               ({"port": "8002"}, "metrics.port"),
                               ({"port": 70000}, "metrics.port"),
                               ({"port": True}, "metrics.port"),
                               ({"port": 1, "bindAddress": ""}, "metrics.bindAddress"),
                               ({"port": 1, "path": "/m"}, "metrics.path")):
            e = self.assertRaises(ConfigError, load_config,
                                  {"S3_CONFIG_FILE": _config_file(self, metrics=section)})
            self.assertIn(words, str(e))


class WiringTests(SynchronousTestCase):
    def listeners(self, mode: str, **fields):
        env = {"S3BACKEND": "mem", "S3_CONFIG_FILE": _config_file(self, **fields)}
        options = tap.Options()
        options.parseOptions(["--mode", mode, "--port", "8101"])
        top = tap.makeService(options, reactor=MemoryReactorClock(), env=env)
        return {type(s.factory): (s.endpoint._interface, s.endpoint._port)
                for s in top if isinstance(s, StreamServerEndpointService)
                and not isinstance(s.endpoint, UNIXServerEndpoint)}  # a dmd's Unix sockets

    def test_metrics_port_in_every_mode(self):
        for mode in ("all", "dmd", "s3"):
            found = self.listeners(mode, metrics={"port": 8102, "bindAddress": "127.0.0.4"})
            self.assertEqual(found[Site], ("127.0.0.4", 8102), mode)

    def test_usage_family_where_the_metadata_lives(self):
        """all and dmd export the per-bucket family; a --mode s3 front has no
        metadata of its own (its dmd exports it)."""
        real = Metrics.register
        for mode, expected in (("all", True), ("dmd", True), ("s3", False)):
            env = {"S3BACKEND": "mem", "S3_CONFIG_FILE": _config_file(
                self, metrics={"port": 8102})}
            options = tap.Options()
            options.parseOptions(["--mode", mode, "--port", "8101"])
            registered = []
            self.patch(Metrics, "register",
                       lambda m, c, seen=registered: seen.append(type(c)) or real(m, c))
            tap.makeService(options, reactor=MemoryReactorClock(), env=env)
            self.assertEqual(UsageCollector in registered, expected, mode)

    def test_off_without_the_section(self):
        self.assertNotIn(Site, self.listeners("all"))
