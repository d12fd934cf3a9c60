# -*- test-case-name: tests.unit.test_ops_common -*-
"""Helpers shared by the operation handlers: loading the bucket and the
object with their access decision, dates, ETags, object headers."""
from __future__ import annotations

import functools
import time
from email.utils import formatdate, parsedate_to_datetime

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from twisted.python.failure import Failure

from cloudserver.metadata import errors as md_errors
from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.s3.access import LIST_BUCKET, authorize
from cloudserver.s3.access.declare import OBJECT, Access
from cloudserver.s3.context import RequestContext
from cloudserver.s3.errors import S3Error
from cloudserver.s3.model.versions import client_version_id, shown_version_id
from cloudserver.s3.model.lock import response_headers as lock_headers
from cloudserver.s3.sse.apply import response_headers as sse_headers

#: Headers stored with an object and returned on GET/HEAD as they were sent.
STORED_HEADERS = ("cache-control", "content-disposition", "content-encoding",
                  "content-language", "expires")
_log = Logger(namespace="cloudserver.s3")
USER_META_PREFIX = "x-amz-meta-"
MAX_USER_METADATA = 2048
#: The object's website redirect: its request header, and its record field.
WEBSITE_REDIRECT = "x-amz-website-redirect-location"
REDIRECT_FIELD = Obj.WEBSITE_REDIRECT  # the same name in UploadRecord
#: AWS: "The length is constrained to a maximum of 2 KB."
MAX_WEBSITE_REDIRECT = 2048


def http_date(ts: float) -> str:
    """RFC 7231 date, as in Last-Modified."""
    if ts is None:  # formatdate's "now": never cached
        return formatdate(None, usegmt=True)
    return _http_date_cached(ts)


@functools.lru_cache(maxsize=4096)
def _http_date_cached(ts: float) -> str:
    # GET and HEAD format the same records' timestamps over and over, and
    # formatdate costs a few microseconds a call.
    return formatdate(ts, usegmt=True)


def parse_http_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def quoted_etag(md5_hex: str) -> str:
    return f'"{md5_hex}"'


def now() -> float:
    return time.time()


async def load_bucket(ctx: RequestContext, *, check: bool = True) -> dict:
    """The bucket's attributes, after the access decision for the operation
    (``access.authorize``: its declared permission on the bucket, e.g. READ
    to list, WRITE to put or delete objects, the owner alone for
    configuration).  Object-level access (GetObject, ...) is decided by
    :func:`load_object` instead.  A missing bucket is NoSuchBucket for
    everyone, anonymous callers included.  ``check=False`` defers the
    decision to the caller, which learns the identity from the body (a
    browser POST's signed form).
    """
    try:
        attrs = await ctx.backend.metadata.get_bucket(ctx.bucket)
    except md_errors.NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None
    _check_bucket(ctx, attrs, check)
    return attrs


def _check_bucket(ctx: RequestContext, attrs: dict, check: bool = True) -> None:
    check_expected_owner(ctx, attrs)
    if check and ctx.op.access.level != OBJECT:
        authorize(ctx, attrs).require()


async def load_bucket_and_object(ctx: RequestContext, version: str | None = None,
                                 with_data: bool = True) -> tuple[dict, dict | None]:
    """:func:`load_bucket` and the object's record (or that version's) in one
    metadata call — one RPC round trip in split mode instead of two or three.

    The record is None when the object or version is missing: the caller
    then asks :func:`load_object` for the exact answer (NoSuchKey,
    NoSuchVersion, or AccessDenied to those who may not list the bucket).
    An object-level operation's access is decided on the record found.
    ``with_data=False``: an inline object's bytes are not read (HEAD).
    """
    options = {"versionId": version} if version is not None else None
    if not with_data:
        options = {**(options or {}), "inlineData": False}
    try:
        both = await ctx.backend.metadata.get_bucket_and_object(ctx.bucket, ctx.key, options)
    except md_errors.NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None
    attrs, md = both["bucket"], both["obj"]
    _check_bucket(ctx, attrs)
    if md is not None and not md.get(Obj.IS_DELETE_MARKER) and ctx.op.access.level == OBJECT:
        authorize(ctx, attrs, md).require()
    return attrs, md


def check_expected_owner(ctx: RequestContext, attrs: dict) -> None:
    """x-amz-expected-bucket-owner: AccessDenied unless it names the bucket's
    owner, by account id (AWS) or canonical id."""
    expected = ctx.header("x-amz-expected-bucket-owner")
    if expected is None:
        return
    owner = attrs.get(Bkt.OWNER)
    account = ctx.backend.accounts.by_canonical_id(owner) if owner else None
    if expected not in (owner, account.shortid if account is not None else None):
        raise S3Error("AccessDenied")


_FROM_OP = object()


async def load_object(ctx: RequestContext, bucket: str, key: str, *,
                      access: Access | None | object = _FROM_OP,
                      options: dict | None = None, bucket_attrs: dict | None = None) -> dict:
    """The object's metadata, after the access decision for ``access`` on
    it (by default the operation's own when it is object-level; None: no
    decision here, the bucket's was enough).  ``bucket_attrs``: the
    bucket's attributes when the caller has them already.

    As AWS, a missing key (or version: the metadata's NoSuchVersion is
    raised on) is NoSuchKey only to callers who may list the bucket; others
    get AccessDenied, so existence does not leak (:func:`may_list`).
    """
    if access is _FROM_OP:
        access = ctx.op.access if ctx.op.access.level == OBJECT else None
    try:
        if options:
            md = await ctx.backend.metadata.get_object(bucket, key, options)
        else:
            md = await ctx.backend.metadata.get_object(bucket, key)
    except (md_errors.NoSuchKey, md_errors.NoSuchVersion) as missing:
        if access is not None:
            attrs = bucket_attrs or await _bucket_attrs(ctx, bucket)
            may_list(ctx, attrs, key).require()
        if isinstance(missing, md_errors.NoSuchVersion):
            raise
        raise S3Error("NoSuchKey", Key=key) from None
    if access is not None:
        attrs = bucket_attrs or await _bucket_attrs(ctx, bucket)
        authorize(ctx, attrs, md, access=access).require()
    return md


