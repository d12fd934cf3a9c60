# -*- test-case-name: tests.unit.test_notification_config -*-
"""Put/GetBucketNotificationConfiguration: the codec with AWS's validation,
config.json's destinations, and the two operations over the memory
metadata service."""
from __future__ import annotations

import types

from lxml import etree
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.config.errors import ConfigError
from cloudserver.config.notifications import Destination, parse_destinations
from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.notifications.rules import NOTIFICATION_FORMAT, NotificationConfig
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops import NOT_IMPLEMENTED
from cloudserver.s3.xml.notification import (
    notification_configuration_xml, parse_notification_configuration)
from tests.unit.test_acl import LISA
from tests.unit.test_acl_ops import Harness

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
ARN = "arn:scality:bucketnotif:::hooks"


def doc(*configs: str) -> bytes:
    return f"<NotificationConfiguration {NS}>{''.join(configs)}" \
        "</NotificationConfiguration>".encode()


def queue(*events: str, arn: str = ARN, rid: str | None = None, prefix=None, suffix=None,
          element: str = "QueueConfiguration", arn_element: str = "Queue") -> str:
    inner = f"<Id>{rid}</Id>" if rid is not None else ""
    inner += f"<{arn_element}>{arn}</{arn_element}>"
    inner += "".join(f"<Event>{e}</Event>" for e in events)
    rules = [("Prefix", prefix), ("Suffix", suffix)]
    if prefix is not None or suffix is not None:
        inner += "<Filter><S3Key>" + "".join(
            f"<FilterRule><Name>{n}</Name><Value>{v}</Value></FilterRule>"
            for n, v in rules if v is not None) + "</S3Key></Filter>"
    return f"<{element}>{inner}</{element}>"


def filtered(*rules: tuple[str, str]) -> str:
    body = "".join(f"<FilterRule><Name>{n}</Name><Value>{v}</Value></FilterRule>"
                   for n, v in rules)
    return (f"<QueueConfiguration><Queue>{ARN}</Queue><Event>s3:ObjectCreated:*</Event>"
            f"<Filter><S3Key>{body}</S3Key></Filter></QueueConfiguration>")


