# -*- test-case-name: tests.unit.test_bucket_encryption -*-
"""The ServerSideEncryptionConfiguration document (Put/GetBucketEncryption).

AWS's schema: exactly one ``Rule`` holding one
``ApplyServerSideEncryptionByDefault`` (``SSEAlgorithm``, optional
``KMSMasterKeyID``) and an optional ``BucketKeyEnabled``; a document that
does not validate is MalformedXML.  The model is the stored value,
``BucketRecord.ENCRYPTION``: ``{"algorithm", "keyId"?, "bucketKeyEnabled"?}``
(the shape ``sse.apply.resolve`` reads).
"""
from __future__ import annotations

from cloudserver.s3.errors import S3Error
from cloudserver.s3.xml.build import s3_root, serialize, sub, xml_bool
from cloudserver.s3.xml.parse import fields as child_elements
from cloudserver.s3.xml.parse import local_name, parse_xml

ROOT = "ServerSideEncryptionConfiguration"
MAX_BODY = 16 * 1024
AES256, KMS, DSSE = "AES256", "aws:kms", "aws:kms:dsse"
RULE_FIELDS = ("ApplyServerSideEncryptionByDefault", "BucketKeyEnabled")
DEFAULT_FIELDS = ("SSEAlgorithm", "KMSMasterKeyID")


def _rule(root):
    rules = [c for c in root if local_name(c)]
    if len(rules) != 1 or local_name(rules[0]) != "Rule":
        raise S3Error("MalformedXML")
    return rules[0]


def parse_encryption_configuration(body: bytes) -> dict:
    """The stored default encryption a PutBucketEncryption body asks for."""
    rule = child_elements(_rule(parse_xml(body, max_size=MAX_BODY, root=ROOT)), RULE_FIELDS)
    default = rule.get("ApplyServerSideEncryptionByDefault")
    if default is None:
        raise S3Error("MalformedXML")
    fields = child_elements(default, DEFAULT_FIELDS)
    if "SSEAlgorithm" not in fields:
        raise S3Error("MalformedXML")
    algorithm = (fields["SSEAlgorithm"].text or "").strip()
    if algorithm == DSSE:
        raise S3Error("NotImplemented", "Dual-layer server-side encryption (aws:kms:dsse) "
                      "is not implemented.")
    if algorithm not in (AES256, KMS):
        raise S3Error("MalformedXML")
    model: dict = {"algorithm": algorithm}
    if "KMSMasterKeyID" in fields:
        key_id = (fields["KMSMasterKeyID"].text or "").strip()
        if algorithm != KMS:
            raise S3Error("InvalidArgument", "a KMSMasterKeyID is not applicable if the "
                          "default sse algorithm is not aws:kms or aws:kms:dsse")
        if key_id:
            model["keyId"] = key_id
    if "BucketKeyEnabled" in rule:
        value = (rule["BucketKeyEnabled"].text or "").strip()
        if value not in ("true", "false"):
            raise S3Error("MalformedXML")
        if value == "true":
            model["bucketKeyEnabled"] = True
    return model


def encryption_configuration_xml(model: dict) -> bytes:
    """GetBucketEncryption's answer; BucketKeyEnabled is always given, as AWS."""
    root = s3_root(ROOT)
    rule = sub(root, "Rule")
    default = sub(rule, "ApplyServerSideEncryptionByDefault")
    sub(default, "SSEAlgorithm", model["algorithm"])
    if model.get("keyId"):
        sub(default, "KMSMasterKeyID", model["keyId"])
    sub(rule, "BucketKeyEnabled", xml_bool(bool(model.get("bucketKeyEnabled"))))
    return serialize(root)
