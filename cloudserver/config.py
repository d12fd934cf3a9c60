# -*- test-case-name: tests.unit.test_config -*-
"""config.json, locationConfig.json, authdata.json and the environment,
resolved once at start-up into one frozen Config.

The file names, keys and environment variables are Zenko CloudServer's, so
an operator's existing configuration and docker habits carry over.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import re
from typing import Any, Mapping

import attrs

from cloudserver.accounts import AccountStore
from cloudserver.kms import config as kms_conf
from cloudserver.lifecycle.settings import LifecycleSettings, parse_settings

#: The default configuration files, shipped inside the package: in a checkout
#: a link to the repository's conf/, in a wheel a copy of it.
PACKAGED_CONF_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "defaults")
#: (environment variable, file name, what it is) of each configuration file.
CONF_FILES = (("S3_CONFIG_FILE", "config.json", "config file"),
              ("S3AUTH_CONFIG", "authdata.json", "auth file"),
              ("S3_LOCATION_FILE", "locationConfig.json", "location file"))
LOG_LEVELS = ("info", "debug", "trace")
LOG_FORMATS = ("text", "json")
BACKENDS = ("file", "mem")
#: The largest inlineDataMaxSize: the record travels as one metadata RPC line.
MAX_INLINE_SIZE = 1024 * 1024


class ConfigError(Exception):
    """The configuration cannot be used; the message says which file and field."""


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
    #: config.json ``metrics``: the Prometheus port (``host`` = bindAddress);
    #: None (the section absent): no metrics port
    metrics: DaemonAddress | None = None

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


LOCATION_TYPES = ("mem", "file", "aws_s3", "azure", "scality")
#: <location>_<suffix> environment variables override these azure details.
AZURE_ENV_OVERRIDES = (("AZURE_STORAGE_ACCOUNT_NAME", "azureStorageAccountName"),
                       ("AZURE_STORAGE_ACCESS_KEY", "azureStorageAccessKey"),
                       ("AZURE_STORAGE_ENDPOINT", "azureStorageEndpoint"))
_AZURE_CONTAINER_RE = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")


def _detail(name: str, details: Mapping[str, Any], field: str, kind: type,
            required: bool = True) -> Any:
    if field not in details:
        if required:
            raise ConfigError(f"locationConfig.json: location '{name}' details lack '{field}'")
        return None
    value = details[field]
    if not isinstance(value, kind) or (kind is str and not value):
        what = "a non-empty string" if kind is str else kind.__name__
        raise ConfigError(f"locationConfig.json: location '{name}' field "
                          f"'details.{field}' must be {what}")
    return value


def _check_aws_details(name: str, details: Mapping[str, Any]) -> None:
    _detail(name, details, "awsEndpoint", str)
    _detail(name, details, "bucketName", str)
    _detail(name, details, "bucketMatch", bool)
    for flag in ("serverSideEncryption", "https", "pathStyle"):
        _detail(name, details, flag, bool, required=False)
    _detail(name, details, "region", str, required=False)
    profile = _detail(name, details, "credentialsProfile", str, required=False)
    creds = _detail(name, details, "credentials", dict, required=False)
    if profile is not None and creds is not None:
        raise ConfigError(f"locationConfig.json: location '{name}' field 'details.credentials'"
                          " cannot be used with 'details.credentialsProfile': use only one")
    if creds is not None:
        for field in ("accessKey", "secretKey"):
            if not isinstance(creds.get(field), str) or not creds[field]:
                raise ConfigError(f"locationConfig.json: location '{name}' field "
                                  f"'details.credentials.{field}' must be a non-empty string")


def _check_azure_details(name: str, details: Mapping[str, Any]) -> None:
    endpoint = _detail(name, details, "azureStorageEndpoint", str)
    if not endpoint.startswith(("http://", "https://")):
        raise ConfigError(f"locationConfig.json: location '{name}' field "
                          "'details.azureStorageEndpoint' must be an http(s) URL")
    container = _detail(name, details, "azureContainerName", str)
    if not _AZURE_CONTAINER_RE.match(container):
        raise ConfigError(f"locationConfig.json: location '{name}' field "
                          "'details.azureContainerName' is not a valid container name "
                          "(3-63 lower-case letters, digits and single hyphens)")
    _detail(name, details, "azureStorageAccountName", str)
    key = _detail(name, details, "azureStorageAccessKey", str)
    try:
        base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"locationConfig.json: location '{name}' field "
                          "'details.azureStorageAccessKey' must be base64") from None
    _detail(name, details, "bucketMatch", bool)


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


def validate_locations(locations: Any) -> None:
    """Check locationConfig.json's shape; raise ConfigError naming the location and field."""
    if not isinstance(locations, dict) or not locations:
        raise ConfigError("locationConfig.json must be a non-empty object")
    if "us-east-1" not in locations:
        raise ConfigError("locationConfig.json: location 'us-east-1' must be defined")
    for name, loc in locations.items():
        if not isinstance(loc, dict):
            raise ConfigError(f"locationConfig.json: location '{name}' must be an object")
        for field, kind in (("type", str), ("legacyAwsBehavior", bool), ("details", dict)):
            if field not in loc:
                raise ConfigError(f"locationConfig.json: location '{name}' lacks '{field}'")
            if not isinstance(loc[field], kind):
                raise ConfigError(
                    f"locationConfig.json: location '{name}' field '{field}' must be "
                    f"{kind.__name__}")
        if loc["type"] not in LOCATION_TYPES:
            raise ConfigError(
                f"locationConfig.json: location '{name}' has unknown type '{loc['type']}'")
        if loc["type"] == "aws_s3":
            _check_aws_details(name, loc["details"])
        elif loc["type"] == "azure":
            _check_azure_details(name, loc["details"])


def resolve_locations(locations: Any, env: Mapping[str, str]) -> dict:
    """locationConfig.json with the ``<location>_AZURE_STORAGE_*`` environment
    overrides applied (upstream's names), then validated."""
    if isinstance(locations, dict):
        locations = dict(locations)
        for name, loc in locations.items():
            if isinstance(loc, dict) and loc.get("type") == "azure" and \
                    isinstance(loc.get("details"), dict):
                details = dict(loc["details"])
                for suffix, field in AZURE_ENV_OVERRIDES:
                    if env.get(f"{name}_{suffix}"):
                        details[field] = env[f"{name}_{suffix}"]
                locations[name] = {**loc, "details": details}
    validate_locations(locations)
    return locations


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
    )
