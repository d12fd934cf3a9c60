# -*- test-case-name: tests.unit.test_data_remote -*-
"""Failures of the data stores, translated to S3 errors at the S3 edge.

A remote location (aws_s3, azure) that cannot be reached or fails is the
client's 503: it may retry.  A remote that refuses a request about our own
data is a configuration or remote fault, not the client's: InternalError,
with the remote's status kept for the log.
"""
from __future__ import annotations

from cloudserver.errors import DomainError


class DataError(DomainError):
    """Base class of the data layer's failures."""


class RemoteUnavailable(DataError):
    """A remote location is unreachable, timed out or answered 5xx."""

    code = "ServiceUnavailable"

    def __init__(self, detail: str | None = None):
        super().__init__(detail, "The data location is unavailable, please retry later.")


class RemoteRefused(DataError):
    """A remote location answered 4xx (or an unusable 200) on our own data."""

    code = "InternalError"

    def __init__(self, detail: str | None = None, status: int | None = None):
        super().__init__(detail)
        self.status = status
