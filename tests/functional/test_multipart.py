# -*- test-case-name: tests.functional.test_multipart -*-
"""
Multipart uploads through boto3 against a real server: the transfer
manager with botocore's default checksums, the explicit calls with every
error AWS answers, abort, paging of parts and uploads, UploadPartCopy,
GET by part number, checksums, conditional completion and restarts.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import zlib

from awscrt import checksums as crt
from boto3.s3.transfer import TransferConfig

from tests.functional.s3case import S3TestCase

MIB = 1024 * 1024


def _force_trailer_checksum(params, context, **kwargs) -> None:
    """botocore ``before-call`` hook: send the checksum as an aws-chunked trailer."""
    algorithm = context.get("checksum", {}).get("request_algorithm")
    if isinstance(algorithm, dict):
        algorithm["in"] = "trailer"


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def mpu_etag(parts: list[bytes]) -> str:
    joined = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(joined).hexdigest()}-{len(parts)}"'


class MultipartTests(S3TestCase):

    def start(self, bucket: str, key: str = "mpu", **kwargs) -> str:
        return self.s3.create_multipart_upload(Bucket=bucket, Key=key, **kwargs)["UploadId"]

    def put_parts(self, bucket: str, key: str, upload_id: str, parts: list[bytes],
                  **kwargs) -> list[dict]:
        out = []
        for number, body in enumerate(parts, 1):
            r = self.s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id,
                                    PartNumber=number, Body=body, **kwargs)
            out.append({"PartNumber": number, "ETag": r["ETag"]})
        return out

    def complete(self, bucket: str, key: str, upload_id: str, parts: list[dict], **kwargs):
        return self.s3.complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts},
            **kwargs)

    def test_transfer_manager_default_checksums(self) -> None:
        bucket = self.make_bucket()
        path = self.write_file("big", 20 * MIB + 5)
        config = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB)
        self.s3.upload_file(str(path), bucket, "big", Config=config)
        data = path.read_bytes()
        pieces = [data[i:i + 8 * MIB] for i in range(0, len(data), 8 * MIB)]
        head = self.s3.head_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
        self.assertEqual(head["ContentLength"], len(data))
        self.assertEqual(head["ETag"], mpu_etag(pieces))
        got = self.s3.get_object(Bucket=bucket, Key="big")
        self.assertEqual(hashlib.sha256(got["Body"].read()).digest(),
                         hashlib.sha256(data).digest())
        out = self.workdir / "back"
        self.s3.download_file(bucket, "big", str(out), Config=config)
        self.assertEqual(out.read_bytes(), data)
        self.assertNotIn("Uploads", self.s3.list_multipart_uploads(Bucket=bucket))

    def test_explicit_upload_and_its_errors(self) -> None:
        bucket = self.make_bucket()
        self.assertS3Error("NoSuchUpload", 404, self.s3.upload_part, Bucket=bucket, Key="mpu",
                           UploadId="nope", PartNumber=1, Body=b"x")
        self.assertS3Error("NoSuchUpload", 404, self.complete, bucket, "mpu", "nope",
                           [{"PartNumber": 1, "ETag": "x"}])
        upload_id = self.start(bucket, ContentType="text/plain", Metadata={"color": "blue"},
                               CacheControl="max-age=3")
        for bad in (0, 10001):
            self.assertS3Error("InvalidArgument", 400, self.s3.upload_part, Bucket=bucket,
                               Key="mpu", UploadId=upload_id, PartNumber=bad, Body=b"x")
        self.assertS3Error("NoSuchUpload", 404, self.s3.upload_part, Bucket=bucket,
                           Key="other", UploadId=upload_id, PartNumber=1, Body=b"x")
        bodies = [os.urandom(5 * MIB), os.urandom(5 * MIB), b"tail"]
        parts = self.put_parts(bucket, "mpu", upload_id, bodies)
        self.assertEqual(parts[2]["ETag"], f'"{md5_hex(b"tail")}"')

        self.assertS3Error("MalformedXML", 400, self.complete, bucket, "mpu", upload_id, [])
        wrong = [dict(parts[0], ETag='"' + "f" * 32 + '"')] + parts[1:]
        self.assertS3Error("InvalidPart", 400, self.complete, bucket, "mpu", upload_id, wrong)
        self.assertS3Error("InvalidPart", 400, self.complete, bucket, "mpu", upload_id,
                           parts + [{"PartNumber": 9, "ETag": parts[0]["ETag"]}])
        self.assertS3Error("InvalidPartOrder", 400, self.complete, bucket, "mpu", upload_id,
                           [parts[1], parts[0]])
        self.assertFalse(self.s3.list_objects_v2(Bucket=bucket).get("Contents"))

        done = self.complete(bucket, "mpu", upload_id, parts)
        self.assertEqual(done["ETag"], mpu_etag(bodies))
        got = self.s3.get_object(Bucket=bucket, Key="mpu")
        self.assertEqual(got["Body"].read(), b"".join(bodies))
        self.assertEqual(got["ContentType"], "text/plain")
        self.assertEqual(got["Metadata"], {"color": "blue"})
        self.assertEqual(got["CacheControl"], "max-age=3")
        # a retried complete gets the same answer; the upload itself is gone
        again = self.complete(bucket, "mpu", upload_id, parts)
        self.assertEqual(again["ETag"], done["ETag"])
        self.assertS3Error("NoSuchUpload", 404, self.s3.list_parts, Bucket=bucket, Key="mpu",
                           UploadId=upload_id)
        self.assertS3Error("NoSuchUpload", 404, self.s3.abort_multipart_upload, Bucket=bucket,
                           Key="mpu", UploadId=upload_id)

    def test_small_middle_part(self) -> None:
        bucket = self.make_bucket()
        upload_id = self.start(bucket)
        parts = self.put_parts(bucket, "mpu", upload_id, [b"small", b"last"])
        self.assertS3Error("EntityTooSmall", 400, self.complete, bucket, "mpu", upload_id,
                           parts)
        # a complete of the last part alone is fine
        self.complete(bucket, "mpu", upload_id, parts[1:])
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="mpu")["Body"].read(), b"last")

    def test_abort(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="mpu", Body=b"before")
        upload_id = self.start(bucket)
        self.put_parts(bucket, "mpu", upload_id, [b"a", b"b"])
        r = self.s3.abort_multipart_upload(Bucket=bucket, Key="mpu", UploadId=upload_id)
        self.assertEqual(r["ResponseMetadata"]["HTTPStatusCode"], 204)
        self.assertNotIn("Uploads", self.s3.list_multipart_uploads(Bucket=bucket))
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="mpu")["Body"].read(),
                         b"before")
        self.assertS3Error("NoSuchUpload", 404, self.s3.upload_part, Bucket=bucket, Key="mpu",
                           UploadId=upload_id, PartNumber=1, Body=b"x")

    def test_reupload_replaces_a_part(self) -> None:
        bucket = self.make_bucket()
        upload_id = self.start(bucket)
        self.put_parts(bucket, "mpu", upload_id, [b"first"])
        parts = self.put_parts(bucket, "mpu", upload_id, [b"second"])
        listed = self.s3.list_parts(Bucket=bucket, Key="mpu", UploadId=upload_id)["Parts"]
        self.assertEqual([(p["PartNumber"], p["ETag"], p["Size"]) for p in listed],
                         [(1, parts[0]["ETag"], 6)])
        self.complete(bucket, "mpu", upload_id, parts)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="mpu")["Body"].read(),
                         b"second")

    def test_list_parts_paging(self) -> None:
        bucket = self.make_bucket()
        upload_id = self.start(bucket)
        self.put_parts(bucket, "mpu", upload_id, [b"%d" % i for i in range(7)])
        page = self.s3.list_parts(Bucket=bucket, Key="mpu", UploadId=upload_id, MaxParts=3)
        self.assertEqual([p["PartNumber"] for p in page["Parts"]], [1, 2, 3])
        self.assertTrue(page["IsTruncated"])
        self.assertEqual(page["NextPartNumberMarker"], 3)
        self.assertEqual(page["Initiator"]["ID"], page["Owner"]["ID"])
        self.assertEqual(page["StorageClass"], "STANDARD")
        page = self.s3.list_parts(Bucket=bucket, Key="mpu", UploadId=upload_id, MaxParts=3,
                                  PartNumberMarker=6)
        self.assertEqual([p["PartNumber"] for p in page["Parts"]], [7])
        self.assertFalse(page["IsTruncated"])
        numbers = [p["PartNumber"]
                   for page in self.s3.get_paginator("list_parts").paginate(
                       Bucket=bucket, Key="mpu", UploadId=upload_id,
                       PaginationConfig={"PageSize": 2})
                   for p in page["Parts"]]
        self.assertEqual(numbers, list(range(1, 8)))

    def test_list_uploads_paging(self) -> None:
        bucket = self.make_bucket()
        made = []
        for key in ("a", "a", "dir/x", "dir/y", "e"):
            made.append((key, self.start(bucket, key)))
        listed = self.s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
        self.assertEqual([(u["Key"], u["UploadId"]) for u in listed], made)
        page = self.s3.list_multipart_uploads(Bucket=bucket, MaxUploads=2)
        self.assertTrue(page["IsTruncated"])
        self.assertEqual((page["NextKeyMarker"], page["NextUploadIdMarker"]), made[1])
        page = self.s3.list_multipart_uploads(Bucket=bucket, KeyMarker=made[1][0],
                                              UploadIdMarker=made[1][1])
        self.assertEqual([u["UploadId"] for u in page["Uploads"]], [m[1] for m in made[2:]])
        page = self.s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
        self.assertEqual([u["Key"] for u in page["Uploads"]], ["a", "a", "e"])
        self.assertEqual(page["CommonPrefixes"], [{"Prefix": "dir/"}])
        page = self.s3.list_multipart_uploads(Bucket=bucket, Prefix="dir/")
        self.assertEqual([u["Key"] for u in page["Uploads"]], ["dir/x", "dir/y"])
        seen = [u["UploadId"]
                for p in self.s3.get_paginator("list_multipart_uploads").paginate(
                    Bucket=bucket, PaginationConfig={"PageSize": 2})
                for u in p.get("Uploads", [])]
        self.assertEqual(seen, [m[1] for m in made])
        for key, upload_id in made:
            self.s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)

    def test_list_uploads_as_aws_documents_it(self) -> None:
        """Each upload names its Initiator, Owner and StorageClass; markers,
        prefix and encoding-type follow AWS's ListMultipartUploads page."""
        bucket = self.make_bucket()
        owner = self.s3.list_buckets()["Owner"]
        made = [(key, self.start(bucket, key, StorageClass="STANDARD_IA"))
                for key in ("d/", "d/a b", "d/x/1", "e")]
        listed = self.s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
        for upload in listed:
            self.assertEqual(upload["Owner"], owner)
            self.assertEqual(upload["Initiator"], owner)
            self.assertEqual(upload["StorageClass"], "STANDARD_IA")
        # upload-id-marker without key-marker is ignored
        page = self.s3.list_multipart_uploads(Bucket=bucket, UploadIdMarker=made[2][1])
        self.assertEqual([u["UploadId"] for u in page["Uploads"]], [m[1] for m in made])
        # a key marker equal to the prefix is a key: later keys are listed
        page = self.s3.list_multipart_uploads(Bucket=bucket, Prefix="d/", Delimiter="/",
                                              KeyMarker="d/")
        self.assertEqual([u["Key"] for u in page["Uploads"]], ["d/a b"])
        self.assertEqual(page["CommonPrefixes"], [{"Prefix": "d/x/"}])
        page = self.s3.list_multipart_uploads(Bucket=bucket, Prefix="d/ ", EncodingType="url",
                                              KeyMarker="d/ ")
        self.assertEqual((page["EncodingType"], page["Prefix"], page["KeyMarker"]),
                         ("url", "d/%20", "d/%20"))
        page = self.s3.list_multipart_uploads(Bucket=bucket, Prefix="d/", EncodingType="url",
                                              MaxUploads=2)
        self.assertEqual([u["Key"] for u in page["Uploads"]], ["d/", "d/a%20b"])
        self.assertEqual((page["IsTruncated"], page["NextKeyMarker"],
                          page["NextUploadIdMarker"]), (True, "d/a%20b", made[1][1]))
        self.assertS3Error("InvalidArgument", 400, self.s3.list_multipart_uploads,
                           Bucket=bucket, EncodingType="base64")

    def test_upload_part_copy(self) -> None:
        bucket = self.make_bucket()
        source = os.urandom(6 * MIB)
        self.s3.put_object(Bucket=bucket, Key="src", Body=source)
        upload_id = self.start(bucket, "dst")
        src = {"Bucket": bucket, "Key": "src"}
        r1 = self.s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=upload_id,
                                      PartNumber=1, CopySource=src,
                                      CopySourceRange=f"bytes=0-{5 * MIB - 1}")
        self.assertEqual(r1["CopyPartResult"]["ETag"], f'"{md5_hex(source[:5 * MIB])}"')
        r2 = self.s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=upload_id,
                                      PartNumber=2, CopySource=src,
                                      CopySourceRange="bytes=100-199")
        for bad in ("bytes=5-1", "0-1", "bytes=0-", "bytes=0-1,2-3"):
            self.assertS3Error("InvalidArgument", 400, self.s3.upload_part_copy, Bucket=bucket,
                               Key="dst", UploadId=upload_id, PartNumber=3, CopySource=src,
                               CopySourceRange=bad)
        # past the source's end: InvalidRange, even for a range over the 5 GiB
        # part limit (the range is checked against the source first)
        for last in (6 * MIB, 6 * 1024 * MIB):
            self.assertS3Error("InvalidRange", 416, self.s3.upload_part_copy, Bucket=bucket,
                               Key="dst", UploadId=upload_id, PartNumber=3, CopySource=src,
                               CopySourceRange=f"bytes=0-{last}")
        self.assertS3Error("PreconditionFailed", 412, self.s3.upload_part_copy,
                           Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=3,
                           CopySource=src, CopySourceIfMatch='"nope"')
        self.assertS3Error("NoSuchKey", 404, self.s3.upload_part_copy, Bucket=bucket,
                           Key="dst", UploadId=upload_id, PartNumber=3,
                           CopySource={"Bucket": bucket, "Key": "missing"})
        parts = [{"PartNumber": 1, "ETag": r1["CopyPartResult"]["ETag"]},
                 {"PartNumber": 2, "ETag": r2["CopyPartResult"]["ETag"]}]
        self.complete(bucket, "dst", upload_id, parts)
        got = self.s3.get_object(Bucket=bucket, Key="dst")["Body"].read()
        self.assertEqual(got, source[:5 * MIB] + source[100:200])

    def test_get_by_part_number(self) -> None:
        bucket = self.make_bucket()
        bodies = [os.urandom(5 * MIB), os.urandom(5 * MIB), b"last part"]
        upload_id = self.start(bucket)
        parts = self.put_parts(bucket, "mpu", upload_id, bodies)
        self.assertS3Error("NoSuchKey", 404, self.s3.get_object, Bucket=bucket, Key="mpu",
                           PartNumber=1)
        done = self.complete(bucket, "mpu", upload_id, parts)
        offset, total = 0, sum(map(len, bodies))
        for number, body in enumerate(bodies, 1):
            got = self.s3.get_object(Bucket=bucket, Key="mpu", PartNumber=number)
            self.assertEqual(got["Body"].read(), body)
            self.assertEqual(got["PartsCount"], 3)
            self.assertEqual(got["ETag"], done["ETag"])
            self.assertEqual(got["ContentRange"],
                             f"bytes {offset}-{offset + len(body) - 1}/{total}")
            head = self.s3.head_object(Bucket=bucket, Key="mpu", PartNumber=number)
            self.assertEqual(head["ContentLength"], len(body))
            offset += len(body)
        # 416 InvalidPartNumber, as AWS (InvalidPart is the complete's error)
        self.assertS3Error("InvalidPartNumber", 416, self.s3.get_object, Bucket=bucket,
                           Key="mpu", PartNumber=4)
        self.assertS3Error("416", 416, self.s3.head_object, Bucket=bucket, Key="mpu",
                           PartNumber=4)
        self.s3.put_object(Bucket=bucket, Key="plain", Body=b"body")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="plain",
                                            PartNumber=1)["Body"].read(), b"body")
        err = self.assertS3Error("InvalidPartNumber", 416, self.s3.get_object, Bucket=bucket,
                                 Key="plain", PartNumber=2)
        self.assertEqual(err.response["Error"]["Message"],
                         "The requested partnumber is not satisfiable")

    def test_composite_sha256(self) -> None:
        bucket = self.make_bucket()
        upload_id = self.start(bucket, ChecksumAlgorithm="SHA256")
        bodies = [b"A" * 5 * MIB, b"B" * 100]
        parts = []
        for number, body in enumerate(bodies, 1):
            r = self.s3.upload_part(Bucket=bucket, Key="mpu", UploadId=upload_id,
                                    PartNumber=number, Body=body, ChecksumAlgorithm="SHA256")
            digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
            self.assertEqual(r["ChecksumSHA256"], digest)
            parts.append({"PartNumber": number, "ETag": r["ETag"], "ChecksumSHA256": digest})
        listed = self.s3.list_parts(Bucket=bucket, Key="mpu", UploadId=upload_id)
        self.assertEqual(listed["ChecksumAlgorithm"], "SHA256")
        self.assertEqual(listed["Parts"][1]["ChecksumSHA256"], parts[1]["ChecksumSHA256"])
        joined = b"".join(base64.b64decode(p["ChecksumSHA256"]) for p in parts)
        expected = base64.b64encode(hashlib.sha256(joined).digest()).decode() + "-2"
        self.assertS3Error("BadDigest", 400, self.complete, bucket, "mpu", upload_id, parts,
                           ChecksumSHA256=base64.b64encode(b"x" * 32).decode() + "-2")
        done = self.complete(bucket, "mpu", upload_id, parts, ChecksumSHA256=expected)
        self.assertEqual(done["ChecksumSHA256"], expected)
        self.assertEqual(done["ChecksumType"], "COMPOSITE")
        head = self.s3.head_object(Bucket=bucket, Key="mpu", ChecksumMode="ENABLED")
        self.assertEqual(head["ChecksumSHA256"], expected)
        part = self.s3.get_object(Bucket=bucket, Key="mpu", PartNumber=2,
                                  ChecksumMode="ENABLED")
        self.assertEqual(part["ChecksumSHA256"], parts[1]["ChecksumSHA256"])
        self.assertEqual(part["Body"].read(), bodies[1])
        attrs = self.s3.get_object_attributes(
            Bucket=bucket, Key="mpu",
            ObjectAttributes=["ETag", "Checksum", "ObjectParts", "ObjectSize"])
        self.assertEqual(attrs["Checksum"]["ChecksumSHA256"], expected)
        self.assertEqual(attrs["ObjectParts"]["TotalPartsCount"], 2)
        self.assertEqual(attrs["ObjectSize"], sum(map(len, bodies)))

    def test_full_object_crc32c(self) -> None:
        bucket = self.make_bucket()
        upload_id = self.start(bucket, ChecksumAlgorithm="CRC32C", ChecksumType="FULL_OBJECT")
        bodies = [os.urandom(5 * MIB), os.urandom(1000)]
        parts = self.put_parts(bucket, "mpu", upload_id, bodies, ChecksumAlgorithm="CRC32C")
        whole = base64.b64encode(
            crt.crc32c(b"".join(bodies)).to_bytes(4, "big")).decode()
        done = self.complete(bucket, "mpu", upload_id, parts, ChecksumCRC32C=whole)
        self.assertEqual((done["ChecksumCRC32C"], done["ChecksumType"]),
                         (whole, "FULL_OBJECT"))
        got = self.s3.get_object(Bucket=bucket, Key="mpu", ChecksumMode="ENABLED")
        self.assertEqual(got["ChecksumCRC32C"], whole)
        self.assertEqual(got["Body"].read(), b"".join(bodies))

    def test_part_checksum_algorithm_must_match_the_upload(self) -> None:
        bucket = self.make_bucket()
        upload_id = self.start(bucket, ChecksumAlgorithm="SHA256")
        self.assertS3Error("InvalidRequest", 400, self.s3.upload_part, Bucket=bucket,
                           Key="mpu", UploadId=upload_id, PartNumber=1, Body=b"x",
                           ChecksumAlgorithm="CRC32")
        self.s3.abort_multipart_upload(Bucket=bucket, Key="mpu", UploadId=upload_id)

    def test_conditional_complete(self) -> None:
        bucket = self.make_bucket()

        def attempt(**kwargs):
            upload_id = self.start(bucket, "obj")
            parts = self.put_parts(bucket, "obj", upload_id, [b"abc"])
            return self.complete(bucket, "obj", upload_id, parts, **kwargs)

        first = attempt(IfNoneMatch="*")
        self.assertS3Error("PreconditionFailed", 412, attempt, IfNoneMatch="*")
        self.assertS3Error("PreconditionFailed", 412, attempt, IfMatch='"nope"')
        attempt(IfMatch=first["ETag"])
        self.s3.delete_object(Bucket=bucket, Key="obj")
        self.assertS3Error("NoSuchKey", 404, attempt, IfMatch="*")
        for page in self.s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            self.s3.abort_multipart_upload(Bucket=bucket, Key=page["Key"],
                                           UploadId=page["UploadId"])

    def test_empty_object_from_one_empty_part(self) -> None:
        bucket = self.make_bucket()
        upload_id = self.start(bucket)
        parts = self.put_parts(bucket, "mpu", upload_id, [b""])
        self.complete(bucket, "mpu", upload_id, parts)
        got = self.s3.get_object(Bucket=bucket, Key="mpu")
        self.assertEqual((got["ContentLength"], got["Body"].read()), (0, b""))

    def test_upload_survives_restart(self) -> None:
        bucket = self.make_bucket()
        upload_id = self.start(bucket)
        parts = self.put_parts(bucket, "mpu", upload_id, [b"x" * 5 * MIB])
        self.server.restart()
        self.s3 = self.client()
        listed = self.s3.list_multipart_uploads(Bucket=bucket)["Uploads"]
        self.assertEqual([u["UploadId"] for u in listed], [upload_id])
        r = self.s3.upload_part(Bucket=bucket, Key="mpu", UploadId=upload_id, PartNumber=2,
                                Body=b"tail")
        parts.append({"PartNumber": 2, "ETag": r["ETag"]})
        self.complete(bucket, "mpu", upload_id, parts)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="mpu")["Body"].read(),
                         b"x" * 5 * MIB + b"tail")

    def test_unknown_ids_and_keys(self) -> None:
        bucket = self.make_bucket()
        self.assertS3Error("NoSuchUpload", 404, self.s3.abort_multipart_upload,
                           Bucket=bucket, Key="k", UploadId="56788")
        self.assertS3Error("NoSuchUpload", 404, self.s3.list_parts, Bucket=bucket, Key="k",
                           UploadId="ü")
        self.assertS3Error("NoSuchBucket", 404, self.s3.create_multipart_upload,
                           Bucket=bucket + "-missing", Key="k")
        other = self.client(access_key="accessKey2", secret_key="verySecretKey2")
        self.assertS3Error("AccessDenied", 403, other.create_multipart_upload, Bucket=bucket,
                           Key="k")

    def test_part_with_trailing_checksum(self) -> None:
        """Parts stream like PutObject: an aws-chunked body with a trailing
        checksum (what botocore sends over https) is decoded and verified."""
        bucket = self.make_bucket()
        upload_id = self.start(bucket, ChecksumAlgorithm="CRC32")
        self.s3.meta.events.register("before-call.s3.UploadPart", _force_trailer_checksum)
        body = os.urandom(300_000)
        r = self.s3.upload_part(Bucket=bucket, Key="mpu", UploadId=upload_id, PartNumber=1,
                                Body=io.BytesIO(body), ChecksumAlgorithm="CRC32")
        crc = base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode()
        self.assertEqual(r["ChecksumCRC32"], crc)
        listed = self.s3.list_parts(Bucket=bucket, Key="mpu", UploadId=upload_id)["Parts"]
        self.assertEqual((listed[0]["Size"], listed[0]["ChecksumCRC32"]), (len(body), crc))
        self.s3.abort_multipart_upload(Bucket=bucket, Key="mpu", UploadId=upload_id)

    def test_versioned_bucket(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_bucket_versioning(Bucket=bucket,
                                      VersioningConfiguration={"Status": "Enabled"})
        self.s3.put_object(Bucket=bucket, Key="mpu", Body=b"v1")
        upload_id = self.start(bucket)
        parts = self.put_parts(bucket, "mpu", upload_id, [b"v2"])
        done = self.complete(bucket, "mpu", upload_id, parts)
        self.assertTrue(done["VersionId"])
        versions = self.s3.list_object_versions(Bucket=bucket)["Versions"]
        self.assertEqual(len(versions), 2)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="mpu")["Body"].read(), b"v2")
        old = [v for v in versions if v["VersionId"] != done["VersionId"]][0]
        got = self.s3.get_object(Bucket=bucket, Key="mpu", VersionId=old["VersionId"])
        self.assertEqual(got["Body"].read(), b"v1")
        # a part copied from the old version
        upload_id = self.start(bucket, "copy")
        r = self.s3.upload_part_copy(Bucket=bucket, Key="copy", UploadId=upload_id,
                                     PartNumber=1, CopySource={"Bucket": bucket, "Key": "mpu",
                                                               "VersionId": old["VersionId"]})
        self.assertEqual(r["CopySourceVersionId"], old["VersionId"])
        self.complete(bucket, "copy", upload_id,
                      [{"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}])
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="copy")["Body"].read(), b"v1")
        for v in self.s3.list_object_versions(Bucket=bucket).get("Versions", []):
            self.s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
