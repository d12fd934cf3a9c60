# -*- test-case-name: tests.functional.test_sse_object -*-
"""Server-side encryption on the single-object paths, through boto3 (default
checksums) and aws-cli against a real server: SSE-S3, SSE-KMS and SSE-C
round trips with ranges, inline and large objects, every copy between
modes, the SSE-C key checks, and raw reads of the data and metadata files
showing neither an encrypted object's plaintext nor a customer key."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from twisted.trial import unittest

from tests.functional.clients import AwsCli, boto3_client, empty_and_delete_bucket, unique_bucket
from tests.functional.s3case import S3TestCase
from tests.functional.server import ServerProcess

#: Recognisable plaintext: found in a raw file, it leaked.
PATTERN = b"CLEARTEXT-PATTERN-0123456789-"
KEY_1 = bytes(range(32))
KEY_2 = bytes(range(100, 132))
#: Configured as known key ids in conf/config.json (kms.keyIds).
KMS_KEY = "testkey-1"
MODES = ("clear", "AES256", "aws:kms", "SSE-C")


def customer(key: bytes, prefix: str = "SSECustomer") -> dict:
    """boto3's SSE-C parameters (it computes the key MD5 itself)."""
    return {prefix + "Algorithm": "AES256", prefix + "Key": key}


def write_args(mode: str, key: bytes = KEY_1) -> dict:
    if mode == "AES256":
        return {"ServerSideEncryption": "AES256"}
    if mode == "aws:kms":
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": KMS_KEY}
    if mode == "SSE-C":
        return customer(key)
    return {}


def raw_customer(key: bytes) -> dict:
    """SSE-C parameters as text (the operations boto3 does not encode)."""
    return {"SSECustomerAlgorithm": "AES256",
            "SSECustomerKey": base64.b64encode(key).decode(),
            "SSECustomerKeyMD5": base64.b64encode(hashlib.md5(key).digest()).decode()}


def read_args(mode: str, key: bytes = KEY_1) -> dict:
    return customer(key) if mode == "SSE-C" else {}


#: Written only encrypted (other tests of the shared server store PATTERN in the clear).
SECRET = b"ONLY-EVER-ENCRYPTED-PATTERN-"


