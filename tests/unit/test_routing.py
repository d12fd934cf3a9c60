"""Table tests of the routing table: request shape -> Operation."""
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.errors import S3Error
from cloudserver.s3.routing import route, split_host, valid_bucket_name

ENDPOINTS = {"localhost": "us-east-1", "s3.example.com": "us-east-1"}


def r(method, path, query="", headers=None, host="localhost:8000"):
    return route(method, host, path, query, headers or {}, ENDPOINTS)


class RouteTests(SynchronousTestCase):
    CASES = [
        ("GET", "/", "", {}, "ListBuckets", None, None),
        ("GET", "/", "usage", {}, "GetUsage", None, None),
        ("GET", "/b", "", {}, "ListObjects", "b", None),
        ("GET", "/b/", "", {}, "ListObjects", "b", None),
        ("GET", "/b", "list-type=2&prefix=a", {}, "ListObjectsV2", "b", None),
        ("GET", "/b", "location", {}, "GetBucketLocation", "b", None),
        ("GET", "/b", "versions", {}, "ListObjectVersions", "b", None),
        ("GET", "/b", "uploads", {}, "ListMultipartUploads", "b", None),
        ("GET", "/b", "acl", {}, "GetBucketAcl", "b", None),
        ("HEAD", "/b", "", {}, "HeadBucket", "b", None),
        ("PUT", "/b", "", {}, "CreateBucket", "b", None),
        ("PUT", "/b", "versioning", {}, "PutBucketVersioning", "b", None),
        ("DELETE", "/b", "", {}, "DeleteBucket", "b", None),
        ("POST", "/b", "delete", {}, "DeleteObjects", "b", None),
        ("GET", "/b/k", "", {}, "GetObject", "b", "k"),
        ("GET", "/b/k", "uploadId=x", {}, "ListParts", "b", "k"),
        ("HEAD", "/b/k", "", {}, "HeadObject", "b", "k"),
        ("PUT", "/b/k", "", {}, "PutObject", "b", "k"),
        ("PUT", "/b/k", "", {"x-amz-copy-source": ["/a/b"]}, "CopyObject", "b", "k"),
        ("PUT", "/b/k", "partNumber=1&uploadId=x", {}, "UploadPart", "b", "k"),
        ("PUT", "/b/k", "partNumber=1&uploadId=x", {"x-amz-copy-source": ["/a/b"]},
         "UploadPartCopy", "b", "k"),
        ("POST", "/b/k", "uploads", {}, "CreateMultipartUpload", "b", "k"),
        ("POST", "/b/k", "uploadId=x", {}, "CompleteMultipartUpload", "b", "k"),
        ("DELETE", "/b/k", "uploadId=x", {}, "AbortMultipartUpload", "b", "k"),
        ("DELETE", "/b/k", "", {}, "DeleteObject", "b", "k"),
        ("GET", "/b/a%2Fb/c", "", {}, "GetObject", "b", "a/b/c"),
        ("GET", "/b/sp%20ace+plus", "", {}, "GetObject", "b", "sp ace+plus"),
        ("GET", "/b/%E2%9C%93", "", {}, "GetObject", "b", "\u2713"),
        ("GET", "/b//double", "", {}, "GetObject", "b", "/double"),
    ]

    def test_table(self):
        for method, path, query, headers, name, bucket, key in self.CASES:
            op = r(method, path, query, headers)
            self.assertEqual((op.name, op.bucket, op.key), (name, bucket, key),
                             (method, path, query))

    def test_virtual_host(self):
        op = route("GET", "mybucket.localhost:8000", "/a%2Fb", "", {}, ENDPOINTS)
        self.assertEqual((op.name, op.bucket, op.key, op.virtual_host),
                         ("GetObject", "mybucket", "a/b", True))
        op = route("GET", "my.dotted.bucket.s3.example.com", "/", "", {}, ENDPOINTS)
        self.assertEqual((op.name, op.bucket), ("ListObjects", "my.dotted.bucket"))

    def test_ip_host_is_path_style(self):
        self.assertEqual(split_host("127.0.0.1:8000", ENDPOINTS), (None, "127.0.0.1"))

    def test_absolute_form(self):
        op = r("GET", "http://localhost:8000/b/k")
        self.assertEqual((op.bucket, op.key), ("b", "k"))

    def test_query_values(self):
        op = r("GET", "/b", "prefix=a%2Fb&delimiter=%2F&max-keys=")
        self.assertEqual(op.query, {"prefix": "a/b", "delimiter": "/", "max-keys": ""})

    def test_key_too_long(self):
        r("GET", "/b/" + "a" * 1024)
        e = self.assertRaises(S3Error, r, "GET", "/b/" + "a" * 1025)
        self.assertEqual(e.code, "KeyTooLongError")
        e = self.assertRaises(S3Error, r, "GET", "/b/" + "%C3%A9" * 513)
        self.assertEqual(e.code, "KeyTooLongError")

    def test_bad_utf8(self):
        e = self.assertRaises(S3Error, r, "GET", "/b/%FF")
        self.assertEqual(e.code, "InvalidURI")

    def test_unknown_method(self):
        e = self.assertRaises(S3Error, r, "PATCH", "/b/k")
        self.assertEqual(e.code, "NotImplemented")


