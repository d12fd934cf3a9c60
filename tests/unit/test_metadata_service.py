"""Tests for cloudserver.metadata.service, run over MemoryKV and LevelDBKV."""
from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from cloudserver.metadata import errors
from cloudserver.metadata.interfaces import IMetadataService
from cloudserver.metadata.kv import LevelDBKV, MemoryKV
from cloudserver.metadata.service import MetadataService
from cloudserver.s3.errors import CATALOG
from tests.unit.test_metadata_kv import HeldThreads, inline_thread


class ServiceTestsMixin:
    """Behaviour of the service whatever the KV below it."""

    def make_kv(self):
        raise NotImplementedError

    def setUp(self):
        self.kv = self.make_kv()
        self.svc = MetadataService(self.kv)

    def ok(self, d):
        return self.successResultOf(d)

    def err(self, d, cls):
        f = self.failureResultOf(d, cls)
        return f.value

    def bucket(self, name="bkt", **attrs):
        self.ok(self.svc.create_bucket(name, {"owner": "me", **attrs}))

    def test_interface(self):
        verifyObject(IMetadataService, self.svc)

    # -- buckets -----------------------------------------------------------

    def test_create_get_bucket(self):
        attrs = {"owner": "me", "name": "bkt"}
        self.ok(self.svc.create_bucket("bkt", attrs))
        self.assertEqual(self.ok(self.svc.get_bucket("bkt")),
                         {"owner": "me", "name": "bkt", "mdVersion": 1})
        self.assertNotIn("mdVersion", attrs, "the caller's dict is not modified")

    def test_md_version_kept_if_given(self):
        self.ok(self.svc.create_bucket("bkt", {"mdVersion": 7}))
        self.assertEqual(self.ok(self.svc.get_bucket("bkt")), {"mdVersion": 7})

    def test_stored_json_is_compact(self):
        self.bucket(tag="\u00e9 x")
        raw = self.kv.get(b"B\x00bkt")
        self.assertEqual(raw, '{"owner":"me","tag":"\u00e9 x","mdVersion":1}'.encode())

    def test_bucket_already_exists(self):
        self.bucket()
        e = self.err(self.svc.create_bucket("bkt", {}), errors.BucketAlreadyExists)
        self.assertEqual(e.code, "BucketAlreadyExists")

    def test_no_such_bucket(self):
        self.err(self.svc.get_bucket("nope"), errors.NoSuchBucket)
        self.err(self.svc.update_bucket("nope", {}), errors.NoSuchBucket)
        self.err(self.svc.delete_bucket("nope"), errors.NoSuchBucket)
        self.err(self.svc.put_object("nope", "k", {}), errors.NoSuchBucket)
        self.err(self.svc.get_object("nope", "k"), errors.NoSuchBucket)
        self.err(self.svc.delete_object("nope", "k"), errors.NoSuchBucket)
        self.err(self.svc.list_objects("nope", {}), errors.NoSuchBucket)
        self.err(self.svc.get_bucket_and_object("nope", "k"), errors.NoSuchBucket)

    def test_error_messages_do_not_echo_input(self):
        """Names go to ``detail`` (logs); the client message stays the catalog's."""
        self.bucket()
        e = self.err(self.svc.get_object("bkt", "<k>"), errors.NoSuchKey)
        self.assertEqual((e.detail, e.message), ("<k>", None))
        e = self.err(self.svc.put_object("bkt", "a\x00b", {}), errors.InvalidKey)
        self.assertIsNone(e.message)
        e = self.err(self.svc.list_objects("bkt", {"v2": True, "continuationToken": "@"}),
                     errors.InvalidArgument)
        self.assertEqual(e.message, "The continuation token provided is incorrect")

    def test_invalid_bucket_name(self):
        self.err(self.svc.create_bucket("a\x00b", {}), errors.InvalidBucketName)
        self.err(self.svc.create_bucket("", {}), errors.InvalidBucketName)

    def test_update_bucket(self):
        self.bucket()
        self.ok(self.svc.update_bucket("bkt", {"owner": "you"}))
        self.assertEqual(self.ok(self.svc.get_bucket("bkt")), {"owner": "you", "mdVersion": 1})

    def test_delete_bucket(self):
        self.bucket()
        self.ok(self.svc.delete_bucket("bkt"))
        self.err(self.svc.get_bucket("bkt"), errors.NoSuchBucket)
        self.bucket()  # the name can be reused

    def test_bucket_not_empty(self):
        self.bucket()
        self.ok(self.svc.put_object("bkt", "k", {}))
        self.err(self.svc.delete_bucket("bkt"), errors.BucketNotEmpty)
        self.ok(self.svc.delete_object("bkt", "k"))
        self.ok(self.svc.delete_bucket("bkt"))

    def test_bucket_with_only_versions_is_not_empty(self):
        self.bucket()
        self.ok(self.kv.write([(b"O\x00bkt\x00k\x00v1", b"{}")]))
        self.err(self.svc.delete_bucket("bkt"), errors.BucketNotEmpty)

    def test_neighbour_bucket_does_not_make_bucket_non_empty(self):
        self.bucket("ab")
        self.bucket("abc")
        self.ok(self.svc.put_object("abc", "k", {}))
        self.ok(self.svc.delete_bucket("ab"))

    def test_list_buckets(self):
        for name in ("zeta", "alpha", "mid"):
            self.bucket(name)
        self.assertEqual(self.ok(self.svc.list_buckets()),
                         [(n, {"owner": "me", "mdVersion": 1}) for n in ("alpha", "mid", "zeta")])
        self.ok(self.svc.put_object("alpha", "k", {}))
        self.assertEqual(len(self.ok(self.svc.list_buckets())), 3, "objects are not buckets")

    # -- objects -----------------------------------------------------------

    def test_put_get_object(self):
        self.bucket()
        key = "\u00e9t\u00e9"
        md = {"content-length": 3, "key": key}
        self.assertEqual(self.ok(self.svc.put_object("bkt", key, md)), {})
        self.assertEqual(self.ok(self.svc.get_object("bkt", key)), {**md, "mdVersion": 1})
        self.assertEqual(self.ok(self.svc.get_object("bkt", key, {})), {**md, "mdVersion": 1})

    def test_put_overwrites(self):
        self.bucket()
        self.ok(self.svc.put_object("bkt", "k", {"v": 1}))
        self.ok(self.svc.put_object("bkt", "k", {"v": 2}))
        self.assertEqual(self.ok(self.svc.get_object("bkt", "k"))["v"], 2)

    def test_no_such_key(self):
        self.bucket()
        e = self.err(self.svc.get_object("bkt", "k"), errors.NoSuchKey)
        self.assertEqual(e.code, "NoSuchKey")
        self.err(self.svc.delete_object("bkt", "k"), errors.NoSuchKey)

    def test_delete_object(self):
        self.bucket()
        self.assertEqual(self.ok(self.svc.put_object("bkt", "k", {"n": 1})), {})
        self.assertEqual(self.ok(self.svc.put_object("bkt", "k", {"n": 2}))["n"], 1)
        self.assertEqual(self.ok(self.svc.delete_object("bkt", "k"))["n"], 2)
        self.err(self.svc.get_object("bkt", "k"), errors.NoSuchKey)

    def test_invalid_key(self):
        self.bucket()
        for bad in ("a\x00b", "", "\udc80"):
            e = self.err(self.svc.put_object("bkt", bad, {}), errors.InvalidKey)
            self.assertEqual(e.code, "InvalidArgument")
            self.err(self.svc.get_object("bkt", bad), errors.InvalidKey)

    def test_bad_record(self):
        self.bucket()
        self.failureResultOf(self.svc.put_object("bkt", "k", ["not", "a", "dict"]), TypeError)
        self.failureResultOf(self.svc.put_object("bkt", "k", {"x": float("nan")}), ValueError)
        self.err(self.svc.get_object("bkt", "k"), errors.NoSuchKey)

    def test_unset_versioning_options_are_plain(self):
        """Unset options keep the non-versioned behaviour; versioning itself is
        tested in tests.unit.test_metadata_versioning."""
        self.bucket()
        self.assertEqual(self.ok(self.svc.put_object(
            "bkt", "k", {}, {"versionId": None, "versioning": False})), {})
        self.assertEqual(self.ok(self.svc.get_object("bkt", "k")), {"mdVersion": 1})
        e = self.err(self.svc.put_object("bkt", "k", {}, {"repairMaster": True}),
                     errors.NotImplementedOption)
        self.assertEqual(e.code, "NotImplemented")

    def test_get_bucket_and_object(self):
        self.bucket()
        self.assertEqual(self.ok(self.svc.get_bucket_and_object("bkt", "k")),
                         {"bucket": {"owner": "me", "mdVersion": 1}, "obj": None})
        self.ok(self.svc.put_object("bkt", "k", {"a": 1}))
        self.assertEqual(self.ok(self.svc.get_bucket_and_object("bkt", "k"))["obj"],
                         {"a": 1, "mdVersion": 1})

    # -- listings ----------------------------------------------------------

    def test_list_objects(self):
        self.bucket()
        self.bucket("other")
        self.ok(self.svc.put_object("other", "zz", {}))
        for key in ("photos/2006/January/sample.jpg", "photos/2006/February/sample2.jpg",
                    "sample.jpg"):
            self.ok(self.svc.put_object("bkt", key, {"k": key}))
        r = self.ok(self.svc.list_objects("bkt", {"listingType": "DelimiterMaster",
                                                  "delimiter": "/"}))
        self.assertEqual(r["CommonPrefixes"], ["photos/"])
        self.assertEqual(r["Contents"], [{"key": "sample.jpg",
                                          "value": {"k": "sample.jpg", "mdVersion": 1}}])
        self.assertFalse(r["IsTruncated"])
        r = self.ok(self.svc.list_objects("bkt", {"prefix": "photos/2006/", "delimiter": "/",
                                                  "maxKeys": 1, "v2": True}))
        self.assertEqual((r["CommonPrefixes"], r["IsTruncated"]), (["photos/2006/February/"], True))
        r = self.ok(self.svc.list_objects("bkt", {"prefix": "photos/2006/", "delimiter": "/",
                                                  "v2": True, "continuationToken":
                                                  r["NextContinuationToken"]}))
        self.assertEqual((r["CommonPrefixes"], r["IsTruncated"]), (["photos/2006/January/"], False))

    def test_list_objects_bad_params(self):
        self.bucket()
        e = self.err(self.svc.list_objects("bkt", {"v2": True, "continuationToken": "%%"}),
                     errors.InvalidArgument)
        self.assertEqual(e.code, "InvalidArgument")

    def test_list_empty_bucket(self):
        self.bucket()
        r = self.ok(self.svc.list_objects("bkt", {}))
        self.assertEqual((r["Contents"], r["CommonPrefixes"], r["IsTruncated"]), ([], [], False))

    def test_close(self):
        self.ok(self.svc.close())


