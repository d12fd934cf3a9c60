# -*- test-case-name: tests.unit.test_metadata_versioning -*-
"""Versioned object writes as plans: what to put and delete, and what to report.

The CloudServer docs ("Implementation of Bucket Versioning in Metadata")
keep one master record per object (the latest version) under ``name`` and
each version under ``name NUL versionId``; the metadata engine takes
versioning *options* on put / get / delete.  This module turns one call
and the object's current state into a ``Plan``: the new master (or its
removal), the version keys to put or delete, and the result the S3 layer
needs.  The service applies a plan as ONE atomic KV batch, computed
against its view of the object that includes writes still in flight, so
calls on one object behave as if run one after the other in call order.

Options (Arsenal's MetadataWrapper names)::

    None / {}                 not handled here: the plain master overwrite/delete
    {"versioning": True}      PUT: a new version, and the master becomes it
    {"versionId": ""}         PUT: a new null version, in the master only
    {"versionId": vid}        PUT: create/update version vid (+ master if latest)
                              GET: that version   DELETE: that version
    {"versionId": "null"}     the null version, found as the docs' "Null Version
                              Mapping" says (the master if it is null, else the
                              master's nullVersionId)

"versionId" wins over "versioning" when both are set, as the docs say.

Where the docs have the S3 layer issue two metadata calls (case 1:
DELETE the old null version then PUT versionId ''; case 2: PUT the null
master under its own version key then PUT versioning; case 3: DELETE the
master's nullVersionId then PUT versionId ''), the single call does both
steps in one batch, and sets the record fields itself:

* ``versioning: True`` keeps a null master that is stored in the master
  only (``isNull``, or no ``versionId`` at all: an object written before
  versioning was configured, which gets the non-versioned id) as a
  version of its own, and records its id in the new version's
  ``nullVersionId`` (or carries the old master's ``nullVersionId`` on);
* ``versionId: ""`` removes the previous null version (the null master,
  or the version the master's ``nullVersionId`` names) and reports its
  record in ``deleted`` so that the S3 layer frees its data.

Issuing the docs' two calls instead still gives the same end state (the
second step finds nothing left to do).

Record fields used: ``versionId`` (set by the service on every versioned
write), ``isNull``, ``nullVersionId``, ``isDeleteMarker`` (set by the
caller; a delete marker is written with put_object like any version),
``isPHD`` (a placeholder master; see below).

Placeholders.  Upstream marks a master whose version was deleted with an
``isPHD`` placeholder and repairs it later by listing.  Here the delete
and the repair are one batch (the next version becomes the master, or the
master goes when no version is left), so the service never writes a
placeholder; it still reads one (from an imported store) as "the latest
version", and any write to the object replaces it.

Data ownership.  A version's record and the master that copies it share
one data location, so a record's data is freed only when no key holds its
version id any more.  ``result["deleted"]`` lists exactly those records
(delete markers included: they have no data); ``result["previous"]`` is
the master before the call, for information only.  A version whose
``nullVersionId`` names a deleted null version keeps the stale id (as
upstream): "null" then resolves to NoSuchVersion.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

import attrs

from cloudserver.metadata.errors import (
    InvalidArgument,
    NoSuchKey,
    NoSuchVersion,
    NotImplementedOption,
)
from cloudserver.metadata.keys import join_version, versions_range
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.metadata.version_id import NULL_VERSION_ID

Record = dict[str, Any]
# Options upstream has that this service does not implement.
_UNSUPPORTED = ("repairMaster", "versionSpecific")


class ObjectView(Protocol):
    """The current state of one object, including writes still in flight."""

    def master(self) -> Record | None:
        """The raw master record (possibly a placeholder), or None."""

    def version(self, vid: str) -> Record | None:
        """The record stored under ``name NUL vid``, or None."""

    def latest_version(self, exclude: str | None = None) -> tuple[str, Record] | None:
        """The newest version key's (vid, record), skipping version ``exclude``."""


class _Keep:
    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()


