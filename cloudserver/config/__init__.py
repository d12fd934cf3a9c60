# -*- test-case-name: tests.unit.test_config -*-
"""config.json, locationConfig.json, authdata.json and the environment,
resolved once at start-up into one frozen Config.

The sections with their own rules live beside this module: addresses.py
(daemon, client and metrics addresses, TLS files), locations.py
(locationConfig.json), limits.py (``limits``); errors.py holds ConfigError.

The file names, keys and environment variables are Zenko CloudServer's, so
an operator's existing configuration and docker habits carry over.
"""
from __future__ import annotations

import json
import os
from typing import Any, Mapping

import attrs

from cloudserver.accounts import AccountStore
from cloudserver.config.addresses import (CertFilePaths, DaemonAddress, _cert_file_paths,
                                          _client_https, _daemon, _daemon_https, _metrics)
from cloudserver.config.errors import ConfigError
from cloudserver.config.limits import Limits, parse_limits
from cloudserver.config.metadata import MetadataSettings, parse_metadata
from cloudserver.config.locations import (resolve_locations,
                                          validate_locations)
from cloudserver.config.workers import parse_clusters
from cloudserver.kms import config as kms_conf
from cloudserver.lifecycle.settings import LifecycleSettings, parse_settings
from cloudserver.config.notifications import Destination, parse_destinations
from cloudserver.config.leveldb import parse_leveldb
from cloudserver.config.memory import MemorySettings, parse_memory
from cloudserver.config.sweep import SweepSettings, parse_sweep
from cloudserver.config.replication import ReplicationSettings, parse_replication

__all__ = ["CertFilePaths", "Config", "ConfigError", "DaemonAddress",
           "PACKAGED_CONF_DIR", "conf_file_path", "load_config", "resolve_locations",
           "validate_locations"]

#: The default configuration files, shipped inside the package: in a checkout
#: a link to the repository's conf/, in a wheel a copy of it.
PACKAGED_CONF_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "defaults")
#: (environment variable, file name, what it is) of each configuration file.
CONF_FILES = (("S3_CONFIG_FILE", "config.json", "config file"),
              ("S3AUTH_CONFIG", "authdata.json", "auth file"),
              ("S3_LOCATION_FILE", "locationConfig.json", "location file"))
LOG_LEVELS = ("info", "debug", "trace")
LOG_FORMATS = ("text", "json")
BACKENDS = ("file", "mem")
#: The largest inlineDataMaxSize: the record travels as one metadata RPC line.
MAX_INLINE_SIZE = 1024 * 1024


