# -*- test-case-name: tests.functional.test_boto3_objects -*-
"""
Object operations through boto3 with botocore's default settings.

botocore >= 1.36 computes a CRC32 for every PutObject
(``request_checksum_calculation = when_supported``).  Over plain http it
sends it as an ``x-amz-checksum-crc32`` header with a signed payload; the
aws-chunked ``STREAMING-UNSIGNED-PAYLOAD-TRAILER`` form, which botocore uses
over https, is forced here over http too so the server's decoder is
exercised by a real client.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import http.client
import io
import zlib

from tests.functional.s3case import S3TestCase


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def md5_etag(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest() + '"'


def _force_trailer_checksum(params, context, **kwargs) -> None:
    """botocore ``before-call`` hook: send the checksum as an aws-chunked trailer."""
    algorithm = context.get("checksum", {}).get("request_algorithm")
    if isinstance(algorithm, dict):
        algorithm["in"] = "trailer"


class ObjectTests(S3TestCase):

    def test_put_get_head_delete(self) -> None:
        bucket = self.make_bucket()
        data = b"hello cloudserver\n" * 100
        put = self.s3.put_object(Bucket=bucket, Key="obj", Body=data)
        self.assertEqual(put["ETag"], md5_etag(data))

        got = self.s3.get_object(Bucket=bucket, Key="obj")
        self.assertEqual(got["Body"].read(), data)
        self.assertEqual(got["ContentLength"], len(data))
        self.assertEqual(got["ETag"], md5_etag(data))
        self.assertIsInstance(got["LastModified"], datetime.datetime)

        head = self.s3.head_object(Bucket=bucket, Key="obj")
        self.assertEqual(head["ContentLength"], len(data))
        self.assertEqual(head["ETag"], md5_etag(data))
        self.assertEqual(head["LastModified"], got["LastModified"])

        deleted = self.s3.delete_object(Bucket=bucket, Key="obj")
        self.assertEqual(deleted["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertS3Error("NoSuchKey", 404, self.s3.get_object, Bucket=bucket, Key="obj")
        self.assertS3Error("404", 404, self.s3.head_object, Bucket=bucket, Key="obj")
        # Deleting what is not there succeeds, as on AWS.
        again = self.s3.delete_object(Bucket=bucket, Key="obj")
        self.assertEqual(again["ResponseMetadata"]["HTTPStatusCode"], 204)

    def test_empty_object(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="empty", Body=b"")
        got = self.s3.get_object(Bucket=bucket, Key="empty")
        self.assertEqual(got["Body"].read(), b"")
        self.assertEqual(got["ETag"], md5_etag(b""))

    def test_overwrite(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"first version")
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"2nd")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["Body"].read(), b"2nd")

    def test_default_checksum_header(self) -> None:
        """The default CRC32 header is verified, echoed and stored."""
        bucket = self.make_bucket()
        data = b"checksummed body " * 1000
        put = self.s3.put_object(Bucket=bucket, Key="crc", Body=data)
        self.assertEqual(put.get("ChecksumCRC32"), crc32_b64(data))
        got = self.s3.get_object(Bucket=bucket, Key="crc", ChecksumMode="ENABLED")
        self.assertEqual(got["Body"].read(), data)
        self.assertEqual(got.get("ChecksumCRC32"), crc32_b64(data))
        head = self.s3.head_object(Bucket=bucket, Key="crc", ChecksumMode="ENABLED")
        self.assertEqual(head.get("ChecksumCRC32"), crc32_b64(data))

    def test_trailer_checksum(self) -> None:
        """An aws-chunked body with an unsigned CRC32 trailer is decoded."""
        bucket = self.make_bucket()
        data = bytes(range(256)) * 4096  # 1 MiB: several aws-chunked chunks
        self.s3.meta.events.register("before-call.s3.PutObject", _force_trailer_checksum)
        put = self.s3.put_object(Bucket=bucket, Key="trailer", Body=data)
        self.assertEqual(put["ETag"], md5_etag(data))
        got = self.s3.get_object(Bucket=bucket, Key="trailer", ChecksumMode="ENABLED")
        self.assertEqual(got["Body"].read(), data)
        self.assertEqual(got["ContentLength"], len(data))
        self.assertEqual(got.get("ChecksumCRC32"), crc32_b64(data))

    def test_unsigned_payload(self) -> None:
        """With payload signing off the body is sent as UNSIGNED-PAYLOAD."""
        bucket = self.make_bucket()
        client = self.client(s3={"addressing_style": "path",
                                 "payload_signing_enabled": False})
        client.put_object(Bucket=bucket, Key="unsigned", Body=b"u" * 5000)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="unsigned")["Body"].read(),
                         b"u" * 5000)

    def test_other_checksum_algorithms(self) -> None:
        """CRC32C, SHA1, SHA256 and CRC64NVME checksums are accepted and returned."""
        bucket = self.make_bucket()
        data = b"other algorithms"
        for algorithm in ("CRC32C", "SHA1", "SHA256", "CRC64NVME"):
            put = self.s3.put_object(Bucket=bucket, Key=algorithm, Body=data,
                                     ChecksumAlgorithm=algorithm)
            sent = put.get("Checksum" + algorithm)
            self.assertTrue(sent, f"{algorithm} checksum not echoed: {put}")
            got = self.s3.get_object(Bucket=bucket, Key=algorithm, ChecksumMode="ENABLED")
            self.assertEqual(got["Body"].read(), data)
            self.assertEqual(got.get("Checksum" + algorithm), sent)

    def test_bad_checksum_rejected(self) -> None:
        """A body not matching its x-amz-checksum-crc32 is refused and not stored."""
        bucket = self.make_bucket()
        self.assertS3Error("BadDigest", 400, self.s3.put_object, Bucket=bucket, Key="bad",
                           Body=b"some data", ChecksumCRC32=crc32_b64(b"other data"))
        self.assertS3Error("NoSuchKey", 404, self.s3.get_object, Bucket=bucket, Key="bad")

    def test_bad_content_md5_rejected(self) -> None:
        bucket = self.make_bucket()
        wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
        self.assertS3Error("BadDigest", 400, self.s3.put_object, Bucket=bucket, Key="bad",
                           Body=b"some data", ContentMD5=wrong)
        self.assertS3Error("NoSuchKey", 404, self.s3.get_object, Bucket=bucket, Key="bad")
        good = base64.b64encode(hashlib.md5(b"some data").digest()).decode()
        self.s3.put_object(Bucket=bucket, Key="good", Body=b"some data", ContentMD5=good)

    def test_upload_fileobj_small(self) -> None:
        """s3transfer below its multipart threshold: one PutObject."""
        bucket = self.make_bucket()
        data = bytes(range(256)) * 4000
        self.s3.upload_fileobj(io.BytesIO(data), bucket, "transfer")
        out = io.BytesIO()
        self.s3.download_fileobj(bucket, "transfer", out)
        self.assertEqual(out.getvalue(), data)

    def test_upload_fileobj_multipart(self) -> None:
        """s3transfer above its 8 MiB threshold: a multipart upload."""
        bucket = self.make_bucket()
        path = self.write_file("big", 12 * 1024 * 1024 + 123)
        with open(path, "rb") as source:
            self.s3.upload_fileobj(source, bucket, "multi")
        head = self.s3.head_object(Bucket=bucket, Key="multi")
        self.assertEqual(head["ContentLength"], path.stat().st_size)
        self.assertTrue(head["ETag"].endswith('-2"'), head["ETag"])
        out = io.BytesIO()
        self.s3.download_fileobj(bucket, "multi", out)
        self.assertEqual(hashlib.md5(out.getvalue()).hexdigest(),
                         hashlib.md5(path.read_bytes()).hexdigest())

    def test_range_get(self) -> None:
        bucket = self.make_bucket()
        data = bytes(range(100))
        self.s3.put_object(Bucket=bucket, Key="r", Body=data)
        for header, expected, content_range in [
            ("bytes=0-9", data[:10], "bytes 0-9/100"),
            ("bytes=90-", data[90:], "bytes 90-99/100"),
            ("bytes=-5", data[-5:], "bytes 95-99/100"),
            ("bytes=50-200", data[50:], "bytes 50-99/100"),
        ]:
            got = self.s3.get_object(Bucket=bucket, Key="r", Range=header)
            self.assertEqual(got["ResponseMetadata"]["HTTPStatusCode"], 206, header)
            self.assertEqual(got["Body"].read(), expected, header)
            self.assertEqual(got["ContentRange"], content_range, header)
            self.assertEqual(got["ContentLength"], len(expected), header)
        self.assertS3Error("InvalidRange", 416, self.s3.get_object,
                           Bucket=bucket, Key="r", Range="bytes=100-")

    def test_user_metadata_and_headers(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(
            Bucket=bucket, Key="meta", Body=b"{}",
            Metadata={"color": "blue", "Mixed-Case": "Value With Spaces"},
            ContentType="application/json; charset=utf-8",
            CacheControl="max-age=60", ContentDisposition='attachment; filename="x.json"',
            ContentLanguage="fr", Expires=datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC))
        for response in (self.s3.head_object(Bucket=bucket, Key="meta"),
                         self.s3.get_object(Bucket=bucket, Key="meta")):
            self.assertEqual(response["Metadata"],
                             {"color": "blue", "mixed-case": "Value With Spaces"})
            self.assertEqual(response["ContentType"], "application/json; charset=utf-8")
            self.assertEqual(response["CacheControl"], "max-age=60")
            self.assertEqual(response["ContentDisposition"], 'attachment; filename="x.json"')
            self.assertEqual(response["ContentLanguage"], "fr")

    def test_default_content_type(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="plain", Body=b"x")
        head = self.s3.head_object(Bucket=bucket, Key="plain")
        self.assertEqual(head["ContentType"], "binary/octet-stream")

    def test_copy_same_bucket(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="src", Body=b"copy me",
                           Metadata={"a": "1"}, ContentType="text/plain")
        copied = self.s3.copy_object(Bucket=bucket, Key="dst",
                                     CopySource={"Bucket": bucket, "Key": "src"})
        self.assertEqual(copied["CopyObjectResult"]["ETag"], md5_etag(b"copy me"))
        got = self.s3.get_object(Bucket=bucket, Key="dst")
        self.assertEqual(got["Body"].read(), b"copy me")
        self.assertEqual(got["Metadata"], {"a": "1"})
        self.assertEqual(got["ContentType"], "text/plain")

    def test_copy_cross_bucket_replace(self) -> None:
        source, target = self.make_bucket("src"), self.make_bucket("dst")
        self.s3.put_object(Bucket=source, Key="src", Body=b"payload",
                           Metadata={"old": "yes"}, ContentType="text/plain")
        self.s3.copy_object(Bucket=target, Key="dst/key",
                            CopySource={"Bucket": source, "Key": "src"},
                            MetadataDirective="REPLACE", Metadata={"new": "value"},
                            ContentType="application/octet-stream")
        got = self.s3.get_object(Bucket=target, Key="dst/key")
        self.assertEqual(got["Body"].read(), b"payload")
        self.assertEqual(got["Metadata"], {"new": "value"})
        self.assertEqual(got["ContentType"], "application/octet-stream")
        # The source is untouched.
        self.assertEqual(self.s3.head_object(Bucket=source, Key="src")["Metadata"],
                         {"old": "yes"})

    def test_copy_onto_itself_replace(self) -> None:
        """Copying an object onto itself is allowed only to REPLACE metadata."""
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"same", Metadata={"v": "1"})
        self.assertS3Error("InvalidRequest", 400, self.s3.copy_object, Bucket=bucket,
                           Key="k", CopySource={"Bucket": bucket, "Key": "k"})
        self.s3.copy_object(Bucket=bucket, Key="k", CopySource={"Bucket": bucket, "Key": "k"},
                            MetadataDirective="REPLACE", Metadata={"v": "2"})
        got = self.s3.get_object(Bucket=bucket, Key="k")
        self.assertEqual(got["Body"].read(), b"same")
        self.assertEqual(got["Metadata"], {"v": "2"})

    def test_delete_objects(self) -> None:
        bucket = self.make_bucket()
        keys = [f"d/{i}" for i in range(10)]
        for key in keys:
            self.s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
        verbose = self.s3.delete_objects(Bucket=bucket, Delete={
            "Objects": [{"Key": k} for k in keys[:5] + ["never-existed"]]})
        self.assertEqual(sorted(d["Key"] for d in verbose["Deleted"]),
                         sorted(keys[:5] + ["never-existed"]))
        self.assertEqual(verbose.get("Errors", []), [])
        quiet = self.s3.delete_objects(Bucket=bucket, Delete={
            "Objects": [{"Key": k} for k in keys[5:]], "Quiet": True})
        self.assertEqual(quiet.get("Deleted", []), [])
        self.assertEqual(quiet.get("Errors", []), [])
        self.assertEqual(self.s3.list_objects_v2(Bucket=bucket)["KeyCount"], 0)

    def test_conditional_get(self) -> None:
        bucket = self.make_bucket()
        put = self.s3.put_object(Bucket=bucket, Key="c", Body=b"conditional")
        etag = put["ETag"]
        last_modified = self.s3.head_object(Bucket=bucket, Key="c")["LastModified"]
        hour = datetime.timedelta(hours=1)

        ok = self.s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)
        self.assertEqual(ok["Body"].read(), b"conditional")
        self.assertS3Error("PreconditionFailed", 412, self.s3.get_object,
                           Bucket=bucket, Key="c", IfMatch='"0123456789abcdef0123456789abcdef"')
        self.assertS3Error("304", 304, self.s3.get_object,
                           Bucket=bucket, Key="c", IfNoneMatch=etag)
        self.assertS3Error("304", 304, self.s3.get_object,
                           Bucket=bucket, Key="c", IfModifiedSince=last_modified + hour)
        since = self.s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=last_modified - hour)
        self.assertEqual(since["Body"].read(), b"conditional")
        self.assertS3Error("PreconditionFailed", 412, self.s3.get_object, Bucket=bucket,
                           Key="c", IfUnmodifiedSince=last_modified - hour)
        other = self.s3.get_object(Bucket=bucket, Key="c", IfNoneMatch='"other"')
        self.assertEqual(other["Body"].read(), b"conditional")
        self.assertS3Error("304", 304, self.s3.head_object,
                           Bucket=bucket, Key="c", IfNoneMatch=etag)

    def test_unusual_keys(self) -> None:
        """Keys survive unicode, spaces, '+', '%', a literal '%2F', '?', '#', '~'."""
        bucket = self.make_bucket()
        keys = ["répertoire/日本語 ☃.txt", "with space", "a+b", "plus+and space",
                "literal%2Fslash", "a/b", "percent%", "question?mark", "hash#tag",
                "tilde~", "semi;colon", "quote'd", "amp&ersand", "emoji 😀",
                "double//slash", "trailing/"]
        for index, key in enumerate(keys):
            self.s3.put_object(Bucket=bucket, Key=key, Body=str(index).encode())
        for index, key in enumerate(keys):
            got = self.s3.get_object(Bucket=bucket, Key=key)
            self.assertEqual(got["Body"].read(), str(index).encode(), key)
        # boto3 asks for EncodingType=url and decodes; both forms must agree.
        listed = [o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket)["Contents"]]
        self.assertEqual(listed, sorted(keys, key=lambda k: k.encode()))
        listed_v1 = [o["Key"] for o in self.s3.list_objects(Bucket=bucket)["Contents"]]
        self.assertEqual(listed_v1, listed)
        # "a/b" and "literal%2Fslash" are distinct from their slash-encoded forms.
        self.assertS3Error("NoSuchKey", 404, self.s3.get_object, Bucket=bucket, Key="a%2Fb")
        self.assertS3Error("NoSuchKey", 404, self.s3.get_object,
                           Bucket=bucket, Key="literal/slash")

    def test_key_length_limit(self) -> None:
        """1024 bytes of UTF-8 is the longest key; one more is KeyTooLongError."""
        bucket = self.make_bucket()
        longest = "k" * 1022 + "é"  # 1024 bytes
        self.s3.put_object(Bucket=bucket, Key=longest, Body=b"ok")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key=longest)["Body"].read(), b"ok")
        self.assertS3Error("KeyTooLongError", 400, self.s3.put_object,
                           Bucket=bucket, Key="k" * 1025, Body=b"no")

    def test_missing_key(self) -> None:
        bucket = self.make_bucket()
        self.assertS3Error("NoSuchKey", 404, self.s3.get_object, Bucket=bucket, Key="nope")
        self.assertS3Error("NoSuchKey", 404, self.s3.copy_object, Bucket=bucket, Key="x",
                           CopySource={"Bucket": bucket, "Key": "nope"})


def _post_form(fields: dict, data: bytes, boundary: str = "b0undary") -> bytes:
    """A multipart/form-data body: the fields, then the file."""
    out = b""
    for name, value in fields.items():
        out += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"'
                f"\r\n\r\n{value}\r\n").encode()
    out += (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="f.bin"\r\n\r\n').encode() + data + b"\r\n"
    return out + f"--{boundary}--\r\n".encode()


class PostObjectChecksumTests(S3TestCase):
    """A browser POST goes through the same upload chain as PutObject: with
    the file store its digests run in the writer's thread and a checksum
    mismatch, found before the data counts, leaves no object and no file."""

    def post(self, bucket: str, key: str, data: bytes, checksum: str) -> tuple[int, bytes]:
        presigned = self.s3.generate_presigned_post(
            bucket, key, Fields={"x-amz-checksum-sha256": checksum},
            Conditions=[{"x-amz-checksum-sha256": checksum}])
        body = _post_form(presigned["fields"], data)
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        try:
            conn.request("POST", f"/{bucket}", body=body, headers={
                "Content-Type": "multipart/form-data; boundary=b0undary"})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def data_files(self) -> set:
        return {p for p in self.server.data_dir.rglob("*") if p.is_file()}

    def test_bad_checksum_leaves_nothing(self) -> None:
        bucket = self.make_bucket()
        data = bytes(range(256)) * 1000  # not inline: a data file is written
        before = self.data_files()
        wrong = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
        code, body = self.post(bucket, "bad", data, wrong)
        self.assertEqual(code, 400, body)
        self.assertIn(b"<Code>BadDigest</Code>", body)
        self.assertEqual(self.data_files(), before)
        self.assertS3Error("NoSuchKey", 404, self.s3.get_object, Bucket=bucket, Key="bad")

    def test_good_checksum_is_stored(self) -> None:
        bucket = self.make_bucket()
        data = bytes(range(256)) * 1000
        good = base64.b64encode(hashlib.sha256(data).digest()).decode()
        code, body = self.post(bucket, "good", data, good)
        self.assertIn(code, (200, 204), body)
        got = self.s3.get_object(Bucket=bucket, Key="good")
        self.assertEqual(got["Body"].read(), data)
        self.assertEqual(got["ETag"], md5_etag(data))
