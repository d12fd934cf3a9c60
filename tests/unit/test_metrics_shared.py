"""The metrics of ``clusters: N`` (cloudserver/metrics/shared.py): fake
workers write prometheus_client's multiprocess files in a temporary
directory (the library's MmapedValue, with a fake pid), and the
supervisor's registry exports them summed, merged with its own families,
no name twice."""
from __future__ import annotations

import json
import os
import stat
import tempfile

from prometheus_client import generate_latest, values
from prometheus_client.parser import text_string_to_metric_families
from twisted.application.internet import StreamServerEndpointService
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock
from twisted.web.server import Site
from twisted.trial.unittest import SynchronousTestCase

from cloudserver import tap
from cloudserver.metadata.rpc import CallStats
from cloudserver.metrics import shared
from cloudserver.metrics.collectors import RPCCollector
from cloudserver.metrics.families import Metrics
from cloudserver.metrics.kms import CountingKms
from cloudserver.workers import sockets
from cloudserver.workers.supervisor import WorkerSupervisor


def exposition(registry) -> tuple[str, dict[tuple[str, tuple], float]]:
    text = generate_latest(registry).decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return text, samples


class _Kms:
    def generate_data_key(self, key_id):
        return b"k"


class SharedMetricsTests(SynchronousTestCase):
    def setUp(self) -> None:
        self.directory = shared.prepare_directory(tempfile.mkdtemp(prefix="cs-mp-"))
        self.addCleanup(lambda: __import__("shutil").rmtree(
            os.path.dirname(self.directory), ignore_errors=True))
        self.patch(os, "environ", {**os.environ, shared.ENV: self.directory})
        self.supervisor = Metrics(process=False, front=False)
        self.registry = shared.supervisor_registry(self.supervisor.registry, self.directory)
        self.addCleanup(self.close_files)

    def close_files(self) -> None:
        for cleanup in values._multi_process_cleanups:
            cleanup()
        values._multi_process_cleanups.clear()

    def worker(self, pid: int) -> shared.WorkerMetrics:
        """A fake worker: its values are the library's mmap'd ones, under ``pid``."""
        self.patch(values, "ValueClass", values.MultiProcessValue(lambda: pid))
        return shared.WorkerMetrics()

    def test_workers_summed_with_the_supervisor_families(self):
        one = self.worker(101)
        one.request_started()
        one.request_done("GetObject", 200, "-", 0, 1000, 0.002)
        one.request_started()
        one.request_done("GetObject", 404, "NoSuchKey", 0, 300, 0.001)
        one.request_started()  # still running
        two = self.worker(102)
        for _ in range(3):
            two.request_started()
            two.request_done("PutObject", 200, "-", 4096, 0, 0.003)
        two.request_started()
        two.request_done("GetObject", 200, "-", 0, 50, 0.02)
        text, got = exposition(self.registry)
        self.assertEqual(got[("cloudserver_requests_total",
                              (("operation", "GetObject"), ("status_class", "2xx")))], 2)
        self.assertEqual(got[("cloudserver_requests_total",
                              (("operation", "GetObject"), ("status_class", "4xx")))], 1)
        self.assertEqual(got[("cloudserver_requests_total",
                              (("operation", "PutObject"), ("status_class", "2xx")))], 3)
        self.assertNotIn(("cloudserver_requests_total",
                          (("operation", "PutObject"), ("status_class", "4xx"))), got)
        self.assertEqual(got[("cloudserver_response_sent_bytes_total",
                              (("operation", "GetObject"),))], 1350)
        self.assertEqual(got[("cloudserver_request_received_bytes_total",
                              (("operation", "PutObject"),))], 3 * 4096)
        self.assertEqual(got[("cloudserver_request_received_bytes_total",
                              (("operation", "GetObject"),))], 0)
        self.assertEqual(got[("cloudserver_request_duration_seconds_count",
                              (("operation", "GetObject"),))], 3)
        self.assertEqual(got[("cloudserver_request_duration_seconds_bucket",
                              (("le", "0.005"), ("operation", "GetObject")))], 2)
        self.assertEqual(got[("cloudserver_errors_total", (("code", "NoSuchKey"),))], 1)
        # livesum: one request in flight, no pid label
        self.assertEqual(got[("cloudserver_requests_in_flight", ())], 1)
        # the supervisor's own families are there too
        self.assertIn(("cloudserver_metadata_kv_batch_writes_count", ()), got)
        self.assertNoDuplicateFamilies(text)
        for name, labels in got:
            self.assertNotIn("pid", dict(labels), name)

    def assertNoDuplicateFamilies(self, text: str) -> None:
        types = [line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")]
        self.assertEqual(sorted(types), sorted(set(types)))

    def test_dead_worker_counters_stay_live_gauges_go(self):
        one = self.worker(201)
        one.request_started()
        one.request_done("HeadObject", 200, "-", 0, 0, 0.001)
        one.request_started()  # killed while serving this one
        two = self.worker(202)
        two.request_started()
        self.assertEqual(exposition(self.registry)[1][("cloudserver_requests_in_flight", ())],
                         2)
        shared.process_ended(self.directory)(201)
        two.request_done("HeadObject", 200, "-", 0, 0, 0.001)
        got = exposition(self.registry)[1]
        self.assertEqual(got[("cloudserver_requests_in_flight", ())], 0)
        self.assertEqual(got[("cloudserver_requests_total",
                              (("operation", "HeadObject"), ("status_class", "2xx")))], 2)

    def test_rpc_families_merged_with_the_dmd_side(self):
        served = CallStats()
        served.started("get_object")
        served.in_flight -= 1
        served.connections = 2
        self.supervisor.register(RPCCollector(served, "server"))
        worker = self.worker(301)
        stats = CallStats()
        worker.register(RPCCollector(stats, "client"))
        stats.connections = 1
        stats.started("get_object")
        stats.started("put_object")
        service = shared.SyncService(Clock(), worker)
        service.startService()  # the first copy now
        stats.started("get_object")
        stats.connections = 3
        service.stopService()  # and the last one on stop
        text, got = exposition(self.registry)
        self.assertNoDuplicateFamilies(text)
        self.assertEqual(got[("cloudserver_dmd_rpc_calls_total",
                              (("method", "get_object"), ("side", "client")))], 2)
        self.assertEqual(got[("cloudserver_dmd_rpc_calls_total",
                              (("method", "put_object"), ("side", "client")))], 1)
        self.assertEqual(got[("cloudserver_dmd_rpc_calls_total",
                              (("method", "get_object"), ("side", "server")))], 1)
        self.assertEqual(got[("cloudserver_dmd_rpc_in_flight", (("side", "client"),))], 3)
        self.assertEqual(got[("cloudserver_dmd_rpc_in_flight", (("side", "server"),))], 0)
        self.assertEqual(got[("cloudserver_dmd_rpc_reconnects_total",
                              (("side", "client"),))], 2)
        self.assertEqual(got[("cloudserver_dmd_rpc_connections_total",
                              (("side", "server"),))], 2)

    def test_sync_copies_increments_only(self):
        worker = self.worker(401)
        stats = CallStats()
        worker.register(RPCCollector(stats, "client"))
        stats.started("head_object")
        worker.sync()
        worker.sync()
        stats.started("head_object")
        worker.sync()
        got = exposition(self.registry)[1]
        self.assertEqual(got[("cloudserver_dmd_rpc_calls_total",
                              (("method", "head_object"), ("side", "client")))], 2)

    def test_kms_calls_of_a_worker(self):
        kms = CountingKms(_Kms(), self.worker(501))
        kms.generate_data_key("id")
        got = exposition(self.registry)[1]
        self.assertEqual(got[("cloudserver_kms_calls_total",
                              (("method", "generate_data_key"),))], 1)
        self.assertEqual(got[("cloudserver_kms_failures_total",
                              (("method", "generate_data_key"),))], 0)

    def test_a_failing_source_leaves_the_others(self):
        class Broken:
            def collect(self):
                raise ValueError("cut file")

        merged = shared.MergedCollector(Broken(), self.supervisor.registry)
        names = {family.name for family in merged.collect()}
        self.assertIn("cloudserver_metadata_kv_batch_writes", names)
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)

    def test_supervisor_registers_no_front_family(self):
        text, got = exposition(self.supervisor.registry)
        for name, _ in got:
            self.assertFalse(name.startswith(("cloudserver_request", "cloudserver_kms",
                                              "cloudserver_errors", "cloudserver_response")),
                             name)
        self.assertFalse(hasattr(self.supervisor, "kms_calls"))


