# -*- test-case-name: tests.unit.test_lifecycle_xml -*-
"""The LifecycleConfiguration codec: AWS's shapes (Filter, legacy Prefix)
round-trip to the stored rules, and AWS's validation errors."""
from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.errors import S3Error
from cloudserver.s3.xml.lifecycle import (
    lifecycle_configuration_xml, parse_lifecycle_configuration, storage_classes)

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
VALID = storage_classes({"us-east-1", "cold"})


def conf(*rules: str) -> bytes:
    return f"<LifecycleConfiguration {NS}>{''.join(rules)}</LifecycleConfiguration>".encode()


def rule(inner: str, rule_id: str = "r1", status: str = "Enabled",
         where: str = "<Filter><Prefix>logs/</Prefix></Filter>") -> str:
    ident = f"<ID>{rule_id}</ID>" if rule_id is not None else ""
    return f"<Rule>{ident}{where}<Status>{status}</Status>{inner}</Rule>"


EXP = "<Expiration><Days>3</Days></Expiration>"


def parse(body: bytes) -> list[dict]:
    return parse_lifecycle_configuration(body, VALID)


class AcceptedTests(SynchronousTestCase):
    def test_shapes_round_trip(self):
        cases = [
            (rule(EXP), {"id": "r1", "status": "Enabled", "filter": {"prefix": "logs/"},
                         "expiration": {"days": 3}}),
            (rule(EXP, where="<Prefix>old/</Prefix>"),
             {"id": "r1", "status": "Enabled", "filter": {"prefix": "old/"},
              "legacyPrefix": True, "expiration": {"days": 3}}),
            (rule(EXP, where="<Filter/>"),
             {"id": "r1", "status": "Enabled", "filter": {}, "expiration": {"days": 3}}),
            (rule("<Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration>"),
             {"id": "r1", "status": "Enabled", "filter": {"prefix": "logs/"},
              "expiration": {"date": 1893456000}}),
            (rule("<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>"
                  "</Expiration>", status="Disabled"),
             {"id": "r1", "status": "Disabled", "filter": {"prefix": "logs/"},
              "expiration": {"expiredObjectDeleteMarker": True}}),
            (rule(EXP, where="<Filter><And><Prefix>p</Prefix><Tag><Key>a</Key><Value>1</Value>"
                  "</Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan>"
                  "<ObjectSizeLessThan>100</ObjectSizeLessThan></And></Filter>"),
             {"id": "r1", "status": "Enabled", "expiration": {"days": 3},
              "filter": {"prefix": "p", "tags": {"a": "1"}, "sizeGreaterThan": 10,
                         "sizeLessThan": 100}}),
            (rule(EXP, where="<Filter><Tag><Key>a</Key><Value>1</Value></Tag></Filter>"),
             {"id": "r1", "status": "Enabled", "expiration": {"days": 3},
              "filter": {"tags": {"a": "1"}}}),
            (rule("<NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays>"
                  "<NewerNoncurrentVersions>5</NewerNoncurrentVersions>"
                  "</NoncurrentVersionExpiration><AbortIncompleteMultipartUpload>"
                  "<DaysAfterInitiation>1</DaysAfterInitiation>"
                  "</AbortIncompleteMultipartUpload>"),
             {"id": "r1", "status": "Enabled", "filter": {"prefix": "logs/"},
              "noncurrentExpiration": {"days": 2, "newer": 5}, "abortIncomplete": {"days": 1}}),
            (rule("<Transition><Days>30</Days><StorageClass>STANDARD_IA</StorageClass>"
                  "</Transition><Transition><Days>60</Days><StorageClass>cold</StorageClass>"
                  "</Transition><NoncurrentVersionTransition><NoncurrentDays>1"
                  "</NoncurrentDays><StorageClass>GLACIER</StorageClass>"
                  "</NoncurrentVersionTransition>"),
             {"id": "r1", "status": "Enabled", "filter": {"prefix": "logs/"},
              "transitions": [{"days": 30, "storageClass": "STANDARD_IA"},
                              {"days": 60, "storageClass": "cold"}],
              "noncurrentTransitions": [{"days": 1, "storageClass": "GLACIER"}]}),
        ]
        for body, stored in cases:
            with self.subTest(body=body):
                self.assertEqual(parse(conf(body)), [stored])
                self.assertEqual(parse(lifecycle_configuration_xml([stored])), [stored])

    def test_missing_id_is_generated(self):
        rules = parse(conf(rule(EXP, rule_id=None), rule(EXP, rule_id="")))
        self.assertTrue(all(r["id"] for r in rules))
        self.assertNotEqual(rules[0]["id"], rules[1]["id"])

    def test_legacy_prefix_answers_in_its_shape(self):
        body = lifecycle_configuration_xml(parse(conf(rule(EXP, where="<Prefix>a/</Prefix>"))))
        self.assertIn(b"<Prefix>a/</Prefix><Status>", body)
        self.assertNotIn(b"<Filter>", body)

    def test_1000_rules(self):
        self.assertEqual(len(parse(conf(*(rule(EXP, f"r{i}") for i in range(1000))))), 1000)


