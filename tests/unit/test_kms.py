"""The KMS backends: data keys wrapped under master keys, bound to their context."""
from __future__ import annotations

from twisted.trial import unittest

from cloudserver.kms.errors import KmsDecryptFailed, NoSuchKmsKey
from cloudserver.kms.interfaces import IKms
from cloudserver.kms.memory import MemoryKms


class MemoryKmsTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.kms = MemoryKms(key_ids=["testkey-1"])

    def test_provides(self):
        self.assertTrue(IKms.providedBy(self.kms))

    def test_round_trip(self):
        plain, wrapped = self.successResultOf(
            self.kms.generate_data_key("testkey-1", {"a": "b"}))
        self.assertEqual(len(plain), 32)
        self.assertNotIn(plain, wrapped)
        got = self.successResultOf(self.kms.decrypt_data_key("testkey-1", wrapped, {"a": "b"}))
        self.assertEqual(got, plain)

    def test_context_and_key_bound(self):
        _, wrapped = self.successResultOf(self.kms.generate_data_key("testkey-1", {"a": "b"}))
        self.failureResultOf(self.kms.decrypt_data_key("testkey-1", wrapped, {"a": "c"}),
                             KmsDecryptFailed)
        self.failureResultOf(self.kms.decrypt_data_key(self.kms.default_key_id, wrapped,
                                                       {"a": "b"}), KmsDecryptFailed)

    def test_unknown_key(self):
        self.failureResultOf(self.kms.generate_data_key("nope", {}), NoSuchKmsKey)
        self.assertFalse(self.successResultOf(self.kms.has_key("nope")))

    def test_bucket_keys(self):
        key_id = self.successResultOf(self.kms.create_bucket_key("b"))
        self.assertTrue(self.successResultOf(self.kms.has_key(key_id)))
        self.successResultOf(self.kms.destroy_bucket_key(key_id))
        self.assertFalse(self.successResultOf(self.kms.has_key(key_id)))
