# -*- test-case-name: tests.unit.test_replication_service -*-
"""Copying one version to its destination: a remote location, or a replica
in a bucket of this server.

*Remote* (``aws_s3``, ``azure``): the version's bytes, as a client would
read them (decrypted with the KMS of the process when encrypted), stream to
the location's bucket under the name the location gives
``<source bucket>/<key>`` (``key`` with bucketMatch), with its content type,
content headers and user metadata; over ``multipartThreshold`` as a
multipart upload (S3 parts, Azure blocks) of ``partSize`` parts.  A delete
marker is a DELETE of that name (a delete marker in a versioned remote
bucket).  An encrypted version goes only over https, and only where the
process holds the KMS (``all``; a ``--mode dmd`` never sees keys): the
location's own ``serverSideEncryption`` decides how the remote stores it.

*Local* (no StorageClass, STANDARD, or a ``file``/``mem`` location): the
pieces are copied as stored (an encrypted piece keeps its cipher record,
so the replica is encrypted as the source) into the destination bucket's
data location (or the named one), and the replica is written with the
source's version id and ``replicationStatus: REPLICA``.  A replica already
there (a copy repeated after a crash) is not copied again.
"""
from __future__ import annotations

import uuid
from urllib.parse import urlencode
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from twisted.internet import defer

from cloudserver.data import remote
from cloudserver.data.producers import ChainedProducer
from cloudserver.data.write_context import PartTarget, WriteContext
from cloudserver.lifecycle.transition import copy_piece, stream_into
from cloudserver.metadata import errors as md_errors
from cloudserver.metadata.schema import VERSION_FIELDS
from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.replication.rules import REPLICA

REMOTE_TYPES = ("aws_s3", "azure")
LOCK_FIELDS = (Obj.LOCK_MODE, Obj.RETAIN_UNTIL, Obj.LEGAL_HOLD)
#: (record, start, length) -> the producers of those bytes, in the clear
Reader = Callable[[dict, int, int], Awaitable[list]]


class ReplicationError(Exception):
    """A version that cannot be replicated as things are (retried later)."""


def _tags(record: dict) -> dict:
    tags = record.get(Obj.TAGS) or {}
    return dict(tags) if isinstance(tags, list) else dict(tags)


def _context(bucket: str, key: str, record: dict, size: int) -> WriteContext:
    tags = _tags(record)
    return WriteContext(bucket=bucket, key=key, size=size,
                        content_type=record.get(Obj.CONTENT_TYPE),
                        metadata=record.get(Obj.METADATA) or {},
                        headers=record.get(Obj.HEADERS) or {},
                        tagging=urlencode(sorted(tags.items())) if tags else None)


def _one(producers: list) -> Any:
    return producers[0] if len(producers) == 1 else ChainedProducer(producers)


