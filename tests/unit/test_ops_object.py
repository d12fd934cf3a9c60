# -*- test-case-name: tests.unit.test_ops_object -*-
"""x-amz-website-redirect-location on PutObject and CreateMultipartUpload:
checked before anything is stored, kept in the record (the upload's until
completion), and answered on GET and HEAD."""
from __future__ import annotations

import re

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.data.locations import Locations
from cloudserver.data.memory import MemoryDataStore
from cloudserver.data.producers import ChainedProducer
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.common import website_redirect
from cloudserver.s3.ops.object_read import piece_producers
from tests.unit.test_http import BucketCase, status
from tests.unit.test_data_file_writer import xor
from tests.unit.test_data_mixin import FakeConsumer
from tests.unit.test_ops_copy import header

REDIRECT = "x-amz-website-redirect-location"
WRONG_PREFIX = (b"<Message>The website redirect location must have a prefix of 'http://' "
                b"or 'https://' or '/'.</Message>")


class FakeContext:
    def __init__(self, headers: dict):
        self.headers = headers

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class WebsiteRedirectValueTests(SynchronousTestCase):
    def test_prefixes_and_length(self):
        for good in ("/", "/page.html", "http://example.com", "https://e.com/x?y=1",
                     "/" + "a" * 2047):
            self.assertEqual(website_redirect(FakeContext({REDIRECT: good})), good)
        self.assertIsNone(website_redirect(FakeContext({})))
        self.assertIsNone(website_redirect(FakeContext({REDIRECT: ""})))
        for bad in ("page.html", "ftp://e.com", "HTTP://e.com", " /x", "/" + "a" * 2048):
            with self.assertRaises(S3Error) as e:
                website_redirect(FakeContext({REDIRECT: bad}))
            self.assertEqual((e.exception.code, e.exception.status), (
                "InvalidRedirectLocation", 400), bad)


class WebsiteRedirectTests(BucketCase, SynchronousTestCase):

    def test_put_object_stores_and_returns_it(self):
        out = self.send("PUT", "/bucket/k", b"x", {REDIRECT: "/other.html"})
        self.assertEqual(status(out), 200, out)
        for method in ("GET", "HEAD"):
            self.assertEqual(header(self.send(method, "/bucket/k"), REDIRECT), "/other.html")
        self.send("PUT", "/bucket/k", b"y")  # an overwrite without one has none
        self.assertIsNone(header(self.send("HEAD", "/bucket/k"), REDIRECT))

    def test_put_object_refuses_a_bad_one_and_stores_nothing(self):
        self.send("PUT", "/bucket/k", b"old")
        out = self.send("PUT", "/bucket/k", b"new", {REDIRECT: "www.example.com"})
        self.assertEqual(status(out), 400, out)
        self.assertIn(b"<Code>InvalidRedirectLocation</Code>", out)
        self.assertIn(WRONG_PREFIX, out)
        self.assertTrue(self.send("GET", "/bucket/k").endswith(b"old"))
        out = self.send("PUT", "/bucket/k", b"new", {REDIRECT: "/" + "a" * 2048})
        self.assertIn(b"<Code>InvalidRedirectLocation</Code>", out)

    def test_multipart_upload_carries_it_to_the_object(self):
        out = self.send("POST", "/bucket/mp?uploads", headers={REDIRECT: "https://e.com/"})
        self.assertEqual(status(out), 200, out)
        upload_id = re.search(rb"<UploadId>([^<]+)</UploadId>", out).group(1).decode()
        record = self.successResultOf(self.h.metadata.get_upload("bucket", "mp", upload_id))
        self.assertEqual(record["website-redirect-location"], "https://e.com/")
        out = self.send("PUT", f"/bucket/mp?partNumber=1&uploadId={upload_id}", b"x")
        etag = header(out, "ETag")
        done = (f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}"
                "</ETag></Part></CompleteMultipartUpload>").encode()
        out = self.send("POST", f"/bucket/mp?uploadId={upload_id}", done)
        self.assertEqual(status(out), 200, out)
        self.assertEqual(header(self.send("HEAD", "/bucket/mp"), REDIRECT), "https://e.com/")

    def test_multipart_upload_refuses_a_bad_one(self):
        out = self.send("POST", "/bucket/mp?uploads", headers={REDIRECT: "e.com"})
        self.assertEqual(status(out), 400, out)
        self.assertIn(WRONG_PREFIX, out)
        self.assertNotIn(b"<Upload>", self.send("GET", "/bucket?uploads"))


class PieceProducerStagesTests(SynchronousTestCase):
    """piece_producers can put a read-side stage (decryption) per piece."""

    def setUp(self):
        self.store = MemoryDataStore()
        self.locations = Locations.single(self.store)
        pieces, start = [], 0
        for data in (xor(b"first-"), xor(b"second")):
            writer = self.store.create_writer()
            writer.write(data)
            key = self.successResultOf(writer.finish())
            pieces.append({"key": key, "start": start, "size": len(data)})
            start += len(data)
        self.pieces = pieces

    def read(self, producers) -> bytes:
        consumer = FakeConsumer()
        self.successResultOf(ChainedProducer(producers).startProducing(consumer))
        return consumer.data

    def test_without_stages_the_stored_bytes(self):
        producers = piece_producers(self.locations, self.pieces, 0, 12)
        self.assertEqual(self.read(producers), xor(b"first-second"))

    def test_stages_per_piece_and_offset(self):
        asked = []

        def stages(piece, offset):
            asked.append((piece["start"], offset))
            return [xor]

        producers = piece_producers(self.locations, self.pieces, 3, 6, stages)
        self.assertEqual(self.read(producers), b"st-sec")
        self.assertEqual(asked, [(0, 3), (6, 0)])
