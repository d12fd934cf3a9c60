# -*- test-case-name: tests.unit.test_auth_authenticate -*-
"""What the body pipeline must verify once a request is authenticated.

Authentication happens on the headers alone, before the body is read; the
``x-amz-content-sha256`` header tells how the body itself is protected:
a hex SHA-256 to compare at the end, nothing (UNSIGNED-PAYLOAD), or an
aws-chunked encoding whose chunks carry their own signatures.
"""

from __future__ import annotations

import re

import attrs

from cloudserver.s3.auth.chunked import AwsChunkedDecoder
from cloudserver.s3.errors import S3Error

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_ECDSA = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD"
STREAMING_ECDSA_TRAILER = "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"

STREAMING_TOKENS = (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER)
ECDSA_TOKENS = (STREAMING_ECDSA, STREAMING_ECDSA_TRAILER)
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


def check_content_sha256(value: str | None) -> str | None:
    """Validate an x-amz-content-sha256 value (None when absent).

    Returns the value unchanged; raises InvalidArgument for anything that is
    neither a hex SHA-256 nor a known token, NotImplemented for SigV4a.
    """
    if value is None:
        return None
    if value in ECDSA_TOKENS:
        raise S3Error("NotImplemented", f"x-amz-content-sha256 {value} (SigV4a streaming) "
                      "is not implemented", Header="x-amz-content-sha256")
    if value == UNSIGNED_PAYLOAD or value in STREAMING_TOKENS or _HEX64.match(value):
        return value
    raise S3Error("InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, "
                  "STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
                  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
                  "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, "
                  "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER or a valid sha256 value.",
                  ArgumentName="x-amz-content-sha256", ArgumentValue=value)


def parse_decoded_length(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    if not value.isdigit() or len(value) > 19:
        raise S3Error("InvalidArgument", "x-amz-decoded-content-length must be a "
                      "non-negative integer", ArgumentName="x-amz-decoded-content-length",
                      ArgumentValue=value)
    return int(value)


def parse_trailer_names(value: str | None) -> tuple[str, ...]:
    if not value:
        return ()
    return tuple(n.strip().lower() for n in value.split(",") if n.strip())


@attrs.frozen
class PayloadCheck:
    """How to verify the body.

    ``sha256``: lowercase hex digest the (decoded) body must match, or None.
    ``chunked``: the STREAMING-* token when the body is aws-chunked, or None.
    The other fields feed :meth:`make_decoder`.
    """

    sha256: str | None = None
    chunked: str | None = None
    decoded_length: int | None = None
    trailer_names: tuple[str, ...] = ()
    # (signing key, scope, timestamp, seed signature) for the signed forms.
    signing: tuple[bytes, str, str, str] | None = attrs.field(default=None, repr=False)

    def make_decoder(self) -> AwsChunkedDecoder | None:
        """A fresh decoder for an aws-chunked body, or None if not chunked."""
        if self.chunked is None:
            return None
        signed = self.chunked in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER)
        return AwsChunkedDecoder(
            signing=self.signing if signed else None,
            signed_trailer=self.chunked == STREAMING_SIGNED_TRAILER,
            decoded_length=self.decoded_length,
            trailer_names=self.trailer_names)


UNCHECKED = PayloadCheck()
