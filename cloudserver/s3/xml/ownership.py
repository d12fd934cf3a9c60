# -*- test-case-name: tests.unit.test_ownership -*-
"""The OwnershipControls document (Get/PutBucketOwnershipControls).

AWS's schema: ``OwnershipControls`` holds exactly one ``Rule`` whose one
``ObjectOwnership`` is a setting of ``model.ownership``; anything else does
not validate (MalformedXML).
"""
from __future__ import annotations

from cloudserver.s3.errors import S3Error
from cloudserver.s3.model import ownership
from cloudserver.s3.xml.build import s3_root, serialize, sub
from cloudserver.s3.xml.parse import local_name, parse_xml

ROOT = "OwnershipControls"
MAX_BODY = 16 * 1024


def _only_child(el, name: str):
    """The one child element of ``el``, which must be named ``name``
    (comments aside), else MalformedXML."""
    elements = [c for c in el if local_name(c)]
    if len(elements) != 1 or local_name(elements[0]) != name:
        raise S3Error("MalformedXML")
    return elements[0]


def parse_ownership_controls(body: bytes) -> str:
    """The ObjectOwnership setting of an OwnershipControls document."""
    root = parse_xml(body, max_size=MAX_BODY, root=ROOT)
    value = _only_child(_only_child(root, "Rule"), "ObjectOwnership")
    return ownership.check_setting((value.text or "").strip())


def ownership_controls_xml(value: str) -> bytes:
    root = s3_root(ROOT)
    sub(sub(root, "Rule"), "ObjectOwnership", value)
    return serialize(root)