def may_list(ctx: RequestContext, attrs: dict, key: str):
    """Whether the caller may learn that ``key`` is missing: s3:ListBucket
    with ``s3:prefix`` the key, so a policy granting the listing of a prefix
    reveals the absence of names under it only (s3-tests
    test_head_object_404_with_policy_prefix)."""
    return authorize(ctx, attrs, access=LIST_BUCKET, context_keys={"s3:prefix": (key,)})


async def _bucket_attrs(ctx: RequestContext, bucket: str) -> dict:
    try:
        return await ctx.backend.metadata.get_bucket(bucket)
    except md_errors.NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=bucket) from None


def user_metadata(ctx: RequestContext) -> dict[str, str]:
    """x-amz-meta-* headers (names lowercased, as AWS), with the 2 KB limit."""
    meta: dict[str, str] = {}
    size = 0
    for name, values in ctx.headers.items():
        if name.startswith(USER_META_PREFIX):
            # Header bytes arrive latin-1 decoded; a value that is valid UTF-8 is
            # kept as text and sent back in latin-1 where it fits, as AWS does
            # (s3-tests test_object_set_get_unicode_metadata).
            raw = ",".join(values)
            try:
                value = raw.encode("latin-1").decode("utf-8")
            except UnicodeError:
                value = raw
            meta[name] = value
            size += len(name) - len(USER_META_PREFIX) + len(raw)
    if size > MAX_USER_METADATA:
        raise S3Error("MetadataTooLarge", Size=str(size), MaxSizeAllowed=str(MAX_USER_METADATA))
    return meta


def stored_headers(ctx: RequestContext) -> dict[str, str]:
    out = {}
    for name in STORED_HEADERS:
        value = ctx.header(name)
        if value is None:
            continue
        if name == "content-encoding":
            # aws-chunked describes this request's framing, not the object.
            codings = [c.strip() for c in value.split(",")]
            value = ", ".join(c for c in codings if c and c.lower() != "aws-chunked")
            if not value:
                continue
        out[name] = value
    return out


def website_redirect(ctx: RequestContext) -> str | None:
    """The x-amz-website-redirect-location a write asks for (None: none).

    Checked before any body byte is read, so a bad value stores nothing:
    it must name a page of this bucket (``/``) or a web address, and fit
    in 2 KiB.  An empty header asks for nothing, as upstream reads it.
    """
    value = ctx.header(WEBSITE_REDIRECT)
    if not value:
        return None
    if not value.startswith(("/", "http://", "https://")):
        raise S3Error("InvalidRedirectLocation")
    if len(value) > MAX_WEBSITE_REDIRECT:  # header text is latin-1: one char a byte
        raise S3Error("InvalidRedirectLocation", "The website redirect location must be "
                      f"at most {MAX_WEBSITE_REDIRECT} bytes long.")
    return value


def set_website_redirect(md: dict, value: str | None) -> None:
    """Store the redirect in the record; None removes it."""
    if value:
        md[REDIRECT_FIELD] = value
    else:
        md.pop(REDIRECT_FIELD, None)


def object_headers(md: dict, bucket: dict | None = None) -> list[tuple[str, str]]:
    """The headers GET and HEAD return for an object's metadata (in
    ``bucket``: whether an id-less record is the null version, see
    ``versions.shown_version_id``)."""
    headers = [
        ("Last-Modified", http_date(md[Obj.LAST_MODIFIED])),
        ("ETag", quoted_etag(md[Obj.ETAG])),
        ("Accept-Ranges", "bytes"),
    ]
    for name, value in md.get(Obj.HEADERS, {}).items():
        headers.append((name, value))
    for name, value in md.get(Obj.METADATA, {}).items():
        headers.append((name, value))
    version = client_version_id(md) if bucket is None else shown_version_id(md, bucket)
    if version is not None:
        headers.append(("x-amz-version-id", version))
    sc = md.get(Obj.STORAGE_CLASS, "STANDARD")
    if sc != "STANDARD":
        headers.append(("x-amz-storage-class", sc))
    if md.get(Obj.TAGS):
        headers.append(("x-amz-tagging-count", str(len(md[Obj.TAGS]))))
    if md.get(REDIRECT_FIELD):
        headers.append((WEBSITE_REDIRECT, md[REDIRECT_FIELD]))
    headers.extend(sse_headers(md.get(Obj.SSE)))
    headers.extend(lock_headers(md))
    return headers


def survives_disconnect(f):
    """Decorator for the step of a handler that writes metadata and frees data.

    A client that goes away cancels its handler; a metadata write already
    issued still lands, so the clean-up that depends on its outcome (remove
    the new data if it failed, the replaced data if it succeeded) must run to
    the end too, or a record could point at deleted data.  The wrapped
    coroutine runs detached: cancelling the caller's wait does not stop it.
    """
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        work = Deferred.fromCoroutine(f(*args, **kwargs))
        waiter: Deferred = Deferred()

        def relay(result):
            if not waiter.called:
                waiter.callback(result)
            elif isinstance(result, Failure):
                _log.failure("{name} failed after its request went away", result,
                             name=f.__name__)
            return None

        work.addBoth(relay)
        return waiter

    return wrapper