@attrs.frozen
class Config:
    port: int
    listen_addr: str
    backend: str
    data_path: str
    metadata_path: str
    rest_endpoints: Mapping[str, str]
    locations: Mapping[str, Mapping[str, Any]]
    accounts: AccountStore
    replication_group_id: str
    log_level: str
    metadata_daemon: DaemonAddress
    data_daemon: DaemonAddress
    metadata_client: DaemonAddress
    data_client: DaemonAddress
    health_allow_from: tuple[str, ...]
    raw: Mapping[str, Any] = attrs.field(repr=False)
    #: S3DATA=multiple: each location's data goes to its own store (aws_s3, azure, ...)
    multiple_data: bool = False
    #: config.json certFilePaths (or SSL=true): the S3 port serves HTTPS.
    cert_file_paths: CertFilePaths | None = None
    #: SSL=true without certFilePaths: the host name to make the missing
    #: ca/server key and certificate files for (in the working directory).
    ssl_make_certs_for: str | None = None
    #: config.json ``inlineDataMaxSize``: objects up to this many bytes are
    #: stored in their metadata record, not in a data file (0: never).
    inline_max_size: int = 64 * 1024
    #: config.json ``defaultObjectOwnership``: the Object Ownership of a bucket
    #: created without x-amz-object-ownership (ObjectWriter, as upstream;
    #: BucketOwnerEnforced is AWS's default since 2023).
    default_object_ownership: str = "ObjectWriter"
    #: config.json ``sseCustomerKeyOverHttp``: accept SSE-C keys over plain
    #: HTTP (AWS refuses them; loopback set-ups and s3-tests need it)
    sse_customer_key_over_http: bool = False
    #: the KMS of server-side encryption (S3KMS, config.json kms / kmsAWS)
    kms: kms_conf.KmsConfig = kms_conf.KmsConfig()
    #: (what, path) of each configuration file read, logged at start-up.
    files: tuple[tuple[str, str], ...] = ()
    #: config.json ``websiteEndpoints``: ``<bucket>.<host>`` is served as a
    #: static website (s3/ops/website_serve.py).
    website_endpoints: tuple[str, ...] = ()
    #: config.json ``lifecycle``: the executor's pace (cloudserver.lifecycle.settings)
    lifecycle: LifecycleSettings = LifecycleSettings()
    #: config.json ``log.format`` / LOG_FORMAT: ``text`` (twistd's) or
    #: ``json`` (one werelogs-shaped object per line, cloudserver.logs)
    log_format: str = "text"
    #: config.json ``shutdownTimeout``: seconds a stopping process (SIGTERM,
    #: SIGINT) lets in-flight requests run before it closes their connections
    shutdown_timeout: float = 30.0
    #: config.json ``orphanSweep`` (cloudserver.config.sweep)
    orphan_sweep: SweepSettings = SweepSettings()
    #: config.json ``replication``: the replicator's pace (config/replication.py)
    replication: ReplicationSettings = ReplicationSettings()
    #: config.json ``bucketNotificationDestinations`` (config/notifications.py)
    notification_destinations: tuple[Destination, ...] = ()
    #: config.json ``metadata.leveldb``: the metadata store's plyvel.DB
    #: options (cloudserver.config.leveldb)
    leveldb: Mapping[str, int] = attrs.field(factory=dict)
    #: config.json ``memory``: the allocator's mmap threshold and trim
    #: interval (cloudserver.config.memory, cloudserver.allocator)
    memory: MemorySettings = MemorySettings()
    #: config.json ``metrics``: the Prometheus port (``host`` = bindAddress);
    #: None (the section absent): no metrics port
    metrics: DaemonAddress | None = None
    #: config.json ``limits``: listen backlog, connection caps, header size,
    #: header and idle timeouts (config/limits.py; README "Limits")
    limits: Limits = Limits()
    #: config.json ``clusters``: S3 worker processes of ``--mode all``
    #: (1: one process; N > 1: a supervisor and N workers, cloudserver/workers)
    clusters: int = 1
    #: config.json ``metadata`` / S3METADATA: LevelDB or a PostgreSQL-wire
    #: database (cloudserver.config.metadata)
    metadata: MetadataSettings = MetadataSettings()

    @property
    def lifecycle_day(self) -> float:
        """Seconds in a "day" of lifecycle rules (lifecycle.debugDayLength)."""
        return self.lifecycle.day

    def location_for_host(self, host: str) -> str:
        """The default location of a rest endpoint (upstream: us-east-1 otherwise)."""
        return self.rest_endpoints.get(host, "us-east-1")


