# -*- test-case-name: tests.functional.test_client_matrix -*-
"""
The rows of the client matrix that test_awscli, test_s3cmd and test_rclone
do not hold, over HTTP and HTTPS: boto3 with botocore's default checksums
(HTTP: a checksum header and a signed payload; HTTPS: aws-chunked bodies
with a checksum trailer), curl with presigned URLs (v4 and v2), and the TLS
set-up itself: ``SSL=true`` + ``ENDPOINT`` as upstream's docker entrypoint,
TLS 1.2 minimum, a bad ``certFilePaths`` stopping start-up.
"""

from __future__ import annotations

import json
import shutil
import socket
import ssl

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

from tests.functional.clients import (
    ACCESS_KEY_1,
    LARGE_SIZE,
    REGION,
    SECRET_KEY_1,
    client_environment,
    md5_file,
    run_command,
)
from tests.functional.s3case import S3TestCase
from tests.functional.server import ServerProcess, ServerStartError
from twisted.trial import unittest

MIB = 1 << 20


class Boto3DefaultChecksumTests(S3TestCase):
    """boto3 as the docs configure it, botocore's checksum defaults untouched."""

    def record_requests(self, client, operation: str) -> list[dict[str, str]]:
        seen: list[dict[str, str]] = []
        client.meta.events.register(
            f"before-send.s3.{operation}",
            lambda request, **kwargs: seen.append(
                {k.lower(): v if isinstance(v, str) else v.decode()
                 for k, v in request.headers.items()}))
        return seen

    def assertChecksumMode(self, headers: dict[str, str]) -> None:
        """HTTP: x-amz-checksum-crc32 header; HTTPS: aws-chunked + trailer."""
        if self.server.tls:
            self.assertEqual(headers.get("x-amz-content-sha256"),
                             "STREAMING-UNSIGNED-PAYLOAD-TRAILER", headers)
            self.assertIn("aws-chunked", headers.get("content-encoding", ""), headers)
            self.assertEqual(headers.get("x-amz-trailer"), "x-amz-checksum-crc32", headers)
        else:
            self.assertIn("x-amz-checksum-crc32", headers)
            self.assertRegex(headers.get("x-amz-content-sha256", ""), "^[0-9a-f]{64}$")

    def test_put_get_with_default_checksum(self) -> None:
        bucket = self.make_bucket()
        seen = self.record_requests(self.s3, "PutObject")
        body = b"checksummed " * 10_000
        put = self.s3.put_object(Bucket=bucket, Key="k", Body=body)
        self.assertChecksumMode(seen[-1])
        self.assertIn("ChecksumCRC32", put)
        got = self.s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
        self.assertEqual(got["Body"].read(), body)
        self.assertEqual(got["ChecksumCRC32"], put["ChecksumCRC32"])

    def test_large_file_multipart(self) -> None:
        """upload_file: over 100 MiB in boto3's default 8 MiB parts, each with
        the default checksum; then download_file."""
        bucket = self.make_bucket()
        seen = self.record_requests(self.s3, "UploadPart")
        source = self.write_file("large.bin", LARGE_SIZE)
        self.s3.upload_file(str(source), bucket, "large.bin")
        self.assertEqual(len(seen), 13)
        for headers in seen:
            self.assertChecksumMode(headers)
        head = self.s3.head_object(Bucket=bucket, Key="large.bin")
        self.assertEqual(head["ContentLength"], LARGE_SIZE)
        self.assertTrue(head["ETag"].endswith('-13"'), head["ETag"])
        target = self.workdir / "large.out"
        self.s3.download_file(bucket, "large.bin", str(target),
                              Config=TransferConfig(max_concurrency=4))
        self.assertEqual(md5_file(target), md5_file(source))
        source.unlink()
        target.unlink()


class Boto3DefaultChecksumHTTPSTests(Boto3DefaultChecksumTests):
    serverTLS = True