class MemoryServiceTests(ServiceTestsMixin, SynchronousTestCase):
    def make_kv(self):
        return MemoryKV()


class LevelDBServiceTests(ServiceTestsMixin, SynchronousTestCase):
    def make_kv(self):
        kv = LevelDBKV(self.mktemp(), inline_thread)
        self.addCleanup(kv.close)
        return kv


class ConcurrencyTests(SynchronousTestCase):
    """Overlapping calls while LevelDB batches are held in the (fake) thread pool."""

    def setUp(self):
        self.threads = HeldThreads()
        self.kv = LevelDBKV(self.mktemp(), self.threads)
        self.svc = MetadataService(self.kv)
        self.drain(self.svc.create_bucket("bkt", {}))

    def tearDown(self):
        self.drain(self.kv.close())

    def drain(self, d):
        while self.threads.pending:
            self.threads.release()
        return self.successResultOf(d)

    def test_later_put_wins(self):
        d1 = self.svc.put_object("bkt", "k", {"v": 1})
        d2 = self.svc.put_object("bkt", "k", {"v": 2})
        d3 = self.svc.put_object("bkt", "k", {"v": 3})
        self.drain(d3)
        self.successResultOf(d1)
        self.successResultOf(d2)
        self.assertEqual(self.kv.batches, 3)  # create, put 1, then puts 2+3 together
        self.assertEqual(self.successResultOf(self.svc.get_object("bkt", "k"))["v"], 3)

    def test_concurrent_creates(self):
        d1 = self.svc.create_bucket("new", {"n": 1})
        self.failureResultOf(self.svc.create_bucket("new", {"n": 2}), errors.BucketAlreadyExists)
        self.drain(d1)
        self.assertEqual(self.successResultOf(self.svc.get_bucket("new"))["n"], 1)

    def test_delete_while_put_in_flight(self):
        d = self.svc.put_object("bkt", "k", {})
        self.failureResultOf(self.svc.delete_bucket("bkt"), errors.BucketNotEmpty)
        self.drain(d)
        self.failureResultOf(self.svc.delete_bucket("bkt"), errors.BucketNotEmpty)

    def test_put_while_delete_in_flight(self):
        d = self.svc.delete_bucket("bkt")
        self.failureResultOf(self.svc.put_object("bkt", "k", {}), errors.NoSuchBucket)
        self.failureResultOf(self.svc.get_bucket("bkt"), errors.NoSuchBucket)
        self.failureResultOf(self.svc.create_bucket("bkt", {}), errors.OperationAborted)
        self.failureResultOf(self.svc.delete_bucket("bkt"), errors.OperationAborted)
        self.drain(d)
        self.assertEqual(self.successResultOf(self.svc.list_buckets()), [])
        self.drain(self.svc.create_bucket("bkt", {}))

    def test_delete_while_create_in_flight(self):
        d = self.svc.create_bucket("new", {})
        self.failureResultOf(self.svc.delete_bucket("new"), errors.OperationAborted)
        self.drain(d)
        self.drain(self.svc.delete_bucket("new"))

    def test_claims_released_on_failure(self):
        d = self.svc.create_bucket("new", {})
        self.threads.release(fail=OSError("disk"))
        self.failureResultOf(d, OSError)
        self.drain(self.svc.create_bucket("new", {}))


