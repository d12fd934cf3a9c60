"""lifecycle.decide: tables of one key's versions x rules -> actions."""
from __future__ import annotations

from twisted.trial import unittest

from cloudserver.lifecycle import decide
from cloudserver.lifecycle.decide import Clock

DAY = 10.0  # a debug day: no rounding to midnight
T0 = 1_000_000.0


def obj(modified, vid="v", marker=False, **extra):
    value = {"key": "k", "last-modified": T0 + modified, "versionId": vid, "etag": "e",
             "size": extra.pop("size", 5), **extra}
    if marker:
        value["isDeleteMarker"] = True
    return {"key": "k", "versionId": vid, "value": value, "isDeleteMarker": marker}


def rule(**parts):
    return {"id": parts.pop("id", "r"), "status": parts.pop("status", "Enabled"),
            "filter": parts.pop("filter", {}), **parts}


def kinds(actions):
    return [(a.kind, a.version_id, a.storage_class) for a in actions]


def at(now, started=None):
    return Clock(T0 + now, T0 + (now if started is None else started), DAY)


def run(rules, versions, clock, versioned=True, locations=("cold",)):
    return kinds(decide.decide_key(rules, "k", versions, clock, versioned,
                                   lambda name: name in locations))


class CurrentTests(unittest.SynchronousTestCase):
    def test_expiration_days_table(self):
        exp = [rule(expiration={"days": 2})]
        rows = [
            # versions, now, versioned, expected
            ([obj(0)], 19, False, []),
            ([obj(0)], 20, False, [("expire", "v", None)]),
            ([obj(0)], 20, True, [("expire", "v", None)]),
            ([obj(0, retentionMode="COMPLIANCE", retentionDate="2999-01-01T00:00:00Z")],
             20, False, [("locked", "v", None)]),
            # versioned: a delete marker on a locked version is allowed
            ([obj(0, legalHold=True)], 20, True, [("expire", "v", None)]),
        ]
        for versions, now, versioned, expected in rows:
            self.assertEqual(run(exp, versions, at(now), versioned), expected,
                             (versions, now))

    def test_date_disabled_filters(self):
        self.assertEqual(run([rule(expiration={"date": T0 + 5})], [obj(0)], at(5)),
                         [("expire", "v", None)])
        self.assertEqual(run([rule(expiration={"days": 1}, status="Disabled")],
                             [obj(0)], at(50)), [])
        by_prefix = [rule(expiration={"days": 1}, filter={"prefix": "x/"})]
        self.assertEqual(run(by_prefix, [obj(0)], at(50)), [])
        by_tag = [rule(expiration={"days": 1}, filter={"tags": {"t": "1"}})]
        self.assertEqual(run(by_tag, [obj(0)], at(50)), [])
        self.assertEqual(run(by_tag, [obj(0, tags={"t": "1"})], at(50)),
                         [("expire", "v", None)])
        by_size = [rule(expiration={"days": 1}, filter={"sizeGreaterThan": 10})]
        self.assertEqual(run(by_size, [obj(0, size=11)], at(50)), [("expire", "v", None)])
        self.assertEqual(run(by_size, [obj(0, size=10)], at(50)), [])

    def test_written_after_the_walk_began_is_left(self):
        exp = [rule(expiration={"date": T0})]
        self.assertEqual(run(exp, [obj(10)], at(100, started=5)), [])
        self.assertEqual(run(exp, [obj(5)], at(100, started=5)), [("expire", "v", None)])


class MarkerTests(unittest.SynchronousTestCase):
    def test_expired_delete_marker_table(self):
        eodm = [rule(expiration={"expiredObjectDeleteMarker": True})]
        days = [rule(expiration={"days": 3})]
        tagged = [rule(expiration={"expiredObjectDeleteMarker": True},
                       filter={"tags": {"a": "b"}})]
        alone = [obj(0, "m", marker=True)]
        with_older = [obj(0, "m", marker=True), obj(-5, "o")]
        rows = [
            (eodm, alone, 1, [("delete-marker", "m", None)]),
            (eodm, with_older, 1, []),
            (days, alone, 29, []),
            (days, alone, 30, [("delete-marker", "m", None)]),
            (tagged, alone, 100, []),  # a marker has no tags
        ]
        for rules, versions, now, expected in rows:
            self.assertEqual(run(rules, versions, at(now)), expected, (rules, now))


class NoncurrentTests(unittest.SynchronousTestCase):
    def test_days_count_from_the_successor(self):
        # current written at 40, previous at 0: noncurrent since 40
        versions = [obj(40, "c"), obj(0, "p")]
        rules = [rule(noncurrentExpiration={"days": 1})]
        self.assertEqual(run(rules, versions, at(49)), [])
        self.assertEqual(run(rules, versions, at(50)), [("noncurrent", "p", None)])

    def test_newer_noncurrent_versions_kept(self):
        versions = [obj(40, "c"), obj(30, "n1"), obj(20, "n2"), obj(10, "n3")]
        rules = [rule(noncurrentExpiration={"days": 1, "newer": 2})]
        self.assertEqual(run(rules, versions, at(100)), [("noncurrent", "n3", None)])

    def test_noncurrent_markers_and_locks(self):
        versions = [obj(40, "c"), obj(30, "m", marker=True),
                    obj(20, "l", legalHold=True)]
        rules = [rule(noncurrentExpiration={"days": 1})]
        self.assertEqual(run(rules, versions, at(100)),
                         [("noncurrent", "m", None), ("locked", "l", None)])


class TransitionTests(unittest.SynchronousTestCase):
    def test_table(self):
        tr = [rule(transitions=[{"days": 1, "storageClass": "cold"},
                                {"days": 5, "storageClass": "GLACIER"}])]
        rows = [
            ([obj(0)], 9, []),
            ([obj(0)], 10, [("transition", "v", "cold")]),
            ([obj(0)], 50, [("unsupported", "v", "GLACIER")]),  # the latest due wins
            ([obj(0, **{"storage-class": "cold"})], 10, []),    # already there
        ]
        for versions, now, expected in rows:
            self.assertEqual(run(tr, versions, at(now)), expected, (versions, now))

    def test_expiration_wins_over_transition(self):
        rules = [rule(expiration={"days": 1}, transitions=[{"days": 1, "storageClass": "cold"}])]
        self.assertEqual(run(rules, [obj(0)], at(10)), [("expire", "v", None)])

    def test_noncurrent_transition(self):
        rules = [rule(noncurrentTransitions=[{"days": 1, "storageClass": "cold"}])]
        self.assertEqual(run(rules, [obj(40, "c"), obj(0, "p")], at(50)),
                         [("transition", "p", "cold")])


class UploadTests(unittest.SynchronousTestCase):
    def test_table(self):
        rules = [rule(abortIncomplete={"days": 2}, filter={"prefix": "a/"})]
        up = {"key": "a/x", "uploadId": "u1", "initiated": T0}
        self.assertIsNone(decide.decide_upload(rules, up, at(19)))
        action = decide.decide_upload(rules, up, at(20))
        self.assertEqual((action.kind, action.key, action.version_id), ("abort", "a/x", "u1"))
        self.assertIsNone(decide.decide_upload(rules, {**up, "key": "b/x"}, at(20)))
        self.assertIsNone(decide.decide_upload(rules, up, at(20, started=-1)))
        self.assertIsNone(decide.decide_upload([rule(expiration={"days": 1})], up, at(99)))
