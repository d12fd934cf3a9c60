# -*- test-case-name: tests.unit.test_website_config -*-
"""Put/Get/DeleteBucketWebsite: the WebsiteConfiguration codec (AWS's
validation) and the three operations over the memory metadata service."""
from __future__ import annotations

import base64
import hashlib

from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops import NOT_IMPLEMENTED
from cloudserver.s3.xml.website import (
    parse_website_configuration, website_configuration_xml)
from tests.unit.test_acl import LISA
from tests.unit.test_acl_ops import Harness

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


def doc(inner: str) -> bytes:
    return f"<WebsiteConfiguration {NS}>{inner}</WebsiteConfiguration>".encode()


INDEX = "<IndexDocument><Suffix>index.html</Suffix></IndexDocument>"
ERROR = "<ErrorDocument><Key>error.html</Key></ErrorDocument>"


def rules(*bodies: str) -> str:
    return "<RoutingRules>" + "".join(f"<RoutingRule>{b}</RoutingRule>" for b in bodies) + \
        "</RoutingRules>"


def md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


class CodecTests(Harness):
    def test_accepted_and_round_trip(self):
        full = INDEX + ERROR + rules(
            "<Condition><KeyPrefixEquals>docs/</KeyPrefixEquals></Condition>"
            "<Redirect><ReplaceKeyPrefixWith>documents/</ReplaceKeyPrefixWith></Redirect>",
            "<Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals>"
            "</Condition><Redirect><HostName>example.com</HostName><Protocol>https"
            "</Protocol><ReplaceKeyWith>404.html</ReplaceKeyWith><HttpRedirectCode>302"
            "</HttpRedirectCode></Redirect>")
        for body, model in [
                (doc(INDEX), {"indexDocument": "index.html"}),
                (doc(INDEX + ERROR), {"indexDocument": "index.html",
                                      "errorDocument": "error.html"}),
                (doc("<RedirectAllRequestsTo><HostName>example.com</HostName>"
                     "</RedirectAllRequestsTo>"),
                 {"redirectAllRequestsTo": {"hostName": "example.com"}}),
                (doc(full), {"indexDocument": "index.html", "errorDocument": "error.html",
                             "routingRules": [
                                 {"condition": {"keyPrefixEquals": "docs/"},
                                  "redirect": {"replaceKeyPrefixWith": "documents/"}},
                                 {"condition": {"httpErrorCodeReturnedEquals": 404},
                                  "redirect": {"hostName": "example.com",
                                               "protocol": "https",
                                               "replaceKeyWith": "404.html",
                                               "httpRedirectCode": 302}}]})]:
            with self.subTest(body=body):
                self.assertEqual(parse_website_configuration(body), model)
                self.assertEqual(parse_website_configuration(
                    website_configuration_xml(model)), model)

    def test_refused_with_aws_codes_and_messages(self):
        redirect = "<Redirect><HostName>h</HostName></Redirect>"
        for body, code, message in [
                (b"", "MalformedXML", None),
                (doc(""), "InvalidArgument", "A value for IndexDocument Suffix must be "
                 "provided if RedirectAllRequestsTo is empty"),
                (doc(ERROR), "InvalidArgument", None),
                (doc("<IndexDocument><Suffix></Suffix></IndexDocument>"),
                 "InvalidArgument", "The IndexDocument Suffix is not well formed"),
                (doc("<IndexDocument><Suffix>a/index.html</Suffix></IndexDocument>"),
                 "InvalidArgument", "The IndexDocument Suffix is not well formed"),
                (doc("<IndexDocument></IndexDocument>"), "MalformedXML", None),
                (doc(INDEX + "<ErrorDocument></ErrorDocument>"), "MalformedXML", None),
                (doc(INDEX + "<ErrorDocument><Key></Key></ErrorDocument>"),
                 "InvalidArgument", None),
                (doc(INDEX + INDEX), "MalformedXML", None),
                (doc(INDEX + "<Other/>"), "MalformedXML", None),
                (doc(INDEX + "<RedirectAllRequestsTo><HostName>h</HostName>"
                     "</RedirectAllRequestsTo>"), "InvalidRequest",
                 "RedirectAllRequestsTo cannot be provided in conjunction with other "
                 "Routing Rules."),
                (doc("<RedirectAllRequestsTo><Protocol>ftp</Protocol><HostName>h"
                     "</HostName></RedirectAllRequestsTo>"), "InvalidRequest", None),
                (doc("<RedirectAllRequestsTo/>"), "MalformedXML", None),
                (doc(INDEX + "<RoutingRules/>"), "MalformedXML", None),
                (doc(INDEX + rules("<Condition><KeyPrefixEquals>a</KeyPrefixEquals>"
                                   "</Condition>")), "MalformedXML", None),
                (doc(INDEX + rules("<Redirect/>")), "MalformedXML", None),
                (doc(INDEX + rules("<Redirect><ReplaceKeyWith>a</ReplaceKeyWith>"
                                   "<ReplaceKeyPrefixWith>b</ReplaceKeyPrefixWith>"
                                   "</Redirect>")), "InvalidRequest",
                 "You can only define ReplaceKeyPrefix or ReplaceKey but not both."),
                (doc(INDEX + rules("<Redirect><HttpRedirectCode>300</HttpRedirectCode>"
                                   "</Redirect>")), "InvalidRequest", None),
                (doc(INDEX + rules("<Redirect><HttpRedirectCode>x</HttpRedirectCode>"
                                   "</Redirect>")), "MalformedXML", None),
                (doc(INDEX + rules("<Condition/>" + redirect)), "InvalidRequest", None),
                (doc(INDEX + rules("<Condition><HttpErrorCodeReturnedEquals>302"
                                   "</HttpErrorCodeReturnedEquals></Condition>"
                                   + redirect)), "InvalidRequest", None),
                (doc(INDEX + rules("<Condition><Other/></Condition>" + redirect)),
                 "MalformedXML", None),
                (doc(INDEX + rules(*[redirect] * 51)), "InvalidRequest", None)]:
            with self.subTest(body=body):
                error = self.assertRaises(S3Error, parse_website_configuration, body)
                self.assertEqual(error.code, code)
                if message is not None:
                    self.assertEqual(error.message, message)