class CodecTests(SynchronousTestCase):
    def test_round_trip(self):
        body = doc(queue("s3:ObjectCreated:*", rid="c", prefix="images/", suffix=".jpg"),
                   queue("s3:ObjectRemoved:Delete", rid="t", element="TopicConfiguration",
                         arn_element="Topic"),
                   queue("s3:ObjectCreated:Copy", rid="f", prefix="x",
                         element="CloudFunctionConfiguration", arn_element="CloudFunction"))
        config = parse_notification_configuration(body)
        self.assertEqual([(r.id, r.kind, r.events, r.prefix, r.suffix) for r in config.rules],
                         [("c", "queue", ("s3:ObjectCreated:*",), "images/", ".jpg"),
                          ("t", "topic", ("s3:ObjectRemoved:Delete",), "", ""),
                          ("f", "cloudFunction", ("s3:ObjectCreated:Copy",), "x", "")])
        self.assertEqual(parse_notification_configuration(
            notification_configuration_xml(config)), config)
        self.assertEqual(NotificationConfig.from_record(config.to_record()), config)
        self.assertEqual(config.to_record()["v"], NOTIFICATION_FORMAT)

    def test_id_made_when_absent_and_filter_names_any_case(self):
        config = parse_notification_configuration(doc(
            filtered(("prefix", "a/"), ("SUFFIX", ".txt"))))
        rule, = config.rules
        self.assertTrue(rule.id)
        self.assertEqual((rule.prefix, rule.suffix), ("a/", ".txt"))

    def test_empty_document_is_no_configuration(self):
        config = parse_notification_configuration(doc())
        self.assertFalse(config)
        self.assertIsNone(config.to_record())
        root = etree.fromstring(notification_configuration_xml(config))
        self.assertEqual((etree.QName(root).localname, len(root)),
                         ("NotificationConfiguration", 0))

    def test_refused_with_aws_codes_and_messages(self):
        for body, code, message in [
                (b"", "MalformedXML", None),
                (b"<Other/>", "MalformedXML", None),
                (doc("<QueueConfiguration><Queue>x</Queue></QueueConfiguration>"),
                 "MalformedXML", None),
                (doc("<QueueConfiguration><Event>s3:ObjectCreated:*</Event>"
                     "</QueueConfiguration>"), "MalformedXML", None),
                (doc(queue("s3:ObjectCreated:*") + "<Other/>"), "MalformedXML", None),
                (doc(queue("s3:ObjectCreated:Nope")), "InvalidArgument",
                 "The event is not supported for notifications"),
                (doc(queue("s3:ObjectRestore:Post")), "NotImplemented", None),
                (doc(queue("s3:ObjectTagging:*")), "NotImplemented", None),
                (doc("<EventBridgeConfiguration/>"), "NotImplemented", None),
                (doc(filtered(("Glob", "a"))), "InvalidArgument",
                 "filter rule name must be either prefix or suffix"),
                (doc(filtered(("Prefix", "a"), ("Prefix", "b"))), "InvalidArgument",
                 "Cannot specify more than one prefix rule in a filter."),
                (doc(filtered(("Suffix", "a"), ("suffix", "b"))), "InvalidArgument",
                 "Cannot specify more than one suffix rule in a filter."),
                (doc(filtered(("Prefix", "x" * 1025))), "InvalidArgument", None),
                (doc(queue("s3:ObjectCreated:*", rid="x" * 256)), "InvalidArgument", None),
                (doc(queue("s3:ObjectCreated:Put", rid="a"),
                     queue("s3:ObjectRemoved:*", rid="a")), "InvalidArgument",
                 "Same ID used for multiple configurations."),
                (doc(queue("s3:ObjectCreated:*"), queue("s3:ObjectCreated:Put")),
                 "InvalidArgument", "Configurations overlap. Configurations on the same "
                 "bucket cannot share a common event type."),
                (doc(queue("s3:ObjectCreated:*", prefix="a"),
                     queue("s3:ObjectCreated:Put", prefix="ab")), "InvalidArgument",
                 "Configuration is ambiguously defined. Cannot have overlapping suffixes "
                 "in two rules if the prefixes are overlapping for the same event type."),
                (doc(queue("s3:ObjectCreated:*", suffix=".jpg"),
                     queue("s3:ObjectCreated:Put", prefix="a", suffix="g")),
                 "InvalidArgument", None)]:
            with self.subTest(body=body):
                error = self.assertRaises(S3Error, parse_notification_configuration, body)
                self.assertEqual(error.code, code)
                if message is not None:
                    self.assertEqual(error.message, message)

    def test_disjoint_filters_and_events_accepted(self):
        for configs in [
                (queue("s3:ObjectCreated:*", prefix="a/"), queue("s3:ObjectCreated:*",
                                                                 prefix="b/")),
                (queue("s3:ObjectCreated:*", suffix=".jpg"),
                 queue("s3:ObjectCreated:*", suffix=".png")),
                (queue("s3:ObjectCreated:*"), queue("s3:ObjectRemoved:*"))]:
            with self.subTest(configs=configs):
                self.assertEqual(len(parse_notification_configuration(doc(*configs)).rules),
                                 2)


