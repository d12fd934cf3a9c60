# -*- test-case-name: tests.unit.test_metadata_transfer -*-
"""A bucket's metadata as typed records, out of one store and into another
(bin/cloudserver-metadata export / import, over the :9990 RPC).

Export walks a bucket's keys in pages: the bucket record first, then every
object master and version (each inline object's bytes right after the
record that refers to them: they live in the metadata store), then each
multipart upload in progress followed by its parts.  Every item is one
JSON object with ``type`` and ``formatVersion`` (``FORMAT_VERSION``, of
this item layout); the records inside keep their own ``mdVersion``::

    {"type": "bucket", "formatVersion": 1, "name", "record"}
    {"type": "object", "formatVersion": 1, "key", "versionId" (None: the master), "record"}
    {"type": "inline", "formatVersion": 1, "id", "data" (base64)}
    {"type": "upload", "formatVersion": 1, "key", "uploadId", "record"}
    {"type": "part",   "formatVersion": 1, "key", "uploadId", "partNumber", "record"}

Only metadata moves: object data stays where the records say it is (data
files, remote locations), so an import is useful where that data is
reachable -- the same data directory, or a copy of it.  Two buckets whose
records name the same data files share them: deleting an object of one
frees the other's data.  Part keys are not per bucket (``P\0<upload id>``),
so an upload whose id the store already uses for another bucket (the
source of an import under another name, on the same server) is refused:
skip the uploads then.  Pages are not one snapshot: export a bucket
nobody writes to.

Import checks every item before the service writes any: a known type and
format version, and a record of its kind (cloudserver.metadata.schema:
declared fields, required ones present, types) that names the key it is
stored under.
"""
from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from cloudserver.metadata import keys, uploads
from cloudserver.metadata.errors import InvalidArgument
from cloudserver.metadata.records import decode_record
from cloudserver.metadata.schema import (MD_VERSION, VERSION_FIELD, BucketRecord,
                                         ObjectRecord, PartRecord, PieceRecord, UploadRecord,
                                         upgrade)

FORMAT_VERSION = 1
TYPES = ("bucket", "object", "inline", "upload", "part")
DEFAULT_PAGE = 500
_PHASES = ("O", "U")


def _bad(text: str) -> InvalidArgument:
    """A refusal whose text reaches the tool (over :9990 only ``message`` does)."""
    return InvalidArgument(text, message=text)


def _item(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "formatVersion": FORMAT_VERSION, **fields}


def bucket_item(name: str, record: Mapping[str, Any]) -> dict[str, Any]:
    return _item("bucket", name=name, record=dict(record))


# -- export ---------------------------------------------------------------------

def export_page(kv: Any, bucket: str, cursor: str | None, limit: int) -> dict[str, Any]:
    """{"items": [...], "cursor": where the next page starts, None at the end}.

    ``cursor`` None: from the start (the caller adds the bucket item).
    The cursor is ``<phase>:<hex of the last key>``: opaque to callers."""
    phase, after = "O", None
    if cursor:
        phase, _, hexkey = cursor.partition(":")
        if phase not in _PHASES:
            raise _bad(f"bad export cursor {cursor[:40]!r}")
        try:
            after = bytes.fromhex(hexkey) if hexkey else None
        except ValueError:
            raise _bad(f"bad export cursor {cursor[:40]!r}") from None
    items: list[dict[str, Any]] = []
    if phase == "O":
        last = _export_objects(kv, bucket, after, limit, items)
        if last is not None:
            return {"items": items, "cursor": "O:" + last.hex()}
        phase, after = "U", None
    last = _export_uploads(kv, bucket, after, max(limit - len(items), 1), items)
    return {"items": items, "cursor": None if last is None else "U:" + last.hex()}


def _range(base: bytes, after: bytes | None) -> dict[str, Any]:
    return ({"gte": base} if after is None else {"gt": after}) | {"lt": keys.successor(base)}


def _export_objects(kv: Any, bucket: str, after: bytes | None, limit: int,
                    items: list) -> bytes | None:
    """Object items after key ``after``; the last key when the page is full."""
    base = keys.object_base(bucket)
    count, last = 0, None
    for key, raw in kv.iterate(**_range(base, after)):
        if count == limit:
            return last
        name, vid = keys.split_version(key[len(base):])
        record = decode_record(raw)
        items.append(_item("object", key=name.decode("utf-8"),
                           versionId=None if vid is None else vid.decode("utf-8"),
                           record=record))
        for piece in record.get("location") or ():
            if isinstance(piece, Mapping) and piece.get("inline"):
                data = kv.get(keys.data_key(piece["key"]))
                if data is not None:
                    items.append(_item("inline", id=piece["key"],
                                       data=base64.b64encode(data).decode("ascii")))
        count += 1
        last = key
    return None


