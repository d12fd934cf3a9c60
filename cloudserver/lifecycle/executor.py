# -*- test-case-name: tests.unit.test_lifecycle_executor -*-
"""The lifecycle executor: walks the buckets that have rules and applies them.

It runs in the process that owns the metadata (``--mode all`` or ``dmd``,
never an ``s3`` front: N fronts would expire everything N times) as
``LifecycleService``.  One walk visits, in name order, every bucket with
enabled rules: first its versions (a DelimiterVersions listing of
``batchSize`` entries per step; a key's versions are decided together,
cloudserver.lifecycle.decide), then its multipart uploads.

Resumable: after each step the position (walk start, bucket, phase, key
marker of the last key fully decided) is written to the metadata KV under
``keys.LIFECYCLE_CURSOR``; a restarted process continues the walk there
instead of starting over, and the walk's start time stays the one of its
first step (so "written after the evaluation began" keeps its meaning).

Paced: after each step the walk waits ``examined / rate`` seconds on the
injected clock (at least one reactor turn), so a bucket of millions of
keys never holds the reactor and requests keep their share.  Listings and
writes go through the metadata service (LevelDB batches in its thread pool,
as for requests).

Each action re-reads the version right before acting and gives up when it
changed (a write that raced the walk wins); data is freed only after the
metadata that referred to it is gone.  Every action is logged and counted
in ``stats``.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any

from twisted.internet import defer, task
from twisted.logger import Logger

from cloudserver.lifecycle import decide
from cloudserver.lifecycle.decide import Action, Clock
from cloudserver.lifecycle.rules import enabled
from cloudserver.lifecycle.settings import LifecycleSettings
from cloudserver.lifecycle.transition import transition
from cloudserver.metadata import errors as md_errors
from cloudserver.metadata import keys
from cloudserver.metadata.schema import MD_VERSION, VERSION_FIELD
from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.metadata.schema import PartRecord as Part
from cloudserver.metadata.schema import UploadRecord as Upl
from cloudserver.metadata.uploads import NoSuchUpload
from cloudserver.metadata.versioning import freed_records

log = Logger(namespace="cloudserver.lifecycle")

VERSIONS = "versions"
UPLOADS = "uploads"


def write_options(bucket: Mapping[str, Any]) -> dict | None:
    """The metadata options of a new delete marker (as the S3 front's DELETE)."""
    state = bucket.get(Bkt.VERSIONING)
    if state == "Enabled":
        return {"versioning": True}
    if state == "Suspended":
        return {"versionId": ""}
    return None


class LifecycleExecutor:
    """Walks and applies; ``run_walk`` is one whole (or resumed) walk."""

    def __init__(self, metadata: Any, kv: Any, locations: Any, clock: Any,
                 settings: LifecycleSettings, location_names: Any = ()):
        """``metadata``: the MetadataService; ``kv``: its KV (the cursor lives
        there); ``locations``: cloudserver.data.locations.Locations (frees and
        moves data); ``clock``: IReactorTime; ``location_names``: the
        locationConfig.json names a StorageClass may name."""
        self.metadata = metadata
        self.kv = kv
        self.locations = locations
        self.clock = clock
        self.settings = settings
        self.location_names = frozenset(location_names)
        self.stats: Counter[str] = Counter()
        self._unsupported_logged: set[str] = set()
        self.stopping = False

    # -- the cursor ----------------------------------------------------------

    def load_cursor(self) -> dict | None:
        raw = self.kv.get(keys.LIFECYCLE_CURSOR)
        return None if raw is None else json.loads(raw)

    def _save_cursor(self, cursor: Mapping[str, Any] | None) -> defer.Deferred:
        if cursor is None:
            return self.kv.write([], [keys.LIFECYCLE_CURSOR])
        return self.kv.write([(keys.LIFECYCLE_CURSOR, json.dumps(cursor).encode())])

    # -- the walk --------------------------------------------------------------

    async def run_walk(self) -> bool:
        """Walk every bucket with rules from the stored cursor (or from the
        start); True when the walk finished, False when stopped midway."""
        cursor = self.load_cursor()
        if cursor is None:
            cursor = {"started": self.clock.seconds(), "bucket": None, "phase": VERSIONS,
                      "marker": None}
            log.debug("lifecycle: walk started")
        else:
            log.info("lifecycle: walk resumed at bucket {bucket!r} ({phase}, after {marker!r})",
                     bucket=cursor["bucket"], phase=cursor["phase"], marker=cursor["marker"])
        buckets = await self._buckets_from(cursor["bucket"])
        for name, attrs in buckets:
            if cursor["bucket"] != name:
                cursor = {**cursor, "bucket": name, "phase": VERSIONS, "marker": None}
            if not await self._walk_bucket(name, attrs, cursor):
                return False
        await self._save_cursor(None)
        # cumulative counts; at info only when the walk had buckets to visit
        emit = log.info if buckets else log.debug
        emit("lifecycle: walk done ({stats})", stats=dict(self.stats))
        return True

    async def _buckets_from(self, first: str | None) -> list:
        buckets = await self.metadata.list_buckets()
        return sorted((name, attrs) for name, attrs in buckets
                      if enabled(attrs.get(Bkt.LIFECYCLE)) and (first is None or name >= first))

    async def _walk_bucket(self, name: str, attrs: Mapping[str, Any], cursor: dict) -> bool:
        steps = {VERSIONS: self._versions_step, UPLOADS: self._uploads_step}
        while True:
            if self.stopping:
                return False
            try:
                attrs = await self.metadata.get_bucket(name)
            except md_errors.NoSuchBucket:
                return True
            t = Clock(self.clock.seconds(), cursor["started"], self.settings.day)
            try:
                examined, marker, done = await steps[cursor["phase"]](name, attrs, cursor, t)
            except md_errors.NoSuchBucket:
                return True
            self.stats["examined"] += examined
            if done and cursor["phase"] == VERSIONS:
                cursor.update(phase=UPLOADS, marker=None)
            elif done:
                return True
            else:
                cursor["marker"] = marker
            await self._save_cursor(cursor)
            await self._pace(examined)

    async def _pace(self, examined: int) -> None:
        rate = self.settings.rate
        delay = examined / rate if rate > 0 else 0
        await task.deferLater(self.clock, delay, lambda: None)

    # -- versions ----------------------------------------------------------------

    async def _versions_step(self, bucket: str, attrs: Mapping[str, Any], cursor: dict,
                             t: Clock) -> tuple[int, Any, bool]:
        """One listing page: (entries examined, marker to resume at, done).

        The marker is the last key whose versions were all seen: a key cut
        by the page end is listed again, whole, by the next step."""
        params: dict[str, Any] = {"listingType": "DelimiterVersions",
                                  "maxKeys": self.settings.batch_size}
        if cursor["marker"] is not None:
            params["keyMarker"] = cursor["marker"]
        page = await self.metadata.list_objects(bucket, params)
        entries = page["Versions"]
        groups = _group(entries)
        truncated = page["IsTruncated"]
        if truncated and len(groups) > 1:
            groups.pop()  # may be cut: next step lists it whole
        elif truncated:
            groups = [await self._whole_key(bucket, groups[0][0])] if groups else []
        rules = attrs.get(Bkt.LIFECYCLE)
        versioned = attrs.get(Bkt.VERSIONING) in ("Enabled", "Suspended")
        examined = 0
        for key, versions in groups:
            examined += len(versions)
            for action in decide.decide_key(rules, key, versions, t, versioned,
                                            self._is_location):
                await self._apply(bucket, attrs, action, t)
        done = not truncated
        return examined, groups[-1][0] if groups else cursor["marker"], done

    async def _whole_key(self, bucket: str, key: str) -> tuple[str, list]:
        """Every version of one key (it has more than a page of them)."""
        versions: list = []
        params: dict[str, Any] = {"listingType": "DelimiterVersions", "prefix": key,
                                  "maxKeys": self.settings.batch_size}
        while True:
            page = await self.metadata.list_objects(bucket, params)
            versions.extend(v for v in page["Versions"] if v["key"] == key)
            last = page["Versions"][-1] if page["Versions"] else None
            if not page["IsTruncated"] or last is None or last["key"] != key:
                return key, versions
            params.update(keyMarker=page["NextKeyMarker"],
                          versionIdMarker=page["NextVersionIdMarker"])

    def _is_location(self, name: str) -> bool:
        return name in self.location_names

    # -- uploads -----------------------------------------------------------------

    async def _uploads_step(self, bucket: str, attrs: Mapping[str, Any], cursor: dict,
                            t: Clock) -> tuple[int, Any, bool]:
        params: dict[str, Any] = {"maxUploads": self.settings.batch_size}
        if cursor["marker"] is not None:
            params["keyMarker"], params["uploadIdMarker"] = cursor["marker"]
        page = await self.metadata.list_uploads(bucket, params)
        uploads = page["Uploads"]
        for upload in uploads:
            action = decide.decide_upload(attrs.get(Bkt.LIFECYCLE), upload, t)
            if action is not None:
                await self._apply(bucket, attrs, action, t)
        marker = ([uploads[-1][Upl.KEY], uploads[-1][Upl.UPLOAD_ID]] if uploads
                  else cursor["marker"])
        return len(uploads), marker, not page["IsTruncated"]

    # -- actions -----------------------------------------------------------------

    async def _apply(self, bucket: str, attrs: Mapping[str, Any], action: Action,
                     t: Clock) -> None:
        appliers = {
            decide.EXPIRE: self._expire, decide.DELETE_MARKER: self._delete_version,
            decide.NONCURRENT: self._delete_version, decide.ABORT: self._abort,
            decide.TRANSITION: self._transition,
        }
        if action.kind == decide.LOCKED:
            self.stats["locked"] += 1
            log.debug("lifecycle: {bucket}/{key} {vid} locked, kept (rule {rule})",
                      bucket=bucket, key=action.key, vid=action.version_id,
                      rule=action.rule_id)
            return
        if action.kind == decide.UNSUPPORTED:
            self._unsupported(bucket, action)
            return
        try:
            done = await appliers[action.kind](bucket, attrs, action, t)
        except (md_errors.NoSuchKey, md_errors.NoSuchVersion, NoSuchUpload):
            done = False
        except md_errors.ObjectLocked:
            self.stats["locked"] += 1
            return
        except Exception:
            self.stats["errors"] += 1
            log.failure("lifecycle: {kind} of {bucket}/{key} {vid} failed", kind=action.kind,
                        bucket=bucket, key=action.key, vid=action.version_id)
            return
        if not done:
            self.stats["raced"] += 1
            return
        self.stats[action.kind] += 1
        log.info("lifecycle: {kind} {bucket}/{key} {vid} (rule {rule}{to})", kind=action.kind,
                 bucket=bucket, key=action.key, vid=action.version_id, rule=action.rule_id,
                 to=f", to {action.storage_class}" if action.storage_class else "")

    def _unsupported(self, bucket: str, action: Action) -> None:
        self.stats["unsupported"] += 1
        if action.storage_class not in self._unsupported_logged:
            self._unsupported_logged.add(action.storage_class)
            log.warn("lifecycle: transitions to storage class {cls} are not done (not a "
                     "location of locationConfig.json); {bucket}/{key} left where it is",
                     cls=action.storage_class, bucket=bucket, key=action.key)

    async def _unchanged(self, bucket: str, action: Action) -> Mapping[str, Any] | None:
        """The version as it is now, if it is still the one evaluated."""
        options = {"versionId": action.version_id} if action.version_id else None
        try:
            now = await self.metadata.get_object(bucket, action.key, options)
        except (md_errors.NoSuchKey, md_errors.NoSuchVersion):
            return None
        for field in (Obj.LAST_MODIFIED, Obj.ETAG, Obj.VERSION_ID, Obj.IS_DELETE_MARKER):
            if now.get(field) != action.record.get(field):
                return None
        return now

    async def _expire(self, bucket, attrs, action: Action, t: Clock) -> bool:
        current = await self._latest(bucket, action.key)
        if current is None or any(current.get(f) != action.record.get(f) for f in (
                Obj.LAST_MODIFIED, Obj.ETAG, Obj.VERSION_ID)):
            return False
        options = write_options(attrs)
        if options is None:
            result = await self.metadata.delete_object(bucket, action.key)
        else:
            marker = {VERSION_FIELD: MD_VERSION, Obj.KEY: action.key,
                      Obj.IS_DELETE_MARKER: True, Obj.SIZE: 0, Obj.ETAG: "",
                      Obj.LAST_MODIFIED: self.clock.seconds(), Obj.LOCATION: [],
                      Obj.OWNER: attrs.get(Bkt.OWNER), Obj.OWNER_NAME: attrs.get(Bkt.OWNER_NAME)}
            result = await self.metadata.put_object(bucket, action.key, marker, options)
        await self._free_records(freed_records(result))
        return True

    async def _latest(self, bucket: str, key: str) -> Mapping[str, Any] | None:
        try:
            return await self.metadata.get_object(bucket, key)
        except md_errors.NoSuchKey:
            return None

    async def _delete_version(self, bucket, attrs, action: Action, t: Clock) -> bool:
        if await self._unchanged(bucket, action) is None:
            return False
        result = await self.metadata.delete_object(
            bucket, action.key, {"versionId": action.version_id or "null"})
        await self._free_records(freed_records(result))
        return True

    async def _abort(self, bucket, attrs, action: Action, t: Clock) -> bool:
        upload = action.record
        parts = await self.metadata.abort_upload(bucket, action.key, action.version_id)
        for part in parts:
            await self._free(part.get(Part.LOCATION) or [])
        where = upload.get(Upl.DATA_LOCATION)
        if self.locations.is_remote(where):
            from cloudserver.data.write_context import WriteContext
            try:
                await self.locations.abort_mpu(where, WriteContext(bucket, action.key),
                                               upload.get(Upl.DATA_UPLOAD_ID))
            except Exception:  # the remote's own lifecycle expires it
                log.warn("lifecycle: remote abort of {key} at {loc} failed",
                         key=action.key, loc=where)
        return True

    async def _transition(self, bucket, attrs, action: Action, t: Clock) -> bool:
        return await transition(self, bucket, action)

    async def _free_records(self, records) -> None:
        for record in records:
            await self._free(record.get(Obj.LOCATION) or [])

    async def _free(self, pieces) -> None:
        """Remove data nothing refers to any more (best effort: an orphan is
        logged, not retried); a blob several pieces share, once."""
        seen = set()
        for piece in pieces:
            blob = self.locations.piece_id(piece)
            if blob in seen:
                continue
            seen.add(blob)
            try:
                await self.locations.delete(piece)
            except Exception as e:
                log.warn("lifecycle: freeing {key} failed: {e}", key=piece.get("key"), e=e)


def _group(entries) -> list[tuple[str, list]]:
    """Listing entries by key, in order: [(key, [entries newest first])]."""
    groups: list[tuple[str, list]] = []
    for entry in entries:
        if groups and groups[-1][0] == entry["key"]:
            groups[-1][1].append(entry)
        else:
            groups.append((entry["key"], [entry]))
    return groups
