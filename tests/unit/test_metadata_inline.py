"""Small objects' bytes in the metadata store (cloudserver.metadata.inline):
written with their record, read back with it, freed with the record that
last refers to them — on MemoryKV and LevelDBKV."""
from __future__ import annotations

import base64

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata import errors, inline, keys
from cloudserver.metadata.kv import LevelDBKV, MemoryKV
from cloudserver.metadata.service import MetadataService
from cloudserver.metadata.uploads import part_identity
from tests.unit.test_metadata_kv import inline_thread


def piece(data_id: str, data: bytes, with_data: bool = True) -> dict:
    out = {"inline": 1, "key": data_id, "start": 0, "size": len(data)}
    if with_data:
        out["data"] = base64.b64encode(data).decode()
    return out


def record(data_id: str, data: bytes, **extra) -> dict:
    return {"size": len(data), "etag": "e", "location": [piece(data_id, data)], **extra}


class InlineServiceMixin:
    def make_kv(self):
        raise NotImplementedError

    def setUp(self):
        self.kv = self.make_kv()
        self.svc = MetadataService(self.kv)
        self.ok(self.svc.create_bucket("bkt", {"owner": "me"}))

    def ok(self, d):
        return self.successResultOf(d)

    def stored(self) -> dict[str, bytes]:
        prefix = keys.DATA_PREFIX
        return {k[len(prefix):].decode(): v
                for k, v in self.kv.iterate(gte=prefix, lt=keys.successor(prefix))}

    def test_bytes_stored_beside_the_record_not_in_it(self):
        self.ok(self.svc.put_object("bkt", "k", record("id1", b"hello")))
        self.assertEqual(self.stored(), {"id1": b"hello"})
        raw = self.kv.get(keys.object_key("bkt", "k"))
        self.assertNotIn(b"data", raw)
        listed = self.ok(self.svc.list_objects("bkt", {"listingType": "DelimiterMaster"}))
        self.assertNotIn("data", listed["Contents"][0]["value"]["location"][0])

    def test_reads_bring_the_bytes(self):
        md = record("id1", b"hello")
        self.ok(self.svc.put_object("bkt", "k", md))
        got = self.ok(self.svc.get_object("bkt", "k"))
        self.assertEqual(got["location"], md["location"])
        both = self.ok(self.svc.get_bucket_and_object("bkt", "k"))
        self.assertEqual(both["obj"]["location"], md["location"])

    def test_record_without_its_bytes_for_a_head(self):
        md = record("id1", b"hello")
        self.ok(self.svc.put_object("bkt", "k", md))
        both = self.ok(self.svc.get_bucket_and_object("bkt", "k", {"inlineData": False}))
        piece = both["obj"]["location"][0]
        self.assertNotIn("data", piece)
        self.assertEqual((piece["inline"], piece["key"], piece["size"]), (1, "id1", 5))

    def test_overwrite_frees_the_old_bytes(self):
        self.ok(self.svc.put_object("bkt", "k", record("id1", b"one")))
        previous = self.ok(self.svc.put_object("bkt", "k", record("id2", b"two")))
        self.assertEqual(self.stored(), {"id2": b"two"})
        self.assertEqual(previous["location"][0]["key"], "id1")

    def test_rewrite_of_the_same_record_keeps_its_bytes(self):
        self.ok(self.svc.put_object("bkt", "k", record("id1", b"one")))
        got = self.ok(self.svc.get_object("bkt", "k"))
        self.ok(self.svc.put_object("bkt", "k", {**got, "tags": {"a": "b"}}))
        # without the bytes (a record from a listing): they stay too
        bare = {**got, "location": [piece("id1", b"one", with_data=False)]}
        self.ok(self.svc.put_object("bkt", "k", bare))
        self.assertEqual(self.stored(), {"id1": b"one"})
        self.assertEqual(self.ok(self.svc.get_object("bkt", "k"))["location"],
                         record("id1", b"one")["location"])

    def test_delete_frees_the_bytes(self):
        self.ok(self.svc.put_object("bkt", "k", record("id1", b"one")))
        self.ok(self.svc.delete_object("bkt", "k"))
        self.assertEqual(self.stored(), {})

    def test_versions_keep_their_bytes_until_deleted(self):
        self.ok(self.svc.update_bucket("bkt", {"owner": "me", "versioning": "Enabled"}))
        v1 = self.ok(self.svc.put_object("bkt", "k", record("id1", b"one"),
                                         {"versioning": True}))["versionId"]
        v2 = self.ok(self.svc.put_object("bkt", "k", record("id2", b"two"),
                                         {"versioning": True}))["versionId"]
        self.assertEqual(self.stored(), {"id1": b"one", "id2": b"two"})
        old = self.ok(self.svc.get_object("bkt", "k", {"versionId": v1}))
        self.assertEqual(base64.b64decode(old["location"][0]["data"]), b"one")
        self.ok(self.svc.delete_object("bkt", "k", {"versionId": v2}))
        self.assertEqual(self.stored(), {"id1": b"one"})
        self.ok(self.svc.delete_object("bkt", "k", {"versionId": v1}))
        self.assertEqual(self.stored(), {})

    def test_null_version_overwrite_frees(self):
        self.ok(self.svc.put_object("bkt", "k", record("id1", b"one"), {"versionId": ""}))
        self.ok(self.svc.put_object("bkt", "k", record("id2", b"two"), {"versionId": ""}))
        self.assertEqual(self.stored(), {"id2": b"two"})

    def test_multipart_completion_over_an_inline_object_frees_it(self):
        self.ok(self.svc.put_object("bkt", "k", record("id1", b"one")))
        self.ok(self.svc.create_upload("bkt", "k", "u1", {"key": "k"}))
        self.ok(self.svc.put_part("bkt", "k", "u1", 1, {"etag": "p1", "size": 5,
                                                        "location": [{"key": "f", "start": 0,
                                                                      "size": 5}]}))
        out = self.ok(self.svc.complete_upload(
            "bkt", "k", "u1", {"size": 5, "location": [{"key": "f", "start": 0, "size": 5}]},
            {1: part_identity({"etag": "p1", "location": [{"key": "f"}]})}))
        self.assertEqual(out["result"]["location"][0]["key"], "id1")
        self.assertEqual(self.stored(), {})

    def test_bad_inline_data_is_refused_before_anything_is_written(self):
        bad = [
            {**piece("id1", b"abc"), "data": "not base64!"},
            {**piece("id1", b"abc"), "size": 4},
            {"key": "f", "start": 0, "size": 3, "data": "YWJj"},
            {**piece("id1", b"abc"), "data": 12},
        ]
        for p in bad:
            f = self.failureResultOf(self.svc.put_object("bkt", "k", {"location": [p]}))
            self.assertIsInstance(f.value, errors.InvalidArgument)
        self.assertEqual(self.stored(), {})
        self.assertIsNone(self.kv.get(keys.object_key("bkt", "k")))


