"""Location selection rules, locationConfig.json validation, the Locations
registry and the healthcheck access rule."""

from __future__ import annotations

import base64

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.config import ConfigError, resolve_locations, validate_locations
from cloudserver.data.locations import Locations
from cloudserver.data.memory import MemoryDataStore
from cloudserver.s3.errors import S3Error
from cloudserver.s3.http.healthcheck import client_allowed
from cloudserver.s3.model.placement import choose_location

KEY = base64.b64encode(b"k" * 32).decode()
LOCS = {
    "us-east-1": {"type": "file", "legacyAwsBehavior": True, "details": {}},
    "aws": {"type": "aws_s3", "legacyAwsBehavior": False, "details": {
        "awsEndpoint": "s3.amazonaws.com", "bucketName": "b", "bucketMatch": True,
        "credentialsProfile": "p"}},
    "az": {"type": "azure", "legacyAwsBehavior": False, "details": {
        "azureStorageEndpoint": "https://acct.blob.core.windows.net/",
        "azureContainerName": "box", "azureStorageAccountName": "acct",
        "azureStorageAccessKey": KEY, "bucketMatch": False}},
}
REST = {"localhost": "us-east-1", "cloud.example": "aws"}


class ChooseLocationTests(SynchronousTestCase):
    """Header, then bucket, then the Host's restEndpoints default."""

    def test_header_wins(self):
        self.assertEqual(choose_location(LOCS, REST, "az", "aws", "localhost"), "az")

    def test_bucket_location_next(self):
        self.assertEqual(choose_location(LOCS, REST, None, "aws", "localhost"), "aws")

    def test_endpoint_default_last(self):
        self.assertEqual(choose_location(LOCS, REST, None, None, "cloud.example:8000"), "aws")
        self.assertEqual(choose_location(LOCS, REST, None, "", "localhost"), "us-east-1")

    def test_unknown_host_is_us_east_1(self):
        self.assertEqual(choose_location(LOCS, REST, None, None, "10.1.2.3:8000"),
                         "us-east-1")

    def test_unknown_header_location(self):
        e = self.assertRaises(S3Error, choose_location, LOCS, REST, "nope", "aws", "x")
        self.assertEqual(e.code, "InvalidArgument")
        self.assertIn('"nope"', e.message)

    def test_unknown_bucket_location(self):
        e = self.assertRaises(S3Error, choose_location, LOCS, REST, None, "gone", "x")
        self.assertEqual(e.code, "InvalidArgument")
        self.assertIn("Bucket Location Error", e.message)

    def test_endpoint_naming_unknown_location(self):
        e = self.assertRaises(S3Error, choose_location, LOCS, {"h": "gone"}, None, None, "h")
        self.assertIn("Endpoint Location Error", e.message)


def _with(name: str, **details) -> dict:
    locs = {k: {**v, "details": dict(v["details"])} for k, v in LOCS.items()}
    for field, value in details.items():
        if value is None:
            locs[name]["details"].pop(field, None)
        else:
            locs[name]["details"][field] = value
    return locs


class ValidateLocationsTests(SynchronousTestCase):
    def assertRejected(self, locs, *words):
        e = self.assertRaises(ConfigError, validate_locations, locs)
        for word in words:
            self.assertIn(word, str(e))

    def test_valid(self):
        validate_locations(LOCS)

    def test_us_east_1_required(self):
        self.assertRejected({"aws": LOCS["aws"]}, "us-east-1")

    def test_top_level_fields(self):
        self.assertRejected({**LOCS, "x": {"type": "file", "details": {}}},
                            "'x'", "legacyAwsBehavior")
        self.assertRejected({**LOCS, "x": {"type": "ftp", "legacyAwsBehavior": True,
                                           "details": {}}}, "'x'", "ftp")

    def test_aws_fields(self):
        self.assertRejected(_with("aws", bucketName=None), "'aws'", "bucketName")
        self.assertRejected(_with("aws", awsEndpoint=""), "'aws'", "awsEndpoint")
        self.assertRejected(_with("aws", bucketMatch="yes"), "'aws'", "bucketMatch")
        self.assertRejected(_with("aws", https="no"), "'aws'", "https")
        self.assertRejected(_with("aws", serverSideEncryption=1), "serverSideEncryption")
        self.assertRejected(_with("aws", credentials={"accessKey": "a", "secretKey": "s"}),
                            "'aws'", "credentials")  # both ways at once
        self.assertRejected(_with("aws", credentialsProfile=None,
                                  credentials={"accessKey": "a"}),
                            "'aws'", "credentials.secretKey")
        validate_locations(_with("aws", credentialsProfile=None,
                                 credentials={"accessKey": "a", "secretKey": "s"}))

    def test_azure_fields(self):
        self.assertRejected(_with("az", azureContainerName="Bad_Name"), "'az'",
                            "azureContainerName")
        self.assertRejected(_with("az", azureStorageEndpoint="acct.blob"), "'az'",
                            "azureStorageEndpoint")
        self.assertRejected(_with("az", azureStorageAccessKey="not base64!"), "'az'",
                            "azureStorageAccessKey")
        self.assertRejected(_with("az", azureStorageAccountName=None), "'az'",
                            "azureStorageAccountName")
        self.assertRejected(_with("az", bucketMatch=None), "'az'", "bucketMatch")

    def test_azure_environment_overrides(self):
        locs = _with("az", azureStorageAccountName=None, azureStorageAccessKey=None)
        env = {"az_AZURE_STORAGE_ACCOUNT_NAME": "other",
               "az_AZURE_STORAGE_ACCESS_KEY": KEY,
               "az_AZURE_STORAGE_ENDPOINT": "http://127.0.0.1:10000/other"}
        resolved = resolve_locations(locs, env)
        details = resolved["az"]["details"]
        self.assertEqual(details["azureStorageAccountName"], "other")
        self.assertEqual(details["azureStorageEndpoint"], "http://127.0.0.1:10000/other")
        self.assertNotIn("azureStorageAccountName", locs["az"]["details"])  # not mutated
        self.assertRaises(ConfigError, resolve_locations, locs, {})


