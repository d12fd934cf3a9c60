# -*- test-case-name: tests.unit.test_record_schema -*-
"""The record schema (cloudserver.metadata.schema): records written by
today's code (mdVersion 1, kept in records_v1.json) still decode and read
through the accessors; every field the handlers write is declared; older
format versions go through the upgrade hook."""
from __future__ import annotations

import json
import re
from pathlib import Path

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata import keys, schema, uploads, usage
from cloudserver.metadata.records import decode_record, encode_record
from cloudserver.metadata.schema import (
    BucketRecord, Field, ObjectRecord, PartRecord, PieceRecord, RecordSchema, UploadRecord,
    UsageRecord, field)
from cloudserver.s3.access import acl
from cloudserver.s3.model import cors, tags
from cloudserver.s3.ops.common import REDIRECT_FIELD, object_headers
from cloudserver.s3.model.versions import client_version_id, shown_version_id, versioning_state
from tests.unit.test_http import Harness, signed, status

OLD = json.loads((Path(__file__).parent / "records_v1.json").read_text())


def stored(name: str) -> dict:
    """Record ``name`` of the fixture, through the KV's bytes and back."""
    return decode_record(encode_record(OLD[name]))


class OldRecordsTests(SynchronousTestCase):
    def test_every_old_record_matches_its_schema(self):
        kinds = {"bucket": BucketRecord, "upload": UploadRecord, "part": PartRecord}
        for name in ("bucket", "object", "delete_marker", "multipart_object",
                     "null_version", "master", "upload", "part"):
            record = stored(name)
            self.assertEqual(record, OLD[name], name)
            self.assertEqual(kinds.get(name, ObjectRecord).problems(record), [], name)
            for piece in record.get("location") or () if name != "bucket" else ():
                self.assertEqual(PieceRecord.problems(piece), [], name)

    def test_object_reads_through_the_accessors(self):
        md = stored("object")
        bucket = stored("bucket")
        self.assertEqual(tags.tags_of(md), [("a", "1"), ("b", "2")])
        self.assertEqual(acl.object_acl(md).owner, md[ObjectRecord.OWNER])
        self.assertEqual(client_version_id(md), "null")
        headers = dict(object_headers(md, bucket))
        self.assertEqual(headers["ETag"], '"5d41402abc4b2a76b9719d911017c592"')
        self.assertEqual(headers["x-amz-meta-color"], "blue")
        self.assertEqual(headers["x-amz-tagging-count"], "2")
        self.assertEqual(headers["x-amz-website-redirect-location"], "/other.html")
        self.assertEqual(md[ObjectRecord.CHECKSUM]["algorithm"], "CRC32")
        self.assertEqual(md[ObjectRecord.LOCATION][0][PieceRecord.SIZE], 5)

    def test_versions_and_markers(self):
        bucket = stored("bucket")
        marker = stored("delete_marker")
        self.assertTrue(marker[ObjectRecord.IS_DELETE_MARKER])
        self.assertIsNotNone(client_version_id(marker))
        self.assertEqual(shown_version_id(stored("null_version"), bucket), "null")
        self.assertIn(ObjectRecord.NULL_VERSION_ID, stored("master"))

    def test_multipart_upload_and_part(self):
        md = stored("multipart_object")
        self.assertEqual([p["size"] for p in md[ObjectRecord.PARTS]], [5242880, 4])
        self.assertTrue(md[ObjectRecord.ETAG].endswith("-2"))
        upload = stored("upload")
        self.assertEqual(tags.tags_of(upload), [("t", "1")])
        self.assertEqual(upload[UploadRecord.KEY], "pending")
        self.assertEqual(stored("part")[PartRecord.PART_NUMBER], 1)

    def test_bucket_configuration(self):
        bucket = stored("bucket")
        self.assertEqual(versioning_state(bucket), "Enabled")
        self.assertEqual([r.allowed_origins for r in cors.rules_of(bucket)], [("*",)])
        self.assertTrue(acl.public_access_block(bucket)["BlockPublicAcls"])
        self.assertEqual(tags.tags_of(bucket), [("env", "prod")])
        self.assertEqual(acl.bucket_acl(bucket).owner, bucket[BucketRecord.OWNER])


class UpgradeTests(SynchronousTestCase):
    def test_records_without_a_version_read_as_version_1(self):
        old = {k: v for k, v in OLD["object"].items() if k != schema.VERSION_FIELD}
        raw = json.dumps(old, separators=(",", ":")).encode()
        self.assertEqual(decode_record(raw), old)

    def test_older_versions_go_through_the_steps(self):
        seen = []

        def step(record):
            seen.append(record)
            return {**record, "renamed": record.get("old")}

        self.patch(schema, "UPGRADES", {0: step})
        raw = json.dumps({"old": 1, "mdVersion": 0}).encode()
        self.assertEqual(decode_record(raw), {"old": 1, "renamed": 1,
                                              "mdVersion": schema.MD_VERSION})
        self.assertEqual(len(seen), 1)
        current = encode_record({"old": 2})
        self.assertEqual(decode_record(current), {"old": 2, "mdVersion": schema.MD_VERSION})
        self.assertEqual(len(seen), 1)  # the current version costs no step

    def test_newer_versions_and_non_records_pass_through(self):
        self.assertEqual(schema.upgrade({"mdVersion": 99, "x": 1}), {"mdVersion": 99, "x": 1})
        self.assertEqual(schema.upgrade([1, 2]), [1, 2])


