# -*- test-case-name: tests.functional.test_multipart_clients -*-
"""
Multipart uploads as real clients make them, and what test_multipart does
not already show: aws-cli moving 1 GiB up and down with bounded server
memory, boto3's ``upload_fileobj`` with botocore's default checksums,
rclone uploading parts concurrently, UploadPartCopy of ranges of a large
object, Range reads across part boundaries, the part-number errors of
GET/HEAD, and complete racing abort (or itself) without losing data or
leaving orphan files in the data directory.
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time
import zlib
from functools import partial
from pathlib import Path

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from tests.functional.clients import AwsCli, Rclone, unique_bucket
from tests.functional.s3case import S3TestCase

MIB = 1 << 20
GIB = 1 << 30
#: How much the server's peak RSS may grow while 1 GiB goes through it.
MAX_GROWTH_KIB = 256 * 1024


def write_pattern(path: Path, size: int) -> str:
    """
    Write ``size`` bytes to ``path`` a MiB at a time (one random MiB,
    stamped with its offset so no two MiB are equal) and return their MD5;
    nothing bigger than a MiB is ever held in memory.
    """
    block = os.urandom(MIB)
    digest = hashlib.md5()
    with open(path, "wb") as out:
        offset = 0
        while offset < size:
            chunk = (offset.to_bytes(8, "big") + block[8:])[:size - offset]
            out.write(chunk)
            digest.update(chunk)
            offset += len(chunk)
    return digest.hexdigest()


def md5_file(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as source:
        while chunk := source.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


def read_range(path: Path, start: int, length: int) -> bytes:
    with open(path, "rb") as source:
        source.seek(start)
        return source.read(length)


def crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def delayed(seconds: float, call):
    """``call()`` after ``seconds``: to stagger the calls of a race."""
    time.sleep(seconds)
    return call()


def data_files(root: Path) -> set[str]:
    """The blobs in the server's file data store (``root/ab/cd/<key>``)."""
    return {p.name for p in root.rglob("*") if p.is_file()}


class OneGibAwsCliTests(S3TestCase):
    """A server of its own, so its memory baseline is not another test's."""

    def test_cp_one_gib_up_and_down(self) -> None:
        aws = AwsCli(self.server, self.workdir / "home")
        bucket = unique_bucket("awscligib")
        aws("s3", "mb", f"s3://{bucket}")
        self.addCleanup(aws, "s3", "rb", "--force", f"s3://{bucket}", check=False)
        source = self.workdir / "gib.bin"
        self.addCleanup(source.unlink, missing_ok=True)
        digest = write_pattern(source, GIB)
        baseline_kib = self.server.rss_kib()

        started = time.monotonic()
        aws("s3", "cp", source, f"s3://{bucket}/gib.bin")
        up = time.monotonic() - started
        head = self.s3.head_object(Bucket=bucket, Key="gib.bin")
        self.assertEqual(head["ContentLength"], GIB)
        # aws-cli's default 8 MiB parts: 128 of them
        self.assertTrue(head["ETag"].endswith('-128"'), head["ETag"])

        target = self.workdir / "gib.out"
        self.addCleanup(target.unlink, missing_ok=True)
        started = time.monotonic()
        aws("s3", "cp", f"s3://{bucket}/gib.bin", target)
        down = time.monotonic() - started
        self.assertEqual(target.stat().st_size, GIB)
        self.assertEqual(md5_file(target), digest)

        growth_kib = self.server.peak_rss_kib() - baseline_kib
        print(f"\naws s3 cp 1 GiB: up {up:.1f}s ({GIB / MIB / up:.0f} MiB/s), "
              f"down {down:.1f}s ({GIB / MIB / down:.0f} MiB/s), "
              f"server peak RSS growth {growth_kib // 1024} MiB")
        self.assertLess(growth_kib, MAX_GROWTH_KIB,
                        f"server peak RSS grew by {growth_kib // 1024} MiB "
                        f"(baseline {baseline_kib // 1024} MiB)")