class MemoryInlineTests(InlineServiceMixin, SynchronousTestCase):
    def make_kv(self):
        return MemoryKV()


class LevelDBInlineTests(InlineServiceMixin, SynchronousTestCase):
    def make_kv(self):
        kv = LevelDBKV(self.mktemp(), inline_thread)
        self.addCleanup(kv.close)
        return kv


class HelperTests(SynchronousTestCase):
    def test_take_data_leaves_the_callers_record_alone(self):
        md = record("id1", b"abc")
        stored, puts = inline.take_data(md)
        self.assertIn("data", md["location"][0])
        self.assertNotIn("data", stored["location"][0])
        self.assertEqual(puts, [(keys.data_key("id1"), b"abc")])

    def test_attach_returns_a_new_record(self):
        bare = {"location": [piece("id1", b"abc", with_data=False)]}
        got = inline.attach(bare, {keys.data_key("id1"): b"abc"}.get)
        self.assertNotIn("data", bare["location"][0])
        self.assertEqual(got["location"][0]["data"], "YWJj")
        missing = inline.attach(bare, {}.get)
        self.assertNotIn("data", missing["location"][0])

    def test_freed_keys_skip_what_the_new_record_keeps(self):
        old = [record("a", b"1"), record("b", b"2")]
        self.assertEqual(inline.freed_keys(old, record("a", b"1")), [keys.data_key("b")])
        self.assertEqual(inline.freed_keys([{"location": [{"key": "f"}]}]), [])

    def test_data_key_refuses_bad_ids(self):
        for bad in ("", "a\x00b", None):
            self.assertRaises(errors.InvalidKey, keys.data_key, bad)
