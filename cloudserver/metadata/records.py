# -*- test-case-name: tests.unit.test_metadata_service -*-
"""How metadata records are stored: compact JSON objects with a format
version (``mdVersion``), decoded with json's C scanner on the hot path.

Every record the service writes (buckets, object masters and versions,
uploads and parts) goes through ``encode_record``; every read through
``decode_record``, which brings records of an older format version up to
date (``schema.upgrade``; the kinds and their fields are in
cloudserver.metadata.schema).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cloudserver.metadata.listing import load_record
from cloudserver.metadata.schema import MD_VERSION, VERSION_FIELD

__all__ = ["MD_VERSION", "decode_record", "encode_record"]


def encode_record(md: Mapping[str, Any]) -> bytes:
    """Compact JSON of a record, with ``mdVersion`` added when missing."""
    if not isinstance(md, Mapping):
        raise TypeError("metadata records are JSON objects (dicts)")
    if VERSION_FIELD not in md:
        md = {**md, VERSION_FIELD: MD_VERSION}
    return json.dumps(md, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


#: A stored record, in the current format: ``listing.load_record`` (json's C
#: scanner called directly on the compact JSON encode_record writes; a
#: record of an older ``mdVersion`` goes through ``schema.upgrade``).
decode_record = load_record