class BucketNameTests(SynchronousTestCase):
    def test_names(self):
        for good in ("abc", "a.b-c", "a" * 63, "1bucket"):
            self.assertTrue(valid_bucket_name(good), good)
        for bad in ("ab", "a" * 64, "ABC", "a_b", "-ab", "ab-", "a..b", "192.168.5.4",
                    "a.-b", "xn--abc", ".ab"):
            self.assertFalse(valid_bucket_name(bad), bad)


class IndexTests(SynchronousTestCase):
    """The compiled index answers what a walk over ROUTES, in order, would."""

    @staticmethod
    def walk(method, level, query, headers):
        from cloudserver.s3.routing import ROUTES
        for r_method, r_level, when, name, _ in ROUTES:
            if r_method == method and r_level == level and when.holds(query, headers):
                return name
        return None

    def test_every_combination_of_sub_resources(self):
        import itertools

        from cloudserver.s3.routing import ROUTES
        names = sorted({n for _, _, when, _, _ in ROUTES for n in when.query} | {"foo"})
        paths = {"bucket": "/b", "object": "/b/k"}
        for method, level in sorted({(m, lv) for m, lv, _, _, _ in ROUTES if lv in paths}):
            for size in (0, 1, 2):
                for combo in itertools.combinations(names, size):
                    for extra in ("", "list-type=2"):
                        query = "&".join(combo + ((extra,) if extra else ()))
                        for headers in ({}, {"x-amz-copy-source": ["/a/b"]}):
                            parsed = dict(p.partition("=")[::2] for p in query.split("&") if p)
                            expected = self.walk(method, level, parsed, headers)
                            try:
                                got = r(method, paths[level], query, headers).name
                            except S3Error as e:
                                got = None
                                self.assertEqual(e.code, "MethodNotAllowed")
                            self.assertEqual(got, expected, (method, level, query, headers))

    def test_query_split_is_parse_qsl(self):
        from urllib.parse import parse_qsl

        from cloudserver.s3.routing import parse_query
        for raw in ("a=1&a=2", "a", "=x", "a==b", "%E2%9C%93=%E2%9C%93", "+=+", "&&&",
                    "a=%", "%zz=1", "\xe9%41=\xe9", "X-Amz-Date=20250101T000000Z&b=c+d"):
            expected: dict = {}
            for k, v in parse_qsl(raw, keep_blank_values=True, errors="strict"):
                expected.setdefault(k, v)
            self.assertEqual(parse_query(raw), expected, raw)
        self.assertRaises(UnicodeDecodeError, parse_query, "a=%FF")

    def test_query_split_is_parse_qsl_random(self):
        import random
        from urllib.parse import parse_qsl

        from cloudserver.s3.routing import parse_query
        atoms = ["a", "%2F", "%2f", "%C3%A9", "%C3", "%FF", "%", "%4", "+", "=", "&", "\u00e9",
                 "%E2%9C%93", "X-Amz-Date", "%zz"]
        rng = random.Random(4)
        for _ in range(3000):
            raw = "".join(rng.choice(atoms) for _ in range(rng.randint(0, 10)))
            try:
                expected: dict | type = {}
                for k, v in parse_qsl(raw, keep_blank_values=True, errors="strict"):
                    expected.setdefault(k, v)
            except UnicodeDecodeError:
                expected = UnicodeDecodeError
            try:
                got: dict | type = parse_query(raw)
            except UnicodeDecodeError:
                got = UnicodeDecodeError
            self.assertEqual(got, expected, raw)
