# -*- test-case-name: tests.unit.test_ops_copy -*-
"""CopyObject's headers and metadata: the metadata directive, the ACL of the
copy, the website redirect, and copies onto the source's own key (the
illegal no-op, and restoring a version), through the HTTP layer with the
memory backend."""
from __future__ import annotations

import re

from twisted.trial.unittest import SynchronousTestCase

from tests.unit.test_http import BucketCase, status

CONTENT = {"Cache-Control": "max-age=60", "Content-Disposition": "attachment",
           "Content-Encoding": "gzip", "Content-Language": "fr",
           "Expires": "Thu, 01 Dec 2033 16:00:00 GMT", "Content-Type": "text/plain"}
ILLEGAL = (b"This copy request is illegal because it is trying to copy an object to "
           b"itself without changing the object's metadata, storage class, website "
           b"redirect location or encryption attributes.")


def header(out: bytes, name: str) -> str | None:
    m = re.search(rb"\r\n" + name.encode() + rb": ([^\r]*)\r\n", out, re.IGNORECASE)
    return m.group(1).decode() if m else None


class CopyHeadersTests(BucketCase, SynchronousTestCase):

    def put(self, key: str, body: bytes = b"data", headers=None) -> bytes:
        out = self.send("PUT", f"/bucket/{key}", body, headers)
        self.assertEqual(status(out), 200, out)
        return out

    def copy(self, key: str, source: str = "/bucket/src", headers=None) -> bytes:
        return self.send("PUT", f"/bucket/{key}",
                         headers={"x-amz-copy-source": source, **(headers or {})})

    def test_copy_directive_keeps_the_content_headers(self):
        self.put("src", headers={**CONTENT, "x-amz-meta-a": "1"})
        self.assertEqual(status(self.copy("dst")), 200)
        head = self.send("HEAD", "/bucket/dst")
        for name, value in CONTENT.items():
            self.assertEqual(header(head, name), value, name)
        self.assertEqual(header(head, "x-amz-meta-a"), "1")

    def test_replace_directive_drops_what_the_request_leaves_out(self):
        self.put("src", headers={**CONTENT, "x-amz-meta-a": "1"})
        out = self.copy("dst", headers={"x-amz-metadata-directive": "REPLACE",
                                        "Cache-Control": "no-cache", "x-amz-meta-b": "2"})
        self.assertEqual(status(out), 200, out)
        head = self.send("HEAD", "/bucket/dst")
        self.assertEqual(header(head, "Cache-Control"), "no-cache")
        self.assertEqual(header(head, "Content-Type"), "binary/octet-stream")
        for name in ("Content-Disposition", "Content-Encoding", "Content-Language",
                     "Expires", "x-amz-meta-a"):
            self.assertIsNone(header(head, name), name)
        self.assertEqual(header(head, "x-amz-meta-b"), "2")

    def test_copy_gets_the_requested_acl_not_the_sources(self):
        self.put("src", headers={"x-amz-acl": "public-read"})
        self.assertEqual(status(self.copy("private")), 200)
        self.assertNotIn(b"AllUsers", self.send("GET", "/bucket/private?acl"))
        out = self.copy("public", headers={"x-amz-acl": "public-read"})
        self.assertEqual(status(out), 200, out)
        self.assertIn(b"AllUsers", self.send("GET", "/bucket/public?acl"))
        out = self.copy("bad", headers={"x-amz-acl": "public-ready"})
        self.assertEqual(status(out), 400, out)
        self.assertEqual(status(self.send("HEAD", "/bucket/bad")), 404)

    def test_website_redirect_is_the_requests_not_the_sources(self):
        """AWS: the redirect "is not copied when using the
        x-amz-metadata-directive header"; the copy has the one it asks for."""
        self.put("src", headers={"x-amz-website-redirect-location": "/elsewhere"})
        self.assertEqual(status(self.copy("plain")), 200)
        self.assertIsNone(header(self.send("HEAD", "/bucket/plain"),
                                 "x-amz-website-redirect-location"))
        out = self.copy("moved", headers={"x-amz-website-redirect-location": "https://e.com/"})
        self.assertEqual(status(out), 200, out)
        self.assertEqual(header(self.send("HEAD", "/bucket/moved"),
                                "x-amz-website-redirect-location"), "https://e.com/")
        out = self.copy("bad", headers={"x-amz-website-redirect-location": "e.com"})
        self.assertEqual(status(out), 400, out)
        self.assertIn(b"<Code>InvalidRedirectLocation</Code>", out)
        self.assertEqual(status(self.send("HEAD", "/bucket/bad")), 404)

    def test_copy_onto_itself_must_change_something(self):
        self.put("src", headers={"x-amz-website-redirect-location": "/a"})
        out = self.copy("src")
        self.assertEqual(status(out), 400, out)
        self.assertIn(ILLEGAL, out)
        out = self.copy("src", headers={"x-amz-website-redirect-location": "/b"})
        self.assertEqual(status(out), 200, out)
        got = self.send("GET", "/bucket/src")
        self.assertEqual(header(got, "x-amz-website-redirect-location"), "/b")
        self.assertTrue(got.endswith(b"data"))

    def test_copy_onto_itself_with_a_version_id_is_allowed(self):
        """Naming the source's version is how a client restores it; in an
        unversioned bucket the null version is the object itself."""
        self.put("src", headers={"x-amz-meta-a": "1"})
        out = self.copy("src", source="/bucket/src?versionId=null")
        self.assertEqual(status(out), 200, out)
        got = self.send("GET", "/bucket/src")
        self.assertTrue(got.endswith(b"data"))
        self.assertEqual(header(got, "x-amz-meta-a"), "1")

    def test_restore_an_old_version_onto_the_same_key(self):
        body = (b"<VersioningConfiguration><Status>Enabled</Status>"
                b"</VersioningConfiguration>")
        self.assertEqual(status(self.send("PUT", "/bucket?versioning", body)), 200)
        old = header(self.put("src", b"old"), "x-amz-version-id")
        self.put("src", b"new")
        out = self.copy("src", source=f"/bucket/src?versionId={old}")
        self.assertEqual(status(out), 200, out)
        self.assertEqual(header(out, "x-amz-copy-source-version-id"), old)
        restored = header(out, "x-amz-version-id")
        self.assertNotIn(restored, (None, old))
        self.assertTrue(self.send("GET", "/bucket/src").endswith(b"old"))
        self.assertEqual(self.send("GET", "/bucket?versions").count(b"<Version>"), 3)
        self.assertTrue(self.send("GET", f"/bucket/src?versionId={old}").endswith(b"old"))
        self.assertIn(ILLEGAL, self.copy("src"))
