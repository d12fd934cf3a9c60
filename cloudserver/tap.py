# -*- test-case-name: tests.unit.test_tap -*-
"""`twistd cloudserver`: command-line options and the service tree of a mode."""
from __future__ import annotations

import os
import signal
from types import SimpleNamespace

from twisted.application import service
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.threads import deferToThreadPool
from twisted.logger import Logger
from twisted.python import usage
from twisted.python.threadpool import ThreadPool

from cloudserver import daemons, tls
from cloudserver.allocator import AllocatorService
from cloudserver.config import ConfigError, load_config
from cloudserver.memdiag import add_memory_report
from cloudserver.web.drain import SequentialMultiService

log = Logger(namespace="cloudserver")

MODES = ("all", "dmd", "s3")


class Options(usage.Options):
    synopsis = "[options]"
    longdesc = ("Serve the S3 API (Zenko CloudServer compatible). Configuration comes from "
                "conf/config.json, conf/authdata.json, conf/locationConfig.json (in the "
                "working directory, else the defaults shipped with the package; "
                "S3_CONFIG_FILE, S3AUTH_CONFIG, S3_LOCATION_FILE override them) and the "
                "environment (S3BACKEND, S3DATAPATH, S3METADATAPATH, LISTEN_ADDR, ...).")
    optParameters = [
        ["mode", "m", "all", "what to run: all (S3 front and daemons), dmd, s3"],
        ["port", "p", None, "S3 port (default: config.json 'port', 8000)", int],
        # A supervisor's worker (config.json clusters > 1) is started with these:
        ["worker", None, 0, "(internal) run as S3 worker N of a supervisor", int],
        ["listen-fd", None, None, "(internal) accept S3 connections on this inherited "
         "listening descriptor", int],
        ["metadata-socket", None, None, "--mode s3: reach the dmd's metadata RPC on this "
         "Unix socket (a dmd's is <metadata path>/dmd-rpc.sock)"],
        ["data-socket", None, None, "--mode s3: reach the dmd's data REST on this "
         "Unix socket (<metadata path>/dmd-data.sock)"],
    ]

    def postOptions(self):
        if self["mode"] not in MODES:
            raise usage.UsageError(f"--mode must be one of {', '.join(MODES)}")
        if self["port"] is not None and not 0 <= self["port"] < 65536:
            raise usage.UsageError("--port must be a port number")
        if self["worker"] and (self["mode"] != "s3" or self["listen-fd"] is None):
            raise usage.UsageError("--worker needs --mode s3 and --listen-fd")
        if bool(self["metadata-socket"]) != bool(self["data-socket"]):
            raise usage.UsageError("--metadata-socket and --data-socket go together")


class ProcessService(SequentialMultiService):
    """The top of the tree: children stop one after the other (drain.py),
    and a stop asked by SIGTERM / SIGINT that has run to its end exits with
    status 0, as a server that stopped cleanly does.

    twistd would otherwise kill itself with the signal once the reactor has
    stopped (its ``_exitWithSignal``), so a graceful stop and an abrupt one
    looked the same to a supervisor or a script.  The reactor's
    ``_exitSignal`` is twisted's private record of that signal; on a
    reactor without it nothing changes.
    """

    def __init__(self, reactor):
        super().__init__()
        self._reactor = reactor

    def stopService(self):
        d = super().stopService()
        d.addCallback(self._clean_exit)
        return d

    def _clean_exit(self, _):
        if getattr(self._reactor, "_exitSignal", None) in (signal.SIGTERM, signal.SIGINT):
            log.info("cloudserver: stopped")
            self._reactor._exitSignal = None


class TopService(ProcessService):
    """The root of the service tree; with JSON logs it hands the JSON
    observer to the twistd application it is attached to (twistd builds the
    application after ``makeService`` and starts logging from its
    ILogObserver component, as for a .tac file)."""

    log_observer = None

    def setServiceParent(self, parent):
        if self.log_observer is not None:
            from cloudserver import logs

            logs.install(parent, self.log_observer)
        return super().setServiceParent(parent)