class MultipartClientTests(S3TestCase):

    def complete(self, bucket: str, key: str, upload_id: str, parts: list[dict],
                 client=None, **kwargs):
        return (client or self.s3).complete_multipart_upload(
            Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts},
            **kwargs)

    def upload_parts(self, bucket: str, key: str, bodies: list[bytes]) -> tuple[str, list]:
        upload_id = self.s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        parts = []
        for number, body in enumerate(bodies, 1):
            r = self.s3.upload_part(Bucket=bucket, Key=key, UploadId=upload_id,
                                    PartNumber=number, Body=body)
            parts.append({"PartNumber": number, "ETag": r["ETag"]})
        return upload_id, parts

    # -- clients -------------------------------------------------------------

    def test_boto3_upload_fileobj_default_checksums(self) -> None:
        """boto3's transfer manager with botocore's defaults (CRC32 on every
        part); the object's checksum is the one AWS would report."""
        bucket = self.make_bucket()
        size = 20 * MIB + 12345
        source = self.workdir / "fileobj.bin"
        digest = write_pattern(source, size)
        config = TransferConfig(multipart_threshold=8 * MIB, multipart_chunksize=8 * MIB)
        with open(source, "rb") as body:
            self.s3.upload_fileobj(body, bucket, "fileobj", Config=config)

        data = source.read_bytes()
        pieces = [data[i:i + 8 * MIB] for i in range(0, size, 8 * MIB)]
        head = self.s3.head_object(Bucket=bucket, Key="fileobj", ChecksumMode="ENABLED")
        self.assertEqual(head["ContentLength"], size)
        self.assertTrue(head["ETag"].endswith(f'-{len(pieces)}"'), head["ETag"])
        self.assertIn("ChecksumCRC32", head, head)
        if head.get("ChecksumType") == "FULL_OBJECT":
            self.assertEqual(head["ChecksumCRC32"], crc32_b64(data))
        else:
            joined = b"".join(zlib.crc32(p).to_bytes(4, "big") for p in pieces)
            self.assertEqual(head["ChecksumCRC32"],
                             f"{crc32_b64(joined)}-{len(pieces)}")
        part = self.s3.get_object(Bucket=bucket, Key="fileobj", PartNumber=3,
                                  ChecksumMode="ENABLED")
        self.assertEqual(part["PartsCount"], len(pieces))
        self.assertEqual(part["Body"].read(), pieces[2])

        out = self.workdir / "fileobj.out"
        with open(out, "wb") as sink:
            self.s3.download_fileobj(bucket, "fileobj", sink, Config=config)
        self.assertEqual(md5_file(out), digest)

    def test_rclone_concurrent_parts(self) -> None:
        """rclone with a 5 MiB cutoff and chunk size sends 7 parts, four at a
        time (test_rclone shows the 3-part case on both signatures)."""
        rclone = Rclone(self.server, self.workdir / "home")
        source_dir = self.workdir / "rc"
        source_dir.mkdir()
        digest = write_pattern(source_dir / "big.bin", 33 * MIB + 3)
        bucket = unique_bucket("rclonempu")
        target = f"v4:{bucket}"
        self.addCleanup(rclone, "purge", target, check=False)
        rclone("mkdir", target)
        rclone("copy", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M",
               "--s3-upload-concurrency", "4", source_dir, target)
        head = self.s3.head_object(Bucket=bucket, Key="big.bin")
        self.assertEqual(head["ContentLength"], 33 * MIB + 3)
        self.assertTrue(head["ETag"].endswith('-7"'), head["ETag"])
        part = self.s3.head_object(Bucket=bucket, Key="big.bin", PartNumber=7)
        self.assertEqual((part["PartsCount"], part["ContentLength"]), (7, 3 * MIB + 3))
        self.assertNotIn("Uploads", self.s3.list_multipart_uploads(Bucket=bucket))
        rclone("check", source_dir, target)
        back = self.workdir / "rc-back"
        rclone("copy", target, back)
        self.assertEqual(md5_file(back / "big.bin"), digest)

    # -- UploadPartCopy and reads across parts ---------------------------------

    def test_upload_part_copy_ranges_of_a_large_object(self) -> None:
        """Two ranges of a 64 MiB object (one from its middle, one its tail)
        become a 2-part object; a third part copies a whole small object."""
        bucket = self.make_bucket()
        size = 64 * MIB
        source = self.workdir / "src.bin"
        write_pattern(source, size)
        with open(source, "rb") as body:
            self.s3.put_object(Bucket=bucket, Key="src", Body=body)
        src = {"Bucket": bucket, "Key": "src"}
        upload_id = self.s3.create_multipart_upload(Bucket=bucket, Key="dst")["UploadId"]
        ranges = [(10 * MIB + 17, 6 * MIB), (size - 3 * MIB, 3 * MIB)]
        parts = []
        for number, (start, length) in enumerate(ranges, 1):
            r = self.s3.upload_part_copy(
                Bucket=bucket, Key="dst", UploadId=upload_id, PartNumber=number,
                CopySource=src, CopySourceRange=f"bytes={start}-{start + length - 1}")
            expected = hashlib.md5(read_range(source, start, length)).hexdigest()
            self.assertEqual(r["CopyPartResult"]["ETag"], f'"{expected}"')
            parts.append({"PartNumber": number, "ETag": r["CopyPartResult"]["ETag"]})
        listed = self.s3.list_parts(Bucket=bucket, Key="dst", UploadId=upload_id)["Parts"]
        self.assertEqual([p["Size"] for p in listed], [6 * MIB, 3 * MIB])
        self.complete(bucket, "dst", upload_id, parts)

        expected = b"".join(read_range(source, s, n) for s, n in ranges)
        got = self.s3.get_object(Bucket=bucket, Key="dst")
        self.assertEqual(got["ContentLength"], len(expected))
        self.assertEqual(hashlib.md5(got["Body"].read()).hexdigest(),
                         hashlib.md5(expected).hexdigest())
        second = self.s3.get_object(Bucket=bucket, Key="dst", PartNumber=2)
        self.assertEqual(second["Body"].read(), expected[6 * MIB:])
        self.assertEqual(second["PartsCount"], 2)
        # the source is untouched
        head = self.s3.head_object(Bucket=bucket, Key="src")
        self.assertEqual(head["ContentLength"], size)

    def test_range_across_part_boundaries(self) -> None:
        bucket = self.make_bucket()
        bodies = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(3000)]
        whole = b"".join(bodies)
        upload_id, parts = self.upload_parts(bucket, "mpu", bodies)
        self.complete(bucket, "mpu", upload_id, parts)
        size = len(whole)
        cases = [
            (5 * MIB - 10, 5 * MIB + 9),          # across the first boundary
            (5 * MIB - 1, 10 * MIB),              # the last byte of 1 to the first of 3
            (100, size - 100),                    # all three parts
            (10 * MIB, size - 1),                 # exactly the last part
            (0, 5 * MIB),                         # part 1 and one byte of part 2
        ]
        for first, last in cases:
            got = self.s3.get_object(Bucket=bucket, Key="mpu", Range=f"bytes={first}-{last}")
            self.assertEqual(got["ContentRange"], f"bytes {first}-{last}/{size}")
            self.assertEqual(got["Body"].read(), whole[first:last + 1], (first, last))
        got = self.s3.get_object(Bucket=bucket, Key="mpu", Range="bytes=-3010")
        self.assertEqual(got["Body"].read(), whole[-3010:])
        got = self.s3.get_object(Bucket=bucket, Key="mpu", Range=f"bytes={10 * MIB - 5}-")
        self.assertEqual(got["Body"].read(), whole[10 * MIB - 5:])
        self.assertS3Error("InvalidRange", 416, self.s3.get_object, Bucket=bucket,
                           Key="mpu", Range=f"bytes={size}-")
        # a part copied from a range of the multipart object, across its parts
        upload_id = self.s3.create_multipart_upload(Bucket=bucket, Key="copy")["UploadId"]
        first, last = 5 * MIB - 7, 10 * MIB + 6
        r = self.s3.upload_part_copy(Bucket=bucket, Key="copy", UploadId=upload_id,
                                     PartNumber=1, CopySource={"Bucket": bucket, "Key": "mpu"},
                                     CopySourceRange=f"bytes={first}-{last}")
        self.complete(bucket, "copy", upload_id,
                      [{"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}])
        got = self.s3.get_object(Bucket=bucket, Key="copy")["Body"].read()
        self.assertEqual(got, whole[first:last + 1])

    # -- errors test_multipart does not cover ------------------------------------

    def test_part_number_errors_on_read(self) -> None:
        bucket = self.make_bucket()
        upload_id, parts = self.upload_parts(bucket, "mpu", [os.urandom(5 * MIB), b"end"])
        self.complete(bucket, "mpu", upload_id, parts)
        for bad in (0, 10001):
            self.assertS3Error("InvalidArgument", 400, self.s3.get_object, Bucket=bucket,
                               Key="mpu", PartNumber=bad)
        for bad in ("-1", "x", "1.5"):
            response = self.signed_request("GET", f"/{bucket}/mpu?partNumber={bad}")
            body = response.read()
            self.assertEqual(response.status, 400, body)
            self.assertIn(b"<Code>InvalidArgument</Code>", body)
        self.assertS3Error("InvalidRequest", 400, self.s3.get_object, Bucket=bucket,
                           Key="mpu", PartNumber=1, Range="bytes=0-1")
        # HEAD has no body: the status says it; a part is partial content
        for number, status in ((2, 206), (3, 416), (0, 400)):
            response = self.signed_request("HEAD", f"/{bucket}/mpu?partNumber={number}")
            response.read()
            self.assertEqual(response.status, status, number)
            if status == 206:
                self.assertEqual(response.getheader("x-amz-mp-parts-count"), "2")
                self.assertEqual(response.getheader("Content-Length"), "3")
                self.assertEqual(response.getheader("Content-Range"),
                                 f"bytes {5 * MIB}-{5 * MIB + 2}/{5 * MIB + 3}")

    def test_part_number_errors_on_write(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="src", Body=b"source")
        upload_id = self.s3.create_multipart_upload(Bucket=bucket, Key="k")["UploadId"]
        for bad in (0, 10001):
            self.assertS3Error("InvalidArgument", 400, self.s3.upload_part_copy,
                               Bucket=bucket, Key="k", UploadId=upload_id, PartNumber=bad,
                               CopySource={"Bucket": bucket, "Key": "src"})
        # the highest part number is fine, and completes
        r = self.s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id,
                                PartNumber=10000, Body=b"last")
        self.complete(bucket, "k", upload_id, [{"PartNumber": 10000, "ETag": r["ETag"]}])
        got = self.s3.get_object(Bucket=bucket, Key="k", PartNumber=1)
        self.assertEqual(got["Body"].read(), b"last")

    def test_complete_after_abort_and_abort_after_complete(self) -> None:
        bucket = self.make_bucket()
        upload_id, parts = self.upload_parts(bucket, "k", [b"one"])
        self.s3.abort_multipart_upload(Bucket=bucket, Key="k", UploadId=upload_id)
        self.assertS3Error("NoSuchUpload", 404, self.complete, bucket, "k", upload_id, parts)
        self.assertS3Error("404", 404, self.s3.head_object, Bucket=bucket, Key="k")
        upload_id, parts = self.upload_parts(bucket, "k", [b"two"])
        self.complete(bucket, "k", upload_id, parts)
        self.assertS3Error("NoSuchUpload", 404, self.s3.abort_multipart_upload,
                           Bucket=bucket, Key="k", UploadId=upload_id)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["Body"].read(), b"two")
        # an upload id is bound to its key
        self.assertS3Error("NoSuchUpload", 404, self.complete, bucket, "other", upload_id,
                           parts)

    def test_conditional_complete_leaves_the_upload(self) -> None:
        """A complete refused by If-None-Match or If-Match keeps the upload
        and its parts: the client may complete it unconditionally later."""
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"existing")
        upload_id, parts = self.upload_parts(bucket, "k", [b"new"])
        self.assertS3Error("PreconditionFailed", 412, self.complete, bucket, "k", upload_id,
                           parts, IfNoneMatch="*")
        self.assertS3Error("PreconditionFailed", 412, self.complete, bucket, "k", upload_id,
                           parts, IfMatch='"0123456789abcdef0123456789abcdef"')
        listed = self.s3.list_parts(Bucket=bucket, Key="k", UploadId=upload_id)["Parts"]
        self.assertEqual([p["PartNumber"] for p in listed], [1])
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["Body"].read(),
                         b"existing")
        etag = self.s3.head_object(Bucket=bucket, Key="k")["ETag"]
        self.complete(bucket, "k", upload_id, parts, IfMatch=etag)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["Body"].read(), b"new")

    # -- races ------------------------------------------------------------------

    def race(self, *calls) -> list:
        """Run ``calls`` in threads released together; each outcome is the
        call's result or the S3 error code it raised."""
        barrier = threading.Barrier(len(calls))
        outcomes: list = [None] * len(calls)

        def run(index, call):
            barrier.wait()
            try:
                outcomes[index] = ("ok", call())
            except ClientError as error:
                outcomes[index] = ("error", error.response["Error"]["Code"])
            except Exception as error:  # noqa: BLE001 - reported by the test
                outcomes[index] = ("exception", repr(error))

        threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        return outcomes

    def check_outcome(self, bucket: str, key: str, bodies: list[bytes],
                      before: set[str], part_files: set[str], completed: bool) -> None:
        if completed:
            got = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            self.assertEqual(got, b"".join(bodies))
            self.assertEqual(data_files(self.server.data_dir) - before, part_files)
        else:
            self.assertS3Error("404", 404, self.s3.head_object, Bucket=bucket, Key=key)
            self.assertEqual(data_files(self.server.data_dir) - before, set())
        self.assertEqual(before - data_files(self.server.data_dir), set())
        self.assertNotIn("Uploads", self.s3.list_multipart_uploads(Bucket=bucket))

    def test_complete_races_abort(self) -> None:
        """Exactly one of a complete and an abort sent together wins; the data
        directory then holds the object's part files, or none of them."""
        bucket = self.make_bucket()
        clients = [self.client(), self.client()]
        bodies = [os.urandom(5 * MIB), os.urandom(1000)]
        wins = {"complete": 0, "abort": 0}
        for round_ in range(8):
            key = f"race-{round_}"
            before = data_files(self.server.data_dir)
            upload_id, parts = self.upload_parts(bucket, key, bodies)
            part_files = data_files(self.server.data_dir) - before
            self.assertEqual(len(part_files), len(bodies))
            calls = [partial(self.complete, bucket, key, upload_id, parts, clients[0]),
                     partial(clients[1].abort_multipart_upload,
                             Bucket=bucket, Key=key, UploadId=upload_id)]
            if round_ % 2:
                calls.reverse()
            outcomes = self.race(*calls)
            if round_ % 2:
                outcomes.reverse()
            done, aborted = outcomes
            self.assertEqual(sorted([done[0], aborted[0]]), ["error", "ok"], outcomes)
            loser = done if done[0] == "error" else aborted
            self.assertEqual(loser[1], "NoSuchUpload", outcomes)
            completed = done[0] == "ok"
            wins["complete" if completed else "abort"] += 1
            self.check_outcome(bucket, key, bodies, before, part_files, completed)
            if completed:
                # the retried complete after the race gets the same answer
                again = self.complete(bucket, key, upload_id, parts)
                self.assertEqual(again["ETag"], done[1]["ETag"])
        print(f"\ncomplete/abort race winners: {wins}")

    def test_complete_twice_at_once(self) -> None:
        """Two completes of one upload sent together: the object is whole,
        the part files are exactly its data, and no upload is left."""
        bucket = self.make_bucket()
        clients = [self.client(), self.client()]
        bodies = [os.urandom(5 * MIB), os.urandom(5 * MIB), os.urandom(10)]
        both = 0
        for round_ in range(4):
            key = f"twice-{round_}"
            before = data_files(self.server.data_dir)
            upload_id, parts = self.upload_parts(bucket, key, bodies)
            part_files = data_files(self.server.data_dir) - before
            outcomes = self.race(
                *(partial(self.complete, bucket, key, upload_id, parts, c) for c in clients))
            winners = [o for o in outcomes if o[0] == "ok"]
            self.assertTrue(winners, outcomes)
            for outcome in outcomes:
                if outcome[0] != "ok":
                    self.assertEqual(outcome, ("error", "NoSuchUpload"), outcomes)
            self.assertEqual(len({w[1]["ETag"] for w in winners}), 1, outcomes)
            both += len(winners) == 2
            self.check_outcome(bucket, key, bodies, before, part_files, True)
        print(f"\nrounds where both completes succeeded: {both} of 4")

    def test_part_reupload_races_complete(self) -> None:
        """A part re-sent (same bytes, as a retrying client does) while the
        upload is completed: the complete succeeds with one of the two, the
        object is whole, and the data directory holds exactly its parts."""
        bucket = self.make_bucket()
        clients = [self.client(), self.client()]
        bodies = [os.urandom(5 * MIB), os.urandom(1000)]
        late = 0
        for round_ in range(6):
            key = f"reupload-{round_}"
            before = data_files(self.server.data_dir)
            upload_id, parts = self.upload_parts(bucket, key, bodies)
            # the last part again, sent 0-10 ms before or after the complete
            calls = [partial(self.complete, bucket, key, upload_id, parts, clients[0]),
                     partial(clients[1].upload_part, Bucket=bucket, Key=key,
                             UploadId=upload_id, PartNumber=2, Body=bodies[1])]
            calls[round_ % 2] = partial(delayed, 0.005 * (round_ // 2), calls[round_ % 2])
            outcomes = self.race(*calls)
            self.assertEqual(outcomes[0][0], "ok", outcomes)
            if outcomes[1][0] != "ok":
                self.assertEqual(outcomes[1], ("error", "NoSuchUpload"), outcomes)
                late += 1
            got = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            self.assertEqual(got, b"".join(bodies))
            self.assertEqual(len(data_files(self.server.data_dir) - before), len(bodies))
            self.assertEqual(before - data_files(self.server.data_dir), set())
        print(f"\nre-uploads refused after the complete: {late} of 6")
        self.assertNotIn("Uploads", self.s3.list_multipart_uploads(Bucket=bucket))

    def test_part_upload_races_abort(self) -> None:
        """A part still streaming when its upload is aborted is refused
        (NoSuchUpload) and its data removed, or it lands first and the abort
        removes it: either way no file is left."""
        bucket = self.make_bucket()
        clients = [self.client(), self.client()]
        before = data_files(self.server.data_dir)
        refused = 0
        for round_ in range(4):
            upload_id, _ = self.upload_parts(bucket, "k", [b"one"])
            big = os.urandom(24 * MIB)
            # the abort is sent 0-60 ms after the part's first bytes
            outcomes = self.race(
                partial(clients[0].upload_part, Bucket=bucket, Key="k", UploadId=upload_id,
                        PartNumber=2, Body=big),
                partial(delayed, 0.02 * round_, partial(
                    clients[1].abort_multipart_upload, Bucket=bucket, Key="k",
                    UploadId=upload_id)))
            self.assertEqual(outcomes[1][0], "ok", outcomes)
            if outcomes[0][0] != "ok":
                self.assertEqual(outcomes[0], ("error", "NoSuchUpload"))
            self.assertEqual(data_files(self.server.data_dir), before, outcomes)
            refused += outcomes[0][0] == "error"
        print(f"\nparts refused by the abort: {refused} of 4")
        self.assertNotIn("Uploads", self.s3.list_multipart_uploads(Bucket=bucket))

    def test_no_orphans_after_overwrite_reupload_and_delete_bucket(self) -> None:
        """Re-uploaded parts, an object completed over another, its deletion
        and a bucket deleted with an upload in progress leave the data
        directory as it was."""
        bucket = self.make_bucket()
        before = data_files(self.server.data_dir)
        for live, body in ((0, b"first"), (2, b"second")):
            upload_id, parts = self.upload_parts(bucket, "k", [os.urandom(5 * MIB), body])
            r = self.s3.upload_part(Bucket=bucket, Key="k", UploadId=upload_id,
                                    PartNumber=2, Body=body + b"!")
            parts[1]["ETag"] = r["ETag"]
            # the replaced part's file is gone already
            self.assertEqual(len(data_files(self.server.data_dir) - before), live + 2)
            self.complete(bucket, "k", upload_id, parts)
            self.assertEqual(len(data_files(self.server.data_dir) - before), 2)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["Body"].read()[-7:],
                         b"second!")
        self.s3.delete_object(Bucket=bucket, Key="k")
        self.assertEqual(data_files(self.server.data_dir), before)
        self.upload_parts(bucket, "pending", [os.urandom(MIB), b"x"])
        self.assertEqual(len(data_files(self.server.data_dir) - before), 2)
        self.s3.delete_bucket(Bucket=bucket)
        self.assertEqual(data_files(self.server.data_dir), before)
