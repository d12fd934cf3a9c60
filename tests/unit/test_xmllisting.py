"""Golden and client round-trip tests for cloudserver.s3.xml.listing."""

from urllib.parse import unquote_plus

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.xml.build import url_encode
from cloudserver.s3.xml.listing import (
    ListEntry,
    ListObjectsV1,
    ListObjectsV2,
    ListResult,
    list_objects_v1_xml,
    list_objects_v2_xml,
    list_objects_xml,
)

try:
    import botocore.handlers
    import botocore.parsers
    import botocore.session
except ImportError:             # pragma: no cover - botocore is a test dependency
    botocore = None

DECL = b'<?xml version="1.0" encoding="UTF-8"?>\n'
HEAD = DECL + b'<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
LM = "2009-10-12T17:50:30.000Z"
OWNER = b"<Owner><ID>oid</ID><DisplayName>owner</DisplayName></Owner>"


def entry(key: str, size: int = 0, **kw: object) -> ListEntry:
    kw.setdefault("owner_id", "oid")
    kw.setdefault("owner_name", "owner")
    return ListEntry(key=key, last_modified=LM, etag="d41d", size=size, **kw)


def contents(key: bytes, size: bytes = b"0", owner: bytes = OWNER,
             storage: bytes = b"STANDARD") -> bytes:
    return (b"<Contents><Key>" + key + b"</Key><LastModified>" + LM.encode()
            + b'</LastModified><ETag>"d41d"</ETag><Size>' + size + b"</Size>" + owner
            + b"<StorageClass>" + storage + b"</StorageClass></Contents>")


UNICODE_KEY = "caf\u00e9/\u65e5\u672c.txt"
UNICODE_KEY_UTF8 = UNICODE_KEY.encode("utf-8")
TRICKY_KEYS = ["a b", "a+b", "a%2Bb", "100%", "caf\u00e9", "\U0001f600/x", "a/b/../c",
               "q?x=1&y=2#f", "~tilde_-.", "tab\there", "ctl\x01\x1f", "<&>\"'", "/lead",
               "semi;colon,comma=eq:colon@at!$()*"]


class ListObjectsV1Tests(SynchronousTestCase):
    def test_empty(self) -> None:
        self.assertEqual(
            list_objects_v1_xml(ListObjectsV1(name="b")),
            HEAD + b"<Name>b</Name><Prefix></Prefix><Marker></Marker><MaxKeys>1000</MaxKeys>"
            b"<IsTruncated>false</IsTruncated></ListBucketResult>")

    def test_unicode_keys(self) -> None:
        result = ListObjectsV1(name="b", contents=[
            entry(UNICODE_KEY), entry("z<&>", 12, storage_class="STANDARD_IA")])
        self.assertEqual(
            list_objects_v1_xml(result),
            HEAD + b"<Name>b</Name><Prefix></Prefix><Marker></Marker><MaxKeys>1000</MaxKeys>"
            b"<IsTruncated>false</IsTruncated>"
            + contents(UNICODE_KEY_UTF8)
            + contents(b"z&lt;&amp;&gt;", b"12", storage=b"STANDARD_IA")
            + b"</ListBucketResult>")

    def test_truncated_with_delimiter(self) -> None:
        result = ListObjectsV1(name="b", prefix="p/", marker="p/a", max_keys=2,
                               delimiter="/", is_truncated=True, next_marker="p/d/",
                               contents=[entry("p/b")], common_prefixes=["p/d/"])
        self.assertEqual(
            list_objects_v1_xml(result),
            HEAD + b"<Name>b</Name><Prefix>p/</Prefix><Marker>p/a</Marker>"
            b"<NextMarker>p/d/</NextMarker><MaxKeys>2</MaxKeys><Delimiter>/</Delimiter>"
            b"<IsTruncated>true</IsTruncated>" + contents(b"p/b")
            + b"<CommonPrefixes><Prefix>p/d/</Prefix></CommonPrefixes></ListBucketResult>")

    def test_url_encoding(self) -> None:
        """s3-tests test_bucket_list_encoding_basic, plus every v1 field.

        Prefix stays as sent in v1 (botocore does not decode it there, and
        s3-tests test_bucket_list_prefix_unreadable expects it raw)."""
        result = ListObjectsV1(name="b", prefix="q a", marker="m+1", delimiter="/",
                               next_marker="n%", encoding_type="url", is_truncated=True,
                               contents=[entry("asdf+b"), entry(UNICODE_KEY)],
                               common_prefixes=["foo+1/", "foo/", "quux ab/"])
        self.assertEqual(
            list_objects_v1_xml(result),
            HEAD + b"<Name>b</Name><Prefix>q a</Prefix><Marker>m%2B1</Marker>"
            b"<NextMarker>n%25</NextMarker><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter>"
            b"<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
            + contents(b"asdf%2Bb") + contents(b"caf%C3%A9/%E6%97%A5%E6%9C%AC.txt")
            + b"<CommonPrefixes><Prefix>foo%2B1/</Prefix></CommonPrefixes>"
            b"<CommonPrefixes><Prefix>foo/</Prefix></CommonPrefixes>"
            b"<CommonPrefixes><Prefix>quux%20ab/</Prefix></CommonPrefixes>"
            b"</ListBucketResult>")

    def test_control_characters(self) -> None:
        """Unencoded, they become character references as AWS sends them."""
        result = ListObjectsV1(name="b", contents=[entry("a\x01b")])
        self.assertIn(b"<Key>a&#x1;b</Key>", list_objects_v1_xml(result))
        result = ListObjectsV1(name="b", contents=[entry("a\x01b")], encoding_type="url")
        self.assertIn(b"<Key>a%01b</Key>", list_objects_v1_xml(result))

    def test_owner_without_display_name(self) -> None:
        result = ListObjectsV1(name="b", contents=[entry("k", owner_name=None)])
        self.assertIn(b"<Owner><ID>oid</ID></Owner>", list_objects_v1_xml(result))

    def test_unknown_owner(self) -> None:
        result = ListObjectsV1(name="b", contents=[entry("k", owner_id=None)])
        self.assertIn(contents(b"k", owner=b""), list_objects_v1_xml(result))


