# -*- test-case-name: tests.unit.test_tagging -*-
"""Object and bucket tagging: the tag values (cloudserver.s3.model.tags), the
tagging operations, and x-amz-tagging on PutObject, CopyObject and
multipart uploads, driven through the HTTP layer with the memory backend."""
from __future__ import annotations

import re

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.model import tags
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.multipart_complete import upload_tags
from tests.unit.test_http import Harness, signed, status


def tagging(*pairs: tuple[str, str]) -> bytes:
    return ("<Tagging><TagSet>" + "".join(
        f"<Tag><Key>{k}</Key><Value>{v}</Value></Tag>" for k, v in pairs)
        + "</TagSet></Tagging>").encode()


def header_fn(values: dict):
    return lambda name: values.get(name)


class TagValueTests(SynchronousTestCase):
    def test_header(self):
        self.assertEqual(tags.parse_tagging_header("foo=bar&bar"),
                         [("foo", "bar"), ("bar", "")])
        self.assertEqual(tags.parse_tagging_header("k%20a=v%C3%A9+x"), [("k a", "vé x")])
        self.assertEqual(tags.parse_tagging_header("é=1".encode().decode("latin-1")),
                         [("é", "1")])
        self.assertEqual(tags.parse_tagging_header(""), [])
        self.assertIsNone(tags.parse_tagging_header(None))

    def assertHeaderError(self, value: str, code: str, message: str | None = None):
        with self.assertRaises(S3Error) as e:
            tags.parse_tagging_header(value)
        self.assertEqual(e.exception.code, code, value)
        if message is not None:
            self.assertEqual(e.exception.message, message, value)

    def test_header_rules_are_the_documents(self):
        for bad in ("aws:x=1", "k=" + "v" * 257, "k" * 129 + "=v"):
            self.assertHeaderError(bad, "InvalidTag")
        self.assertEqual(len(tags.parse_tagging_header(
            "&".join(f"k{i}=v" for i in range(10)))), 10)
        self.assertEqual(tags.parse_tagging_header("k" * 128 + "=" + "é" * 256),
                         [("k" * 128, "é" * 256)])  # characters, not bytes

    def test_header_errors_are_what_s3_answers(self):
        """S3 answers the header's own mistakes with its own codes: more than
        10 tags is BadRequest, a duplicate key, a pair with two ``=``, an
        empty key or bytes that are not UTF-8 InvalidArgument."""
        self.assertHeaderError("&".join(f"k{i}=v" for i in range(11)), "BadRequest",
                               "Object tags cannot be greater than 10")
        for bad in ("a=1&a=2", "a=&a=", "TagSet=[{Key=string,Value=string}]", "=", "=v",
                    "k%FF=1"):
            self.assertHeaderError(bad, "InvalidArgument",
                                   "The header 'x-amz-tagging' shall be encoded as UTF-8 "
                                   "then URLEncoded URL query parameters without tag name "
                                   "duplicates.")
        self.assertHeaderError("k%01=v", "InvalidTag", "The TagKey you have provided is invalid")
        self.assertHeaderError("k=v%01", "InvalidTag",
                               "The TagValue you have provided is invalid")
        self.assertEqual(tags.parse_tagging_header("&&key&"), [("key", "")])
        self.assertEqual(tags.parse_tagging_header("a%3Db=c%26d"), [("a=b", "c&d")])

    def test_record(self):
        md: dict = {}
        tags.set_tags(md, [("b", "1"), ("a", "2")])
        self.assertEqual(tags.tags_of(md), [("a", "2"), ("b", "1")])  # listed by key
        self.assertEqual(tags.tags_of({"tags": [["x", "y"]]}), [("x", "y")])
        tags.set_tags(md, [])
        self.assertNotIn("tags", md)

    def test_copy_directive(self):
        src = {"tags": {"s": "1"}}
        self.assertEqual(tags.copy_tags(header_fn({}), src), [("s", "1")])
        self.assertEqual(tags.copy_tags(header_fn({"x-amz-tagging": "n=2"}), src),
                         [("s", "1")])
        replace = {"x-amz-tagging-directive": "REPLACE", "x-amz-tagging": "n=2"}
        self.assertEqual(tags.copy_tags(header_fn(replace), src), [("n", "2")])
        self.assertEqual(tags.copy_tags(header_fn({"x-amz-tagging-directive": "replace"}),
                                        src), [])
        with self.assertRaises(S3Error) as e:
            tags.copy_tags(header_fn({"x-amz-tagging-directive": "MERGE"}), src)
        self.assertEqual(e.exception.code, "InvalidArgument")


def tagset(out: bytes) -> list[tuple[str, str]]:
    return [(k.decode(), v.decode()) for k, v in
            re.findall(rb"<Tag><Key>([^<]*)</Key><Value>([^<]*)</Value></Tag>", out)]


def header(out: bytes, name: bytes) -> bytes | None:
    m = re.search(rb"\r\n" + name + rb": ([^\r]*)\r\n", out, re.IGNORECASE)
    return m.group(1) if m else None


