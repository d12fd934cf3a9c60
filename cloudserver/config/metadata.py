# -*- test-case-name: tests.unit.test_config_metadata -*-
"""config.json's ``metadata``: where the process that owns the metadata
keeps it.

    "metadata": {"backend": "postgres", "dsn": "host=db.example port=5432 user=cs",
                 "pool": 4, "table": "cloudserver_metadata",
                 "leaseSeconds": 10, "leaseWait": 15}

``backend``: ``leveldb`` (the default: S3METADATAPATH) or ``postgres`` (any
server of the PostgreSQL wire protocol: PostgreSQL, CockroachDB,
YugabyteDB; cloudserver.metadata.postgres_kv).  ``dsn``: a libpq
connection string or URI (empty: libpq's PGHOST, PGUSER, ... variables);
``pool``: most connections; ``table``: the name of the KV table (and of
``<table>_lease``); ``leaseSeconds``: how long the writer's lease lasts
unrenewed; ``leaseWait``: how long a starting process waits for another
holder's lease to run out.  The environment wins, as upstream's
S3METADATA does: ``S3METADATA=postgres`` (or ``file`` / ``leveldb``) and
``S3METADATA_DSN``.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from cloudserver.config import fields
from cloudserver.config.errors import ConfigError

KNOWN = ("backend", "dsn", "pool", "table", "leaseSeconds", "leaseWait",
         "leveldb")  # leveldb: cloudserver.config.leveldb reads it
BACKENDS = ("leveldb", "postgres")
#: S3METADATA's values: upstream's ``file`` is our LevelDB
ENV_BACKENDS = {"file": "leveldb", "leveldb": "leveldb", "postgres": "postgres"}
TABLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,40}$")


@attrs.frozen
class MetadataSettings:
    backend: str = "leveldb"
    dsn: str = attrs.field(default="", repr=False)  # may hold a password
    pool: int = 4
    table: str = "cloudserver_metadata"
    lease: float = 10.0
    lease_wait: float = 15.0


def parse_metadata(raw: Mapping[str, Any], env: Mapping[str, str],
                   data_backend: str = "file") -> MetadataSettings:
    """The settings of config.json ``metadata`` and S3METADATA / S3METADATA_DSN."""
    section = fields.section(raw, "metadata", KNOWN) or {}
    backend = section.get("backend", "leveldb")
    if backend not in BACKENDS:
        raise ConfigError(f"config.json: metadata.backend must be one of {', '.join(BACKENDS)}")
    if env.get("S3METADATA"):
        if env["S3METADATA"] not in ENV_BACKENDS:
            raise ConfigError(f"S3METADATA must be one of {', '.join(ENV_BACKENDS)}")
        backend = ENV_BACKENDS[env["S3METADATA"]]
    dsn = env.get("S3METADATA_DSN") or section.get("dsn", "")
    if not isinstance(dsn, str):
        raise ConfigError("config.json: metadata.dsn must be a string")
    table = section.get("table", "cloudserver_metadata")
    if not isinstance(table, str) or not TABLE_NAME.match(table):
        raise ConfigError("config.json: metadata.table must be a lower-case SQL name "
                          "(letters, digits, _; at most 41)")
    if backend == "postgres" and data_backend == "mem":
        raise ConfigError("S3BACKEND=mem keeps everything in memory: the postgres "
                          "metadata backend needs S3BACKEND=file")
    lease = float(fields.number(section, "metadata", "leaseSeconds", 10, 1, 3600))
    return MetadataSettings(
        backend=backend, dsn=dsn, table=table, lease=lease,
        pool=fields.number(section, "metadata", "pool", 4, 2, 100, integer=True),
        lease_wait=float(fields.number(section, "metadata", "leaseWait", lease + 5, 0, 7200)))
