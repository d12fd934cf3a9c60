# -*- test-case-name: tests.unit.test_website_serve -*-
"""Serving a bucket as a website: routing of websiteEndpoints hosts, the
pure rules (index keys, routing rules, redirect locations), the
WebsiteGet / WebsiteHead handlers over the memory metadata service (ACL
decided, index and error documents, redirects) and the HTML error page."""
from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.s3.access import acl
from cloudserver.s3.auth.authenticate import AuthResult
from cloudserver.s3.context import RequestContext
from cloudserver.s3.errors import S3Error
from cloudserver.s3.model import website as site
from cloudserver.s3.ops.website_serve import WebsiteError, error_response
from cloudserver.s3.routing import route
from tests.unit.test_acl import BART
from tests.unit.test_acl_ops import FakeBody, Harness

ENDPOINT = "s3-website-us-east-1.amazonaws.com"
HOST = "b." + ENDPOINT


class RoutingTests(SynchronousTestCase):
    def route(self, method: str, path: str, host: str = HOST, query: str = ""):
        return route(method, host, path, query, {}, {"localhost": "us-east-1"}, (ENDPOINT,))

    def test_website_host(self):
        for method, path, name, key in [("GET", "/", "WebsiteGet", ""),
                                        ("GET", "/a/b%20c", "WebsiteGet", "a/b c"),
                                        ("HEAD", "/x", "WebsiteHead", "x"),
                                        ("PUT", "/x", "WebsiteMethodNotAllowed", "x"),
                                        ("DELETE", "/", "WebsiteMethodNotAllowed", "")]:
            with self.subTest(method=method, path=path):
                op = self.route(method, path, query="acl")
                self.assertEqual((op.name, op.bucket, op.key, dict(op.query), op.website),
                                 (name, "b", key, {}, True))

    def test_other_hosts_are_s3(self):
        op = self.route("GET", "/b/k", host="localhost")
        self.assertEqual((op.name, op.website), ("GetObject", False))
        self.assertEqual(self.route("GET", "/", host=ENDPOINT + ":8000").name, "ListBuckets")
        op = route("GET", HOST, "/k", "", {}, {}, ())
        self.assertFalse(op.website)

    def test_port_and_case(self):
        self.assertEqual(site.website_bucket("My.B." + ENDPOINT.upper() + ":80", (ENDPOINT,)),
                         "my.b")

    def test_key_too_long(self):
        e = self.assertRaises(S3Error, self.route, "GET", "/" + "a" * 1025)
        self.assertEqual(e.code, "KeyTooLongError")


class RuleTests(SynchronousTestCase):
    RULES = [{"condition": {"keyPrefixEquals": "docs/", "httpErrorCodeReturnedEquals": 404},
              "redirect": {"replaceKeyWith": "missing.html"}},
             {"condition": {"keyPrefixEquals": "docs/"},
              "redirect": {"replaceKeyPrefixWith": "documents/", "httpRedirectCode": 302}},
             {"condition": {"httpErrorCodeReturnedEquals": 403},
              "redirect": {"hostName": "other.example", "protocol": "https"}}]

    def test_index_key(self):
        self.assertEqual(site.index_key("", "index.html"), "index.html")
        self.assertEqual(site.index_key("a/", "index.html"), "a/index.html")
        self.assertEqual(site.index_key("a", "index.html"), "a")

    def test_first_matching_rule(self):
        rules = self.RULES
        self.assertIs(site.find_rule(rules, "docs/a"), rules[1])
        self.assertIs(site.find_rule(rules, "docs/a", 404), rules[0])
        self.assertIsNone(site.find_rule(rules, "other"))
        self.assertIs(site.find_rule(rules, "other", 403), rules[2])
        self.assertIsNone(site.find_rule(None, "x"))
        everything = [{"redirect": {"hostName": "h"}}]
        self.assertIs(site.find_rule(everything, "any"), everything[0])

    def test_redirect_locations(self):
        self.assertEqual(site.rule_redirect(self.RULES[1], "docs/a b", "http", HOST),
                         site.Redirect(302, f"http://{HOST}/documents/a%20b"))
        self.assertEqual(site.rule_redirect(self.RULES[0], "docs/a", "http", HOST),
                         site.Redirect(301, f"http://{HOST}/missing.html"))
        self.assertEqual(site.rule_redirect(self.RULES[2], "k", "http", HOST),
                         site.Redirect(301, "https://other.example/k"))
        self.assertEqual(site.redirect_all({"hostName": "example.com"}, "a/b", "https"),
                         site.Redirect(301, "https://example.com/a/b"))