class TaggingOperationTests(SynchronousTestCase):
    def setUp(self):
        self.h = Harness()
        self.assertEqual(status(self.h.send(signed("PUT", "/bucket"))), 200)

    def send(self, method: str, path: str, body: bytes = b"", headers=None) -> bytes:
        return self.h.send(signed(method, path, body, headers) + body)

    def put_object(self, key: str = "k", body: bytes = b"data", headers=None) -> bytes:
        out = self.send("PUT", f"/bucket/{key}", body, headers)
        self.assertEqual(status(out), 200, out)
        return out

    def test_object_tagging_round_trip_keeps_last_modified(self):
        self.put_object()
        before = header(self.send("HEAD", "/bucket/k"), b"Last-Modified")
        out = self.send("GET", "/bucket/k?tagging")
        self.assertEqual((status(out), tagset(out)), (200, []))
        self.h.clock.advance(5)
        out = self.send("PUT", "/bucket/k?tagging", tagging(("0", "0"), ("1", "1")))
        self.assertEqual(status(out), 200, out)
        self.assertEqual(tagset(self.send("GET", "/bucket/k?tagging")), [("0", "0"), ("1", "1")])
        head = self.send("HEAD", "/bucket/k")
        self.assertEqual(header(head, b"x-amz-tagging-count"), b"2")
        self.assertEqual(header(head, b"Last-Modified"), before)
        out = self.send("PUT", "/bucket/k?tagging", tagging(("key3", "val3")))
        self.assertEqual(tagset(self.send("GET", "/bucket/k?tagging")), [("key3", "val3")])
        out = self.send("DELETE", "/bucket/k?tagging")
        self.assertEqual(status(out), 204, out)
        self.assertEqual(tagset(self.send("GET", "/bucket/k?tagging")), [])
        self.assertIsNone(header(self.send("HEAD", "/bucket/k"), b"x-amz-tagging-count"))
        self.assertTrue(self.send("GET", "/bucket/k").endswith(b"data"))

    def test_invalid_tags_change_nothing(self):
        self.put_object()
        self.send("PUT", "/bucket/k?tagging", tagging(("a", "1")))
        out = self.send("PUT", "/bucket/k?tagging",
                        tagging(*[(str(i), str(i)) for i in range(11)]))
        self.assertEqual(status(out), 400)
        self.assertIn(b"<Code>InvalidTag</Code>", out)
        out = self.send("PUT", "/bucket/k?tagging", b"<Tagging/>")
        self.assertIn(b"<Code>MalformedXML</Code>", out)
        self.assertEqual(tagset(self.send("GET", "/bucket/k?tagging")), [("a", "1")])

    def test_missing_object(self):
        out = self.send("PUT", "/bucket/nope?tagging", tagging(("a", "1")))
        self.assertIn(b"<Code>NoSuchKey</Code>", out)
        out = self.send("GET", "/bucket/nope?tagging")
        self.assertEqual(status(out), 404)

    def test_versions_are_tagged_in_place(self):
        body = (b'<VersioningConfiguration><Status>Enabled</Status>'
                b'</VersioningConfiguration>')
        self.assertEqual(status(self.send("PUT", "/bucket?versioning", body)), 200)
        v1 = header(self.put_object(body=b"one"), b"x-amz-version-id").decode()
        v2 = header(self.put_object(body=b"two"), b"x-amz-version-id").decode()
        out = self.send("PUT", f"/bucket/k?tagging&versionId={v1}", tagging(("v", "1")))
        self.assertEqual(header(out, b"x-amz-version-id").decode(), v1)
        self.assertEqual(tagset(self.send("GET", f"/bucket/k?tagging&versionId={v1}")),
                         [("v", "1")])
        self.assertEqual(tagset(self.send("GET", "/bucket/k?tagging")), [])
        listing = self.send("GET", "/bucket?versions")
        self.assertEqual(listing.count(b"<Version>"), 2)
        self.assertIn(v2.encode(), listing)
        self.send("PUT", "/bucket/k?tagging", tagging(("latest", "x")))
        self.assertEqual(self.send("GET", "/bucket?versions").count(b"<Version>"), 2)
        out = self.send("GET", "/bucket/k")
        self.assertEqual(header(out, b"x-amz-version-id").decode(), v2)
        self.assertEqual(header(out, b"x-amz-tagging-count"), b"1")

    def test_put_object_with_tagging_header(self):
        self.put_object(headers={"x-amz-tagging": "foo=bar&bar"})
        self.assertEqual(tagset(self.send("GET", "/bucket/k?tagging")),
                         [("bar", ""), ("foo", "bar")])
        out = self.send("PUT", "/bucket/k2", b"x", {"x-amz-tagging": "aws:no=1"})
        self.assertIn(b"<Code>InvalidTag</Code>", out)
        self.assertEqual(status(self.send("HEAD", "/bucket/k2")), 404)

    def test_copy_object_tagging_directive(self):
        self.put_object(headers={"x-amz-tagging": "src=1"})
        out = self.send("PUT", "/bucket/c1", headers={"x-amz-copy-source": "/bucket/k"})
        self.assertEqual(status(out), 200, out)
        self.assertEqual(tagset(self.send("GET", "/bucket/c1?tagging")), [("src", "1")])
        self.send("PUT", "/bucket/c2", headers={
            "x-amz-copy-source": "/bucket/k", "x-amz-tagging-directive": "REPLACE",
            "x-amz-tagging": "new=2"})
        self.assertEqual(tagset(self.send("GET", "/bucket/c2?tagging")), [("new", "2")])
        self.send("PUT", "/bucket/c3", headers={
            "x-amz-copy-source": "/bucket/k", "x-amz-tagging-directive": "REPLACE"})
        self.assertEqual(tagset(self.send("GET", "/bucket/c3?tagging")), [])
        out = self.send("PUT", "/bucket/c4", headers={
            "x-amz-copy-source": "/bucket/k", "x-amz-tagging-directive": "BOTH"})
        self.assertIn(b"<Code>InvalidArgument</Code>", out)

    def test_multipart_upload_tags_apply_at_completion(self):
        out = self.send("POST", "/bucket/mp?uploads",
                        headers={"x-amz-tagging": "Hello=World&foo=bar"})
        self.assertEqual(status(out), 200, out)
        upload_id = re.search(rb"<UploadId>([^<]+)</UploadId>", out).group(1).decode()
        out = self.send("PUT", f"/bucket/mp?partNumber=1&uploadId={upload_id}", b"x")
        etag = header(out, b"ETag").decode()
        done = (f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}"
                "</ETag></Part></CompleteMultipartUpload>").encode()
        out = self.send("POST", f"/bucket/mp?uploadId={upload_id}", done)
        self.assertEqual(status(out), 200, out)
        self.assertEqual(tagset(self.send("GET", "/bucket/mp?tagging")),
                         [("Hello", "World"), ("foo", "bar")])
        out = self.send("POST", "/bucket/mp2?uploads", headers={"x-amz-tagging": "a=1&a=2"})
        self.assertIn(b"<Code>InvalidArgument</Code>", out)
        out = self.send("POST", "/bucket/mp2?uploads", headers={"x-amz-tagging": "aws:k=1"})
        self.assertIn(b"<Code>InvalidTag</Code>", out)
        out = self.send("POST", "/bucket/mp2?uploads", headers={
            "x-amz-tagging": "&".join(f"k{i}=v" for i in range(11))})
        self.assertIn(b"<Code>BadRequest</Code>", out)
        self.assertNotIn(b"<Upload>", self.send("GET", "/bucket?uploads"))

    def test_multipart_upload_keeps_parsed_tags(self):
        """The upload record holds the tags as values, so completion applies
        them without reading the header again; older uploads that kept only
        the header still get theirs."""
        out = self.send("POST", "/bucket/mp?uploads", headers={"x-amz-tagging": "b=2&a=1"})
        upload_id = re.search(rb"<UploadId>([^<]+)</UploadId>", out).group(1).decode()
        record = self.successResultOf(self.h.metadata.get_upload("bucket", "mp", upload_id))
        self.assertEqual(record["tags"], {"a": "1", "b": "2"})
        self.assertEqual(upload_tags(record), [("a", "1"), ("b", "2")])
        self.assertEqual(upload_tags({"request-headers": {"x-amz-tagging": "x=1"}}),
                         [("x", "1")])
        self.assertEqual(upload_tags({"request-headers": {"x-amz-tagging": "a=1=2"}}), None)
        self.assertEqual(upload_tags({}), [])

    def test_copy_object_replace_tags_are_checked(self):
        self.put_object(headers={"x-amz-tagging": "src=1"})
        for value, code in (("a=1&a=2", b"InvalidArgument"), ("aws:x=1", b"InvalidTag"),
                            ("&".join(f"k{i}=v" for i in range(11)), b"BadRequest")):
            out = self.send("PUT", "/bucket/c", headers={
                "x-amz-copy-source": "/bucket/k", "x-amz-tagging-directive": "REPLACE",
                "x-amz-tagging": value})
            self.assertEqual(status(out), 400, out)
            self.assertIn(b"<Code>" + code + b"</Code>", out)
            self.assertEqual(status(self.send("HEAD", "/bucket/c")), 404)

    def test_bucket_tagging(self):
        out = self.send("GET", "/bucket?tagging")
        self.assertEqual(status(out), 404)
        self.assertIn(b"<Code>NoSuchTagSet</Code>", out)
        out = self.send("PUT", "/bucket?tagging", tagging(("Hello", "World")))
        self.assertEqual(status(out), 204, out)
        self.assertEqual(tagset(self.send("GET", "/bucket?tagging")), [("Hello", "World")])
        out = self.send("PUT", "/bucket?tagging", tagging(*[(str(i), "") for i in range(51)]))
        self.assertIn(b"<Code>InvalidTag</Code>", out)
        self.assertEqual(status(self.send("PUT", "/bucket?tagging",
                                          tagging(*[(str(i), "") for i in range(50)]))), 204)
        self.assertEqual(status(self.send("DELETE", "/bucket?tagging")), 204)
        self.assertIn(b"NoSuchTagSet", self.send("GET", "/bucket?tagging"))
