# -*- test-case-name: tests.unit.test_check -*-
"""Data against records, the whole store: bin/cloudserver-check's work.

The orphan sweep (cloudserver.data.sweep) reads only the data intents; this
check reads everything, for an operator who wants to know: every object
record, version and multipart part (their local pieces, and inline bytes),
then every file of the file store.  It reports

* orphans: files no record refers to (``age`` from their mtime; files with
  a young intent entry of the running process are in flight, not orphans);
* missing: records whose data file is absent, or shorter or longer than
  the record's pieces say (``wrong size``), or whose inline bytes are gone.

``repair`` removes the orphans older than the grace (and their intent
entries).  Records are never changed: a record whose data is missing is
reported with where it is (bucket, key, version or upload and part), for
the operator to delete or restore from a copy; rewriting it automatically
could only turn a visible fault into a silent one.

The files are listed before the records are read, so an upload committed
meanwhile is referenced, not an orphan; a missing file is looked for again
after the scan, and its record read again, so an object overwritten during
the check is not reported.  ``run_check`` runs in a worker thread (the
dmd's pool, or the tool's own process for a stopped server).
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from cloudserver.metadata import keys
from cloudserver.metadata.errors import InvalidArgument
from cloudserver.metadata.intents import INTENT_PREFIX, intent_key, parse
from cloudserver.metadata.records import decode_record
from cloudserver.metadata.uploads import PART_PREFIX

#: Reported entries per list (the counts are always complete).
MAX_LISTED = 1000


def _where(kv_key: bytes) -> dict[str, Any]:
    """What a record key names, for the report."""
    if kv_key.startswith(PART_PREFIX):
        upload, _, number = kv_key[len(PART_PREFIX):].rpartition(b"\x00")
        return {"uploadId": upload.decode("utf-8", "replace"), "part": int(number or 0)}
    bucket, _, rest = kv_key[len(keys.OBJECT_PREFIX):].partition(b"\x00")
    name, vid = keys.split_version(rest)
    out = {"bucket": bucket.decode("utf-8", "replace"), "key": name.decode("utf-8", "replace")}
    if vid is not None:
        out["versionId"] = vid.decode("utf-8", "replace")
    return out


def scan_records(kv: Any, rule: Any) -> tuple[dict[str, list], list[dict], int]:
    """(data key -> [size its pieces need, record key], inline faults, records)."""
    refs: dict[str, list] = {}
    inline_missing: list[dict] = []
    records = 0
    for prefix in (keys.OBJECT_PREFIX, PART_PREFIX):
        for kv_key, value in kv.iterate(gte=prefix, lt=keys.successor(prefix)):
            records += 1
            try:
                record = decode_record(value)
            except ValueError:
                continue
            local = rule.local_keys(record)
            for piece in record.get("location") or ():
                if not isinstance(piece, dict):
                    continue
                key = piece.get("key")
                if piece.get("inline"):
                    if kv.get(keys.data_key(key)) is None:
                        inline_missing.append({**_where(kv_key), "dataKey": key,
                                               "problem": "inline data missing"})
                    continue
                if key not in local:
                    continue
                # ``start`` is the piece's offset in the object; in its blob
                # it starts at 0 (or ``blobStart``)
                end = (piece.get("blobStart") or 0) + (piece.get("size") or 0)
                ref = refs.setdefault(key, [0, kv_key])
                ref[0] = max(ref[0], end)
    return refs, inline_missing, records


def list_files(store: Any) -> dict[str, tuple[int, float]]:
    """data key -> (size, mtime) of every file of the store."""
    out = {}
    for key, path in store.iter_files():
        try:
            st = os.stat(path)
        except FileNotFoundError:
            continue
        out[key] = (st.st_size, st.st_mtime)
    return out


def _in_flight(kv: Any, key: str, boot: str | None, now: float, grace: float) -> bool:
    """Has ``key`` a young written entry of the running process?"""
    if boot is None:
        return False
    raw = kv.get(intent_key(key))
    if raw is None:
        return False
    try:
        _, _, entry_boot, written = parse(intent_key(key), raw)
    except ValueError:
        return False
    return entry_boot == boot and now - written < grace


def run_check(kv: Any, store: Any, rule: Any, *, grace: float, boot: str | None = None,
              repair: bool = False, clock: Callable[[], float] = time.time,
              busy: Callable[[str], bool] = lambda key: False) -> dict[str, Any]:
    """The report (module docstring); with ``repair``, orphans older than
    ``grace`` removed.  ``boot``: the running process's intents id (online)."""
    files = list_files(store)
    refs, missing, records = scan_records(kv, rule)
    now = clock()
    orphans, in_flight = [], 0
    for key, (size, mtime) in sorted(files.items()):
        if key in refs:
            continue
        if busy(key) or _in_flight(kv, key, boot, now, grace):
            in_flight += 1
            continue
        orphans.append({"dataKey": key, "size": size, "age": round(now - mtime, 1)})
    for key, (needed, kv_key) in sorted(refs.items()):
        problem = _data_problem(store, key, needed)
        if problem is not None and _still_refers(kv, kv_key, key, rule):
            missing.append({**_where(kv_key), "dataKey": key, "problem": problem})
    removed = removed_bytes = 0
    if repair:
        for orphan in orphans:
            if orphan["age"] < grace or busy(orphan["dataKey"]):
                continue
            if _remove(kv, store, orphan["dataKey"]):
                orphan["removed"] = True
                removed += 1
                removed_bytes += orphan["size"]
    return {"files": len(files), "records": records, "referenced": len(refs),
            "orphans": len(orphans), "orphanBytes": sum(o["size"] for o in orphans),
            "inFlight": in_flight, "missing": len(missing), "removed": removed,
            "removedBytes": removed_bytes, "grace": grace,
            "orphanList": orphans[:MAX_LISTED], "missingList": missing[:MAX_LISTED]}


