# -*- test-case-name: tests.unit.test_sse_apply -*-
"""How a write is encrypted and a read decrypted: the one place that turns
an ``SseRequest`` and the bucket's settings into data keys, IVs, stored
records and response headers.

Envelope encryption: every stored piece (an object's blob, each multipart
part's) gets its own random IV and, except for SSE-C, its own data key
from the KMS; the piece record keeps the IV and the wrapped data key
(``PieceRecord.CIPHER``), the object record what was asked
(``ObjectRecord.SSE``).  SSE-C keys are used as the data key and never
stored: only a salted HMAC of them, to recognise the key on later
requests.  Bytes go through AES-256-CTR (cloudserver.data.cipher) as an
upload-chain transform and a read-side stage.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
from collections.abc import Callable, Mapping, Sequence

import attrs

from cloudserver.data.cipher import ctr_stage, new_iv
from cloudserver.metadata.schema import BucketRecord as B
from cloudserver.metadata.schema import ObjectRecord as Obj
from cloudserver.metadata.schema import PieceRecord as P
from cloudserver.s3.errors import S3Error
from cloudserver.s3.sse.request import (
    AES256, BUCKET_KEY, CONTEXT, CUSTOMER, KMS, KMS_KEY_ID, SSE, CustomerKey, SseRequest)


@attrs.frozen
class SseSpec:
    """How a new object (or multipart upload) is encrypted."""

    algorithm: str | None  # AES256 | aws:kms; None for SSE-C
    key_id: str | None = None  # the KMS master key (not SSE-C)
    context: Mapping[str, str] | None = None  # KMS encryption context
    context_header: str | None = None  # as the client sent it
    bucket_key: bool = False
    customer: CustomerKey | None = None


@attrs.frozen
class PieceCipher:
    """The key and IV of one stored piece, and what its record keeps."""

    key: bytes = attrs.field(repr=False)
    iv: bytes = attrs.field(repr=False)
    record: dict  # PieceRecord.CIPHER

    def stage(self, offset: int = 0):
        return ctr_stage(self.key, self.iv, offset)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _kms_context(header: str | None, bucket: str, key: str) -> dict[str, str]:
    """The encryption context: the client's (base64 JSON of strings) and
    AWS's default, the object's ARN."""
    context: dict[str, str] = {}
    if header is not None:
        try:
            value = json.loads(base64.b64decode(header, validate=True))
        except (binascii.Error, ValueError):
            value = None
        if not isinstance(value, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            raise S3Error("InvalidArgument", "The header 'x-amz-server-side-encryption-"
                          "context' shall be Base64-encoded UTF-8 string holding JSON which "
                          "represents a string-string map", ArgumentName=CONTEXT)
        context.update(value)
    context.setdefault("aws:s3:arn", f"arn:aws:s3:::{bucket}/{key}")
    return context


def resolve(kms, request: SseRequest, bucket_attrs: Mapping, bucket: str,
            key: str) -> SseSpec | None:
    """The encryption of a new object: the request's, else the bucket's
    default (PutBucketEncryption, then bucket-level encryption), else None."""
    if request.customer is not None:
        return SseSpec(algorithm=None, customer=request.customer)
    algorithm, key_id, bucket_key = request.algorithm, request.kms_key_id, request.bucket_key
    default = bucket_attrs.get(B.ENCRYPTION)
    if algorithm is None and default:
        algorithm, key_id = default["algorithm"], default.get("keyId")
        if bucket_key is None:
            bucket_key = default.get("bucketKeyEnabled")
    if algorithm is None and bucket_attrs.get(B.BUCKET_KEY_ID):
        algorithm = AES256
    if algorithm is None:
        return None
    if algorithm == AES256:
        return SseSpec(algorithm=AES256,
                       key_id=bucket_attrs.get(B.BUCKET_KEY_ID) or kms.default_key_id,
                       bucket_key=bool(bucket_key))
    return SseSpec(algorithm=KMS, key_id=key_id or kms.default_key_id,
                   context=_kms_context(request.context, bucket, key),
                   context_header=request.context, bucket_key=bool(bucket_key))


def object_record(spec: SseSpec) -> dict:
    """ObjectRecord.SSE (and UploadRecord.SSE) of ``spec``."""
    if spec.customer is not None:
        salt = os.urandom(16)
        return {"customerAlgorithm": spec.customer.algorithm,
                "customerKeyMD5": spec.customer.key_md5, "salt": _b64(salt),
                "customerKeyHmac": _key_hmac(salt, spec.customer.key)}
    out: dict = {"algorithm": spec.algorithm, "keyId": spec.key_id}
    if spec.context is not None:
        out["context"] = dict(spec.context)
    if spec.context_header is not None:
        out["contextHeader"] = spec.context_header
    if spec.bucket_key:
        out["bucketKeyEnabled"] = True
    return out


def spec_of_record(record: Mapping, customer: CustomerKey | None) -> SseSpec:
    """The spec a stored SSE record stands for (multipart parts, a copy that
    keeps its source's encryption); SSE-C needs the request's key."""
    if "customerKeyHmac" in record:
        check_customer(record, customer)
        return SseSpec(algorithm=None, customer=customer)
    return SseSpec(algorithm=record["algorithm"], key_id=record.get("keyId"),
                   context=record.get("context"), context_header=record.get("contextHeader"),
                   bucket_key=bool(record.get("bucketKeyEnabled")))


def _key_hmac(salt: bytes, key: bytes) -> str:
    return hmac.new(salt, key, hashlib.sha256).hexdigest()


def check_customer(record: Mapping | None, customer: CustomerKey | None, *,
                   wrong_key_status: int = 403) -> None:
    """A request on an SSE-C object must bring its key; others must not bring one.

    A wrong key is 403 AccessDenied (HEAD, copy sources, parts), or with
    ``wrong_key_status=400`` InvalidRequest: what GetObject answers (s3-tests
    test_encryption_sse_c_other_key; AWS documents no code for it)."""
    stored = record is not None and "customerKeyHmac" in record
    if not stored:
        if customer is not None:
            raise S3Error("InvalidRequest", "The encryption parameters are not applicable "
                          "to this object.")
        return
    if customer is None:
        raise S3Error("InvalidRequest", "The object was stored using a form of Server Side "
                      "Encryption. The correct parameters must be provided to retrieve the "
                      "object.")
    expected = record["customerKeyHmac"]
    if not hmac.compare_digest(_key_hmac(base64.b64decode(record["salt"]), customer.key),
                               expected):
        if wrong_key_status == 400:
            raise S3Error("InvalidRequest", "The provided encryption parameters did not "
                          "match the ones used originally.")
        raise S3Error("AccessDenied", "The calculated MD5 hash of the key did not match the "
                      "hash that was provided.")


async def new_piece(kms, spec: SseSpec) -> PieceCipher:
    """A fresh key (data key from the KMS, or the customer's) and IV for one
    piece; NoSuchKmsKey / KmsUnavailable raise before any byte is stored."""
    iv = new_iv()
    if spec.customer is not None:
        return PieceCipher(key=spec.customer.key, iv=iv, record={"iv": _b64(iv)})
    plain, wrapped = await kms.generate_data_key(spec.key_id, spec.context)
    record = {"iv": _b64(iv), "keyId": spec.key_id, "dataKey": _b64(wrapped)}
    if spec.context is not None:
        record["context"] = dict(spec.context)
    return PieceCipher(key=plain, iv=iv, record=record)


def with_cipher(pieces: Sequence[dict], piece: PieceCipher | None) -> list[dict]:
    """The location of a new blob, its pieces marked with their cipher."""
    if piece is None:
        return list(pieces)
    return [{**p, P.CIPHER: piece.record} for p in pieces]


def stored_etag(spec: SseSpec | None, piece: PieceCipher | None, md5_hex: str) -> str:
    """AWS: the ETag of an SSE-S3 (or clear) object is its MD5; of SSE-KMS
    and SSE-C objects it is not (it would tell the plaintext's MD5)."""
    if spec is None or piece is None or spec.algorithm == AES256:
        return md5_hex
    return hashlib.md5(piece.key + bytes.fromhex(md5_hex)).hexdigest()


async def read_stages(kms, md: Mapping, customer: CustomerKey | None, start: int,
                      length: int) -> Callable[[dict, int], Sequence] | None:
    """The read-side stages of the pieces a read of ``length`` bytes from
    ``start`` touches (``object_read.piece_producers``' ``stages``), None
    for an object stored in the clear; data keys are unwrapped only for the
    pieces read."""
    check_customer(md.get(Obj.SSE), customer)
    keys: dict[str, bytes] = {}
    end = start + length
    for loc in md.get(Obj.LOCATION) or ():
        cipher = loc.get(P.CIPHER)
        if cipher is None or loc["start"] >= end or loc["start"] + loc["size"] <= start:
            continue
        keys[cipher["iv"]] = await _piece_key(kms, cipher, customer)
    if not keys:
        return None

    def stages(loc: dict, inner: int) -> Sequence:
        cipher = loc.get(P.CIPHER)
        if cipher is None:
            return ()
        return (ctr_stage(keys[cipher["iv"]], base64.b64decode(cipher["iv"]), inner),)
    return stages


async def _piece_key(kms, cipher: Mapping, customer: CustomerKey | None) -> bytes:
    if "dataKey" not in cipher:
        assert customer is not None  # check_customer made sure
        return customer.key
    return await kms.decrypt_data_key(cipher["keyId"], base64.b64decode(cipher["dataKey"]),
                                      cipher.get("context"))


def response_headers(record: Mapping | None) -> list[tuple[str, str]]:
    """The x-amz-server-side-encryption* headers of an object or upload."""
    if not record:
        return []
    if "customerKeyHmac" in record:
        return [(CUSTOMER + "algorithm", record["customerAlgorithm"]),
                (CUSTOMER + "key-MD5", record["customerKeyMD5"])]
    out = [(SSE, record["algorithm"])]
    if record["algorithm"] == KMS:
        out.append((KMS_KEY_ID, record["keyId"]))
    if record.get("bucketKeyEnabled"):
        out.append((BUCKET_KEY, "true"))
    return out
