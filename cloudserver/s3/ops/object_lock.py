# -*- test-case-name: tests.unit.test_object_lock_ops -*-
"""Put/GetObjectRetention and Put/GetObjectLegalHold: one version's lock.

The lock lives in the version's record (``ObjectRecord.LOCK_MODE``,
``RETAIN_UNTIL``, ``LEGAL_HOLD``) and is rewritten in place: no new
version, the same Last-Modified.  What a change may do is AWS's rule
(``model.lock.retention_change``): an active COMPLIANCE retention is only
extended; an active GOVERNANCE one is shortened, removed or turned into
COMPLIANCE only with ``x-amz-bypass-governance-retention: true`` and
s3:BypassGovernanceRetention from the decision point.  The operation's
own action is decided once the body is read, so a bucket policy's
s3:object-lock-* conditions see the values the request sets.
"""
from __future__ import annotations


from cloudserver.metadata import object_lock as rules
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.s3.access import authorize
from cloudserver.s3.access.declare import owner
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.model import lock
from cloudserver.s3.model.versions import client_version_id
from cloudserver.s3.ops.acl import update_in_place, version_header
from cloudserver.s3.ops.bucket_config import check_integrity
from cloudserver.s3.ops.common import load_bucket
from cloudserver.s3.ops.object_read import load_current
from cloudserver.s3.xml.object_retention import (
    MAX_BODY, legal_hold_xml, parse_legal_hold, parse_retention, retention_xml)

#: What lifting a GOVERNANCE retention needs besides the request's header.
BYPASS_GOVERNANCE = owner("s3:BypassGovernanceRetention")


async def _load(ctx: RequestContext, *, decide: bool) -> tuple[dict, dict]:
    """The bucket (with object lock) and the version addressed.  A missing
    object or version is answered once the bucket-level decision allows
    it, so existence does not leak; ``decide=False``: the caller decides
    once the body is known."""
    attrs = await load_bucket(ctx, check=False)
    try:
        md = await load_current(ctx, ctx.bucket, ctx.key, ctx.query.get("versionId"),
                                access=None)
    except S3Error:
        authorize(ctx, attrs).require()
        raise
    if decide or not lock.lock_enabled(attrs):
        authorize(ctx, attrs, md).require()
    lock.require_lock_enabled(attrs)
    return attrs, md


async def _read_body(ctx: RequestContext, attrs: dict, md: dict, parse):
    """The parsed body; a body that does not parse is answered after the
    operation's decision (without the body's condition keys)."""
    body = await ctx.read_small_body(MAX_BODY)
    try:
        check_integrity(ctx, body)
        return parse(body)
    except S3Error:
        authorize(ctx, attrs, md).require()
        raise


async def _rewrite(ctx: RequestContext, checked: dict, fields: dict) -> dict:
    """Re-read the version ``checked`` was read as and store the lock
    ``fields`` in it (a None value removes the field).  A PutObject that
    replaced the current version meanwhile makes it 409 OperationAborted
    (the change was meant for another version)."""
    version_param = ctx.query.get("versionId")
    md = dict(await load_current(ctx, ctx.bucket, ctx.key,
                                 client_version_id(checked) if version_param else None,
                                 access=None))
    if any(md.get(f) != checked.get(f) for f in (Obj.OWNER, Obj.LAST_MODIFIED, Obj.VERSION_ID)):
        raise S3Error("OperationAborted")
    for name, value in fields.items():
        if value is None:
            md.pop(name, None)
        else:
            md[name] = value
    await update_in_place(ctx, ctx.bucket, ctx.key, md)
    return md


async def get_object_retention(ctx: RequestContext) -> Response:
    attrs, md = await _load(ctx, decide=True)
    until = md.get(Obj.RETAIN_UNTIL)
    if md.get(Obj.LOCK_MODE) not in rules.MODES or not until:
        raise S3Error("NoSuchObjectLockConfiguration")
    return Response.xml(retention_xml(md[Obj.LOCK_MODE], until),
                        headers=version_header(md, attrs))


async def put_object_retention(ctx: RequestContext) -> Response:
    attrs, checked = await _load(ctx, decide=False)
    mode, until = await _read_body(ctx, attrs, checked, parse_retention)
    now = ctx.backend.clock.seconds()
    fields = {Obj.LOCK_MODE: mode, Obj.RETAIN_UNTIL: None if until is None
              else rules.format_date(until)}
    keys = lock.condition_keys(fields, now)
    authorize(ctx, attrs, checked, context_keys=keys).require()
    if until is not None and until <= now:
        raise S3Error("InvalidArgument", lock.PAST_DATE)
    change = lock.retention_change(checked, mode, until, now)
    if change == "denied":
        raise S3Error("AccessDenied")
    if change == "bypass":
        if not lock.wants_bypass(ctx.header):
            raise S3Error("AccessDenied")
        authorize(ctx, attrs, checked, access=BYPASS_GOVERNANCE, context_keys=keys).require()
    md = await _rewrite(ctx, checked, fields)
    return Response(headers=version_header(md, attrs))


async def get_object_legal_hold(ctx: RequestContext) -> Response:
    attrs, md = await _load(ctx, decide=True)
    if Obj.LEGAL_HOLD not in md:
        raise S3Error("NoSuchObjectLockConfiguration")
    return Response.xml(legal_hold_xml(bool(md[Obj.LEGAL_HOLD])),
                        headers=version_header(md, attrs))


async def put_object_legal_hold(ctx: RequestContext) -> Response:
    attrs, checked = await _load(ctx, decide=False)
    on = await _read_body(ctx, attrs, checked, parse_legal_hold)
    fields = {Obj.LEGAL_HOLD: on}
    keys = lock.condition_keys(fields, ctx.backend.clock.seconds())
    authorize(ctx, attrs, checked, context_keys=keys).require()
    md = await _rewrite(ctx, checked, fields)
    return Response(headers=version_header(md, attrs))


HANDLERS = {
    "GetObjectRetention": get_object_retention,
    "PutObjectRetention": put_object_retention,
    "GetObjectLegalHold": get_object_legal_hold,
    "PutObjectLegalHold": put_object_legal_hold,
}