def top_service(config, options, reactor) -> TopService:
    """The root service, carrying the JSON observer when ``log_format`` is
    json (written where twistd would write its text: ``-n`` stdout, else
    ``--logfile`` / twistd.log; syslog stays twistd's)."""
    top = TopService(reactor)
    if config.log_format != "json":
        return top
    from cloudserver import logs

    out = logs.twistd_log_file(getattr(options, "parent", None))
    if out is None:
        log.warn("log.format json: not with --syslog, logging as text")
        return top
    top.log_observer = logs.JsonLogObserver(out)
    return top


class ThreadPoolService(service.Service):
    """Owns the thread pool that blocking calls (fsync, LevelDB writes) run in."""

    def __init__(self, pool: ThreadPool):
        self.pool = pool

    def startService(self):
        super().startService()
        self.pool.start()

    def stopService(self):
        super().stopService()
        self.pool.stop()


class StoresService(service.Service):
    """Closes the metadata and data stores when the process stops."""

    def __init__(self, *stores):
        self.stores = stores

    async def _close(self):
        for store in self.stores:
            result = store.close()
            if result is not None:
                await result

    def stopService(self):
        super().stopService()
        return Deferred.fromCoroutine(self._close())


def _metadata_kv(config, reactor, defer_to_thread):
    """The file backend's KV: LevelDB in S3METADATAPATH, or the postgres
    backend of config.json ``metadata`` / S3METADATA."""
    from cloudserver.metadata.kv import LevelDBKV

    if config.metadata.backend != "postgres":
        return LevelDBKV(config.metadata_path, defer_to_thread, **config.leveldb)
    from cloudserver.metadata.errors import MetadataUnavailable
    from cloudserver.metadata.postgres_kv import open_postgres_kv

    try:
        return open_postgres_kv(config.metadata, reactor, defer_to_thread)
    except ImportError as e:
        raise SystemExit(f"cloudserver: metadata backend postgres needs psycopg "
                         f"(pip install 'cloudserver[postgres]'): {e}") from None
    except (MetadataUnavailable, OSError) as e:
        raise SystemExit(f"cloudserver: metadata database: {e}") from None


def build_backend(config, reactor, defer_to_thread, metrics=None):
    """(metadata service, data store, kv) for the configured backend; with
    ``metrics``, the KV's batches and the file store's fsyncs are timed.
    A file store and the service get their data intents (data/sweep.py)."""
    from cloudserver.data.file import FileDataStore
    from cloudserver.data.sweep import track_data
    from cloudserver.data.memory import MemoryDataStore
    from cloudserver.metadata.kv import MemoryKV
    from cloudserver.metadata.service import MetadataService

    if config.backend == "mem":
        kv = MemoryKV()
        data = MemoryDataStore()
    else:
        os.makedirs(config.metadata_path, exist_ok=True)
        os.makedirs(config.data_path, exist_ok=True)
        kv = _metadata_kv(config, reactor, defer_to_thread)
        data = FileDataStore(config.data_path, reactor, defer_to_thread)
    if metrics is not None:
        from cloudserver.metrics.collectors import DataPathCollector

        if hasattr(kv, "observe_batches"):
            kv.observe_batches(metrics.kv_batch)
        if hasattr(data, "on_fsync"):
            data.on_fsync = metrics.fsync
            metrics.register(DataPathCollector(config.data_path))
    metadata = MetadataService(kv, config.replication_group_id, reactor.seconds)
    track_data(config, kv, metadata, data, reactor.seconds, defer_to_thread)
    if metrics is not None:
        from cloudserver.metrics.collectors import UsageCollector

        metrics.register(UsageCollector(metadata.usage))
    return metadata, data, kv


