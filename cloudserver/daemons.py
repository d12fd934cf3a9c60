# -*- test-case-name: tests.unit.test_tap_modes -*-
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
"""
from __future__ import annotations

from typing import Any

from twisted.application import service
from twisted.internet.defer import Deferred, maybeDeferred
from twisted.internet.endpoints import HostnameEndpoint

from cloudserver import tls


def _bind(config: Any, daemon: Any) -> str:
    return config.listen_addr or daemon.host


def daemon_services(config: Any, reactor: Any, metadata: Any, data: Any) -> list:
    """Listeners of the metadata RPC and the data REST service over local stores."""
    from cloudserver.data.rest import DataSite
    from cloudserver.metadata.rpc_server import MetadataRPCFactory

    md = config.metadata_daemon
    dd = config.data_daemon
    return [
        tls.server_service(reactor, md.port, MetadataRPCFactory(metadata, reactor),
                           interface=_bind(config, md)),
        tls.server_service(reactor, dd.port, DataSite(data), interface=_bind(config, dd)),
    ]


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


def remote_backend(config: Any, reactor: Any) -> tuple[Any, Any, service.Service]:
    """(metadata client, data store, the service that runs them) for ``--mode s3``."""
    from cloudserver.data.rest_client import make_rest_store
    from cloudserver.metadata.rpc_client import MetadataRPCClient

    mc = config.metadata_client
    dc = config.data_client
    metadata = MetadataRPCClient(HostnameEndpoint(reactor, mc.host, mc.port), reactor)
    data = make_rest_store(reactor, dc.host, dc.port)
    return metadata, data, ClientsService(metadata, data)
