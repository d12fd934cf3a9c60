# -*- test-case-name: tests.unit.test_config_limits -*-
"""config.json ``limits``: what each listener holds at most (README "Limits").

::

    "limits": {"backlog": 1024, "maxConnections": 10000,
               "maxConnectionsPerClient": 1000, "headerTimeout": 30,
               "idleTimeout": 60, "maxHeaderSize": 16384, "minBodyRate": 1024}

Every key is optional.  ``backlog`` is the listen queue of every listener
(S3, metadata and data daemons, metrics; the kernel caps it at
net.core.somaxconn); the others bound the HTTP listeners' connections
(cloudserver.web.limits.HttpLimits).
"""
from __future__ import annotations

from typing import Any, Mapping

import attrs

from cloudserver.config import fields
from cloudserver.config.errors import ConfigError
from cloudserver.web.limits import LISTEN_BACKLOG as DEFAULT_BACKLOG
from cloudserver.web.limits import HttpLimits

#: key -> (HttpLimits field, lowest, highest, integer only)
_HTTP_KEYS = {
    "maxConnections": ("max_connections", 1, 1_000_000, True),
    "maxConnectionsPerClient": ("max_connections_per_client", 1, 1_000_000, True),
    "headerTimeout": ("header_timeout", 0.01, 3600, False),
    "idleTimeout": ("idle_timeout", 0.01, 86400, False),
    "maxHeaderSize": ("max_header_size", 1024, 1 << 20, True),
    "minBodyRate": ("min_body_rate", 0, 1 << 30, False),
}


@attrs.frozen
class Limits:
    """The parsed ``limits`` section."""

    backlog: int = DEFAULT_BACKLOG
    http: HttpLimits = HttpLimits()


def parse_limits(raw: Mapping[str, Any]) -> Limits:
    """The ``limits`` section of config.json, checked (ConfigError)."""
    section = fields.section(raw, "limits", ("backlog", *_HTTP_KEYS))
    if section is None:
        return Limits()
    backlog = fields.number(section, "limits", "backlog", DEFAULT_BACKLOG, 1, 65535, True)
    http = {field: fields.number(section, "limits", key, None, low, high, integer)
            for key, (field, low, high, integer) in _HTTP_KEYS.items() if key in section}
    limits = HttpLimits(**http)
    if limits.max_connections_per_client > limits.max_connections:
        raise ConfigError("config.json: limits.maxConnectionsPerClient must not exceed "
                          "limits.maxConnections")
    return Limits(backlog=backlog, http=limits)
