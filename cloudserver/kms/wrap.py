# -*- test-case-name: tests.unit.test_kms -*-
"""Wrapping data keys under a local master key (the mem and file KMS).

AES-256-GCM with a random 96-bit nonce; the key id and the encryption
context are the associated data, so a wrapped key opens only under the key
and context it was made for.  Wrapped form: nonce || ciphertext || tag.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cloudserver.kms.errors import KmsDecryptFailed

NONCE = 12


def _associated(key_id: str, context: Mapping[str, str] | None) -> bytes:
    return json.dumps([key_id, dict(context or {})], sort_keys=True,
                      separators=(",", ":")).encode()


def wrap(master: bytes, key_id: str, data_key: bytes,
         context: Mapping[str, str] | None) -> bytes:
    nonce = os.urandom(NONCE)
    return nonce + AESGCM(master).encrypt(nonce, data_key, _associated(key_id, context))


def unwrap(master: bytes, key_id: str, wrapped: bytes,
           context: Mapping[str, str] | None) -> bytes:
    try:
        return AESGCM(master).decrypt(wrapped[:NONCE], wrapped[NONCE:],
                                      _associated(key_id, context))
    except (InvalidTag, ValueError):
        raise KmsDecryptFailed(f"data key does not open with master key {key_id}") from None