class ListObjectsV2Tests(SynchronousTestCase):
    def test_empty(self) -> None:
        self.assertEqual(
            list_objects_v2_xml(ListObjectsV2(name="b")),
            HEAD + b"<Name>b</Name><Prefix></Prefix><KeyCount>0</KeyCount>"
            b"<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>")

    def test_truncated(self) -> None:
        result = ListObjectsV2(name="b", max_keys=2, is_truncated=True,
                               continuation_token="ct", next_continuation_token="nct",
                               start_after="s", contents=[entry("t"), entry(UNICODE_KEY)])
        self.assertEqual(
            list_objects_v2_xml(result),
            HEAD + b"<Name>b</Name><Prefix></Prefix><StartAfter>s</StartAfter>"
            b"<ContinuationToken>ct</ContinuationToken>"
            b"<NextContinuationToken>nct</NextContinuationToken><KeyCount>2</KeyCount>"
            b"<MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>"
            + contents(b"t", owner=b"") + contents(UNICODE_KEY_UTF8, owner=b"")
            + b"</ListBucketResult>")

    def test_fetch_owner_and_prefixes(self) -> None:
        result = ListObjectsV2(name="b", delimiter="/", fetch_owner=True,
                               contents=[entry("a")], common_prefixes=["d/"])
        self.assertEqual(
            list_objects_v2_xml(result),
            HEAD + b"<Name>b</Name><Prefix></Prefix><KeyCount>2</KeyCount>"
            b"<MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter>"
            b"<IsTruncated>false</IsTruncated>" + contents(b"a")
            + b"<CommonPrefixes><Prefix>d/</Prefix></CommonPrefixes></ListBucketResult>")

    def test_explicit_key_count(self) -> None:
        result = ListObjectsV2(name="b", key_count=7)
        self.assertIn(b"<KeyCount>7</KeyCount>", list_objects_v2_xml(result))

    def test_url_encoding(self) -> None:
        """Tokens are opaque and not encoded; StartAfter, Prefix etc. are."""
        result = ListObjectsV2(name="b", prefix="a b", start_after="a+", delimiter="/",
                               continuation_token="x+y/=", encoding_type="url",
                               contents=[entry("a b/c+d")], common_prefixes=["a b/"])
        self.assertEqual(
            list_objects_v2_xml(result),
            HEAD + b"<Name>b</Name><Prefix>a%20b</Prefix><StartAfter>a%2B</StartAfter>"
            b"<ContinuationToken>x+y/=</ContinuationToken><KeyCount>2</KeyCount>"
            b"<MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter>"
            b"<EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"
            + contents(b"a%20b/c%2Bd", owner=b"")
            + b"<CommonPrefixes><Prefix>a%20b/</Prefix></CommonPrefixes>"
            b"</ListBucketResult>")

    def test_entries_of_every_shape_in_a_row(self) -> None:
        """Entries share prebuilt elements: each one sets every leaf it writes."""
        result = ListObjectsV2(name="b", fetch_owner=True, contents=[
            entry("a", 1, storage_class="GLACIER"), entry("b\x01", owner_name=None),
            entry("c", owner_id=None), entry("d", 4), entry("e<", owner_name=None)])
        self.assertEqual(
            list_objects_v2_xml(result),
            HEAD + b"<Name>b</Name><Prefix></Prefix><KeyCount>5</KeyCount>"
            b"<MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>"
            + contents(b"a", b"1", storage=b"GLACIER")
            + contents(b"b&#x1;", owner=b"<Owner><ID>oid</ID></Owner>")
            + contents(b"c", owner=b"") + contents(b"d", b"4")
            + contents(b"e&lt;", owner=b"<Owner><ID>oid</ID></Owner>")
            + b"</ListBucketResult>")

    def test_thousand_entries(self) -> None:
        keys = [f"photos/2024/img{i:06d}.jpg" for i in range(1000)]
        body = list_objects_v2_xml(ListObjectsV2(name="b", contents=[entry(k) for k in keys]))
        self.assertEqual(body.count(b"<Contents>"), 1000)
        self.assertIn(b"<KeyCount>1000</KeyCount>", body)


