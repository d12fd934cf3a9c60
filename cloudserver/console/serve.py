# -*- test-case-name: tests.unit.test_console -*-
"""``/_/console/``: the console's files, from the package (a wheel carries
them as package data), with a strict Content-Security-Policy.

Nothing here authenticates: the files are public, the same for everyone,
and hold no secret.  What the page does, it does through signed S3
requests on the same origin, which the usual phases (route, authenticate,
authorize) decide as any client's.  Only GET and HEAD; any other method,
or a path that is not one of the files, is answered here (405, 404) and
never reaches the S3 routing: a bucket cannot be named ``_``.
"""
from __future__ import annotations

from importlib import resources

from cloudserver.s3.context import Response

PREFIX = "/_/console"

#: scripts, styles and requests only from this origin; no inline script or
#: style, no framing (click-jacking), no plugins, forms only to us
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")

TYPES = {
    "html": "text/html; charset=utf-8",
    "js": "text/javascript; charset=utf-8",
    "css": "text/css; charset=utf-8",
    "svg": "image/svg+xml",
    "png": "image/png",
}

#: headers of every answer under the prefix, the files' and the errors'
COMMON_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cache-Control", "no-cache"),
)


def _load() -> dict[str, tuple[bytes, str]]:
    """name -> (bytes, content type) of every file of static/ (a few KiB,
    read once at import, so no request reads the disk)."""
    files: dict[str, tuple[bytes, str]] = {}
    for entry in resources.files(__package__).joinpath("static").iterdir():
        kind = TYPES.get(entry.name.rpartition(".")[2])
        if kind is not None and entry.is_file():
            files[entry.name] = (entry.read_bytes(), kind)
    return files


FILES = _load()


def _plain(status: int, text: str, extra: tuple[tuple[str, str], ...] = ()) -> Response:
    body = text.encode("utf-8")
    return Response(status=status, body=body, length=len(body),
                    content_type="text/plain; charset=utf-8",
                    headers=[*COMMON_HEADERS, *extra])


def handle(method: str, raw_path: str) -> Response | None:
    """The answer to a request under ``/_/console``, or None when the path
    is not the console's."""
    if raw_path != PREFIX and not raw_path.startswith(PREFIX + "/"):
        return None
    if method not in ("GET", "HEAD"):
        return _plain(405, "Method Not Allowed\n", (("Allow", "GET, HEAD"),))
    if raw_path == PREFIX:
        return _plain(301, "Moved\n", (("Location", PREFIX + "/"),))
    name = raw_path[len(PREFIX) + 1:] or "index.html"
    found = FILES.get(name)
    if found is None:
        return _plain(404, "Not Found\n")
    body, kind = found
    return Response(status=200, body=body, length=len(body), content_type=kind,
                    headers=list(COMMON_HEADERS))


def elsewhere(method: str, raw_path: str, host: str, port: int, secure: bool) -> Response | None:
    """The metrics port's answer under ``/_/console``: a redirect to the same
    path on the S3 port (same host name as the client used).  The page must
    be served by the origin it signs requests to: its CSP allows requests to
    'self' only, and S3's service-level calls (ListBuckets) answer no CORS."""
    if raw_path != PREFIX and not raw_path.startswith(PREFIX + "/"):
        return None
    if method not in ("GET", "HEAD"):
        return _plain(405, "Method Not Allowed\n", (("Allow", "GET, HEAD"),))
    name = host.rpartition(":")[0] if host.rpartition(":")[2].isdigit() else host
    if not name or any(c in name for c in "/\\@?#\r\n "):
        name = "localhost"
    scheme = "https" if secure else "http"
    target = f"{scheme}://{name}:{port}{PREFIX}/"
    return _plain(302, "Found\n", (("Location", target),))
