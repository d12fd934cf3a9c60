# -*- test-case-name: tests.unit.test_sse_request -*-
"""What a request asks of server-side encryption, read from its headers.

Parsing refuses, before any byte is stored, what this server does not do:
an unknown algorithm, a KMS key id without aws:kms, SSE-C beside
x-amz-server-side-encryption, a customer key that is not 256 bits or does
not match its MD5.  The customer key is kept only in ``CustomerKey.key``
(never in a repr, never in a log).
"""
from __future__ import annotations

import base64
import binascii
import hashlib

import attrs

from cloudserver.s3.errors import S3Error

SSE = "x-amz-server-side-encryption"
KMS_KEY_ID = "x-amz-server-side-encryption-aws-kms-key-id"
CONTEXT = "x-amz-server-side-encryption-context"
BUCKET_KEY = "x-amz-server-side-encryption-bucket-key-enabled"
CUSTOMER = "x-amz-server-side-encryption-customer-"
COPY_SOURCE_CUSTOMER = "x-amz-copy-source-server-side-encryption-customer-"

AES256 = "AES256"
KMS = "aws:kms"


@attrs.frozen
class CustomerKey:
    """An SSE-C key as the request carried it."""

    algorithm: str
    key: bytes = attrs.field(repr=False)
    key_md5: str  # base64, as sent


@attrs.frozen
class SseRequest:
    """What a write asks for; all None: nothing (the bucket default applies)."""

    algorithm: str | None = None  # AES256 | aws:kms
    kms_key_id: str | None = None
    context: str | None = None  # x-amz-server-side-encryption-context, base64 JSON as sent
    bucket_key: bool | None = None
    customer: CustomerKey | None = None

    @property
    def empty(self) -> bool:
        return self.algorithm is None and self.customer is None


def _bad(message: str, name: str, value: str | None = None) -> S3Error:
    fields = {"ArgumentName": name}
    if value is not None:
        fields["ArgumentValue"] = value
    return S3Error("InvalidArgument", message, **fields)


def customer_key(header, prefix: str = CUSTOMER) -> CustomerKey | None:
    """The SSE-C key of a request (``prefix``: the object's, or the copy
    source's), None without one; ``header(name)`` reads a request header."""
    algorithm = header(prefix + "algorithm")
    key = header(prefix + "key")
    key_md5 = header(prefix + "key-md5")
    if algorithm is None and key is None and key_md5 is None:
        return None
    if algorithm is None:
        raise _bad("Requests specifying Server Side Encryption with Customer provided keys "
                   "must provide a valid encryption algorithm.", prefix + "algorithm")
    if algorithm != AES256:
        raise S3Error("InvalidEncryptionAlgorithmError", "The encryption algorithm specified "
                      "is not valid.", ArgumentName=prefix + "algorithm",
                      ArgumentValue=algorithm)
    if key is None:
        raise _bad("Requests specifying Server Side Encryption with Customer provided keys "
                   "must provide an appropriate secret key.", prefix + "key")
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        raise _bad("The secret key was invalid for the specified algorithm.", prefix + "key")
    if key_md5 is None:
        raise _bad("Requests specifying Server Side Encryption with Customer provided keys "
                   "must provide the client calculated MD5 of the secret key.",
                   prefix + "key-md5")
    if base64.b64encode(hashlib.md5(raw).digest()).decode() != key_md5:
        raise _bad("The calculated MD5 hash of the key did not match the hash that was "
                   "provided.", prefix + "key-md5")
    return CustomerKey(algorithm=algorithm, key=raw, key_md5=key_md5)


def write_request(header) -> SseRequest:
    """What a write (PutObject, CopyObject's target, CreateMultipartUpload,
    PostObject's fields) asks for; raises S3Error for what is refused."""
    algorithm = header(SSE)
    key_id = header(KMS_KEY_ID)
    context = header(CONTEXT)
    bucket_key = header(BUCKET_KEY)
    customer = customer_key(header)
    if customer is not None and algorithm is not None:
        raise _bad("Server Side Encryption with Customer provided key is incompatible with "
                   "the encryption method specified", SSE, algorithm)
    if algorithm is not None and algorithm not in (AES256, KMS):
        raise _bad("Server Side Encryption with unknown algorithm", SSE, algorithm)
    if algorithm != KMS and (key_id is not None or context is not None):
        name = KMS_KEY_ID if key_id is not None else CONTEXT
        raise _bad("Server Side Encryption with AWS KMS managed key requires HTTP header "
                   "x-amz-server-side-encryption : aws:kms", name)
    flag = None
    if bucket_key is not None:
        if bucket_key.lower() not in ("true", "false"):
            raise _bad("Invalid value for x-amz-server-side-encryption-bucket-key-enabled",
                       BUCKET_KEY, bucket_key)
        flag = bucket_key.lower() == "true"
    return SseRequest(algorithm=algorithm, kms_key_id=key_id or None, context=context,
                      bucket_key=flag, customer=customer)


def refuse_on_read(header) -> None:
    """GET and HEAD take only the SSE-C headers: AWS refuses the others."""
    for name in (SSE, KMS_KEY_ID, CONTEXT):
        if header(name) is not None:
            raise _bad("x-amz-server-side-encryption header is not supported for this "
                       "operation.", name)


def require_secure(customer: CustomerKey | None, secure: bool, config) -> None:
    """SSE-C keys travel only over TLS, unless config.json's
    ``sseCustomerKeyOverHttp`` allows plain HTTP (loopback set-ups)."""
    if customer is not None and not secure and not config.sse_customer_key_over_http:
        raise S3Error("InvalidRequest", "Requests specifying Server Side Encryption with "
                      "Customer provided keys must be made over a secure connection.")
