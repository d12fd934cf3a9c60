# -*- test-case-name: tests.unit.test_locations -*-
"""Locations: which data store holds a piece of an object.

An object record's ``location`` is a list of pieces ``{key, start, size}``;
with ``S3DATA=multiple`` each piece also names its location (``loc``), and
this registry maps location names (locationConfig.json) to IDataStore
instances.  A piece without ``loc`` (records written before, or without
S3DATA=multiple) is in the default store, so old records keep working.

Local types share one store each (every ``file`` location is the one
FileDataStore under S3DATAPATH, every ``mem`` location the one memory
store, as upstream); ``aws_s3`` and ``azure`` locations get a client each.
Metadata never leaves this server: only bytes go to remote locations.
"""
from __future__ import annotations

import time
from typing import Any, Mapping

from twisted.internet import defer
from twisted.logger import Logger

from cloudserver.data import inline
from cloudserver.data.write_context import WriteContext

log = Logger(namespace="cloudserver.data.locations")

#: How long a deep healthcheck result is reused.
HEALTH_CACHE_SECONDS = 5.0
REMOTE_TYPES = ("aws_s3", "azure")


class UnknownLocation(LookupError):
    """A piece names a location that is not configured (any more)."""


class Locations:
    """Location name -> data store, and the piece-level operations on them."""

    def __init__(self, default: Any, stores: Mapping[str, Any] | None = None,
                 types: Mapping[str, str] | None = None, *, multiple: bool = False,
                 clock: Any = None):
        self.default = default
        self.stores = dict(stores or {})
        self.types = dict(types or {})
        self.multiple = multiple
        self._clock = clock
        self._health: tuple[float, dict] | None = None
        self._health_running: defer.Deferred | None = None
        #: objects up to this size are kept in their metadata record (0: none)
        self.inline_max = 0

    @classmethod
    def single(cls, store: Any) -> "Locations":
        """Every location is the one store (S3DATA unset): today's behaviour."""
        return cls(store)

    # -- stores ------------------------------------------------------------

    def store(self, name: str | None) -> Any:
        if name is None or not self.multiple:
            return self.default
        try:
            return self.stores[name]
        except KeyError:
            raise UnknownLocation(name) from None

    def is_remote(self, name: str | None) -> bool:
        return self.multiple and self.types.get(name or "") in REMOTE_TYPES

    def piece(self, name: str | None, key: str, start: int, size: int, **extra) -> dict:
        """A piece record; ``loc`` only when locations are in use."""
        out = {"key": key, "start": start, "size": size}
        if self.multiple and name is not None:
            out["loc"] = name
        out.update(extra)
        return out

    def create_writer(self, name: str | None, context: WriteContext | None = None,
                      inline_size: int | None = None):
        """A writer for a new piece; an InlineWriter when the piece is local
        and ``inline_size`` (its declared size) is within ``inline_max``."""
        if inline_size is not None and 0 < inline_size <= self.inline_max and \
                not self.is_remote(name):
            return inline.InlineWriter(inline_size)
        store = self.store(name)
        if self.is_remote(name):
            return store.create_writer(context)
        return store.create_writer()

    def producer(self, piece: dict, offset: int, length: int):
        if piece.get("inline"):
            return inline.producer(piece, offset, length)
        offset += piece.get("blobStart", 0)
        return self.store(piece.get("loc")).producer(piece["key"], offset, length)

    def delete(self, piece: dict) -> defer.Deferred:
        """Remove a piece's data.  A part staged in a remote multipart upload
        (``remotePart``) is not an object of its own: the remote complete or
        abort disposes of it."""
        if piece.get("remotePart") or piece.get("inline"):
            # inline bytes go with their record (cloudserver.metadata.inline)
            return defer.succeed(None)
        return defer.maybeDeferred(self.store(piece.get("loc")).delete, piece["key"])

    @staticmethod
    def piece_id(piece: dict) -> tuple[str | None, str]:
        """What identifies a piece's data (remote names repeat across locations)."""
        return piece.get("loc"), piece["key"]

    # -- remote multipart uploads ------------------------------------------

    def initiate_mpu(self, name: str | None, context: WriteContext) -> defer.Deferred:
        """The remote upload id (aws_s3), or None (local, azure)."""
        if not self.is_remote(name):
            return defer.succeed(None)
        return defer.maybeDeferred(self.store(name).initiate_mpu, context)

    def complete_mpu(self, name: str, context: WriteContext, remote_id: str | None,
                     parts: list[tuple[int, str]]) -> defer.Deferred:
        """Fire with the data key of the assembled remote object."""
        return defer.maybeDeferred(self.store(name).complete_mpu, context, remote_id, parts)

    def abort_mpu(self, name: str, context: WriteContext,
                  remote_id: str | None) -> defer.Deferred:
        return defer.maybeDeferred(self.store(name).abort_mpu, context, remote_id)

    # -- health --------------------------------------------------------------

    def healthcheck(self) -> defer.Deferred:
        """{location: {"code": 200|503, "message": ...}} for every location,
        reused for HEALTH_CACHE_SECONDS (remote checks cost a request each)."""
        now = self._clock.seconds() if self._clock is not None else time.monotonic()
        if self._health is not None and now - self._health[0] < HEALTH_CACHE_SECONDS:
            return defer.succeed(self._health[1])
        if self._health_running is None:
            d = defer.Deferred.fromCoroutine(self._check_all(now))
            if d.called:
                return d
            self._health_running = d
            d.addBoth(self._checked)
        out: defer.Deferred = defer.Deferred()
        self._health_running.addBoth(lambda r: (out.callback(r), r)[1])
        return out

    def _checked(self, result):
        self._health_running = None
        return result

    async def _check_all(self, now: float) -> dict:
        names = sorted(self.stores) if self.multiple else []
        results: dict[str, dict] = {}
        checks = []
        for name in names:
            store = self.stores[name]
            if hasattr(store, "healthcheck"):
                checks.append((name, defer.maybeDeferred(store.healthcheck)))
            else:
                results[name] = {"code": 200, "message": "OK"}
        for name, d in checks:
            try:
                results[name] = await d
            except Exception as e:  # noqa: BLE001 - reported, not raised
                results[name] = {"code": 503, "message": str(e) or type(e).__name__}
        self._health = (now, results)
        return results

    def close(self) -> defer.Deferred:
        """Close the stores made for locations; the default store is its
        creator's to close."""
        stores = [s for s in self.stores.values() if s is not self.default]
        seen: list = []
        ds = []
        for store in stores:
            if store is None or any(store is s for s in seen):
                continue
            seen.append(store)
            result = store.close()
            if isinstance(result, defer.Deferred):
                ds.append(result)
        return defer.DeferredList(ds, consumeErrors=True)


