# -*- test-case-name: tests.functional.test_sse_multipart -*-
"""
Encrypted multipart uploads through boto3 (default checksums) and aws-cli
against a real server: SSE-S3, SSE-KMS (testkey-1) and SSE-C uploads, each
part with its own data key and IV; ranges across unaligned parts and
partNumber reads decrypt each piece at its own offset; SSE-C part key
rules; UploadPartCopy from encrypted and clear sources; the data directory
holds no plaintext, the metadata no customer key.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from tests.functional.clients import AwsCli
from tests.functional.s3case import S3TestCase

MIB = 1024 * 1024
KEY = bytes(range(32))
OTHER = bytes(range(1, 33))


def sse_c(key: bytes = KEY) -> dict:
    return {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": key}


def copy_source_sse_c(key: bytes = KEY) -> dict:
    return {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": key}


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


class SseMultipartTests(S3TestCase):
    # Functional servers run over HTTP: SSE-C needs the loopback opt-in.
    serverConfig = {"sseCustomerKeyOverHttp": True}

    def upload(self, bucket: str, key: str, parts: list[bytes], create: dict | None = None,
               part_args: dict | None = None, complete_args: dict | None = None) -> dict:
        """A multipart upload of ``parts``; the responses of every call."""
        created = self.s3.create_multipart_upload(Bucket=bucket, Key=key, **(create or {}))
        uid = created["UploadId"]
        answers = []
        for number, body in enumerate(parts, 1):
            answers.append(self.s3.upload_part(Bucket=bucket, Key=key, UploadId=uid,
                                               PartNumber=number, Body=body,
                                               **(part_args or {})))
        done = self.s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={"Parts": [
                {"PartNumber": n, "ETag": a["ETag"]} for n, a in enumerate(answers, 1)]},
            **(complete_args or {}))
        return {"create": created, "parts": answers, "complete": done}

    def raw_files(self, root: Path):
        for path in root.rglob("*"):
            if path.is_file():
                yield path, path.read_bytes()

    def assertNoPlaintext(self, parts: list[bytes]) -> None:
        """No 64-byte sample of any part is in a file of the data directory."""
        samples = [p[off:off + 64] for p in parts for off in (100, len(p) // 2)
                   if len(p) >= off + 64]
        for path, data in self.raw_files(self.server.data_dir):
            for sample in samples:
                self.assertFalse(sample in data, f"plaintext in {path}")

    def get(self, bucket: str, key: str, **kwargs) -> bytes:
        return self.s3.get_object(Bucket=bucket, Key=key, **kwargs)["Body"].read()

    def test_sse_s3_multipart(self) -> None:
        bucket = self.make_bucket()
        parts = [os.urandom(5 * MIB), os.urandom(1234)]
        out = self.upload(bucket, "s3", parts, {"ServerSideEncryption": "AES256"})
        self.assertEqual(out["create"]["ServerSideEncryption"], "AES256")
        for answer, body in zip(out["parts"], parts):
            self.assertEqual(answer["ServerSideEncryption"], "AES256")
            self.assertEqual(answer["ETag"], f'"{md5_hex(body)}"')  # SSE-S3: the MD5
        self.assertEqual(out["complete"]["ServerSideEncryption"], "AES256")
        joined = b"".join(hashlib.md5(p).digest() for p in parts)
        self.assertEqual(out["complete"]["ETag"], f'"{md5_hex(joined)}-2"')
        self.assertEqual(self.get(bucket, "s3"), b"".join(parts))
        self.assertNoPlaintext(parts)

    def test_sse_kms_multipart(self) -> None:
        bucket = self.make_bucket()
        parts = [os.urandom(5 * MIB), os.urandom(3 * MIB)]
        kms = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "testkey-1"}
        out = self.upload(bucket, "kms", parts, kms)
        self.assertEqual(out["create"]["SSEKMSKeyId"], "testkey-1")
        for answer, body in zip(out["parts"], parts):
            self.assertEqual(answer["ServerSideEncryption"], "aws:kms")
            self.assertEqual(answer["SSEKMSKeyId"], "testkey-1")
            self.assertNotEqual(answer["ETag"], f'"{md5_hex(body)}"')  # KMS: not the MD5
        self.assertEqual(out["complete"]["ServerSideEncryption"], "aws:kms")
        data = b"".join(parts)
        self.assertEqual(self.get(bucket, "kms"), data)
        got = self.get(bucket, "kms", Range="bytes=5242000-5243999")
        self.assertEqual(got, data[5242000:5244000])
        self.assertNoPlaintext(parts)

    def test_unknown_kms_key_refused(self) -> None:
        bucket = self.make_bucket()
        self.assertS3Error("KMS.NotFoundException", 400, self.s3.create_multipart_upload,
                           Bucket=bucket, Key="k", ServerSideEncryption="aws:kms",
                           SSEKMSKeyId="testkey-not-present")
        self.assertEqual(self.s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []), [])

    def test_sse_c_large_multipart(self) -> None:
        """64 MiB and more: 8 parts of 8 MiB and an odd last one, streamed
        back and compared by MD5."""
        bucket = self.make_bucket()
        created = self.s3.create_multipart_upload(Bucket=bucket, Key="big", **sse_c())
        self.assertEqual(created["SSECustomerAlgorithm"], "AES256")
        uid = created["UploadId"]
        whole, samples, sizes, answers = hashlib.md5(), [], [], []
        for number in range(1, 10):
            body = os.urandom(8 * MIB if number < 9 else 777_777)
            whole.update(body)
            samples.append(body[:4096])
            sizes.append(len(body))
            answer = self.s3.upload_part(Bucket=bucket, Key="big", UploadId=uid,
                                         PartNumber=number, Body=body, **sse_c())
            self.assertEqual(answer["SSECustomerAlgorithm"], "AES256")
            self.assertNotEqual(answer["ETag"], f'"{md5_hex(body)}"')
            answers.append({"PartNumber": number, "ETag": answer["ETag"]})
        # botocore sends a checksum with every part: AWS then wants the key.
        self.assertS3Error("InvalidRequest", 400, self.s3.complete_multipart_upload,
                           Bucket=bucket, Key="big", UploadId=uid,
                           MultipartUpload={"Parts": answers})
        done = self.s3.complete_multipart_upload(
            Bucket=bucket, Key="big", UploadId=uid, MultipartUpload={"Parts": answers},
            **sse_c())
        self.assertEqual(done["ETag"].strip('"').rsplit("-", 1)[1], "9")
        self.assertNoPlaintext(samples)
        got = hashlib.md5()
        body = self.s3.get_object(Bucket=bucket, Key="big", **sse_c())["Body"]
        for chunk in body.iter_chunks(1 << 20):
            got.update(chunk)
        self.assertEqual(got.hexdigest(), whole.hexdigest())
        # Across the boundary of parts 3 and 4, and part 9 (the odd one) alone.
        start = 3 * 8 * MIB - 10
        ranged = self.get(bucket, "big", Range=f"bytes={start}-{start + 19}", **sse_c())
        self.assertEqual(len(ranged), 20)
        part4 = self.s3.get_object(Bucket=bucket, Key="big", PartNumber=4, **sse_c())
        fourth = part4["Body"].read()
        self.assertEqual(fourth[:4096], samples[3])
        self.assertEqual(ranged[10:], fourth[:10])
        ninth = self.get(bucket, "big", PartNumber=9, **sse_c())
        self.assertEqual((len(ninth), ninth[:4096]), (sizes[8], samples[8]))
        self.assertS3Error("InvalidRequest", 400, self.s3.get_object, Bucket=bucket, Key="big")
        # The metadata keeps no customer key (a salted HMAC only).
        for path, data in self.raw_files(self.server.metadata_dir):
            self.assertFalse(KEY in data, f"customer key in {path}")

    def test_unaligned_parts_ranges_and_part_numbers(self) -> None:
        bucket = self.make_bucket()
        parts = [os.urandom(5 * MIB + 1), os.urandom(5 * MIB + 1), os.urandom(4097)]
        self.upload(bucket, "odd", parts, sse_c(), sse_c(), sse_c())
        data = b"".join(parts)
        first, last = 5 * MIB - 7, 2 * (5 * MIB + 1) + 1000
        got = self.get(bucket, "odd", Range=f"bytes={first}-{last}", **sse_c())
        self.assertEqual(got, data[first:last + 1])
        for number, body in enumerate(parts, 1):
            answer = self.s3.get_object(Bucket=bucket, Key="odd", PartNumber=number, **sse_c())
            self.assertEqual(answer["PartsCount"], 3)
            self.assertEqual(answer["Body"].read(), body)
        self.assertNoPlaintext(parts)

    def test_upload_part_with_missing_or_wrong_key(self) -> None:
        bucket = self.make_bucket()
        uid = self.s3.create_multipart_upload(Bucket=bucket, Key="k", **sse_c())["UploadId"]
        args = {"Bucket": bucket, "Key": "k", "UploadId": uid, "PartNumber": 1,
                "Body": b"x" * 1000}
        error = self.assertS3Error("InvalidRequest", 400, self.s3.upload_part, **args)
        self.assertIn("Subsequent part requests must include",
                      error.response["Error"]["Message"])
        error = self.assertS3Error("InvalidRequest", 400, self.s3.upload_part, **args,
                                   **sse_c(OTHER))
        self.assertIn("did not match the ones used originally",
                      error.response["Error"]["Message"])
        client = self.client()

        def bad_md5(request, **kwargs):
            del request.headers["x-amz-server-side-encryption-customer-key-MD5"]
            request.headers["x-amz-server-side-encryption-customer-key-MD5"] = \
                "AAAAAAAAAAAAAAAAAAAAAA=="
        client.meta.events.register("before-sign.s3.UploadPart", bad_md5)
        self.assertS3Error("InvalidArgument", 400, client.upload_part, **args, **sse_c())
        parts = self.s3.list_parts(Bucket=bucket, Key="k", UploadId=uid).get("Parts", [])
        self.assertEqual(parts, [])

    def test_upload_part_copy_from_encrypted_and_clear_sources(self) -> None:
        bucket = self.make_bucket()
        secret = os.urandom(6 * MIB)
        self.upload(bucket, "src-c", [secret], sse_c(OTHER), sse_c(OTHER), sse_c(OTHER))
        clear = os.urandom(10_000)
        self.s3.put_object(Bucket=bucket, Key="src", Body=clear)
        kms = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "testkey-1"}
        uid = self.s3.create_multipart_upload(Bucket=bucket, Key="dst", **kms)["UploadId"]
        args = {"Bucket": bucket, "Key": "dst", "UploadId": uid}
        self.assertS3Error("InvalidRequest", 400, self.s3.upload_part_copy, PartNumber=1,
                           CopySource=f"{bucket}/src-c", **args)
        first = self.s3.upload_part_copy(PartNumber=1, CopySource=f"{bucket}/src-c",
                                         CopySourceRange="bytes=7-5242886",
                                         **copy_source_sse_c(OTHER), **args)
        self.assertEqual(first["ServerSideEncryption"], "aws:kms")
        second = self.s3.upload_part_copy(PartNumber=2, CopySource=f"{bucket}/src", **args)
        self.s3.complete_multipart_upload(**args, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": first["CopyPartResult"]["ETag"]},
            {"PartNumber": 2, "ETag": second["CopyPartResult"]["ETag"]}]})
        self.assertEqual(self.get(bucket, "dst"), secret[7:5242887] + clear)
        self.assertNoPlaintext([secret])

    def test_awscli_cp_sse_kms(self) -> None:
        """20 MiB: aws-cli's default threshold makes it a multipart upload."""
        aws = AwsCli(self.server, self.workdir / "home")
        bucket = self.make_bucket()
        source = self.write_file("twenty.bin", 20 * MIB)
        aws("s3", "cp", source, f"s3://{bucket}/twenty.bin", "--sse", "aws:kms",
            "--sse-kms-key-id", "testkey-1")
        etag = self.s3.head_object(Bucket=bucket, Key="twenty.bin")["ETag"]
        self.assertTrue(etag.endswith('-3"'), etag)  # three parts of 8 MiB at most
        target = self.workdir / "twenty.out"
        aws("s3", "cp", f"s3://{bucket}/twenty.bin", target)
        self.assertEqual(target.read_bytes(), source.read_bytes())
        data = source.read_bytes()
        self.assertNoPlaintext([data[i:i + 4096] for i in range(0, len(data), 4 * MIB)])
