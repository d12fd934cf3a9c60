# -*- test-case-name: tests.unit.test_cipher -*-
"""AES-256-CTR: the one cipher stored object bytes go through.

CTR keeps the length of the plaintext (so sizes, ranges and part offsets
stay those of the object) and can start at any byte: the counter block of
offset ``o`` is the piece's IV plus ``o // 16``, and ``o % 16`` bytes of
key stream are dropped.  A ranged GET therefore decrypts only what it
sends.  CTR has no integrity tag of its own: the bytes are stored by this
server, under its own checksums, and a key or IV is never used for two
pieces (each piece gets a fresh random data key or IV).  Why CTR and not a
chunked AEAD is written down in docs/ARCHITECTURE.md.

A stage is stateful (``update`` of an OpenSSL cipher context, via the
``cryptography`` package): it must see a piece's bytes once, in order,
which is what IDigestingWriter's transforms and ``producers.transformed``
guarantee.  Encryption and decryption are the same operation.
"""
from __future__ import annotations

import os
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 16
KEY_SIZE = 32
IV_SIZE = 16

#: bytes-like in, bytes out, same length
Stage = Callable[[object], bytes]


def new_key() -> bytes:
    """A fresh random AES-256 key (a data key)."""
    return os.urandom(KEY_SIZE)


def new_iv() -> bytes:
    """A fresh random initial counter block for one piece."""
    return os.urandom(IV_SIZE)


def counter_at(iv: bytes, offset: int) -> bytes:
    """The counter block that covers byte ``offset`` of a piece (wraps at 2**128)."""
    n = (int.from_bytes(iv, "big") + offset // BLOCK) % (1 << 128)
    return n.to_bytes(IV_SIZE, "big")


def ctr_stage(key: bytes, iv: bytes, offset: int = 0) -> Stage:
    """A stage that en/decrypts a piece's bytes from ``offset`` on."""
    if len(key) != KEY_SIZE or len(iv) != IV_SIZE:
        raise ValueError("AES-256-CTR needs a 32-byte key and a 16-byte IV")
    context = Cipher(algorithms.AES(key), modes.CTR(counter_at(iv, offset))).encryptor()
    skip = offset % BLOCK
    if skip:
        context.update(bytes(skip))
    return context.update