def _read_json(path: str, what: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise ConfigError(f"cannot read {what} {path}: {e.strerror}") from e
    except ValueError as e:
        raise ConfigError(f"{what} {path} is not valid JSON: {e}") from e


def conf_file_path(env: Mapping[str, str], variable: str, name: str,
                   cwd: str | None = None) -> str:
    """Where a configuration file is read from: its environment variable, else
    ``conf/<name>`` in the working directory (upstream's layout: an operator's
    own conf/ wins), else the default shipped in the package, so that an
    installed server starts from any directory."""
    if env.get(variable):
        return env[variable]
    local = os.path.join(os.getcwd() if cwd is None else cwd, "conf", name)
    if os.path.isfile(local):
        return os.path.abspath(local)
    return os.path.join(PACKAGED_CONF_DIR, name)


def _read_files(env: Mapping[str, str], cwd: str | None
                ) -> tuple[dict, dict, AccountStore, tuple[tuple[str, str], ...]]:
    """config.json (raw), the resolved locations, the accounts, and which files
    were read; authdata.json is not read when the environment gives the keys."""
    conf_path, auth_path, loc_path = (conf_file_path(env, variable, name, cwd)
                                      for variable, name, _ in CONF_FILES)
    raw = _read_json(conf_path, "config file")
    if not isinstance(raw, dict):
        raise ConfigError(f"config file {conf_path} must hold a JSON object")
    locations = resolve_locations(_read_json(loc_path, "location file"), env)
    files = [("config file", conf_path), ("location file", loc_path)]
    access, secret = env.get("SCALITY_ACCESS_KEY_ID"), env.get("SCALITY_SECRET_ACCESS_KEY")
    if access and secret:
        return raw, locations, AccountStore.from_env(access, secret), tuple(files)
    try:
        accounts = AccountStore.from_authdata(_read_json(auth_path, "auth file"))
    except ValueError as e:
        raise ConfigError(f"auth file {auth_path}: {e}") from e
    return raw, locations, accounts, tuple(files + [("auth file", auth_path)])


def _rest_endpoints(raw: Mapping[str, Any], env: Mapping[str, str],
                    locations: Mapping[str, Any]) -> dict[str, str]:
    """config.json ``restEndpoints`` plus each ``ENDPOINT`` host (us-east-1);
    every one must name a location of locationConfig.json."""
    rest = raw.get("restEndpoints") or {}
    if not isinstance(rest, dict):
        raise ConfigError("config.json: restEndpoints must be an object")
    rest = dict(rest)
    for host in env.get("ENDPOINT", "").split(","):
        if host.strip():
            rest[host.strip()] = "us-east-1"
    for host, loc in rest.items():
        if loc not in locations:
            raise ConfigError(
                f"config.json: restEndpoints '{host}' names unknown location '{loc}'")
    return rest


def _website_endpoints(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """config.json ``websiteEndpoints``: a list of host names."""
    hosts = raw.get("websiteEndpoints") or []
    if not isinstance(hosts, list) or not all(isinstance(h, str) and h for h in hosts):
        raise ConfigError("config.json: websiteEndpoints must be a list of host names")
    return tuple(h.lower() for h in hosts)


def _modes(raw: Mapping[str, Any], env: Mapping[str, str],
           locations: Mapping[str, Any]) -> tuple[str, bool, str]:
    """S3BACKEND, S3DATA=multiple and the log level, checked."""
    backend = env.get("S3BACKEND", "file")
    if backend not in BACKENDS:
        raise ConfigError(f"S3BACKEND must be one of {', '.join(BACKENDS)}, not '{backend}'")
    data_mode = env.get("S3DATA", "")
    if data_mode not in ("", "multiple"):
        raise ConfigError(f"S3DATA must be 'multiple' or unset, not '{data_mode}'")
    for name, loc in locations.items():
        if data_mode == "multiple" and loc["type"] == "scality":
            raise ConfigError(f"locationConfig.json: location '{name}' field 'type': "
                              "'scality' (sproxyd) is not supported with S3DATA=multiple")
    log_level = env.get("LOG_LEVEL") or (raw.get("log") or {}).get("logLevel", "info")
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}")
    return backend, data_mode == "multiple", log_level


def _sizes(raw: Mapping[str, Any], port: int | None) -> tuple[int, int]:
    """The S3 port (``--port``, else config.json) and inlineDataMaxSize."""
    if port is None:
        port = raw.get("port", 8000)
    if not isinstance(port, int) or not 0 <= port < 65536:
        raise ConfigError("config.json: port must be a port number")
    inline_max = raw.get("inlineDataMaxSize", 64 * 1024)
    if isinstance(inline_max, bool) or not isinstance(inline_max, int) or \
            not 0 <= inline_max <= MAX_INLINE_SIZE:
        raise ConfigError(f"config.json: inlineDataMaxSize must be a number of bytes "
                          f"from 0 to {MAX_INLINE_SIZE}")
    return port, inline_max


#: The values of ``defaultObjectOwnership`` (s3.model.ownership.SETTINGS).
OBJECT_OWNERSHIP_SETTINGS = ("BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter")


def _object_ownership(raw: Mapping[str, Any]) -> str:
    value = raw.get("defaultObjectOwnership", "ObjectWriter")
    if value not in OBJECT_OWNERSHIP_SETTINGS:
        raise ConfigError("config.json: defaultObjectOwnership must be one of "
                          + ", ".join(OBJECT_OWNERSHIP_SETTINGS))
    return value


def _flag(raw: Mapping[str, Any], name: str, default: bool = False) -> bool:
    value = raw.get(name, default)
    if not isinstance(value, bool):
        raise ConfigError(f"config.json: {name} must be true or false")
    return value


#: The longest ``shutdownTimeout`` accepted (an hour): a stop must end.
MAX_SHUTDOWN_TIMEOUT = 3600


def _shutdown_timeout(raw: Mapping[str, Any]) -> float:
    value = raw.get("shutdownTimeout", 30)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not 0 <= value <= MAX_SHUTDOWN_TIMEOUT:
        raise ConfigError(f"config.json: shutdownTimeout must be a number of seconds "
                          f"from 0 to {MAX_SHUTDOWN_TIMEOUT}")
    return float(value)


def _lifecycle(raw: Mapping[str, Any]) -> LifecycleSettings:
    try:
        return parse_settings(raw.get("lifecycle"))
    except ValueError as e:
        raise ConfigError(str(e)) from None


def _kms(raw: Mapping[str, Any], env: Mapping[str, str], backend: str) -> kms_conf.KmsConfig:
    try:
        return kms_conf.parse(raw, env, backend)
    except kms_conf.KmsConfigError as e:
        raise ConfigError(str(e)) from None


def _log_format(raw: Mapping[str, Any], env: Mapping[str, str]) -> str:
    """LOG_FORMAT, else config.json ``log.format``: text (default) or json."""
    section = raw.get("log") or {}
    if not isinstance(section, Mapping):
        raise ConfigError("config.json: log must be an object")
    value = env.get("LOG_FORMAT") or section.get("format", "text")
    if value not in LOG_FORMATS:
        raise ConfigError(f"log format (LOG_FORMAT, config.json log.format) must be "
                          f"one of {', '.join(LOG_FORMATS)}, not {value!r}")
    return value


def load_config(env: Mapping[str, str] | None = None, *,
                port: int | None = None, cwd: str | None = None) -> Config:
    """Build the Config from the files and environment variables upstream reads
    (``cwd``: where ``conf/`` is looked for, default the working directory)."""
    env = os.environ if env is None else env
    raw, locations, accounts, files = _read_files(env, cwd)
    rest = _rest_endpoints(raw, env, locations)
    backend, multiple_data, log_level = _modes(raw, env, locations)
    port, inline_max = _sizes(raw, port)
    health = (raw.get("healthChecks") or {}).get("allowFrom", ["127.0.0.1/8", "::1"])
    endpoints = [h.strip() for h in env.get("ENDPOINT", "").split(",") if h.strip()]
    cert_paths, ssl_host = _cert_file_paths(raw, env, endpoints[0] if endpoints else None)
    return Config(
        port=port,
        listen_addr=env.get("LISTEN_ADDR", ""),
        backend=backend,
        data_path=os.path.abspath(env.get("S3DATAPATH") or "./localData"),
        metadata_path=os.path.abspath(env.get("S3METADATAPATH") or "./localMetadata"),
        rest_endpoints=rest,
        website_endpoints=_website_endpoints(raw),
        locations=locations,
        accounts=accounts,
        replication_group_id=str(raw.get("replicationGroupId", "RG001")),
        log_level=log_level,
        log_format=_log_format(raw, env),
        metadata_daemon=_daemon_https(
            raw, "metadataDaemon",
            _daemon(raw, "metadataDaemon", "bindAddress", 9990, None, env), cert_paths),
        data_daemon=_daemon_https(
            raw, "dataDaemon",
            _daemon(raw, "dataDaemon", "bindAddress", 9991, None, env), cert_paths),
        metadata_client=_client_https(
            raw, "metadataClient",
            _daemon(raw, "metadataClient", "host", 9990, "METADATA_HOST", env), cert_paths),
        data_client=_client_https(
            raw, "dataClient",
            _daemon(raw, "dataClient", "host", 9991, "DATA_HOST", env), cert_paths),
        health_allow_from=tuple(health),
        raw=raw,
        multiple_data=multiple_data,
        cert_file_paths=cert_paths,
        ssl_make_certs_for=ssl_host,
        inline_max_size=inline_max,
        default_object_ownership=_object_ownership(raw),
        sse_customer_key_over_http=_flag(raw, "sseCustomerKeyOverHttp"),
        kms=_kms(raw, env, backend),
        files=files,
        lifecycle=_lifecycle(raw),
        shutdown_timeout=_shutdown_timeout(raw),
        metrics=_metrics(raw),
        limits=parse_limits(raw),
        clusters=parse_clusters(raw),
        orphan_sweep=parse_sweep(raw),
        replication=parse_replication(raw),
        notification_destinations=parse_destinations(raw),
        metadata=parse_metadata(raw, env, backend),
        leveldb=parse_leveldb(raw),
        memory=parse_memory(raw),
    )
