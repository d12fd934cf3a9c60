# -*- test-case-name: tests.unit.test_lifecycle_decide -*-
"""What the executor does to one key's versions, or to one upload: pure.

The executor lists a bucket's versions (newest first within a key, as
DelimiterVersions does) and hands each key's whole group here with the
bucket's rules; the answer is a list of Actions it then applies.  Kept
apart from the walking so that tables of objects x rules -> actions test
it without a KV or a clock.

AWS's rules, as they apply here:

* the current version expires by Expiration Days/Date (a delete marker on
  a versioned bucket, a delete otherwise);
* a current delete marker with no other version left (an "expired object
  delete marker") is removed with ExpiredObjectDeleteMarker, or with
  Expiration Days once the marker is that old;
* a noncurrent version becomes noncurrent when its successor was written
  (the successor's last-modified); NoncurrentVersionExpiration removes it
  NoncurrentDays after that, keeping the ``newer`` newest noncurrent ones;
* Transition / NoncurrentVersionTransition move data to a location of
  locationConfig.json named as StorageClass (other classes are not ours to
  do: the caller learns them through ``Skip``);
* nothing written after ``started`` (when the walk began) is touched, and a
  version object lock protects is never removed (it is reported as locked).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from cloudserver.lifecycle.rules import DAY, due, enabled, filter_matches
from cloudserver.metadata import object_lock
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.metadata.schema import UploadRecord as Upl

EXPIRE = "expire"                # current version: delete marker or delete
DELETE_MARKER = "delete-marker"  # remove an expired object delete marker
NONCURRENT = "noncurrent"        # remove a noncurrent version
TRANSITION = "transition"        # move a version's data to ``storage_class``
ABORT = "abort"                  # abort an incomplete multipart upload
LOCKED = "locked"                # would be removed, but object lock protects it
UNSUPPORTED = "unsupported"      # a transition to a class we cannot store


@attrs.frozen
class Action:
    kind: str
    key: str
    version_id: str | None
    rule_id: str
    storage_class: str | None = None
    #: the record as evaluated: the executor re-checks it before acting
    record: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)


def tags_of(record: Mapping[str, Any]) -> dict[str, str]:
    """A record's tags as a dict (older writers stored [key, value] pairs)."""
    tags = record.get(Obj.TAGS) or {}
    if isinstance(tags, list):
        return {k: v for k, v in tags}
    return dict(tags)


def _selects(rule: Mapping[str, Any], key: str, record: Mapping[str, Any]) -> bool:
    if record.get(Obj.IS_DELETE_MARKER):
        # a marker has no tags nor size: only a rule without those selects it
        flt = rule.get("filter") or {}
        if flt.get("tags") or "sizeGreaterThan" in flt or "sizeLessThan" in flt:
            return False
        return filter_matches(rule, key, None, None)
    return filter_matches(rule, key, tags_of(record), record.get(Obj.SIZE))


def _modified(record: Mapping[str, Any]) -> float:
    return float(record.get(Obj.LAST_MODIFIED) or 0)


@attrs.frozen
class Clock:
    """The times a decision is made against."""

    now: float      # the current time
    started: float  # when the walk began: anything newer is left alone
    day: float = float(DAY)


def _expired_current(rules, key, record, t: Clock) -> str | None:
    for rule in rules:
        exp = rule.get("expiration") or {}
        if "days" in exp:
            when = due(_modified(record), exp["days"], t.day)
        elif "date" in exp:
            when = float(exp["date"])
        else:
            continue
        if when <= t.now and _selects(rule, key, record):
            return rule.get("id", "")
    return None


def _expired_marker(rules, key, record, t: Clock) -> str | None:
    for rule in rules:
        exp = rule.get("expiration") or {}
        if exp.get("expiredObjectDeleteMarker") is True:
            pass
        elif "days" in exp:
            if due(_modified(record), exp["days"], t.day) > t.now:
                continue
        else:
            continue
        if _selects(rule, key, record):
            return rule.get("id", "")
    return None


def _transition(rules, key, record, since: float, rank: int | None, t: Clock,
                field: str) -> tuple[str, str] | None:
    """(storage class, rule id) of the latest transition due, or None."""
    best: tuple[float, str, str] | None = None
    for rule in rules:
        for tr in rule.get(field) or ():
            if rank is not None and rank < tr.get("newer", 0):
                continue
            when = float(tr["date"]) if "date" in tr else due(since, tr["days"], t.day)
            if when > t.now or not _selects(rule, key, record):
                continue
            if best is None or when > best[0]:
                best = (when, tr["storageClass"], rule.get("id", ""))
    return None if best is None else (best[1], best[2])


