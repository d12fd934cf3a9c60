# -*- test-case-name: tests.unit.test_replication_rules -*-
"""A bucket's replication configuration as stored, and which rule a write matches.

The S3 front parses AWS's XML into this record (PutBucketReplication); the
write hook and the replicator read it.  Stored shape
(``BucketRecord.REPLICATION``)::

    {"v": 1, "role": str,
     "rules": [{"id": str, "enabled": bool, "prefix": str,
                "tags"?: {key: value}, "priority"?: int,
                "filter": bool,          # put with a Filter (AWS's V2 schema)
                "deleteMarkers": bool,   # replicate delete markers
                "bucket": str,           # the destination bucket's name
                "storageClass"?: str}]}  # a location of locationConfig.json

A rule's destination is a *location* (CloudServer's convention):
``storageClass`` naming an ``aws_s3`` or ``azure`` location sends the bytes
there; naming a local (``file``/``mem``) location, or absent/STANDARD,
writes a replica into the destination bucket of this server.

The status of each version (``ObjectRecord.REPLICATION_STATUS``) goes
PENDING -> COMPLETED or FAILED; versions written by replication are REPLICA
and never replicated again (no loops between two buckets).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The stored configuration's format version ("v").
FORMAT = 1

PENDING = "PENDING"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
REPLICA = "REPLICA"
STATUSES = (PENDING, COMPLETED, FAILED, REPLICA)


def read_config(stored: Any) -> dict | None:
    """The stored configuration in the current shape (None: none, or a
    record this code cannot read)."""
    if not isinstance(stored, Mapping) or not isinstance(stored.get("rules"), list):
        return None
    if stored.get("v", FORMAT) > FORMAT:
        return None
    return dict(stored)


def _tags_match(want: Mapping[str, str], tags: Mapping[str, str] | list | None) -> bool:
    if not want:
        return True
    have = dict(tags) if isinstance(tags, list) else (tags or {})
    return all(have.get(k) == v for k, v in want.items())


def matching_rule(config: Mapping[str, Any] | None, key: str, tags: Any = None,
                  delete_marker: bool = False) -> dict | None:
    """The enabled rule that applies to a new version of ``key`` (its
    ``tags``): the highest priority among those that match, as AWS; for a
    delete marker only rules that replicate delete markers (and none with
    a tag filter: a marker has no tags).  None: not replicated."""
    if not config:
        return None
    best = None
    for rule in config.get("rules") or ():
        if not rule.get("enabled") or not key.startswith(rule.get("prefix", "")):
            continue
        if delete_marker:
            if not rule.get("deleteMarkers") or rule.get("tags"):
                continue
        elif not _tags_match(rule.get("tags") or {}, tags):
            continue
        if best is None or rule.get("priority", 0) > best.get("priority", 0):
            best = rule
    return best


def destination(rule: Mapping[str, Any]) -> dict:
    """What the replicator needs of a rule: which rule, the destination
    bucket (``dest``) and location (``storageClass``)."""
    out = {"rule": rule["id"], "dest": rule["bucket"]}
    if rule.get("storageClass"):
        out["storageClass"] = rule["storageClass"]
    return out
