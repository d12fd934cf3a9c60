# -*- test-case-name: tests.unit.test_ops_bucket -*-
"""CreateBucket / HeadBucket / GetBucketLocation with the default
locationConfig.json: every location constraint upstream ships is accepted,
and ``EU`` stays ``EU`` for GetBucketLocation but is eu-west-1 as a region."""
from __future__ import annotations

from twisted.internet.task import Clock

from cloudserver.config import load_config
from cloudserver.metadata.kv import MemoryKV
from cloudserver.metadata.service import MetadataService
from cloudserver.s3.context import Backend
from cloudserver.s3.ops.bucket import bucket_region
from tests.unit.test_acl_ops import Harness
from tests.unit.test_config import UPSTREAM_LOCATIONS


def create_body(location: str) -> bytes:
    return (b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<LocationConstraint>" + location.encode() + b"</LocationConstraint>"
            b"</CreateBucketConfiguration>")


class DefaultLocationTests(Harness):

    def setUp(self):
        super().setUp()
        config = load_config({"S3BACKEND": "mem"})
        self.backend = Backend(config=config, metadata=MetadataService(MemoryKV()), data=None,
                               clock=Clock(), accounts=self.accounts)

    def create(self, bucket: str, location: str):
        return self.ctx("PUT", f"/{bucket}", body=create_body(location))

    def test_every_upstream_location_constraint(self):
        for n, location in enumerate(UPSTREAM_LOCATIONS):
            bucket = f"bucket-{n}"
            self.assertEqual(self.call(self.create(bucket, location)).status, 200, location)
            body = self.call(self.ctx("GET", f"/{bucket}", query={"location": ""})).body
            expected = b"" if location == "us-east-1" else location.encode()
            self.assertIn(b">" + expected + b"</LocationConstraint>"
                          if expected else b"/>", body)

    def test_eu_is_eu_west_1_as_a_region(self):
        self.call(self.create("legacy-eu", "EU"))
        location = self.call(self.ctx("GET", "/legacy-eu", query={"location": ""})).body
        self.assertIn(b">EU</LocationConstraint>", location)
        head = self.call(self.ctx("HEAD", "/legacy-eu"))
        self.assertIn(("x-amz-bucket-region", "eu-west-1"), head.headers)

    def test_unknown_location_still_rejected(self):
        error = self.call_fails(self.create("nowhere", "mars-west-1"))
        self.assertEqual(error.code, "InvalidLocationConstraint")

    def test_bucket_region(self):
        self.assertEqual([bucket_region(x) for x in (None, "", "EU", "us-west-2", "eu-west-1")],
                         ["us-east-1", "us-east-1", "eu-west-1", "us-west-2", "eu-west-1"])