def _data_problem(store: Any, key: str, needed: int) -> str | None:
    """None when the file is there (looked for again: the listing is older
    than the scan) with the size its pieces need."""
    try:
        size = os.stat(store.path_for(key)).st_size
    except (FileNotFoundError, KeyError):
        return "data file missing"
    return None if size == needed else f"wrong size: {size} bytes, record needs {needed}"


def _still_refers(kv: Any, kv_key: bytes, key: str, rule: Any) -> bool:
    """Is the record read again still one that refers to ``key`` (not
    overwritten or deleted during the check)?"""
    raw = kv.get(kv_key)
    if raw is None:
        return False
    try:
        return key in rule.local_keys(decode_record(raw))
    except ValueError:
        return False


def _remove(kv: Any, store: Any, key: str) -> bool:
    try:
        os.unlink(store.path_for(key))
    except FileNotFoundError:
        return False
    kv.put_unsynced([], [intent_key(key)])
    return True


def intent_count(kv: Any) -> int:
    return sum(1 for _ in kv.iterate(gte=INTENT_PREFIX, lt=keys.successor(INTENT_PREFIX)))


class OnlineCheck:
    """The dmd's ``check_data`` (MetadataService.check_data, RPC method
    ``check_data``): run_check in the thread pool over the live stores;
    options ``{"repair": bool, "grace": seconds}``."""

    def __init__(self, kv: Any, store: Any, rule: Any, intents: Any,
                 defer_to_thread: Callable[..., Any], grace: float,
                 clock: Callable[[], float] = time.time):
        self.kv, self.store, self.rule, self.intents = kv, store, rule, intents
        self._defer_to_thread = defer_to_thread
        self.grace = grace
        self._clock = clock

    def __call__(self, options: dict) -> Any:
        grace = options.get("grace", self.grace)
        if isinstance(grace, bool) or not isinstance(grace, (int, float)) or grace < 0:
            raise InvalidArgument("grace must be a number of seconds >= 0")
        intents = self.intents
        return self._defer_to_thread(
            run_check, self.kv, self.store, self.rule, grace=float(grace),
            boot=intents.boot, repair=bool(options.get("repair")), clock=self._clock,
            busy=lambda key: intents.busy(key, float(grace)))
