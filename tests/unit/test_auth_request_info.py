# -*- test-case-name: tests.unit.test_auth_request_info -*-
"""RequestInfo: raw request parts and their decoding."""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.auth import sigv4
from cloudserver.s3.auth.request_info import RequestInfo, percent_decode, split_query


class FromRaw(SynchronousTestCase):
    def test_parts(self):
        info = RequestInfo.from_raw(b"put", b"/bucket/a%2Fb?acl&x=1", [
            (b"Host", b"h:8000"), (b"X-Amz-Meta-A", b"1"), (b"x-amz-meta-a", b" 2"),
            (b"X-Amz-Meta-U", "é".encode())])
        self.assertEqual((info.method, info.raw_path, info.raw_query, info.host),
                         ("PUT", "/bucket/a%2Fb", "acl&x=1", "h:8000"))
        self.assertEqual(info.headers["x-amz-meta-a"], ("1", " 2"))
        self.assertEqual(info.header("X-AMZ-META-A"), "1, 2")
        self.assertEqual(info.header("x-amz-meta-u").encode("latin-1"), "é".encode())
        self.assertIsNone(info.header("missing"))

    def test_absolute_form_and_defaults(self):
        info = RequestInfo.from_raw("GET", "http://h/b/k?q=1", [])
        self.assertEqual((info.raw_path, info.raw_query), ("/b/k", "q=1"))
        info = RequestInfo.from_raw("GET", "http://h?q", [], host="x")
        self.assertEqual((info.raw_path, info.raw_query, info.host), ("/", "q", "x"))
        self.assertEqual(RequestInfo.from_raw("GET", "/", []).raw_query, "")


class QueryParams(SynchronousTestCase):
    def test_decoding(self):
        info = RequestInfo("GET", "/", "uploads&a=&b=x%20y+z&c=%C3%BC%2B&d==e&&%zz=1", {}, "h")
        self.assertEqual(info.query_params(), [
            ("uploads", ""), ("a", ""), ("b", "x y z"), ("c", "ü+"), ("d", "=e"), ("%zz", "1")])
        self.assertEqual(info.query_dict()["b"], "x y z")

    def test_parsed_query_given(self):
        """A query the caller decoded already (routing) is used as is."""
        info = RequestInfo("GET", "/", "a=1", {}, "h", parsed_query={"a": "decoded"})
        self.assertEqual(info.query_dict(), {"a": "decoded"})
        self.assertEqual(info, RequestInfo("GET", "/", "a=1", {}, "h"))


class Canonicalisation(SynchronousTestCase):
    def test_uri_encode(self):
        self.assertEqual(sigv4.uri_encode("a b/ü~*'+".encode()), "a%20b%2F%C3%BC~%2A%27%2B")
        self.assertEqual(sigv4.uri_encode(b"a b/c", keep_slash=True), "a%20b/c")

    def test_canonical_uris(self):
        self.assertEqual(sigv4.canonical_uris("/b/a%2Fb"), ["/b/a%2Fb"])
        self.assertEqual(sigv4.canonical_uris("/b/test$file"), ["/b/test$file", "/b/test%24file"])
        self.assertEqual(sigv4.canonical_uris(""), ["/"])
        # The fast path for paths with nothing to decode or encode.
        self.assertEqual(sigv4.canonical_uris("/b/obj/0-1_2.3~"), ["/b/obj/0-1_2.3~"])
        self.assertEqual(sigv4.canonical_uris("/b/%41"), ["/b/%41", "/b/A"])

    def test_canonical_queries(self):
        self.assertEqual(sigv4.canonical_queries("b=2&a=1&uploads&c=%7e%20"),
                         ["a=1&b=2&c=~%20&uploads="])
        self.assertEqual(sigv4.canonical_queries("p=a+b"), ["p=a%2Bb", "p=a%20b"])
        self.assertEqual(sigv4.canonical_queries("X-Amz-Signature=s&a=1",
                                                 exclude=("X-Amz-Signature",)), ["a=1"])
        # Escapes of unreserved characters and lowercase hex are re-encoded.
        self.assertEqual(sigv4.canonical_queries("%41=%2f&b=%2F"), ["A=%2F&b=%2F"])
        self.assertEqual(sigv4.canonical_queries("%58-Amz-Signature=s&a=1",
                                                 exclude=("X-Amz-Signature",)), ["a=1"])
        # Same name sorted by value.
        self.assertEqual(sigv4.canonical_queries("a=2&a=1"), ["a=1&a=2"])
        # Sorted by name first: "a" before "a-b" although "a=" > "a-".
        self.assertEqual(sigv4.canonical_queries("a-b=1&a=z"), ["a=z&a-b=1"])

    def test_canonical_queries_as_decode_then_encode(self):
        """Queries already canonical skip the decoding: same result as the
        definition (decode each name and value, UriEncode, sort), checked
        over random queries made of escapes, reserved and unreserved bytes."""
        import random

        def reference(raw, exclude=()):
            pairs = []
            for name, _, value in split_query(raw):
                dname = percent_decode(name, plus_is_space=False)
                if dname.decode("utf-8", "replace") in exclude:
                    continue
                pairs.append((sigv4.uri_encode(dname),
                              sigv4.uri_encode(percent_decode(value, plus_is_space=False))))
            return "&".join(f"{n}={v}" for n, v in sorted(pairs))

        atoms = ["a", "B", "X-Amz-Signature", "%2F", "%2f", "%41", "%2D", "%7E", "%C3%A9",
                 "%", "%G1", "~", "=", "", "\u00e9", "acl", "a-b", "%20", "%3D", "%26"]
        rng = random.Random(8)
        for _ in range(3000):
            segments = []
            for _ in range(rng.randint(0, 4)):
                segment = "".join(rng.choice(atoms) for _ in range(rng.randint(0, 3)))
                if rng.random() < 0.8:
                    segment += "=" + "".join(rng.choice(atoms) for _ in range(rng.randint(0, 3)))
                segments.append(segment)
            raw = "&".join(segments)
            for exclude in ((), ("X-Amz-Signature",)):
                self.assertEqual(sigv4.canonical_queries(raw, exclude=exclude)[0],
                                 reference(raw, exclude), (raw, exclude))

    def test_canonical_headers(self):
        info = RequestInfo("GET", "/", "", {"x-a": ("  a   b  ", "c"), "host": ()}, "h")
        self.assertEqual(sigv4.canonical_headers(info, ["host", "x-a", "x-missing"]),
                         b"host:h\nx-a:a b,c\nx-missing:\n")
