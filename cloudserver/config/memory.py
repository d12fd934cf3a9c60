# -*- test-case-name: tests.unit.test_allocator -*-
"""config.json ``memory``: how the process keeps glibc's allocator from
holding memory it freed (cloudserver.allocator; README "Memory").

::

    "memory": {"mmapThreshold": 0, "trimInterval": 10}

``trimInterval``: seconds between two ``malloc_trim`` calls, which hand
the free pages of every arena back to the kernel (0: never);
``mmapThreshold``: bytes from which an allocation gets its own mapping,
unmapped when freed (0: glibc's default, a threshold that rises to the
largest buffer freed so far).  A fixed threshold under the data path's
buffers maps and faults in every one of them: GET 256 MiB ran at 0.39x
(bench/alloc_ab.py), hence off by default.
"""
from __future__ import annotations

from typing import Any, Mapping

import attrs

from cloudserver.config import fields

KNOWN = ("mmapThreshold", "trimInterval")
#: glibc's ceiling for M_MMAP_THRESHOLD on 64-bit (HEAP_MAX_SIZE / 2)
MAX_MMAP_THRESHOLD = 32 * 1024 * 1024


@attrs.frozen
class MemorySettings:
    mmap_threshold: int = 0
    trim_interval: float = 10.0


def parse_memory(raw: Mapping[str, Any]) -> MemorySettings:
    """The settings of config.json's ``memory`` (absent: defaults)."""
    section = fields.section(raw, "memory", KNOWN)
    if section is None:
        return MemorySettings()
    default = MemorySettings()
    threshold = fields.number(section, "memory", "mmapThreshold", default.mmap_threshold, 0,
                              MAX_MMAP_THRESHOLD, integer=True)
    interval = fields.number(section, "memory", "trimInterval", default.trim_interval, 0,
                             86400)
    return MemorySettings(mmap_threshold=threshold, trim_interval=float(interval))