class KmsService(StoresService):
    """Starts the KMS (the aws KMS checks, and may create, the configured key
    ids) and closes it when the process stops."""

    def __init__(self, kms):
        super().__init__(kms)
        self.kms = kms

    def startService(self):
        super().startService()
        start = getattr(self.kms, "start", None)
        if start is not None:
            start()


def build_server_kms(config, reactor, defer_to_thread, parent):
    """The S3 front's KMS (also in ``--mode s3``: the front holds the keys,
    the dmd only ever sees ciphertext)."""
    from cloudserver.kms.build import build_kms

    try:
        kms = build_kms(config, reactor, defer_to_thread)
    except ConfigError as e:
        raise SystemExit(f"cloudserver: configuration error: {e}") from None
    KmsService(kms).setServiceParent(parent)
    where = getattr(kms, "path", None) or getattr(kms, "endpoint", None) or "memory"
    log.info("KMS: {name} ({where}), default key {default}", name=kms.name, where=where,
             default=kms.default_key_id)
    return kms


def s3_tls_options(config):
    """TLS options for the S3 port (None: plain HTTP); a bad file stops start-up."""
    from cloudserver import certs

    paths = config.cert_file_paths
    if paths is None:
        return None
    try:
        if config.ssl_make_certs_for:
            made = certs.ensure_ca_and_server(os.path.dirname(paths.key),
                                              [config.ssl_make_certs_for])
            log.info("SSL: using {cert} (CA {ca}) for {host}", cert=made.server_cert,
                     ca=made.ca_cert, host=config.ssl_make_certs_for)
        return tls.server_options(paths)
    except (tls.TLSConfigError, OSError) as e:
        raise SystemExit(f"cloudserver: TLS configuration error: {e}") from None


def log_config_files(config):
    """One line per configuration file read, with its path: an operator sees
    whether ./conf, an S3_*_FILE variable or the packaged default was used."""
    for what, path in config.files:
        log.info("config: {what} {path}", what=what, path=path)
    if not any(what == "auth file" for what, _ in config.files):
        log.info("config: accounts from SCALITY_ACCESS_KEY_ID / SCALITY_SECRET_ACCESS_KEY")


def _locations(config, reactor, data, defer_to_thread, parent):
    """The data locations (S3DATA=multiple: a store per location of
    locationConfig.json): the S3 front's, and the lifecycle executor's."""
    from cloudserver.data.locations import build_locations

    try:
        locations = build_locations(config, reactor, data, defer_to_thread)
    except ConfigError as e:
        raise SystemExit(f"cloudserver: configuration error: {e}") from None
    locations.inline_max = config.inline_max_size
    StoresService(locations).setServiceParent(parent)
    return locations


def add_lifecycle(config, metadata, kv, locations, reactor, parent, metrics=None):
    """The lifecycle executor, only where the metadata lives (all, dmd): a
    ``--mode s3`` front never runs it, so N fronts do not expire N times.
    Added after the stores so that it stops (finishing its step) first."""
    from cloudserver.lifecycle.service import lifecycle_service

    lifecycle = lifecycle_service(config, metadata, kv, locations, reactor)
    if lifecycle is not None:
        lifecycle.setServiceParent(parent)
        if metrics is not None:
            from cloudserver.metrics.collectors import LifecycleCollector

            metrics.register(LifecycleCollector(lifecycle.executor))


def add_replication(config, metadata, kv, locations, reactor, defer_to_thread, parent,
                    metrics=None):
    """The replicator, where the metadata lives (all, dmd): its hook marks
    and enqueues new versions in the metadata service's batches.  The KMS
    joins it in ``all`` mode (add_front): a dmd holds no keys."""
    from cloudserver.replication.service import replication_service

    run_blocking = maybeDeferred if config.backend == "mem" else defer_to_thread
    replication = replication_service(config, metadata, kv, locations, reactor,
                                      run_blocking, _replication_reader)
    if replication is not None:
        replication.setServiceParent(parent)
        if metrics is not None:
            from cloudserver.metrics.collectors import ReplicationCollector

            metrics.register(ReplicationCollector(replication.replicator))