class CurlPresignedTests(S3TestCase):
    """curl PUT and GET with URLs presigned by boto3 (v4 and v2 query auth)."""

    def setUp(self) -> None:
        super().setUp()
        self.curl = shutil.which("curl")
        if self.curl is None:
            raise unittest.SkipTest("curl is not installed")

    def run_curl(self, *args: object, fail: bool = True):
        tls = ["--cacert", self.server.ca_file] if self.server.tls else []
        argv = [self.curl, "--silent", "--show-error", *(["--fail"] if fail else []),
                "--max-time", "120", *tls, *args]
        return run_command(argv, client_environment(self.workdir), self.server)

    def roundtrip(self, signer) -> None:
        bucket = self.make_bucket()
        # Over 1 MiB: curl asks "Expect: 100-continue" before sending it.
        source = self.write_file("up.bin", 5 * MIB + 3)
        put_url = signer.generate_presigned_url(
            "put_object", Params={"Bucket": bucket, "Key": "presigned key"}, ExpiresIn=300)
        self.run_curl("--upload-file", source, put_url)
        get_url = signer.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "presigned key"}, ExpiresIn=300)
        target = self.workdir / "down.bin"
        self.run_curl("--output", target, get_url)
        self.assertEqual(md5_file(target), md5_file(source))
        # A URL whose query was tampered with is refused.
        tampered = get_url.replace("presigned%20key", "presigned%20kez")
        self.assertNotEqual(tampered, get_url)
        denied = self.run_curl("--output", "/dev/null", "--write-out", "%{http_code}",
                               tampered, fail=False)
        self.assertEqual(denied.stdout, "403")

    def test_presigned_v4(self) -> None:
        self.roundtrip(self.s3)

    def test_presigned_v2(self) -> None:
        self.roundtrip(self.client(signature_version="s3"))


class CurlPresignedHTTPSTests(CurlPresignedTests):
    serverTLS = True


class TLSStartupTests(unittest.SynchronousTestCase):
    """How certFilePaths and SSL=true start (or stop) the server."""

    def server(self, **kwargs) -> ServerProcess:
        workdir = self.mktemp()
        server = ServerProcess(workdir, **kwargs)
        self.addCleanup(server.destroy)
        return server

    def test_ssl_env_makes_ca_and_serves_https(self) -> None:
        """SSL=true ENDPOINT=localhost: ca.key, ca.crt, server.key, server.crt
        made in the working directory; HTTPS for localhost, trusted via ca.crt."""
        server = self.server(extra_env={"SSL": "true", "ENDPOINT": "localhost"})
        server.cwd = server.workdir
        server.start()
        for name in ("ca.key", "ca.crt", "server.key", "server.crt"):
            self.assertTrue((server.workdir / name).exists(), name)
        client = boto3.client(
            "s3", aws_access_key_id=ACCESS_KEY_1, aws_secret_access_key=SECRET_KEY_1,
            region_name=REGION, endpoint_url=f"https://localhost:{server.port}",
            verify=str(server.workdir / "ca.crt"),
            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))
        client.create_bucket(Bucket="ssl-is-cool")
        client.delete_bucket(Bucket="ssl-is-cool")
        # A restart keeps the CA its clients trust.
        ca = (server.workdir / "ca.crt").read_bytes()
        server.restart()
        self.assertEqual((server.workdir / "ca.crt").read_bytes(), ca)
        client.list_buckets()

    def test_tls_versions(self) -> None:
        server = self.server(tls=True)
        server.start()
        for version, accepted in ((ssl.TLSVersion.TLSv1_3, True),
                                  (ssl.TLSVersion.TLSv1_2, True),
                                  (ssl.TLSVersion.TLSv1_1, False)):
            context = ssl.create_default_context(cafile=server.ca_file)
            context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            context.maximum_version = version
            if not accepted:
                context.set_ciphers("DEFAULT:@SECLEVEL=0")
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
                try:
                    with context.wrap_socket(raw, server_hostname="127.0.0.1") as conn:
                        outcome = conn.version()
                except ssl.SSLError as error:
                    outcome = error
            if accepted:
                self.assertEqual(outcome, version.name.replace("_", "."))
            else:
                self.assertIsInstance(outcome, ssl.SSLError)

    def test_missing_key_stops_startup(self) -> None:
        server = self.server(tls=True)
        server.cert_files.server_key.unlink()
        error = self.assertRaises(ServerStartError, server.start)
        self.assertIn(f"cannot read certFilePaths.key {server.cert_files.server_key}",
                      str(error))

    def test_garbage_cert_stops_startup(self) -> None:
        server = self.server(tls=True)
        server.cert_files.server_cert.write_text("not a certificate\n")
        error = self.assertRaises(ServerStartError, server.start)
        self.assertIn(f"certFilePaths.cert {server.cert_files.server_cert} holds no PEM "
                      "certificate", str(error))

    def test_config_names_the_missing_field(self) -> None:
        server = self.server()
        server.port = None

        def write_config() -> None:
            ServerProcess._write_config(server)
            config = json.loads(server.config_path.read_text())
            config["certFilePaths"] = {"key": "only.key"}
            server.config_path.write_text(json.dumps(config))

        server._write_config = write_config
        error = self.assertRaises(ServerStartError, server.start)
        self.assertIn("certFilePaths.cert is needed", str(error))
