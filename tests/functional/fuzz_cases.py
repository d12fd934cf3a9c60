# -*- test-case-name: tests.functional.test_fuzz -*-
"""The fuzzer's cases: seeded generators of hostile requests, by family.

Every case aims at the canary bucket (whose state the runner compares
before and after) or at a scratch bucket (where odd keys may legitimately
be stored).  Cases against the canary carry corruptions that make them
invalid whatever the server's parser is lenient about (a torn document, a
NUL, a DOCTYPE, a flipped chunk signature), so any 2xx there is a finding,
as is any 5xx but 501/503 anywhere.  ``defect`` names a defect known to
exist and being fixed on another branch: the runner reports those cases
apart from the rest.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field

#: Defects known before this fuzzer existed (issue 20's list, now fixed);
#: cases probing them are tagged and reported apart.
KNOWN_DEFECTS = {
    "long-digits": "a numeric header or query value of thousands of digits -> 500 (int()'s limit)",
    "header-size": "a header block or line over the limit: connection closed, no 431/400",
    "presign-expires": "X-Amz-Expires > 604800: 403, not 400 AuthorizationQueryParametersError",
    "cmu-shape": "CompleteMultipartUpload accepts Parts inside unknown wrapper elements",
}

LONG_DIGITS = "9" * 10_000


@dataclass
class Case:
    """One request.  ``expect``: "4xx" (must be refused), "ok" (any answer
    below 500), or (status, code) exactly."""

    family: str
    op: str
    method: str
    bucket: str | None
    key: bytes | str | None = None
    query: list = field(default_factory=list)
    headers: dict = field(default_factory=dict)
    body: bytes = b""
    auth: str = "v4"            # v4 | none | bad-sig | wrong-secret | presign:<expires> | raw
    payload: str = "sha256"     # sha256 | unsigned | <a literal x-amz-content-sha256>
    chunked: Callable | None = None  # (signer, seed signature) -> the aws-chunked body
    expect: object = "4xx"
    defect: str | None = None
    raw_target: bytes | None = None
    roundtrip: bool = False     # a PUT that succeeds must read back the same bytes

    def label(self) -> str:
        return f"{self.family}/{self.op}"


@dataclass
class Targets:
    """What the fixture made: names the generators aim at."""

    canary: str
    scratch: str
    keys: list[str]
    upload_key: str
    upload_id: str
    defect_upload_key: str = ""
    defect_upload_id: str = ""
    defect_etag: str = ""
    lock: str = ""              # a bucket with object lock, for retention documents
    lock_key: str = ""


NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
_OWNER = ("<Owner><ID>79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be</ID>"
          "</Owner>")
#: (method, level, sub-resource, template document): every XML-taking operation.
XML_OPS = [
    ("PUT", "bucket", "acl", f"<AccessControlPolicy {NS}>{_OWNER}<AccessControlList><Grant>"
     "<Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"Group\">"
     "<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee>"
     "<Permission>READ</Permission></Grant></AccessControlList></AccessControlPolicy>"),
    ("PUT", "bucket", "cors", "<CORSConfiguration><CORSRule><AllowedMethod>PUT</AllowedMethod>"
     "<AllowedOrigin>*</AllowedOrigin></CORSRule></CORSConfiguration>"),
    ("PUT", "bucket", "lifecycle", "<LifecycleConfiguration><Rule><ID>x</ID><Filter><Prefix>z"
     "</Prefix></Filter><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule>"
     "</LifecycleConfiguration>"),
    ("PUT", "bucket", "logging", "<BucketLoggingStatus><LoggingEnabled><TargetBucket>x"
     "</TargetBucket><TargetPrefix>p</TargetPrefix></LoggingEnabled></BucketLoggingStatus>"),
    ("PUT", "bucket", "notification", "<NotificationConfiguration></NotificationConfiguration>"),
    ("PUT", "bucket", "replication", "<ReplicationConfiguration><Role>arn:aws:iam::1:role/r"
     "</Role><Rule><Status>Enabled</Status><Destination><Bucket>arn:aws:s3:::d</Bucket>"
     "</Destination></Rule></ReplicationConfiguration>"),
    ("PUT", "bucket", "tagging", "<Tagging><TagSet><Tag><Key>new</Key><Value>v</Value></Tag>"
     "</TagSet></Tagging>"),
    ("PUT", "bucket", "versioning", "<VersioningConfiguration><Status>Suspended</Status>"
     "</VersioningConfiguration>"),
    ("PUT", "bucket", "website", "<WebsiteConfiguration><IndexDocument><Suffix>other.html"
     "</Suffix></IndexDocument></WebsiteConfiguration>"),
    ("PUT", "bucket", "encryption", "<ServerSideEncryptionConfiguration><Rule>"
     "<ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm>"
     "</ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>"),
    ("PUT", "bucket", "object-lock", "<ObjectLockConfiguration><ObjectLockEnabled>Enabled"
     "</ObjectLockEnabled></ObjectLockConfiguration>"),
    ("PUT", "lockbucket", "object-lock", "<ObjectLockConfiguration><ObjectLockEnabled>Enabled"
     "</ObjectLockEnabled><Rule><DefaultRetention><Mode>GOVERNANCE</Mode><Days>1</Days>"
     "</DefaultRetention></Rule></ObjectLockConfiguration>"),
    ("PUT", "bucket", "ownershipControls", "<OwnershipControls><Rule><ObjectOwnership>"
     "BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>"),
    ("PUT", "bucket", "publicAccessBlock", "<PublicAccessBlockConfiguration><BlockPublicAcls>"
     "true</BlockPublicAcls></PublicAccessBlockConfiguration>"),
    ("PUT", "bucket", "accelerate", "<AccelerateConfiguration><Status>Enabled</Status>"
     "</AccelerateConfiguration>"),
    ("PUT", "bucket", "requestPayment", "<RequestPaymentConfiguration><Payer>Requester</Payer>"
     "</RequestPaymentConfiguration>"),
    ("PUT", "bucket", None, "<CreateBucketConfiguration><LocationConstraint>eu-west-1"
     "</LocationConstraint></CreateBucketConfiguration>"),
    ("POST", "bucket", "delete", "<Delete><Quiet>true</Quiet><Object><Key>canary/a</Key>"
     "</Object></Delete>"),
    ("PUT", "object", "acl", f"<AccessControlPolicy {NS}>{_OWNER}<AccessControlList>"
     "</AccessControlList></AccessControlPolicy>"),
    ("PUT", "object", "tagging", "<Tagging><TagSet><Tag><Key>n</Key><Value>v</Value></Tag>"
     "</TagSet></Tagging>"),
    ("PUT", "lockobject", "retention", "<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>"
     "2030-01-01T00:00:00Z</RetainUntilDate></Retention>"),
    ("PUT", "lockobject", "legal-hold", "<LegalHold><Status>ON</Status></LegalHold>"),
    ("POST", "upload", "uploadId", "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber>"
     "<ETag>\"0\"</ETag></Part></CompleteMultipartUpload>"),
    ("POST", "object", "restore", "<RestoreRequest><Days>1</Days></RestoreRequest>"),
    ("POST", "object", "select", "<SelectObjectContentRequest><Expression>select</Expression>"
     "</SelectObjectContentRequest>"),
]

POLICY = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
     "Resource": "arn:aws:s3:::BUCKET/*"}]})

BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1
                                                            else b"&lol;") * 10)
                             for i in range(1, 10))
                  + b"]><lolz>&lol9;</lolz>")


def xxe(root: str) -> bytes:
    return (f'<?xml version="1.0"?><!DOCTYPE {root} [<!ENTITY xxe SYSTEM '
            f'"file:///etc/passwd">]><{root}>&xxe;</{root}>').encode()


def corrupt_xml(rng: random.Random, template: str) -> tuple[str, bytes]:
    """A document no parser may accept: (what was done, body)."""
    doc = template.encode()
    root = template[1:template.index(">")].split()[0] if template.startswith("<") else "R"
    kind = rng.choice(["truncate", "nul", "amp", "garbage", "utf8", "deep", "huge", "root",
                       "encoding", "xxe-http", "attrs"])
    if kind == "truncate":
        return kind, doc[:rng.randrange(1, len(doc) - 1)]
    if kind in ("nul", "amp"):
        at = rng.randrange(len(root) + 2, len(doc) - 2)
        return kind, doc[:at] + (b"\x00" if kind == "nul" else b"&") + doc[at + 1:]
    if kind == "garbage":
        return kind, rng.randbytes(rng.randrange(1, 4096))
    if kind == "utf8":
        at = doc.rindex(b"</")
        return kind, doc[:at] + b"\xff\xfe\xc0\xaf" + doc[at:]
    if kind == "deep":
        depth = rng.choice([300, 10_000, 100_000])
        return kind, (f"<{root}>" + "<a>" * depth + "</a>" * depth).encode()  # root unclosed
    if kind == "huge":
        size = rng.choice([1 << 20, 3 << 20])
        return kind, doc[:-len(root) - 3] + b"<x>" + b"A" * size + b"</x>"  # and torn
    if kind == "root":
        return kind, f"<{root}><{root}>".encode() + doc
    if kind == "encoding":
        return kind, b'<?xml version="1.0" encoding="' + rng.choice(
            [b"bogus", b"UTF-7", b"UTF-32", b"\xff"]) + b'"?>' + doc + b"<"
    if kind == "xxe-http":
        return kind, (f'<!DOCTYPE {root} [<!ENTITY % p SYSTEM "http://127.0.0.1:9/x">%p;]>'
                      ).encode() + doc
    return kind, doc[:-len(root) - 3] + b" " + b" ".join(
        b'a%d="x"' % i for i in range(rng.choice([10, 5000]))) + b">"


def _xml_target(op, targets: Targets, rng):
    """(bucket, key, query) an XML operation is sent to."""
    method, level, sub, template = op
    query = [] if sub is None else [(sub, None)]
    if level == "bucket":
        return targets.canary, None, query
    if level == "lockbucket":
        return targets.lock or targets.canary, None, query
    if level == "lockobject" and targets.lock:
        return targets.lock, targets.lock_key, query
    if level == "upload":
        return targets.canary, targets.upload_key, [("uploadId", targets.upload_id)]
    return targets.canary, rng.choice(targets.keys), query


def xml_case(rng: random.Random, targets: Targets) -> Case:
    op = rng.choice(XML_OPS)
    bucket, key, query = _xml_target(op, targets, rng)
    kind, body = corrupt_xml(rng, op[3])
    headers = {"content-type": "application/xml"}
    if rng.random() < 0.8:
        from tests.functional.fuzz_wire import content_md5
        headers["content-md5"] = content_md5(body)
    name = op[2] or "CreateBucket"
    return Case("xml", f"{name}:{kind}", op[0], bucket, key, query, headers, body)


def policy_case(rng: random.Random, targets: Targets) -> Case:
    doc = POLICY.replace("BUCKET", targets.canary).encode()
    kind = rng.choice(["truncate", "nul", "deep", "huge", "garbage", "utf8"])
    if kind == "truncate":
        body = doc[:rng.randrange(1, len(doc) - 1)]
    elif kind == "nul":
        at = rng.randrange(2, len(doc) - 2)
        body = doc[:at] + b"\x00" + doc[at + 1:]
    elif kind == "deep":
        depth = rng.choice([1000, 100_000])
        body = b'{"Version": "2012-10-17", "Statement": ' + b"[" * depth
    elif kind == "huge":
        body = doc[:-2] + b', "x": "' + b"A" * (1 << 20) + b'"'  # torn too
    elif kind == "garbage":
        body = rng.randbytes(rng.randrange(1, 2048))
    else:
        body = doc[:-3] + b"\xff\xfe" + doc[-3:]
    return Case("xml", f"policy:{kind}", "PUT", targets.canary, None, [("policy", None)],
                {"content-type": "application/json"}, body)


def bomb_case(rng: random.Random, targets: Targets) -> Case:
    """XXE (an external entity) or billion-laughs to one XML operation."""
    op = rng.choice(XML_OPS)
    bucket, key, query = _xml_target(op, targets, rng)
    root = op[3][1:op[3].index(">")].split()[0]
    kind = rng.choice(["laughs", "xxe"])
    body = BILLION_LAUGHS if kind == "laughs" else xxe(root)
    from tests.functional.fuzz_wire import content_md5
    return Case("bomb", f"{op[2] or 'CreateBucket'}:{kind}", op[0], bucket, key, query,
                {"content-type": "application/xml", "content-md5": content_md5(body)}, body)