@attrs.define
class Plan:
    """One atomic change of an object: master (KEEP, None = delete, or a record)
    and version keys (vid -> record, None = delete); ``result`` for the caller."""

    master: Any = KEEP
    versions: dict[str, Record | None] = attrs.Factory(dict)
    result: Record = attrs.Factory(dict)


@attrs.frozen
class Options:
    """Parsed versioning options; ``version_id`` None means "not set"."""

    versioning: bool = False
    version_id: str | None = None
    #: delete: the front authorized s3:BypassGovernanceRetention (object_lock)
    bypass_governance: bool = False

    @property
    def plain(self) -> bool:
        """No versioning at all: the non-versioned master overwrite / delete."""
        return not self.versioning and self.version_id is None


def parse_options(options: Mapping[str, Any] | None) -> Options:
    if not options:
        return Options()
    if not isinstance(options, Mapping):
        raise InvalidArgument("options must be a mapping")
    for name in _UNSUPPORTED:
        if options.get(name) not in (None, False):
            raise NotImplementedOption(f"versioning option {name!r} is not supported")
    vid = options.get("versionId")
    if vid is not None and (not isinstance(vid, str) or "\x00" in vid):
        raise InvalidArgument("versionId must be a string", message="Invalid version id specified")
    bypass = options.get("bypassGovernanceRetention", False)
    if not isinstance(bypass, bool):
        raise InvalidArgument("bypassGovernanceRetention must be a boolean")
    return Options(versioning=bool(options.get("versioning")), version_id=vid,
                   bypass_governance=bypass)


# -- record predicates --------------------------------------------------------

def is_phd(md: Mapping[str, Any] | None) -> bool:
    return bool(md) and bool(md.get(Obj.IS_PHD))


def is_null(md: Mapping[str, Any]) -> bool:
    """The docs' test for a null version: isNull, or no versionId at all."""
    return bool(md.get(Obj.IS_NULL)) or md.get(Obj.VERSION_ID) is None


def is_delete_marker(md: Mapping[str, Any] | None) -> bool:
    return bool(md) and bool(md.get(Obj.IS_DELETE_MARKER))


def effective_master(view: ObjectView) -> Record | None:
    """The latest version as a plain GET sees it: a placeholder is resolved."""
    master = view.master()
    if not is_phd(master):
        return master
    latest = view.latest_version()
    return latest[1] if latest is not None else None


def resolve_null(view: ObjectView, name: str) -> str | None:
    """The version id of the null version (None: the id-less master); NoSuchVersion."""
    master = effective_master(view)
    if master is not None:
        if is_null(master):
            return master.get(Obj.VERSION_ID)
        if master.get(Obj.NULL_VERSION_ID):
            return master[Obj.NULL_VERSION_ID]
    raise NoSuchVersion(f"{name}?versionId=null")


def _result(vid: str | None, record: Record | None, previous: Record | None,
            deleted: list[Record]) -> Record:
    return {"versionId": vid, "isNull": record is not None and is_null(record),
            "isDeleteMarker": is_delete_marker(record), "previous": previous,
            "deleted": deleted}


# -- GET ----------------------------------------------------------------------

def plan_get(view: ObjectView, name: str, opts: Options) -> Record:
    """The record a GET with ``opts`` returns; NoSuchKey / NoSuchVersion."""
    vid = opts.version_id
    if not vid:
        master = effective_master(view)
        if master is None:
            raise NoSuchKey(name)
        return master
    if vid == NULL_VERSION_ID:
        vid = resolve_null(view, name)
        if vid is None:
            return effective_master(view)
    record = view.version(vid)
    if record is not None:
        return record
    master = effective_master(view)
    if master is not None and master.get(Obj.VERSION_ID) == vid:
        return master  # a null version stored in the master only
    raise NoSuchVersion(f"{name}?versionId={vid}")


# -- PUT ----------------------------------------------------------------------

def plan_put(view: ObjectView, name: str, md: Mapping[str, Any], opts: Options,
             new_version_id: Callable[[], str], inf_version_id: str) -> Plan:
    """Plan a versioned put (``opts`` not plain)."""
    if opts.version_id == "":
        return _put_null(view, md, new_version_id(), inf_version_id)
    if opts.version_id is not None:
        return _put_version(view, name, md, opts.version_id, inf_version_id)
    return _put_new_version(view, md, new_version_id(), inf_version_id)


