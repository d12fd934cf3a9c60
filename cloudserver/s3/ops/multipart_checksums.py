# -*- test-case-name: tests.unit.test_multipart_checksums -*-
"""The digests of a completed multipart upload, computed from its parts'.

* ETag: hex MD5 of the concatenated binary part MD5s, then ``-N``.
* COMPOSITE checksum: the algorithm over the concatenated binary part
  checksums, base64, then ``-N`` (SHA1, SHA256, CRC32, CRC32C).
* FULL_OBJECT checksum (CRC32, CRC32C, CRC64NVME): the CRC of the whole
  object, obtained without reading it by combining the part CRCs.  These
  CRCs are reflected, with all-ones init and final xor, so
  ``crc(A + B) = shift(crc(A), len(B)) ^ crc(B)`` where ``shift``
  multiplies by x^(8 len B) modulo the polynomial (zlib's crc32_combine,
  written here for any width because awscrt has no combine).
"""
from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Sequence

from cloudserver.s3.model import checksums
from cloudserver.s3.errors import S3Error

COMPOSITE, FULL_OBJECT = "COMPOSITE", "FULL_OBJECT"

#: reflected polynomial and width of the CRCs that can be combined
_CRCS = {
    "CRC32": (0xEDB88320, 32),
    "CRC32C": (0x82F63B78, 32),
    "CRC64NVME": (0x9A6C9329AC4BC9B5, 64),
}
_X2N: dict[str, list[int]] = {}


def final_etag(part_md5_hexes: Sequence[str]) -> str:
    """The ETag of a multipart object (without quotes)."""
    joined = b"".join(bytes.fromhex(h) for h in part_md5_hexes)
    return f"{hashlib.md5(joined, usedforsecurity=False).hexdigest()}-{len(part_md5_hexes)}"


def checksum_type(algorithm: str | None, requested: str | None) -> str | None:
    """The checksum type of a new upload, as AWS decides it (or S3Error).

    CRC64NVME only exists as FULL_OBJECT, SHA1/SHA256 only as COMPOSITE;
    CRC32/CRC32C default to COMPOSITE and may ask for FULL_OBJECT.
    """
    if requested is not None:
        requested = requested.strip().upper()
        if requested not in (COMPOSITE, FULL_OBJECT):
            raise S3Error("InvalidRequest", "Value for x-amz-checksum-type header is "
                          "invalid.")
    if algorithm is None:
        if requested is not None:
            raise S3Error("InvalidRequest", "The x-amz-checksum-type header can only be "
                          "used with the x-amz-checksum-algorithm header.")
        return None
    if algorithm == "CRC64NVME":
        if requested == COMPOSITE:
            raise S3Error("InvalidRequest", "The COMPOSITE checksum type cannot be used "
                          "with the crc64nvme checksum algorithm.")
        return FULL_OBJECT
    if algorithm in ("SHA1", "SHA256"):
        if requested == FULL_OBJECT:
            raise S3Error("InvalidRequest", "The FULL_OBJECT checksum type cannot be used "
                          f"with the {algorithm.lower()} checksum algorithm.")
        return COMPOSITE
    return requested or COMPOSITE


def composite_checksum(algorithm: str, part_values: Sequence[str]) -> str:
    """``<b64 of checksum of the concatenated part checksums>-N``."""
    c = checksums.new_checksum(algorithm)
    for value in part_values:
        c.update(base64.b64decode(value))
    return f"{c.b64digest()}-{len(part_values)}"


def _multmodp(a: int, b: int, poly: int, top: int) -> int:
    """a * b modulo the polynomial, in the reflected bit order."""
    m, p = top, 0
    while True:
        if a & m:
            p ^= b
            if not a & (m - 1):
                return p
        m >>= 1
        b = (b >> 1) ^ poly if b & 1 else b >> 1


def _x2n_table(algorithm: str) -> list[int]:
    table = _X2N.get(algorithm)
    if table is None:
        poly, width = _CRCS[algorithm]
        top = 1 << (width - 1)
        table = [top >> 1]  # x^1
        for _ in range(63):
            table.append(_multmodp(table[-1], table[-1], poly, top))
        _X2N[algorithm] = table
    return table


@functools.lru_cache(maxsize=64)
def _shift(algorithm: str, length: int) -> int:
    """x^(8 * length) modulo the polynomial; parts mostly share one size, so
    this is computed once per size."""
    poly, width = _CRCS[algorithm]
    top = 1 << (width - 1)
    table = _x2n_table(algorithm)
    # walk the bits of length, starting at x^(2^3) = x^8 (one byte)
    p, k, n = top, 3, length
    while n:
        if n & 1:
            p = _multmodp(table[k & 63], p, poly, top)
        n >>= 1
        k += 1
    return p


def crc_combine(algorithm: str, crc_a: int, crc_b: int, length_b: int) -> int:
    """The CRC of A + B from crc(A), crc(B) and len(B) in bytes."""
    poly, width = _CRCS[algorithm]
    return _multmodp(_shift(algorithm, length_b), crc_a, poly, 1 << (width - 1)) ^ crc_b


def full_object_crc(algorithm: str, parts: Sequence[tuple[str, int]]) -> str:
    """The base64 CRC of the whole object from [(part b64 CRC, part size)]."""
    if algorithm not in _CRCS:
        raise ValueError(f"{algorithm} cannot be combined")
    size = _CRCS[algorithm][1] // 8
    crc = 0
    for value, length in parts:
        part = int.from_bytes(base64.b64decode(value), "big")
        crc = crc_combine(algorithm, crc, part, length)
    return base64.b64encode(crc.to_bytes(size, "big")).decode("ascii")
