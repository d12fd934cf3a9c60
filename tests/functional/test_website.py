# -*- test-case-name: tests.functional.test_website -*-
"""Static website hosting: Put/Get/DeleteBucketWebsite through boto3,
s3cmd (``ws-create`` / ``ws-info`` / ``ws-delete``) and aws-cli
(``s3 website``), and the site served on a ``websiteEndpoints`` host of
config.json, reached with raw HTTP GETs whose Host header names
``<bucket>.s3-website-us-east-1.amazonaws.com`` on 127.0.0.1."""

from __future__ import annotations

import http.client
import json

from tests.functional.clients import AwsCli, S3cmd
from tests.functional.s3case import S3TestCase

ENDPOINT = "s3-website-us-east-1.amazonaws.com"
SITE = {"IndexDocument": {"Suffix": "index.html"}, "ErrorDocument": {"Key": "error.html"}}


class WebsiteConfigTests(S3TestCase):
    def test_put_get_delete(self) -> None:
        bucket = self.make_bucket()
        self.assertS3Error("NoSuchWebsiteConfiguration", 404, self.s3.get_bucket_website,
                           Bucket=bucket)
        config = {**SITE, "RoutingRules": [
            {"Condition": {"KeyPrefixEquals": "docs/"},
             "Redirect": {"ReplaceKeyPrefixWith": "documents/", "HttpRedirectCode": "302"}}]}
        self.s3.put_bucket_website(Bucket=bucket, WebsiteConfiguration=config)
        got = self.s3.get_bucket_website(Bucket=bucket)
        self.assertEqual(got["IndexDocument"], {"Suffix": "index.html"})
        self.assertEqual(got["ErrorDocument"], {"Key": "error.html"})
        self.assertEqual(got["RoutingRules"], config["RoutingRules"])
        self.s3.delete_bucket_website(Bucket=bucket)
        self.assertS3Error("NoSuchWebsiteConfiguration", 404, self.s3.get_bucket_website,
                           Bucket=bucket)

    def test_refused_and_nothing_stored(self) -> None:
        bucket = self.make_bucket()
        for config, code in [
                ({"ErrorDocument": {"Key": "e.html"}}, "InvalidArgument"),
                ({"IndexDocument": {"Suffix": "a/b.html"}}, "InvalidArgument"),
                ({**SITE, "RedirectAllRequestsTo": {"HostName": "example.com"}},
                 "InvalidRequest"),
                ({**SITE, "RoutingRules": [{"Redirect": {"ReplaceKeyWith": "a",
                                                         "ReplaceKeyPrefixWith": "b"}}]},
                 "InvalidRequest")]:
            with self.subTest(config=config):
                self.assertS3Error(code, 400, self.s3.put_bucket_website, Bucket=bucket,
                                   WebsiteConfiguration=config)
        self.assertS3Error("NoSuchWebsiteConfiguration", 404, self.s3.get_bucket_website,
                           Bucket=bucket)

    def test_s3cmd_ws_create_info_delete(self) -> None:
        bucket = self.make_bucket()
        s3cmd = S3cmd(self.server, self.workdir / "home", signature_v2=False)
        s3cmd("ws-create", "--ws-index=index.html", "--ws-error=error.html",
              f"s3://{bucket}")
        info = s3cmd("ws-info", f"s3://{bucket}").stdout
        self.assertIn("index.html", info)
        self.assertIn("error.html", info)
        self.assertEqual(self.s3.get_bucket_website(Bucket=bucket)["IndexDocument"],
                         {"Suffix": "index.html"})
        s3cmd("ws-delete", f"s3://{bucket}")
        self.assertS3Error("NoSuchWebsiteConfiguration", 404, self.s3.get_bucket_website,
                           Bucket=bucket)

    def test_awscli_s3_website(self) -> None:
        bucket = self.make_bucket()
        aws = AwsCli(self.server, self.workdir / "home")
        aws("s3", "website", f"s3://{bucket}", "--index-document", "home.html",
            "--error-document", "oops.html")
        got = self.s3.get_bucket_website(Bucket=bucket)
        self.assertEqual((got["IndexDocument"], got["ErrorDocument"]),
                         ({"Suffix": "home.html"}, {"Key": "oops.html"}))