class ErrorCatalogTests(SynchronousTestCase):
    def test_codes_are_s3_codes(self):
        for cls in (errors.NoSuchBucket, errors.BucketAlreadyExists, errors.BucketNotEmpty,
                    errors.NoSuchKey, errors.InvalidKey, errors.InvalidBucketName,
                    errors.InvalidArgument, errors.OperationAborted,
                    errors.NotImplementedOption, errors.MetadataError):
            self.assertIn(cls.code, CATALOG, cls)
            self.assertIsInstance(cls(), errors.MetadataError)

    def test_from_name(self):
        e = errors.from_name("NoSuchKey", "k")
        self.assertIsInstance(e, errors.NoSuchKey)
        self.assertEqual(e.message, "k")
        self.assertIs(type(errors.from_name("Bogus")), errors.MetadataError)


class DecodeRecordTests(SynchronousTestCase):
    """decode_record gives json.loads's value, or its error."""

    def test_same_as_json(self):
        import json

        from cloudserver.metadata.records import decode_record, encode_record
        samples = [encode_record({"a": 1, "b": [1.5, None, True], "c": {"d": "\u00e9"}}),
                   b' {"a": 1} ', b'{"a": 1}\n', b"[1, 2]", b"3", b'"x"', b"{}",
                   b"", b"{", b'{"a": 1} x', b"nul", b"{'a': 1}", b'{"a":NaN}']
        for raw in samples:
            try:
                expected = ("ok", json.loads(raw.decode("utf-8")))
            except ValueError as e:
                expected = ("err", type(e), str(e))
            try:
                got = ("ok", decode_record(raw))
            except ValueError as e:
                got = ("err", type(e), str(e))
            self.assertEqual(got, expected, raw)
