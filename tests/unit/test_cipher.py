"""AES-256-CTR stages: NIST SP 800-38A vectors, and reads from any offset."""
from __future__ import annotations

from twisted.trial import unittest

from cloudserver.data import cipher

# NIST SP 800-38A, F.5.5 CTR-AES256.Encrypt
KEY = bytes.fromhex("603deb1015ca71be2b73aef0857d7781"
                    "1f352c073b6108d72d9810a30914dff4")
IV = bytes.fromhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff")
PLAIN = bytes.fromhex("6bc1bee22e409f96e93d7e117393172a"
                      "ae2d8a571e03ac9c9eb76fac45af8e51"
                      "30c81c46a35ce411e5fbc1191a0a52ef"
                      "f69f2445df4f9b17ad2b417be66c3710")
CIPHER = bytes.fromhex("601ec313775789a5b7a7f504bbf3d228"
                       "f443e3ca4d62b59aca84e990cacaf5c5"
                       "2b0930daa23de94ce87017ba2d84988d"
                       "dfc9c58db67aada613c2dd08457941a6")


class KnownAnswerTests(unittest.SynchronousTestCase):
    def test_nist_vector(self):
        self.assertEqual(cipher.ctr_stage(KEY, IV)(PLAIN), CIPHER)

    def test_decrypt_is_the_same_operation(self):
        self.assertEqual(cipher.ctr_stage(KEY, IV)(CIPHER), PLAIN)

    def test_pieces_in_order_equal_one_call(self):
        stage = cipher.ctr_stage(KEY, IV)
        out = b"".join(stage(PLAIN[i:i + 7]) for i in range(0, len(PLAIN), 7))
        self.assertEqual(out, CIPHER)

    def test_memoryview_input(self):
        self.assertEqual(cipher.ctr_stage(KEY, IV)(memoryview(PLAIN)), CIPHER)


class OffsetTests(unittest.SynchronousTestCase):
    def test_every_offset_of_the_vector(self):
        for offset in range(len(PLAIN) + 1):
            stage = cipher.ctr_stage(KEY, IV, offset)
            self.assertEqual(stage(CIPHER[offset:]), PLAIN[offset:], offset)

    def test_block_boundaries_of_a_large_piece(self):
        key, iv = cipher.new_key(), cipher.new_iv()
        plain = bytes(range(256)) * 64  # 16 KiB
        stored = cipher.ctr_stage(key, iv)(plain)
        for offset in (0, 1, 15, 16, 17, 31, 32, 4095, 4096, 4097, len(plain) - 1):
            for length in (1, 15, 16, 17, 100):
                got = cipher.ctr_stage(key, iv, offset)(stored[offset:offset + length])
                self.assertEqual(got, plain[offset:offset + length], (offset, length))

    def test_counter_wraps(self):
        iv = b"\xff" * 16
        self.assertEqual(cipher.counter_at(iv, 16), bytes(16))
        self.assertEqual(cipher.counter_at(iv, 15), iv)
        stored = cipher.ctr_stage(KEY, iv)(PLAIN)
        self.assertEqual(cipher.ctr_stage(KEY, iv, 20)(stored[20:]), PLAIN[20:])

    def test_bad_sizes(self):
        self.assertRaises(ValueError, cipher.ctr_stage, b"short", IV)
        self.assertRaises(ValueError, cipher.ctr_stage, KEY, b"short")

    def test_fresh_keys_and_ivs(self):
        self.assertNotEqual(cipher.new_key(), cipher.new_key())
        self.assertEqual(len(cipher.new_iv()), 16)
