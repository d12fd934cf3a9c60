# -*- test-case-name: tests.unit.test_tap_modes,tests.unit.test_dmd_tls -*-
"""The pieces tap.makeService assembles per mode (``--mode all | dmd | s3``).

* ``daemon_services``: the dmd's two listeners over the local stores --
  :9990 metadata RPC and :9991 /DataFile REST (``all`` and ``dmd``).
* ``remote_backend``: the metadata client and data store of a front end
  whose stores live in a dmd (``s3``).

Where the daemons listen: ``LISTEN_ADDR`` when set, else config.json
``metadataDaemon`` / ``dataDaemon`` ``bindAddress`` (default localhost),
ports from the same sections (9990 / 9991).  Where a front finds them:
``METADATA_HOST`` / ``DATA_HOST`` or config.json ``metadataClient`` /
``dataClient`` (host, port).

TLS on these hops (README "HTTPS"): a daemon section's ``"https": true``
serves certFilePaths' key and certificate, ``"https": {key, cert, ca}`` its
own; a client section's ``"https": true`` connects with TLS and verifies the
daemon's certificate, for the host it dials, against ``ca`` (default
certFilePaths.ca, else the platform's trust store).  Every file is read
here, at start-up: a bad one stops the process with the field's name.
"""
from __future__ import annotations

import os
from typing import Any

from twisted.application import service
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS

from cloudserver import tls
from cloudserver.web.drain import ConnectionDrain


def _bind(config: Any, daemon: Any) -> str:
    return config.listen_addr or daemon.host


def _tls_error(name: str, error: Exception) -> SystemExit:
    return SystemExit(f"cloudserver: TLS configuration error ({name}): {error}")


def daemon_tls_options(config: Any, daemon: Any, name: str):
    """TLS options of a daemon port (None: plain TCP); ``name`` is its
    config.json section.  With ``"https": true`` under ``SSL=true`` the
    generated certFilePaths files are made first, as for the S3 port."""
    from cloudserver import certs

    paths = daemon.cert_file_paths if daemon.https else None
    if paths is None:
        return None
    shared = paths == config.cert_file_paths
    try:
        if shared and config.ssl_make_certs_for:
            certs.ensure_ca_and_server(os.path.dirname(paths.key),
                                       [config.ssl_make_certs_for])
        return tls.server_options(paths, "certFilePaths" if shared else f"{name}.https")
    except (tls.TLSConfigError, OSError) as e:
        raise _tls_error(name, e) from None


def daemon_services(config: Any, reactor: Any, metadata: Any, data: Any,
                    metrics: Any = None, unix: tuple[str, str] | None = None) -> list:
    """Listeners of the metadata RPC and the data REST service over local stores
    (with ``metrics``: the RPC server's calls are exported); on stop each
    closes its port, then lets its connections finish their calls (up to
    ``shutdownTimeout``) before the stores close.  ``unix``: (RPC, data)
    socket paths where the same two services also listen, for a
    supervisor's workers (plain, mode 0600: no TLS on a local socket)."""
    from cloudserver.data.rest import DataSite
    from cloudserver.metadata.rpc_server import MetadataRPCFactory

    md = config.metadata_daemon
    dd = config.data_daemon
    rpc_factory = MetadataRPCFactory(metadata, reactor)
    rpc_factory.drain = ConnectionDrain(reactor, "metadata daemon")
    if metrics is not None:
        from cloudserver.metrics.collectors import RPCCollector

        metrics.register(RPCCollector(rpc_factory.stats, "server"))
    site = DataSite(data, reactor=reactor, name="data daemon")
    listeners = [
        tls.server_service(reactor, md.port, rpc_factory, interface=_bind(config, md),
                           tls=daemon_tls_options(config, md, "metadataDaemon"),
                           drain=rpc_factory.drain, drain_timeout=config.shutdown_timeout,
                           backlog=config.limits.backlog),
        tls.server_service(reactor, dd.port, site, interface=_bind(config, dd),
                           tls=daemon_tls_options(config, dd, "dataDaemon"),
                           drain=site.drain, drain_timeout=config.shutdown_timeout,
                           backlog=config.limits.backlog),
    ]
    if unix is not None:
        listeners += [_unix_service(reactor, path, factory, config.shutdown_timeout)
                      for path, factory in zip(unix, (rpc_factory, site))]
    return listeners


