"""A compact S3 client for large objects, multipart uploads and listings.

http.client over presigned URLs (bench/sigv4.py): bodies are sent from one
8 MiB random buffer and read into one 1 MiB buffer, so the client neither
hashes nor copies much, and the socket calls release the GIL (multipart
parts go up on several threads).  Timings are wall-clock from the first
byte sent to the last byte of the response read.
"""
from __future__ import annotations

import html
import http.client
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from bench.sigv4 import Presigner

MIB = 1024 * 1024
_SOURCE = os.urandom(8 * MIB)


class S3Error(Exception):
    pass


class BigClient:
    def __init__(self, host: str, presigner: Presigner | None = None):
        self.host = host
        self.signer = presigner or Presigner(host)
        self._local = threading.local()

    #: A connection idle longer than this is replaced before use: servers
    #: close idle keep-alive connections (node's default after 5 s, which
    #: upstream CloudServer keeps), and a request sent on one that the server
    #: is closing meets a broken pipe.
    MAX_IDLE = 2.0

    def _conn(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        now = time.monotonic()
        if conn is not None and now - self._local.used > self.MAX_IDLE:
            self._drop()
            conn = None
        if conn is None:
            h, p = self.host.rsplit(":", 1)
            conn = self._local.conn = http.client.HTTPConnection(h, int(p), timeout=300)
        self._local.used = now
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # -- plain requests -------------------------------------------------------

    def request(self, method: str, bucket: str, key: str | None = None,
                params: dict[str, str] | None = None, body: bytes = b"",
                expect: tuple[int, ...] = (200, 204)) -> tuple[int, dict, bytes]:
        path = self.signer.path(method, bucket, key, params)
        conn = self._conn()
        try:
            conn.request(method, path, body=body,
                         headers={"Content-Length": str(len(body))}
                         if method in ("PUT", "POST") else {})
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            self._drop()
            raise
        if resp.status not in expect:
            raise S3Error(f"{method} {bucket}/{key or ''} {params or ''}: {resp.status} "
                          f"{data[:300]!r}")
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data

    def create_bucket(self, bucket: str) -> None:
        self.request("PUT", bucket, expect=(200, 409))

    # -- streams --------------------------------------------------------------

    def put_stream(self, bucket: str, key: str, size: int,
                   params: dict[str, str] | None = None) -> tuple[float, dict]:
        """PUT ``size`` bytes; (seconds, response headers)."""
        path = self.signer.path("PUT", bucket, key, params)
        conn = self._conn()
        started = time.perf_counter()
        try:
            conn.putrequest("PUT", path, skip_accept_encoding=True)
            conn.putheader("Content-Length", str(size))
            conn.endheaders()
            view = memoryview(_SOURCE)
            left = size
            while left:
                chunk = view[:min(left, len(view))]
                conn.send(chunk)
                left -= len(chunk)
            resp = conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            self._drop()
            raise
        elapsed = time.perf_counter() - started
        if resp.status != 200:
            raise S3Error(f"PUT {bucket}/{key}: {resp.status} {data[:300]!r}")
        return elapsed, {k.lower(): v for k, v in resp.getheaders()}

    def get_stream(self, bucket: str, key: str) -> tuple[float, int]:
        """GET an object, discarding it; (seconds, bytes)."""
        path = self.signer.path("GET", bucket, key)
        conn = self._conn()
        buf = bytearray(MIB)
        started = time.perf_counter()
        total = 0
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            if resp.status != 200:
                raise S3Error(f"GET {bucket}/{key}: {resp.status} {resp.read()[:300]!r}")
            while True:
                n = resp.readinto(buf)
                if not n:
                    break
                total += n
        except (OSError, http.client.HTTPException):
            self._drop()
            raise
        return time.perf_counter() - started, total

    # -- multipart ------------------------------------------------------------

    def multipart_upload(self, bucket: str, key: str, size: int, part_size: int,
                         concurrency: int = 4) -> float:
        """Create, upload parts on ``concurrency`` threads, complete; seconds."""
        started = time.perf_counter()
        _, _, body = self.request("POST", bucket, key, {"uploads": ""})
        upload_id = re.search(rb"<UploadId>([^<]+)</UploadId>", body).group(1).decode()
        count = (size + part_size - 1) // part_size

        def part(n: int) -> tuple[int, str]:
            length = min(part_size, size - (n - 1) * part_size)
            _, headers = self.put_stream(bucket, key, length,
                                         {"partNumber": str(n), "uploadId": upload_id})
            return n, headers["etag"]

        with ThreadPoolExecutor(concurrency) as pool:
            etags = sorted(pool.map(part, range(1, count + 1)))
        xml = "<CompleteMultipartUpload>" + "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>"
            for n, etag in etags) + "</CompleteMultipartUpload>"
        _, _, body = self.request("POST", bucket, key, {"uploadId": upload_id},
                                  body=xml.encode())
        if b"<Error>" in body:
            raise S3Error(f"complete {bucket}/{key}: {body[:300]!r}")
        return time.perf_counter() - started

    # -- listings -------------------------------------------------------------

    def _pages(self, bucket: str, params: dict[str, str]):
        """ListObjectsV2 pages of ``bucket``: (body, seconds) each."""
        token = None
        while True:
            query = {"list-type": "2", **params}
            if token:
                query["continuation-token"] = token
            t0 = time.perf_counter()
            _, _, body = self.request("GET", bucket, None, query)
            yield body, time.perf_counter() - t0
            if b"<IsTruncated>true</IsTruncated>" not in body:
                return
            token = html.unescape(re.search(
                rb"<NextContinuationToken>([^<]+)</NextContinuationToken>", body
            ).group(1).decode())

    def list_keys(self, bucket: str, prefix: str = "") -> set[str]:
        """Every key under ``prefix``."""
        return {html.unescape(k.decode())
                for body, _ in self._pages(bucket, {"prefix": prefix})
                for k in re.findall(rb"<Key>([^<]*)</Key>", body)}

    def list_all(self, bucket: str, page: int = 1000) -> tuple[float, int, list[float]]:
        """ListObjectsV2 page by page; (seconds, keys, per-page seconds)."""
        keys = 0
        pages = []
        started = time.perf_counter()
        for body, seconds in self._pages(bucket, {"max-keys": str(page)}):
            pages.append(seconds)
            keys += body.count(b"<Key>")
        return time.perf_counter() - started, keys, pages
