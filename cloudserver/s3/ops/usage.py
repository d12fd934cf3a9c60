# -*- test-case-name: tests.unit.test_ops_usage -*-
"""``GET /?usage`` (GetUsage, this server's own): the usage counters of the
caller's buckets and their total, with the server's version, for the web
console's Usage page.

The figures are the ones metadata/usage.py keeps in every write's batch
(bin/cloudserver-usage reads the same), so this costs one metadata call,
no scan.  It is an ordinary signed S3 request: routed, authenticated and
decided (an account-level access, as ListBuckets: ``s3:ListAllMyBuckets``)
like every other; an account sees the buckets it owns, as ListBuckets
shows them, never another account's figures.  The whole server's figures
are the operator's (bin/cloudserver-usage, the metrics port).
"""
from __future__ import annotations

import json
from importlib import metadata as distribution

from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.s3.context import RequestContext, Response

#: the counters of a report entry (metadata/usage.py), summed for the total
FIELDS = ("objects", "objectBytes", "versions", "bytes", "deleteMarkers", "uploads",
          "uploadBytes")


def _version() -> str:
    try:
        return distribution.version("cloudserver")
    except distribution.PackageNotFoundError:  # run from a checkout never installed
        return "unknown"


VERSION = _version()


def account_report(report: dict, owned: set[str]) -> dict:
    """The entries of ``report`` (metadata's get_usage) for ``owned`` buckets,
    and their total."""
    entries = [entry for entry in report["buckets"] if entry["name"] in owned]
    total = {name: sum(entry.get(name, 0) for entry in entries) for name in FIELDS}
    return {"buckets": entries, "total": {**total, "buckets": len(entries)}}


async def get_usage(ctx: RequestContext) -> Response:
    md = ctx.backend.metadata
    owned = {name for name, attrs in await md.list_buckets()
             if attrs.get(Bkt.OWNER) == ctx.account.canonical_id}
    report = account_report(await md.get_usage(), owned) if owned else account_report(
        {"buckets": []}, owned)
    report["server"] = {"name": "cloudserver", "version": VERSION, "status": "OK"}
    body = json.dumps(report, sort_keys=True).encode("utf-8")
    return Response(body=body, length=len(body), content_type="application/json")


HANDLERS = {"GetUsage": get_usage}
