"""metadata.object_lock: what protects a version, and the service enforcing it."""
from __future__ import annotations

from twisted.trial import unittest

from cloudserver.metadata import object_lock as lock
from cloudserver.metadata.kv import MemoryKV
from cloudserver.metadata.service import MetadataService

T0 = 1_900_000_000.0


def record(mode=None, until=None, hold=None) -> dict:
    md = {"key": "k", "versionId": "v"}
    if mode:
        md["retentionMode"] = mode
    if until is not None:
        md["retentionDate"] = lock.format_date(until)
    if hold:
        md["legalHold"] = True
    return md


class RuleTests(unittest.SynchronousTestCase):
    def test_table(self):
        rows = [  # (record, now, bypass) -> protected?
            (record(), T0, False, False),
            (record("GOVERNANCE", T0 + 60), T0, False, True),
            (record("GOVERNANCE", T0 + 60), T0, True, False),
            (record("COMPLIANCE", T0 + 60), T0, True, True),
            (record("COMPLIANCE", T0 + 60), T0 + 61, False, False),
            (record("GOVERNANCE", T0 + 60), T0 + 60, False, False),
            (record(hold=True), T0, True, True),
            (record("GOVERNANCE", T0 - 1, hold=True), T0, True, True),
        ]
        for md, now, bypass, expected in rows:
            self.assertEqual(lock.protection(md, now, bypass) is not None, expected,
                             (md, now, bypass))

    def test_dates(self):
        self.assertEqual(lock.parse_date("2030-01-01T00:00:00Z"), 1893456000.0)
        self.assertEqual(lock.parse_date("2030-01-01T01:00:00+01:00"), 1893456000.0)
        self.assertEqual(lock.format_date(1893456000.5), "2030-01-01T00:00:00.500Z")
        self.assertRaises(ValueError, lock.parse_date, "soon")

    def test_periods(self):
        start = lock.parse_date("2028-02-29T12:00:00Z")
        self.assertEqual(lock.format_date(lock.add_period(start, years=1)),
                         "2029-02-28T12:00:00.000Z")
        self.assertEqual(lock.add_period(start, days=2), start + 2 * 86400)
        self.assertEqual(lock.days_left(record("GOVERNANCE", T0 + 86400 * 3.5), T0), 3)


class ServiceTests(unittest.SynchronousTestCase):
    """The metadata service refuses to delete a protected version itself."""

    def setUp(self):
        self.now = T0
        self.md = MetadataService(MemoryKV(), clock=lambda: self.now)
        self.successResultOf(self.md.create_bucket("b", {"name": "b", "owner": "o",
                                                         "creation-date": 0}))

    def put(self, **fields) -> str:
        md = {"key": "k", "size": 0, "etag": "", "last-modified": 0, "location": [], **fields}
        result = self.successResultOf(self.md.put_object("b", "k", md, {"versioning": True}))
        return result["versionId"]

    def test_locked_version_refused_until_it_expires(self):
        vid = self.put(retentionMode="COMPLIANCE", retentionDate=lock.format_date(T0 + 10))
        self.failureResultOf(self.md.delete_object("b", "k", {"versionId": vid}),
                             lock.ObjectLocked)
        self.failureResultOf(self.md.delete_object(
            "b", "k", {"versionId": vid, "bypassGovernanceRetention": True}), lock.ObjectLocked)
        self.now = T0 + 11
        self.successResultOf(self.md.delete_object("b", "k", {"versionId": vid}))

    def test_governance_bypass_and_legal_hold(self):
        vid = self.put(retentionMode="GOVERNANCE", retentionDate=lock.format_date(T0 + 10))
        self.failureResultOf(self.md.delete_object("b", "k", {"versionId": vid}),
                             lock.ObjectLocked)
        self.successResultOf(self.md.delete_object(
            "b", "k", {"versionId": vid, "bypassGovernanceRetention": True}))
        held = self.put(legalHold=True)
        self.failureResultOf(self.md.delete_object(
            "b", "k", {"versionId": held, "bypassGovernanceRetention": True}), lock.ObjectLocked)

    def test_bad_bypass_option(self):
        vid = self.put()
        self.failureResultOf(self.md.delete_object(
            "b", "k", {"versionId": vid, "bypassGovernanceRetention": "yes"}))
