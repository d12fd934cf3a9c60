# -*- test-case-name: tests.unit.test_config,tests.unit.test_dmd_tls -*-
"""Addresses and TLS files: the dmd's listeners and clients
(``metadataDaemon`` / ``dataDaemon`` / ``metadataClient`` / ``dataClient``),
the metrics port, and ``certFilePaths`` / ``SSL``."""
from __future__ import annotations

import os
from typing import Any, Mapping

import attrs

from cloudserver.config.errors import ConfigError


@attrs.frozen
class CertFilePaths:
    """config.json ``certFilePaths``: absolute paths of the PEM files."""

    key: str
    cert: str
    ca: str | None = None


@attrs.frozen
class DaemonAddress:
    """A dmd listener (``metadataDaemon`` / ``dataDaemon``: ``host`` is the
    bind address) or where a front reaches one (``metadataClient`` /
    ``dataClient``), with the TLS of that hop."""

    host: str
    port: int
    #: The hop speaks TLS (config ``"https"``).
    https: bool = False
    #: Daemons with ``https``: the key, certificate and CA chain they serve.
    cert_file_paths: CertFilePaths | None = None
    #: Clients with ``https``: the CA the daemon's certificate must chain to
    #: (None: the platform's trust store).
    ca: str | None = None


def _daemon(raw: Mapping[str, Any], key: str, host_key: str, default_port: int,
            host_env: str | None, env: Mapping[str, str]) -> DaemonAddress:
    section = raw.get(key) or {}
    if not isinstance(section, dict):
        raise ConfigError(f"config.json: {key} must be an object")
    host = section.get(host_key, "localhost")
    if host_env and env.get(host_env):
        host = env[host_env]
    port = section.get("port", default_port)
    if not isinstance(port, int) or not 0 <= port < 65536:
        raise ConfigError(f"config.json: {key}.port must be a port number")
    return DaemonAddress(str(host), port)


def _metrics(raw: Mapping[str, Any]) -> DaemonAddress | None:
    """config.json ``metrics``: ``{"port": 8002, "bindAddress": "localhost"}``
    (upstream's internal port); absent or null: off."""
    section = raw.get("metrics")
    if section is None:
        return None
    if not isinstance(section, dict):
        raise ConfigError("config.json: metrics must be an object")
    unknown = sorted(set(section) - {"port", "bindAddress"})
    if unknown:
        raise ConfigError(f"config.json: metrics.{unknown[0]} is not a known field")
    if "port" not in section:
        raise ConfigError("config.json: metrics.port is required")
    port = section["port"]
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port < 65536:
        raise ConfigError("config.json: metrics.port must be a port number")
    host = section.get("bindAddress", "localhost")
    if not isinstance(host, str) or not host:
        raise ConfigError("config.json: metrics.bindAddress must be a host name or address")
    return DaemonAddress(host, port)


def _daemon_https(raw: Mapping[str, Any], key: str, address: DaemonAddress,
                  cert_paths: CertFilePaths | None) -> DaemonAddress:
    """``metadataDaemon`` / ``dataDaemon`` ``https``: false (default), true
    (serve certFilePaths' key and certificate) or its own {key, cert, ca}."""
    value = (raw.get(key) or {}).get("https", False)
    if value is None or value is False:
        return address
    if value is True:
        if cert_paths is None:
            raise ConfigError(f"config.json: {key}.https is true but there is no "
                              "certFilePaths (nor SSL=true) to take the key and certificate "
                              f"from; set certFilePaths or make {key}.https an object "
                              "{key, cert, ca}")
        paths = cert_paths
    elif isinstance(value, dict):
        paths = _paths_section(value, f"{key}.https")
        if paths is None:
            raise ConfigError(f"config.json: {key}.https.key and {key}.https.cert "
                              "are needed")
    else:
        raise ConfigError(f"config.json: {key}.https must be true, false or an object "
                          "{key, cert, ca}")
    return attrs.evolve(address, https=True, cert_file_paths=paths)


def _client_https(raw: Mapping[str, Any], key: str, address: DaemonAddress,
                  cert_paths: CertFilePaths | None) -> DaemonAddress:
    """``metadataClient`` / ``dataClient`` ``https`` (bool) and ``ca`` (PEM
    path; default certFilePaths.ca, else the platform's trust store)."""
    section = raw.get(key) or {}
    https = section.get("https", False)
    if not isinstance(https, bool):
        raise ConfigError(f"config.json: {key}.https must be true or false")
    ca = section.get("ca")
    if ca is not None and (not isinstance(ca, str) or not ca):
        raise ConfigError(f"config.json: {key}.ca must be the path of a PEM CA file")
    if ca and not https:
        raise ConfigError(f"config.json: {key}.ca needs {key}.https: true")
    if not https:
        return address
    if not ca and cert_paths is not None:
        ca = cert_paths.ca
    return attrs.evolve(address, https=True, ca=os.path.abspath(ca) if ca else None)


def _paths_section(section: Any, field: str) -> CertFilePaths | None:
    """{key, cert, ca} at config.json ``field`` (certFilePaths, or a daemon's
    https): absolute paths, or None when all are empty."""
    if not isinstance(section, dict):
        raise ConfigError(f"config.json: {field} must be an object")
    for name in ("key", "cert", "ca"):
        if not isinstance(section.get(name, ""), str):
            raise ConfigError(f"config.json: {field}.{name} must be a string")
    key, cert, ca = (section.get(f) or "" for f in ("key", "cert", "ca"))
    if key or cert:
        for name, value in (("key", key), ("cert", cert)):
            if not value:
                raise ConfigError(f"config.json: {field}.{name} is needed "
                                  f"with {field}.key / {field}.cert")
        return CertFilePaths(os.path.abspath(key), os.path.abspath(cert),
                             os.path.abspath(ca) if ca else None)
    if ca:
        raise ConfigError(f"config.json: {field}.ca needs {field}.key and {field}.cert")
    return None


#: SSL=... values, as upstream's entrypoint takes any non-empty value but
#: "false" and "0" should not turn TLS on.
_SSL_ON = ("true", "1", "yes", "on")
_SSL_OFF = ("", "false", "0", "no", "off")


def _cert_file_paths(raw: Mapping[str, Any], env: Mapping[str, str],
                     endpoint: str | None) -> tuple[CertFilePaths | None, str | None]:
    """certFilePaths {key, cert, ca}: relative paths are taken from the working
    directory (upstream: its base directory, the working directory of its
    image).  SSL=true without certFilePaths uses ./server.key, ./server.crt and
    ./ca.crt, made for ENDPOINT when missing, as upstream's entrypoint does."""
    section = raw.get("certFilePaths")
    ssl = (env.get("SSL") or "").strip().lower()
    if ssl not in _SSL_ON + _SSL_OFF:
        raise ConfigError(f"SSL must be true or false, not '{env.get('SSL')}'")
    if section is not None:
        paths = _paths_section(section, "certFilePaths")
        if paths is not None:
            return paths, None
    if ssl in _SSL_ON:
        if not endpoint:
            raise ConfigError("SSL=true needs ENDPOINT, the host name the server "
                              "certificate is made for")
        return CertFilePaths(os.path.abspath("server.key"), os.path.abspath("server.crt"),
                             os.path.abspath("ca.crt")), endpoint
    return None, None
