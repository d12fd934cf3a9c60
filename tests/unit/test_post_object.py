# -*- test-case-name: tests.unit.test_post_object -*-
"""POST Object: the streaming form parser, the policy and its signatures,
and whole uploads through the HTTP layer with the memory backend."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re

import boto3
from botocore.config import Config
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.auth import post_policy
from cloudserver.accounts import Account, AccountStore
from cloudserver.s3.errors import S3Error
from cloudserver.s3.http.formdata import (
    Field, FileData, FileEnd, FileStart, FormDataParser, boundary_of)
from tests.unit.test_auth_helpers import BOTO_NOW, frozen_botocore_clock
from tests.unit.test_http import Harness, signed, status

BOUNDARY = "----formBoundary7MA4YWxkTrZu0gW"
ACCESS, SECRET = "accessKey1", "verySecretKey1"


def form(*fields: tuple, boundary: str = BOUNDARY, close: bool = True) -> bytes:
    """multipart/form-data: (name, value) or (name, value, filename) parts."""
    out = b"preamble to ignore\r\n"
    for f in fields:
        name, value = f[0], f[1]
        value = value.encode() if isinstance(value, str) else value
        disposition = f'form-data; name="{name}"'
        if len(f) > 2:
            disposition += f'; filename="{f[2]}"'
        out += (f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n").encode()
        out += value + b"\r\n"
    if close:
        out += f"--{boundary}--\r\nepilogue".encode()
    return out


def parse_all(body: bytes, step: int) -> list:
    parser = FormDataParser(BOUNDARY.encode())
    events: list = []
    for i in range(0, len(body), step):
        events += parser.feed(body[i:i + step])
    parser.finish()
    merged: list = []
    for e in events:  # join file pieces so that any split compares equal
        if isinstance(e, FileData) and merged and isinstance(merged[-1], FileData):
            merged[-1] = FileData(merged[-1].data + e.data)
        else:
            merged.append(e)
    return merged


class FormDataTests(SynchronousTestCase):
    def test_fields_then_streamed_file_at_any_split(self):
        payload = b"line1\r\nline2\r\n--not-the-boundary\r\n" + bytes(range(256)) * 4
        body = form(("key", "a/${filename}"), ("x-amz-meta-A", "é"),
                    ("file", payload, "dir\\f.txt"), ("after", "ignored"))
        expected = [Field("key", b"a/${filename}"), Field("x-amz-meta-A", "é".encode()),
                    FileStart("file", "dir\\f.txt", None), FileData(payload), FileEnd()]
        for step in (1, 2, 3, 7, 64, len(body)):
            self.assertEqual(parse_all(body, step), expected, step)

    def test_file_data_is_never_collected(self):
        parser = FormDataParser(BOUNDARY.encode())
        parser.feed(form(("file", b""), close=False)[:-(len(b"\r\n"))])
        events = parser.feed(b"x" * 100000)
        self.assertEqual(len(events), 1)
        self.assertLess(len(parser._buf), 100)
        self.assertFalse(parser.done)

    def test_empty_file_and_no_file(self):
        self.assertEqual(parse_all(form(("file", b"")), 5)[-2:],
                         [FileStart("file", None, None), FileEnd()])
        parser = FormDataParser(BOUNDARY.encode())
        parser.feed(form(("key", "k")))
        parser.finish()
        self.assertFalse(parser.file_seen)

    def test_malformed(self):
        for body in (form(("file", "x"), close=False),                    # truncated
                     f"--{BOUNDARY}\r\nContent-Type: text/plain\r\n\r\nx".encode(),
                     f"--{BOUNDARY}\r\nContent-Disposition: attachment\r\n\r\nx".encode(),
                     f"--{BOUNDARY}junk\r\n".encode(),
                     f"--{BOUNDARY}\r\n".encode() + b"X" * 9000):
            parser = FormDataParser(BOUNDARY.encode())
            with self.assertRaises(S3Error) as e:
                parser.feed(body)
                parser.finish()
            self.assertEqual(e.exception.code, "MalformedPOSTRequest", body[:80])

    def test_field_budget(self):
        parser = FormDataParser(BOUNDARY.encode(), max_fields_size=1000)
        with self.assertRaises(S3Error) as e:
            parser.feed(form(("a", "x" * 2000)))
        self.assertEqual(e.exception.code, "MaxPostPreDataLengthExceededError")

    def test_disposition_parameters(self):
        body = (f'--{BOUNDARY}\r\ncontent-disposition: form-data; name="file"; '
                f"filename*=UTF-8''caf%C3%A9.txt\r\nContent-Type: text/plain\r\n\r\nx\r\n"
                f"--{BOUNDARY}--").encode()
        self.assertEqual(parse_all(body, 4)[0], FileStart("file", "café.txt", "text/plain"))
        body = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="a\\"b"\r\n\r\nv\r\n'
                f"--{BOUNDARY}--").encode()
        self.assertEqual(parse_all(body, 100), [Field('a"b', b"v")])

    def test_boundary_of(self):
        self.assertEqual(boundary_of('multipart/form-data; boundary="a b"'), b"a b")
        self.assertEqual(boundary_of("Multipart/Form-Data; charset=x; boundary=abc"), b"abc")
        for bad, code in (("text/plain", "RequestIsNotMultiPartContent"),
                          (None, "RequestIsNotMultiPartContent"),
                          ("multipart/form-data", "MalformedPOSTRequest")):
            with self.assertRaises(S3Error) as e:
                boundary_of(bad)
            self.assertEqual(e.exception.code, code)


def encode_policy(doc) -> str:
    return base64.b64encode(json.dumps(doc).encode()).decode()


def v2_signature(policy: str, secret: str = SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), policy.encode(),
                                     hashlib.sha1).digest()).decode()


EXPIRES = "2024-02-29T13:30:15Z"  # an hour after BOTO_NOW


class PolicyTests(SynchronousTestCase):
    def invalid(self, doc) -> S3Error:
        with self.assertRaises(S3Error) as e:
            post_policy.parse_policy(encode_policy(doc) if not isinstance(doc, str) else doc)
        return e.exception

    def test_document_errors(self):
        for doc in ("not base64 json!", [1],
                    {"conditions": []},
                    {"EXPIRATION": EXPIRES, "conditions": []},
                    {"expiration": "2024-02-29 13:30:15+00:00", "conditions": []},
                    {"expiration": "2024-13-29T13:30:15Z", "conditions": []},
                    {"expiration": EXPIRES},
                    {"expiration": EXPIRES, "CONDITIONS": []},
                    {"expiration": EXPIRES, "conditions": [{}]},
                    {"expiration": EXPIRES, "conditions": [{"a": "1", "b": "2"}]},
                    {"expiration": EXPIRES, "conditions": [["content-length-range", 0]]},
                    {"expiration": EXPIRES, "conditions": [["content-length-range", -1, 0]]},
                    {"expiration": EXPIRES, "conditions": [["eq", "key", "x"]]},
                    {"expiration": EXPIRES, "conditions": [["matches", "$key", "x"]]},
                    {"expiration": EXPIRES, "conditions": ["key"]}):
            e = self.invalid(doc)
            self.assertEqual((e.code, e.status), ("InvalidPolicyDocument", 400), doc)

    def test_conditions(self):
        policy = post_policy.parse_policy(encode_policy({
            "expiration": "2024-02-29T13:30:15.500Z",
            "conditions": [{"bUcKeT": "b"}, ["StArTs-WiTh", "$KeY", "foo"],
                           ["eq", "$acl", "private"], ["content-length-range", 10, "20"],
                           ["content-length-range", 0, 15]]}))
        self.assertEqual(policy.expiration, BOTO_NOW + 3600.5)
        self.assertEqual(policy.length_range(), (10, 15))
        ok = {"bucket": "b", "key": "foo.txt", "acl": "private", "x-ignore-me": "1",
              "policy": "p", "signature": "s", "awsaccesskeyid": "a"}
        post_policy.check_policy(policy, ok, BOTO_NOW)
        for change, detail in (({"key": "bar"}, "Condition failed"),
                               ({"acl": "public-read"}, "Condition failed"),
                               ({"content-type": "text/plain"}, "Extra input fields"),
                               ({"bucket": "other"}, "Condition failed")):
            with self.assertRaises(S3Error) as e:
                post_policy.check_policy(policy, {**ok, **change}, BOTO_NOW)
            self.assertEqual(e.exception.code, "AccessDenied")
            self.assertIn(detail, e.exception.message)
        missing = {k: v for k, v in ok.items() if k != "acl"}
        self.assertRaises(S3Error, post_policy.check_policy, policy, missing, BOTO_NOW)
        with self.assertRaises(S3Error) as e:
            post_policy.check_policy(policy, ok, BOTO_NOW + 3601)
        self.assertIn("expired", e.exception.message)

    def test_v2_signature(self):
        policy = encode_policy({"expiration": EXPIRES, "conditions": []})
        fields = {"awsaccesskeyid": ACCESS, "policy": policy,
                  "signature": v2_signature(policy)}
        store = AccountStore([Account("Default", "d@example.com", "arn", "c" * 64, "3",
                                      ACCESS, SECRET)])
        account, version = post_policy.signed_by(fields, store)
        self.assertEqual((account.access_key, version), (ACCESS, 2))
        for change, code in (({"signature": v2_signature(policy, "wrong")},
                              "SignatureDoesNotMatch"),
                             ({"awsaccesskeyid": "nobody"}, "InvalidAccessKeyId"),
                             ({"signature": ""}, "InvalidArgument")):
            with self.assertRaises(S3Error) as e:
                post_policy.signed_by({**fields, **change}, store)
            self.assertEqual(e.exception.code, code)
        with self.assertRaises(S3Error) as e:
            post_policy.signed_by({"policy": policy}, store)
        self.assertEqual(e.exception.code, "InvalidArgument")
        self.assertEqual(post_policy.signed_by({"key": "k"}, store), (None, None))


class PostObjectTests(SynchronousTestCase):
    """Whole uploads, as a browser (or s3-tests' requests.post) sends them."""

    def setUp(self):
        self.h = Harness()
        self.assertEqual(status(self.h.send(signed("PUT", "/bucket"))), 200)

    def post(self, body: bytes, path: str = "/bucket") -> bytes:
        head = (f"POST {path} HTTP/1.1\r\nHost: localhost:8000\r\n"
                f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        return self.h.send(head + body)

    def get(self, path: str) -> bytes:
        return self.h.send(signed("GET", path))

    def v2_form(self, conditions, *fields, doc=None) -> bytes:
        policy = encode_policy(doc if doc is not None else
                               {"expiration": EXPIRES, "conditions": conditions})
        return form(("AWSAccessKeyId", ACCESS), ("policy", policy),
                    ("signature", v2_signature(policy)), *fields)

    BASIC = [{"bucket": "bucket"}, ["starts-with", "$key", "foo"], {"acl": "private"},
             ["starts-with", "$Content-Type", "text/plain"],
             ["content-length-range", 0, 1024]]

    def test_signed_v2_upload(self):
        out = self.post(self.v2_form(self.BASIC, ("key", "foo.txt"), ("acl", "private"),
                                     ("Content-Type", "text/plain"), ("file", "bar")))
        self.assertEqual(status(out), 204, out)
        self.assertIn(b'ETag: "37b51d194a7513e45b56f6524f2d51f2"', out)
        self.assertIn(b"Location: http://localhost:8000/bucket/foo.txt", out)
        got = self.get("/bucket/foo.txt")
        self.assertTrue(got.endswith(b"\r\n\r\nbar"), got)
        self.assertIn(b"Content-Type: text/plain", got)

    def test_signed_v4_upload_from_botocore(self):
        client = boto3.client("s3", endpoint_url="http://localhost:8000",
                              aws_access_key_id=ACCESS, aws_secret_access_key=SECRET,
                              region_name="us-east-1",
                              config=Config(signature_version="s3v4"))
        with frozen_botocore_clock():
            post = client.generate_presigned_post(
                "bucket", "up/${filename}", Fields={"x-amz-meta-who": "boto"},
                Conditions=[["starts-with", "$key", "up/"], {"x-amz-meta-who": "boto"}],
                ExpiresIn=3600)
        self.assertEqual(post["fields"]["x-amz-algorithm"], "AWS4-HMAC-SHA256")
        body = form(*post["fields"].items(), ("file", b"\x00v4 bytes", "a.bin"))
        out = self.post(body)
        self.assertEqual(status(out), 204, out)
        got = self.get("/bucket/up/a.bin")
        self.assertTrue(got.endswith(b"\x00v4 bytes"), got)
        self.assertIn(b"x-amz-meta-who: boto", got)
        tampered = body.replace(b"up/${filename}", b"up/other")
        self.assertEqual(status(self.post(tampered)), 204)  # still obeys the policy
        bad = body.replace(post["fields"]["x-amz-signature"].encode(), b"0" * 64)
        out = self.post(bad)
        self.assertEqual(status(out), 403, out)
        self.assertIn(b"SignatureDoesNotMatch", out)

    def test_anonymous_needs_public_write_bucket(self):
        anonymous = form(("key", "foo.txt"), ("acl", "public-read"),
                         ("Content-Type", "text/plain"), ("file", "bar"))
        out = self.post(anonymous)
        self.assertEqual(status(out), 403, out)
        self.assertEqual(len(self.h.data), 0)
        self.h.send(signed("PUT", "/bucket?acl", headers={"x-amz-acl": "public-read-write"}))
        out = self.post(anonymous)
        self.assertEqual(status(out), 204, out)
        out = self.h.send(b"GET /bucket/foo.txt HTTP/1.1\r\nHost: localhost:8000\r\n\r\n")
        self.assertTrue(out.endswith(b"bar"), out)  # public-read from the acl field

    def test_success_statuses_and_redirect(self):
        self.h.send(signed("PUT", "/bucket?acl", headers={"x-amz-acl": "public-read-write"}))
        out = self.post(form(("key", "foo.txt"), ("success_action_status", "201"),
                             ("file", "bar")))
        self.assertEqual(status(out), 201, out)
        self.assertIn(b"<PostResponse><Location>http://localhost:8000/bucket/foo.txt"
                      b"</Location><Bucket>bucket</Bucket><Key>foo.txt</Key>"
                      b'<ETag>"37b51d194a7513e45b56f6524f2d51f2"</ETag>', out)
        self.assertEqual(status(self.post(form(("key", "k"), ("success_action_status", "200"),
                                               ("file", "")))), 200)
        self.assertEqual(status(self.post(form(("key", "k"), ("success_action_status", "404"),
                                               ("file", "")))), 204)
        out = self.post(form(("key", "a b"), ("success_action_redirect", "http://x/done?q=1"),
                             ("file", "bar")))
        self.assertEqual(status(out), 303, out)
        self.assertIn(b"Location: http://x/done?q=1&bucket=bucket&key=a%20b&etag="
                      b"%2237b51d194a7513e45b56f6524f2d51f2%22\r\n", out)

    def test_form_errors(self):
        cases = [
            (form(("AWSAccessKeyId", ACCESS), ("file", "x")), 400, b"InvalidArgument"),
            (self.v2_form(self.BASIC, ("acl", "private"), ("file", "x")), 400,
             b"InvalidArgument"),                                        # no key
            (self.v2_form(self.BASIC, ("key", "foo"), ("acl", "private"),
                          ("Content-Type", "text/plain")), 400,
             b"IncorrectNumberOfFilesInPostRequest"),
            (self.v2_form(self.BASIC, ("key", "bar"), ("acl", "private"),
                          ("Content-Type", "text/plain"), ("file", "x")), 403,
             b"AccessDenied"),                                           # condition
            (self.v2_form(self.BASIC, ("key", "foo"), ("acl", "private"),
                          ("Content-Type", "text/plain"), ("x-amz-meta-a", "1"),
                          ("file", "x")), 403, b"Extra input fields"),
            (self.v2_form(self.BASIC[:4] + [["content-length-range", 0, 2]], ("key", "foo"),
                          ("acl", "private"), ("Content-Type", "text/plain"),
                          ("file", "xyz")), 400, b"EntityTooLarge"),
            (self.v2_form(self.BASIC[:4] + [["content-length-range", 5, 9]], ("key", "foo"),
                          ("acl", "private"), ("Content-Type", "text/plain"),
                          ("file", "xyz")), 400, b"EntityTooSmall"),
            (self.v2_form(None, ("key", "foo"), ("file", "x"),
                          doc={"expiration": "2024-02-29T12:00:00Z", "conditions": []}),
             403, b"Policy expired"),
            (self.v2_form(self.BASIC, ("key", "foo"), ("acl", "private"),
                          ("Content-Type", "text/plain"), ("x-amz-checksum-sha256", "bad"),
                          ("file", "x")), 400, b"InvalidRequest"),
            (self.v2_form(self.BASIC, ("key", "foo"), ("acl", "private"),
                          ("Content-Type", "text/plain"),
                          ("x-amz-checksum-sha256", base64.b64encode(
                              hashlib.sha256(b"y").digest()).decode()),
                          ("file", "x")), 400, b"BadDigest"),
        ]
        for body, code, text in cases:
            out = self.post(body)
            self.assertEqual(status(out), code, out)
            self.assertIn(text, out)
        self.assertEqual(len(self.h.data), 0)  # no data left behind
        out = self.post(form(("key", "k"), ("file", "x")), "/nosuchbucket")
        self.assertEqual(status(out), 404, out)
        head = (b"POST /bucket HTTP/1.1\r\nHost: localhost:8000\r\n"
                b"Content-Type: text/plain\r\nContent-Length: 1\r\n\r\nx")
        self.assertEqual(status(self.h.send(head)), 400)

    def test_metadata_tags_checksum_and_filename(self):
        sha = base64.b64encode(hashlib.sha256(b"bar").digest()).decode()
        conditions = [{"bucket": "bucket"}, ["starts-with", "$key", "foo"],
                      ["starts-with", "$x-amz-meta-foo", "bar"],
                      ["starts-with", "$tagging", ""], ["eq", "$Cache-Control", "no-cache"]]
        tagging = ("<Tagging><TagSet><Tag><Key>0</Key><Value>0</Value></Tag>"
                   "</TagSet></Tagging>")
        out = self.post(self.v2_form(conditions, ("key", "foo/${filename}"),
                                     ("x-amz-meta-foo", "barclamp"), ("tagging", tagging),
                                     ("Cache-Control", "no-cache"),
                                     ("x-amz-checksum-sha256", sha),
                                     ("x-ignore-this", "1"),
                                     ("file", "bar", "C:\\docs\\foo.txt")))
        self.assertEqual(status(out), 204, out)
        got = self.get("/bucket/foo/foo.txt")
        self.assertIn(b"x-amz-meta-foo: barclamp", got)
        self.assertIn(b"Cache-Control: no-cache", got)
        self.assertIn(b"x-amz-tagging-count: 1", got.lower())
        self.assertIsNotNone(re.search(rb"Content-Type: binary/octet-stream", got))
