# -*- test-case-name: tests.functional.test_logs -*-
"""
Logs of a real server: with ``"log": {"format": "json"}`` (or LOG_FORMAT=json)
every line of the log is one JSON object, the access lines carrying
werelogs' fields, under a boto3 workload; and a client that closes its
socket mid-download is logged with the bytes it got, not as a 200.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.parse

from botocore.exceptions import ClientError

from tests.functional.s3case import S3TestCase

#: the helper's own marker lines in server.log (not written by the server)
MARKER = "===="
ACCESS_FIELDS = ("time", "level", "name", "message", "hostname", "pid", "req_id",
                 "elapsed_ms", "httpCode", "httpMethod", "httpURL", "bodyLength",
                 "bytesSent", "clientIP", "clientPort", "operation")


def wait_for(what: str, check, server, timeout: float = 30.0):
    """Log lines are written at the end of a reactor turn: a bounded wait."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}\n{server.describe(40)}")


class JsonLogsMixin:
    def records(self) -> list[dict]:
        """Every server line of the log, parsed: a line that is not JSON fails."""
        out = []
        for number, line in enumerate(self.server.log_path.read_text().splitlines(), 1):
            if line.startswith(MARKER):
                continue
            try:
                out.append(json.loads(line))
            except ValueError:
                self.fail(f"log line {number} is not JSON: {line!r}")
        return out

    def access(self, req_ids) -> list[dict]:
        return [r for r in self.records() if r.get("message") == "responded to request"
                and r.get("req_id") in req_ids]

    def test_workload_lines_parse(self) -> None:
        bucket = self.make_bucket()
        ids = {}
        meta = self.s3.create_bucket(Bucket=bucket + "-2")["ResponseMetadata"]
        ids["CreateBucket"] = meta["RequestId"]
        self.s3.delete_bucket(Bucket=bucket + "-2")
        put = self.s3.put_object(Bucket=bucket, Key="dir/k\u00e9y", Body=b"hello")
        ids["PutObject"] = put["ResponseMetadata"]["RequestId"]
        got = self.s3.get_object(Bucket=bucket, Key="dir/k\u00e9y")
        self.assertEqual(got["Body"].read(), b"hello")
        ids["GetObject"] = got["ResponseMetadata"]["RequestId"]
        with self.assertRaises(ClientError) as missing:
            self.s3.get_object(Bucket=bucket, Key="nope")
        ids["NoSuchKey"] = missing.exception.response["ResponseMetadata"]["RequestId"]
        self.s3.list_objects_v2(Bucket=bucket)
        url = self.s3.generate_presigned_url("get_object",
                                             Params={"Bucket": bucket, "Key": "dir/k\u00e9y"})
        raw_query = dict(part.split("=", 1) for part in urllib.parse.urlsplit(url).query.split("&"))
        signature = raw_query.get("X-Amz-Signature") or raw_query["Signature"]
        conn = self.connection()
        split = urllib.parse.urlsplit(url)
        conn.request("GET", f"{split.path}?{split.query}")
        self.assertEqual(conn.getresponse().read(), b"hello")

        lines = wait_for("the access lines", lambda: (
            len(self.access(set(ids.values()))) == len(ids) and self.access(set(ids.values()))),
            self.server)
        by_id = {line["req_id"]: line for line in lines}
        for what, request_id in ids.items():
            line = by_id[request_id]
            for field in ACCESS_FIELDS:
                self.assertIn(field, line, (what, line))
            self.assertEqual(line["level"], "info")
            self.assertEqual(line["clientIP"], "127.0.0.1")
        self.assertEqual(by_id[ids["PutObject"]]["bodyLength"], 5)
        get = by_id[ids["GetObject"]]
        self.assertEqual((get["httpCode"], get["bytesSent"], get["bucketName"],
                          get["objectKey"], get["accountName"]),
                         (200, 5, bucket, "dir/k\u00e9y", "Bart"))
        self.assertIn("canonicalId", get)
        error = by_id[ids["NoSuchKey"]]
        self.assertEqual((error["httpCode"], error["errorCode"]), (404, "NoSuchKey"))
        records = self.records()
        # twistd's own lines and the start-up lines are JSON too
        self.assertTrue(any("starting up" in r.get("message", "") for r in records))
        self.assertTrue(any(r.get("message", "").startswith("cloudserver all mode")
                            for r in records))
        text = self.server.log_path.read_text()
        self.assertNotIn(signature, text)
        self.assertNotIn("verySecretKey1", text)


class JsonLogConfigTests(JsonLogsMixin, S3TestCase):
    serverConfig = {"log": {"logLevel": "info", "dumpLevel": "error", "format": "json"}}


class JsonLogEnvTests(JsonLogsMixin, S3TestCase):
    serverEnv = {"LOG_FORMAT": "json"}


SIZE = 70 << 20
READ = 1 << 20


class AbortedDownloadLogTests(S3TestCase):
    """A 70 MiB GET whose client leaves after ~1 MiB: its access line says
    so (it said ``200 ... out=0``)."""

    def test_client_leaves_mid_get(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="big", Body=b"\x5a" * SIZE)
        url = self.s3.generate_presigned_url("get_object",
                                             Params={"Bucket": bucket, "Key": "big"})
        split = urllib.parse.urlsplit(url)
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=30) as raw:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            raw.sendall(f"GET {split.path}?{split.query} HTTP/1.1\r\n"
                        f"Host: 127.0.0.1:{self.server.port}\r\n\r\n".encode())
            got = b""
            while len(got) < READ:
                chunk = raw.recv(65536)
                self.assertTrue(chunk, "server closed early")
                got += chunk
            self.assertIn(b" 200 OK", got.split(b"\r\n", 1)[0])
        pattern = f" GetObject bucket={bucket} key=big "

        def line():
            found = [x for x in self.server.log_path.read_text().splitlines() if pattern in x]
            return found[-1] if found else None
        text = wait_for("the GET's access line", line, self.server)
        after = text.split(pattern, 1)[1].split()
        status, out = after[0], int(after[3].removeprefix("out="))
        self.assertEqual(status, "499", text)
        self.assertGreater(out, 0, text)
        self.assertLess(out, SIZE // 2, text)