def _unix_service(reactor: Any, path: str, factory: Any, timeout: float):
    """A draining listener on a Unix socket, sharing the factory's drain
    with its TCP port (both end on the same stop)."""
    from cloudserver.web.drain import DrainingServerService
    from cloudserver.workers.sockets import unix_listener

    listener = DrainingServerService(unix_listener(reactor, path), factory, factory.drain,
                                     timeout)
    listener._raiseSynchronously = True
    return listener


def _check_ca(client: Any, name: str) -> None:
    """Read a client's CA file now so a bad one stops start-up, named."""
    if client.https and client.ca:
        try:
            tls.load_certs(client.ca, f"{name}.ca")
        except tls.TLSConfigError as e:
            raise _tls_error(name, e) from None


def metadata_tls(client: Any):
    """The metadata client's TLS connection creator (None: plain TCP): it
    checks ``client.host`` against a certificate chaining to ``client.ca``."""
    return tls.client_options(client.host, client.ca) if client.https else None


def metadata_endpoint(reactor: Any, client: Any):
    """The endpoint the metadata RPC client dials: TCP, wrapped in TLS when
    ``client.https`` (see metadata_tls)."""
    endpoint = HostnameEndpoint(reactor, client.host, client.port)
    creator = metadata_tls(client)
    return endpoint if creator is None else wrapClientTLS(creator, endpoint)


def data_https_policy(client: Any):
    """The data client's IPolicyForHTTPS (None: plain HTTP), trusting ``client.ca``."""
    return tls.https_policy(client.ca) if client.https else None


class ClientsService(service.Service):
    """Connects the metadata client on start; closes both clients on stop."""

    def __init__(self, metadata: Any, data: Any):
        self.metadata = metadata
        self.data = data

    def startService(self) -> None:
        super().startService()
        self.metadata.start()

    def stopService(self) -> Deferred:
        super().stopService()
        d = maybeDeferred(self.metadata.close)
        d.addBoth(lambda _: self.data.close())
        return d


def remote_backend(config: Any, reactor: Any, metrics: Any = None,
                   unix: tuple[str, str] | None = None) -> tuple[Any, Any, service.Service]:
    """(metadata client, data store, the service that runs them) for ``--mode s3``
    (with ``metrics``: the RPC client's calls and reconnects are exported);
    ``unix``: the dmd's (RPC, data) Unix sockets, used instead of
    metadataClient / dataClient (a supervisor's worker)."""
    from cloudserver.data.rest_client import make_rest_store
    from cloudserver.metadata.rpc_client import MetadataRPCClient

    mc = config.metadata_client
    dc = config.data_client
    _check_ca(mc, "metadataClient")
    _check_ca(dc, "dataClient")
    if unix is not None:
        from twisted.internet.endpoints import UNIXClientEndpoint

        endpoint = UNIXClientEndpoint(reactor, unix[0])
    else:
        endpoint = metadata_endpoint(reactor, mc)
    metadata = MetadataRPCClient(endpoint, reactor)
    if metrics is not None:
        from cloudserver.metrics.collectors import RPCCollector

        metrics.register(RPCCollector(metadata.stats, "client"))
    if unix is not None:
        data = make_rest_store(reactor, "localhost", 0, unix_path=unix[1])
    else:
        data = make_rest_store(reactor, dc.host, dc.port, https_policy=data_https_policy(dc))
    return metadata, data, ClientsService(metadata, data)
