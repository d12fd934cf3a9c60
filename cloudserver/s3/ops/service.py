# -*- test-case-name: tests.unit.test_ops_bucket -*-
"""Service-level operations: ListBuckets."""
from __future__ import annotations

from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.xml import iso8601, list_buckets_xml


async def list_buckets(ctx: RequestContext) -> Response:
    account = ctx.account
    buckets = await ctx.backend.metadata.list_buckets()
    mine = [(name, iso8601(attrs["creation-date"])) for name, attrs in buckets
            if attrs.get("owner") == account.canonical_id]
    return Response.xml(list_buckets_xml(account.canonical_id, account.display_name, mine))


HANDLERS = {"ListBuckets": list_buckets}
