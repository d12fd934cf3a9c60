# -*- test-case-name: tests.unit.test_checksums,tests.unit.test_upload_digests -*-
"""Streaming digests of object bodies: the ETag MD5, the signed SHA-256 and
the x-amz-checksum-* family.

Every byte of a PUT body passes through here once, so the per-chunk path is
kept to the hash updates themselves.  They run on the reactor thread, or in
the data writer's I/O thread when the writer can take them
(``BodyDigests.hand_over_hashing``): MD5 costs ~1.6 ms per MiB here, half
of what a large upload used to cost the reactor.  The CRCs come
from C: zlib for CRC32 (measured faster than awscrt's on this machine) and
awscrt for CRC32C and CRC64NVME (the AWS SDKs use the same library), so the
values are bit-for-bit what the SDKs compute on their side.

Checksum values travel base64-encoded big-endian, as S3 returns them in the
``x-amz-checksum-<algorithm>`` headers.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import zlib
from collections.abc import Callable
from typing import Protocol

from awscrt import checksums as _crt

ALGORITHMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256")

#: decoded digest length in bytes, per algorithm
DIGEST_SIZES = {"CRC32": 4, "CRC32C": 4, "CRC64NVME": 8, "SHA1": 20, "SHA256": 32}

_HEADER_PREFIX = "x-amz-checksum-"


class Checksum(Protocol):
    """What ``new_checksum`` returns."""

    algorithm: str

    def update(self, data: bytes | bytearray | memoryview) -> None: ...

    def digest(self) -> bytes: ...

    def b64digest(self) -> str: ...


class _Crc:
    """A running CRC kept as an int; ``func(data, previous)`` advances it."""

    __slots__ = ("_func", "_size", "_value", "algorithm")

    def __init__(self, algorithm: str, func: Callable[[object, int], int], size: int):
        self.algorithm = algorithm
        self._func = func
        self._value = 0
        self._size = size

    def update(self, data) -> None:
        self._value = self._func(data, self._value)

    def digest(self) -> bytes:
        return self._value.to_bytes(self._size, "big")

    def b64digest(self) -> str:
        return base64.b64encode(self.digest()).decode("ascii")


class _Hash:
    """A hashlib object behind the same small face as the CRCs."""

    __slots__ = ("_hash", "algorithm", "update")

    def __init__(self, algorithm: str, hash_obj):
        self.algorithm = algorithm
        self._hash = hash_obj
        self.update = hash_obj.update

    def digest(self) -> bytes:
        return self._hash.digest()

    def b64digest(self) -> str:
        return base64.b64encode(self._hash.digest()).decode("ascii")


def normalize_algorithm(name: str) -> str:
    """Return the canonical (upper-case) algorithm name, or raise ValueError.

    SDKs send ``x-amz-checksum-algorithm: CRC32``; some lower-case it, so
    the comparison ignores case.
    """
    upper = name.strip().upper()
    if upper not in DIGEST_SIZES:
        raise ValueError(f"unsupported checksum algorithm: {name!r}")
    return upper


def new_checksum(name: str) -> Checksum:
    """A fresh running checksum for one of ``ALGORITHMS`` (case-insensitive)."""
    algorithm = normalize_algorithm(name)
    if algorithm == "CRC32":
        return _Crc(algorithm, zlib.crc32, 4)
    if algorithm == "CRC32C":
        return _Crc(algorithm, _crt.crc32c, 4)
    if algorithm == "CRC64NVME":
        return _Crc(algorithm, _crt.crc64nvme, 8)
    if algorithm == "SHA1":
        return _Hash(algorithm, hashlib.sha1())
    return _Hash(algorithm, hashlib.sha256())


def header_name(algorithm: str) -> str:
    """``"CRC32C"`` -> ``"x-amz-checksum-crc32c"``."""
    return _HEADER_PREFIX + normalize_algorithm(algorithm).lower()


def algorithm_from_header(name: str | bytes) -> str | None:
    """``"x-amz-checksum-crc32"`` -> ``"CRC32"``; None when the header does
    not carry a checksum value (other headers, and ``x-amz-checksum-algorithm``
    / ``x-amz-checksum-type`` which share the prefix).
    """
    if isinstance(name, bytes):
        name = name.decode("latin-1")
    lowered = name.lower()
    if not lowered.startswith(_HEADER_PREFIX):
        return None
    upper = lowered[len(_HEADER_PREFIX):].upper()
    return upper if upper in DIGEST_SIZES else None


def decode_b64_digest(algorithm: str, value: str | bytes) -> bytes | None:
    """The raw digest in ``value``, or None if it is not strict base64 of
    the right length for ``algorithm``."""
    size = DIGEST_SIZES[normalize_algorithm(algorithm)]
    if isinstance(value, str):
        try:
            value = value.encode("ascii")
        except UnicodeEncodeError:
            return None
    try:
        raw = binascii.a2b_base64(value.strip(), strict_mode=True)
    except (binascii.Error, ValueError):
        return None
    return raw if len(raw) == size else None


def is_valid_b64_digest(algorithm: str, value: str | bytes) -> bool:
    """True if ``value`` could be a checksum of ``algorithm``: strict base64
    decoding to the digest's length.  The S3 layer answers InvalidRequest
    otherwise, before reading the body."""
    return decode_b64_digest(algorithm, value) is not None


class BodyDigests:
    """Every digest one request body needs, fed each body piece once.

    MD5 always (the ETag and Content-MD5), SHA-256 when the request signed
    its payload hash, and at most one x-amz-checksum algorithm.  The bound
    ``update`` methods are collected once at construction, so a chunk costs
    the hash updates themselves and nothing else (no copies, no branches).
    """

    def __init__(self, sha256: bool = False, checksum: str | None = None):
        self._md5 = hashlib.md5(usedforsecurity=False)
        self._sha256 = hashlib.sha256() if sha256 else None
        self._checksum = new_checksum(checksum) if checksum is not None else None
        self.size = 0
        updaters = [self._md5.update]
        if self._sha256 is not None:
            updaters.append(self._sha256.update)
        if self._checksum is not None:
            updaters.append(self._checksum.update)
        self._updaters = tuple(updaters)

    def update(self, data: bytes | bytearray | memoryview) -> None:
        """Feed one body piece to every configured digest (after
        ``hand_over_hashing``: only count its bytes)."""
        for update in self._updaters:
            update(data)
        self.size += len(data)

    def hand_over_hashing(self) -> Callable[[bytes | bytearray | memoryview], None]:
        """Let someone else run the hash updates: a data writer's I/O thread
        (IDigestingWriter), so that hashing a large body runs beside the
        reactor instead of on it.

        Returns the function that feeds one piece to every digest; from now
        on ``update`` only counts bytes (``size`` stays the reactor's).  The
        digests are right only once every byte went through that function,
        in order: when the writer calls ``finish``'s ``before_commit``.
        """
        updaters, self._updaters = self._updaters, ()
        if len(updaters) == 1:
            return updaters[0]

        def update_hashes(data) -> None:
            for update in updaters:
                update(data)

        return update_hashes

    def md5_digest(self) -> bytes:
        return self._md5.digest()

    def md5_hex(self) -> str:
        """The ETag of a single-part object (without quotes)."""
        return self._md5.hexdigest()

    def md5_b64(self) -> str:
        """What a Content-MD5 header of this body would say."""
        return base64.b64encode(self._md5.digest()).decode("ascii")

    def sha256_hex(self) -> str | None:
        """Hex SHA-256, compared with x-amz-content-sha256; None if not asked."""
        return self._sha256.hexdigest() if self._sha256 is not None else None

    @property
    def checksum(self) -> tuple[str, str] | None:
        """``(algorithm, base64 value)`` of the x-amz-checksum, or None."""
        if self._checksum is None:
            return None
        return (self._checksum.algorithm, self._checksum.b64digest())
