# -*- test-case-name: tests.functional.test_virtual_host -*-
"""
Virtual-hosted-style requests: the bucket in the Host header
(``<bucket>.localhost:<port>``), ``localhost`` being one of the default
rest endpoints.

``<bucket>.localhost`` does not resolve on every machine (glibc without
systemd-resolved does not), so boto3's name lookups of ``*.localhost`` are
pointed at 127.0.0.1 inside this process, and the raw requests connect to
127.0.0.1 and send the Host header explicitly.
"""

from __future__ import annotations

import http.client
import socket
import urllib.parse

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from lxml import etree

from tests.functional.clients import ACCESS_KEY_1, REGION, SECRET_KEY_1
from tests.functional.s3case import S3TestCase

_real_getaddrinfo = socket.getaddrinfo


def _localhost_getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".localhost"):
        host = "127.0.0.1"
    return _real_getaddrinfo(host, *args, **kwargs)


class VirtualHostTests(S3TestCase):

    def signed_request(self, method: str, host: str, path: str, body: bytes = b"",
                       headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
        """
        A SigV4-signed request for ``http://<host>:<port><path>`` sent to
        127.0.0.1 with that Host header.
        """
        url = f"http://{host}:{self.server.port}{path}"
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
        S3SigV4Auth(Credentials(ACCESS_KEY_1, SECRET_KEY_1), "s3", REGION).add_auth(request)
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=60)
        self.addCleanup(connection.close)
        split = urllib.parse.urlsplit(url)
        target = split.path + ("?" + split.query if split.query else "")
        connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        for name, value in request.headers.items():
            connection.putheader(name, value)
        connection.putheader("Host", f"{host}:{self.server.port}")
        connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        return connection.getresponse()

    def test_raw_host_header(self) -> None:
        bucket = self.make_bucket()
        host = f"{bucket}.localhost"
        put = self.signed_request("PUT", host, "/dir/key%20one", b"virtual body",
                                  {"Content-Type": "text/plain"})
        self.assertEqual(put.status, 200, put.read())
        put.read()
        got = self.s3.get_object(Bucket=bucket, Key="dir/key one")
        self.assertEqual(got["Body"].read(), b"virtual body")

        get = self.signed_request("GET", host, "/dir/key%20one")
        self.assertEqual((get.status, get.read()), (200, b"virtual body"))

        listing = self.signed_request("GET", host, "/?list-type=2&prefix=dir%2F")
        body = listing.read()
        self.assertEqual(listing.status, 200, body)
        ns = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
        root = etree.fromstring(body)
        self.assertEqual(root.findtext("s3:Name", namespaces=ns), bucket)
        self.assertEqual(root.xpath("//s3:Contents/s3:Key/text()", namespaces=ns),
                         ["dir/key one"])

    def test_raw_path_style_hosts(self) -> None:
        """``localhost`` and ``127.0.0.1`` without a bucket label are path-style."""
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"path style")
        for host in ("localhost", "127.0.0.1"):
            response = self.signed_request("GET", host, f"/{bucket}/k")
            self.assertEqual((response.status, response.read()), (200, b"path style"), host)

    def test_boto3_virtual_addressing(self) -> None:
        self.patch(socket, "getaddrinfo", _localhost_getaddrinfo)
        client = self.client(endpoint=f"http://localhost:{self.server.port}",
                             addressing_style="virtual")
        bucket = self.make_bucket(client=client)
        client.put_object(Bucket=bucket, Key="v/key+1", Body=b"vhost")
        self.assertEqual(client.get_object(Bucket=bucket, Key="v/key+1")["Body"].read(),
                         b"vhost")
        self.assertEqual(
            [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]], ["v/key+1"])
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="v/key+1")["Body"].read(),
                         b"vhost")
        client.delete_object(Bucket=bucket, Key="v/key+1")
        self.assertS3Error("NoSuchKey", 404, client.get_object, Bucket=bucket, Key="v/key+1")
