# -*- test-case-name: tests.functional.test_streaming -*-
"""
A 1 GiB object goes through the server without the server holding it:
the body is generated on the fly, uploaded with a streaming http.client
body, downloaded in chunks and compared by MD5, while the server's peak
resident memory (``VmHWM``) may grow by less than 128 MiB.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import time
import urllib.parse
from collections.abc import Iterator

from tests.functional.s3case import S3TestCase

SIZE = 1 << 30
CHUNK = 1 << 20
MAX_GROWTH_KIB = 128 * 1024


def generated_body(size: int, digest) -> Iterator[bytes]:
    """``size`` bytes, no two MiB equal, fed to ``digest`` as they are produced."""
    block = os.urandom(CHUNK)
    offset = 0
    while offset < size:
        chunk = (offset.to_bytes(8, "big") + block[8:])[:size - offset]
        digest.update(chunk)
        offset += len(chunk)
        yield chunk


class StreamingTests(S3TestCase):

    def connection(self, url: str) -> tuple[http.client.HTTPConnection, str]:
        split = urllib.parse.urlsplit(url)
        connection = http.client.HTTPConnection(split.hostname, split.port, timeout=300)
        self.addCleanup(connection.close)
        return connection, f"{split.path}?{split.query}"

    def test_one_gib_put_get(self) -> None:
        bucket = self.make_bucket()
        baseline_kib = self.server.peak_rss_kib()
        started = time.monotonic()

        put_url = self.s3.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": "gib"}, ExpiresIn=3600)
        connection, target = self.connection(put_url)
        sent = hashlib.md5()
        connection.request("PUT", target, body=generated_body(SIZE, sent),
                           headers={"Content-Length": str(SIZE)})
        response = connection.getresponse()
        body = response.read()
        self.assertEqual(response.status, 200, body)
        self.assertEqual(response.getheader("ETag"), f'"{sent.hexdigest()}"')
        put_seconds = time.monotonic() - started

        head = self.s3.head_object(Bucket=bucket, Key="gib")
        self.assertEqual(head["ContentLength"], SIZE)

        get_url = self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "gib"}, ExpiresIn=3600)
        connection, target = self.connection(get_url)
        connection.request("GET", target)
        response = connection.getresponse()
        self.assertEqual(response.status, 200)
        received, length = hashlib.md5(), 0
        while chunk := response.read(CHUNK):
            received.update(chunk)
            length += len(chunk)
        self.assertEqual(length, SIZE)
        self.assertEqual(received.hexdigest(), sent.hexdigest())
        get_seconds = time.monotonic() - started - put_seconds

        growth_kib = self.server.peak_rss_kib() - baseline_kib
        print(f"\n1 GiB PUT {put_seconds:.1f}s, GET {get_seconds:.1f}s, "
              f"server peak RSS growth {growth_kib // 1024} MiB")
        self.assertLess(growth_kib, MAX_GROWTH_KIB,
                        f"server peak RSS grew by {growth_kib // 1024} MiB "
                        f"(baseline {baseline_kib // 1024} MiB)")

    def test_ranged_get_of_large_object(self) -> None:
        """A Range at the end of a 64 MiB object returns exactly those bytes."""
        bucket = self.make_bucket()
        size = 64 << 20
        put_url = self.s3.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": "big"}, ExpiresIn=3600)
        connection, target = self.connection(put_url)
        tail = {}

        class Tail:
            def update(self, chunk: bytes) -> None:
                tail["last"] = chunk

        connection.request("PUT", target, body=generated_body(size, Tail()),
                           headers={"Content-Length": str(size)})
        response = connection.getresponse()
        self.assertEqual(response.status, 200, response.read())
        got = self.s3.get_object(Bucket=bucket, Key="big", Range=f"bytes={size - 100}-")
        self.assertEqual(got["ContentRange"], f"bytes {size - 100}-{size - 1}/{size}")
        self.assertEqual(got["Body"].read(), tail["last"][-100:])