def _replication_reader(transfer):
    """A version's bytes in the clear, read as a GET reads them."""
    from cloudserver.s3.ops.object_read import piece_producers
    from cloudserver.s3.sse import apply as sse

    async def read(record, start, length):
        stages = None
        if record.get("sse"):
            stages = await sse.read_stages(transfer.kms, record, None, start, length)
        return piece_producers(transfer.locations, record["location"], start, length, stages)
    return read


def add_notifications(config, metadata, kv, reactor, parent, metrics=None):
    """Bucket notifications' write hook and delivery, where the metadata
    lives (all, dmd), when config.json declares destinations."""
    from cloudserver.notifications.service import notification_service

    delivery = notification_service(config, metadata, kv, reactor)
    if delivery is not None:
        delivery.setServiceParent(parent)
        if metrics is not None:
            from cloudserver.metrics.collectors import NotificationCollector

            metrics.register(NotificationCollector(delivery))


def build_metrics(config, front=True):
    """This process's metrics (their own registry), None without config.json
    ``metrics``; ``front=False``: a supervisor's (its workers count the
    requests, metrics/shared.py)."""
    if config.metrics is None:
        return None
    from cloudserver.metrics.families import Metrics

    return Metrics(front=front)


def build_worker_metrics(config, environ=None):
    """A worker's metrics: the library's values in the files of the
    directory its supervisor gave it (metrics/shared.py), None when it gave
    none."""
    from cloudserver.metrics import shared

    environ = os.environ if environ is None else environ
    if config.metrics is None or not environ.get(shared.ENV):
        return None
    shared.pin_pid(environ)
    return shared.WorkerMetrics()


def add_metrics_port(config, reactor, pool, metrics, health_backend, parent, registry=None,
                     console: bool = True):
    """The metrics port: /metrics (collected in ``pool``: ``registry``, by
    default ``metrics``'), the healthcheck and, with ``console`` (a mode
    with an S3 port), a redirect to the S3 port's console (metrics/site.py)."""
    from cloudserver.metrics.site import metrics_site

    address = config.metrics
    registry = metrics.registry if registry is None else registry
    site = metrics_site(registry, health_backend, reactor, pool,
                        config.port if console else None)
    tls.server_service(reactor, address.port, site, interface=config.listen_addr or address.host,
                       backlog=config.limits.backlog).setServiceParent(parent)
    log.info("metrics on http://{addr}:{port}/metrics",
             addr=config.listen_addr or address.host, port=address.port)


def add_dmd(config, reactor, pool, defer_to_thread, top, metrics, unix=None):
    """What ``--mode dmd`` runs (stores, :9990/:9991 and, given ``unix``,
    the same services on Unix sockets, the locations, the lifecycle);
    returns (metadata, data, locations)."""
    metadata, data, kv = build_backend(config, reactor, defer_to_thread, metrics)
    StoresService(data, kv).setServiceParent(top)
    add_memory_report(os.environ, reactor, top, kv)
    # The dmd's ports; in "all" mode they serve other fronts while ours
    # uses the same stores in-process.
    for listener in daemons.daemon_services(config, reactor, metadata, data, metrics,
                                            unix=unix):
        listener.setServiceParent(top)
    log.info("dmd: metadata RPC on {maddr}:{mport}, data REST on {daddr}:{dport}",
             maddr=config.listen_addr or config.metadata_daemon.host,
             mport=config.metadata_daemon.port,
             daddr=config.listen_addr or config.data_daemon.host,
             dport=config.data_daemon.port)
    if unix is not None:
        log.info("dmd: metadata RPC on unix:{rpc}, data REST on unix:{data}",
                 rpc=unix[0], data=unix[1])
    locations = _locations(config, reactor, data, defer_to_thread, top)
    add_lifecycle(config, metadata, kv, locations, reactor, top, metrics)
    add_replication(config, metadata, kv, locations, reactor, defer_to_thread, top, metrics)
    add_notifications(config, metadata, kv, reactor, top, metrics)
    from cloudserver.data.sweep import add_orphan_sweep

    add_orphan_sweep(config, data, reactor, defer_to_thread, top, metrics)
    return metadata, data, locations


