# -*- test-case-name: tests.unit.test_cors -*-
"""CORS: the configuration model, the bucket operations, the preflight, and
the Access-Control-* headers resource.py adds to requests with an Origin."""
from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.model import cors
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.cors import actual_request_headers
from tests.unit import test_acl_ops, test_http
from tests.unit.test_acl import LISA


def rule_xml(methods=("GET",), origins=("*",), headers=(), expose=(), max_age=None,
             rule_id=None) -> str:
    parts = [f"<ID>{rule_id}</ID>"] if rule_id is not None else []
    parts += [f"<AllowedMethod>{m}</AllowedMethod>" for m in methods]
    parts += [f"<AllowedOrigin>{o}</AllowedOrigin>" for o in origins]
    parts += [f"<AllowedHeader>{h}</AllowedHeader>" for h in headers]
    parts += [f"<ExposeHeader>{h}</ExposeHeader>" for h in expose]
    if max_age is not None:
        parts.append(f"<MaxAgeSeconds>{max_age}</MaxAgeSeconds>")
    return "<CORSRule>" + "".join(parts) + "</CORSRule>"


def config(*rules: str) -> bytes:
    return ('<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            + "".join(rules) + "</CORSConfiguration>").encode()


class ConfigurationTests(SynchronousTestCase):
    def code(self, body: bytes) -> str:
        with self.assertRaises(S3Error) as e:
            cors.parse_cors_configuration(body)
        return e.exception.code

    def test_parse_and_serialize_round_trip(self):
        body = config(rule_xml(("GET", "PUT"), ("*.get", "http://a.example"),
                               ("x-amz-*",), ("ETag",), 3000, "r1"),
                      rule_xml(("DELETE",), ("*",)))
        rules = cors.parse_cors_configuration(body)
        self.assertEqual(rules[0], cors.CorsRule(("GET", "PUT"), ("*.get", "http://a.example"),
                                                 ("x-amz-*",), ("ETag",), 3000, "r1"))
        self.assertEqual(cors.parse_cors_configuration(cors.cors_xml(rules)), rules)
        record = cors.to_record(rules)
        self.assertEqual(cors.rules_of({"cors": record}), rules)
        self.assertEqual(cors.rules_of({}), ())

    def test_shape_errors_are_malformed_xml(self):
        self.assertEqual(self.code(b"<CORSConfiguration/>"), "MalformedXML")
        self.assertEqual(self.code(b"not xml"), "MalformedXML")
        self.assertEqual(self.code(config("<CORSRule><AllowedMethod>GET</AllowedMethod>"
                                          "</CORSRule>")), "MalformedXML")
        self.assertEqual(self.code(config(rule_xml(origins=()))), "MalformedXML")
        self.assertEqual(self.code(config(rule_xml(max_age="soon"))), "MalformedXML")
        self.assertEqual(len(cors.parse_cors_configuration(config(*[rule_xml()] * 100))), 100)

    def test_more_than_100_rules(self):
        """AWS's (and upstream's) answer is InvalidRequest, not MalformedXML."""
        err = self.assertRaises(S3Error, cors.parse_cors_configuration,
                                config(*[rule_xml()] * 101))
        self.assertEqual(err.code, "InvalidRequest")
        self.assertEqual(err.message, "The number of CORS rules should not exceed allowed "
                                      "limit of 100 rules.")

    def test_expose_header_must_be_a_header_name(self):
        ok = cors.parse_cors_configuration(config(rule_xml(
            expose=("ETag", "x-amz-meta-a_b", "X-Custom.1"))))
        self.assertEqual(ok[0].expose_headers, ("ETag", "x-amz-meta-a_b", "X-Custom.1"))
        err = self.assertRaises(S3Error, cors.parse_cors_configuration,
                                config(rule_xml(expose=("x-amz-meta-*",))))
        self.assertEqual((err.code, err.message), (
            "InvalidRequest", 'ExposeHeader "x-amz-meta-*" contains wildcard. We currently '
                              "do not support wildcard for ExposeHeader."))
        for bad in ("two words", "a,b", "x:y", "caf\u00e9", "(x)"):
            err = self.assertRaises(S3Error, cors.parse_cors_configuration,
                                    config(rule_xml(expose=("ETag", bad))))
            self.assertEqual((err.code, err.message), (
                "InvalidRequest", f'ExposeHeader "{bad}" contains invalid character.'))

    def test_rule_errors_are_invalid_request(self):
        self.assertEqual(self.code(config(rule_xml(("PATCH",)))), "InvalidRequest")
        self.assertEqual(self.code(config(rule_xml(("get",)))), "InvalidRequest")
        self.assertEqual(self.code(config(rule_xml(origins=("*.a.*",)))), "InvalidRequest")
        self.assertEqual(self.code(config(rule_xml(headers=("*-*",)))), "InvalidRequest")

    def test_wildcard_match(self):
        m = cors.wildcard_match
        self.assertTrue(m("*", "anything"))
        self.assertTrue(m("*suffix", "foo.suffix"))
        self.assertFalse(m("*suffix", "foo.suffix.get"))
        self.assertTrue(m("start*end", "startend"))
        self.assertTrue(m("start*end", "start12end"))
        self.assertFalse(m("start*end", "0start12end"))
        self.assertFalse(m("ab*ba", "aba"))  # head and tail may not overlap
        self.assertTrue(m("exact", "exact"))
        self.assertFalse(m("Exact", "exact"))
        self.assertTrue(m("X-Amz-*", "x-amz-date", ignore_case=True))

    def test_find_rule(self):
        rules = cors.parse_cors_configuration(config(
            rule_xml(("GET",), ("*suffix",)),
            rule_xml(("PUT",), ("*.put",), headers=("x-amz-meta-*", "content-type"))))
        self.assertIs(cors.find_rule(rules, "foo.suffix", "GET"), rules[0])
        self.assertIsNone(cors.find_rule(rules, "foo.suffix", "PUT"))
        self.assertIsNone(cors.find_rule(rules, "foo.bar", "GET"))
        self.assertIs(cors.find_rule(rules, "a.put", "PUT",
                                     ["x-amz-meta-a", "content-type"]), rules[1])
        self.assertIsNone(cors.find_rule(rules, "a.put", "PUT", ["authorization"]))
        # a rule without AllowedHeader allows no request header
        self.assertIsNone(cors.find_rule(rules, "foo.suffix", "GET", ["x-amz-meta-a"]))
        self.assertEqual(cors.split_header_list(" X-Amz-Date , content-type,"),
                         ["x-amz-date", "content-type"])

    def test_response_headers(self):
        rule = cors.CorsRule(("GET", "PUT"), ("http://a",), expose_headers=("ETag",),
                             max_age=60)
        headers = dict(cors.response_headers(rule, "http://a", ["x-a"]))
        self.assertEqual(headers["Access-Control-Allow-Origin"], "http://a")
        self.assertEqual(headers["Access-Control-Allow-Credentials"], "true")
        self.assertEqual(headers["Access-Control-Allow-Methods"], "GET, PUT")
        self.assertEqual(headers["Access-Control-Allow-Headers"], "x-a")
        self.assertEqual(headers["Access-Control-Expose-Headers"], "ETag")
        self.assertEqual(headers["Access-Control-Max-Age"], "60")
        self.assertIn("Origin", headers["Vary"])
        star = dict(cors.response_headers(cors.CorsRule(("GET",), ("*",)), "http://b"))
        self.assertEqual(star["Access-Control-Allow-Origin"], "*")
        self.assertNotIn("Access-Control-Allow-Credentials", star)


class BucketCorsTests(test_acl_ops.Harness):
    """The operations over the memory metadata service (bucket "b" is Bart's)."""

    def put(self, body: bytes, who=test_acl_ops.BART):
        return self.ctx("PUT", "/b", who, query={"cors": ""}, body=body)

    def test_put_get_delete(self):
        e = self.call_fails(self.ctx("GET", "/b", query={"cors": ""}))
        self.assertEqual((e.code, e.status), ("NoSuchCORSConfiguration", 404))
        self.assertEqual(self.call(self.put(config(rule_xml(("GET", "PUT"),
                                                            ("*.get",))))).status, 200)
        resp = self.call(self.ctx("GET", "/b", query={"cors": ""}))
        self.assertIn(b"<AllowedMethod>PUT</AllowedMethod>", resp.body)
        self.assertIn(b"<AllowedOrigin>*.get</AllowedOrigin>", resp.body)
        self.assertEqual(self.call(self.ctx("DELETE", "/b", query={"cors": ""})).status, 204)
        e = self.call_fails(self.ctx("GET", "/b", query={"cors": ""}))
        self.assertEqual(e.code, "NoSuchCORSConfiguration")

    def test_put_keeps_other_attributes_and_checks_md5(self):
        self.set_bucket_acl("public-read")
        self.call(self.put(config(rule_xml())))
        self.assertTrue(self.bucket_acl().is_public())
        ctx = self.put(config(rule_xml()))
        ctx.headers["content-md5"] = ["AAAAAAAAAAAAAAAAAAAAAA=="]
        self.assertEqual(self.call_fails(ctx).code, "BadDigest")

    def test_owner_only(self):
        self.set_bucket_acl("public-read-write")
        for ctx in (self.put(config(rule_xml()), LISA),
                    self.ctx("GET", "/b", LISA, query={"cors": ""}),
                    self.ctx("DELETE", "/b", None, query={"cors": ""})):
            self.assertEqual(self.call_fails(ctx).code, "AccessDenied")

    def test_invalid_document_changes_nothing(self):
        self.call(self.put(config(rule_xml())))
        self.assertEqual(self.call_fails(self.put(config(rule_xml(("TRACE",))))).code,
                         "InvalidRequest")
        resp = self.call(self.ctx("GET", "/b", query={"cors": ""}))
        self.assertIn(b"<AllowedMethod>GET</AllowedMethod>", resp.body)

    def preflight(self, path="/b/k", **headers):
        hdrs = {k.replace("_", "-").lower(): v for k, v in headers.items()}
        return self.ctx("OPTIONS", path, None, headers=hdrs)

    def test_preflight(self):
        e = self.call_fails(self.preflight())
        self.assertEqual((e.code, e.status), ("BadRequest", 400))
        self.assertIn("Origin request header needed", e.message)
        e = self.call_fails(self.preflight(origin="http://a"))
        self.assertEqual((e.code, e.status), ("BadRequest", 400))
        e = self.call_fails(self.preflight(origin="http://a",
                                           access_control_request_method="GET"))
        self.assertEqual((e.code, e.status), ("AccessForbidden", 403))
        self.call(self.put(config(rule_xml(("GET",), ("http://*.example",),
                                           headers=("x-amz-*",), max_age=10))))
        resp = self.call(self.preflight(origin="http://a.example",
                                        access_control_request_method="GET",
                                        access_control_request_headers="X-Amz-Date"))
        headers = dict(resp.headers)
        self.assertEqual(resp.status, 200)
        self.assertEqual(headers["Access-Control-Allow-Origin"], "http://a.example")
        self.assertEqual(headers["Access-Control-Allow-Methods"], "GET")
        self.assertEqual(headers["Access-Control-Allow-Headers"], "x-amz-date")
        self.assertEqual(headers["Access-Control-Max-Age"], "10")
        for bad in ({"origin": "http://a.other", "access_control_request_method": "GET"},
                    {"origin": "http://a.example", "access_control_request_method": "PUT"},
                    {"origin": "http://a.example", "access_control_request_method": "GET",
                     "access_control_request_headers": "authorization"}):
            e = self.call_fails(self.preflight("/b", **bad))
            self.assertEqual((e.code, e.status), ("AccessForbidden", 403))
        e = self.call_fails(self.preflight("/nope/k", origin="http://a.example",
                                           access_control_request_method="GET"))
        self.assertEqual(e.code, "NoSuchBucket")

    def actual(self, headers: dict, method="GET", bucket="b"):
        return self.ok(actual_request_headers(self.backend.metadata, bucket,
                                              {k: [v] for k, v in headers.items()}, method))

    def test_actual_request_headers(self):
        self.assertEqual(self.actual({"origin": "foo.suffix"}), [])  # no configuration
        self.call(self.put(config(rule_xml(("GET",), ("*suffix",), expose=("ETag",)),
                                  rule_xml(("PUT",), ("*.put",)))))
        got = dict(self.actual({"origin": "foo.suffix"}))
        self.assertEqual(got["Access-Control-Allow-Origin"], "foo.suffix")
        self.assertEqual(got["Access-Control-Allow-Methods"], "GET")
        self.assertEqual(got["Access-Control-Expose-Headers"], "ETag")
        self.assertEqual(self.actual({"origin": "foo.bar"}), [])
        self.assertEqual(self.actual({"origin": "foo.suffix"}, "PUT"), [])
        self.assertEqual(dict(self.actual({"origin": "foo.put"}, "PUT"))[
            "Access-Control-Allow-Methods"], "PUT")
        # a request announcing another method is matched on that one
        announced = {"origin": "foo.suffix", "access-control-request-method": "GET"}
        self.assertNotEqual(self.actual(announced, "PUT"), [])
        self.assertEqual(self.actual({}), [])
        self.assertEqual(self.actual({"origin": "foo.suffix"}, bucket="nope"), [])


class ResourceTests(SynchronousTestCase):
    """Through the HTTP layer: preflights skip authentication, and every
    response to a request with a matching Origin carries the headers."""

    def setUp(self):
        self.h = test_http.Harness()
        out = self.h.send(test_http.signed("PUT", "/bucket"))
        self.assertEqual(test_http.status(out), 200, out)

    def options(self, path: str, headers: dict | None = None) -> bytes:
        lines = [f"OPTIONS {path} HTTP/1.1", "Host: localhost:8000"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        return self.h.send(("\r\n".join(lines) + "\r\n\r\n").encode())

    def test_preflight_ignores_presigned_query(self):
        presigned = ("/bucket/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=bogus"
                     "&X-Amz-Signature=00&X-Amz-Date=20200101T000000Z&X-Amz-Expires=1"
                     "&X-Amz-SignedHeaders=host")
        out = self.options(presigned)
        self.assertEqual(test_http.status(out), 400, out)
        self.assertIn(b"<Code>BadRequest</Code>", out)
        body = config(rule_xml(("GET",), ("example",)))
        out = self.h.send(test_http.signed("PUT", "/bucket?cors", body) + body)
        self.assertEqual(test_http.status(out), 200, out)
        out = self.options(presigned, {"Origin": "example",
                                       "Access-Control-Request-Method": "GET"})
        self.assertEqual(test_http.status(out), 200, out)
        self.assertIn(b"Access-Control-Allow-Origin: example", out)
        out = self.options("/nosuchbucket", {"Origin": "example",
                                             "Access-Control-Request-Method": "GET"})
        self.assertEqual(test_http.status(out), 404, out)

    def test_errors_and_successes_carry_cors_headers(self):
        body = config(rule_xml(("GET",), ("*suffix",)))
        self.h.send(test_http.signed("PUT", "/bucket?cors", body) + body)
        out = self.h.send(test_http.signed("GET", "/bucket/missing",
                                           headers={"Origin": "foo.suffix"}))
        self.assertEqual(test_http.status(out), 404, out)
        self.assertIn(b"Access-Control-Allow-Origin: foo.suffix", out)
        self.assertIn(b"Vary: Origin", out)
        out = self.h.send(test_http.signed("GET", "/bucket",
                                           headers={"Origin": "foo.suffix"}))
        self.assertEqual(test_http.status(out), 200, out)
        self.assertIn(b"Access-Control-Allow-Methods: GET", out)
        out = self.h.send(test_http.signed("GET", "/bucket", headers={"Origin": "other"}))
        self.assertNotIn(b"Access-Control-", out)
        out = self.h.send(test_http.signed("GET", "/bucket"))
        self.assertNotIn(b"Access-Control-", out)
