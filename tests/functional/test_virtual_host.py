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

import socket

from lxml import etree

from tests.functional.s3case import S3TestCase

_real_getaddrinfo = socket.getaddrinfo


def _localhost_getaddrinfo(host, *args, **kwargs):
    if isinstance(host, str) and host.endswith(".localhost"):
        host = "127.0.0.1"
    return _real_getaddrinfo(host, *args, **kwargs)


class VirtualHostTests(S3TestCase):

    def test_raw_host_header(self) -> None:
        bucket = self.make_bucket()
        host = f"{bucket}.localhost"
        put = self.signed_request("PUT", "/dir/key%20one", b"virtual body",
                                  {"Content-Type": "text/plain"}, host=host)
        self.assertEqual(put.status, 200, put.read())
        put.read()
        got = self.s3.get_object(Bucket=bucket, Key="dir/key one")
        self.assertEqual(got["Body"].read(), b"virtual body")

        get = self.signed_request("GET", "/dir/key%20one", host=host)
        self.assertEqual((get.status, get.read()), (200, b"virtual body"))

        listing = self.signed_request("GET", "/?list-type=2&prefix=dir%2F", host=host)
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
            response = self.signed_request("GET", f"/{bucket}/k", host=host)
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