class RefusedTests(SynchronousTestCase):
    def check(self, body: bytes, code: str, message: str | None = None):
        error = self.assertRaises(S3Error, parse, body)
        self.assertEqual(error.code, code)
        if message is not None:
            self.assertEqual(error.message, message)

    def test_structure_is_malformed_xml(self):
        for body in [
                b"", conf(), conf(rule(EXP, status="enabled")), conf(rule(EXP, status="")),
                conf(rule(EXP, where="")),
                conf(rule(EXP, where="<Prefix>a</Prefix><Filter/>")),
                conf(rule(EXP, where="<Filter><Prefix>a</Prefix><Tag><Key>k</Key>"
                          "<Value>v</Value></Tag></Filter>")),
                conf(rule(EXP, where="<Filter><And><Prefix>a</Prefix></And></Filter>")),
                conf(rule(EXP + "<Unknown/>")),
                conf(rule("<Expiration><Days>1</Days><Date>2030-01-01</Date></Expiration>")),
                conf(rule("<Expiration><Days>x</Days></Expiration>")),
                conf(rule("<Expiration><Date>20200101x</Date></Expiration>")),
                conf(rule("<Transition><Days>1</Days><StorageClass>NOPE</StorageClass>"
                          "</Transition>")),
                conf(*(rule(EXP, f"r{i}") for i in range(1001)))]:
            with self.subTest(body=body[:200]):
                self.check(body, "MalformedXML")

    def test_invalid_argument_messages(self):
        for body, message in [
                (conf(rule(EXP, "a" * 256)), "ID length should not exceed allowed limit of 255"),
                (conf(rule(EXP, "x"), rule(EXP, "x")),
                 "Rule ID must be unique. Found same ID for more than one rule"),
                (conf(rule("<Expiration><Days>0</Days></Expiration>")),
                 "'Days' for Expiration action must be a positive integer"),
                (conf(rule("<Expiration><Date>2030-01-01T10:00:00Z</Date></Expiration>")),
                 "'Date' must be at midnight GMT"),
                (conf(rule("<Expiration><Days>1</Days><ExpiredObjectDeleteMarker>true"
                           "</ExpiredObjectDeleteMarker></Expiration>")),
                 "ExpiredObjectDeleteMarker cannot be specified with Days or Date in a "
                 "Lifecycle Expiration Policy"),
                (conf(rule("<NoncurrentVersionExpiration><NoncurrentDays>0</NoncurrentDays>"
                           "</NoncurrentVersionExpiration>")),
                 "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive "
                 "integer"),
                (conf(rule("<Transition><Days>10</Days><StorageClass>STANDARD_IA"
                           "</StorageClass></Transition>")),
                 "'Days' in Transition action must be greater than or equal to 30 for "
                 "storageClass 'STANDARD_IA'")]:
            with self.subTest(message=message):
                self.check(body, "InvalidArgument", message)
        for newer in ("0", "101"):
            self.check(conf(rule("<NoncurrentVersionExpiration><NoncurrentDays>1"
                                 f"</NoncurrentDays><NewerNoncurrentVersions>{newer}"
                                 "</NewerNoncurrentVersions></NoncurrentVersionExpiration>")),
                       "InvalidArgument")

    def test_invalid_request(self):
        tag = "<Filter><Tag><Key>k</Key><Value>v</Value></Tag></Filter>"
        for body, message in [
                (conf(rule("")), "At least one action needs to be specified in a rule"),
                (conf(rule("<AbortIncompleteMultipartUpload><DaysAfterInitiation>1"
                           "</DaysAfterInitiation></AbortIncompleteMultipartUpload>",
                           where=tag)),
                 "AbortIncompleteMultipartUpload cannot be specified with Tags."),
                (conf(rule(EXP, where=f"<Prefix>{'p' * 1025}</Prefix>")),
                 "The maximum size of a prefix is 1024")]:
            with self.subTest(message=message):
                self.check(body, "InvalidRequest", message)
