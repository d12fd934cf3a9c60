# -*- test-case-name: tests.unit.test_notification_hook -*-
"""The S3 event an object write is, passed to the metadata service in the
write's options (through the :9990 RPC too, for ``--mode s3`` fronts).

The metadata owner's write hooks (cloudserver.notifications.hook) see
``options["event"]`` and ``options["eventInfo"]`` (who asked, from where,
the request id) and queue a notification in the same batch.  Writes
without an event (ACL and tag changes, lifecycle, repairs) notify nobody.
"""
from __future__ import annotations

from cloudserver.s3.context import RequestContext

#: The operation that creates an object -> its event.
CREATED = {
    "PutObject": "s3:ObjectCreated:Put",
    "PostObject": "s3:ObjectCreated:Post",
    "CopyObject": "s3:ObjectCreated:Copy",
    "CompleteMultipartUpload": "s3:ObjectCreated:CompleteMultipartUpload",
}
REMOVED = "s3:ObjectRemoved:Delete"
MARKER_CREATED = "s3:ObjectRemoved:DeleteMarkerCreated"


def with_event(ctx: RequestContext, options: dict | None,
               event: str | None = None) -> dict | None:
    """``options`` plus the event of this request (by default the one its
    operation creates; none: ``options`` unchanged)."""
    event = event or CREATED.get(ctx.op.name)
    if event is None:
        return options
    account = ctx.account
    return {**(options or {}), "event": event, "eventInfo": {
        "principal": account.canonical_id if account else None,
        "ip": ctx.client_ip, "requestId": ctx.request_id}}
