# -*- test-case-name: tests.unit.test_multipart_uploads -*-
"""Multipart upload state in the metadata KV: a mixin of MetadataService.

Uploads and their parts live in the same ordered key space as buckets and
objects (see cloudserver.metadata.keys), so that completing an upload --
writing the object, removing the upload and every part record -- is one
atomic, synced batch, and an upload survives restarts like any record::

    b"U\\x00" + bucket + b"\\x00" + name + b"\\x00" + upload_id -> upload (JSON)
    b"P\\x00" + upload_id + b"\\x00" + b"%05d" % part_number   -> part (JSON)

The upload key sorts a bucket's uploads by object name, then by upload id
(ListMultipartUploads order); upload ids start with a fixed-width time
stamp (made by the S3 front's CreateMultipartUpload) so that uploads of one name list in
initiation order.  Names never hold NUL (keys.encode_name), so the NUL
before the upload id cannot be confused with a longer name.  Part keys
zero-pad the part number so byte order is numeric order (ListParts).

Upload record: ``{"mdVersion", "uploadId", "bucket", "key", "initiated",
"owner", "owner-name", "initiator": {"id", "name"}, "content-type",
"headers", "metadata", "storage-class", "checksum": {"algorithm", "type"}
| None, "request-headers": {...}}``.  Part record: ``{"mdVersion",
"partNumber", "size", "etag", "last-modified", "location": [...],
"checksum": {"algorithm", "value"} | None}``.

Concurrency (one service instance owns the KV, as for objects).  LevelDB
writes become visible when durable, so a read can miss a write still in
flight.  Two in-process tables close the gaps:

* ``_mpu_staged``: part values written but not yet durable.  A re-upload
  learns the part it really replaced; an abort or complete deletes parts
  whose write is still in flight (its batch is queued after theirs, and
  batches apply in call order) and frees their data.
* ``_mpu_closing``: uploads being completed or aborted.  A part write that
  arrives meanwhile fails with NoSuchUpload, and a second complete/abort
  too, so exactly one of two racing completes (or a complete and an
  abort) wins and nothing is orphaned.

A complete names each part it validated by ``part_identity`` (ETag and
data pieces, so a re-upload of the same bytes is told apart) and checks,
in the same reactor turn as it issues its batch, that each is still the
durable record.  A re-upload of that part number whose write is still in
flight does not stop it: the complete keeps the part it validated,
*claims* it so that the re-upload does not report it as replaced (and its
caller does not free its data), and returns the re-uploaded part among
``unused`` for its own caller to free.  A re-upload already durable has
replaced the record (its caller frees the old data), so the complete
fails with InvalidPart and the caller validates again against the new
record.  Either way the object is made of one whole, live part, and the
losing part's data is freed exactly once.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from twisted.internet import defer

from cloudserver.metadata import keys, usage
from cloudserver.metadata.records import decode_record as _decode
from cloudserver.metadata.records import encode_record as _encode
from cloudserver.metadata.errors import MetadataError, NoSuchBucket

UPLOAD_PREFIX = b"U\x00"
PART_PREFIX = b"P\x00"
SEP = b"\x00"
MAX_PART_NUMBER = 10000
DEFAULT_MAX_UPLOADS = 1000


class NoSuchUpload(MetadataError):
    code = "NoSuchUpload"


class InvalidPart(MetadataError):
    code = "InvalidPart"


# -- the key layout -----------------------------------------------------------

def _upload_id_bytes(upload_id: str) -> bytes:
    if not isinstance(upload_id, str) or not upload_id or "\x00" in upload_id:
        raise NoSuchUpload(f"invalid upload id {upload_id!r}")
    try:
        return upload_id.encode("ascii")
    except UnicodeEncodeError:  # ours are ASCII: anything else is unknown
        raise NoSuchUpload(f"invalid upload id {upload_id!r}") from None


def uploads_base(bucket: str) -> bytes:
    """The prefix shared by every upload key of ``bucket``."""
    return UPLOAD_PREFIX + keys.encode_bucket(bucket) + SEP


def upload_key(bucket: str, name: str, upload_id: str) -> bytes:
    return uploads_base(bucket) + keys.encode_name(name) + SEP + _upload_id_bytes(upload_id)


def parts_base(upload_id: str) -> bytes:
    return PART_PREFIX + _upload_id_bytes(upload_id) + SEP


def part_key(upload_id: str, part_number: int) -> bytes:
    if not 1 <= part_number <= MAX_PART_NUMBER:
        raise ValueError(f"part number out of range: {part_number}")
    return parts_base(upload_id) + b"%05d" % part_number


def split_upload_key(relative: bytes) -> tuple[str, str]:
    """(name, upload id) from a key with ``uploads_base`` stripped."""
    name, _, upload_id = relative.rpartition(SEP)
    return name.decode("utf-8"), upload_id.decode("ascii")


def _common_prefix(name: bytes, prefix: bytes, delimiter: bytes) -> bytes | None:
    """The CommonPrefixes entry ``name`` rolls up into, or None.  A key
    marker equal to its own entry names a common prefix listed last time
    (skipped whole); any other marker, ``prefix`` itself included, is a key
    that later keys follow."""
    if not delimiter or not name.startswith(prefix):
        return None
    at = name.find(delimiter, len(prefix))
    return name[:at + len(delimiter)] if at >= 0 else None


def part_identity(record: Mapping[str, Any]) -> str:
    """What a complete names a validated part by: the ETag alone cannot tell
    a re-upload of the same bytes from the part it replaced, where the data
    is can (every write of a part gets its own data key)."""
    pieces = ",".join(f"{loc.get('loc', '')}:{loc.get('key')}"
                      for loc in record.get("location") or ())
    return f"{record.get('etag')}|{pieces}"


def _upload_gone(parts) -> list[int]:
    """The usage delta of an upload removed with its part values ``parts``."""
    delta = usage.zero()
    delta[usage.UPLOADS] = -1
    for raw in parts:
        usage.add_part(delta, _decode(raw), -1)
    return delta


def _release(result: Any, release: Callable[[str], None], name: str) -> Any:
    release(name)
    return result


class UploadStore:
    """Upload and part records: a collaborator the MetadataService holds
    (``service.uploads``) and whose methods it offers as its own.

    A completion writes the object in the same batch as it removes the
    upload, so the store is given the object side's steps: whether a
    bucket exists, the plan of an object put (versioning included) and the
    commit that writes it.  Lifecycle's upload expiry will call
    ``abort_upload`` here.
    """

    def __init__(self, kv, *, bucket_exists: Callable[[str], bool],
                 plan_object_put: Callable[..., tuple], commit: Callable[..., defer.Deferred],
                 count: Callable[..., defer.Deferred] | None = None,
                 intent_changes: Callable[..., tuple] | None = None):
        """``count(bucket, usage delta, puts, deletes)``: write a batch with the
        bucket's usage moved (metadata.usage); default: a plain KV write.
        ``intent_changes(new records, freed records)``: the data intents'
        (puts, deletes) of that batch (cloudserver.metadata.intents)."""
        self.kv = kv
        self._count = count or (lambda bucket, delta, puts, deletes:
                                kv.write(puts, deletes))
        self._intents = intent_changes or (lambda new, freed: ([], []))
        self._bucket_exists = bucket_exists
        self._plan_object_put = plan_object_put
        self._commit = commit
        self._release = _release
        #: part key -> [latest value, writes in flight, values claimed by a completion]
        self._mpu_staged: dict[bytes, list] = {}
        #: uploads being completed or aborted
        self._mpu_closing: set[str] = set()

    # -- uploads -------------------------------------------------------------

    def create_upload(self, bucket: str, name: str, upload_id: str,
                      record: Mapping[str, Any]) -> defer.Deferred:
        """Store a new upload record; fires with None once durable."""
        return defer.maybeDeferred(self._create_upload, bucket, name, upload_id, record)

    def _create_upload(self, bucket, name, upload_id, record):
        if not self._bucket_exists(bucket):
            raise NoSuchBucket(bucket)
        delta = usage.zero()
        delta[usage.UPLOADS] = 1
        return self._count(bucket, delta, [(upload_key(bucket, name, upload_id),
                                            _encode(record))], [])

    def get_upload(self, bucket: str, name: str, upload_id: str) -> defer.Deferred:
        """The upload record; NoSuchUpload if absent or being completed/aborted."""
        return defer.maybeDeferred(self._get_upload, bucket, name, upload_id)

    def _get_upload(self, bucket, name, upload_id):
        raw = self.kv.get(upload_key(bucket, name, upload_id))
        if raw is None or upload_id in self._mpu_closing:
            if not self._bucket_exists(bucket):
                raise NoSuchBucket(bucket)
            raise NoSuchUpload(upload_id)
        return _decode(raw)

    def list_uploads(self, bucket: str, params: Mapping[str, Any]) -> defer.Deferred:
        """ListMultipartUploads over the bucket's upload keys.

        params: prefix, delimiter, keyMarker, uploadIdMarker, maxUploads.
        Fires with {"Uploads": [record], "CommonPrefixes": [str],
        "IsTruncated": bool, "NextKeyMarker", "NextUploadIdMarker"}.
        """
        return defer.maybeDeferred(self._list_uploads, bucket, params)

    def _list_uploads(self, bucket, params):
        if not self._bucket_exists(bucket):
            raise NoSuchBucket(bucket)
        base = uploads_base(bucket)
        prefix = (params.get("prefix") or "").encode("utf-8")
        delimiter = (params.get("delimiter") or "").encode("utf-8")
        key_marker = (params.get("keyMarker") or "").encode("utf-8")
        id_marker = params.get("uploadIdMarker") or ""
        limit = params.get("maxUploads", DEFAULT_MAX_UPLOADS)
        out: dict[str, Any] = {"Uploads": [], "CommonPrefixes": [], "IsTruncated": False,
                               "NextKeyMarker": None, "NextUploadIdMarker": None}
        if limit <= 0:
            return out
        lt = keys.successor(base + prefix)
        gt = None
        gte = base + prefix
        if key_marker:
            if id_marker:
                gt = max(base + key_marker + SEP + id_marker.encode("ascii", "replace"),
                         gte)
                gte = None
            elif _common_prefix(key_marker, prefix, delimiter) == key_marker:
                # a common prefix returned last time: skip all of it
                gte = max(keys.successor(base + key_marker), gte)
            else:
                gte = max(base + key_marker + b"\x01", gte)
        count = 0
        last: tuple[str, str] | None = None
        while True:
            advanced = False
            for k, v in self.kv.iterate(gte=gte, gt=gt, lt=lt):
                relative = k[len(base):]
                name = relative.rpartition(SEP)[0]
                if delimiter:
                    cp = _common_prefix(name, prefix, delimiter)
                    if cp is not None:
                        if count == limit:
                            out["IsTruncated"] = True
                            break
                        out["CommonPrefixes"].append(cp.decode("utf-8"))
                        count += 1
                        last = (cp.decode("utf-8"), "")
                        gte, gt = keys.successor(base + cp), None
                        advanced = True
                        break
                if count == limit:
                    out["IsTruncated"] = True
                    break
                record = _decode(v)
                out["Uploads"].append(record)
                count += 1
                last = split_upload_key(relative)
            if not advanced or gte is None:
                break
        if out["IsTruncated"] and last is not None:
            out["NextKeyMarker"], out["NextUploadIdMarker"] = last
        return out

    # -- parts ---------------------------------------------------------------

    def put_part(self, bucket: str, name: str, upload_id: str, part_number: int,
                 record: Mapping[str, Any]) -> defer.Deferred:
        """Store (or replace) a part; fires with the part record it replaced ({}
        if none) once durable.  NoSuchUpload if the upload is gone or closing."""
        return defer.maybeDeferred(self._put_part, bucket, name, upload_id, part_number,
                                   record)

    def _put_part(self, bucket, name, upload_id, part_number, record):
        self._get_upload(bucket, name, upload_id)
        pkey = part_key(upload_id, part_number)
        value = _encode(record)
        previous = self._mpu_current(pkey)
        delta = usage.zero()
        usage.add_part(delta, record, 1)
        usage.add_part(delta, None if previous is None else _decode(previous), -1)
        # The new part's data is committed; the replaced one's freed (a
        # completion that claims it clears that again, in its later batch).
        puts, deletes = self._intents((record,), (_decode(previous),) if previous else ())
        write = self._count(bucket, delta, [(pkey, value), *puts], deletes)
        claimed = self._mpu_staged.setdefault(pkey, [None, 0, set()])[2]
        d = self._mpu_stage(pkey, value, write)

        def replaced(_):
            # a part a completion kept is not replaced: its data is the object's
            if previous is None or previous in claimed:
                return {}
            return _decode(previous)

        return d.addCallback(replaced)

    def list_parts(self, upload_id: str, marker: int = 0,
                   max_parts: int = 1000) -> defer.Deferred:
        """Up to ``max_parts`` part records after part ``marker``; fires with
        (records, truncated)."""
        return defer.maybeDeferred(self._list_parts, upload_id, marker, max_parts)

    def _list_parts(self, upload_id, marker, max_parts):
        base = parts_base(upload_id)
        start = base + b"%05d" % marker if marker > 0 else None
        records = []
        truncated = False
        for _, v in self.kv.iterate(gt=start, gte=None if start else base,
                                    lt=keys.successor(base)):
            if len(records) == max_parts:
                truncated = True
                break
            records.append(_decode(v))
        return records, truncated

    def _all_parts(self, upload_id: str) -> dict[bytes, bytes]:
        """Every part value of an upload, counting writes still in flight."""
        base = parts_base(upload_id)
        found = dict(self.kv.iterate(gte=base, lt=keys.successor(base)))
        for k, entry in self._mpu_staged.items():
            if k.startswith(base):
                if entry[0] is None:
                    found.pop(k, None)
                else:
                    found[k] = entry[0]
        return found

    # -- completion and abort --------------------------------------------------

    def complete_upload(self, bucket: str, name: str, upload_id: str,
                        md: Mapping[str, Any], expected: Mapping[int, str],
                        options: Mapping[str, Any] | None = None) -> defer.Deferred:
        """Write the object ``md`` (with versioning ``options``, as put_object)
        and remove the upload and all its parts, in one batch.

        ``expected`` maps each part number used to the ``part_identity`` of
        the record the caller validated; if the durable record differs now,
        InvalidPart (validate again).  A re-upload still in flight loses to
        the complete (module docstring).  Fires, once durable, with
        ``{"result": what put_object would have answered, "unused": [part
        records not in md]}`` so the caller can free the data nothing refers
        to any more.
        """
        return defer.maybeDeferred(self._complete_upload, bucket, name, upload_id, md,
                                   expected, options)

    def _complete_upload(self, bucket, name, upload_id, md, expected, options):
        ukey = upload_key(bucket, name, upload_id)
        self._get_upload(bucket, name, upload_id)
        parts = self._all_parts(upload_id)
        kept = self._kept_parts(upload_id, expected)
        unused = [_decode(v) for k, v in parts.items() if kept.get(k) != v]
        okey, changes, result, data, delta = self._plan_object_put(bucket, name, md, options)
        for pkey, value in kept.items():
            if pkey in self._mpu_staged:  # a re-upload in flight must not free it
                self._mpu_staged[pkey][2].add(value)
        self._mpu_closing.add(upload_id)
        delta = usage.add(delta, _upload_gone(parts.values()))
        puts, deletes = self._intents((md,), unused)
        data = (list(data[0]) + puts, list(data[1]) + deletes)
        d = self._commit(bucket, okey, changes, result, [ukey, *parts], data=data, delta=delta,
                         hook=(name, "complete", options))
        d.addBoth(self._release, self._mpu_closing.discard, upload_id)
        return d.addCallback(lambda result: {"result": result, "unused": unused})

    def _kept_parts(self, upload_id: str, expected: Mapping[int, str]) -> dict[bytes, bytes]:
        """The durable value of each part a complete uses, checked against
        the identity its caller validated."""
        kept = {}
        for number, identity in expected.items():
            pkey = part_key(upload_id, number)
            raw = self.kv.get(pkey)
            if raw is None or part_identity(_decode(raw)) != identity:
                raise InvalidPart(f"part {number} changed during completion")
            kept[pkey] = raw
        return kept

    def abort_upload(self, bucket: str, name: str, upload_id: str) -> defer.Deferred:
        """Remove the upload and its parts; fires with the removed part records
        (whose data the caller frees) once durable.  NoSuchUpload if absent."""
        return defer.maybeDeferred(self._abort_upload, bucket, name, upload_id)

    def _abort_upload(self, bucket, name, upload_id):
        ukey = upload_key(bucket, name, upload_id)
        self._get_upload(bucket, name, upload_id)
        parts = self._all_parts(upload_id)
        self._mpu_closing.add(upload_id)
        puts, deletes = self._intents((), [_decode(v) for v in parts.values()])
        d = self._count(bucket, _upload_gone(parts.values()), puts, [ukey, *parts, *deletes])
        d.addBoth(self._release, self._mpu_closing.discard, upload_id)
        return d.addCallback(lambda _: [_decode(v) for v in parts.values()])

    def delete_bucket_uploads(self, bucket: str, limit: int = 1000) -> defer.Deferred:
        """Abort up to ``limit`` uploads of ``bucket`` (for DeleteBucket, which
        discards unfinished uploads as AWS does); fires with (part records
        removed, more_left)."""
        return defer.maybeDeferred(self._delete_bucket_uploads, bucket, limit)

    def _delete_bucket_uploads(self, bucket, limit):
        base = uploads_base(bucket)
        deletes: list[bytes] = []
        removed: list[dict] = []
        delta = usage.zero()
        more = False
        for n, (k, _) in enumerate(self.kv.iterate(gte=base, lt=keys.successor(base))):
            if n == limit:
                more = True
                break
            upload_id = split_upload_key(k[len(base):])[1]
            if upload_id in self._mpu_closing:
                continue
            parts = self._all_parts(upload_id)
            deletes.append(k)
            deletes.extend(parts)
            removed.extend(_decode(v) for v in parts.values())
            delta = usage.add(delta, _upload_gone(parts.values()))
        if not deletes:
            return [], more
        puts, cleared = self._intents((), removed)
        return self._count(bucket, delta, puts, deletes + cleared).addCallback(
            lambda _: (removed, more))

    def parts_by_upload(self, bucket: str):
        """The part values of each upload of ``bucket`` (usage's count by scan)."""
        base = uploads_base(bucket)
        for key, _ in self.kv.iterate(gte=base, lt=keys.successor(base)):
            upload_id = split_upload_key(key[len(base):])[1]
            yield self._all_parts(upload_id).values()

    # -- in-flight part writes -------------------------------------------------

    def _mpu_current(self, pkey: bytes) -> bytes | None:
        staged = self._mpu_staged.get(pkey)
        return staged[0] if staged is not None else self.kv.get(pkey)

    def _mpu_stage(self, pkey: bytes, value: bytes | None,
                   d: defer.Deferred) -> defer.Deferred:
        # [latest value, writes in flight, values claimed by a completion]
        entry = self._mpu_staged.setdefault(pkey, [None, 0, set()])
        entry[0] = value
        entry[1] += 1

        def unstage(result):
            entry[1] -= 1
            if not entry[1] and self._mpu_staged.get(pkey) is entry:
                del self._mpu_staged[pkey]
            return result

        return d.addBoth(unstage)
