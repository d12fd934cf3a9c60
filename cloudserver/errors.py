# -*- test-case-name: tests.unit.test_errors -*-
"""The root of the domain errors every layer below the S3 front raises.

The metadata and data layers never raise S3 errors; they raise subclasses
of ``DomainError``.  Each carries ``code``, the S3 error code it maps to,
so the S3 front translates any of them in one place
(``cloudserver.s3.errors.translate``) without a table kept in sync by hand.

``detail`` (also ``str(exc)``) names what failed, for logs; ``message`` is
client-facing text and stays None (the catalog's default message) unless a
fixed, more specific text helps: user input is never echoed into it.

``DaemonUnavailable`` lives here because both the metadata client (:9990)
and the data client (:9991) raise it.
"""
from __future__ import annotations


class DomainError(Exception):
    """Base class; ``code`` is an S3 error code from cloudserver.s3.errors.CATALOG."""

    code = "InternalError"

    def __init__(self, detail: str | None = None, message: str | None = None):
        super().__init__(detail or message or self.code)
        self.detail = detail
        self.message = message

    @property
    def s3_fields(self) -> dict[str, str]:
        """Extra elements of the S3 error XML (e.g. ``Condition``)."""
        return {}


class DaemonUnavailable(DomainError):
    """The metadata or data daemon (dmd) cannot be reached, or did not answer
    in time (split deployments, ``--mode s3``): the client may retry."""

    code = "ServiceUnavailable"
