"""Tests for cloudserver.s3.xml.parse: the hardened parser and request documents."""

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.errors import S3Error
from cloudserver.s3.xml.parse import (
    child,
    children,
    local_name,
    parse_complete_multipart,
    parse_create_bucket_configuration,
    parse_delete_request,
    parse_tagging,
    parse_versioning,
    parse_xml,
    text,
)

NS = "http://s3.amazonaws.com/doc/2006-03-01/"

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Delete><Object><Key>&lol9;</Key></Object></Delete>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE Delete [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Delete><Object><Key>&xxe;</Key></Object></Delete>"""


def delete_body(n: int, *, quiet: str | None = None, ns: bool = True) -> bytes:
    objs = "".join(f"<Object><Key>k{i}</Key></Object>" for i in range(n))
    q = f"<Quiet>{quiet}</Quiet>" if quiet is not None else ""
    xmlns = f' xmlns="{NS}"' if ns else ""
    return f"<Delete{xmlns}>{q}{objs}</Delete>".encode()


class ParseXMLTests(SynchronousTestCase):
    """parse_xml refuses everything dangerous or malformed with an S3Error."""

    def assertCode(self, code: str, body: bytes, **kw: object) -> S3Error:
        err = self.assertRaises(S3Error, parse_xml, body, **kw)
        self.assertEqual(err.code, code)
        return err

    def test_plain(self) -> None:
        el = parse_xml(b"<A><B>x</B></A>", root="A")
        self.assertEqual(text(el, "B"), "x")

    def test_namespaced_root(self) -> None:
        el = parse_xml(f'<A xmlns="{NS}"><B>x</B></A>'.encode(), root="A")
        self.assertEqual(local_name(el), "A")
        self.assertEqual(text(el, "B"), "x")

    def test_prefixed_namespace(self) -> None:
        el = parse_xml(f'<s3:A xmlns:s3="{NS}"><s3:B>x</s3:B></s3:A>'.encode(), root="A")
        self.assertEqual(text(el, "B"), "x")

    def test_declaration_and_whitespace(self) -> None:
        body = b'<?xml version="1.0" encoding="UTF-8"?>\n<A>\n  <B> y </B>\n</A>\n'
        el = parse_xml(body, root="A")
        self.assertEqual(text(el, "B"), " y ")
        self.assertEqual([local_name(c) for c in el], ["B"])

    def test_utf16(self) -> None:
        body = '<?xml version="1.0" encoding="UTF-16"?><A><B>\u00e9</B></A>'.encode("utf-16")
        self.assertEqual(text(parse_xml(body, root="A"), "B"), "\u00e9")

    def test_billion_laughs(self) -> None:
        self.assertCode("MalformedXML", BILLION_LAUGHS)

    def test_external_entity(self) -> None:
        self.assertCode("MalformedXML", XXE)

    def test_doctype(self) -> None:
        self.assertCode("MalformedXML", b"<!DOCTYPE A><A/>")

    def test_doctype_utf16(self) -> None:
        """The byte pre-check misses UTF-16; the post-parse check does not."""
        body = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE A><A/>'.encode("utf-16")
        self.assertCode("MalformedXML", body)

    def test_attacks_in_utf16(self) -> None:
        """Attacks the byte pre-check cannot see still reach no entity."""
        for attack in (BILLION_LAUGHS, XXE):
            body = attack.decode().replace('version="1.0"',
                                           'version="1.0" encoding="UTF-16"')
            self.assertCode("MalformedXML", body.encode("utf-16"))

    def test_undefined_entity(self) -> None:
        self.assertCode("MalformedXML", b"<A>&foo;</A>")

    def test_oversized(self) -> None:
        self.assertCode("MaxMessageLengthExceeded", b"<A>" + b"x" * 100 + b"</A>",
                        max_size=50)

    def test_size_limit_is_inclusive(self) -> None:
        body = b"<A>xx</A>"
        parse_xml(body, max_size=len(body))

    def test_empty(self) -> None:
        self.assertCode("MalformedXML", b"")
        self.assertCode("MalformedXML", b"  \n")

    def test_not_xml(self) -> None:
        self.assertCode("MalformedXML", b"this is not xml")
        self.assertCode("MalformedXML", b"<A><B></A>")
        self.assertCode("MalformedXML", b"\xff\xfe\x00garbage")

    def test_trailing_garbage(self) -> None:
        self.assertCode("MalformedXML", b"<A/><B/>")

    def test_wrong_root(self) -> None:
        self.assertCode("MalformedXML", b"<B/>", root="A")
        self.assertCode("MalformedXML", f'<B xmlns="{NS}"/>'.encode(), root="A")

    def test_comments_and_pis_ignored(self) -> None:
        el = parse_xml(b"<A><!-- c --><?pi x?><B>1</B></A>", root="A")
        self.assertEqual([local_name(c) for c in el], ["B"])


class HelperTests(SynchronousTestCase):
    """child/children/text match on local names in any namespace."""

    def test_mixed_namespaces(self) -> None:
        el = parse_xml(f'<A xmlns="{NS}"><B>1</B><B xmlns="">2</B><C/></A>'.encode())
        self.assertEqual([c.text for c in children(el, "B")], ["1", "2"])
        self.assertEqual(child(el, "B").text, "1")
        self.assertIsNone(child(el, "D"))

    def test_text_defaults(self) -> None:
        el = parse_xml(b"<A><B/></A>")
        self.assertEqual(text(el, "B"), "")
        self.assertIsNone(text(el, "C"))
        self.assertEqual(text(el, "C", "d"), "d")


class DeleteRequestTests(SynchronousTestCase):
    """parse_delete_request follows AWS's DeleteObjects rules."""

    def test_basic(self) -> None:
        body = (b"<Delete><Object><Key>a</Key></Object>"
                b"<Object><Key>b b</Key><VersionId>v1</VersionId></Object></Delete>")
        self.assertEqual(parse_delete_request(body), (False, [("a", None), ("b b", "v1")]))

    def test_namespace_and_quiet(self) -> None:
        quiet, objects = parse_delete_request(delete_body(2, quiet="true"))
        self.assertTrue(quiet)
        self.assertEqual(objects, [("k0", None), ("k1", None)])

    def test_quiet_false_and_case(self) -> None:
        self.assertFalse(parse_delete_request(delete_body(1, quiet="false"))[0])
        self.assertTrue(parse_delete_request(delete_body(1, quiet="True", ns=False))[0])

    def test_quiet_invalid(self) -> None:
        err = self.assertRaises(S3Error, parse_delete_request, delete_body(1, quiet="yes"))
        self.assertEqual(err.code, "MalformedXML")

    def test_thousand_ok(self) -> None:
        self.assertEqual(len(parse_delete_request(delete_body(1000))[1]), 1000)

    def test_thousand_long_keys_fit(self) -> None:
        """1000 maximal (1024-byte) keys exceed 1 MiB and are still accepted."""
        objs = b"".join(b"<Object><Key>" + b"%04d" % i + b"k" * 1020 + b"</Key></Object>"
                        for i in range(1000))
        body = b"<Delete>" + objs + b"</Delete>"
        self.assertGreater(len(body), 1 << 20)
        self.assertEqual(len(parse_delete_request(body)[1]), 1000)

    def test_too_many(self) -> None:
        err = self.assertRaises(S3Error, parse_delete_request, delete_body(1001))
        self.assertEqual(err.code, "MalformedXML")

    def test_missing_key(self) -> None:
        body = b"<Delete><Object><VersionId>v</VersionId></Object></Delete>"
        err = self.assertRaises(S3Error, parse_delete_request, body)
        self.assertEqual(err.code, "MalformedXML")

    def test_empty_key(self) -> None:
        body = b"<Delete><Object><Key></Key></Object></Delete>"
        err = self.assertRaises(S3Error, parse_delete_request, body)
        self.assertEqual(err.code, "MalformedXML")

    def test_no_objects(self) -> None:
        err = self.assertRaises(S3Error, parse_delete_request, b"<Delete/>")
        self.assertEqual(err.code, "MalformedXML")

    def test_wrong_root(self) -> None:
        body = b"<Remove><Object><Key>a</Key></Object></Remove>"
        err = self.assertRaises(S3Error, parse_delete_request, body)
        self.assertEqual(err.code, "MalformedXML")

    def test_key_whitespace_kept(self) -> None:
        body = b"<Delete>\n  <Object>\n    <Key> a </Key>\n  </Object>\n</Delete>"
        self.assertEqual(parse_delete_request(body)[1], [(" a ", None)])

    def test_entities_escaped_keys(self) -> None:
        body = b"<Delete><Object><Key>a&amp;b&#x263A;</Key></Object></Delete>"
        self.assertEqual(parse_delete_request(body)[1], [("a&b\u263a", None)])


class CreateBucketConfigurationTests(SynchronousTestCase):
    def test_empty(self) -> None:
        self.assertIsNone(parse_create_bucket_configuration(b""))
        self.assertIsNone(parse_create_bucket_configuration(b"\n"))

    def test_location(self) -> None:
        body = (f'<CreateBucketConfiguration xmlns="{NS}">'
                "<LocationConstraint>eu-west-1</LocationConstraint>"
                "</CreateBucketConfiguration>").encode()
        self.assertEqual(parse_create_bucket_configuration(body), "eu-west-1")

    def test_no_location(self) -> None:
        body = b"<CreateBucketConfiguration/>"
        self.assertIsNone(parse_create_bucket_configuration(body))

    def test_wrong_root(self) -> None:
        err = self.assertRaises(S3Error, parse_create_bucket_configuration, b"<X/>")
        self.assertEqual(err.code, "MalformedXML")


class VersioningTests(SynchronousTestCase):
    def test_enabled(self) -> None:
        body = (f'<VersioningConfiguration xmlns="{NS}"><Status>Enabled</Status>'
                "</VersioningConfiguration>").encode()
        self.assertEqual(parse_versioning(body), ("Enabled", None))

    def test_mfa(self) -> None:
        body = (b"<VersioningConfiguration><Status>Suspended</Status>"
                b"<MfaDelete>Disabled</MfaDelete></VersioningConfiguration>")
        self.assertEqual(parse_versioning(body), ("Suspended", "Disabled"))

    def test_bad_status(self) -> None:
        body = b"<VersioningConfiguration><Status>On</Status></VersioningConfiguration>"
        err = self.assertRaises(S3Error, parse_versioning, body)
        self.assertEqual(err.code, "MalformedXML")

    def test_no_status_is_illegal_configuration(self) -> None:
        """Nothing to set (AWS): IllegalVersioningConfigurationException, not
        MalformedXML, for a document without a Status or with an empty one."""
        for body in (b"<VersioningConfiguration/>",
                     f'<VersioningConfiguration xmlns="{NS}"></VersioningConfiguration>'.encode(),
                     b"<VersioningConfiguration><Status></Status></VersioningConfiguration>",
                     b"<VersioningConfiguration><MfaDelete>Disabled</MfaDelete>"
                     b"</VersioningConfiguration>"):
            err = self.assertRaises(S3Error, parse_versioning, body)
            self.assertEqual(err.code, "IllegalVersioningConfigurationException", body)
            self.assertEqual(err.message, "The Versioning element must be specified")

    def test_bad_mfa_delete_is_malformed(self) -> None:
        body = (b"<VersioningConfiguration><Status>Enabled</Status>"
                b"<MfaDelete>On</MfaDelete></VersioningConfiguration>")
        err = self.assertRaises(S3Error, parse_versioning, body)
        self.assertEqual(err.code, "MalformedXML")


def tagging_body(pairs: list[tuple[str, str]]) -> bytes:
    tags = "".join(f"<Tag><Key>{k}</Key><Value>{v}</Value></Tag>" for k, v in pairs)
    return f'<Tagging xmlns="{NS}"><TagSet>{tags}</TagSet></Tagging>'.encode()


class TaggingTests(SynchronousTestCase):
    def assertInvalidTag(self, body: bytes, **kw: object) -> None:
        err = self.assertRaises(S3Error, parse_tagging, body, **kw)
        self.assertEqual(err.code, "InvalidTag")

    def test_basic(self) -> None:
        pairs = [("k1", "v1"), ("k 2", "")]
        self.assertEqual(parse_tagging(tagging_body(pairs)), pairs)

    def test_empty_tagset(self) -> None:
        self.assertEqual(parse_tagging(b"<Tagging><TagSet/></Tagging>"), [])

    def test_missing_tagset(self) -> None:
        err = self.assertRaises(S3Error, parse_tagging, b"<Tagging/>")
        self.assertEqual(err.code, "MalformedXML")

    def test_missing_value(self) -> None:
        body = b"<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>"
        err = self.assertRaises(S3Error, parse_tagging, body)
        self.assertEqual(err.code, "MalformedXML")

    def test_limits(self) -> None:
        ten = [(f"k{i}", "v") for i in range(10)]
        self.assertEqual(len(parse_tagging(tagging_body(ten))), 10)
        self.assertInvalidTag(tagging_body(ten + [("k10", "v")]))
        fifty = [(f"k{i}", "v") for i in range(50)]
        self.assertEqual(len(parse_tagging(tagging_body(fifty), max_tags=50)), 50)

    def test_lengths(self) -> None:
        parse_tagging(tagging_body([("k" * 128, "v" * 256)]))
        self.assertInvalidTag(tagging_body([("k" * 129, "v")]))
        self.assertInvalidTag(tagging_body([("k", "v" * 257)]))
        self.assertInvalidTag(tagging_body([("", "v")]))

    def test_lengths_in_utf16_units(self) -> None:
        """An astral character counts as two, as AWS counts."""
        self.assertInvalidTag(tagging_body([("\U0001f600" * 65, "v")]))
        parse_tagging(tagging_body([("\U0001f600" * 64, "v")]))

    def test_duplicate(self) -> None:
        self.assertInvalidTag(tagging_body([("k", "1"), ("k", "2")]))

    def test_aws_prefix(self) -> None:
        self.assertInvalidTag(tagging_body([("aws:x", "1")]))


class CompleteMultipartTests(SynchronousTestCase):
    def test_basic(self) -> None:
        body = (f'<CompleteMultipartUpload xmlns="{NS}">'
                '<Part><PartNumber>1</PartNumber><ETag>"a"</ETag></Part>'
                "<Part><ETag>b</ETag><PartNumber>2</PartNumber>"
                "<ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>"
                "</CompleteMultipartUpload>").encode()
        self.assertEqual(parse_complete_multipart(body),
                         [(1, '"a"', {}), (2, "b", {"ChecksumCRC32": "AAAAAA=="})])

    def test_bad(self) -> None:
        parts = [b"",
                 b"<Part><ETag>a</ETag></Part>",
                 b"<Part><PartNumber>x</PartNumber><ETag>a</ETag></Part>",
                 "<Part><PartNumber>\u00b2</PartNumber><ETag>a</ETag></Part>".encode(),
                 b"<Part><PartNumber>1</PartNumber></Part>"]
        for part in parts:
            body = b"<CompleteMultipartUpload>" + part + b"</CompleteMultipartUpload>"
            err = self.assertRaises(S3Error, parse_complete_multipart, body)
            self.assertEqual(err.code, "MalformedXML", body)


class DocumentShapeTests(SynchronousTestCase):
    """Elements outside AWS's schema are MalformedXML (issue 20: Parts
    wrapped in 10,000 unknown elements were accepted)."""

    def refused(self, parse, body: bytes, code: str = "MalformedXML") -> None:
        err = self.assertRaises(S3Error, parse, body)
        self.assertEqual(err.code, code, body[:200])

    def test_complete_multipart(self) -> None:
        part = b"<Part><PartNumber>1</PartNumber><ETag>a</ETag></Part>"
        nested = b"<X>" * 10_000 + part + b"</X>" * 10_000
        for inner in (nested, b"<X>" + part + b"</X>", part + b"<Junk/>",
                      b"<Part><PartNumber>1</PartNumber><ETag>a</ETag><Size>1</Size></Part>",
                      b"<Part><PartNumber>1</PartNumber><ETag>a</ETag><ETag>b</ETag></Part>",
                      b"<Part><PartNumber>1</PartNumber><ETag>a</ETag><X>" + part
                      + b"</X></Part>"):
            self.refused(parse_complete_multipart,
                         b"<CompleteMultipartUpload>" + inner + b"</CompleteMultipartUpload>")
        siblings = b"<X/>" * 10_000
        self.refused(parse_complete_multipart,
                     b"<CompleteMultipartUpload>" + part + siblings + b"</CompleteMultipartUpload>")

    def test_complete_multipart_of_10000_parts_with_checksums(self) -> None:
        """The largest valid document (10,000 parts with SHA-256 checksums,
        ~1.6 MB) fits the operation's body limit."""
        part = ('<Part><ETag>"' + "a" * 32 + '"</ETag><PartNumber>{}</PartNumber>'
                "<ChecksumSHA256>" + "A" * 43 + "=</ChecksumSHA256></Part>")
        body = ("<CompleteMultipartUpload>" + "".join(part.format(i + 1) for i in range(10_000))
                + "</CompleteMultipartUpload>").encode()
        self.assertGreater(len(body), 1 << 20)
        self.assertEqual(len(parse_complete_multipart(body)), 10_000)

    def test_delete(self) -> None:
        for inner in (b"<Object><Key>k</Key><Junk/></Object>",
                      b"<X><Object><Key>k</Key></Object></X>",
                      b"<Object><Key>k</Key></Object><Junk/>",
                      b"<Quiet>true</Quiet><Quiet>true</Quiet><Object><Key>k</Key></Object>"):
            self.refused(parse_delete_request, b"<Delete>" + inner + b"</Delete>")
        self.refused(parse_delete_request,
                     b"<Delete><Object><Key>k</Key><ETag>e</ETag></Object></Delete>",
                     "NotImplemented")

    def test_tagging_versioning_create_bucket(self) -> None:
        tag = b"<Tag><Key>a</Key><Value>b</Value></Tag>"
        for inner in (b"<TagSet>" + tag + b"<X/></TagSet>", b"<TagSet>" + tag + b"</TagSet><X/>",
                      b"<TagSet><Tag><Key>a</Key><Value>b</Value><X/></Tag></TagSet>"):
            self.refused(parse_tagging, b"<Tagging>" + inner + b"</Tagging>")
        self.refused(parse_versioning, b"<VersioningConfiguration><Status>Enabled</Status>"
                     b"<X/></VersioningConfiguration>")
        self.refused(parse_create_bucket_configuration,
                     b"<CreateBucketConfiguration><LocationConstraint>x</LocationConstraint>"
                     b"<X/></CreateBucketConfiguration>")

    def test_public_access_block(self) -> None:
        from cloudserver.s3.ops.public_access import parse_public_access_block

        self.refused(parse_public_access_block,
                     b"<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls>"
                     b"<X/></PublicAccessBlockConfiguration>")

    def test_cors_and_acl(self) -> None:
        from cloudserver.s3.access import acl
        from cloudserver.s3.model.cors import parse_cors_configuration

        rule = b"<AllowedMethod>GET</AllowedMethod><AllowedOrigin>*</AllowedOrigin>"
        for inner in (b"<CORSRule>" + rule + b"<X/></CORSRule>",
                      b"<CORSRule>" + rule + b"</CORSRule><X/>"):
            self.refused(parse_cors_configuration,
                         b"<CORSConfiguration>" + inner + b"</CORSConfiguration>")
        grantee = (b'<Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                   b'xsi:type="CanonicalUser"><ID>x</ID>{}</Grantee>')
        for owner, grants in ((b"<ID>o</ID><X/>", b""),
                              (b"<ID>o</ID>", b"<X/>"),
                              (b"<ID>o</ID>", b"<Grant>" + grantee.replace(b"{}", b"")
                               + b"<Permission>READ</Permission><X/></Grant>"),
                              (b"<ID>o</ID>", b"<Grant>" + grantee.replace(b"{}", b"<X/>")
                               + b"<Permission>READ</Permission></Grant>")):
            body = (b"<AccessControlPolicy><Owner>" + owner + b"</Owner><AccessControlList>"
                    + grants + b"</AccessControlList></AccessControlPolicy>")
            self.refused(lambda b: acl.parse_access_control_policy(b, None), body,
                         "MalformedACLError")