def build_locations(config, reactor, default_store, defer_to_thread, *,
                    http=None, env: Mapping[str, str] | None = None) -> Locations:
    """The registry for ``config``: a single store unless S3DATA=multiple.

    ``default_store`` is the S3BACKEND store (file or mem); the other local
    type gets its own shared store.  Remote clients share one treq client
    with a persistent connection pool (built here unless ``http`` is given).
    Raises ConfigError (naming the location) for unusable credentials.
    """
    if not config.multiple_data:
        return Locations.single(default_store)
    from cloudserver.data.file import FileDataStore
    from cloudserver.data.memory import MemoryDataStore

    local: dict[str, Any] = {config.backend: default_store}
    stores, types = {}, {}
    for name, loc in config.locations.items():
        kind = loc["type"]
        types[name] = kind
        if kind in ("file", "mem"):
            if kind not in local:
                local[kind] = (FileDataStore(config.data_path, reactor, defer_to_thread)
                               if kind == "file" else MemoryDataStore())
            stores[name] = local[kind]
            continue
        if http is None:
            http = make_http_client(reactor)
        if kind == "aws_s3":
            from cloudserver.data.aws import AwsS3DataStore
            stores[name] = AwsS3DataStore.from_details(name, loc["details"], http=http,
                                                       clock=reactor, env=env)
        elif kind == "azure":
            from cloudserver.data.azure import AzureDataStore
            stores[name] = AzureDataStore.from_details(name, loc["details"], http=http,
                                                       clock=reactor)
    return Locations(default_store, stores, types, multiple=True, clock=reactor)


def make_http_client(reactor):
    """The twisted.web IAgent remote stores send through (the agent treq
    wraps, used directly: its ``request(method, uri, headers, producer)``
    streams an IBodyProducer up and hands back an unbuffered response, and
    the URI is sent byte for byte as signed).  A persistent pool reuses
    connections (TLS handshakes are the expensive part)."""
    from twisted.web.client import Agent, HTTPConnectionPool

    pool = HTTPConnectionPool(reactor, persistent=True)
    pool.maxPersistentPerHost = 16
    pool.cachedConnectionTimeout = 60
    return Agent(reactor, pool=pool)
