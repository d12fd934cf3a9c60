# -*- test-case-name: tests.functional.test_graceful_stop -*-
"""
SIGTERM stops the server gracefully (README "Stopping"): the port closes at
once, a download and an upload under way both complete, the process then
exits with status 0 within ``shutdownTimeout``; past that deadline an
upload is cut and leaves neither an object nor a data file.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

from botocore.exceptions import ClientError, EndpointConnectionError
from twisted.trial import unittest

from tests.functional.clients import boto3_client, unique_bucket
from tests.functional.s3case import S3TestCase
from tests.functional.server import ServerProcess

MIB = 1 << 20
GET_SIZE = 64 * MIB


def data_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


class _StopCase(S3TestCase):
    sharedServer = False

    def connect(self, url: str) -> tuple[http.client.HTTPConnection, str]:
        split = urllib.parse.urlsplit(url)
        connection = http.client.HTTPConnection(split.hostname, split.port, timeout=60)
        self.addCleanup(connection.close)
        return connection, f"{split.path}?{split.query}"

    def presigned(self, method: str, bucket: str, key: str) -> str:
        return self.s3.generate_presigned_url(method, Params={"Bucket": bucket, "Key": key},
                                              ExpiresIn=3600)

    def put_generated(self, bucket: str, key: str, body: Iterator[bytes], size: int):
        connection, target = self.connect(self.presigned("put_object", bucket, key))
        connection.request("PUT", target, body=body, headers={"Content-Length": str(size)})
        return connection.getresponse()

    def refused(self, within: float = 5.0) -> bool:
        """Whether a new connection to the S3 port is refused (soon)."""
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.server.port), timeout=1).close()
            except ConnectionRefusedError:
                return True
            time.sleep(0.05)
        return False

    def sigterm_and_exit(self, limit: float) -> tuple[int, float]:
        started = time.monotonic()
        code = self.server.wait_exit(limit)
        return code, time.monotonic() - started


class GracefulStopTests(_StopCase):
    serverConfig = {"shutdownTimeout": 20}

    def test_slow_get_completes_across_sigterm(self) -> None:
        bucket = "stop-get"
        self.s3.create_bucket(Bucket=bucket)
        block = os.urandom(MIB)
        chunks = [i.to_bytes(8, "big") + block[8:] for i in range(GET_SIZE // MIB)]
        response = self.put_generated(bucket, "big", iter(chunks), GET_SIZE)
        self.assertEqual(response.status, 200, response.read())
        response.read()
        sent = hashlib.md5(b"".join(chunks)).hexdigest()

        connection, target = self.connect(self.presigned("get_object", bucket, "big"))
        connection.request("GET", target)
        response = connection.getresponse()
        self.assertEqual(response.status, 200)
        received, length = hashlib.md5(), 0
        stopped_at = None
        while chunk := response.read(MIB):
            received.update(chunk)
            length += len(chunk)
            if stopped_at is None and length >= 4 * MIB:
                self.server.send_signal()
                stopped_at = time.monotonic()
                self.assertTrue(self.refused(), "the port still accepts after SIGTERM")
            time.sleep(0.02)  # a slow reader: ~1.5 s for the whole object
        self.assertEqual(length, GET_SIZE)
        self.assertEqual(received.hexdigest(), sent)
        self.assertEqual(response.getheader("Connection"), None)  # headers were out before
        code = self.server.wait_exit(20)
        self.assertEqual(code, 0)
        self.assertLess(time.monotonic() - stopped_at, 20)

    def test_slow_put_completes_across_sigterm(self) -> None:
        bucket = "stop-put"
        self.s3.create_bucket(Bucket=bucket)
        size, digest = 16 * MIB, hashlib.md5()
        block = os.urandom(MIB)

        def slow_body() -> Iterator[bytes]:
            for i in range(size // MIB):
                if i == 4:
                    self.server.send_signal()
                    self.assertTrue(self.refused(), "the port still accepts after SIGTERM")
                chunk = i.to_bytes(8, "big") + block[8:]
                digest.update(chunk)
                yield chunk
                time.sleep(0.1)

        response = self.put_generated(bucket, "slow", slow_body(), size)
        body = response.read()
        self.assertEqual(response.status, 200, body)
        self.assertEqual(response.getheader("Connection"), "close")
        self.assertEqual(response.getheader("ETag"), f'"{digest.hexdigest()}"')
        self.assertEqual(self.server.wait_exit(20), 0)
        # What was acknowledged is durable: a new server on the same
        # directories serves it.
        self.server.start()
        head = self.s3.head_object(Bucket=bucket, Key="slow")
        self.assertEqual((head["ContentLength"], head["ETag"]),
                         (size, f'"{digest.hexdigest()}"'))


class StopDeadlineTests(_StopCase):
    serverConfig = {"shutdownTimeout": 1}

    def test_deadline_cuts_endless_upload_leaving_nothing(self) -> None:
        bucket = "stop-cut"
        self.s3.create_bucket(Bucket=bucket)
        before = data_files(self.server.data_dir)
        stopped: list[float] = []

        def endless() -> Iterator[bytes]:
            for i in range(10_000):
                if i == 2:
                    self.server.send_signal()
                    stopped.append(time.monotonic())
                yield b"x" * 65536
                time.sleep(0.05)

        with self.assertRaises((OSError, http.client.HTTPException)):
            response = self.put_generated(bucket, "cut", endless(), 10_000 * 65536)
            response.read()
        code = self.server.wait_exit(15)
        self.assertEqual(code, 0)
        self.assertLess(time.monotonic() - stopped[0], 10)
        self.assertEqual(data_files(self.server.data_dir), before)
        self.server.start()
        with self.assertRaises(ClientError) as caught:
            self.s3.head_object(Bucket=bucket, Key="cut")
        self.assertEqual(caught.exception.response["Error"]["Code"], "404")


class DmdStopTests(unittest.SynchronousTestCase):
    """``--mode dmd`` under SIGTERM while a front writes through it: the
    connected front does not hold the stop (its idle connection is closed,
    its calls under way are answered), the dmd exits with status 0, and
    every PUT the front acknowledged is durable."""

    def test_sigterm_dmd_during_puts(self):
        dmd = ServerProcess(mode="dmd", extra_config={"shutdownTimeout": 20})
        self.addCleanup(dmd.destroy)
        dmd.start()
        front = ServerProcess(mode="s3", dmd=dmd)
        self.addCleanup(front.destroy)
        front.start()
        client = boto3_client(front, front.workdir)
        bucket = unique_bucket("dmdstop")
        client.create_bucket(Bucket=bucket)
        acked: dict[str, bytes] = {}
        failures: list[str] = []
        stop = threading.Event()

        def writer() -> None:
            i = 0
            while not stop.is_set():
                key = f"k{i:06d}"
                body = key.encode() * 200
                try:
                    client.put_object(Bucket=bucket, Key=key, Body=body)
                except (ClientError, EndpointConnectionError) as e:
                    failures.append(str(e))
                    time.sleep(0.01)
                else:
                    acked[key] = body
                i += 1

        thread = threading.Thread(target=writer, daemon=True)
        thread.start()
        try:
            deadline = time.monotonic() + 20
            while len(acked) < 30 and time.monotonic() < deadline:
                time.sleep(0.05)
            dmd.send_signal()
            started = time.monotonic()
            code = dmd.wait_exit(20)
            took = time.monotonic() - started
        finally:
            stop.set()
            thread.join(30)
        self.assertEqual(code, 0, dmd.describe())
        self.assertLess(took, 10, "a connected front held the dmd's stop")
        for message in failures:  # refused while stopping: 503, never 500
            self.assertIn("ServiceUnavailable", message, message)
        dmd.start()
        deadline = time.monotonic() + 15
        while True:
            try:
                client.head_bucket(Bucket=bucket)
                break
            except ClientError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        for key, body in sorted(acked.items()):
            self.assertEqual(client.get_object(Bucket=bucket, Key=key)["Body"].read(), body, key)
