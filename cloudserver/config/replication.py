# -*- test-case-name: tests.unit.test_replication_service -*-
"""config.json's ``replication``: how the replicator drains its queue.

    "replication": {"enabled": true, "concurrency": 4, "rate": 0,
                    "retryBackoff": 1, "failedRetryInterval": 300,
                    "pollInterval": 1, "multipartThreshold": 16777216,
                    "partSize": 8388608}

``concurrency``: versions copied at once; ``rate``: versions started per
second at most (0: no limit); ``retryBackoff``: seconds before the first
retry of a failed copy, doubled at each failure up to
``failedRetryInterval`` (a FAILED version is retried every that many
seconds, until it succeeds or the version is gone); ``pollInterval``:
seconds between two looks at an idle queue (new versions also wake it);
objects over ``multipartThreshold`` bytes go to an aws_s3 or azure location
as a multipart upload of ``partSize`` parts.  cloudserver.replication runs it.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from cloudserver.config import fields
from cloudserver.config.errors import ConfigError

KNOWN = ("enabled", "concurrency", "rate", "retryBackoff", "failedRetryInterval",
         "pollInterval", "multipartThreshold", "partSize")
MIN_PART = 5 * 1024 * 1024
MAX_PART = 5 * 1024 ** 3


@attrs.frozen
class ReplicationSettings:
    enabled: bool = True
    concurrency: int = 4
    rate: float = 0.0
    retry_backoff: float = 1.0
    failed_retry_interval: float = 300.0
    poll_interval: float = 1.0
    multipart_threshold: int = 16 * 1024 * 1024
    part_size: int = 8 * 1024 * 1024


def parse_replication(raw: Mapping[str, Any]) -> ReplicationSettings:
    """The settings of config.json's ``replication`` (absent: defaults)."""
    section = fields.section(raw, "replication", KNOWN)
    if section is None:
        return ReplicationSettings()
    enabled = section.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ConfigError("config.json: replication.enabled must be true or false")

    def number(key, default, low, high=None, integer=False):
        return fields.number(section, "replication", key, default, low, high, integer)
    return ReplicationSettings(
        enabled=enabled,
        concurrency=number("concurrency", 4, 1, 256, integer=True),
        rate=float(number("rate", 0, 0)),
        retry_backoff=float(number("retryBackoff", 1, 0.001, 86400)),
        failed_retry_interval=float(number("failedRetryInterval", 300, 0.001, 86400 * 7)),
        poll_interval=float(number("pollInterval", 1, 0.01, 3600)),
        multipart_threshold=number("multipartThreshold", 16 * 1024 * 1024, MIN_PART,
                                   MAX_PART, integer=True),
        part_size=number("partSize", 8 * 1024 * 1024, MIN_PART, MAX_PART, integer=True))