def dmd_unix_paths(config):
    """The dmd's Unix sockets (RPC, data) under the metadata path, or None
    when the path is too long for one (then only TCP)."""
    from cloudserver.workers import sockets

    os.makedirs(config.metadata_path, exist_ok=True)
    unix = sockets.unix_paths(config.metadata_path)
    if unix is None:
        log.warn("dmd: the metadata path is too long for a Unix socket; TCP only")
    return unix


def add_supervisor(config, reactor, pool, defer_to_thread, top, metrics):
    """``clusters: N > 1`` in ``--mode all``: the dmd, its Unix sockets, the
    KMS made ready once (a file KMS's key file exists before N workers read
    it), the metrics port, and the workers last (they stop first)."""
    from cloudserver.workers.worker import supervisor_service

    unix = dmd_unix_paths(config)
    metadata, data, locations = add_dmd(config, reactor, pool, defer_to_thread, top,
                                        metrics, unix=unix)
    kms = build_server_kms(config, reactor, defer_to_thread, top)
    from cloudserver.metrics import shared

    directory = on_exit = None
    if metrics is not None:
        # the workers' families: files here, summed by the metrics port
        directory = shared.prepare_directory(config.metadata_path)
        on_exit = shared.process_ended(directory)
        health = SimpleNamespace(config=config, locations=locations, kms=kms)
        add_metrics_port(config, reactor, pool, metrics, health, top,
                         registry=shared.supervisor_registry(metrics.registry, directory))
    supervisor_service(config, reactor, unix, env=shared.worker_env(dict(os.environ), directory),
                       on_exit=on_exit).setServiceParent(top)
    return top


def add_front(config, options, reactor, defer_to_thread, top, backend_parts, metrics):
    """The S3 front: the KMS, the metrics port, the S3 listener (a worker's:
    on its inherited descriptor, and watching its supervisor)."""
    from cloudserver.s3.context import Backend
    from cloudserver.s3.http.refusals import S3Refusals
    from cloudserver.s3.http.resource import S3Resource
    from cloudserver.web.site import StreamingSite, install_request_line_parser

    metadata, data, locations, pool = backend_parts
    kms = build_server_kms(config, reactor, defer_to_thread, top)
    if metrics is not None:
        from cloudserver.metrics.kms import CountingKms

        kms = CountingKms(kms, metrics)
    backend = Backend(config=config, metadata=metadata, data=data, clock=reactor,
                      accounts=config.accounts, locations=locations, kms=kms)
    if "replication" in top.namedServices:  # all-in-one: the replicator may decrypt
        top.getServiceNamed("replication").replicator.transfer.kms = kms
    if metrics is not None and not options["worker"]:
        add_metrics_port(config, reactor, pool, metrics, backend, top)
    site = StreamingSite(S3Resource(backend, reactor, metrics=metrics), reactor=reactor,
                         name="S3", limits=config.limits.http, refusals=S3Refusals())
    install_request_line_parser()
    if options["worker"]:
        from cloudserver.web.drain import DrainingServerService
        from cloudserver.workers.sockets import AdoptedPortEndpoint
        from cloudserver.workers.worker import ParentWatch

        ParentWatch(reactor).setServiceParent(top)
        if metrics is not None:
            from cloudserver.metrics.shared import SyncService

            SyncService(reactor, metrics).setServiceParent(top)
        listener = DrainingServerService(
            AdoptedPortEndpoint(reactor, options["listen-fd"], s3_tls_options(config)),
            site, site.drain, config.shutdown_timeout)
        listener._raiseSynchronously = True
        listener.setServiceParent(top)
        return
    tls.server_service(reactor, config.port, site, interface=config.listen_addr,
                       tls=s3_tls_options(config), drain=site.drain,
                       drain_timeout=config.shutdown_timeout,
                       backlog=config.limits.backlog).setServiceParent(top)


