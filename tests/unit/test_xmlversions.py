"""Golden and client round-trip tests for cloudserver.s3.xml.versions."""

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.xml.versions import VersionEntry, VersionsListing, list_versions_xml
from tests.unit.test_xmllisting import BotocoreParsing

try:
    import botocore.handlers
except ImportError:             # pragma: no cover - botocore is a test dependency
    botocore = None

HEAD = (b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">')
LM = "2009-10-12T17:50:30.000Z"
OWNER = b"<Owner><ID>oid</ID><DisplayName>owner</DisplayName></Owner>"


def version(key: str, vid: str = "v1", latest: bool = True, **kw: object) -> VersionEntry:
    kw.setdefault("etag", "d41d")
    return VersionEntry(key=key, version_id=vid, is_latest=latest, last_modified=LM,
                        owner_id=kw.pop("owner_id", "oid"),
                        owner_name=kw.pop("owner_name", "owner"), **kw)


def version_xml(key: bytes, vid: bytes = b"v1", latest: bytes = b"true", size: bytes = b"0",
                owner: bytes = OWNER, storage: bytes = b"STANDARD") -> bytes:
    return (b"<Version><Key>" + key + b"</Key><VersionId>" + vid + b"</VersionId><IsLatest>"
            + latest + b"</IsLatest><LastModified>" + LM.encode()
            + b'</LastModified><ETag>"d41d"</ETag><Size>' + size + b"</Size>" + owner
            + b"<StorageClass>" + storage + b"</StorageClass></Version>")


def marker_xml(key: bytes, vid: bytes, latest: bytes = b"true") -> bytes:
    return (b"<DeleteMarker><Key>" + key + b"</Key><VersionId>" + vid + b"</VersionId>"
            b"<IsLatest>" + latest + b"</IsLatest><LastModified>" + LM.encode()
            + b"</LastModified>" + OWNER + b"</DeleteMarker>")


class ListVersionsTests(SynchronousTestCase):
    def test_empty(self) -> None:
        self.assertEqual(
            list_versions_xml(VersionsListing(name="b")),
            HEAD + b"<Name>b</Name><Prefix></Prefix><KeyMarker></KeyMarker>"
            b"<VersionIdMarker></VersionIdMarker><MaxKeys>1000</MaxKeys>"
            b"<IsTruncated>false</IsTruncated></ListVersionsResult>")

    def test_versions_and_markers_in_order(self) -> None:
        r = VersionsListing(
            name="b", prefix="p", key_marker="k", version_id_marker="vm",
            next_key_marker="n", next_version_id_marker="nv", max_keys=4, delimiter="/",
            is_truncated=True,
            entries=[version("p1", "v3", size=12, storage_class="STANDARD_IA"),
                     version("p2", "v2", delete_marker=True),
                     version("p2", "v1", latest=False, etag='"d41d"'),
                     version("p<&>", "null")],
            common_prefixes=["p/"])
        self.assertEqual(
            list_versions_xml(r),
            HEAD + b"<Name>b</Name><Prefix>p</Prefix><KeyMarker>k</KeyMarker>"
            b"<VersionIdMarker>vm</VersionIdMarker><NextKeyMarker>n</NextKeyMarker>"
            b"<NextVersionIdMarker>nv</NextVersionIdMarker><MaxKeys>4</MaxKeys>"
            b"<Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>"
            + version_xml(b"p1", b"v3", size=b"12", storage=b"STANDARD_IA")
            + marker_xml(b"p2", b"v2")
            + version_xml(b"p2", b"v1", latest=b"false")
            + version_xml(b"p&lt;&amp;&gt;", b"null")
            + b"<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes></ListVersionsResult>")

    def test_unknown_owner(self) -> None:
        r = VersionsListing(name="b", entries=[version("k", owner_id=None, owner_name=None)])
        self.assertIn(b"<Owner><ID/><DisplayName/></Owner>", list_versions_xml(r))

    def test_url_encoding_and_control_characters(self) -> None:
        r = VersionsListing(name="b", prefix="a b", key_marker="m+", delimiter=" ",
                            next_key_marker="n%", encoding_type="url",
                            entries=[version("a b/c+d"), version("x\x01", delete_marker=True)],
                            common_prefixes=["a b/"])
        body = list_versions_xml(r)
        for part in (b"<Prefix>a%20b</Prefix>", b"<KeyMarker>m%2B</KeyMarker>",
                     b"<NextKeyMarker>n%25</NextKeyMarker>", b"<Delimiter>%20</Delimiter>",
                     b"<EncodingType>url</EncodingType>", b"<Key>a%20b/c%2Bd</Key>",
                     b"<Key>x%01</Key>", b"<CommonPrefixes><Prefix>a%20b/</Prefix>"):
            self.assertIn(part, body)
        r = VersionsListing(name="b", entries=[version("x\x01y"),
                                               version("z\x02", delete_marker=True)])
        body = list_versions_xml(r)
        self.assertIn(b"<Key>x&#x1;y</Key>", body)
        self.assertIn(b"<Key>z&#x2;</Key>", body)

    def test_template_texts_do_not_leak(self) -> None:
        """Each entry sets every leaf it writes (entries share prebuilt elements)."""
        r = VersionsListing(name="b", entries=[
            version("a", size=5, storage_class="GLACIER"), version("b", owner_id=None),
            version("c", delete_marker=True), version("d")])
        body = list_versions_xml(r)
        self.assertIn(version_xml(b"d"), body)
        self.assertEqual(body.count(b"GLACIER"), 1)
        self.assertEqual(body.count(b"<Size>5</Size>"), 1)


class BotocoreRoundTripTests(BotocoreParsing, SynchronousTestCase):
    def test_parses(self) -> None:
        keys = ["a b", "a+b", "caf\u00e9", "<&>\"'", "tab\there"]
        entries = []
        for k in keys:
            entries += [version(k, "v2", delete_marker=True), version(k, "v1", latest=False)]
        r = VersionsListing(name="b", encoding_type="url", entries=entries, is_truncated=True,
                            next_key_marker="a b", next_version_id_marker="v1")
        parsed = self.parse("ListObjectVersions", list_versions_xml(r))
        botocore.handlers.decode_list_object_versions(parsed, {"encoding_type_auto_set": True})
        self.assertEqual([v["Key"] for v in parsed["Versions"]], keys)
        self.assertEqual([v["Key"] for v in parsed["DeleteMarkers"]], keys)
        self.assertEqual(parsed["Versions"][0]["ETag"], '"d41d"')
        self.assertEqual(parsed["Versions"][0]["Owner"], {"ID": "oid", "DisplayName": "owner"})
        self.assertEqual(parsed["NextKeyMarker"], "a b")
        self.assertFalse(parsed["Versions"][0]["IsLatest"])
        self.assertTrue(parsed["DeleteMarkers"][0]["IsLatest"])
