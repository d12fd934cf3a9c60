# -*- test-case-name: tests.unit.test_config_limits -*-
"""config.json ``limits``: what each listener holds at most (README "Limits").

::

    "limits": {"backlog": 1024, "maxConnections": 10000,
               "maxConnectionsPerClient": 1000, "headerTimeout": 30,
               "idleTimeout": 60, "maxHeaderSize": 16384, "minBodyRate": 1024,
               "authFailureBurst": 50, "authFailuresPerMinute": 60}

Every key is optional.  ``backlog`` is the listen queue of every listener
(S3, metadata and data daemons, metrics; the kernel caps it at
net.core.somaxconn); the others bound the HTTP listeners' connections
(cloudserver.web.limits.HttpLimits); the two ``authFailure`` keys limit
failed signatures per client address (s3/auth/throttle.py).
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
    #: failed signatures one client address may make at once (0: no limit),
    #: then how many a minute (s3/auth/throttle.AuthFailures)
    auth_failure_burst: int = 50
    auth_failures_per_minute: float = 60.0


def parse_limits(raw: Mapping[str, Any]) -> Limits:
    """The ``limits`` section of config.json, checked (ConfigError)."""
    section = fields.section(raw, "limits", ("backlog", *_HTTP_KEYS, "authFailureBurst",
                                             "authFailuresPerMinute"))
    if section is None:
        return Limits()
    backlog = fields.number(section, "limits", "backlog", DEFAULT_BACKLOG, 1, 65535, True)
    http = {field: fields.number(section, "limits", key, None, low, high, integer)
            for key, (field, low, high, integer) in _HTTP_KEYS.items() if key in section}
    limits = HttpLimits(**http)
    if limits.max_connections_per_client > limits.max_connections:
        raise ConfigError("config.json: limits.maxConnectionsPerClient must not exceed "
                          "limits.maxConnections")
    burst = fields.number(section, "limits", "authFailureBurst", 50, 0, 1_000_000, True)
    per_minute = fields.number(section, "limits", "authFailuresPerMinute", 60, 0.01, 1_000_000,
                               False)
    return Limits(backlog=backlog, http=limits, auth_failure_burst=burst,
                  auth_failures_per_minute=per_minute)
