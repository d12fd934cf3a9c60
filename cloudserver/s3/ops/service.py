# -*- test-case-name: tests.unit.test_ops_bucket -*-
"""Service-level operations: ListBuckets (with AWS's optional pagination)."""
from __future__ import annotations

import base64
import binascii

from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.xml import iso8601, list_buckets_xml

MAX_BUCKETS = 10000


def _token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def _after(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise S3Error("InvalidArgument", "The continuation token provided is incorrect",
                      ArgumentName="continuation-token") from None


async def list_buckets(ctx: RequestContext) -> Response:
    account = ctx.account
    q = ctx.query
    limit = None
    if "max-buckets" in q:
        try:
            limit = int(q["max-buckets"])
        except ValueError:
            limit = -1
        if not 1 <= limit <= MAX_BUCKETS:
            raise S3Error("InvalidArgument", "Argument max-buckets must be an integer "
                          "between 1 and 10000", ArgumentName="max-buckets",
                          ArgumentValue=q["max-buckets"])
    prefix = q.get("prefix") or ""
    after = _after(q["continuation-token"]) if q.get("continuation-token") else None
    buckets = await ctx.backend.metadata.list_buckets()
    mine = [(name, iso8601(attrs[Bkt.CREATION_DATE])) for name, attrs in buckets
            if attrs.get(Bkt.OWNER) == account.canonical_id and name.startswith(prefix)
            and (after is None or name > after)]
    token = None
    if limit is not None and len(mine) > limit:
        mine = mine[:limit]
        token = _token(mine[-1][0])
    return Response.xml(list_buckets_xml(account.canonical_id, account.display_name, mine,
                                         continuation_token=token,
                                         prefix=q.get("prefix")))


HANDLERS = {"ListBuckets": list_buckets}
