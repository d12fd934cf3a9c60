# -*- test-case-name: tests.unit.test_acl_public_access -*-
"""Get, Put and DeletePublicAccessBlock: the bucket's four switches, kept in
its attributes (``acl.PUBLIC_ACCESS_BLOCK_ATTR``).

BlockPublicAcls and IgnorePublicAcls are enforced by the ACL checks
(cloudserver.s3.access.acl, through the decision in cloudserver.s3.access); the
two policy switches are stored and returned for the bucket policy code to
honour.  Only the bucket owner may use these operations (their routes
declare ``owner(...)``).
"""
from __future__ import annotations

from cloudserver.s3.access import acl
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.bucket_config import ConfigDocument, config_handlers
from cloudserver.s3.xml.build import s3_root, serialize, sub, xml_bool
from cloudserver.s3.xml.parse import child, fields, parse_xml

MAX_BODY = 16 * 1024
ROOT = "PublicAccessBlockConfiguration"


def parse_public_access_block(body: bytes) -> dict[str, bool]:
    """The four switches of a PublicAccessBlockConfiguration (absent: false)."""
    root = parse_xml(body, max_size=MAX_BODY, root=ROOT)
    fields(root, tuple(acl.PUBLIC_ACCESS_BLOCK_FIELDS))  # nothing else, each once
    config = {}
    for name in acl.PUBLIC_ACCESS_BLOCK_FIELDS:
        el = child(root, name)
        value = (el.text or "").strip().lower() if el is not None else "false"
        if value not in ("true", "false"):
            raise S3Error("MalformedXML")
        config[name] = value == "true"
    return config


def public_access_block_xml(config: dict[str, bool]) -> bytes:
    root = s3_root(ROOT)
    for name in acl.PUBLIC_ACCESS_BLOCK_FIELDS:
        sub(root, name, xml_bool(bool(config.get(name))))
    return serialize(root)


#: The PublicAccessBlock configuration document.
PUBLIC_ACCESS_BLOCK = ConfigDocument(
    field=acl.PUBLIC_ACCESS_BLOCK_ATTR, parse=parse_public_access_block,
    to_xml=public_access_block_xml, not_found="NoSuchPublicAccessBlockConfiguration",
    max_body=MAX_BODY)

HANDLERS = config_handlers(PUBLIC_ACCESS_BLOCK, get="GetPublicAccessBlock",
                           put="PutPublicAccessBlock", delete="DeletePublicAccessBlock")
