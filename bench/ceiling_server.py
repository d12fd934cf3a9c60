"""The ceiling: the fastest a one-process twisted.web server answers here.

No auth, no storage, no routing, no access log: GET returns 4 KiB, HEAD the
same headers, PUT reads (twisted.web has already buffered) and discards the
body, DELETE answers 204.  Whatever our S3 server does on top of HTTP
parsing and response writing shows up as the distance to this server's
rates under the same load generator.

    python3 bench/ceiling_server.py PORT
"""
from __future__ import annotations

import sys

from twisted.internet import reactor
from twisted.web import resource, server

BODY = b"x" * 4096


class Ceiling(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"application/octet-stream")
        return BODY

    def render_HEAD(self, request):
        request.setHeader(b"content-type", b"application/octet-stream")
        request.setHeader(b"content-length", b"4096")
        return b""

    def render_PUT(self, request):
        request.content.read()
        request.setHeader(b"etag", b'"0"')
        return b""

    def render_DELETE(self, request):
        request.setResponseCode(204)
        return b""

    def render_POST(self, request):
        request.content.read()
        return b""


class QuietSite(server.Site):
    def log(self, request):  # no access log: this is the ceiling
        pass


def main(port: int) -> None:
    reactor.listenTCP(port, QuietSite(Ceiling()), interface="127.0.0.1", backlog=1024)
    reactor.run()


if __name__ == "__main__":
    main(int(sys.argv[1]))
