# -*- test-case-name: tests.unit.test_metadata_conditions -*-
"""Conditional writes: If-None-Match / If-Match checked as a put is planned.

The S3 front checks the headers early (a cheap refusal before the body
is read), but only the metadata service can decide atomically: it plans
every write to one object against the writes still in flight, so of
racing ``If-None-Match: *`` puts exactly one passes.  The front passes
the headers' entity tags in the write options, ``ifNoneMatch`` and
``ifMatch`` (lists of tags without quotes, ``"*"`` for any), unchanged
over the :9990 RPC.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloudserver.metadata.errors import (IfMatchFailed, IfNoneMatchFailed, InvalidArgument,
                                         NoSuchKey)
from cloudserver.metadata.schema import ObjectRecord as Obj

IF_NONE_MATCH = "ifNoneMatch"
IF_MATCH = "ifMatch"


def _tags(options: Mapping[str, Any], name: str) -> list[str] | None:
    tags = options.get(name)
    if tags is None:
        return None
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InvalidArgument(f"{name} must be a list of entity tags")
    return tags


def requested(options: Mapping[str, Any] | None) -> bool:
    return bool(options) and (options.get(IF_NONE_MATCH) is not None
                              or options.get(IF_MATCH) is not None)


def check(options: Mapping[str, Any], current: Mapping[str, Any] | None, name: str) -> None:
    """Refuse the write unless the conditions hold against ``current`` (the
    object's latest record, in-flight writes included; None: absent; a
    delete marker counts as absent)."""
    if current is not None and current.get(Obj.IS_DELETE_MARKER):
        current = None
    if_none = _tags(options, IF_NONE_MATCH)
    if_match = _tags(options, IF_MATCH)
    if if_none is not None and current is not None:
        if "*" in if_none or current.get(Obj.ETAG) in if_none:
            raise IfNoneMatchFailed(f"{name}: If-None-Match")
    if if_match is not None:
        if current is None:
            raise NoSuchKey(name)
        if "*" not in if_match and current.get(Obj.ETAG) not in if_match:
            raise IfMatchFailed(f"{name}: If-Match")