def _noncurrent_expired(rules, key, record, since: float, rank: int, t: Clock) -> str | None:
    for rule in rules:
        nce = rule.get("noncurrentExpiration") or {}
        if "days" not in nce or rank < nce.get("newer", 0):
            continue
        if due(since, nce["days"], t.day) <= t.now and _selects(rule, key, record):
            return rule.get("id", "")
    return None


def _version_id(entry: Mapping[str, Any]) -> str | None:
    return entry.get("versionId")


def decide_key(rules: Sequence[Mapping[str, Any]] | None, key: str,
               versions: Sequence[Mapping[str, Any]], t: Clock, versioned: bool,
               is_location: Callable[[str], bool]) -> list[Action]:
    """The actions for one key: ``versions`` are its listing entries newest
    first ({versionId, value, isLatest, isDeleteMarker}); ``versioned``: the
    bucket's versioning was ever configured; ``is_location(name)``: whether a
    StorageClass names a location we can move data to."""
    rules = enabled(rules)
    actions: list[Action] = []
    if not rules or not versions:
        return actions
    for i, entry in enumerate(versions):
        record = entry.get("value") or {}
        if _modified(record) > t.started:
            continue
        vid = _version_id(entry)
        if i == 0:
            action = _decide_current(rules, key, vid, record, len(versions) == 1, t,
                                     versioned, is_location)
        else:
            since = _modified(versions[i - 1].get("value") or {})
            action = _decide_noncurrent(rules, key, vid, record, since, i - 1, t, is_location)
        if action is not None:
            actions.append(action)
    return actions


def _removal(kind: str, key: str, vid: str | None, rule_id: str, record, t: Clock) -> Action:
    if object_lock.protection(record, t.now) is not None:
        return Action(LOCKED, key, vid, rule_id, record=record)
    return Action(kind, key, vid, rule_id, record=record)


def _decide_current(rules, key, vid, record, alone: bool, t: Clock, versioned: bool,
                    is_location) -> Action | None:
    if record.get(Obj.IS_DELETE_MARKER):
        if not alone:
            return None
        rule_id = _expired_marker(rules, key, record, t)
        return None if rule_id is None else Action(DELETE_MARKER, key, vid, rule_id,
                                                   record=record)
    rule_id = _expired_current(rules, key, record, t)
    if rule_id is not None:
        if versioned:  # a delete marker: the version itself stays
            return Action(EXPIRE, key, vid, rule_id, record=record)
        return _removal(EXPIRE, key, vid, rule_id, record, t)
    return _moved(rules, key, vid, record, _modified(record), None, t, "transitions",
                  is_location)


def _decide_noncurrent(rules, key, vid, record, since: float, rank: int, t: Clock,
                       is_location) -> Action | None:
    rule_id = _noncurrent_expired(rules, key, record, since, rank, t)
    if rule_id is not None:
        return _removal(NONCURRENT, key, vid, rule_id, record, t)
    if record.get(Obj.IS_DELETE_MARKER):
        return None
    return _moved(rules, key, vid, record, since, rank, t, "noncurrentTransitions",
                  is_location)


def _moved(rules, key, vid, record, since, rank, t: Clock, field: str,
           is_location) -> Action | None:
    found = _transition(rules, key, record, since, rank, t, field)
    if found is None:
        return None
    storage_class, rule_id = found
    if record.get(Obj.STORAGE_CLASS, "STANDARD") == storage_class:
        return None
    kind = TRANSITION if is_location(storage_class) else UNSUPPORTED
    return Action(kind, key, vid, rule_id, storage_class, record=record)


def decide_upload(rules: Sequence[Mapping[str, Any]] | None, upload: Mapping[str, Any],
                  t: Clock) -> Action | None:
    """ABORT when an AbortIncompleteMultipartUpload rule selects the upload
    (by prefix: such a rule cannot filter on tags or size) and its days since
    initiation are over."""
    key = upload.get(Upl.KEY, "")
    initiated = float(upload.get(Upl.INITIATED) or 0)
    if initiated > t.started:
        return None
    for rule in enabled(rules):
        days = (rule.get("abortIncomplete") or {}).get("days")
        if days is None or not key.startswith((rule.get("filter") or {}).get("prefix", "")):
            continue
        if due(initiated, days, t.day) <= t.now:
            return Action(ABORT, key, upload.get(Upl.UPLOAD_ID), rule.get("id", ""),
                          record=upload)
    return None
