# -*- test-case-name: tests.unit.test_notification_rules -*-
"""A bucket's notification configuration: which events, for which keys,
go to which destination.

It is the stored value (``BucketRecord.NOTIFICATION``) and what the write
hook matches writes against, so it lives outside the S3 front (metadata
owners read it without cloudserver.s3).  The XML codec and AWS's
validation messages are cloudserver.s3.xml.notification.

Stored form, format version ``NOTIFICATION_FORMAT``::

    {"v": 1, "rules": [{"id": str, "kind": "queue" | "topic" | "cloudFunction",
                        "arn": str, "events": [str, ...],
                        "prefix": str?, "suffix": str?}]}
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

NOTIFICATION_FORMAT = 1

#: The events this server emits, by the S3 operation that causes them.
EMITTED = (
    "s3:ObjectCreated:Put", "s3:ObjectCreated:Post", "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:Delete", "s3:ObjectRemoved:DeleteMarkerCreated",
)
#: A wildcard stands for every emitted event of its family.
WILDCARDS = {
    "s3:ObjectCreated:*": tuple(e for e in EMITTED if e.startswith("s3:ObjectCreated:")),
    "s3:ObjectRemoved:*": tuple(e for e in EMITTED if e.startswith("s3:ObjectRemoved:")),
}
#: Events AWS has that nothing here produces (restores, replication,
#: lifecycle, tagging, ACL, tiering): accepting them would be a silent
#: promise, so they are refused as not implemented.
NOT_EMITTED = frozenset({
    "s3:ObjectRestore:*", "s3:ObjectRestore:Post", "s3:ObjectRestore:Completed",
    "s3:ObjectRestore:Delete", "s3:ReducedRedundancyLostObject",
    "s3:Replication:*", "s3:Replication:OperationFailedReplication",
    "s3:Replication:OperationMissedThreshold",
    "s3:Replication:OperationReplicatedAfterThreshold",
    "s3:Replication:OperationNotTracked",
    "s3:LifecycleExpiration:*", "s3:LifecycleExpiration:Delete",
    "s3:LifecycleExpiration:DeleteMarkerCreated", "s3:LifecycleTransition",
    "s3:IntelligentTiering", "s3:ObjectTagging:*", "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete", "s3:ObjectAcl:Put",
})
#: Configuration element -> stored kind -> the element naming its ARN.
KINDS = {"QueueConfiguration": ("queue", "Queue"),
         "TopicConfiguration": ("topic", "Topic"),
         "CloudFunctionConfiguration": ("cloudFunction", "CloudFunction")}
ARN_PREFIX = "arn:scality:bucketnotif:::"


def expand(events: Iterable[str]) -> frozenset[str]:
    """The emitted events a list of event names (wildcards included) covers."""
    out: set[str] = set()
    for e in events:
        out.update(WILDCARDS.get(e, (e,)))
    return frozenset(out)


@attrs.frozen
class Rule:
    """One QueueConfiguration (or Topic / CloudFunction)."""

    id: str
    kind: str
    arn: str
    events: tuple[str, ...]
    prefix: str = ""
    suffix: str = ""
    covered: frozenset[str] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "covered", expand(self.events))

    @property
    def resource(self) -> str | None:
        """The destination id of a ``arn:scality:bucketnotif:::<id>`` ARN."""
        return self.arn[len(ARN_PREFIX):] if self.arn.startswith(ARN_PREFIX) else None

    def matches(self, event: str, key: str) -> bool:
        return event in self.covered and key.startswith(self.prefix) and \
            key.endswith(self.suffix)

    def overlaps(self, other: Rule) -> bool:
        """AWS's ambiguity: a common event, and keys that both filters admit
        (one prefix a prefix of the other, one suffix a suffix of the other)."""
        return bool(self.covered & other.covered) and \
            (self.prefix.startswith(other.prefix) or other.prefix.startswith(self.prefix)) \
            and (self.suffix.endswith(other.suffix) or other.suffix.endswith(self.suffix))

    def to_record(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "arn": self.arn,
                               "events": list(self.events)}
        if self.prefix:
            out["prefix"] = self.prefix
        if self.suffix:
            out["suffix"] = self.suffix
        return out

    @classmethod
    def from_record(cls, rec: Mapping[str, Any]) -> Rule:
        return cls(id=rec["id"], kind=rec["kind"], arn=rec["arn"],
                   events=tuple(rec["events"]), prefix=rec.get("prefix", ""),
                   suffix=rec.get("suffix", ""))


@attrs.frozen
class NotificationConfig:
    rules: tuple[Rule, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.rules)

    def matching(self, event: str, key: str) -> list[Rule]:
        """The rules an event on ``key`` fires (after validation at most one
        per event and key, but a stored list is not trusted to be)."""
        return [r for r in self.rules if r.matches(event, key)]

    def to_record(self) -> dict[str, Any] | None:
        """The stored value; None (the attribute removed) when empty."""
        if not self.rules:
            return None
        return {"v": NOTIFICATION_FORMAT, "rules": [r.to_record() for r in self.rules]}

    @classmethod
    def from_record(cls, rec: Mapping[str, Any] | None) -> NotificationConfig:
        """Read a stored value (None or {}: no configuration).  A newer
        format than this code reads its ``rules`` as far as it knows them."""
        if not rec:
            return cls()
        return cls(tuple(Rule.from_record(r) for r in rec.get("rules", ())))