class DestinationConfigTests(SynchronousTestCase):
    def test_webhook_by_url_or_host(self):
        a, b = parse_destinations({"bucketNotificationDestinations": [
            {"resource": "a", "type": "webhook", "url": "https://h.example:8443/x",
             "secret": "s3cr3t", "timeout": 3},
            {"resource": "b", "type": "webhook", "host": "127.0.0.1", "port": 8080}]})
        self.assertEqual((a.arn, a.url, a.secret, a.timeout),
                         ("arn:scality:bucketnotif:::a", "https://h.example:8443/x",
                          "s3cr3t", 3.0))
        self.assertEqual(b.url, "http://127.0.0.1:8080/")
        self.assertNotIn("s3cr3t", repr(a))
        self.assertEqual(parse_destinations({}), ())

    def test_refused(self):
        ok = {"resource": "a", "type": "webhook", "url": "http://h/"}
        for value, needle in [
                ({}, "must be a list"),
                ([1], "must be an object"),
                ([{**ok, "resource": ""}], "resource"),
                ([{**ok, "resource": "a:b"}], "resource"),
                ([{**ok, "type": "kafka"}], "kafka is not supported"),
                ([{**ok, "type": "sqs"}], "type must be"),
                ([{**ok, "url": "ftp://h/"}], "http"),
                ([{**ok, "url": "http://h:99999/"}], "valid URL"),
                ([{"resource": "a", "type": "webhook"}], "needs a url"),
                ([{**ok, "host": "h"}], "give one"),
                ([{**ok, "timeout": 0}], "timeout"),
                ([{**ok, "secret": 3}], "secret"),
                ([{**ok, "other": 1}], "other is not a known field"),
                ([ok, ok], "given twice")]:
            with self.subTest(value=value):
                error = self.assertRaises(ConfigError, parse_destinations,
                                          {"bucketNotificationDestinations": value})
                self.assertIn(needle, str(error))


class OperationTests(Harness):
    def setUp(self):
        super().setUp()
        self.backend.config = types.SimpleNamespace(notification_destinations=(
            Destination(resource="hooks", type="webhook", url="http://127.0.0.1:1/"),))

    def put(self, body: bytes, who=None):
        kwargs = {} if who is None else {"who": who}
        return self.ctx("PUT", "/b", query={"notification": ""}, body=body, **kwargs)

    def get(self, who=None):
        kwargs = {} if who is None else {"who": who}
        return self.ctx("GET", "/b", query={"notification": ""}, **kwargs)

    def stored(self):
        return self.successResultOf(self.backend.metadata.get_bucket("b")).get(
            Bkt.NOTIFICATION)

    def test_no_longer_not_implemented(self):
        for name in ("GetBucketNotificationConfiguration",
                     "PutBucketNotificationConfiguration"):
            self.assertNotIn(name, NOT_IMPLEMENTED)

    def test_empty_by_default_then_put_get_and_removed(self):
        root = etree.fromstring(self.call(self.get()).body)
        self.assertEqual((etree.QName(root).localname, len(root)),
                         ("NotificationConfiguration", 0))
        self.assertEqual(self.call(self.put(doc(queue("s3:ObjectCreated:*", rid="i",
                                                      prefix="p/")))).status, 200)
        self.assertEqual(self.stored()["rules"][0]["prefix"], "p/")
        body = self.call(self.get()).body
        self.assertIn(b"<Id>i</Id>", body)
        self.assertIn(ARN.encode(), body)
        self.assertIn(b"<Name>Prefix</Name><Value>p/</Value>", body)
        self.assertEqual(self.call(self.put(doc())).status, 200)
        self.assertIsNone(self.stored())

    def test_unknown_destination_refused_and_nothing_stored(self):
        error = self.call_fails(self.put(doc(queue("s3:ObjectCreated:*",
                                                   arn="arn:aws:sqs:us-east-1:1:q"))))
        self.assertEqual((error.code, error.message),
                         ("InvalidArgument",
                          "Unable to validate the following destination configurations"))
        self.assertEqual(error.extra["ArgumentName1"], "arn:aws:sqs:us-east-1:1:q")
        self.assertIsNone(self.stored())

    def test_no_destinations_configured(self):
        self.backend.config = None
        error = self.call_fails(self.put(doc(queue("s3:ObjectCreated:*"))))
        self.assertEqual(error.code, "InvalidArgument")

    def test_other_accounts_refused(self):
        self.assertEqual(self.call_fails(self.put(doc(queue("s3:ObjectCreated:*")),
                                                  who=LISA)).code, "AccessDenied")
        self.assertEqual(self.call_fails(self.get(who=LISA)).code, "AccessDenied")
        self.assertIsNone(self.stored())
