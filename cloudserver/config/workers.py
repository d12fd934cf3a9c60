# -*- test-case-name: tests.unit.test_config_workers -*-
"""config.json ``clusters``: how many S3 worker processes ``--mode all`` runs.

Upstream's key (its Node.js cluster module forks that many workers).  1,
the default, is one process serving everything; N > 1 makes the
``twistd cloudserver`` process a supervisor running the metadata and data
daemons and N S3 workers sharing its listening socket (cloudserver/workers).
"""
from __future__ import annotations

from typing import Any, Mapping

from cloudserver.config.errors import ConfigError

#: The most workers accepted: each is a whole Python process (~60 MB), and
#: more than a machine's cores only adds context switches.
MAX_CLUSTERS = 256


def parse_clusters(raw: Mapping[str, Any]) -> int:
    """config.json ``clusters``: an integer from 1 to MAX_CLUSTERS (default 1)."""
    value = raw.get("clusters", 1)
    if isinstance(value, bool) or not isinstance(value, int) or \
            not 1 <= value <= MAX_CLUSTERS:
        raise ConfigError(f"config.json: clusters must be a whole number of worker "
                          f"processes from 1 to {MAX_CLUSTERS}, not {value!r}")
    return value
