# -*- test-case-name: tests.unit.test_replication_rules -*-
"""Which rule a write matches, and the hook that marks a new version PENDING
and enqueues it in the version's own batch."""
from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata.kv import MemoryKV
from cloudserver.metadata.queue import DurableQueue
from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.metadata.service import MetadataService
from cloudserver.replication.hook import QUEUE_PREFIX, ReplicationHook
from cloudserver.replication.rules import matching_rule, read_config


def config(*rules: dict) -> dict:
    return {"v": 1, "role": "arn:aws:iam::123456789012:role/r", "rules": list(rules)}


def rule(rule_id="r1", prefix="", enabled=True, dest="dst", **extra) -> dict:
    return {"id": rule_id, "enabled": enabled, "prefix": prefix, "filter": True,
            "deleteMarkers": extra.pop("deleteMarkers", False), "bucket": dest, **extra}


class MatchTests(SynchronousTestCase):
    def test_prefix_tags_priority(self):
        c = config(rule("low", "a", priority=1), rule("high", "ab", priority=5),
                   rule("tagged", "t", tags={"k": "v"}), rule("off", "x", enabled=False))
        self.assertEqual(matching_rule(c, "abc")["id"], "high")
        self.assertEqual(matching_rule(c, "az")["id"], "low")
        self.assertIsNone(matching_rule(c, "b"))
        self.assertIsNone(matching_rule(c, "x1"))
        self.assertIsNone(matching_rule(c, "t1", {"k": "w"}))
        self.assertEqual(matching_rule(c, "t1", {"k": "v", "o": "1"})["id"], "tagged")
        self.assertEqual(matching_rule(c, "t1", [["k", "v"]])["id"], "tagged")

    def test_delete_markers(self):
        c = config(rule("dm", "a", deleteMarkers=True), rule("no", "b"))
        self.assertEqual(matching_rule(c, "a1", delete_marker=True)["id"], "dm")
        self.assertIsNone(matching_rule(c, "b1", delete_marker=True))
        self.assertIsNone(matching_rule(None, "a"))

    def test_read_config(self):
        self.assertIsNone(read_config(None))
        self.assertIsNone(read_config({"v": 99, "rules": []}))
        self.assertEqual(read_config(config())["rules"], [])


class HookBase(SynchronousTestCase):
    def setUp(self):
        self.kv = MemoryKV()
        self.md = MetadataService(self.kv, clock=lambda: 1000.0)
        self.queue = DurableQueue(self.kv, QUEUE_PREFIX, lambda: 1000.0)
        self.woken = []
        ReplicationHook(self.kv, self.queue, lambda: self.woken.append(1)).install(
            self.md.write_hooks)
        self.successResultOf(self.md.create_bucket("src", {
            "name": "src", "owner": "o", "creation-date": 1, "versioning": "Enabled",
            Bkt.REPLICATION: config(rule(prefix="docs/", deleteMarkers=True,
                                         storageClass="aws-loc"))}))
        self.successResultOf(self.md.create_bucket("plain", {"name": "plain", "owner": "o",
                                                             "creation-date": 1}))

    def put(self, bucket, key, options=None, **extra):
        md = {"key": key, "size": 1, "etag": "e", "last-modified": 1.0, "location": [],
              **extra}
        return self.successResultOf(self.md.put_object(bucket, key, md, options))

    def get(self, bucket, key, vid=None):
        opts = {"versionId": vid} if vid else None
        return self.successResultOf(self.md.get_object(bucket, key, opts))