def _export_uploads(kv: Any, bucket: str, after: bytes | None, limit: int,
                    items: list) -> bytes | None:
    base = uploads.uploads_base(bucket)
    count, last = 0, None
    for key, raw in kv.iterate(**_range(base, after)):
        if count == limit:
            return last
        name, upload_id = uploads.split_upload_key(key[len(base):])
        items.append(_item("upload", key=name, uploadId=upload_id, record=decode_record(raw)))
        pbase = uploads.parts_base(upload_id)
        for _, praw in kv.iterate(gte=pbase, lt=keys.successor(pbase)):
            part = decode_record(praw)
            items.append(_item("part", key=name, uploadId=upload_id,
                               partNumber=part.get("partNumber"), record=part))
        count += 1
        last = key
    return None


# -- import: checking ---------------------------------------------------------------

def check_item(item: Any) -> str:
    """The item's type, once its shape is right; InvalidArgument says what is wrong."""
    if not isinstance(item, dict):
        raise _bad("an item is a JSON object")
    kind = item.get("type")
    if kind not in TYPES:
        raise _bad(f"unknown item type {str(kind)[:40]!r}")
    if item.get("formatVersion") != FORMAT_VERSION:
        raise _bad(f"{kind}: format version {item.get('formatVersion')!r} "
                              f"is not {FORMAT_VERSION}")
    if kind == "inline":
        if not isinstance(item.get("id"), str) or not isinstance(item.get("data"), str):
            raise _bad("inline: id and data are strings")
        try:
            base64.b64decode(item["data"], validate=True)
        except ValueError:
            raise _bad("inline: data is not base64") from None
        keys.data_key(item["id"])
        return kind
    record = item.get("record")
    if not isinstance(record, dict):
        raise _bad(f"{kind}: record is a JSON object")
    schema = {"bucket": BucketRecord, "object": ObjectRecord, "upload": UploadRecord,
              "part": PartRecord}[kind]
    problems = schema.problems({VERSION_FIELD: MD_VERSION, **upgrade(dict(record))})
    for piece in record.get("location") or () if kind in ("object", "part") else ():
        problems += PieceRecord.problems(piece) if isinstance(piece, dict) else ["a piece"]
    if problems:
        raise _bad(f"{kind} {_name(item)}: " + "; ".join(problems[:5]))
    if kind == "object" and record.get("key") != item.get("key"):
        raise _bad(f"object {_name(item)}: the record names another key")
    if kind == "part" and record.get("partNumber") != item.get("partNumber"):
        raise _bad(f"part {_name(item)}: the record names another part")
    return kind


def _name(item: Mapping[str, Any]) -> str:
    return repr(item.get("key") or item.get("name") or item.get("uploadId"))[:80]


def _check_upload_id(kv: Any, bucket: str, name: Any, upload_id: Any,
                     imported: set) -> None:
    """Refuse an upload id that the store uses for another upload (part keys
    are shared by upload id, whatever the bucket)."""
    if not isinstance(name, str) or not isinstance(upload_id, str):
        raise _bad("upload and part items name their key and uploadId")
    ukey = uploads.upload_key(bucket, name, upload_id)
    if ukey in imported or kv.get(ukey) is not None:
        return
    pbase = uploads.parts_base(upload_id)
    for _ in kv.iterate(gte=pbase, lt=keys.successor(pbase)):
        raise _bad(f"upload id {upload_id[:40]!r} is in use in this store "
                              "(by another bucket): import without the uploads")


def planned_writes(kv: Any, bucket: str, items: list) -> list[tuple[str, bytes, Any, Any]]:
    """(type, KV key, record or raw bytes, master key of an object or None) of
    each item to import into ``bucket`` (the bucket item excluded); every item
    is checked first, so a bad one refuses the whole page."""
    out = []
    imported: set[bytes] = set()
    for item in items:
        kind = check_item(item)
        if kind == "bucket":
            raise _bad("the bucket record is imported with import_bucket")
        if kind == "inline":
            out.append((kind, keys.data_key(item["id"]), base64.b64decode(item["data"]), None))
        elif kind == "object":
            okey = keys.object_key(bucket, item["key"])
            vid = item.get("versionId")
            key = okey if vid is None else keys.join_version(okey, vid)
            out.append((kind, key, upgrade(dict(item["record"])), okey))
        elif kind == "upload":
            _check_upload_id(kv, bucket, item.get("key"), item.get("uploadId"), imported)
            record = {**upgrade(dict(item["record"])), UploadRecord.BUCKET: bucket}
            ukey = uploads.upload_key(bucket, item["key"], item["uploadId"])
            imported.add(ukey)
            out.append((kind, ukey, record, None))
        else:
            _check_upload_id(kv, bucket, item.get("key"), item.get("uploadId"), imported)
            number = item["partNumber"]
            if not isinstance(number, int) or not 1 <= number <= uploads.MAX_PART_NUMBER:
                raise _bad(f"part number {number!r}")
            out.append((kind, uploads.part_key(item["uploadId"], number),
                        upgrade(dict(item["record"])), None))
    return out
