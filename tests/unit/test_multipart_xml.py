# -*- test-case-name: tests.unit.test_multipart_xml -*-
"""ListParts, ListMultipartUploads and GetObjectAttributes documents: one
golden document, and botocore's own parser reading each one back."""
from __future__ import annotations

import botocore.session
from botocore.parsers import RestXMLParser
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.xml import (
    ListPartsResult, ListUploadsResult, ObjectAttributes, PartEntry, Person, UploadEntry,
    list_multipart_uploads_xml, list_parts_xml, object_attributes_xml, url_encode)

_MODEL = botocore.session.get_session().get_service_model("s3")
ALICE = Person("id-alice", "alice")


def parse(operation: str, body: bytes, headers: dict | None = None) -> dict:
    shape = _MODEL.operation_model(operation).output_shape
    return RestXMLParser().parse({"status_code": 200, "headers": headers or {},
                                  "body": body}, shape)


class ListPartsTests(SynchronousTestCase):

    def result(self, **kw):
        base = dict(bucket="b", key="k&1", upload_id="u1", initiator=ALICE, owner=ALICE,
                    storage_class="STANDARD", part_number_marker=0, max_parts=2,
                    is_truncated=True, next_part_number_marker=2,
                    parts=[PartEntry(1, 5, "e1", "2026-01-01T00:00:00.000Z",
                                     {"CRC32": "AAAAAA=="}),
                           PartEntry(2, 6, "e2", "2026-01-01T00:00:01.000Z")],
                    checksum_algorithm="CRC32", checksum_type="COMPOSITE")
        base.update(kw)
        return ListPartsResult(**base)

    def test_golden(self):
        body = list_parts_xml(self.result(parts=[PartEntry(
            1, 5, "e1", "2026-01-01T00:00:00.000Z", {"CRC32": "AAAAAA=="})]))
        self.assertEqual(body, (
            b'<?xml version="1.0" encoding="UTF-8"?>\n'
            b'<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<Bucket>b</Bucket><Key>k&amp;1</Key><UploadId>u1</UploadId>"
            b"<Initiator><ID>id-alice</ID><DisplayName>alice</DisplayName></Initiator>"
            b"<Owner><ID>id-alice</ID><DisplayName>alice</DisplayName></Owner>"
            b"<StorageClass>STANDARD</StorageClass><PartNumberMarker>0</PartNumberMarker>"
            b"<NextPartNumberMarker>2</NextPartNumberMarker><MaxParts>2</MaxParts>"
            b"<IsTruncated>true</IsTruncated><ChecksumAlgorithm>CRC32</ChecksumAlgorithm>"
            b"<ChecksumType>COMPOSITE</ChecksumType>"
            b"<Part><PartNumber>1</PartNumber>"
            b"<LastModified>2026-01-01T00:00:00.000Z</LastModified>"
            b"<ETag>\"e1\"</ETag><Size>5</Size><ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>"
            b"</ListPartsResult>"))

    def test_botocore_reads_it(self):
        got = parse("ListParts", list_parts_xml(self.result()))
        self.assertEqual(got["Key"], "k&1")
        self.assertEqual(got["NextPartNumberMarker"], 2)
        self.assertTrue(got["IsTruncated"])
        self.assertEqual([p["PartNumber"] for p in got["Parts"]], [1, 2])
        self.assertEqual(got["Parts"][0]["ETag"], '"e1"')
        self.assertEqual(got["Parts"][0]["ChecksumCRC32"], "AAAAAA==")
        self.assertNotIn("ChecksumCRC32", got["Parts"][1])
        self.assertEqual(got["Initiator"], {"ID": "id-alice", "DisplayName": "alice"})
        self.assertEqual(got["ChecksumAlgorithm"], "CRC32")


class ListUploadsTests(SynchronousTestCase):

    def result(self, **kw):
        base = dict(bucket="b", max_uploads=10, is_truncated=True, key_marker="a",
                    upload_id_marker="", prefix="", delimiter="/", next_key_marker="c d",
                    next_upload_id_marker="u2",
                    uploads=[UploadEntry("c d", "u2", "2026-01-01T00:00:00.000Z", ALICE,
                                         ALICE, checksum_algorithm="SHA256",
                                         checksum_type="COMPOSITE")],
                    common_prefixes=["p/"])
        base.update(kw)
        return ListUploadsResult(**base)

    def test_botocore_reads_it(self):
        got = parse("ListMultipartUploads", list_multipart_uploads_xml(self.result()))
        self.assertEqual(got["Uploads"][0]["Key"], "c d")
        self.assertEqual(got["Uploads"][0]["UploadId"], "u2")
        self.assertEqual(got["Uploads"][0]["Owner"]["ID"], "id-alice")
        self.assertEqual(got["Uploads"][0]["ChecksumAlgorithm"], "SHA256")
        self.assertEqual(got["CommonPrefixes"], [{"Prefix": "p/"}])
        self.assertEqual((got["NextKeyMarker"], got["NextUploadIdMarker"]), ("c d", "u2"))
        self.assertEqual(got["Delimiter"], "/")
        self.assertTrue(got["IsTruncated"])

    def test_url_encoding(self):
        body = list_multipart_uploads_xml(self.result(encoding_type="url"), url_encode)
        self.assertIn(b"<Key>c%20d</Key>", body)
        self.assertIn(b"<NextKeyMarker>c%20d</NextKeyMarker>", body)
        self.assertIn(b"<EncodingType>url</EncodingType>", body)

    def test_empty(self):
        got = parse("ListMultipartUploads", list_multipart_uploads_xml(
            ListUploadsResult(bucket="b", max_uploads=1000, is_truncated=False)))
        self.assertNotIn("Uploads", got)
        self.assertFalse(got["IsTruncated"])
        self.assertEqual(got["MaxUploads"], 1000)


class AttributesTests(SynchronousTestCase):

    def test_botocore_reads_it(self):
        attrs = ObjectAttributes(
            etag="abc-2", checksums={"SHA256": "x=-2", "ChecksumType": "COMPOSITE"},
            storage_class="STANDARD", object_size=11, parts_count=2, part_number_marker=1,
            next_part_number_marker=2, max_parts=1, parts_truncated=False,
            parts=[PartEntry(2, 5, checksums={"SHA256": "y="})])
        got = parse("GetObjectAttributes", object_attributes_xml(attrs))
        self.assertEqual(got["ETag"], "abc-2")
        self.assertEqual(got["Checksum"], {"ChecksumSHA256": "x=-2",
                                           "ChecksumType": "COMPOSITE"})
        self.assertEqual(got["ObjectSize"], 11)
        parts = got["ObjectParts"]
        self.assertEqual(parts["TotalPartsCount"], 2)
        self.assertEqual(parts["NextPartNumberMarker"], 2)
        self.assertEqual(parts["Parts"], [{"PartNumber": 2, "Size": 5,
                                           "ChecksumSHA256": "y="}])

    def test_only_what_was_asked(self):
        body = object_attributes_xml(ObjectAttributes(object_size=3))
        self.assertEqual(body, b'<?xml version="1.0" encoding="UTF-8"?>\n'
                               b'<GetObjectAttributesResponse xmlns="http://s3.amazonaws.'
                               b'com/doc/2006-03-01/"><ObjectSize>3</ObjectSize>'
                               b'</GetObjectAttributesResponse>')
