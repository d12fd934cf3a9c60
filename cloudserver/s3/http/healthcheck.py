# -*- test-case-name: tests.unit.test_healthcheck -*-
"""``GET /_/healthcheck`` (liveness) and ``GET /_/healthcheck/deep`` (every
data location's status), as upstream answers them: JSON, only for clients
that ``healthChecks.allowFrom`` (config.json; loopback by default) allows,
without S3 authentication.

The deep check asks each remote location once (aws_s3: HEAD of the remote
bucket, azure: the container's properties) and the answers are reused for
a few seconds (``Locations.healthcheck``), so a load balancer polling it
does not become remote traffic.  The KMS is asked too (its health, under
upstream's name: ``fileKms``, ``memoryKms``, ``awsKms``): objects cannot be
written or read encrypted while it is down.
"""
from __future__ import annotations

import ipaddress
import json
from typing import Iterable

from cloudserver.kms.build import kms_health
from cloudserver.s3.context import Response

PREFIX = "/_/"
PATHS = ("/_/healthcheck", "/_/healthcheck/deep")


def client_allowed(client: str, allow_from: Iterable[str]) -> bool:
    """Is ``client`` (an IP address) inside one of the allowed networks?"""
    try:
        addr = ipaddress.ip_address(client)
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    for entry in allow_from:
        try:
            if addr in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _json(status: int, payload) -> Response:
    body = json.dumps(payload, sort_keys=True).encode("utf-8")
    return Response(status=status, body=body, length=len(body),
                    content_type="application/json")


async def handle(backend, method: str, raw_path: str, client: str) -> Response | None:
    """The answer to an internal ``/_/`` request, or None when the path is
    not one of ours (the S3 routing then answers it as usual)."""
    path = raw_path.rstrip("/") or raw_path
    if path not in PATHS:
        return None
    if method not in ("GET", "POST"):
        return _json(400, {"code": "BadRequest", "message": "Only GET is allowed"})
    allow = getattr(backend.config, "health_allow_from", ("127.0.0.1/8", "::1"))
    if not client_allowed(client, allow):
        return _json(403, {"code": "AccessDenied", "message": "Access Denied"})
    if path == "/_/healthcheck":
        return _json(200, {"status": "OK"})
    results = dict(await backend.locations.healthcheck())
    if getattr(backend, "kms", None) is not None:  # a dmd's metrics port has none
        results.update(await kms_health(backend.kms))
    healthy = all(r.get("code") == 200 for r in results.values())
    return _json(200 if healthy else 503, results)
