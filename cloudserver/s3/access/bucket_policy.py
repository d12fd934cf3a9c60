# -*- test-case-name: tests.unit.test_access_policy -*-
"""What the decision asks of a bucket's policy: the verdict for one request.

The policy document is stored as its text in the bucket's attributes
(``BucketRecord.POLICY``) and compiled once per distinct text
(``bucket_policy`` keeps each bucket's last compiled policy with its text,
so a PutBucketPolicy makes the next request compile the new one and
nothing is parsed per request).
``verdict`` turns the request context into the engine's ``PolicyRequest``:
the caller's principal ids, the IAM action the route declares (its
version variant with ``versionId``), the resource ARN, and the condition
keys (aws:SourceIp, aws:SecureTransport, aws:CurrentTime, s3:prefix, ...).
"""
from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from cloudserver.metadata.object_lock import parse_date
from cloudserver.metadata.schema import BucketRecord, ObjectRecord
from cloudserver.s3.access.declare import Access
from cloudserver.s3.access.policy import Policy, PolicyRequest, compile_policy
from cloudserver.s3.access.policy.evaluate import EXISTING_TAG, REQUEST_TAG, REQUEST_TAG_KEYS
from cloudserver.s3.errors import S3Error
from cloudserver.s3.model.tags import HEADER as TAGGING_HEADER
from cloudserver.s3.model.tags import parse_tagging_header, tags_of

#: request headers whose value is a policy condition key (s3:<name>)
_HEADER_KEYS = ("x-amz-acl", "x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp",
                "x-amz-grant-write-acp", "x-amz-grant-full-control", "x-amz-content-sha256",
                "x-amz-server-side-encryption",
                "x-amz-server-side-encryption-aws-kms-key-id",
                "x-amz-server-side-encryption-customer-algorithm",
                "x-amz-metadata-directive", "x-amz-copy-source", "x-amz-storage-class",
                "x-amz-website-redirect-location", "x-amz-object-ownership")
#: object lock headers of a write -> their condition keys (the request's values)
_LOCK_HEADER_KEYS = (("x-amz-object-lock-mode", "s3:object-lock-mode"),
                     ("x-amz-object-lock-retain-until-date", "s3:object-lock-retain-until-date"),
                     ("x-amz-object-lock-legal-hold", "s3:object-lock-legal-hold"))
#: query parameters of listings that are condition keys (s3:<name>)
_QUERY_KEYS = ("prefix", "delimiter", "max-keys")
#: the writes whose x-amz-tagging header gives s3:RequestObjectTag keys
_TAGGING_WRITES = frozenset({"PutObject", "CopyObject", "CreateMultipartUpload"})


#: bucket name -> (policy text, its compiled form): the last policy seen of
#: each bucket.  The text is compared, not hashed: a request's attributes are
#: freshly decoded, and hashing up to 20 KiB of text per request would cost
#: more than the comparison (a memcmp).
_COMPILED: dict[str, tuple[str, Policy]] = {}
MAX_CACHED = 4096


def bucket_policy(bucket_attrs: Mapping[str, Any]) -> Policy | None:
    """The bucket's policy, compiled once per stored text (stored policies
    were validated when they were put); None without one."""
    text = bucket_attrs.get(BucketRecord.POLICY)
    if not text:
        return None
    name = bucket_attrs.get(BucketRecord.NAME, "")
    cached = _COMPILED.get(name)
    if cached is not None and cached[0] == text:
        return cached[1]
    policy = compile_policy(text, name)
    if name not in _COMPILED and len(_COMPILED) >= MAX_CACHED:
        _COMPILED.pop(next(iter(_COMPILED)))  # the oldest bucket seen
    _COMPILED[name] = (text, policy)
    return policy


def principal_ids(account: Any) -> frozenset[str]:
    """Every name a policy may give the caller: canonical id, account id and
    its root ARN, the account's own ARN."""
    if account is None:
        return frozenset()
    ids = {account.canonical_id, account.shortid, f"arn:aws:iam::{account.shortid}:root"}
    if account.arn:
        ids.add(account.arn)
    return frozenset(ids)


def resource_arn(ctx: Any, bucket_attrs: Mapping[str, Any], obj: Mapping[str, Any] | None,
                 access: Access) -> str:
    name = bucket_attrs.get(BucketRecord.NAME) or ctx.op.bucket or ""
    if obj is not None:
        return f"arn:aws:s3:::{name}/{obj.get(ObjectRecord.KEY, ctx.op.key)}"
    if ctx.op.key is not None and access is ctx.op.access:
        return f"arn:aws:s3:::{name}/{ctx.op.key}"
    return f"arn:aws:s3:::{name}"


@functools.lru_cache(maxsize=2)
def _times(second: int) -> tuple[tuple[str], tuple[str]]:
    """aws:CurrentTime and aws:EpochTime of a second: formatting a date costs
    more than the rest of the context, and requests of one second share it."""
    return ((datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),),
            (str(second),))