class ListResultTests(SynchronousTestCase):
    """list_objects_xml picks the version; the caller decides on owners."""

    def test_v1(self) -> None:
        result = ListResult(v2=False, bucket="b", prefix="p", marker=None, delimiter="/",
                            next_marker="p/z", is_truncated=True,
                            contents=[entry("p1")], common_prefixes=["p/"])
        self.assertEqual(
            list_objects_xml(result),
            list_objects_v1_xml(ListObjectsV1(
                name="b", prefix="p", marker="", delimiter="/", next_marker="p/z",
                is_truncated=True, contents=[entry("p1")], common_prefixes=["p/"])))

    def test_v2(self) -> None:
        entries = [entry("a"), entry("b", owner_id=None)]
        result = ListResult(v2=True, bucket="b", encoding_type="url", start_after="a",
                            continuation_token="t", next_continuation_token="n",
                            contents=entries)
        body = list_objects_xml(result)
        self.assertEqual(
            body,
            list_objects_v2_xml(ListObjectsV2(
                name="b", encoding_type="url", start_after="a", continuation_token="t",
                next_continuation_token="n", contents=entries, fetch_owner=True)))
        self.assertEqual(body.count(b"<Owner>"), 1)


class UrlEncodeTests(SynchronousTestCase):
    def test_inverse_of_botocore_decoding(self) -> None:
        """botocore decodes EncodingType=url with unquote_plus."""
        for key in TRICKY_KEYS:
            encoded = url_encode(key)
            self.assertNotIn("+", encoded)
            self.assertNotIn(" ", encoded)
            self.assertEqual(unquote_plus(encoded), key)

    def test_s3_tests_expectations(self) -> None:
        self.assertEqual(url_encode("asdf+b"), "asdf%2Bb")
        self.assertEqual(url_encode("quux ab/"), "quux%20ab/")
        self.assertEqual(url_encode("foo+1/"), "foo%2B1/")

    def test_surrogates_never_raise(self) -> None:
        self.assertEqual(url_encode("a\udcffb"), "a%FFb")
        self.assertEqual(url_encode("a\ud800b"), "a%ED%A0%80b")


class BotocoreParsing:
    """Mix into a TestCase: ``parse`` a response body as botocore's own S3
    parser does (the test is skipped without botocore)."""

    def setUp(self) -> None:
        if botocore is None:    # pragma: no cover
            self.skipTest("botocore not installed")
        self.model = botocore.session.get_session().get_service_model("s3")
        self.parser = botocore.parsers.create_parser("rest-xml")

    def parse(self, operation: str, body: bytes) -> dict:
        shape = self.model.operation_model(operation).output_shape
        return self.parser.parse({"status_code": 200, "headers": {}, "body": body}, shape)


class BotocoreRoundTripTests(BotocoreParsing, SynchronousTestCase):
    """The documents parse with botocore's own S3 response parser."""

    def test_v2_url_round_trip(self) -> None:
        keys = sorted(TRICKY_KEYS)
        result = ListObjectsV2(name="b", delimiter="/", prefix="", encoding_type="url",
                               max_keys=1000, contents=[entry(k, 3) for k in keys],
                               common_prefixes=["p q+/"], start_after="s t")
        parsed = self.parse("ListObjectsV2", list_objects_v2_xml(result))
        botocore.handlers.decode_list_object_v2(parsed, {"encoding_type_auto_set": True})
        self.assertEqual([c["Key"] for c in parsed["Contents"]], keys)
        self.assertEqual(parsed["CommonPrefixes"], [{"Prefix": "p q+/"}])
        self.assertEqual(parsed["StartAfter"], "s t")
        self.assertEqual(parsed["KeyCount"], len(keys) + 1)
        self.assertEqual(parsed["Contents"][0]["ETag"], '"d41d"')
        self.assertEqual(parsed["Contents"][0]["Size"], 3)
        self.assertFalse(parsed["IsTruncated"])

    def test_v1_url_round_trip(self) -> None:
        result = ListObjectsV1(name="b", marker="m n", next_marker="a+b", is_truncated=True,
                               encoding_type="url", contents=[entry("a+b c")])
        parsed = self.parse("ListObjects", list_objects_v1_xml(result))
        botocore.handlers.decode_list_object(parsed, {"encoding_type_auto_set": True})
        self.assertEqual(parsed["Contents"][0]["Key"], "a+b c")
        self.assertEqual(parsed["Contents"][0]["Owner"], {"ID": "oid", "DisplayName": "owner"})
        self.assertEqual((parsed["Marker"], parsed["NextMarker"]), ("m n", "a+b"))
        self.assertTrue(parsed["IsTruncated"])

    def test_unencoded_unicode(self) -> None:
        result = ListObjectsV2(name="b", contents=[entry(UNICODE_KEY)])
        parsed = self.parse("ListObjectsV2", list_objects_v2_xml(result))
        self.assertEqual(parsed["Contents"][0]["Key"], UNICODE_KEY)
