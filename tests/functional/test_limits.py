# -*- test-case-name: tests.functional.test_limits -*-
"""
Issue 20 against the real server: hostile numbers and documents answered
with S3 errors (never a 500), header sections over the limit answered then
closed, slowloris clients cut without starving a normal request, connection
caps refusing cleanly, a stalled upload timing out and leaving nothing.

The slow-client tests use real sockets against a server configured with
small timeouts (config.json ``limits``) and bounded counts.
"""

from __future__ import annotations

import http.client
import select
import socket
import time
import urllib.error
import urllib.request
from pathlib import Path

from lxml import etree

from tests.functional.s3case import S3TestCase

HUGE = "9" * 10_000


def read_response(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes (or ``timeout``)."""
    sock.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


def code_of(response: bytes) -> str | None:
    body = response.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in response else b""
    return etree.fromstring(body).findtext("Code") if body.strip() else None


def data_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


class HostileNumbersTests(S3TestCase):
    """Every numeric header and query value is length-checked before int():
    10,000 digits get AWS's answer for that value, never 500 InternalError."""

    def answer(self, method: str, path: str, headers: dict | None = None):
        response = self.signed_request(method, path, b"", headers)
        body = response.read()
        code = etree.fromstring(body).findtext("Code") if body.strip().startswith(b"<") else None
        self.assertLess(response.status, 500, (method, path[:80], body[:300]))
        return response.status, code

    def test_huge_numbers(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"0123456789")
        upload = self.s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
        self.addCleanup(self.s3.abort_multipart_upload, Bucket=bucket, Key="m", UploadId=upload)
        # Range: a start past any object is unsatisfiable; a huge end is the rest.
        self.assertEqual(self.answer("GET", f"/{bucket}/k", {"Range": f"bytes={HUGE}-"}),
                         (416, "InvalidRange"))
        response = self.signed_request("GET", f"/{bucket}/k", b"", {"Range": f"bytes=2-{HUGE}"})
        self.assertEqual((response.status, response.read()), (206, b"23456789"))
        invalid = (400, "InvalidArgument")
        for path in (f"/{bucket}/k?partNumber={HUGE}", f"/{bucket}?max-keys={HUGE}",
                     f"/{bucket}?list-type=2&max-keys={HUGE}",
                     f"/{bucket}?versions&max-keys={HUGE}",
                     f"/{bucket}?uploads&max-uploads={HUGE}",
                     f"/{bucket}/m?uploadId={upload}&max-parts={HUGE}",
                     f"/{bucket}/m?uploadId={upload}&part-number-marker={HUGE}",
                     f"/?max-buckets={HUGE}"):
            self.assertEqual(self.answer("GET", path), invalid, path[:60])
        self.assertEqual(self.answer("PUT", f"/{bucket}/m?partNumber={HUGE}&uploadId={upload}"),
                         invalid)

    def test_huge_content_length(self) -> None:
        bucket = self.make_bucket()
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        self.addCleanup(sock.close)
        sock.sendall(f"PUT /{bucket}/k HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     f"Content-Length: {HUGE}\r\n\r\n".encode())
        response = read_response(sock)
        self.assertTrue(response.startswith(b"HTTP/1.1 4"), response[:200])

    def test_presigned_expires_as_aws(self) -> None:
        """Above a week, negative or not a number: 400 AuthorizationQueryParametersError
        (it was 403 AccessDenied)."""
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"x")
        v4 = self.client(signature_version="s3v4")
        url = v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"},
                                        ExpiresIn=3600)
        self.assertIn("X-Amz-Expires=3600", url)
        week = ("X-Amz-Expires must be less than a week (in seconds); that is, the given "
                "X-Amz-Expires must be less than 604800 seconds")
        for value, message in (("604801", week), (HUGE, week),
                               ("-1", "X-Amz-Expires must be non-negative"),
                               ("soon", "X-Amz-Expires should be a number")):
            tampered = url.replace("X-Amz-Expires=3600", f"X-Amz-Expires={value}")
            with self.assertRaises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(tampered, timeout=30)
            body = caught.exception.read()
            self.assertEqual(caught.exception.code, 400, body)
            doc = etree.fromstring(body)
            self.assertEqual((doc.findtext("Code"), doc.findtext("Message")),
                             ("AuthorizationQueryParametersError", message))
        with urllib.request.urlopen(url, timeout=30) as ok:
            self.assertEqual(ok.read(), b"x")

    def test_complete_multipart_shape(self) -> None:
        """Parts wrapped in unknown elements, or a Part with unknown children,
        are MalformedXML; the upload is still there to complete."""
        bucket = self.make_bucket()
        upload = self.s3.create_multipart_upload(Bucket=bucket, Key="m")["UploadId"]
        etag = self.s3.upload_part(Bucket=bucket, Key="m", UploadId=upload, PartNumber=1,
                                   Body=b"part")["ETag"]
        part = f"<Part><PartNumber>1</PartNumber><ETag>{etag}</ETag></Part>"
        for inner in (f"<Wrap>{part}</Wrap>", part + "<Junk/>" * 10_000,
                      part.replace("</Part>", "<Extra>1</Extra></Part>")):
            body = f"<CompleteMultipartUpload>{inner}</CompleteMultipartUpload>".encode()
            response = self.signed_request("POST", f"/{bucket}/m?uploadId={upload}", body)
            payload = response.read()
            self.assertEqual((response.status, etree.fromstring(payload).findtext("Code")),
                             (400, "MalformedXML"), inner[:60])
        self.s3.complete_multipart_upload(
            Bucket=bucket, Key="m", UploadId=upload,
            MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": etag}]})
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="m")["Body"].read(), b"part")

    def test_header_section_too_large(self) -> None:
        """A 20 KB Authorization header, a 17 KB line without its end, a header
        section of 20 KB: 400 RequestHeaderSectionTooLarge, then the connection
        closes; the server goes on serving."""
        requests = (b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: " + b"a" * 20_000 + b"\r\n\r\n",
                    b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 17_000,
                    b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"v" * 1000)
                                                     for i in range(20)) + b"\r\n")
        for request in requests:
            sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
            self.addCleanup(sock.close)
            sock.sendall(request)
            response = read_response(sock)
            self.assertTrue(response.startswith(b"HTTP/1.1 400 "), response[:200])
            self.assertEqual(code_of(response), "RequestHeaderSectionTooLarge")
            self.assertIn(b"<MaxSizeAllowed>16384</MaxSizeAllowed>", response)
        self.assertIn("Buckets", self.s3.list_buckets())