def _auth_type(ctx: Any) -> str:
    if ctx.op.name == "PostObject":
        return "POST"
    query = ctx.op.query
    if "X-Amz-Signature" in query or "Signature" in query:
        return "REST-QUERY-STRING"
    return "REST-HEADER"


def condition_context(ctx: Any, now: float | None = None) -> dict[str, tuple[str, ...]]:
    """The condition keys of the request (lower-case names; absent keys
    are left out)."""
    now = time.time() if now is None else now
    current, epoch = _times(int(now))
    out: dict[str, tuple[str, ...]] = {
        "aws:currenttime": current,
        "aws:epochtime": epoch,
        "aws:securetransport": ("true" if ctx.secure else "false",),
        "s3:authtype": (_auth_type(ctx),),
    }
    if ctx.client_ip:
        out["aws:sourceip"] = (ctx.client_ip,)
    account = ctx.account
    if account is not None:
        out["aws:principalaccount"] = (account.shortid,)
        out["aws:principalarn"] = (account.arn or f"arn:aws:iam::{account.shortid}:root",)
        out["aws:userid"] = (account.canonical_id,)
        out["aws:username"] = (account.name,)
        version = ctx.auth.version
        out["s3:signatureversion"] = ("AWS4-HMAC-SHA256" if version == 4 else "AWS",)
    headers = ctx.headers
    for name in ("referer", "user-agent"):
        values = headers.get(name)
        if values:
            out["aws:" + name.replace("-", "")] = tuple(values)
    for name in _HEADER_KEYS:
        values = headers.get(name)
        if values:
            out["s3:" + name] = tuple(values)
    _add_lock_keys(out, headers, now)
    query = ctx.op.query
    for name in _QUERY_KEYS:
        if name in query:
            out["s3:" + name] = (query[name],)
    if "versionId" in query:
        out["s3:versionid"] = (query["versionId"],)
    return out


def _add_lock_keys(out: dict[str, tuple[str, ...]], headers: Mapping[str, Any],
                   now: float) -> None:
    """s3:object-lock-* of a write's x-amz-object-lock-* headers, with
    s3:object-lock-remaining-retention-days from its retain-until date.
    Put/ObjectRetention and LegalHold give theirs from the body
    (``model.lock.condition_keys``)."""
    for header, key in _LOCK_HEADER_KEYS:
        values = headers.get(header)
        if values:
            out[key] = tuple(values)
    dates = out.get("s3:object-lock-retain-until-date")
    if dates:
        try:
            until = parse_date(dates[0])
        except ValueError:
            return  # the handler answers the bad header
        out["s3:object-lock-remaining-retention-days"] = (
            str(max(0, int((until - now) // 86400))),)


def add_tag_keys(context: dict[str, tuple[str, ...]], policy: Policy,
                 obj: Mapping[str, Any] | None, ctx: Any,
                 request_tags: Sequence[tuple[str, str]] | None) -> None:
    """The object-tag condition keys, gathered only for a policy that reads
    them: s3:ExistingObjectTag/<key> from the record decided on, and
    s3:RequestObjectTag/<key> with s3:RequestObjectTagKeys from the tags the
    request sets (``request_tags``: a PutObjectTagging body; otherwise the
    x-amz-tagging header of a write).  Condition keys are matched lower-cased,
    so the tag key in the name is too; values keep their case."""
    if policy.reads_existing_tags and obj is not None:
        for key, value in tags_of(obj):
            context[EXISTING_TAG + key.lower()] = (value,)
    if not policy.reads_request_tags:
        return
    if request_tags is None and ctx.op.name in _TAGGING_WRITES:
        values = ctx.headers.get(TAGGING_HEADER)
        try:
            request_tags = parse_tagging_header(values[0] if values else None)
        except S3Error:
            request_tags = None  # the handler answers the bad header
    if request_tags is not None:
        for key, value in request_tags:
            context[REQUEST_TAG + key.lower()] = (value,)
        if request_tags:
            context[REQUEST_TAG_KEYS] = tuple(key for key, _ in request_tags)


def verdict(ctx: Any, bucket_attrs: Mapping[str, Any], obj: Mapping[str, Any] | None,
            access: Access, request_tags: Sequence[tuple[str, str]] | None = None,
            context_keys: Mapping[str, tuple[str, ...]] | None = None) -> str | None:
    """"Deny", "Allow" or None (the policy says nothing, or there is none)."""
    policy = bucket_policy(bucket_attrs)
    if policy is None or access.action is None:
        return None
    context = condition_context(ctx, ctx.backend.clock.seconds())
    if policy.reads_existing_tags or policy.reads_request_tags:
        add_tag_keys(context, policy, obj, ctx, request_tags)
    if context_keys:
        context.update(context_keys)
    request = PolicyRequest(principal_ids=principal_ids(ctx.account),
                            anonymous=ctx.account is None,
                            action=access.action_for(ctx.op.query),
                            resource=resource_arn(ctx, bucket_attrs, obj, access),
                            context=context)
    return policy.evaluate(request)