class ServeTests(Harness):
    """Bucket "b" of Bart's as a website: index.html and error.html public."""

    def setUp(self):
        super().setUp()
        self.configure({"indexDocument": "index.html", "errorDocument": "error.html"})
        for key in ("index.html", "error.html", "docs/index.html", "page"):
            self.put_object(key, BART, acl.canned("public-read", BART))

    def configure(self, website: dict | None) -> None:
        md = self.backend.metadata
        attrs = dict(self.successResultOf(md.get_bucket("b")))
        attrs[Bkt.WEBSITE] = website
        self.successResultOf(md.update_bucket("b", attrs))

    def web(self, path: str, method: str = "GET", host: str = HOST) -> RequestContext:
        op = route(method, host, path, "", {}, {}, (ENDPOINT,))
        return RequestContext(op=op, method=method, headers={}, auth=AuthResult(None, None),
                              body=FakeBody(b""), backend=self.backend, request_id="R",
                              host=host)

    def location(self, response) -> str:
        return dict(response.headers)["Location"]

    def test_pages_and_index_documents(self):
        for path in ("/", "/page", "/docs/"):
            with self.subTest(path=path):
                self.assertEqual(self.call(self.web(path)).status, 200)
        self.assertEqual(self.call(self.web("/page", "HEAD")).status, 200)

    def test_folder_without_slash_is_a_302(self):
        response = self.call(self.web("/docs"))
        self.assertEqual((response.status, self.location(response)), (302, "/docs/"))

    def test_missing_and_private_serve_the_error_document_with_the_status(self):
        self.put_object("secret", BART)
        for path, status in (("/missing", 403), ("/secret", 403)):
            with self.subTest(path=path):
                self.assertEqual(self.call(self.web(path)).status, status)
        self.set_bucket_acl("public-read")  # listing allowed: a missing key is a 404
        self.assertEqual(self.call(self.web("/missing")).status, 404)

    def test_error_document_unreadable_is_the_error_page(self):
        self.put_object("error.html", BART)  # now private
        error = self.call_fails(self.web("/missing"))
        self.assertIsInstance(error, WebsiteError)
        self.assertEqual(error.code, "AccessDenied")
        self.assertEqual(error.document_error.code, "AccessDenied")

    def test_without_error_document(self):
        self.configure({"indexDocument": "index.html"})
        self.set_bucket_acl("public-read")
        error = self.call_fails(self.web("/missing"))
        self.assertEqual((error.code, error.status), ("NoSuchKey", 404))
        self.assertIsNone(error.document_error)

    def test_no_configuration_and_no_bucket(self):
        self.configure(None)
        self.assertEqual(self.call_fails(self.web("/")).code, "NoSuchWebsiteConfiguration")
        self.assertEqual(self.call_fails(self.web("/", host="nope." + ENDPOINT)).code,
                         "NoSuchBucket")

    def test_only_get_and_head(self):
        for method in ("PUT", "POST", "DELETE"):
            with self.subTest(method=method):
                error = self.call_fails(self.web("/page", method))
                self.assertEqual((error.code, error.status), ("MethodNotAllowed", 405))
        self.assertIsNotNone(self.successResultOf(
            self.backend.metadata.get_object("b", "page")))

    def test_object_redirect_location(self):
        md = dict(self.successResultOf(self.backend.metadata.get_object("b", "page")))
        md["website-redirect-location"] = "/elsewhere"
        self.successResultOf(self.backend.metadata.put_object("b", "page", md))
        response = self.call(self.web("/page"))
        self.assertEqual((response.status, self.location(response)), (301, "/elsewhere"))

    def test_redirect_all(self):
        self.configure({"redirectAllRequestsTo": {"hostName": "example.com",
                                                  "protocol": "https"}})
        response = self.call(self.web("/a/b"))
        self.assertEqual((response.status, self.location(response)),
                         (301, "https://example.com/a/b"))

    def test_routing_rules(self):
        self.configure({"indexDocument": "index.html", "routingRules": [
            {"condition": {"keyPrefixEquals": "old/"},
             "redirect": {"replaceKeyPrefixWith": "new/"}},
            {"condition": {"httpErrorCodeReturnedEquals": 403},
             "redirect": {"replaceKeyWith": "page", "httpRedirectCode": 307}}]})
        response = self.call(self.web("/old/x"))
        self.assertEqual((response.status, self.location(response)),
                         (301, f"http://{HOST}/new/x"))
        response = self.call(self.web("/missing"))
        self.assertEqual((response.status, self.location(response)),
                         (307, f"http://{HOST}/page"))


class ErrorPageTests(SynchronousTestCase):
    def test_html_page(self):
        err = WebsiteError(S3Error("NoSuchKey", Key="a<b"), S3Error("AccessDenied"))
        response = error_response(err, "RID", "GET")
        self.assertEqual((response.status, response.content_type, response.error_code),
                         (404, "text/html; charset=utf-8", "NoSuchKey"))
        body = response.body.decode()
        self.assertIn("<title>404 Not Found</title>", body)
        self.assertIn("<li>Code: NoSuchKey</li>", body)
        self.assertIn("<li>Key: a&lt;b</li>", body)
        self.assertIn("<li>RequestId: RID</li>", body)
        self.assertIn("<h3>An Error Occurred While Attempting to Retrieve a Custom Error "
                      "Document</h3>", body)
        self.assertIn("<li>Code: AccessDenied</li>", body)
        self.assertEqual(response.length, len(response.body))

    def test_head_has_no_body_but_error_headers(self):
        response = error_response(S3Error("NoSuchWebsiteConfiguration"), "RID", "HEAD")
        self.assertEqual(response.body, b"")
        self.assertIn(("x-amz-error-code", "NoSuchWebsiteConfiguration"), response.headers)
