# -*- test-case-name: tests.unit.test_metadata_service -*-
"""How metadata records are stored: compact JSON objects with a format
version (``mdVersion``), decoded with json's C scanner on the hot path.

Every record the service writes (buckets, object masters and versions,
uploads and parts) goes through ``encode_record``; every read through
``decode_record``.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cloudserver.metadata.listing import load_record

MD_VERSION = 1


def encode_record(md: Mapping[str, Any]) -> bytes:
    """Compact JSON of a record, with ``mdVersion`` added when missing."""
    if not isinstance(md, Mapping):
        raise TypeError("metadata records are JSON objects (dicts)")
    if "mdVersion" not in md:
        md = {**md, "mdVersion": MD_VERSION}
    return json.dumps(md, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode("utf-8")


_scan_json = json.JSONDecoder().scan_once


def decode_record(raw: bytes) -> Any:
    """A stored record: what ``load_record`` gives, with json's C scanner
    called directly (records are compact JSON written by encode_record;
    anything else — whitespace around, bad JSON — goes through json.loads,
    for the same value or the same error)."""
    text = raw.decode("utf-8")
    try:
        value, end = _scan_json(text, 0)
    except StopIteration:
        return load_record(raw)
    if end != len(text):
        return load_record(raw)
    return value
