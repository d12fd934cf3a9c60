# -*- test-case-name: tests.unit.test_bucket_settings -*-
"""The small bucket documents: RequestPaymentConfiguration,
BucketLoggingStatus and AccelerateConfiguration.

Each parses to its stored value (``BucketRecord.REQUEST_PAYMENT``: the
Payer; ``BucketRecord.LOGGING``: the LoggingEnabled element as
``{targetBucket, targetPrefix, targetGrants?}``, None when logging is off)
and renders back from it.  Anything outside AWS's schema is MalformedXML;
the partitioned log key format (TargetObjectKeyFormat) is refused
NotImplemented since no logs are delivered yet.
"""
from __future__ import annotations

from lxml import etree

from cloudserver.s3.errors import S3Error
from cloudserver.s3.xml.build import XSI_NS, s3_root, serialize, sub
from cloudserver.s3.xml.parse import fields, parse_xml

MAX_BODY = 64 * 1024
PAYERS = ("BucketOwner", "Requester")
LOG_PERMISSIONS = ("FULL_CONTROL", "READ", "WRITE")
#: xsi:type of a Grantee -> the element naming it.
GRANTEE_ELEMENTS = {"CanonicalUser": "ID", "Group": "URI",
                    "AmazonCustomerByEmail": "EmailAddress"}


# -- RequestPayment ------------------------------------------------------------

def parse_request_payment(body: bytes) -> str:
    """The Payer a PutBucketRequestPayment body sets."""
    f = fields(parse_xml(body, max_size=MAX_BODY, root="RequestPaymentConfiguration"),
                ("Payer",))
    payer = (f["Payer"].text or "").strip() if "Payer" in f else ""
    if payer not in PAYERS:
        raise S3Error("MalformedXML")
    return payer


def request_payment_xml(payer: str | None) -> bytes:
    root = s3_root("RequestPaymentConfiguration")
    sub(root, "Payer", payer or "BucketOwner")
    return serialize(root)


# -- Logging -------------------------------------------------------------------

def _grant(el) -> dict:
    f = fields(el, ("Grantee", "Permission"))
    if "Grantee" not in f or "Permission" not in f:
        raise S3Error("MalformedXML")
    permission = (f["Permission"].text or "").strip()
    if permission not in LOG_PERMISSIONS:
        raise S3Error("MalformedXML")
    grantee = f["Grantee"]
    kind = grantee.get(f"{{{XSI_NS}}}type")
    if kind not in GRANTEE_ELEMENTS:
        raise S3Error("MalformedXML")
    g = fields(grantee, ("ID", "URI", "EmailAddress", "DisplayName"))
    name = GRANTEE_ELEMENTS[kind]
    value = (g[name].text or "").strip() if name in g else ""
    if not value:
        raise S3Error("MalformedXML")
    return {"type": kind, "value": value, "permission": permission}


def parse_logging(body: bytes) -> dict | None:
    """A PutBucketLogging body -> the stored LoggingEnabled (None: off)."""
    f = fields(parse_xml(body, max_size=MAX_BODY, root="BucketLoggingStatus"),
                ("LoggingEnabled",))
    if "LoggingEnabled" not in f:
        return None
    e = fields(f["LoggingEnabled"], ("TargetBucket", "TargetPrefix", "TargetGrants",
                                      "TargetObjectKeyFormat"))
    if "TargetBucket" not in e or "TargetPrefix" not in e:
        raise S3Error("MalformedXML")
    if "TargetObjectKeyFormat" in e:
        raise S3Error("NotImplemented", "TargetObjectKeyFormat is not implemented: this "
                      "server does not deliver access logs yet.")
    target = (e["TargetBucket"].text or "").strip()
    if not target:
        raise S3Error("MalformedXML")
    out: dict = {"targetBucket": target, "targetPrefix": e["TargetPrefix"].text or ""}
    if "TargetGrants" in e:
        grants = fields(e["TargetGrants"], ("Grant",), repeated=("Grant",))
        out["targetGrants"] = [_grant(g) for g in grants.get("Grant", [])]
    return out


def logging_xml(enabled: dict | None) -> bytes:
    """GetBucketLogging's BucketLoggingStatus (empty when logging is off)."""
    root = s3_root("BucketLoggingStatus")
    if enabled:
        e = sub(root, "LoggingEnabled")
        sub(e, "TargetBucket", enabled["targetBucket"])
        sub(e, "TargetPrefix", enabled.get("targetPrefix", ""))
        if "targetGrants" in enabled:
            grants = sub(e, "TargetGrants")
            for g in enabled["targetGrants"]:
                grant = sub(grants, "Grant")
                grantee = etree.SubElement(grant, grant.tag.rsplit("}", 1)[0] + "}Grantee",
                                           nsmap={"xsi": XSI_NS})
                grantee.set(f"{{{XSI_NS}}}type", g["type"])
                sub(grantee, GRANTEE_ELEMENTS[g["type"]], g["value"])
                sub(grant, "Permission", g["permission"])
    return serialize(root)


# -- Accelerate ----------------------------------------------------------------

def accelerate_xml() -> bytes:
    """A bucket that never enabled transfer acceleration: AWS answers an
    AccelerateConfiguration without a Status."""
    return serialize(s3_root("AccelerateConfiguration"))
