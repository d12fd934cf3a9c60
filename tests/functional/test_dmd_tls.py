"""Split deployment over TLS: a dmd whose :9990 / :9991 serve TLS
(``metadataDaemon.https`` / ``dataDaemon.https``) and S3 fronts that reach
it with ``metadataClient`` / ``dataClient`` ``"https": true``, verifying the
dmd's certificate against the configured CA.  Certificates are made with
cloudserver.certs in each server's directory."""
from __future__ import annotations

import http.client
import json
import socket
import ssl

from botocore.exceptions import ClientError
from twisted.trial import unittest

from tests.functional.clients import boto3_client, unique_bucket
from tests.functional.server import ServerProcess


class ConfiguredServer(ServerProcess):
    """A ServerProcess whose config.json gets ``sections`` merged in."""

    def __init__(self, *args, sections: dict | None = None, **kwargs) -> None:
        self.sections = sections or {}
        super().__init__(*args, **kwargs)

    def _write_config(self) -> None:
        super()._write_config()
        config = json.loads(self.config_path.read_text())
        for name, extra in self.sections.items():
            config.setdefault(name, {}).update(extra)
        self.config_path.write_text(json.dumps(config, indent=4))


class DmdOverTLSTests(unittest.SynchronousTestCase):
    def setUp(self) -> None:
        # tls=True: a test CA and a certificate for 127.0.0.1 / localhost as
        # certFilePaths, which "https": true makes the daemons serve.
        self.dmd = ConfiguredServer(mode="dmd", tls=True, sections={
            "metadataDaemon": {"https": True}, "dataDaemon": {"https": True}})
        self.addCleanup(self.dmd.destroy)
        self.dmd.start()

    def front(self, client_tls: dict, tls: bool = False) -> ConfiguredServer:
        front = ConfiguredServer(mode="s3", dmd=self.dmd, tls=tls, sections={
            "metadataClient": client_tls, "dataClient": client_tls})
        self.addCleanup(front.destroy)
        front.start()
        return front

    def describe(self, *servers: ServerProcess) -> str:
        return "\n".join(p.describe(30) for p in (self.dmd, *servers))

    def test_daemon_ports_speak_tls(self):
        context = ssl.create_default_context(cafile=self.dmd.ca_file)
        for port in (self.dmd.metadata_port, self.dmd.data_port):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
                with context.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
                    self.assertIn(conn.version(), ("TLSv1.2", "TLSv1.3"))
        # Plain HTTP to the data port gets no HTTP answer.
        plain = http.client.HTTPConnection("127.0.0.1", self.dmd.data_port, timeout=10)
        self.addCleanup(plain.close)
        with self.assertRaises((http.client.HTTPException, OSError)):
            plain.request("GET", "/DataFile")
            plain.getresponse()

    def test_front_over_tls(self):
        # The front's own S3 port is HTTPS with another CA; its dmd clients
        # trust the dmd's CA, given explicitly.
        front = self.front({"https": True, "ca": self.dmd.ca_file}, tls=True)
        s3 = boto3_client(front, front.workdir)
        bucket = unique_bucket("dmdtls")
        body = b"through TLS to the dmd\n" * 50000  # > 1 MiB: several data chunks
        try:
            s3.create_bucket(Bucket=bucket)
            s3.put_object(Bucket=bucket, Key="dir/obj", Body=body)
            listing = s3.list_objects_v2(Bucket=bucket)
            self.assertEqual([(o["Key"], o["Size"]) for o in listing["Contents"]],
                             [("dir/obj", len(body))])
            self.assertEqual(s3.get_object(Bucket=bucket, Key="dir/obj")["Body"].read(), body)
            part = s3.get_object(Bucket=bucket, Key="dir/obj", Range="bytes=100-199")
            self.assertEqual(part["Body"].read(), body[100:200])
            s3.delete_object(Bucket=bucket, Key="dir/obj")
            s3.delete_bucket(Bucket=bucket)
        except ClientError as e:
            self.fail(f"{e}\n{self.describe(front)}")

    def test_untrusted_dmd_certificate_is_refused(self):
        # No ca and no certFilePaths: the platform's trust store, which does
        # not know the test CA; every call fails with 503, never in the clear.
        front = self.front({"https": True})
        s3 = boto3_client(front, front.workdir)
        with self.assertRaises(ClientError) as caught:
            s3.list_buckets()
        self.assertEqual(caught.exception.response["Error"]["Code"], "ServiceUnavailable",
                         self.describe(front))
