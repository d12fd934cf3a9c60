# -*- test-case-name: tests.unit.test_replication_ops -*-
"""Put/Get/DeleteBucketReplication over the memory metadata service, and
the versioning state a replication configuration holds."""
from __future__ import annotations

from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.s3.ops import NOT_IMPLEMENTED
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.replication import _check, location_types, replication_headers
from tests.unit.test_acl import LISA
from tests.unit.test_acl_ops import Harness
from tests.unit.test_replication_xml import conf, rule

AWS_DEST = "<Bucket>arn:aws:s3:::dst</Bucket><StorageClass>aws-loc</StorageClass>"
VERSIONING = (b'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
              b"<Status>%s</Status></VersioningConfiguration>")


class FakeConfig:
    locations = {"us-east-1": {"type": "file"}, "aws-loc": {"type": "aws_s3"}}


class OperationTests(Harness):
    def setUp(self):
        super().setUp()
        self.backend.config = FakeConfig()

    def put(self, body: bytes, who=None):
        kw = {} if who is None else {"who": who}
        return self.ctx("PUT", "/b", query={"replication": ""}, body=body, **kw)

    def versioning(self, status: bytes):
        return self.ctx("PUT", "/b", query={"versioning": ""}, body=VERSIONING % status)

    def stored(self):
        return self.successResultOf(self.backend.metadata.get_bucket("b")).get(Bkt.REPLICATION)

    def test_no_longer_not_implemented(self):
        for name in ("GetBucketReplication", "PutBucketReplication",
                     "DeleteBucketReplication"):
            self.assertNotIn(name, NOT_IMPLEMENTED)

    def test_versioning_must_be_enabled(self):
        for status in (None, b"Suspended"):
            if status:
                self.call(self.versioning(status))
            error = self.call_fails(self.put(conf(rule())))
            self.assertEqual((error.code, error.message), (
                "InvalidRequest", "Versioning must be 'Enabled' on the bucket to apply a "
                "replication configuration"))
        self.assertIsNone(self.stored())

    def test_put_get_delete(self):
        get = self.ctx("GET", "/b", query={"replication": ""})
        error = self.call_fails(get)
        self.assertEqual((error.code, error.status),
                         ("ReplicationConfigurationNotFoundError", 404))
        self.call(self.versioning(b"Enabled"))
        self.assertEqual(self.call(self.put(conf(rule(dest=AWS_DEST)))).status, 200)
        self.assertEqual(self.stored()["rules"][0]["storageClass"], "aws-loc")
        self.assertIn(b"<StorageClass>aws-loc</StorageClass>", self.call(get).body)
        # a configuration holds versioning Enabled
        error = self.call_fails(self.versioning(b"Suspended"))
        self.assertEqual(error.code, "InvalidBucketState")
        delete = self.ctx("DELETE", "/b", query={"replication": ""})
        self.assertEqual(self.call(delete).status, 204)
        self.assertIsNone(self.stored())
        self.call(self.versioning(b"Suspended"))

    def test_local_replica_not_into_itself(self):
        ctx = self.put(b"")
        bucket = {Bkt.VERSIONING: "Enabled"}
        types = location_types(FakeConfig())
        into_itself = {"rules": [{"bucket": "b"}]}
        error = self.assertRaises(S3Error, _check, ctx, bucket, into_itself, types)
        self.assertEqual(error.code, "InvalidRequest")
        _check(ctx, bucket, {"rules": [{"bucket": "b", "storageClass": "aws-loc"}]}, types)

    def test_bad_body_changes_nothing(self):
        self.call(self.versioning(b"Enabled"))
        self.call(self.put(conf(rule())))
        before = self.stored()
        self.assertEqual(self.call_fails(self.put(conf(rule(rule_id="a" * 256)))).code,
                         "InvalidArgument")
        self.assertEqual(self.call_fails(self.put(b"<nope")).code, "MalformedXML")
        self.assertEqual(self.stored(), before)

    def test_owner_only(self):
        self.call(self.versioning(b"Enabled"))
        for ctx in (self.put(conf(rule()), who=LISA),
                    self.ctx("GET", "/b", query={"replication": ""}, who=LISA),
                    self.ctx("DELETE", "/b", query={"replication": ""}, who=LISA)):
            self.assertEqual(self.call_fails(ctx).code, "AccessDenied")

    def test_status_header(self):
        self.assertEqual(replication_headers({"replicationStatus": "PENDING"}),
                         [("x-amz-replication-status", "PENDING")])
        self.assertEqual(replication_headers({}), [])
