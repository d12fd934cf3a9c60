# -*- test-case-name: tests.unit.test_notification_hook -*-
"""The AWS S3 event record (eventVersion 2.1) a notification carries, and
the queue item it is made from.

The write hook queues the facts of the write as it is planned (what is
sent is what was written): a flat item, format ``ITEM_FORMAT`` (``nv``),
whose fields are :func:`event_record`'s arguments; the delivery service
builds the record from it when it sends, so the write path pays for a
small JSON object, not for the whole record.  The record's shape is AWS's
"Event message structure":
``eventName`` without the ``s3:`` prefix, the key URL-encoded as AWS does
(``quote_plus``: a space is ``+``, ``/`` kept), ``size`` and ``eTag`` only
for created objects, ``versionId`` only on versioned buckets, and a
``sequencer`` (upper-case hex) that grows for successive events of a key.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import quote_plus

from cloudserver.s3.xml.build import iso8601

EVENT_VERSION = "2.1"
ITEM_FORMAT = 1
#: the fields of a queue item (those of event_record), the first seven required
ITEM_FIELDS = ("event", "when", "region", "bucket", "key", "config_id", "sequencer",
               "owner", "info", "size", "etag", "version_id")
_REQUIRED = ITEM_FIELDS[:7]


def encode_key(key: str) -> str:
    return quote_plus(key, safe="/", errors="surrogateescape")


def event_record(*, event: str, when: float, region: str, bucket: str, key: str,
                 config_id: str, sequencer: str, owner: str | None = None,
                 info: dict[str, Any] | None = None,
                 size: int | None = None, etag: str | None = None,
                 version_id: str | None = None) -> dict[str, Any]:
    """One element of ``Records``; ``info``: the writer's ``eventInfo``
    (principal, ip, requestId), as the S3 front passed it."""
    obj: dict[str, Any] = {"key": encode_key(key)}
    if size is not None:
        obj["size"] = size
    if etag:
        obj["eTag"] = etag
    if version_id:
        obj["versionId"] = version_id
    obj["sequencer"] = sequencer
    info = info or {}
    request_id = info.get("requestId") or ""
    return {
        "eventVersion": EVENT_VERSION,
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": iso8601(when),
        "eventName": event[len("s3:"):] if event.startswith("s3:") else event,
        "userIdentity": {"principalId": info.get("principal") or "Anonymous"},
        "requestParameters": {"sourceIPAddress": info.get("ip") or ""},
        "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": request_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": config_id,
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": owner or ""},
                       "arn": "arn:aws:s3:::" + bucket},
            "object": obj,
        },
    }


def queue_item(dest: str, **fields: Any) -> dict[str, Any]:
    """The queue item of one event for destination ``dest`` (fields that
    are None are left out)."""
    item = {"dest": dest, "nv": ITEM_FORMAT}
    item.update((k, v) for k, v in fields.items() if v is not None)
    return item


def record_from_item(item: dict[str, Any]) -> dict[str, Any] | None:
    """The record of a queue item; None when it is not one this code can
    read (a required field missing)."""
    if any(k not in item for k in _REQUIRED):
        return None
    fields = {k: item[k] for k in ITEM_FIELDS if k in item}
    if not isinstance(fields.get("info"), dict):
        fields.pop("info", None)
    try:
        return event_record(**fields)
    except (TypeError, ValueError, AttributeError):
        return None
