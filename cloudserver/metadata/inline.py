# -*- test-case-name: tests.unit.test_metadata_inline -*-
"""Small objects' bytes kept in the metadata store, beside their records.

A PUT of a few KiB costs more in data-file work (create, write,
fdatasync, close, unlink on delete) than in everything else together, so
objects up to a configured size travel with their metadata record
instead: a record's ``location`` then holds one piece
``{"inline": 1, "key": id, "start": 0, "size": n, "data": base64}``.

The service stores ``data`` under its own key (``keys.data_key(id)``),
not in the record, so listings never read object bytes, and writes it in
the same synced batch as the record that first refers to it: the bytes
are durable exactly when the object is.  When a write or delete frees
records (the replaced record of an unversioned write, the ``deleted``
records of a versioned one), their inline pieces that the new record does
not refer to any more are deleted in that same batch.  Reads of one
object (get_object, get_bucket_and_object) put ``data`` back into its
pieces, so a GET needs no second call, in-process or over the RPC.

``data`` is base64 text so that records stay JSON on the wire.
"""
from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from typing import Any

from cloudserver.metadata import keys
from cloudserver.metadata.errors import InvalidArgument


def _pieces(record: Any) -> list:
    if not isinstance(record, Mapping):
        return []
    pieces = record.get("location")
    return pieces if isinstance(pieces, list) else []


def inline_ids(record: Any) -> set[str]:
    """Ids of the inline pieces a record refers to."""
    return {p["key"] for p in _pieces(record)
            if isinstance(p, Mapping) and p.get("inline") and isinstance(p.get("key"), str)}


def take_data(md: Mapping[str, Any]) -> tuple[Mapping[str, Any], list[tuple[bytes, bytes]]]:
    """Split a record to store into (record without bytes, [(data key, bytes)]).

    ``md`` itself is left as it is (the caller may still use it)."""
    pieces = _pieces(md)
    if not any(isinstance(p, Mapping) and "data" in p for p in pieces):
        return md, []
    puts = []
    stored = []
    for piece in pieces:
        if isinstance(piece, Mapping) and "data" in piece:
            if not piece.get("inline") or not isinstance(piece.get("data"), str):
                raise InvalidArgument("only inline pieces carry data, as base64 text")
            try:
                raw = base64.b64decode(piece["data"], validate=True)
            except ValueError:
                raise InvalidArgument("inline data is not base64") from None
            if len(raw) != piece.get("size"):
                raise InvalidArgument("inline data does not have the piece's size")
            puts.append((keys.data_key(piece["key"]), raw))
            piece = {k: v for k, v in piece.items() if k != "data"}
        stored.append(piece)
    return {**md, "location": stored}, puts


def freed_keys(freed: Iterable[Any], new: Any = None) -> list[bytes]:
    """Data keys of the inline pieces of ``freed`` records that ``new`` does
    not refer to (a copy onto itself keeps its bytes)."""
    kept = inline_ids(new)
    out: set[str] = set()
    for record in freed:
        out |= inline_ids(record) - kept
    return [keys.data_key(i) for i in sorted(out)]


def attach(record: Any, get: Any) -> Any:
    """``record`` with each inline piece's bytes put back, read with
    ``get(data key)`` (a new dict; ``record`` is not changed).  A piece whose
    bytes are missing is left without ``data``: reading it fails as a
    missing data file does."""
    pieces = _pieces(record)
    if not any(isinstance(p, Mapping) and p.get("inline") for p in pieces):
        return record
    out = []
    for piece in pieces:
        if isinstance(piece, Mapping) and piece.get("inline") and "data" not in piece:
            raw = get(keys.data_key(piece["key"]))
            if raw is not None:
                piece = {**piece, "data": base64.b64encode(raw).decode("ascii")}
        out.append(piece)
    return {**record, "location": out}