class PinTests(SynchronousTestCase):
    def test_pid_pinned_in_a_worker_only(self):
        plain = values.ValueClass
        self.patch(values, "ValueClass", plain)
        shared.pin_pid({})
        self.assertIs(values.ValueClass, plain)  # not in multiprocess mode
        mp = values.MultiProcessValue()
        self.patch(values, "ValueClass", mp)
        shared.pin_pid({shared.ENV: "/d"})
        self.assertIsNot(values.ValueClass, mp)
        self.assertTrue(values.ValueClass._multiprocess)


class DirectoryTests(SynchronousTestCase):
    def test_fresh_private_directory(self):
        root = tempfile.mkdtemp(prefix="cs-mp-")
        self.addCleanup(lambda: __import__("shutil").rmtree(root, ignore_errors=True))
        path = shared.prepare_directory(root)
        with open(os.path.join(path, "counter_99.db"), "wb") as f:
            f.write(b"old run")
        self.assertEqual(shared.prepare_directory(root), path)
        self.assertEqual(os.listdir(path), [])
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o700)

    def test_worker_env(self):
        env = {"PATH": "/bin", shared.ENV: "/elsewhere", "prometheus_multiproc_dir": "/x"}
        self.assertEqual(shared.worker_env(env, "/d"), {"PATH": "/bin", shared.ENV: "/d"})
        self.assertEqual(shared.worker_env(env, None), {"PATH": "/bin"})