class SchemaDeclarationTests(SynchronousTestCase):
    def test_fields_are_plain_strings(self):
        self.assertIs(type(ObjectRecord.SIZE), str)
        self.assertEqual(ObjectRecord.SIZE, "size")
        self.assertIsInstance(ObjectRecord.FIELDS["size"], Field)
        self.assertIn(schema.VERSION_FIELD, BucketRecord.FIELDS)

    def test_shared_names_agree(self):
        self.assertEqual(tags.TAGS, BucketRecord.TAGS)
        self.assertEqual(tags.TAGS, UploadRecord.TAGS)
        self.assertEqual(REDIRECT_FIELD, UploadRecord.WEBSITE_REDIRECT)
        self.assertEqual(cors.ATTR, BucketRecord.CORS)
        self.assertEqual(acl.PUBLIC_ACCESS_BLOCK_ATTR, BucketRecord.PUBLIC_ACCESS_BLOCK)

    def test_a_key_declared_twice_is_refused(self):
        with self.assertRaises(TypeError):
            type("Twice", (RecordSchema,), {"A": field("a", str, "one"),
                                            "B": field("a", int, "two")})

    def test_problems(self):
        self.assertEqual(PartRecord.problems({"mdVersion": 1, "partNumber": "1", "x": 0,
                                              "size": True}),
                         ["undeclared field 'x'", "field 'partNumber': str",
                          "field 'size': bool", "missing field 'etag'",
                          "missing field 'last-modified'", "missing field 'location'"])


class WrittenFieldsTests(SynchronousTestCase):
    """Every key a handler writes, on the memory backend, is declared."""

    def send(self, method: str, path: str, body: bytes = b"", headers=None) -> bytes:
        out = self.h.send(signed(method, path, body, headers) + body)
        self.assertLess(status(out), 300, out)
        return out

    def upload(self, key: str, headers=None) -> str:
        out = self.send("POST", f"/bucket/{key}?uploads", headers=headers)
        return re.search(rb"<UploadId>([^<]+)</UploadId>", out).group(1).decode()

    def etag(self, out: bytes) -> str:
        return re.search(rb"(?i)\r\netag: ([^\r]+)", out).group(1).decode()

    def write_everything(self) -> None:
        self.send("PUT", "/bucket")
        self.send("PUT", "/bucket/a", b"hello", {
            "content-type": "text/plain", "x-amz-meta-c": "d", "cache-control": "no-cache",
            "x-amz-tagging": "a=1", "x-amz-checksum-crc32": "NhCmhg==",
            "x-amz-website-redirect-location": "/x", "x-amz-storage-class": "STANDARD_IA",
            "x-amz-acl": "public-read"})
        self.send("PUT", "/bucket/copy", headers={"x-amz-copy-source": "/bucket/a"})
        self.send("PUT", "/bucket/a?tagging",
                  b"<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>")
        self.send("PUT", "/bucket/a?acl", headers={"x-amz-acl": "private"})
        uid = self.upload("mp", {"x-amz-tagging": "t=1", "x-amz-checksum-algorithm": "SHA256",
                                 "x-amz-website-redirect-location": "/y"})
        big = b"x" * (5 << 20)
        e1 = self.etag(self.send("PUT", f"/bucket/mp?partNumber=1&uploadId={uid}", big))
        e2 = self.etag(self.send("PUT", f"/bucket/mp?partNumber=2&uploadId={uid}", b"tail"))
        done = ("<CompleteMultipartUpload>" + "".join(
            f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>"
            for n, e in ((1, e1), (2, e2))) + "</CompleteMultipartUpload>").encode()
        self.send("POST", f"/bucket/mp?uploadId={uid}", done)
        pending = self.upload("pending")
        self.send("PUT", f"/bucket/pending?partNumber=1&uploadId={pending}", b"abc")
        self.send("PUT", "/bucket?versioning", b"<VersioningConfiguration><Status>Enabled"
                  b"</Status></VersioningConfiguration>")
        self.send("PUT", "/bucket/a", b"v2")
        self.send("DELETE", "/bucket/copy")
        self.send("PUT", "/bucket?versioning", b"<VersioningConfiguration><Status>Suspended"
                  b"</Status></VersioningConfiguration>")
        self.send("PUT", "/bucket/a", b"null again")
        self.send("PUT", "/bucket?cors", b"<CORSConfiguration><CORSRule><AllowedOrigin>*"
                  b"</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>3"
                  b"</MaxAgeSeconds></CORSRule></CORSConfiguration>")
        self.send("PUT", "/bucket?publicAccessBlock", b"<PublicAccessBlockConfiguration>"
                  b"</PublicAccessBlockConfiguration>")
        self.send("PUT", "/bucket?tagging", b"<Tagging><TagSet><Tag><Key>e</Key>"
                  b"<Value>p</Value></Tag></TagSet></Tagging>")
        self.send("PUT", "/bucket?acl", headers={"x-amz-acl": "public-read"})

    def test_every_stored_key_is_declared(self):
        self.h = Harness()
        self.write_everything()
        kinds = {keys.BUCKET_PREFIX: BucketRecord, keys.OBJECT_PREFIX: ObjectRecord,
                 uploads.UPLOAD_PREFIX: UploadRecord, uploads.PART_PREFIX: PartRecord,
                 usage.USAGE_PREFIX: UsageRecord}
        seen = set()
        for key, raw in self.h.metadata.kv._data.items():
            kind = kinds.get(key[:2])
            if kind is None:
                continue  # inline bytes (D\0...) are not records
            record = decode_record(raw)
            seen.add(kind)
            self.assertEqual(kind.problems(record), [], (key, record))
            for piece in record.get("location") or () if kind is not BucketRecord else ():
                self.assertEqual(PieceRecord.problems(piece), [], (key, piece))
        self.assertEqual(seen, set(kinds.values()))
