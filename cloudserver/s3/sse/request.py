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
import json

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
        # AWS answers with its own wording here, not the catalog's.
        raise S3Error("InvalidEncryptionAlgorithmError", "The Encryption request you "
                      "specified is not valid. Supported value: AES256.",
                      ArgumentName=prefix + "algorithm", ArgumentValue=algorithm)
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
        # aws:kms:dsse too: this server does not do dual-layer encryption.
        raise _bad("The encryption method specified is not supported", SSE, algorithm)
    if algorithm != KMS and (key_id is not None or context is not None):
        name = KMS_KEY_ID if key_id is not None else CONTEXT
        raise _bad("Server Side Encryption with AWS KMS managed key requires HTTP header "
                   "x-amz-server-side-encryption : aws:kms", name)
    if context is not None:
        check_context(context)
    return SseRequest(algorithm=algorithm, kms_key_id=key_id or None, context=context,
                      bucket_key=_bucket_key_flag(bucket_key), customer=customer)


def _bucket_key_flag(value: str | None) -> bool | None:
    """x-amz-server-side-encryption-bucket-key-enabled: a boolean or nothing."""
    if value is None:
        return None
    if value.lower() not in ("true", "false"):
        raise _bad("Invalid value for x-amz-server-side-encryption-bucket-key-enabled",
                   BUCKET_KEY, value)
    return value.lower() == "true"


def check_context(value: str) -> dict[str, str]:
    """The KMS encryption context a request sent: base64 of a JSON object
    whose values are strings (AWS refuses anything else with InvalidArgument)."""
    try:
        decoded = json.loads(base64.b64decode(value, validate=True).decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        decoded = None
    if not isinstance(decoded, dict) or not all(
            isinstance(v, str) for v in decoded.values()):
        raise _bad("The header 'x-amz-server-side-encryption-context' shall be "
                   "Base64-encoded UTF-8 string holding JSON which represents a "
                   "string-string map", CONTEXT, value)
    return decoded


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


def refuse_insecure_customer_key(ctx, customer: CustomerKey | None) -> None:
    """:func:`require_secure` for a request context (``ctx.secure``: TLS)."""
    require_secure(customer, ctx.secure, ctx.backend.config)