class SupervisorExitHookTests(SynchronousTestCase):
    def test_on_exit_called_with_the_pid(self):
        from tests.unit.test_workers import ProcessReactor, died

        reactor, ended = ProcessReactor(), []
        s = WorkerSupervisor(reactor, 2, lambda n: (["python"], {}), {}, stop_timeout=1,
                             on_exit=ended.append)
        s.startService()
        victim = s.workers[1]
        died(victim)
        self.assertEqual(ended, [victim.pid])


class WiringTests(SynchronousTestCase):
    """clusters: 2 with a metrics port: the supervisor serves the merged
    registry and gives its workers the directory; a worker given it counts
    into the files and has no port of its own."""

    def config(self, **fields) -> tuple[str, str]:
        tmp = tempfile.mkdtemp(prefix="cs-md-")  # a socket path must fit in 107 bytes
        self.addCleanup(lambda: __import__("shutil").rmtree(tmp, ignore_errors=True))
        with open(os.path.join(os.path.dirname(tap.__file__), "..", "conf",
                               "config.json")) as f:
            config = json.load(f)
        config.update(fields)
        path = os.path.join(tmp, "config.json")
        with open(path, "w") as f:
            json.dump(config, f)
        return path, tmp

    def build(self, args, environ=None, **fields):
        path, md = self.config(**fields)
        self.patch(sockets, "listening_sockets", lambda *a, **k: [])
        if environ is not None:
            self.patch(os, "environ", environ)
        env = {"S3BACKEND": "mem", "S3_CONFIG_FILE": path, "S3METADATAPATH": md}
        options = tap.Options()
        options.parseOptions(args)
        return list(tap.makeService(options, reactor=MemoryReactorClock(), env=env)), md

    def test_supervisor(self):
        from cloudserver.metrics import site

        served = []
        real = site.metrics_site
        self.patch(site, "metrics_site",
                   lambda registry, *a: served.append(registry) or real(registry, *a))
        children, md = self.build(["--port", "8101"], clusters=2,
                                  metrics={"port": 8102})
        supervisor = children[-1]
        directory = os.path.join(md, shared.DIRECTORY)
        self.assertEqual(supervisor.env[shared.ENV], directory)
        self.assertEqual(stat.S_IMODE(os.stat(directory).st_mode), 0o700)
        self.assertIsNotNone(supervisor.on_exit)
        [registry] = served
        [merged] = registry._collector_to_names
        self.assertIsInstance(merged, shared.MergedCollector)
        self.assertNotIn(shared.ENV, os.environ)  # the supervisor's own stay in-process

    def test_supervisor_without_metrics(self):
        children, md = self.build(["--port", "8101"], {**os.environ, shared.ENV: "/x"},
                                  clusters=2)
        self.assertNotIn(shared.ENV, children[-1].env)
        self.assertFalse(os.path.exists(os.path.join(md, shared.DIRECTORY)))

    def test_worker(self):
        args = ["--mode", "s3", "--port", "8101", "--worker", "1", "--listen-fd", "3"]
        children, _ = self.build(args, {**os.environ, shared.ENV: "/unused"},
                                 metrics={"port": 8102})
        self.assertFalse([s for s in children if isinstance(s, StreamServerEndpointService)
                          and type(s.factory) is Site])
        sync = [s for s in children if isinstance(s, shared.SyncService)]
        self.assertEqual(len(sync), 1)
        self.assertIsInstance(sync[0].metrics, shared.WorkerMetrics)
        self.assertEqual([end.side for end in sync[0].metrics._rpc], ["client"])