class OperationTests(Harness):
    def put(self, body: bytes, who=None, **headers):
        headers.setdefault("content-md5", md5(body))
        kwargs = {} if who is None else {"who": who}
        return self.ctx("PUT", "/b", query={"website": ""}, body=body, headers=headers,
                        **kwargs)

    def stored(self):
        return self.successResultOf(self.backend.metadata.get_bucket("b")).get(Bkt.WEBSITE)

    def test_no_longer_not_implemented(self):
        for name in ("GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite"):
            self.assertNotIn(name, NOT_IMPLEMENTED)

    def test_none_by_default(self):
        error = self.call_fails(self.ctx("GET", "/b", query={"website": ""}))
        self.assertEqual((error.code, error.status), ("NoSuchWebsiteConfiguration", 404))

    def test_put_get_delete(self):
        self.assertEqual(self.call(self.put(doc(INDEX + ERROR))).status, 200)
        self.assertEqual(self.stored(), {"indexDocument": "index.html",
                                         "errorDocument": "error.html"})
        body = self.call(self.ctx("GET", "/b", query={"website": ""})).body
        self.assertIn(b"<Suffix>index.html</Suffix>", body)
        self.assertIn(b"<Key>error.html</Key>", body)
        self.assertEqual(self.call(self.ctx("DELETE", "/b", query={"website": ""})).status,
                         204)
        self.assertIsNone(self.stored())

    def test_bad_document_stores_nothing(self):
        self.call(self.put(doc(INDEX)))
        error = self.call_fails(self.put(doc(ERROR)))
        self.assertEqual(error.code, "InvalidArgument")
        self.assertEqual(self.stored(), {"indexDocument": "index.html"})

    def test_bad_md5_and_other_accounts_refused(self):
        self.assertEqual(self.call_fails(self.put(doc(INDEX), **{
            "content-md5": md5(b"x")})).code, "BadDigest")
        self.assertEqual(self.call_fails(self.put(doc(INDEX), who=LISA)).code,
                         "AccessDenied")
        self.assertIsNone(self.stored())
