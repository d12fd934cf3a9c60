# -*- test-case-name: tests.unit.test_config_leveldb -*-
"""config.json ``metadata.leveldb``: the metadata store's LevelDB options,
which bound the memory it holds (README "Metadata store memory").

::

    "metadata": {"leveldb": {"lruCacheSize": 8388608, "maxOpenFiles": 1000,
                             "blockSize": 4096, "writeBufferSize": 4194304,
                             "maxFileSize": 2097152, "bloomFilterBits": 10}}

Every key is optional; absent ones keep LevelDB's defaults (and 10 bloom
filter bits a key).  ``lruCacheSize``: bytes of uncompressed blocks cached;
``maxOpenFiles``: table files kept open, each with its index and bloom
filter in memory and (LevelDB on 64-bit Linux) its file mapped;
``writeBufferSize``: bytes of writes buffered in a memtable (two can
exist during a compaction); ``maxFileSize``: bytes per table file;
``bloomFilterBits``: filter bits per key (0: no filter).
"""
from __future__ import annotations

from typing import Any, Mapping

from cloudserver.config import fields

#: config key -> (plyvel.DB keyword, lowest, highest)
_KEYS = {
    "lruCacheSize": ("lru_cache_size", 0, 1 << 40),
    "maxOpenFiles": ("max_open_files", 20, 1 << 20),
    "blockSize": ("block_size", 1024, 4 << 20),
    "writeBufferSize": ("write_buffer_size", 64 << 10, 1 << 32),
    "maxFileSize": ("max_file_size", 64 << 10, 1 << 32),
    "bloomFilterBits": ("bloom_filter_bits", 0, 64),
}
NAME = "metadata.leveldb"


def parse_leveldb(raw: Mapping[str, Any]) -> dict[str, int]:
    """The plyvel.DB keywords that config.json sets ({} when absent)."""
    metadata = raw.get("metadata")
    if not isinstance(metadata, Mapping):
        return {}  # absent; a wrong type is parse_metadata's to refuse
    section = fields.section({NAME: metadata.get("leveldb")}, NAME, tuple(_KEYS))
    if section is None:
        return {}
    return {keyword: fields.number(section, NAME, key, None, low, high, integer=True)
            for key, (keyword, low, high) in _KEYS.items() if key in section}
