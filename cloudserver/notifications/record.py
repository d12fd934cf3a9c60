# -*- test-case-name: tests.unit.test_notification_hook -*-
"""The AWS S3 event record (eventVersion 2.1) a notification carries.

Built by the write hook when the write is planned, so that what is sent
is what was written (the record is queued whole; delivery only wraps it
in ``{"Records": [...]}``).  The shape is AWS's "Event message structure":
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


def encode_key(key: str) -> str:
    return quote_plus(key, safe="/", errors="surrogateescape")


def event_record(*, event: str, when: float, region: str, bucket: str, owner: str | None,
                 key: str, config_id: str, sequencer: str, info: dict[str, Any],
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