class SlowClientTests(S3TestCase):
    """Slow headers and stalled bodies are cut (small timeouts for the test)."""

    serverConfig = {"limits": {"headerTimeout": 3, "idleTimeout": 2}}

    def test_slowloris_does_not_starve_a_request(self) -> None:
        """300 connections dripping header bytes: a normal request is served
        within 1 s while they drip, and each is cut (408) at its header deadline."""
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"served")
        head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 100
        drips = []
        for _ in range(300):
            sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
            self.addCleanup(sock.close)
            sock.sendall(head[:1])
            drips.append(sock)
        started = time.monotonic()
        latencies = []
        for position in range(1, 9):
            for sock in drips:
                sock.sendall(head[position:position + 1])
            begun = time.monotonic()
            body = self.s3.get_object(Bucket=bucket, Key="k")["Body"].read()
            latencies.append(time.monotonic() - begun)
            self.assertEqual(body, b"served")
        self.assertLess(max(latencies), 1.0, latencies)
        self.assertLess(time.monotonic() - started, 3.0)  # still within their deadline
        # They go on dripping (never idle): the header deadline (3 s from
        # their first byte) cuts each with 408.
        answers: dict[socket.socket, bytes] = {}
        position = 9
        while len(answers) < len(drips) and time.monotonic() - started < 8:
            for sock in drips:
                if sock in answers:
                    continue
                try:
                    sock.sendall(head[position % len(head):position % len(head) + 1])
                except OSError:
                    answers[sock] = read_response(sock, timeout=2) or b"closed"
            readable, _, _ = select.select([s for s in drips if s not in answers], [], [], 0.2)
            for sock in readable:
                answers[sock] = read_response(sock, timeout=2)
            position += 1
        self.assertEqual(len(answers), len(drips))
        firsts = {answer.split(b"\r\n", 1)[0] for answer in answers.values()}
        self.assertEqual(firsts, {b"HTTP/1.1 408 Request Timeout"})

    def test_stalled_body_times_out_and_leaves_nothing(self) -> None:
        bucket = self.make_bucket()
        before = data_files(self.server.data_dir)
        headers = self.sign("PUT", f"/{bucket}/stalled", b"",
                            {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        self.addCleanup(sock.close)
        head = f"PUT /{bucket}/stalled HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()) + "Content-Length: 1048576\r\n\r\n"
        sock.sendall(head.encode() + b"x" * 200_000)
        started = time.monotonic()
        response = read_response(sock, timeout=10)
        waited = time.monotonic() - started
        self.assertTrue(response.startswith(b"HTTP/1.1 400 "), response[:300])
        self.assertEqual(code_of(response), "RequestTimeout")
        self.assertLess(waited, 6)
        self.assertS3Error("NoSuchKey", 404, self.s3.get_object, Bucket=bucket, Key="stalled")
        self.assertEqual(data_files(self.server.data_dir) - before, set())


    def test_dripping_body_is_cut(self) -> None:
        """A body sent 10 bytes every 0.25 s is never idle but far under
        minBodyRate (1024 B/s over each 2 s window): 400 RequestTimeout."""
        bucket = self.make_bucket()
        headers = self.sign("PUT", f"/{bucket}/drip", b"",
                            {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        self.addCleanup(sock.close)
        sock.sendall((f"PUT /{bucket}/drip HTTP/1.1\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items())
            + "Content-Length: 100000\r\n\r\n").encode())
        started = time.monotonic()
        response = b""
        while time.monotonic() - started < 8 and not response:
            try:
                sock.sendall(b"x" * 10)
            except OSError:
                break
            ready, _, _ = select.select([sock], [], [], 0.25)
            if ready:
                response = read_response(sock, timeout=5)
        self.assertTrue(response.startswith(b"HTTP/1.1 400 "), response[:300])
        self.assertEqual(code_of(response), "RequestTimeout")
        self.assertLess(time.monotonic() - started, 6)
        self.assertS3Error("NoSuchKey", 404, self.s3.get_object, Bucket=bucket, Key="drip")


class ConnectionCapTests(S3TestCase):
    """Over the caps (config: 12 in all, 6 per client address): 503 SlowDown,
    then the connection closes; capacity comes back as connections end."""

    serverConfig = {"limits": {"maxConnections": 12, "maxConnectionsPerClient": 6}}

    def test_per_client_cap(self) -> None:
        bucket = self.make_bucket()
        # boto3's own pooled connection may hold one place: fill the rest
        held = []
        refused = None
        for _ in range(8):
            sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
            self.addCleanup(sock.close)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            ready, _, _ = select.select([sock], [], [], 5)
            first = sock.recv(4096) if ready else b""
            if b" 503 " in first.split(b"\r\n", 1)[0]:
                refused = first + read_response(sock, 5)
                break
            held.append(sock)
        self.assertIsNotNone(refused, "no connection was refused")
        self.assertLessEqual(len(held), 6)
        self.assertEqual(code_of(refused), "SlowDown")
        for sock in held:
            sock.close()
        # the places come back once the server has seen the closes
        deadline = time.monotonic() + 5
        while True:
            connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
            self.addCleanup(connection.close)
            response = self.signed_request("GET", f"/{bucket}?list-type=2",
                                           connection=connection)
            response.read()
            if response.status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(response.status, 200)
