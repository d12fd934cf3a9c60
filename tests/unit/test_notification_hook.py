# -*- test-case-name: tests.unit.test_notification_hook -*-
"""The notification write hook over the memory metadata service: which
writes queue an event, in the write's own batch, with AWS's record shape;
and the event the S3 operations pass in their write options."""
from __future__ import annotations

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata import version_id as vid
from cloudserver.metadata.kv import MemoryKV
from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.metadata.service import MetadataService
from cloudserver.notifications.hook import NotificationHook
from cloudserver.notifications.record import ITEM_FORMAT, record_from_item
from cloudserver.notifications.rules import NotificationConfig, Rule
from cloudserver.notifications.service import destination_queue
from cloudserver.s3.ops.events import MARKER_CREATED, REMOVED, with_event
from tests.unit.test_acl import BART
from tests.unit.test_acl_ops import Harness

ARN = "arn:scality:bucketnotif:::hooks"
INFO = {"principal": BART, "ip": "127.0.0.1", "requestId": "R1"}
PUT = {"event": "s3:ObjectCreated:Put", "eventInfo": INFO}


def rules(*extra: Rule) -> dict:
    return NotificationConfig((
        Rule(id="created", kind="queue", arn=ARN, events=("s3:ObjectCreated:*",),
             prefix="a/", suffix=".txt"),
        Rule(id="removed", kind="topic", arn=ARN, events=("s3:ObjectRemoved:*",)),
    ) + extra).to_record()


class HookTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.clock.advance(1_800_000_000.25)
        self.kv = MemoryKV()
        self.md = MetadataService(self.kv, clock=self.clock.seconds)
        self.queue = destination_queue(self.kv, "hooks", self.clock.seconds)
        self.woken = 0
        self.hook = NotificationHook(self.kv, {"hooks": self.queue}, self.clock.seconds,
                                     on_enqueue=self.wake)
        self.md.write_hooks.add(self.hook)
        self.bucket("b", rules())

    def wake(self):
        self.woken += 1

    def bucket(self, name, notification=None, **more):
        attrs = {"name": name, "owner": BART, "owner-name": "Bart", "creation-date": 1,
                 **more}
        if notification:
            attrs[Bkt.NOTIFICATION] = notification
        self.successResultOf(self.md.create_bucket(name, attrs))

    def put(self, key, options=PUT, bucket="b", size=3):
        record = {"key": key, "size": size, "etag": "abc", "last-modified": 1.0,
                  "owner": BART, "location": []}
        return self.successResultOf(self.md.put_object(bucket, key, record, options))

    def queued(self):
        """The queued items, each with the AWS record delivery makes of it."""
        items = [item for _, item in self.queue.due(self.clock.seconds() + 1)]
        return [{**item, "record": record_from_item(item)} for item in items]

    def test_put_queues_aws_record_in_the_same_batch(self):
        self.put("a/red flower+.txt")
        item, = self.queued()
        self.assertEqual((item["dest"], item["nv"], self.woken), ("hooks", ITEM_FORMAT, 1))
        record = item["record"]
        self.assertEqual({k: record[k] for k in (
            "eventVersion", "eventSource", "awsRegion", "eventTime", "eventName",
            "userIdentity", "requestParameters")}, {
            "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
            "eventTime": "2027-01-15T08:00:00.250Z", "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": BART},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"}})
        self.assertEqual(record["responseElements"]["x-amz-request-id"], "R1")
        s3 = record["s3"]
        self.assertEqual(s3["configurationId"], "created")
        self.assertEqual(s3["bucket"], {"name": "b", "ownerIdentity": {"principalId": BART},
                                        "arn": "arn:aws:s3:::b"})
        obj = s3["object"]
        self.assertEqual((obj["key"], obj["size"], obj["eTag"]),
                         ("a/red+flower%2B.txt", 3, "abc"))
        self.assertNotIn("versionId", obj)
        self.assertRegex(obj["sequencer"], "^[0-9A-F]{18}$")

    def test_sequencer_grows(self):
        self.put("a/1.txt")
        self.put("a/1.txt")
        first, second = (i["record"]["s3"]["object"]["sequencer"] for i in self.queued())
        self.assertLess(first, second)

    def test_filters_events_and_unknown_writes(self):
        self.put("b/x.txt")                      # prefix does not match
        self.put("a/x.jpg")                      # suffix does not match
        self.put("a/x.txt", options=None)        # no event: an ACL change, lifecycle
        self.put("a/x.txt", options={"event": "s3:ObjectCreated:Nope"})
        self.bucket("plain")
        self.put("a/x.txt", bucket="plain")      # no configuration
        self.assertEqual(self.queued(), [])
        self.assertEqual(self.woken, 0)

    def test_rule_for_an_undeclared_destination_is_skipped(self):
        self.bucket("c", NotificationConfig((Rule(
            id="x", kind="queue", arn="arn:scality:bucketnotif:::gone",
            events=("s3:ObjectCreated:*",)),)).to_record())
        self.put("k", bucket="c")
        self.assertEqual(self.queued(), [])

    def test_versioned_put_delete_marker_and_version_delete(self):
        self.bucket("v", rules(), versioning="Enabled")
        result = self.put("a/x.txt", {**PUT, "versioning": True}, bucket="v")
        shown = vid.encode(result["versionId"])
        marker = {"key": "a/x.txt", "isDeleteMarker": True, "size": 0, "etag": "",
                  "last-modified": 2.0, "location": []}
        marked = self.successResultOf(self.md.put_object("v", "a/x.txt", marker, {
            "versioning": True, "event": MARKER_CREATED, "eventInfo": INFO}))
        self.successResultOf(self.md.delete_object("v", "a/x.txt", {
            "versionId": result["versionId"], "event": REMOVED, "eventInfo": INFO}))
        created, marked_event, removed = (i["record"] for i in self.queued())
        self.assertEqual(created["s3"]["object"]["versionId"], shown)
        self.assertEqual(marked_event["eventName"], "ObjectRemoved:DeleteMarkerCreated")
        self.assertEqual(marked_event["s3"]["object"]["versionId"],
                         vid.encode(marked["versionId"]))
        self.assertNotIn("size", marked_event["s3"]["object"])
        self.assertEqual(removed["eventName"], "ObjectRemoved:Delete")
        self.assertEqual(removed["s3"]["object"]["versionId"], shown)
        self.assertEqual(removed["s3"]["configurationId"], "removed")

    def test_plain_delete(self):
        self.put("k", options=None)
        self.successResultOf(self.md.delete_object("b", "k", {"event": REMOVED}))
        item, = self.queued()
        self.assertEqual(item["record"]["s3"]["object"]["key"], "k")
        self.assertNotIn("size", item["record"]["s3"]["object"])
        self.assertEqual(item["record"]["userIdentity"], {"principalId": "Anonymous"})

    def test_configuration_change_seen_by_the_next_write(self):
        self.put("a/x.txt")
        attrs = dict(self.successResultOf(self.md.get_bucket("b")))
        attrs.pop(Bkt.NOTIFICATION)
        self.successResultOf(self.md.update_bucket("b", attrs))
        self.put("a/x.txt")
        self.assertEqual(len(self.queued()), 1)


class EventOptionTests(Harness):
    def test_operation_events(self):
        ctx = self.ctx("PUT", "/b/k")
        self.assertEqual(with_event(ctx, {"versioning": True}), {
            "versioning": True, "event": "s3:ObjectCreated:Put", "eventInfo": {
                "principal": BART, "ip": "", "requestId": "R"}})
        self.assertEqual(with_event(ctx, None, REMOVED)["event"], REMOVED)
        # an operation that creates nothing passes its options unchanged
        self.assertIsNone(with_event(self.ctx("PUT", "/b/k", query={"acl": ""}), None))
        anonymous = self.ctx("PUT", "/b/k", who=None)
        self.assertIsNone(with_event(anonymous, None)["eventInfo"]["principal"])