def _keep_replaced(view: ObjectView, plan: Plan, master: Record | None,
                   inf_version_id: str, deleted: list[Record]) -> str | None:
    """Make sure ``master``, about to leave the master key, lives on as a version.

    Returns the version id it is (now) stored under, None if no master.
    """
    if master is None:
        return None
    vid = master.get(Obj.VERSION_ID)
    if vid is None:
        # Written before versioning was configured: the non-versioned id.
        vid = inf_version_id
        stale = view.version(vid)
        if stale is not None and vid not in plan.versions:
            deleted.append(stale)
    elif view.version(vid) is not None or vid in plan.versions:
        return vid
    kept = {**master, Obj.VERSION_ID: vid}
    if is_null(master):
        kept[Obj.IS_NULL] = True
    plan.versions[vid] = kept
    return vid


def _put_new_version(view: ObjectView, md: Mapping[str, Any], vid: str,
                     inf_version_id: str) -> Plan:
    plan = Plan()
    deleted: list[Record] = []
    previous = effective_master(view)
    record = {k: v for k, v in md.items() if k not in (Obj.IS_NULL, Obj.NULL_VERSION_ID)}
    record[Obj.VERSION_ID] = vid
    kept = _keep_replaced(view, plan, previous, inf_version_id, deleted)
    if previous is not None:
        if is_null(previous):
            record[Obj.NULL_VERSION_ID] = kept
        elif previous.get(Obj.NULL_VERSION_ID):
            record[Obj.NULL_VERSION_ID] = previous[Obj.NULL_VERSION_ID]
    plan.master = record
    plan.versions[vid] = record
    plan.result = _result(vid, record, previous, deleted)
    return plan


def _put_null(view: ObjectView, md: Mapping[str, Any], vid: str,
              inf_version_id: str) -> Plan:
    plan = Plan()
    deleted: list[Record] = []
    previous = effective_master(view)
    record = {k: v for k, v in md.items() if k != Obj.NULL_VERSION_ID}
    record.update(versionId=vid, isNull=True)
    if previous is not None:
        if is_null(previous):
            # The null master is replaced (case 1), and with it its own key if any.
            old = previous.get(Obj.VERSION_ID)
            if old is not None and view.version(old) is not None:
                plan.versions[old] = None
            deleted.append(previous)
        else:
            # A real version stays as its version key; the null version it
            # points at is replaced (case 3).
            _keep_replaced(view, plan, previous, inf_version_id, deleted)
            old = previous.get(Obj.NULL_VERSION_ID)
            stored = view.version(old) if old else None
            if stored is not None:
                plan.versions[old] = None
                deleted.append(stored)
    plan.master = record
    plan.result = _result(vid, record, previous, deleted)
    return plan


def _put_version(view: ObjectView, name: str, md: Mapping[str, Any], vid: str,
                 inf_version_id: str) -> Plan:
    plan = Plan()
    deleted: list[Record] = []
    if vid == NULL_VERSION_ID:
        vid = resolve_null(view, name)
        if vid is None:
            # The null version is an id-less master: update it in place.
            previous = effective_master(view)
            record = dict(md)
            record.pop("versionId", None)
            plan.master = record
            plan.result = _result(None, record, previous, deleted)
            return plan
        plan_get(view, name, Options(version_id=vid))  # a stale nullVersionId: NoSuchVersion
    record = {**md, "versionId": vid}
    raw_master = view.master()
    previous = effective_master(view)
    current = None if previous is None else (previous.get(Obj.VERSION_ID) or inf_version_id)
    plan.versions[vid] = record
    # Older versions have greater ids: the master follows if vid is not older.
    if current is None or vid <= current:
        if current is not None and vid != current:
            _keep_replaced(view, plan, previous, inf_version_id, deleted)
        plan.master = record
    elif is_phd(raw_master):
        plan.master = previous  # repair the placeholder while at it
    plan.result = _result(vid, record, previous, deleted)
    return plan


