# -*- test-case-name: tests.unit.test_website_serve -*-
"""Serving a bucket as a static website: the ``WebsiteGet`` /
``WebsiteHead`` operations of a ``websiteEndpoints`` host (routing.py).

Every request is anonymous (resource.py does not authenticate it) and
reads an object through the same load and access decision as GetObject
(``object_read.load_for_read``: ACLs and bucket policy, a missing key
AccessDenied to those who may not list), in upstream's order
(``websiteGet.js``): RedirectAllRequestsTo; a routing rule on the key;
the object, or the index document for a "directory"; a missing ``key``
whose ``key/<index>`` exists is a 302 to ``key/`` (AWS); the object's
x-amz-website-redirect-location is a 301.  A failed read is matched
against the error-code routing rules, then answered with the bucket's
ErrorDocument under the error's status, else with the HTML error page
(resource.py renders a :class:`WebsiteError` so).  No listings.
"""
from __future__ import annotations

import attrs

from cloudserver.metadata import errors as md_errors
from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.s3.context import RequestContext, Response
from cloudserver.s3.errors import S3Error
from cloudserver.s3.model import website as site
from cloudserver.s3.ops.object_read import load_for_read, respond_read
from cloudserver.s3.routing import WEBSITE_REFUSED
from cloudserver.s3.xml.website_page import error_page

HTML = "text/html; charset=utf-8"


class WebsiteError(S3Error):
    """An error answered as a website page; ``document_error`` is the
    ErrorDocument's own failure, shown on the page as AWS does."""

    def __init__(self, error: S3Error, document_error: S3Error | None = None):
        super().__init__(error.code, error.message, headers=error.headers, **error.extra)
        self.document_error = document_error


def _redirect(found: site.Redirect) -> Response:
    return Response(status=found.status, headers=[("Location", found.location)])


def _protocol(ctx: RequestContext) -> str:
    return "https" if ctx.secure else "http"


async def _bucket(ctx: RequestContext) -> dict:
    """The bucket's attributes; what it serves is decided object by object."""
    try:
        return await ctx.backend.metadata.get_bucket(ctx.bucket)
    except md_errors.NoSuchBucket:
        raise S3Error("NoSuchBucket", BucketName=ctx.bucket) from None


def _at(ctx: RequestContext, key: str) -> RequestContext:
    """The request as a read of ``key`` (the operation's key evolved, so
    the access decision and policy see the key served)."""
    return attrs.evolve(ctx, op=attrs.evolve(ctx.op, key=key))


async def _object(ctx: RequestContext, key: str, with_body: bool,
                  document: bool = False) -> Response:
    """The object at ``key``, or its website redirect (not for the error
    document, which is served as it is, without conditions)."""
    at = _at(ctx, key)
    attrs_, md = await load_for_read(at, with_body)
    redirect = md.get(Obj.WEBSITE_REDIRECT)
    if redirect and not document:
        return Response(status=301, headers=[("Location", redirect)])
    return await respond_read(at, attrs_, md, None, with_body, conditions=not document)


async def _missing(ctx: RequestContext, key: str) -> bool:
    try:
        await ctx.backend.metadata.get_object(ctx.bucket, key)
    except md_errors.NoSuchKey:
        return True
    return False


async def _folder_redirect(ctx: RequestContext, err: S3Error, key: str,
                           suffix: str) -> Response | None:
    """AWS: ``key`` missing but ``key/<index>`` readable -> 302 to ``key/``."""
    if not key or key.endswith("/") or err.code not in ("NoSuchKey", "AccessDenied"):
        return None
    if err.code == "AccessDenied" and not await _missing(ctx, key):
        return None  # the object exists and is private
    try:
        await load_for_read(_at(ctx, key + "/" + suffix), with_data=False)
    except S3Error:
        return None
    return Response(status=302, headers=[("Location", "/" + site.quote_key(key) + "/")])


async def _on_error(ctx: RequestContext, config: dict, err: S3Error, key: str,
                    with_body: bool) -> Response:
    """A failed read: an error-code routing rule, else the ErrorDocument
    with the error's status, else the error page."""
    rule = site.find_rule(config.get("routingRules"), key, err.status)
    if rule is not None:
        return _redirect(site.rule_redirect(rule, key, _protocol(ctx), ctx.host))
    document = config.get("errorDocument")
    if not document:
        raise WebsiteError(err)
    try:
        response = await _object(ctx, document, with_body, document=True)
    except S3Error as doc_err:
        raise WebsiteError(err, doc_err) from None
    response.status = err.status
    return response


async def serve(ctx: RequestContext, with_body: bool) -> Response:
    config = (await _bucket(ctx)).get(Bkt.WEBSITE)
    if not config:
        raise S3Error("NoSuchWebsiteConfiguration", BucketName=ctx.bucket)
    key = ctx.key
    if config.get("redirectAllRequestsTo"):
        return _redirect(site.redirect_all(config["redirectAllRequestsTo"], key,
                                           _protocol(ctx)))
    rule = site.find_rule(config.get("routingRules"), key)
    if rule is not None:
        return _redirect(site.rule_redirect(rule, key, _protocol(ctx), ctx.host))
    suffix = config["indexDocument"]
    try:
        return await _object(ctx, site.index_key(key, suffix), with_body)
    except S3Error as e:
        if e.code == "NotModified":
            raise  # a conditional GET's answer, not an error to dress
        err = e
    folder = await _folder_redirect(ctx, err, key, suffix)
    if folder is not None:
        return folder
    return await _on_error(ctx, config, err, key, with_body)


def error_response(err: S3Error, request_id: str, method: str) -> Response:
    """A website request's failure as AWS's website endpoints answer it:
    the HTML page (none for HEAD, which gets x-amz-error-* headers)."""
    headers = list(err.headers.items())
    extra = {name: str(value) for name, value in err.extra.items()}
    extra.update(RequestId=request_id, HostId=request_id)
    document = getattr(err, "document_error", None)
    if method == "HEAD" or err.status == 304:
        body = b""
        if err.status != 304:
            headers += [("x-amz-error-code", err.code), ("x-amz-error-message", err.message)]
    else:
        failed = None if document is None else (
            document.code, document.message,
            {name: str(value) for name, value in document.extra.items()})
        body = error_page(err.status, err.code, err.message, extra, failed)
    response = Response(status=err.status, headers=headers, body=body,
                        content_type=HTML if body else None)
    response.length = len(body)
    response.error_code = err.code
    return response


async def website_get(ctx: RequestContext) -> Response:
    return await serve(ctx, with_body=True)


async def website_head(ctx: RequestContext) -> Response:
    return await serve(ctx, with_body=False)


async def website_refused(ctx: RequestContext) -> Response:
    """Website endpoints take GET and HEAD only (AWS: 405)."""
    raise S3Error("MethodNotAllowed", Method=ctx.method, ResourceType="OBJECT")


HANDLERS = {"WebsiteGet": website_get, "WebsiteHead": website_head,
            WEBSITE_REFUSED: website_refused}
