# -*- test-case-name: tests.unit.test_website_serve -*-
"""What a website request resolves to, without HTTP or storage: which
``websiteEndpoints`` host names a bucket, the key an index document
stands for, which routing rule applies, and where a redirect points.

The configuration is the stored model of ``xml/website.py``.  Routing
rules are tried in order and the first whose conditions all hold wins
(as upstream's ``findRoutingRule``): a KeyPrefixEquals holds for keys
starting with it, an HttpErrorCodeReturnedEquals only once the object's
fetch failed with that status.  A rule without a Condition applies to
every request (AWS); upstream stops at such a rule without redirecting.
"""
from __future__ import annotations

from collections.abc import Collection
from urllib.parse import quote

import attrs


def website_bucket(host: str, endpoints: Collection[str]) -> str | None:
    """The bucket a ``<bucket>.<website endpoint>`` Host names, else None."""
    hostname = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    hostname = hostname.lower()
    for endpoint in endpoints:
        suffix = "." + endpoint.lower()
        if hostname.endswith(suffix) and len(hostname) > len(suffix):
            return hostname[: -len(suffix)]
    return None


def index_key(key: str, suffix: str) -> str:
    """The key served for ``key``: a "directory" (the empty key, or one
    ending in '/') stands for its index document."""
    return key + suffix if key == "" or key.endswith("/") else key


@attrs.frozen
class Redirect:
    """A redirect to answer: its status and Location."""

    status: int
    location: str


def find_rule(rules: list[dict] | None, key: str, error_status: int | None = None
              ) -> dict | None:
    """The first routing rule that applies to ``key`` (and, after a failed
    fetch, to its ``error_status``), or None."""
    for rule in rules or ():
        condition = rule.get("condition") or {}
        prefix = condition.get("keyPrefixEquals")
        code = condition.get("httpErrorCodeReturnedEquals")
        if prefix is not None and not key.startswith(prefix):
            continue
        if code is not None and code != error_status:
            continue
        return rule
    return None


def quote_key(key: str) -> str:
    """A key as a URL path (UTF-8, percent-encoded; '/' kept)."""
    return quote(key, safe="/~")


def _location(protocol: str, host: str, key: str) -> str:
    return f"{protocol}://{host}/{quote_key(key)}"


def rule_redirect(rule: dict, key: str, protocol: str, host: str) -> Redirect:
    """Where a routing rule sends ``key``: its Protocol and HostName (else
    the request's), the key with ReplaceKeyWith, or with the condition's
    prefix replaced by ReplaceKeyPrefixWith, and its HttpRedirectCode
    (301 by default)."""
    redirect = rule["redirect"]
    if "replaceKeyWith" in redirect:
        key = redirect["replaceKeyWith"]
    elif "replaceKeyPrefixWith" in redirect:
        prefix = (rule.get("condition") or {}).get("keyPrefixEquals") or ""
        key = redirect["replaceKeyPrefixWith"] + key[len(prefix):]
    return Redirect(redirect.get("httpRedirectCode", 301),
                    _location(redirect.get("protocol", protocol),
                              redirect.get("hostName", host), key))


def redirect_all(target: dict, key: str, protocol: str) -> Redirect:
    """RedirectAllRequestsTo: the same key on another host, 301."""
    return Redirect(301, _location(target.get("protocol", protocol), target["hostName"], key))