class LocationsRegistryTests(SynchronousTestCase):
    def setUp(self):
        self.default = MemoryDataStore()
        self.other = MemoryDataStore()
        self.locs = Locations(self.default, {"us-east-1": self.default, "mem2": self.other},
                              {"us-east-1": "file", "mem2": "mem", "aws": "aws_s3"},
                              multiple=True, clock=Clock())

    def _put(self, store, data: bytes) -> str:
        writer = store.create_writer()
        writer.write(data)
        return self.successResultOf(writer.finish())

    def test_pieces_name_their_location(self):
        self.assertEqual(self.locs.piece("mem2", "k", 0, 3),
                         {"key": "k", "start": 0, "size": 3, "loc": "mem2"})
        single = Locations.single(self.default)
        self.assertEqual(single.piece("mem2", "k", 0, 3), {"key": "k", "start": 0, "size": 3})
        self.assertIs(single.store("anything"), self.default)

    def test_piece_without_loc_is_in_the_default_store(self):
        key = self._put(self.default, b"old")
        self.assertIs(self.locs.store(None), self.default)
        self.successResultOf(self.locs.delete({"key": key, "start": 0, "size": 3}))
        self.assertNotIn(key, self.default)

    def test_delete_goes_to_the_named_store(self):
        key = self._put(self.other, b"abc")
        self.successResultOf(self.locs.delete({"key": key, "loc": "mem2"}))
        self.assertNotIn(key, self.other)

    def test_remote_parts_are_not_deleted_one_by_one(self):
        self.successResultOf(self.locs.delete({"key": "etag", "loc": "aws",
                                               "remotePart": True}))

    def test_is_remote(self):
        self.assertTrue(self.locs.is_remote("aws"))
        self.assertFalse(self.locs.is_remote("mem2"))
        self.assertFalse(Locations.single(self.default).is_remote("aws"))

    def test_piece_id_includes_location(self):
        self.assertNotEqual(Locations.piece_id({"key": "/k", "loc": "a"}),
                            Locations.piece_id({"key": "/k", "loc": "b"}))

    def test_healthcheck_is_cached(self):
        calls = []

        class Remote:
            def healthcheck(self):
                calls.append(1)
                return defer.succeed({"code": 200, "message": "OK"})

        clock = Clock()
        locs = Locations(self.default, {"us-east-1": self.default, "r": Remote()},
                         {"us-east-1": "file", "r": "aws_s3"}, multiple=True, clock=clock)
        first = self.successResultOf(locs.healthcheck())
        self.assertEqual(first["r"], {"code": 200, "message": "OK"})
        self.assertEqual(first["us-east-1"]["code"], 200)
        self.successResultOf(locs.healthcheck())
        self.assertEqual(len(calls), 1)
        clock.advance(10)
        self.successResultOf(locs.healthcheck())
        self.assertEqual(len(calls), 2)

    def test_failed_healthcheck_is_503(self):
        class Broken:
            def healthcheck(self):
                return defer.fail(RuntimeError("boom"))

        locs = Locations(self.default, {"us-east-1": self.default, "r": Broken()},
                         {"r": "azure"}, multiple=True, clock=Clock())
        self.assertEqual(self.successResultOf(locs.healthcheck())["r"]["code"], 503)


class HealthcheckAccessTests(SynchronousTestCase):
    def test_loopback_default(self):
        allow = ("127.0.0.1/8", "::1")
        self.assertTrue(client_allowed("127.0.0.1", allow))
        self.assertTrue(client_allowed("127.3.4.5", allow))
        self.assertTrue(client_allowed("::1", allow))
        self.assertTrue(client_allowed("::ffff:127.0.0.1", allow))
        self.assertFalse(client_allowed("10.0.0.1", allow))
        self.assertFalse(client_allowed("not-an-ip", allow))

    def test_bad_entries_are_skipped(self):
        self.assertTrue(client_allowed("192.168.1.7", ["junk", "192.168.1.0/24"]))
