# -*- test-case-name: tests.unit.test_bucket_settings -*-
"""Request payment, logging and accelerate configuration: stored, returned,
and AWS's checks (Payer values, the logging target bucket's existence and
owner), over the memory metadata service."""
from __future__ import annotations

from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.s3.access import acl
from cloudserver.s3.ops import NOT_IMPLEMENTED
from tests.unit.test_acl import BART, LISA
from tests.unit.test_acl_ops import Harness

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'


def payment(payer: str) -> bytes:
    return (f"<RequestPaymentConfiguration {NS}><Payer>{payer}</Payer>"
            "</RequestPaymentConfiguration>").encode()


def logging(inner: str = "") -> bytes:
    return f"<BucketLoggingStatus {NS} {XSI}>{inner}</BucketLoggingStatus>".encode()


def enabled(target: str, extra: str = "") -> str:
    return (f"<LoggingEnabled><TargetBucket>{target}</TargetBucket>"
            f"<TargetPrefix>logs/</TargetPrefix>{extra}</LoggingEnabled>")


class SettingsTests(Harness):
    def stored(self, field):
        return self.successResultOf(self.backend.metadata.get_bucket("b")).get(field)

    def op(self, method, sub, body=b"", who=BART):
        return self.ctx(method, "/b", query={sub: ""}, body=body, who=who)

    def test_implemented(self):
        for name in ("GetBucketRequestPayment", "PutBucketRequestPayment", "GetBucketLogging",
                     "PutBucketLogging", "GetBucketAccelerateConfiguration"):
            self.assertNotIn(name, NOT_IMPLEMENTED)
        self.assertIn("PutBucketAccelerateConfiguration", NOT_IMPLEMENTED)

    def test_request_payment(self):
        self.assertIn(b"<Payer>BucketOwner</Payer>",
                      self.call(self.op("GET", "requestPayment")).body)
        self.call(self.op("PUT", "requestPayment", payment("Requester")))
        self.assertEqual(self.stored(Bkt.REQUEST_PAYMENT), "Requester")
        self.assertIn(b"<Payer>Requester</Payer>",
                      self.call(self.op("GET", "requestPayment")).body)
        self.assertEqual(self.call_fails(self.op("PUT", "requestPayment",
                                                 payment("Nobody"))).code, "MalformedXML")
        self.assertEqual(self.stored(Bkt.REQUEST_PAYMENT), "Requester")
        self.call(self.op("PUT", "requestPayment", payment("BucketOwner")))
        self.assertIsNone(self.stored(Bkt.REQUEST_PAYMENT))
        self.assertEqual(self.call_fails(self.op("GET", "requestPayment", who=LISA)).code,
                         "AccessDenied")

    def test_logging(self):
        self.assertNotIn(b"LoggingEnabled", self.call(self.op("GET", "logging")).body)
        grants = ('<TargetGrants><Grant><Grantee xsi:type="Group"><URI>'
                  'http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee>'
                  '<Permission>READ</Permission></Grant></TargetGrants>')
        self.call(self.op("PUT", "logging", logging(enabled("b", grants))))
        self.assertEqual(self.stored(Bkt.LOGGING), {
            "targetBucket": "b", "targetPrefix": "logs/", "targetGrants": [
                {"type": "Group", "value": "http://acs.amazonaws.com/groups/global/AllUsers",
                 "permission": "READ"}]})
        body = self.call(self.op("GET", "logging")).body
        self.assertIn(b"<TargetBucket>b</TargetBucket>", body)
        self.assertIn(b'xsi:type="Group"', body)
        self.call(self.op("PUT", "logging", logging()))
        self.assertIsNone(self.stored(Bkt.LOGGING))

    def test_logging_target_checks(self):
        self.successResultOf(self.backend.metadata.create_bucket("lisas", {
            "name": "lisas", "owner": LISA, "owner-name": "Lisa",
            "acl": acl.private(LISA).to_record()}))
        for target, message in [
                ("missing", "The target bucket for logging does not exist."),
                ("lisas", "The owner for the bucket to be logged and the target bucket "
                 "must be the same.")]:
            error = self.call_fails(self.op("PUT", "logging", logging(enabled(target))))
            self.assertEqual((error.code, error.message),
                             ("InvalidTargetBucketForLogging", message))
        for body, code in [(logging("<LoggingEnabled><TargetBucket>b</TargetBucket>"
                                    "</LoggingEnabled>"), "MalformedXML"),
                           (logging(enabled("b", "<TargetObjectKeyFormat><SimplePrefix/>"
                                                 "</TargetObjectKeyFormat>")),
                            "NotImplemented"),
                           (logging("<Other/>"), "MalformedXML")]:
            self.assertEqual(self.call_fails(self.op("PUT", "logging", body)).code, code)
        self.assertIsNone(self.stored(Bkt.LOGGING))

    def test_accelerate(self):
        body = self.call(self.op("GET", "accelerate")).body
        self.assertIn(b"<AccelerateConfiguration", body)
        self.assertNotIn(b"Status", body)


class RequesterPaysTests(Harness):
    """AWS: on a Requester Pays bucket everyone but the owner must send
    ``x-amz-request-payer: requester``; anonymous requests are refused."""

    def setUp(self):
        super().setUp()
        attrs = self.successResultOf(self.backend.metadata.get_bucket("b"))
        attrs["acl"] = acl.canned("public-read", BART).to_record()
        self.successResultOf(self.backend.metadata.update_bucket("b", attrs))

    def listing(self, who, **headers):
        return self.ctx("GET", "/b", who=who, headers=headers)

    def test_owner_pays_by_default(self):
        self.assertEqual(self.call(self.listing(LISA)).status, 200)
        self.assertEqual(self.call(self.listing(None)).status, 200)

    def test_requester_must_acknowledge(self):
        self.call(self.ctx("PUT", "/b", query={"requestPayment": ""},
                           body=payment("Requester")))
        self.assertEqual(self.call(self.listing(BART)).status, 200)
        self.assertEqual(self.call_fails(self.listing(LISA)).code, "AccessDenied")
        self.assertEqual(self.call_fails(self.listing(None)).code, "AccessDenied")
        self.assertEqual(self.call(self.listing(
            LISA, **{"x-amz-request-payer": "requester"})).status, 200)
        self.assertEqual(self.call_fails(self.listing(
            None, **{"x-amz-request-payer": "requester"})).code, "AccessDenied")
