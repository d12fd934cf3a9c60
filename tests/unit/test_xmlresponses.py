"""Golden tests for cloudserver.s3.xml.responses and the xmlbuild helpers."""

from lxml import etree
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3 import xml as s3xml
from cloudserver.s3.xml.build import iso8601, quote_etag, s3_root, serialize, set_text, sub
from cloudserver.s3.xml.responses import (
    acl_xml,
    complete_multipart_xml,
    copy_object_result_xml,
    copy_part_result_xml,
    delete_result_xml,
    error_xml,
    initiate_multipart_xml,
    list_buckets_xml,
    location_constraint_xml,
    tagging_xml,
    versioning_xml,
)

DECL = b'<?xml version="1.0" encoding="UTF-8"?>\n'
NS = b' xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


class ErrorXMLTests(SynchronousTestCase):
    def test_golden(self) -> None:
        self.assertEqual(
            error_xml("NoSuchKey", "The specified key does not exist.", "/b/k", "RID",
                      {"BucketName": "b", "Key": "k"}),
            DECL + b"<Error><Code>NoSuchKey</Code>"
            b"<Message>The specified key does not exist.</Message>"
            b"<BucketName>b</BucketName><Key>k</Key>"
            b"<Resource>/b/k</Resource><RequestId>RID</RequestId></Error>")

    def test_no_resource_host_id(self) -> None:
        self.assertEqual(
            error_xml("InvalidArgument", "bad", None, "RID",
                      {"ArgumentName": "x-amz-acl", "ArgumentValue": 3}, host_id="H"),
            DECL + b"<Error><Code>InvalidArgument</Code><Message>bad</Message>"
            b"<ArgumentName>x-amz-acl</ArgumentName><ArgumentValue>3</ArgumentValue>"
            b"<RequestId>RID</RequestId><HostId>H</HostId></Error>")

    def test_escaping(self) -> None:
        self.assertEqual(
            error_xml("X", "a<b & c>", "/b/k&<>", "R"),
            DECL + b"<Error><Code>X</Code><Message>a&lt;b &amp; c&gt;</Message>"
            b"<Resource>/b/k&amp;&lt;&gt;</Resource><RequestId>R</RequestId></Error>")

    def test_control_characters_never_raise(self) -> None:
        self.assertEqual(
            error_xml("NoSuchKey", "m", "/b/a\x01b", "R", {"Key": "a\x01\x1f\ufffeb\r"}),
            DECL + b"<Error><Code>NoSuchKey</Code><Message>m</Message>"
            b"<Key>a&#x1;&#x1f;&#xfffe;b&#13;</Key>"
            b"<Resource>/b/a&#x1;b</Resource><RequestId>R</RequestId></Error>")