def makeService(options, reactor=None, env=None):
    if reactor is None:
        from twisted.internet import reactor  # the process's reactor, chosen by twistd

    try:
        config = load_config(env, port=options["port"])
    except ConfigError as e:
        raise SystemExit(f"cloudserver: configuration error: {e}") from None
    if not options["worker"]:
        log_config_files(config)

    # Stopped child by child, last first: the S3 front drains, then the
    # lifecycle, the daemons' connections, the stores, the thread pool.
    top = top_service(config, options, reactor)
    pool = ThreadPool(minthreads=2, maxthreads=16, name="cloudserver-io")
    ThreadPoolService(pool).setServiceParent(top)

    def defer_to_thread(f, *args, **kwargs):
        return deferToThreadPool(reactor, pool, f, *args, **kwargs)

    AllocatorService(config.memory, reactor, defer_to_thread).setServiceParent(top)

    mode = options["mode"]
    # A worker has no metrics port of its own: its supervisor exports its
    # families (metrics/shared.py) on the one configured.
    supervisor = mode == "all" and config.clusters > 1
    if options["worker"]:
        metrics = build_worker_metrics(config)
    else:
        metrics = build_metrics(config, front=not supervisor)
    if supervisor:
        return add_supervisor(config, reactor, pool, defer_to_thread, top, metrics)
    if config.clusters > 1 and not options["worker"]:
        log.info("config: clusters {n} applies to --mode all only; one {mode} process",
                 n=config.clusters, mode=mode)
    if mode == "s3":
        # Stateless front: metadata over :9990, data over :9991 of a dmd.
        unix = None
        if options["metadata-socket"] and options["data-socket"]:
            unix = (options["metadata-socket"], options["data-socket"])
        metadata, data, clients = daemons.remote_backend(config, reactor, metrics, unix=unix)
        clients.setServiceParent(top)
        add_memory_report(os.environ, reactor, top)
        locations = _locations(config, reactor, data, defer_to_thread, top)
    else:
        unix = dmd_unix_paths(config) if mode == "dmd" else None
        metadata, data, locations = add_dmd(config, reactor, pool, defer_to_thread, top,
                                            metrics, unix=unix)
        if mode == "dmd":
            if metrics is not None:
                # the healthcheck's view of a dmd: its locations, no KMS
                health = SimpleNamespace(config=config, locations=locations, kms=None)
                add_metrics_port(config, reactor, pool, metrics, health, top, console=False)
            log.info("cloudserver dmd mode (data {data}, metadata {md})",
                     data=config.data_path, md=config.metadata_path)
            return top
    add_front(config, options, reactor, defer_to_thread, top,
              (metadata, data, locations, pool), metrics)
    if options["worker"]:
        log.info("cloudserver worker {n} (pid {pid}) ready", n=options["worker"],
                 pid=os.getpid())
        return top
    if mode == "s3":
        stores = (f"dmd metadata {config.metadata_client.host}:{config.metadata_client.port}, "
                  f"data {config.data_client.host}:{config.data_client.port}")
    else:
        stores = (f"backend {config.backend} (data {config.data_path}, "
                  f"metadata {config.metadata_path})")
    log.info("cloudserver {mode} mode: S3 on {scheme}://{addr}:{port}, {stores}",
             mode=mode, scheme="https" if config.cert_file_paths else "http",
             addr=config.listen_addr or "*", port=config.port, stores=stores)
    return top