# -- DELETE -------------------------------------------------------------------

def plan_delete(view: ObjectView, name: str, opts: Options) -> Plan:
    """Plan a version-specific delete (``opts.version_id`` set, not "")."""
    vid: str | None = opts.version_id
    if not vid:
        raise InvalidArgument("a versioned delete needs a versionId",
                              message="Invalid version id specified")
    if vid == NULL_VERSION_ID:
        vid = resolve_null(view, name)
    raw_master = view.master()
    previous = effective_master(view)
    in_master = previous is not None and previous.get(Obj.VERSION_ID) == vid
    stored = view.version(vid) if vid is not None else None
    if stored is None and not in_master:
        raise NoSuchVersion(f"{name}?versionId={vid}")
    plan = Plan()
    if stored is not None:
        plan.versions[vid] = None
    if in_master or is_phd(raw_master):
        # Delete and repair at once: the next version becomes the master.
        latest = view.latest_version(exclude=vid)
        plan.master = latest[1] if latest is not None else None
    record = stored if stored is not None else previous
    plan.result = _result(vid, record, previous, [record])
    return plan


def plan_repair(view: ObjectView) -> Plan | None:
    """If the master is a placeholder: the plan that replaces it (else None)."""
    if not is_phd(view.master()):
        return None
    latest = view.latest_version()
    return Plan(master=latest[1] if latest is not None else None)


# -- the view of one object over the KV -----------------------------------------

class KVObjectView:
    """ObjectView of the object with master key ``master_key`` over an IOrderedKV.

    ``staged`` (key -> [value or None, writers]) overlays values written but
    not yet durable, ``staged_versions`` (master key -> set of version keys)
    indexes the staged version keys of each object; both come from the
    service.  Writers plan against the overlay (so calls on one object act
    in call order); readers pass none and see only what is durable.
    Records are decoded once per view: a view lives for one planning step.
    """

    def __init__(self, kv: Any, master_key: bytes, load: Callable[[bytes], Record],
                 staged: Mapping[bytes, list] | None = None,
                 staged_versions: Mapping[bytes, set[bytes]] | None = None):
        self._kv = kv
        self._key = master_key
        self._load = load
        self._staged = staged or {}
        self._staged_versions = (staged_versions or {}).get(master_key, ())
        self._cache: dict[bytes, Record | None] = {}

    def _get(self, key: bytes) -> Record | None:
        if key not in self._cache:
            entry = self._staged.get(key)
            raw = entry[0] if entry is not None else self._kv.get(key)
            self._cache[key] = None if raw is None else self._load(raw)
        return self._cache[key]

    def record(self, key: bytes) -> Record | None:
        """The record under any key of this object (usage counts a write by it)."""
        return self._get(key)

    def master(self) -> Record | None:
        return self._get(self._key)

    def version(self, vid: str) -> Record | None:
        return self._get(join_version(self._key, vid))

    def latest_version(self, exclude: str | None = None) -> tuple[str, Record] | None:
        lo, hi = versions_range(self._key)
        skip = join_version(self._key, exclude) if exclude else None
        best = min((k for k in self._staged_versions
                    if k != skip and self._staged[k][0] is not None), default=None)
        it = self._kv.iterate(gte=lo, lt=hi if best is None else best)
        try:
            for k, raw in it:
                # Staged keys are overlaid (deleted or replaced): not the KV's.
                if k != skip and k not in self._staged:
                    best = k
                    self._cache.setdefault(k, self._load(raw))
                    break
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()
        if best is None:
            return None
        return best[len(lo):].decode("utf-8"), self._get(best)


def freed_records(result: Any) -> list:
    """Records whose data no key refers to after a put or delete.

    Versioned results list them in ``deleted`` (delete markers have no
    data); an unversioned put or delete answers with the replaced record
    itself.  The S3 layer frees data files by this rule, the metadata
    service inline bytes.
    """
    if not isinstance(result, Mapping) or not result:
        return []
    if "deleted" in result:
        return [r for r in result["deleted"] if not r.get("isDeleteMarker")]
    return [result]