class HookTests(HookBase):
    def test_new_version_marked_and_enqueued(self):
        result = self.put("src", "docs/a", {"versioning": True})
        vid = result["versionId"]
        self.assertEqual(self.get("src", "docs/a")["replicationStatus"], "PENDING")
        self.assertEqual(self.get("src", "docs/a", vid)["replicationStatus"], "PENDING")
        [(_, item)] = self.queue.due()
        self.assertEqual({k: item[k] for k in ("bucket", "key", "versionId", "dest",
                                               "storageClass", "deleteMarker")},
                         {"bucket": "src", "key": "docs/a", "versionId": vid, "dest": "dst",
                          "storageClass": "aws-loc", "deleteMarker": False})
        self.assertEqual(self.woken, [1])

    def test_what_is_not_replicated(self):
        self.put("src", "other", {"versioning": True})
        self.put("plain", "docs/a", {"versioning": True})
        self.put("src", "docs/r", {"versioning": True}, replicationStatus="REPLICA")
        self.assertNotIn("replicationStatus", self.get("src", "other"))
        self.assertEqual(self.get("src", "docs/r")["replicationStatus"], "REPLICA")
        self.assertEqual(self.queue.due(), [])

    def test_updates_of_a_version_are_not_enqueued_again(self):
        vid = self.put("src", "docs/a", {"versioning": True})["versionId"]
        self.put("src", "docs/a", {"versionId": vid}, replicationStatus="PENDING",
                 tags={"a": "b"})
        self.put("src", "docs/a", {"versionId": vid}, replicationStatus="COMPLETED")
        self.assertEqual(len(self.queue.due()), 1)
        self.assertEqual(self.get("src", "docs/a")["replicationStatus"], "COMPLETED")

    def test_copied_status_is_set_afresh(self):
        self.put("src", "docs/c", {"versioning": True}, replicationStatus="COMPLETED")
        self.assertEqual(self.get("src", "docs/c")["replicationStatus"], "PENDING")

    def test_delete_marker_and_multipart_completion(self):
        self.put("src", "docs/a", {"versioning": True}, isDeleteMarker=True, size=0)
        [(_, item)] = self.queue.due()
        self.assertTrue(item["deleteMarker"])
        self.successResultOf(self.md.create_upload("src", "docs/m", "u1", {}))
        md = {"key": "docs/m", "size": 0, "etag": "x-0", "last-modified": 1.0,
              "location": []}
        self.successResultOf(self.md.complete_upload("src", "docs/m", "u1", md, {},
                                                     {"versioning": True}))
        self.assertEqual(self.get("src", "docs/m")["replicationStatus"], "PENDING")
        self.assertEqual([i["key"] for _, i in self.queue.due()], ["docs/a", "docs/m"])

    def test_configuration_change_seen_at_once(self):
        attrs = self.successResultOf(self.md.get_bucket("src"))
        self.put("src", "docs/1", {"versioning": True})
        attrs.pop(Bkt.REPLICATION)
        self.successResultOf(self.md.update_bucket("src", attrs))
        self.put("src", "docs/2", {"versioning": True})
        self.assertEqual([i["key"] for _, i in self.queue.due()], ["docs/1"])


class MetadataChangeTests(HookBase):
    """A tag change (or an ACL change, for a replica on this server) of a
    replicated version is sent again; status writes and other updates not."""

    def replicated(self, key="docs/a"):
        vid = self.put("src", key, {"versioning": True})["versionId"]
        self.put("src", key, {"versionId": vid}, replicationStatus="COMPLETED")
        return vid

    def test_tag_change_enqueued_again(self):
        vid = self.replicated()
        self.put("src", "docs/a", {"versionId": vid}, replicationStatus="COMPLETED",
                 tags={"t": "1"})
        self.assertEqual(self.get("src", "docs/a", vid)["replicationStatus"], "PENDING")
        self.assertEqual([i["key"] for _, i in self.queue.due()], ["docs/a", "docs/a"])

    def test_acl_change_only_for_a_local_replica(self):
        vid = self.replicated()
        self.put("src", "docs/a", {"versionId": vid}, replicationStatus="COMPLETED",
                 acl={"grants": []})
        self.assertEqual(self.get("src", "docs/a", vid)["replicationStatus"], "COMPLETED")
        self.assertEqual(len(self.queue.due()), 1)  # the aws_s3 rule keeps no ACL

    def test_unchanged_or_status_writes_are_not(self):
        vid = self.replicated()
        self.put("src", "docs/a", {"versionId": vid}, replicationStatus="COMPLETED")
        self.put("src", "docs/a", {"versionId": vid}, replicationStatus="FAILED")
        self.assertEqual(len(self.queue.due()), 1)