class ServiceAndBucketTests(SynchronousTestCase):
    def test_list_buckets(self) -> None:
        self.assertEqual(
            list_buckets_xml("oid", "owner", [("a", "2009-10-12T17:50:30.000Z"),
                                              ("b\u00e9", "2010-01-01T00:00:00.000Z")]),
            DECL + b"<ListAllMyBucketsResult" + NS + b">"
            b"<Owner><ID>oid</ID><DisplayName>owner</DisplayName></Owner><Buckets>"
            b"<Bucket><Name>a</Name><CreationDate>2009-10-12T17:50:30.000Z</CreationDate>"
            b"</Bucket><Bucket><Name>b\xc3\xa9</Name>"
            b"<CreationDate>2010-01-01T00:00:00.000Z</CreationDate></Bucket>"
            b"</Buckets></ListAllMyBucketsResult>")

    def test_list_buckets_empty(self) -> None:
        self.assertEqual(
            list_buckets_xml("oid", "owner", []),
            DECL + b"<ListAllMyBucketsResult" + NS + b">"
            b"<Owner><ID>oid</ID><DisplayName>owner</DisplayName></Owner><Buckets/>"
            b"</ListAllMyBucketsResult>")

    def test_location_default(self) -> None:
        expected = DECL + b"<LocationConstraint" + NS + b"/>"
        self.assertEqual(location_constraint_xml(""), expected)
        self.assertEqual(location_constraint_xml("us-east-1"), expected)

    def test_location(self) -> None:
        self.assertEqual(location_constraint_xml("eu-west-1"),
                         DECL + b"<LocationConstraint" + NS + b">eu-west-1"
                         b"</LocationConstraint>")

    def test_versioning(self) -> None:
        self.assertEqual(versioning_xml(None),
                         DECL + b"<VersioningConfiguration" + NS + b"/>")
        self.assertEqual(versioning_xml("Enabled", "Disabled"),
                         DECL + b"<VersioningConfiguration" + NS + b"><Status>Enabled</Status>"
                         b"<MfaDelete>Disabled</MfaDelete></VersioningConfiguration>")

    def test_tagging(self) -> None:
        self.assertEqual(tagging_xml([("a", "1"), ("b", "")]),
                         DECL + b"<Tagging" + NS + b"><TagSet>"
                         b"<Tag><Key>a</Key><Value>1</Value></Tag>"
                         b"<Tag><Key>b</Key><Value></Value></Tag></TagSet></Tagging>")
        self.assertEqual(tagging_xml([]), DECL + b"<Tagging" + NS + b"><TagSet/></Tagging>")

    def test_acl(self) -> None:
        xsi = b' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        self.assertEqual(
            acl_xml("oid", "owner", [
                ("CanonicalUser", "oid", "owner", "FULL_CONTROL"),
                ("Group", "http://acs.amazonaws.com/groups/global/AllUsers", None, "READ"),
                ("AmazonCustomerByEmail", "a@b.c", None, "WRITE_ACP")]),
            DECL + b"<AccessControlPolicy" + NS + b">"
            b"<Owner><ID>oid</ID><DisplayName>owner</DisplayName></Owner>"
            b"<AccessControlList>"
            b"<Grant><Grantee" + xsi + b' xsi:type="CanonicalUser"><ID>oid</ID>'
            b"<DisplayName>owner</DisplayName></Grantee>"
            b"<Permission>FULL_CONTROL</Permission></Grant>"
            b"<Grant><Grantee" + xsi + b' xsi:type="Group">'
            b"<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee>"
            b"<Permission>READ</Permission></Grant>"
            b"<Grant><Grantee" + xsi + b' xsi:type="AmazonCustomerByEmail">'
            b"<EmailAddress>a@b.c</EmailAddress></Grantee>"
            b"<Permission>WRITE_ACP</Permission></Grant>"
            b"</AccessControlList></AccessControlPolicy>")