class WebsiteServingTests(S3TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.bucket = self.make_bucket()
        for key, body in (("index.html", b"<p>home</p>"), ("error.html", b"<p>oops</p>"),
                          ("docs/index.html", b"<p>docs</p>"), ("page.html", b"page")):
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ACL="public-read",
                               ContentType="text/html")
        self.s3.put_object(Bucket=self.bucket, Key="secret.html", Body=b"secret")
        self.s3.put_bucket_website(Bucket=self.bucket, WebsiteConfiguration=SITE)

    def web(self, method: str, path: str, bucket: str | None = None
            ) -> tuple[http.client.HTTPResponse, bytes]:
        """An anonymous request with Host ``<bucket>.<website endpoint>``."""
        connection = self.connection()
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        connection.putheader("Host", f"{bucket or self.bucket}.{ENDPOINT}")
        connection.endheaders()
        response = connection.getresponse()
        return response, response.read()

    def test_index_documents_and_pages(self) -> None:
        for path, body in (("/", b"<p>home</p>"), ("/docs/", b"<p>docs</p>"),
                           ("/page.html", b"page")):
            with self.subTest(path=path):
                response, got = self.web("GET", path)
                self.assertEqual((response.status, got), (200, body))
                self.assertEqual(response.getheader("Content-Type"), "text/html")
        response, got = self.web("HEAD", "/page.html")
        self.assertEqual((response.status, got, response.getheader("Content-Length")),
                         (200, b"", "4"))

    def test_folder_redirect(self) -> None:
        response, _ = self.web("GET", "/docs")
        self.assertEqual((response.status, response.getheader("Location")), (302, "/docs/"))

    def test_error_document_with_the_error_status(self) -> None:
        for path in ("/missing.html", "/secret.html"):
            with self.subTest(path=path):
                response, got = self.web("GET", path)
                self.assertEqual((response.status, got), (403, b"<p>oops</p>"))
        self.s3.put_bucket_acl(Bucket=self.bucket, ACL="public-read")
        response, got = self.web("GET", "/missing.html")
        self.assertEqual((response.status, got), (404, b"<p>oops</p>"))

    def test_html_error_pages(self) -> None:
        self.s3.put_bucket_website(Bucket=self.bucket, WebsiteConfiguration={
            "IndexDocument": {"Suffix": "index.html"}})
        self.s3.put_bucket_acl(Bucket=self.bucket, ACL="public-read")
        response, got = self.web("GET", "/missing.html")
        self.assertEqual(response.status, 404)
        self.assertEqual(response.getheader("Content-Type"), "text/html; charset=utf-8")
        self.assertIn(b"<li>Code: NoSuchKey</li>", got)
        self.assertNotIn(b"<?xml", got)
        response, got = self.web("GET", "/", bucket="no-such-bucket-here")
        self.assertEqual(response.status, 404)
        self.assertIn(b"<li>Code: NoSuchBucket</li>", got)
        self.s3.delete_bucket_website(Bucket=self.bucket)
        response, got = self.web("GET", "/page.html")
        self.assertEqual(response.status, 404)
        self.assertIn(b"<li>Code: NoSuchWebsiteConfiguration</li>", got)

    def test_only_get_and_head_no_listing(self) -> None:
        for method in ("PUT", "DELETE", "POST"):
            with self.subTest(method=method):
                response, got = self.web(method, "/page.html")
                self.assertEqual(response.status, 405)
                self.assertIn(b"MethodNotAllowed", got)
        self.assertEqual(self.s3.get_object(Bucket=self.bucket, Key="page.html")["Body"]
                         .read(), b"page")
        # the query is not S3's on a website: ?list-type=2 is the index page
        response, got = self.web("GET", "/?list-type=2")
        self.assertEqual((response.status, got), (200, b"<p>home</p>"))

    def test_redirects(self) -> None:
        self.s3.put_object(Bucket=self.bucket, Key="moved.html", Body=b"", ACL="public-read",
                           WebsiteRedirectLocation="/page.html")
        response, _ = self.web("GET", "/moved.html")
        self.assertEqual((response.status, response.getheader("Location")),
                         (301, "/page.html"))
        self.s3.put_bucket_website(Bucket=self.bucket, WebsiteConfiguration={
            **SITE, "RoutingRules": [
                {"Condition": {"KeyPrefixEquals": "old/"},
                 "Redirect": {"ReplaceKeyPrefixWith": "new/"}},
                {"Condition": {"HttpErrorCodeReturnedEquals": "403"},
                 "Redirect": {"HostName": "example.com", "Protocol": "https",
                              "HttpRedirectCode": "307"}}]})
        response, _ = self.web("GET", "/old/a.html")
        self.assertEqual((response.status, response.getheader("Location")),
                         (301, f"http://{self.bucket}.{ENDPOINT}/new/a.html"))
        response, _ = self.web("GET", "/missing.html")
        self.assertEqual((response.status, response.getheader("Location")),
                         (307, "https://example.com/missing.html"))
        self.s3.put_bucket_website(Bucket=self.bucket, WebsiteConfiguration={
            "RedirectAllRequestsTo": {"HostName": "www.example.com"}})
        response, _ = self.web("GET", "/a/b")
        self.assertEqual((response.status, response.getheader("Location")),
                         (301, "http://www.example.com/a/b"))

    def test_bucket_policy_opens_a_private_object(self) -> None:
        self.s3.put_bucket_policy(Bucket=self.bucket, Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{self.bucket}/secret.html"}]}))
        response, got = self.web("GET", "/secret.html")
        self.assertEqual((response.status, got), (200, b"secret"))
