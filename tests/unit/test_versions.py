"""Tests for cloudserver.s3.model.versions: how object handlers take part in versioning."""
from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata import version_id
from cloudserver.s3.errors import S3Error
from cloudserver.s3.model.versions import (
    client_version_id,
    freed_records,
    parse_version_param,
    refuse_version_param,
    result_version_id,
    shown_version_id,
    write_options,
)

INTERNAL = version_id.format_version_id(1_700_000_000_000, 3, "RG001")
ENCODED = version_id.encode(INTERNAL)


class VersionsTests(SynchronousTestCase):
    def test_write_options(self):
        """The docs' metadata options for each bucket versioning state."""
        self.assertIsNone(write_options({}))
        self.assertIsNone(write_options({"versioning": None}))
        self.assertEqual(write_options({"versioning": "Enabled"}), {"versioning": True})
        self.assertEqual(write_options({"versioning": "Suspended"}), {"versionId": ""})

    def test_parse_version_param(self):
        self.assertIsNone(parse_version_param(None))
        self.assertEqual(parse_version_param("null"), "null")
        self.assertEqual(parse_version_param(ENCODED), INTERNAL)
        self.assertEqual(parse_version_param(INTERNAL.encode().hex()), INTERNAL)
        for bad in ("", "garbage", "0" * 32, ENCODED[:-1], "zz" * 20):
            e = self.assertRaises(S3Error, parse_version_param, bad)
            self.assertEqual((e.code, e.message), ("InvalidArgument",
                                                   "Invalid version id specified"))

    def test_refuse_version_param(self):
        """PUT /key?versionId=... (and copy, complete) never overwrite a version."""
        refuse_version_param({})
        refuse_version_param({"uploadId": "x"})
        for value in (ENCODED, "null", ""):
            e = self.assertRaises(S3Error, refuse_version_param, {"versionId": value})
            self.assertEqual(e.code, "InvalidArgument")

    def test_client_version_id(self):
        self.assertIsNone(client_version_id({"key": "k"}))  # never versioned
        self.assertEqual(client_version_id({"versionId": INTERNAL}), ENCODED)
        self.assertEqual(client_version_id({"versionId": INTERNAL, "isNull": True}), "null")
        self.assertEqual(result_version_id({"versionId": INTERNAL, "isNull": False}), ENCODED)
        self.assertEqual(result_version_id({"versionId": INTERNAL, "isNull": True}), "null")
        self.assertIsNone(result_version_id({}))

    def test_shown_version_id(self):
        """An id-less record is the null version once the bucket has a
        versioning state, and has no version in a never-versioned bucket."""
        for state in ("Enabled", "Suspended"):
            bucket = {"versioning": state}
            self.assertEqual(shown_version_id({"key": "k"}, bucket), "null")
            self.assertEqual(shown_version_id({"versionId": INTERNAL}, bucket), ENCODED)
            self.assertEqual(shown_version_id({"versionId": INTERNAL, "isNull": True},
                                              bucket), "null")
        self.assertIsNone(shown_version_id({"key": "k"}, {}))
        self.assertIsNone(shown_version_id({"key": "k"}, {"versioning": None}))

    def test_upstream_ids_parse(self):
        """Upstream's longer ids are well-formed: they name no version here."""
        longer = INTERNAL + "instance"
        self.assertEqual(parse_version_param(longer.encode().hex()), longer)

    def test_freed_records(self):
        old = {"location": [{"key": "a"}]}
        marker = {"isDeleteMarker": True, "location": []}
        self.assertEqual(freed_records({}), [])
        self.assertEqual(freed_records(None), [])
        self.assertEqual(freed_records(old), [old])  # unversioned: the replaced record
        self.assertEqual(freed_records({"versionId": INTERNAL, "deleted": [old, marker]}),
                         [old])
