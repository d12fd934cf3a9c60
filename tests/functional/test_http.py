# -*- test-case-name: tests.functional.test_http -*-
"""
HTTP-level contracts that SDKs rarely exercise: keep-alive after an early
error, ``Expect: 100-continue``, bad input answered with S3 errors (never a
500), and an upload cut short leaving no object.
"""

from __future__ import annotations

import http.client
import socket

from lxml import etree

from tests.functional.clients import unique_bucket
from tests.functional.s3case import S3TestCase


def read_head(sock: socket.socket) -> bytes:
    """Read up to the end of one response's headers."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


#: An external entity: must be refused, never resolved.
XXE = (b"<!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"
       b"<Delete><Object><Key>&e;</Key></Object></Delete>")


class HttpTests(S3TestCase):

    def raw_socket(self) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=15)
        self.addCleanup(sock.close)
        return sock

    def request_bytes(self, method: str, path: str, headers: dict[str, str]) -> bytes:
        lines = [f"{method} {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def test_keep_alive_after_early_error(self) -> None:
        """
        A PUT refused before its body is read (NoSuchBucket) must not leave
        body bytes to be parsed as the next request on the connection.
        """
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="there", Body=b"still here")
        missing = unique_bucket("missing")
        for size in (1, 10, 100_000):
            connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
            self.addCleanup(connection.close)
            refused = self.signed_request("PUT", f"/{missing}/k", b"x" * size,
                                          connection=connection)
            self.assertEqual(refused.status, 404, size)
            refused.read()
            after = self.signed_request("GET", f"/{bucket}/there", connection=connection)
            self.assertEqual((after.status, after.read()), (200, b"still here"), size)

    def test_keep_alive_many_requests(self) -> None:
        bucket = self.make_bucket()
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        self.addCleanup(connection.close)
        for i in range(20):
            put = self.signed_request("PUT", f"/{bucket}/k{i}", b"v" * i, connection=connection)
            self.assertEqual(put.status, 200, put.read())
            put.read()
            get = self.signed_request("GET", f"/{bucket}/k{i}", connection=connection)
            self.assertEqual((get.status, get.read()), (200, b"v" * i))

    def test_expect_continue(self) -> None:
        """A good request gets 100 Continue; a bad signature gets 403 instead."""
        bucket = self.make_bucket()
        body = b"continued body"
        headers = self.sign("PUT", f"/{bucket}/ok", body, {"Expect": "100-continue"})
        headers["Content-Length"] = str(len(body))
        sock = self.raw_socket()
        sock.sendall(self.request_bytes("PUT", f"/{bucket}/ok", headers))
        interim = read_head(sock)
        self.assertTrue(interim.startswith(b"HTTP/1.1 100"), interim)
        sock.sendall(body)
        final = read_head(sock)
        self.assertTrue(final.startswith(b"HTTP/1.1 200"), final)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="ok")["Body"].read(), body)

        headers = self.sign("PUT", f"/{bucket}/bad", body, {"Expect": "100-continue"},
                            secret_key="wrongSecret")
        headers["Content-Length"] = str(len(body))
        sock = self.raw_socket()
        sock.sendall(self.request_bytes("PUT", f"/{bucket}/bad", headers))
        refused = read_head(sock)
        self.assertTrue(refused.startswith(b"HTTP/1.1 403"), refused)
        self.assertS3Error("NoSuchKey", 404, self.s3.get_object, Bucket=bucket, Key="bad")

    def test_interrupted_upload_leaves_nothing(self) -> None:
        """A client that disconnects mid-body leaves no object, and the server lives on."""
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="cut", Body=b"previous version")
        size = 4 << 20
        headers = self.sign("PUT", f"/{bucket}/cut", b"z" * size)
        headers["Content-Length"] = str(size)
        sock = self.raw_socket()
        sock.sendall(self.request_bytes("PUT", f"/{bucket}/cut", headers))
        sock.sendall(b"z" * (size // 4))
        sock.close()
        # The old version is intact, no new object appeared, the server answers.
        for _ in range(3):
            got = self.s3.get_object(Bucket=bucket, Key="cut")
            self.assertEqual(got["Body"].read(), b"previous version")
        self.assertEqual([o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket)["Contents"]],
                         ["cut"])
        self.assertTrue(self.server.alive())

    def test_bad_input_is_an_s3_error(self) -> None:
        """Malformed requests are answered 4xx with an S3 error document."""
        bucket = self.make_bucket()
        cases = [
            ("PUT", f"/{bucket}/k", b"x", {"Authorization": "AWS4-HMAC-SHA256 nonsense"}),
            ("PUT", f"/{bucket}/k", b"x", {"Authorization": "Bearer token"}),
            ("POST", f"/{bucket}?delete", b"<Delete><Object>", None),
            ("POST", f"/{bucket}?delete", XXE, None),
            ("PUT", f"/{unique_bucket('cfg')}", b"<CreateBucketConfiguration><Location", None),
            ("GET", f"/{bucket}/k", b"", {"Range": "bytes=oops"}),
        ]
        for method, path, body, raw_headers in cases:
            if raw_headers is None:
                response = self.signed_request(method, path, body)
            else:
                connection = http.client.HTTPConnection("127.0.0.1", self.server.port,
                                                        timeout=30)
                self.addCleanup(connection.close)
                connection.request(method, path, body=body, headers=raw_headers)
                response = connection.getresponse()
            payload = response.read()
            case = (method, path, body[:40], raw_headers)
            self.assertTrue(400 <= response.status < 500, (response.status, payload, case))
            code = etree.fromstring(payload).findtext("Code")
            self.assertTrue(code, (payload, case))
            self.assertNotIn(b"Traceback", payload)
        self.assertTrue(self.server.alive())