class ObjectResultTests(SynchronousTestCase):
    def test_copy_object(self) -> None:
        self.assertEqual(
            copy_object_result_xml("9b2c", "2009-10-28T22:32:00.000Z"),
            DECL + b"<CopyObjectResult" + NS + b">"
            b"<LastModified>2009-10-28T22:32:00.000Z</LastModified>"
            b'<ETag>"9b2c"</ETag></CopyObjectResult>')

    def test_copy_object_checksums_in_aws_order(self) -> None:
        self.assertEqual(
            copy_object_result_xml('"9b2c"', "2009-10-28T22:32:00.000Z",
                                   {"ChecksumSHA256": "s", "ChecksumCRC32": "c"}),
            DECL + b"<CopyObjectResult" + NS + b">"
            b"<LastModified>2009-10-28T22:32:00.000Z</LastModified>"
            b'<ETag>"9b2c"</ETag><ChecksumCRC32>c</ChecksumCRC32>'
            b"<ChecksumSHA256>s</ChecksumSHA256></CopyObjectResult>")

    def test_checksums_by_algorithm_name(self) -> None:
        """cloudserver.s3.model.checksums names algorithms without the prefix."""
        self.assertEqual(
            copy_object_result_xml("e", "2009-10-28T22:32:00.000Z",
                                   {"Type": "FULL_OBJECT", "CRC64NVME": "x", "CRC32C": "y"}),
            DECL + b"<CopyObjectResult" + NS + b">"
            b"<LastModified>2009-10-28T22:32:00.000Z</LastModified>"
            b'<ETag>"e"</ETag><ChecksumCRC32C>y</ChecksumCRC32C>'
            b"<ChecksumCRC64NVME>x</ChecksumCRC64NVME>"
            b"<ChecksumType>FULL_OBJECT</ChecksumType></CopyObjectResult>")

    def test_copy_part(self) -> None:
        self.assertEqual(
            copy_part_result_xml("e", "2009-10-28T22:32:00.000Z"),
            DECL + b"<CopyPartResult" + NS + b">"
            b"<LastModified>2009-10-28T22:32:00.000Z</LastModified>"
            b'<ETag>"e"</ETag></CopyPartResult>')

    def test_delete_result(self) -> None:
        self.assertEqual(
            delete_result_xml(
                [{"Key": "a"}, {"Key": "b", "VersionId": "v", "DeleteMarker": True,
                                "DeleteMarkerVersionId": "dm"}],
                [{"Key": "c", "VersionId": "v2", "Code": "AccessDenied",
                  "Message": "Access Denied"}],
                quiet=False),
            DECL + b"<DeleteResult" + NS + b">"
            b"<Deleted><Key>a</Key></Deleted>"
            b"<Deleted><Key>b</Key><VersionId>v</VersionId><DeleteMarker>true</DeleteMarker>"
            b"<DeleteMarkerVersionId>dm</DeleteMarkerVersionId></Deleted>"
            b"<Error><Key>c</Key><VersionId>v2</VersionId><Code>AccessDenied</Code>"
            b"<Message>Access Denied</Message></Error></DeleteResult>")

    def test_delete_result_quiet(self) -> None:
        self.assertEqual(
            delete_result_xml([{"Key": "a"}], [], quiet=True),
            DECL + b"<DeleteResult" + NS + b"/>")
        self.assertEqual(
            delete_result_xml([{"Key": "a"}], [{"Key": "b", "Code": "C", "Message": "M"}],
                              quiet=True),
            DECL + b"<DeleteResult" + NS + b"><Error><Key>b</Key><Code>C</Code>"
            b"<Message>M</Message></Error></DeleteResult>")

    def test_initiate_multipart(self) -> None:
        self.assertEqual(
            initiate_multipart_xml("b", "k \u00e9", "u1"),
            DECL + b"<InitiateMultipartUploadResult" + NS + b">"
            b"<Bucket>b</Bucket><Key>k \xc3\xa9</Key><UploadId>u1</UploadId>"
            b"</InitiateMultipartUploadResult>")

    def test_complete_multipart(self) -> None:
        self.assertEqual(
            complete_multipart_xml("http://b.example/k", "b", "k", "abc-2",
                                   {"ChecksumType": "COMPOSITE",
                                    "ChecksumCRC32": "AAAAAA==-2"}),
            DECL + b"<CompleteMultipartUploadResult" + NS + b">"
            b"<Location>http://b.example/k</Location><Bucket>b</Bucket><Key>k</Key>"
            b'<ETag>"abc-2"</ETag><ChecksumCRC32>AAAAAA==-2</ChecksumCRC32>'
            b"<ChecksumType>COMPOSITE</ChecksumType></CompleteMultipartUploadResult>")


class BuildHelperTests(SynchronousTestCase):
    def test_iso8601(self) -> None:
        self.assertEqual(iso8601(1255369830.123), "2009-10-12T17:50:30.123Z")
        self.assertEqual(iso8601(0), "1970-01-01T00:00:00.000Z")
        self.assertEqual(iso8601(1255369830.9996), "2009-10-12T17:50:31.000Z")

    def test_quote_etag(self) -> None:
        self.assertEqual(quote_etag("a"), '"a"')
        self.assertEqual(quote_etag('"a"'), '"a"')

    def test_declaration_parses(self) -> None:
        """The output re-parses, namespace and all, with a standard parser."""
        el = etree.fromstring(versioning_xml("Enabled"))
        self.assertEqual(el.tag, "{http://s3.amazonaws.com/doc/2006-03-01/}"
                                 "VersioningConfiguration")

    def test_lone_surrogate(self) -> None:
        root = s3_root("A")
        sub(root, "K", "a\udcffb")
        self.assertEqual(serialize(root), DECL + b"<A" + NS + b"><K>a&#xdcff;b</K></A>")

    def test_marker_in_text_is_not_special(self) -> None:
        """Text that looks like a reference stays text."""
        root = s3_root("A")
        set_text(sub(root, "K"), "&#x1;")
        self.assertEqual(serialize(root), DECL + b"<A" + NS + b"><K>&amp;#x1;</K></A>")

    def test_facade(self) -> None:
        self.assertIs(s3xml.error_xml, error_xml)
        for name in s3xml.__all__:
            self.assertTrue(hasattr(s3xml, name), name)