@attrs.define
class Transfer:
    """Copies versions for the replicator (one per process)."""

    metadata: Any
    locations: Any
    #: location name -> type (locationConfig.json)
    types: dict
    reader: Reader
    multipart_threshold: int = 16 * 1024 * 1024
    part_size: int = 8 * 1024 * 1024
    #: the KMS of this process, None where it has none (--mode dmd)
    kms: Any = None

    def is_remote(self, item: dict) -> bool:
        return self.types.get(item.get("storageClass") or "") in REMOTE_TYPES

    async def copy(self, item: dict, record: dict) -> None:
        if self.is_remote(item):
            await self.to_remote(item["storageClass"], item, record)
        else:
            await self.to_bucket(item, record)

    # -- remote locations ------------------------------------------------------

    def _read(self, record: dict, start: int, length: int) -> defer.Deferred:
        async def producer():
            return _one(await self.reader(record, start, length))
        return defer.Deferred.fromCoroutine(producer())

    def _check_remote(self, location: str, record: dict) -> None:
        if not record.get(Obj.SSE):
            return
        if record[Obj.SSE].get("customerAlgorithm"):
            raise ReplicationError("an SSE-C object cannot be read without its key")
        if self.kms is None:
            raise ReplicationError("an encrypted object needs the KMS, which this process "
                                   "does not hold (--mode dmd)")
        store = self.locations.store(location)
        if not store.url(None).startswith("https://"):
            raise ReplicationError(f"an encrypted object is not sent in the clear to "
                                   f"{location} over http")

    async def to_remote(self, location: str, item: dict, record: dict) -> None:
        bucket, key = item["bucket"], item["key"]
        store = self.locations.store(location)
        if record.get(Obj.IS_DELETE_MARKER):
            name = store.remote_name(bucket, key)
            await defer.maybeDeferred(store.delete, remote.encode_key(name))
            return
        self._check_remote(location, record)
        size = record[Obj.SIZE]
        context = _context(bucket, key, record, size)
        if size <= self.multipart_threshold:
            writer = self.locations.create_writer(location, context)
            await stream_into(lambda: self._read(record, 0, size), writer)
            return
        await self._multipart(location, context, record, size)

    async def _multipart(self, location: str, context: WriteContext, record: dict,
                         size: int) -> None:
        remote_id = await self.locations.initiate_mpu(location, context)
        ours = uuid.uuid4().hex
        parts: list[tuple[int, str]] = []
        try:
            for number, start in enumerate(range(0, size, self.part_size), 1):
                n = min(self.part_size, size - start)
                part = attrs.evolve(context, size=n, part=PartTarget(ours, remote_id, number))
                writer = self.locations.create_writer(location, part)
                parts.append((number, await stream_into(
                    lambda start=start, n=n: self._read(record, start, n), writer)))
            await self.locations.complete_mpu(location, context, remote_id, parts)
        except BaseException:
            await defer.maybeDeferred(self.locations.abort_mpu, location, context,
                                      remote_id).addErrback(lambda _: None)
            raise

    # -- a bucket of this server -------------------------------------------------

    async def to_bucket(self, item: dict, record: dict) -> None:
        dest, key, vid = item["dest"], item["key"], record.get(Obj.VERSION_ID)
        try:
            attrs_ = await self.metadata.get_bucket(dest)
        except md_errors.NoSuchBucket:
            raise ReplicationError(f"the destination bucket {dest} does not exist") from None
        try:
            there = await self.metadata.get_object(dest, key, {"versionId": vid})
        except (md_errors.NoSuchKey, md_errors.NoSuchVersion):
            there = None
        if there is not None and there.get(Obj.ETAG) == record.get(Obj.ETAG):
            # a copy done before a crash lost its acknowledgement, or a
            # change of the source's tags or ACL: the replica follows them
            synced = {Obj.TAGS: record.get(Obj.TAGS), Obj.ACL: record.get(Obj.ACL)}
            if any(there.get(k) != v for k, v in synced.items()):
                updated = {**there, **{k: v for k, v in synced.items() if v is not None}}
                for k, v in synced.items():
                    if v is None:
                        updated.pop(k, None)
                await self.metadata.put_object(dest, key, updated, {"versionId": vid})
            return
        dropped = VERSION_FIELDS if attrs_.get(Bkt.OBJECT_LOCK_ENABLED) else \
            VERSION_FIELDS + LOCK_FIELDS  # a lock only where the bucket can hold one
        replica = {k: v for k, v in record.items() if k not in dropped}
        replica[Obj.REPLICATION_STATUS] = REPLICA
        if record.get(Obj.IS_DELETE_MARKER):
            replica[Obj.IS_DELETE_MARKER] = True
        target = item.get("storageClass") or attrs_.get(Bkt.LOCATION)
        if not self.locations.multiple:
            target = None
        pieces: list[dict] = []
        try:
            for piece in record.get(Obj.LOCATION) or ():
                pieces.append(await copy_piece(self.locations, target, dest, record, piece))
            replica[Obj.LOCATION] = pieces
            await self.metadata.put_object(dest, key, replica, {"versionId": vid})
        except BaseException:
            for piece in pieces:
                await defer.maybeDeferred(self.locations.delete, piece).addErrback(
                    lambda _: None)
            raise
