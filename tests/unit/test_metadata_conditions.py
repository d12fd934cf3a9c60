"""Conditional writes checked by the metadata service as it plans a put
(cloudserver.metadata.conditions): racing writers see each other."""
from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata import errors, rpc
from cloudserver.metadata.service import MetadataService
from cloudserver.s3.errors import translate
from tests.unit.test_multipart_uploads import SlowKV, ident, part, upload

NONE = {"ifNoneMatch": ["*"]}


def record(etag):
    return {"etag": etag, "location": []}


class ConditionalPutTests(SynchronousTestCase):
    """Over a KV whose batches stay in flight until ``flush``."""

    versioned: dict | None = None

    def setUp(self):
        self.kv = SlowKV()
        self.svc = MetadataService(self.kv)
        d = self.svc.create_bucket("b", {})
        self.kv.flush()
        self.successResultOf(d)

    def put(self, etag, **conditions):
        return self.svc.put_object("b", "k", record(etag), {**(self.versioned or {}),
                                                            **conditions} or None)

    def current(self):
        return self.successResultOf(self.svc.get_object("b", "k"))["etag"]

    def test_racing_if_none_match_one_wins(self):
        first = self.put("a", ifNoneMatch=["*"])
        second = self.put("b", ifNoneMatch=["*"])  # planned while the first is in flight
        e = self.failureResultOf(second, errors.IfNoneMatchFailed).value
        self.kv.flush()
        self.successResultOf(first)
        self.assertEqual(self.current(), "a")
        self.assertEqual(e.code, "PreconditionFailed")
        s3 = translate(e)
        self.assertEqual((s3.status, s3.extra), (412, {"Condition": "If-None-Match"}))
        self.assertEqual(len(self.kv.batches), 2, "the loser wrote nothing")

    def test_if_none_match_after_commit_and_by_etag(self):
        self.put("a")
        self.kv.flush()
        self.failureResultOf(self.put("b", ifNoneMatch=["*"]), errors.IfNoneMatchFailed)
        self.failureResultOf(self.put("b", ifNoneMatch=["x", "a"]), errors.IfNoneMatchFailed)
        d = self.put("b", ifNoneMatch=["x"])
        self.kv.flush()
        self.successResultOf(d)
        self.assertEqual(self.current(), "b")

    def test_if_match_stale_etag(self):
        self.put("a")
        self.kv.flush()
        first = self.put("b", ifMatch=["a"])
        stale = self.put("c", ifMatch=["a"])  # "a" was replaced by the write in flight
        e = self.failureResultOf(stale, errors.IfMatchFailed).value
        self.assertEqual(translate(e).extra, {"Condition": "If-Match"})
        fresh = self.put("d", ifMatch=["b"])
        self.kv.flush()
        self.successResultOf(first)
        self.successResultOf(fresh)
        self.assertEqual(self.current(), "d")

    def test_if_match_absent_object(self):
        self.failureResultOf(self.put("a", ifMatch=["*"]), errors.NoSuchKey)

    def test_delete_marker_is_absent(self):
        self.put("a")
        if self.versioned:  # a delete marker, in flight
            self.svc.put_object("b", "k", {"isDeleteMarker": True}, self.versioned)
        else:
            self.svc.delete_object("b", "k")
        d = self.put("b", ifNoneMatch=["*"])
        self.kv.flush()
        self.successResultOf(d)
        self.assertEqual(self.current(), "b")

    def test_bad_condition_option(self):
        for bad in ("*", [1], {"a": 1}):
            self.failureResultOf(self.put("a", ifNoneMatch=bad), errors.InvalidArgument)
        self.failureResultOf(self.put("a", ifMatch="*"), errors.InvalidArgument)

    def test_completion_checks_too(self):
        for call in (lambda: self.svc.create_upload("b", "k", "u1", upload()),
                     lambda: self.svc.put_part("b", "k", "u1", 1, part(1, "p"))):
            d = call()
            self.kv.flush()
            self.successResultOf(d)
        first = self.put("a", ifNoneMatch=["*"])
        done = self.svc.complete_upload("b", "k", "u1", record("x-1"), {1: ident(1, "p")},
                                        {**(self.versioned or {}), **NONE})
        self.failureResultOf(done, errors.IfNoneMatchFailed)
        self.kv.flush()
        self.successResultOf(first)
        self.successResultOf(self.svc.get_upload("b", "k", "u1"))  # the upload stays


class VersionedConditionalPutTests(ConditionalPutTests):
    versioned = {"versioning": True}


class WireTests(SynchronousTestCase):
    def test_rebuilt_from_the_wire(self):
        for cls in (errors.IfNoneMatchFailed, errors.IfMatchFailed):
            e = rpc.error_from_wire(rpc.error_code(cls()), None)
            self.assertIs(type(e), cls)
