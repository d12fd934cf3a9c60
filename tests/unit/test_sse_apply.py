"""sse.apply: specs from requests and bucket defaults, pieces, reads."""
from __future__ import annotations

import base64
import hashlib

from twisted.internet import defer
from twisted.trial import unittest

from cloudserver.kms.memory import MemoryKms
from cloudserver.s3.errors import S3Error
from cloudserver.s3.sse import apply
from cloudserver.s3.sse.request import CustomerKey, SseRequest

RAW = bytes(range(32))
CUSTOMER = CustomerKey("AES256", RAW, base64.b64encode(hashlib.md5(RAW).digest()).decode())


class ResolveTests(unittest.SynchronousTestCase):
    kms = MemoryKms(key_ids=["testkey-1"])

    def test_nothing(self):
        self.assertIsNone(apply.resolve(self.kms, SseRequest(), {}, "b", "k"))

    def test_sse_s3_uses_default_key(self):
        spec = apply.resolve(self.kms, SseRequest(algorithm="AES256"), {}, "b", "k")
        self.assertEqual((spec.algorithm, spec.key_id), ("AES256", self.kms.default_key_id))

    def test_bucket_default(self):
        attrs = {"encryption": {"algorithm": "aws:kms", "keyId": "testkey-1"}}
        spec = apply.resolve(self.kms, SseRequest(), attrs, "b", "k")
        self.assertEqual((spec.algorithm, spec.key_id), ("aws:kms", "testkey-1"))
        self.assertEqual(spec.context, {"aws:s3:arn": "arn:aws:s3:::b/k"})

    def test_bucket_level_key(self):
        spec = apply.resolve(self.kms, SseRequest(), {"bucketKeyId": "bk"}, "b", "k")
        self.assertEqual((spec.algorithm, spec.key_id), ("AES256", "bk"))

    def test_bad_context(self):
        request = SseRequest(algorithm="aws:kms", context="bm90IGpzb24=")
        self.assertRaises(S3Error, apply.resolve, self.kms, request, {}, "b", "k")


class CustomerTests(unittest.SynchronousTestCase):
    def test_record_keeps_no_key(self):
        record = apply.object_record(apply.SseSpec(algorithm=None, customer=CUSTOMER))
        self.assertNotIn(base64.b64encode(RAW).decode(), repr(record))
        self.assertNotIn(RAW.hex(), repr(record))
        apply.check_customer(record, CUSTOMER)
        other = CustomerKey("AES256", bytes(32), "x")
        e = self.assertRaises(S3Error, apply.check_customer, record, other)
        self.assertEqual(e.code, "AccessDenied")
        e = self.assertRaises(S3Error, apply.check_customer, record, None)
        self.assertEqual(e.code, "InvalidRequest")

    def test_key_on_clear_object(self):
        e = self.assertRaises(S3Error, apply.check_customer, None, CUSTOMER)
        self.assertEqual(e.code, "InvalidRequest")


class PieceTests(unittest.SynchronousTestCase):
    def test_round_trip_through_read_stages(self):
        kms = MemoryKms()
        spec = apply.resolve(kms, SseRequest(algorithm="aws:kms"), {}, "b", "k")
        piece = self.successResultOf(defer.Deferred.fromCoroutine(apply.new_piece(kms, spec)))
        plain = b"0123456789" * 10
        stored = piece.stage()(plain)
        self.assertNotEqual(stored, plain)
        loc = apply.with_cipher([{"key": "d", "start": 0, "size": 100}], piece)[0]
        md = {"sse": apply.object_record(spec), "location": [loc]}
        stages = self.successResultOf(defer.Deferred.fromCoroutine(
            apply.read_stages(kms, md, None, 37, 20)))
        (stage,) = stages(loc, 37)
        self.assertEqual(stage(stored[37:57]), plain[37:57])
        self.assertEqual(apply.response_headers(md["sse"])[0],
                         ("x-amz-server-side-encryption", "aws:kms"))

    def test_clear_object_has_no_stages(self):
        md = {"location": [{"key": "d", "start": 0, "size": 3}]}
        d = defer.Deferred.fromCoroutine(apply.read_stages(MemoryKms(), md, None, 0, 3))
        self.assertIsNone(self.successResultOf(d))

    def test_etags(self):
        spec = apply.SseSpec(algorithm="AES256")
        piece = apply.PieceCipher(key=bytes(32), iv=bytes(16), record={})
        self.assertEqual(apply.stored_etag(spec, piece, "ab" * 16), "ab" * 16)
        kms_spec = apply.SseSpec(algorithm="aws:kms")
        self.assertNotEqual(apply.stored_etag(kms_spec, piece, "ab" * 16), "ab" * 16)