def pattern(size: int, base: bytes = PATTERN) -> bytes:
    return (base * (size // len(base) + 1))[:size]


def files_under(*roots: Path):
    for root in roots:
        for dirpath, _, names in os.walk(root):
            for name in names:
                path = Path(dirpath) / name
                if path.is_file():
                    yield path


def assert_not_in_files(case: unittest.SynchronousTestCase, needles: list[bytes],
                        *roots: Path) -> int:
    """No file under ``roots`` holds any of ``needles``; the number of files read."""
    count = 0
    for path in files_under(*roots):
        data = path.read_bytes()
        count += 1
        for needle in needles:
            at = data.find(needle)
            if at >= 0:
                case.fail(f"{needle[:20]!r}... found in {path}: {data[max(0, at - 400):at]!r}")
    return count


class SseObjectTests(S3TestCase):
    """SSE over HTTP, SSE-C allowed by ``sseCustomerKeyOverHttp``."""

    serverConfig = {"sseCustomerKeyOverHttp": True}

    def put(self, bucket: str, key: str, body: bytes, mode: str) -> dict:
        return self.s3.put_object(Bucket=bucket, Key=key, Body=body, **write_args(mode))

    def get(self, bucket: str, key: str, mode: str = "clear", **kw) -> bytes:
        return self.s3.get_object(Bucket=bucket, Key=key, **read_args(mode), **kw)["Body"].read()

    def assertEcho(self, response: dict, mode: str) -> None:
        if mode == "clear":
            self.assertNotIn("ServerSideEncryption", response)
            self.assertNotIn("SSECustomerAlgorithm", response)
        elif mode == "SSE-C":
            self.assertEqual(response["SSECustomerAlgorithm"], "AES256")
            self.assertIn("SSECustomerKeyMD5", response)
            self.assertNotIn("ServerSideEncryption", response)
        else:
            self.assertEqual(response["ServerSideEncryption"], mode)
            if mode == "aws:kms":
                self.assertEqual(response["SSEKMSKeyId"], KMS_KEY)

    def test_round_trips_with_ranges(self) -> None:
        """Every mode, small (inline) and stored objects, ranges at the AES
        block boundaries, suffix and open ranges; echo on PUT/GET/HEAD."""
        bucket = self.make_bucket()
        for size in (1000, 200_000):
            body = pattern(size)
            for mode in MODES:
                key = f"{mode}-{size}"
                put = self.put(bucket, key, body, mode)
                self.assertEcho(put, mode)
                etag = put["ETag"].strip('"')
                if mode in ("clear", "AES256"):
                    self.assertEqual(etag, hashlib.md5(body).hexdigest())
                else:
                    self.assertNotEqual(etag, hashlib.md5(body).hexdigest())
                got = self.s3.get_object(Bucket=bucket, Key=key, **read_args(mode))
                self.assertEqual(got["Body"].read(), body)
                self.assertEcho(got, mode)
                self.assertEqual(got["ETag"].strip('"'), etag)
                head = self.s3.head_object(Bucket=bucket, Key=key, **read_args(mode))
                self.assertEcho(head, mode)
                self.assertEqual(head["ContentLength"], size)
                for rng, want in (("bytes=0-15", body[:16]), ("bytes=16-31", body[16:32]),
                                  ("bytes=17-1000", body[17:1001]),
                                  ("bytes=-100", body[-100:]), ("bytes=-17", body[-17:]),
                                  (f"bytes={size - 33}-", body[size - 33:])):
                    self.assertEqual(self.get(bucket, key, mode, Range=rng), want,
                                     f"{mode} {size} {rng}")
                # Conditional reads compare the stored ETag.
                self.assertEqual(self.get(bucket, key, mode, IfMatch=put["ETag"]), body)
                self.assertEqual(self.get(bucket, key, mode, PartNumber=1), body)

    def test_empty_object(self) -> None:
        bucket = self.make_bucket()
        for mode in MODES:
            self.assertEcho(self.put(bucket, mode, b"", mode), mode)
            self.assertEqual(self.get(bucket, mode, mode), b"")

    def test_large_streaming_object(self) -> None:
        """64 MiB in one PUT (not multipart), read whole and in ranges."""
        bucket = self.make_bucket()
        size = 64 * 1024 * 1024 + 5
        body = os.urandom(1 << 20) * 64 + b"tail!"
        put = self.put(bucket, "big", body, "AES256")
        self.assertEqual(put["ETag"].strip('"'), hashlib.md5(body).hexdigest())
        got = self.get(bucket, "big")
        self.assertEqual(len(got), size)
        self.assertEqual(hashlib.md5(got).hexdigest(), hashlib.md5(body).hexdigest())
        mid = 33 * 1024 * 1024 + 7
        self.assertEqual(self.get(bucket, "big", Range=f"bytes={mid}-{mid + 100_000}"),
                         body[mid:mid + 100_001])
        self.assertEqual(self.get(bucket, "big", Range="bytes=-10"), body[-10:])

    def test_ssec_key_checks(self) -> None:
        """GET/HEAD of an SSE-C object without its key 400; with a wrong one
        GET 400 (s3-tests), HEAD 403; a key on a clear object is refused too."""
        bucket = self.make_bucket()
        self.put(bucket, "c", pattern(5000), "SSE-C")
        self.assertS3Error("InvalidRequest", 400, self.s3.get_object, Bucket=bucket, Key="c")
        self.assertS3Error("InvalidRequest", 400, self.s3.get_object, Bucket=bucket, Key="c",
                           **customer(KEY_2))
        self.assertS3Error("400", 400, self.s3.head_object, Bucket=bucket, Key="c")
        self.assertS3Error("403", 403, self.s3.head_object, Bucket=bucket, Key="c",
                           **customer(KEY_2))
        self.assertS3Error("InvalidRequest", 400, self.s3.get_object_attributes,
                           Bucket=bucket, Key="c", ObjectAttributes=["ETag"])
        attrs = self.s3.get_object_attributes(Bucket=bucket, Key="c",
                                              ObjectAttributes=["ObjectSize"],
                                              **raw_customer(KEY_1))
        self.assertEqual(attrs["ObjectSize"], 5000)
        self.put(bucket, "clear", b"x", "clear")
        self.assertS3Error("InvalidRequest", 400, self.s3.get_object, Bucket=bucket,
                           Key="clear", **customer(KEY_1))

    def test_kms_headers_refused_on_get(self) -> None:
        bucket = self.make_bucket()
        self.put(bucket, "k", b"data", "AES256")
        import http.client
        headers = self.sign("GET", f"/{bucket}/k",
                            headers={"x-amz-server-side-encryption": "AES256"})
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
        conn.request("GET", f"/{bucket}/k", headers=headers)
        response = conn.getresponse()
        body = response.read()
        conn.close()
        self.assertEqual(response.status, 400, body)
        self.assertIn(b"InvalidArgument", body)

    def test_bad_kms_key_stores_nothing(self) -> None:
        bucket = self.make_bucket()
        self.assertS3Error("KMS.NotFoundException", 400, self.s3.put_object, Bucket=bucket,
                           Key="k", Body=b"data", ServerSideEncryption="aws:kms",
                           SSEKMSKeyId="no-such-key")
        self.assertS3Error("404", 404, self.s3.head_object, Bucket=bucket, Key="k")

    def test_copy_between_every_pair_of_modes(self) -> None:
        bucket = self.make_bucket()
        for size in (3000, 100_000):
            body = pattern(size)
            for src_mode in MODES:
                src = f"src-{src_mode}-{size}"
                self.put(bucket, src, body, src_mode)
                for dst_mode in MODES:
                    dst = f"dst-{src_mode}-{dst_mode}-{size}"
                    source_key = ({"CopySourceSSECustomerAlgorithm": "AES256",
                                   "CopySourceSSECustomerKey": KEY_1}
                                  if src_mode == "SSE-C" else {})
                    result = self.s3.copy_object(
                        Bucket=bucket, Key=dst, CopySource={"Bucket": bucket, "Key": src},
                        **source_key, **write_args(dst_mode, KEY_2))
                    self.assertEcho(result, dst_mode)
                    got = self.s3.get_object(Bucket=bucket, Key=dst,
                                             **read_args(dst_mode, KEY_2))
                    self.assertEqual(got["Body"].read(), body, f"{src_mode} -> {dst_mode}")
                    self.assertEcho(self.s3.head_object(Bucket=bucket, Key=dst,
                                                        **read_args(dst_mode, KEY_2)),
                                    dst_mode)
                    if dst_mode == "SSE-C":
                        got = self.s3.get_object(Bucket=bucket, Key=dst, Range="bytes=17-1000",
                                                 **customer(KEY_2))
                        self.assertEqual(got["Body"].read(), body[17:1001])
                if src_mode == "SSE-C":
                    self.assertS3Error("InvalidRequest", 400, self.s3.copy_object,
                                       Bucket=bucket, Key="nokey",
                                       CopySource={"Bucket": bucket, "Key": src})

    def test_copy_onto_itself(self) -> None:
        """Changing only the encryption is a legal copy onto itself; a
        metadata-only copy keeps the data keys valid."""
        bucket = self.make_bucket()
        body = pattern(100_000)
        self.put(bucket, "o", body, "clear")
        source = {"Bucket": bucket, "Key": "o"}
        self.assertS3Error("InvalidRequest", 400, self.s3.copy_object, Bucket=bucket,
                           Key="o", CopySource=source)
        for mode in ("AES256", "aws:kms"):
            self.assertEcho(self.s3.copy_object(Bucket=bucket, Key="o", CopySource=source,
                                                **write_args(mode)), mode)
            self.assertEcho(self.s3.head_object(Bucket=bucket, Key="o"), mode)
            self.assertEqual(self.get(bucket, "o"), body)
        self.s3.copy_object(Bucket=bucket, Key="o", CopySource=source, **customer(KEY_1))
        self.assertEqual(self.get(bucket, "o", "SSE-C"), body)
        # Metadata only (REPLACE, no SSE header): pieces and keys kept.
        self.s3.copy_object(Bucket=bucket, Key="o", CopySource=source,
                            MetadataDirective="REPLACE", Metadata={"a": "b"},
                            CopySourceSSECustomerAlgorithm="AES256",
                            CopySourceSSECustomerKey=KEY_1)
        head = self.s3.head_object(Bucket=bucket, Key="o", **customer(KEY_1))
        self.assertEqual(head["Metadata"], {"a": "b"})
        self.assertEcho(head, "SSE-C")
        self.assertEqual(self.get(bucket, "o", "SSE-C"), body)

    def test_raw_files_hold_no_plaintext_nor_customer_key(self) -> None:
        bucket = self.make_bucket()
        for size in (2000, 300_000):  # inline in the record, and a data file
            for mode in ("AES256", "aws:kms", "SSE-C"):
                key = f"{mode}-{size}"
                self.put(bucket, key, pattern(size, SECRET), mode)
                self.s3.copy_object(Bucket=bucket, Key="copy-" + key,
                                    CopySource={"Bucket": bucket, "Key": key},
                                    **write_args(mode), **(
                                        {"CopySourceSSECustomerAlgorithm": "AES256",
                                         "CopySourceSSECustomerKey": KEY_1}
                                        if mode == "SSE-C" else {}))
        # The controls: clear objects (inline and not) are found, so the scan
        # does look in the data files and the LevelDB files.
        for size in (2000, 300_000):
            control = b"CONTROL-%d-" % size
            self.put(bucket, "clear", control + pattern(size), "clear")
            found = [p for p in files_under(self.server.data_dir, self.server.metadata_dir)
                     if control + PATTERN in p.read_bytes()]
            self.assertTrue(found, f"the clear control {control!r} was not found on disk")
            self.s3.delete_object(Bucket=bucket, Key="clear")
        needles = [SECRET, KEY_1, base64.b64encode(KEY_1)]
        count = assert_not_in_files(self, needles, self.server.data_dir,
                                    self.server.metadata_dir)
        self.assertGreater(count, 0)
        for size in (2000, 300_000):
            for mode in ("AES256", "aws:kms", "SSE-C"):
                self.assertEqual(self.get(bucket, f"copy-{mode}-{size}", mode),
                                 pattern(size, SECRET))

    def test_awscli_sse_round_trips(self) -> None:
        bucket = self.make_bucket()
        aws = AwsCli(self.server, self.workdir / "home")
        source = self.workdir / "in.bin"
        source.write_bytes(pattern(300_000))
        key_file = self.workdir / "key.bin"
        key_file.write_bytes(KEY_1)
        aws("s3", "cp", "--sse", "AES256", str(source), f"s3://{bucket}/s3.bin")
        aws("s3", "cp", "--sse-c", "AES256", "--sse-c-key", f"fileb://{key_file}",
            str(source), f"s3://{bucket}/c.bin")
        self.assertEcho(self.s3.head_object(Bucket=bucket, Key="s3.bin"), "AES256")
        self.assertEcho(self.s3.head_object(Bucket=bucket, Key="c.bin", **customer(KEY_1)),
                        "SSE-C")
        out = self.workdir / "out.bin"
        aws("s3", "cp", f"s3://{bucket}/s3.bin", str(out))
        self.assertEqual(out.read_bytes(), source.read_bytes())
        out.unlink()
        aws("s3", "cp", "--sse-c", "AES256", "--sse-c-key", f"fileb://{key_file}",
            f"s3://{bucket}/c.bin", str(out))
        self.assertEqual(out.read_bytes(), source.read_bytes())


class SseCustomerOverHttpTests(S3TestCase):
    """The default config: SSE-C over plain HTTP is refused, as AWS."""

    def test_refused_over_http(self) -> None:
        bucket = self.make_bucket()
        self.assertS3Error("InvalidRequest", 400, self.s3.put_object, Bucket=bucket, Key="k",
                           Body=b"data", **customer(KEY_1))
        self.assertS3Error("404", 404, self.s3.head_object, Bucket=bucket, Key="k")
        self.s3.put_object(Bucket=bucket, Key="s3", Body=b"data", ServerSideEncryption="AES256")


class SseCustomerOverHttpsTests(S3TestCase):
    serverTLS = True

    def test_accepted_over_https(self) -> None:
        bucket = self.make_bucket()
        body = pattern(70_000)
        self.s3.put_object(Bucket=bucket, Key="k", Body=body, **customer(KEY_1))
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k", **customer(KEY_1))
                         ["Body"].read(), body)


class SseSplitDeploymentTests(unittest.SynchronousTestCase):
    """Front end and data daemon apart: only ciphertext crosses :9991 and
    lands in the daemon's files."""

    def setUp(self) -> None:
        self.dmd = ServerProcess(mode="dmd")
        self.addCleanup(self.dmd.destroy)
        self.dmd.start()
        self.front = ServerProcess(mode="s3", dmd=self.dmd,
                                   extra_config={"sseCustomerKeyOverHttp": True})
        self.addCleanup(self.front.destroy)
        self.front.start()
        workdir = Path(self.mktemp()).resolve()
        workdir.mkdir(parents=True)
        self.s3 = boto3_client(self.front, workdir)

    def test_data_daemon_stores_ciphertext(self) -> None:
        bucket = unique_bucket("ssedmd")
        self.s3.create_bucket(Bucket=bucket)
        self.addCleanup(empty_and_delete_bucket, self.s3, bucket)
        body = pattern(500_000)
        for mode in ("AES256", "aws:kms", "SSE-C"):
            self.s3.put_object(Bucket=bucket, Key=mode, Body=body, **write_args(mode))
        count = assert_not_in_files(self, [PATTERN, KEY_1], self.dmd.data_dir,
                                    self.dmd.metadata_dir)
        self.assertGreater(count, 0)
        for mode in ("AES256", "aws:kms", "SSE-C"):
            got = self.s3.get_object(Bucket=bucket, Key=mode, Range="bytes=17-1000",
                                     **read_args(mode))
            self.assertEqual(got["Body"].read(), body[17:1001])


class SseRestartTests(S3TestCase):
    serverConfig = {"sseCustomerKeyOverHttp": True}

    def test_restart_keeps_objects_readable(self) -> None:
        from cloudserver.kms import memory
        if not os.path.exists(os.path.join(os.path.dirname(memory.__file__), "file.py")):
            raise unittest.SkipTest("the in-memory KMS forgets its keys on restart; needs "
                                    "the file KMS backend (kms branch)")
        bucket = self.make_bucket()
        body = pattern(100_000)
        for mode in ("AES256", "aws:kms", "SSE-C"):
            self.s3.put_object(Bucket=bucket, Key=mode, Body=body, **write_args(mode))
            self.s3.put_object(Bucket=bucket, Key=mode + "-small", Body=body[:100],
                               **write_args(mode))
        self.server.restart()
        for mode in ("AES256", "aws:kms", "SSE-C"):
            self.assertEqual(self.s3.get_object(Bucket=bucket, Key=mode, **read_args(mode))
                             ["Body"].read(), body)
            self.assertEqual(self.s3.get_object(Bucket=bucket, Key=mode + "-small",
                                                **read_args(mode))["Body"].read(), body[:100])
