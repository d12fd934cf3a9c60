# -*- test-case-name: tests.functional.test_boto3_objects -*-
"""
A test case base with a boto3 client on the shared server, bucket helpers,
an assertion for S3 error responses, and SigV4-signed raw requests for what
SDKs do not let a test control (Host header, keep-alive, Expect).
"""

from __future__ import annotations

import http.client
import os
import ssl
from pathlib import Path

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.functional.clients import (
    ACCESS_KEY_1,
    REGION,
    SECRET_KEY_1,
    boto3_client,
    empty_and_delete_bucket,
    unique_bucket,
)
from tests.functional.server import ServerTestCase


class S3TestCase(ServerTestCase):
    """``self.s3`` is a default boto3 client for account 1 (accessKey1)."""

    def setUp(self) -> None:
        super().setUp()
        self.workdir = Path(self.mktemp()).resolve()
        self.workdir.mkdir(parents=True)
        self.s3 = self.client()

    def client(self, **kwargs):
        """Another boto3 client on this server; see ``clients.boto3_client``."""
        return boto3_client(self.server, self.workdir, **kwargs)

    def make_bucket(self, tag: str | None = None, client=None) -> str:
        """Create a fresh bucket, emptied and deleted after the test."""
        client = client or self.s3
        name = unique_bucket(tag or self._testMethodName.removeprefix("test_"))
        client.create_bucket(Bucket=name)
        self.addCleanup(empty_and_delete_bucket, client, name)
        return name

    def assertS3Error(self, code: str, status: int | None, f, *args, **kwargs) -> ClientError:
        """
        ``f(*args, **kwargs)`` must fail with S3 error ``code`` (and HTTP
        ``status`` if given); returns the ``ClientError``.
        """
        try:
            result = f(*args, **kwargs)
        except ClientError as error:
            actual = error.response.get("Error", {}).get("Code")
            actual_status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if actual != code or (status is not None and actual_status != status):
                self.fail(f"expected {code} ({status}), got {actual} ({actual_status}): "
                          f"{error.response!r}")
            return error
        self.fail(f"expected {code} ({status}), but the call succeeded: {result!r}")

    def sign(self, method: str, path: str, body: bytes = b"",
             headers: dict[str, str] | None = None, *, host: str = "127.0.0.1",
             secret_key: str = SECRET_KEY_1) -> dict[str, str]:
        """
        The headers of a SigV4-signed request for ``http://<host>:<port><path>``
        (path already URL-encoded), Host included.
        """
        url = f"{self.server.scheme}://{host}:{self.server.port}{path}"
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
        S3SigV4Auth(Credentials(ACCESS_KEY_1, secret_key), "s3", REGION).add_auth(request)
        signed = dict(request.headers.items())
        signed["Host"] = f"{host}:{self.server.port}"
        return signed

    def signed_request(self, method: str, path: str, body: bytes = b"",
                       headers: dict[str, str] | None = None, *, host: str = "127.0.0.1",
                       secret_key: str = SECRET_KEY_1,
                       connection: http.client.HTTPConnection | None = None,
                       ) -> http.client.HTTPResponse:
        """
        Send a signed request (see ``sign``) to 127.0.0.1, on ``connection``
        if given (to test keep-alive) or on a new one.
        """
        signed = self.sign(method, path, body, headers, host=host, secret_key=secret_key)
        if connection is None:
            connection = self.connection()
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in signed.items():
            connection.putheader(name, value)
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        return connection.getresponse()

    def connection(self) -> http.client.HTTPConnection:
        """A new connection to the server (HTTPS trusting the test CA if TLS)."""
        if self.server.tls:
            context = ssl.create_default_context(cafile=self.server.ca_file)
            connection = http.client.HTTPSConnection("127.0.0.1", self.server.port,
                                                     timeout=60, context=context)
        else:
            connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        self.addCleanup(connection.close)
        return connection

    def write_file(self, name: str, size: int) -> Path:
        """
        A file of ``size`` pseudo-random bytes in this test's directory; no
        two MiB of it are equal, so misordered parts cannot go unnoticed.
        """
        path = self.workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        block = os.urandom(1 << 20)
        with open(path, "wb") as out:
            offset = 0
            while offset < size:
                chunk = (offset.to_bytes(8, "big") + block[8:])[:size - offset]
                out.write(chunk)
                offset += len(chunk)
        return path
