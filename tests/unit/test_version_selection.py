# -*- test-case-name: tests.unit.test_version_selection -*-
"""The version an object request names, through the HTTP layer with the
memory backend: the null version's header on ACL, tagging and reads, a
delete marker named by id, missing and malformed ids (one request, and per
key in DeleteObjects)."""
from __future__ import annotations

import base64
import hashlib
import re

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata import version_id as vid
from tests.unit.test_http import BucketCase, status
from tests.unit.test_tagging import header, tagging

MISSING = vid.encode(vid.format_version_id(1_600_000_000_000, 7, "RG001"))
ENABLED = b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>"


class VersionSelectionTests(BucketCase, SynchronousTestCase):

    def enable(self) -> None:
        self.assertEqual(status(self.send("PUT", "/bucket?versioning", ENABLED)), 200)

    def object_requests(self, query: str = "") -> list[tuple[str, str, bytes, dict | None]]:
        """(method, path, body, headers) of every ACL, tagging and read request."""
        q = "&" + query if query else ""
        plain = f"?{query}" if query else ""
        return [("GET", f"/bucket/k?acl{q}", b"", None),
                ("PUT", f"/bucket/k?acl{q}", b"", {"x-amz-acl": "private"}),
                ("PUT", f"/bucket/k?tagging{q}", tagging(("a", "1")), None),
                ("GET", f"/bucket/k?tagging{q}", b"", None),
                ("DELETE", f"/bucket/k?tagging{q}", b"", None),
                ("GET", "/bucket/k" + plain, b"", None),
                ("HEAD", "/bucket/k" + plain, b"", None)]

    def versions_listing(self) -> bytes:
        out = self.send("GET", "/bucket?versions")
        return re.sub(rb"<LastModified>[^<]*</LastModified>", b"", out.split(b"\r\n\r\n", 1)[1])

    def test_null_version_header_before_versioning(self):
        self.send("PUT", "/bucket/k", b"pre")
        self.enable()
        for query in ("", "versionId=null"):
            for method, path, body, extra in self.object_requests(query):
                out = self.send(method, path, body, extra)
                self.assertLess(status(out), 300, (method, path, out))
                self.assertEqual(header(out, b"x-amz-version-id"), b"null", (method, path))

    def test_never_versioned_bucket_reports_no_version(self):
        self.send("PUT", "/bucket/k", b"plain")
        for method, path, body, extra in self.object_requests():
            out = self.send(method, path, body, extra)
            self.assertLess(status(out), 300, (method, path, out))
            self.assertIsNone(header(out, b"x-amz-version-id"), (method, path))

    def test_delete_marker_by_id_is_405_with_last_modified(self):
        self.enable()
        self.send("PUT", "/bucket/k", b"data")
        self.h.clock.advance(3)
        out = self.send("DELETE", "/bucket/k")
        dm = header(out, b"x-amz-version-id").decode()
        for method, path, body, extra in self.object_requests(f"versionId={dm}"):
            out = self.send(method, path, body, extra)
            self.assertEqual(status(out), 405, (method, path, out))
            self.assertEqual(header(out, b"x-amz-delete-marker"), b"true")
            self.assertEqual(header(out, b"Allow"), b"DELETE")
            self.assertEqual(header(out, b"x-amz-version-id"), dm.encode())
            self.assertIsNotNone(header(out, b"Last-Modified"), (method, path))

    def test_no_such_version_names_key_and_version(self):
        self.enable()
        self.send("PUT", "/bucket/k", b"data")
        before = self.versions_listing()
        for method, path, body, extra in self.object_requests(f"versionId={MISSING}"):
            out = self.send(method, path, body, extra)
            self.assertEqual(status(out), 404, (method, path, out))
            if method == "HEAD":
                self.assertTrue(out.endswith(b"\r\n\r\n"), out)
                continue
            self.assertIn(b"<Code>NoSuchVersion</Code>"
                          b"<Message>The specified version does not exist.</Message>"
                          b"<Key>k</Key><VersionId>" + MISSING.encode() + b"</VersionId>", out)
        self.assertEqual(self.versions_listing(), before)

    def test_multi_delete_malformed_is_no_such_version(self):
        self.enable()
        self.send("PUT", "/bucket/k", b"data")
        before = self.versions_listing()
        body = (f"<Delete><Object><Key>k</Key><VersionId>garbage</VersionId></Object>"
                f"<Object><Key>k</Key><VersionId>{MISSING}</VersionId></Object></Delete>"
                ).encode()
        md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
        out = self.send("POST", "/bucket?delete", body, {"Content-MD5": md5})
        self.assertEqual(status(out), 200, out)
        self.assertIn(b"<Error><Key>k</Key><VersionId>garbage</VersionId>"
                      b"<Code>NoSuchVersion</Code>", out)
        self.assertIn(b"<Deleted><Key>k</Key><VersionId>" + MISSING.encode()
                      + b"</VersionId></Deleted>", out)
        self.assertEqual(self.versions_listing(), before)
        # a single DeleteObject keeps InvalidArgument for a malformed id
        out = self.send("DELETE", "/bucket/k?versionId=garbage")
        self.assertEqual(status(out), 400)
        self.assertIn(b"<Message>Invalid version id specified</Message>", out)
