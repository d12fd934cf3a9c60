# -*- test-case-name: tests.unit.test_kms -*-
"""What a KMS backend raises; each maps to an S3 error (cloudserver.errors)."""
from __future__ import annotations

from cloudserver.errors import DomainError


class KmsUnavailable(DomainError):
    """The KMS cannot be reached or failed: 503, the KMS named in ``detail``
    (for the log), never data served or stored in the clear."""

    code = "ServiceUnavailable"


class NoSuchKmsKey(DomainError):
    """A key id that names no master key (a client's, or a destroyed one)."""

    code = "KMS.NotFoundException"


class KmsDecryptFailed(DomainError):
    """A wrapped data key that its master key (and context) do not open."""

    code = "InternalError"
