# -*- test-case-name: tests.unit.test_replication_xml -*-
"""The ReplicationConfiguration codec: both of AWS's schemas round-trip to
the stored rules; CloudServer's and AWS's validation errors."""
from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.errors import S3Error
from cloudserver.s3.xml.replication import parse_replication, replication_xml

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
ROLE = "arn:aws:iam::123456789012:role/src"
LOCATIONS = {"us-east-1": "file", "aws-loc": "aws_s3", "azure-loc": "azure"}


def conf(*rules: str, role: str | None = ROLE) -> bytes:
    r = f"<Role>{role}</Role>" if role is not None else ""
    return f"<ReplicationConfiguration {NS}>{r}{''.join(rules)}</ReplicationConfiguration>" \
        .encode()


def rule(where: str = "<Prefix>docs/</Prefix>", rule_id: str | None = "r1",
         status: str = "Enabled", dest: str = "<Bucket>arn:aws:s3:::dst</Bucket>",
         extra: str = "") -> str:
    ident = f"<ID>{rule_id}</ID>" if rule_id is not None else ""
    return (f"<Rule>{ident}{where}<Status>{status}</Status>{extra}"
            f"<Destination>{dest}</Destination></Rule>")


def v2(prefix: str = "a/", priority: int | None = 1, rule_id: str = "r1",
       dmr: str | None = "Enabled", dest: str = "<Bucket>arn:aws:s3:::dst</Bucket>",
       flt: str | None = None) -> str:
    pr = f"<Priority>{priority}</Priority>" if priority is not None else ""
    d = f"<DeleteMarkerReplication><Status>{dmr}</Status></DeleteMarkerReplication>" \
        if dmr else ""
    flt = flt if flt is not None else f"<Filter><Prefix>{prefix}</Prefix></Filter>"
    return rule(where=pr + flt, rule_id=rule_id, extra=d, dest=dest)


def parse(body: bytes) -> dict:
    return parse_replication(body, LOCATIONS)


class AcceptedTests(SynchronousTestCase):
    def test_v1_rule(self):
        got = parse(conf(rule()))
        self.assertEqual(got, {"v": 1, "role": ROLE, "rules": [
            {"id": "r1", "enabled": True, "prefix": "docs/", "filter": False,
             "deleteMarkers": True, "bucket": "dst"}]})
        self.assertEqual(parse(replication_xml(got)), got)

    def test_v2_rules_with_locations_and_tags(self):
        tagged = ("<Filter><And><Prefix>p/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag>"
                  "</And></Filter>")
        body = conf(v2("a/", 2, "r1", dest="<Bucket>arn:aws:s3:::dst</Bucket>"
                       "<StorageClass>aws-loc</StorageClass>"),
                    v2(priority=1, rule_id="r2", dmr="Disabled", flt=tagged,
                       dest="<Bucket>arn:aws:s3:::dst</Bucket>"
                       "<StorageClass>STANDARD</StorageClass>"))
        got = parse(body)
        self.assertEqual(got["rules"][0], {
            "id": "r1", "enabled": True, "prefix": "a/", "filter": True, "priority": 2,
            "deleteMarkers": True, "bucket": "dst", "storageClass": "aws-loc"})
        self.assertEqual(got["rules"][1]["tags"], {"k": "v"})
        self.assertNotIn("storageClass", got["rules"][1])
        self.assertEqual(parse(replication_xml(got)), got)

    def test_pair_of_roles_and_generated_id(self):
        got = parse(conf(rule(rule_id=None), role=f"{ROLE},arn:aws:iam::123456789012:role/d"))
        self.assertEqual(len(got["rules"][0]["id"]), 48)
        self.assertIn(b"<Prefix>docs/</Prefix>", replication_xml(got))

    def test_empty_filter_matches_everything(self):
        got = parse(conf(v2(flt="<Filter></Filter>")))
        self.assertEqual(got["rules"][0]["prefix"], "")


class RefusedTests(SynchronousTestCase):
    def refused(self, body: bytes, code: str, message: str | None = None):
        error = self.assertRaises(S3Error, parse, body)
        self.assertEqual(error.code, code)
        if message is not None:
            self.assertEqual(error.message, message)

    def test_structure(self):
        for body in (b"<ReplicationConfiguration/>", conf(rule(), role=None), conf(),
                     conf(rule(status="On")), conf(rule(where="")),
                     conf(rule(where="<Prefix>a</Prefix><Filter/>")),
                     conf(rule(dest="")), conf(rule(extra="<Bogus/>")),
                     conf(rule(), v2(rule_id="r2")),  # two schemas in one document
                     conf(v2(flt="<Filter><ObjectSizeLessThan>5</ObjectSizeLessThan></Filter>")),
                     conf(rule(dest="<Bucket>arn:aws:s3:::dst</Bucket>"
                                    "<StorageClass>GLACIER</StorageClass>"))):
            self.refused(body, "MalformedXML")

    def test_roles(self):
        for role in ("", "arn:aws:iam::a:role/x", "arn:aws:s3::123456789012:role/x",
                     "arn:aws:iam::123456789012:user/x", f"{ROLE},{ROLE},{ROLE}", ","):
            self.refused(conf(rule(), role=role), "InvalidArgument")

    def test_destination_bucket(self):
        self.refused(conf(rule(dest="<Bucket></Bucket>")), "InvalidArgument",
                     "Destination bucket cannot be null or empty")
        self.refused(conf(rule(dest="<Bucket>dst</Bucket>")), "InvalidArgument",
                     "Invalid bucket ARN")
        self.refused(conf(rule(dest="<Bucket>arn:aws:s3:::A_B</Bucket>")), "InvalidArgument",
                     "The specified bucket is not valid")

    def test_rule_values(self):
        self.refused(conf(rule(rule_id="x" * 256)), "InvalidArgument",
                     "Rule Id cannot be greater than 255")
        self.refused(conf(rule(), rule(where="<Prefix>other/</Prefix>")), "InvalidRequest",
                     "Rule Id must be unique")
        self.refused(conf(rule(), rule(where="<Prefix>docs/2015</Prefix>", rule_id="r2")),
                     "InvalidRequest", "Found overlapping prefixes 'docs/' and 'docs/2015'")
        self.refused(conf(rule(where=f"<Prefix>{'p' * 1025}</Prefix>")), "InvalidArgument")
        self.refused(conf(v2(dmr=None)), "InvalidRequest")
        self.refused(conf(v2(priority=None), v2(priority=None, rule_id="r2")),
                     "InvalidRequest")
        self.refused(conf(v2(), v2(rule_id="r2")), "InvalidRequest", "Found duplicate priority")
        self.refused(conf(v2(flt="<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>")),
                     "InvalidArgument")

    def test_what_is_not_done_is_not_implemented(self):
        for extra in ("<SourceSelectionCriteria/>", "<ExistingObjectReplication/>"):
            self.refused(conf(rule(extra=extra)), "NotImplemented")
        for dest in ("<Account>1</Account>", "<Metrics/>", "<ReplicationTime/>",
                     "<EncryptionConfiguration/>", "<AccessControlTranslation/>",
                     "<StorageClass>aws-loc,azure-loc</StorageClass>"):
            self.refused(conf(rule(dest="<Bucket>arn:aws:s3:::dst</Bucket>" + dest)),
                         "NotImplemented")
