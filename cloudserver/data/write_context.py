# -*- test-case-name: tests.unit.test_data_remote -*-
"""What a write tells the data store beyond its bytes.

Remote stores (aws_s3, azure) name and describe the objects they keep from
these values; local stores ignore them.  They live apart from the location
registry so that the stores and the registry import them, not each other.
"""
from __future__ import annotations

from typing import Mapping

import attrs


@attrs.frozen
class PartTarget:
    """The multipart upload a part belongs to."""

    upload_id: str  # ours
    remote_upload_id: str | None  # the remote's (aws_s3), None for azure
    number: int


@attrs.frozen
class WriteContext:
    """What a remote store needs to name and describe an object it stores.

    Local stores ignore it (their keys are random).  ``metadata`` holds the
    ``x-amz-meta-*`` headers, ``headers`` the stored content headers
    (cache-control, ...), ``tagging`` the raw x-amz-tagging value.
    """

    bucket: str
    key: str
    size: int | None = None
    content_type: str | None = None
    metadata: Mapping[str, str] = attrs.field(factory=dict)
    headers: Mapping[str, str] = attrs.field(factory=dict)
    tagging: str | None = None
    content_md5: str | None = None
    part: PartTarget | None = None
