"""cloudserver.metadata.transfer: a bucket's records exported as typed
items, page by page, and imported into another bucket or store, checked
first and counted in the usage."""
from __future__ import annotations

import base64

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata import errors, transfer, usage
from cloudserver.metadata.kv import MemoryKV
from cloudserver.metadata.service import MetadataService
from cloudserver.metadata.uploads import part_identity


def obj(name, size, **more):
    return {"key": name, "size": size, "etag": "e", "last-modified": 1.0,
            "location": [{"key": "d" * 40, "start": 0, "size": size}], **more}


def part(number, size):
    return {"partNumber": number, "size": size, "etag": f"e{number}", "last-modified": 1.0,
            "location": [{"key": f"{number:040d}", "start": 0, "size": size}]}


class TransferTests(SynchronousTestCase):
    def setUp(self):
        self.svc = MetadataService(MemoryKV())
        self.ok(self.svc.create_bucket("src", {"name": "src", "owner": "o",
                                               "creation-date": 1.0}))
        self.ok(self.svc.put_object("src", "plain", obj("plain", 3)))
        for n in (1, 2):
            self.ok(self.svc.put_object("src", "ver", obj("ver", 10 * n), {"versioning": True}))
        inline = {"key": "small", "size": 2, "etag": "e", "last-modified": 1.0,
                  "location": [{"key": "i1", "start": 0, "size": 2, "inline": 1,
                                "data": base64.b64encode(b"hi").decode()}]}
        self.ok(self.svc.put_object("src", "small", inline))
        self.ok(self.svc.create_upload("src", "mp", "u1", {
            "uploadId": "u1", "bucket": "src", "key": "mp", "initiated": 1.0}))
        self.ok(self.svc.put_part("src", "mp", "u1", 1, part(1, 7)))

    def ok(self, d):
        return self.successResultOf(d)

    def export_all(self, svc, bucket, limit):
        items, cursor, pages = [], None, 0
        while True:
            page = self.ok(svc.export_bucket(bucket, cursor, limit))
            items += page["items"]
            pages += 1
            cursor = page["cursor"]
            if cursor is None:
                return items, pages

    def test_export_every_record_once_in_pages(self):
        items, pages = self.export_all(self.svc, "src", 2)
        kinds = [i["type"] for i in items]
        self.assertEqual(kinds[0], "bucket")
        self.assertEqual(kinds.count("object"), 5)  # plain, small, ver + its 2 versions
        self.assertEqual((kinds.count("inline"), kinds.count("upload"), kinds.count("part")),
                         (1, 1, 1))
        self.assertGreater(pages, 2)
        self.assertTrue(all(i["formatVersion"] == 1 for i in items))
        self.assertEqual(items, self.export_all(self.svc, "src", 1000)[0])

    def test_import_as_another_bucket(self):
        items, _ = self.export_all(self.svc, "src", 3)
        self.ok(self.svc.import_bucket("dst", items[0]["record"]))
        # the source's upload id is this store's: its parts would be shared
        self.failureResultOf(self.svc.import_records("dst", items[1:]), errors.InvalidArgument)
        objects = [i for i in items[1:] if i["type"] not in ("upload", "part")]
        self.ok(self.svc.import_records("dst", objects))
        self.assertEqual(self.ok(self.svc.get_bucket("dst"))["name"], "dst")
        got = self.ok(self.svc.get_object("dst", "small"))
        self.assertEqual(got["location"][0]["data"], base64.b64encode(b"hi").decode())
        src = self.ok(self.svc.get_usage("src"))["total"]
        dst = self.ok(self.svc.get_usage("dst"))["total"]
        self.assertEqual(dst, {**src, "uploads": 0, "uploadBytes": 0})
        counted = usage.scan_bucket(self.svc.kv, "dst", self.svc.uploads.parts_by_upload)
        self.assertEqual({**usage.as_dict(counted), "buckets": 1}, dst)
        self.assertEqual(self.export_all(self.svc, "dst", 9)[0][1:], objects)

    def test_import_into_another_store_keeps_uploads(self):
        items, _ = self.export_all(self.svc, "src", 3)
        other = MetadataService(MemoryKV())
        self.ok(other.import_bucket("dst", items[0]["record"]))
        self.ok(other.import_records("dst", items[1:]))
        self.assertEqual(self.ok(other.get_upload("dst", "mp", "u1"))["bucket"], "dst")
        self.assertEqual(self.ok(other.get_usage("dst"))["total"],
                         self.ok(self.svc.get_usage("src"))["total"])
        # the upload can be completed in its new bucket
        self.ok(other.complete_upload("dst", "mp", "u1", obj("mp", 7),
                                      {1: part_identity(part(1, 7))}))
        self.assertEqual(self.ok(other.get_usage("dst"))["total"]["uploadBytes"], 0)

    def test_import_into_another_store(self):
        items, _ = self.export_all(self.svc, "src", 100)
        other = MetadataService(MemoryKV())
        self.ok(other.import_bucket("src", items[0]["record"]))
        self.ok(other.import_records("src", items[1:]))
        self.assertEqual(self.export_all(other, "src", 100)[0], items)

    def test_existing_bucket_refused_unless_replace(self):
        items, _ = self.export_all(self.svc, "src", 100)
        self.failureResultOf(self.svc.import_bucket("src", items[0]["record"]),
                             errors.BucketAlreadyExists)
        self.ok(self.svc.import_bucket("src", {**items[0]["record"], "owner": "p"}, True))
        self.assertEqual(self.ok(self.svc.get_bucket("src"))["owner"], "p")
        before = self.ok(self.svc.get_usage("src"))["total"]
        self.ok(self.svc.import_records("src", items[1:]))  # the same records again
        self.assertEqual(self.ok(self.svc.get_usage("src"))["total"], before)

    def test_bad_items_refuse_the_whole_page(self):
        self.ok(self.svc.create_bucket("dst", {}))
        good = self.export_all(self.svc, "src", 100)[0][1]
        bad = [
            {**good, "type": "nonsense"},
            {**good, "formatVersion": 2},
            {**good, "record": {**good["record"], "size": "3"}},
            {**good, "record": {**good["record"], "unknown": 1}},
            {**good, "key": "other"},
            {"type": "inline", "formatVersion": 1, "id": "x", "data": "!!"},
            {**good, "record": "not a record"},
            "not an item",
        ]
        for item in bad:
            self.failureResultOf(self.svc.import_records("dst", [good, item]),
                                 errors.InvalidArgument)
        self.assertEqual(self.ok(self.svc.list_objects("dst", {}))["Contents"], [])
        self.assertEqual(self.ok(self.svc.get_usage("dst"))["total"]["versions"], 0)
        self.failureResultOf(self.svc.import_records("nope", [good]), errors.NoSuchBucket)
        self.failureResultOf(self.svc.export_bucket("src", "Z:00"), errors.InvalidArgument)

    def test_bucket_record_checked(self):
        self.failureResultOf(self.svc.import_bucket("dst", {"owner": 3}),
                             errors.InvalidArgument)
        self.failureResultOf(self.svc.get_bucket("dst"), errors.NoSuchBucket)

    def test_item_checks(self):
        self.assertEqual(transfer.check_item(transfer.bucket_item("b", {
            "name": "b", "owner": "o", "creation-date": 1})), "bucket")
