# -*- test-case-name: tests.unit.test_ownership -*-
"""S3 Object Ownership: the model (who owns a new object), the
OwnershipControls codec, the ACL guards, and the operations over the memory
metadata service (no sockets)."""
from __future__ import annotations

import json
import os

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.config import OBJECT_OWNERSHIP_SETTINGS, ConfigError, load_config
from cloudserver.metadata.kv import MemoryKV
from cloudserver.metadata.schema import BucketRecord as Bkt
from cloudserver.metadata.service import MetadataService
from cloudserver.s3.access import acl, authorize
from cloudserver.s3.access import ownership as guard
from cloudserver.s3.context import Backend
from cloudserver.s3.errors import S3Error
from cloudserver.s3.model import ownership
from cloudserver.s3.model.ownership import (
    BUCKET_OWNER_ENFORCED, BUCKET_OWNER_PREFERRED, OBJECT_WRITER)
from cloudserver.s3.ops.acl import object_acl_from_request, object_owner
from cloudserver.s3.xml.ownership import ownership_controls_xml, parse_ownership_controls
from tests.unit.test_acl import BART, LISA, grant, policy
from tests.unit.test_acl_ops import Harness

NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'


def controls(value: str, ns: str = NS) -> bytes:
    return (f"<OwnershipControls {ns}><Rule><ObjectOwnership>{value}</ObjectOwnership>"
            f"</Rule></OwnershipControls>").encode()


def bucket(setting: str | None) -> dict:
    attrs = {Bkt.NAME: "b", Bkt.OWNER: BART, Bkt.ACL: acl.private(BART).to_record()}
    if setting is not None:
        attrs[Bkt.OBJECT_OWNERSHIP] = setting
    return attrs


class ModelTests(SynchronousTestCase):
    def test_records_without_the_setting_are_object_writer(self):
        self.assertEqual(ownership.setting(bucket(None)), OBJECT_WRITER)
        self.assertIsNone(ownership.stored(bucket(None)))
        self.assertFalse(ownership.acls_disabled(bucket(None)))
        self.assertTrue(ownership.acls_disabled(bucket(BUCKET_OWNER_ENFORCED)))
        self.assertFalse(ownership.acls_disabled(bucket(BUCKET_OWNER_PREFERRED)))

    def test_new_object_owner(self):
        bfc = "bucket-owner-full-control"
        table = [  # setting, writer, x-amz-acl -> owner
            (None, LISA, None, LISA), (None, LISA, bfc, LISA),
            (OBJECT_WRITER, LISA, bfc, LISA), (OBJECT_WRITER, BART, None, BART),
            (BUCKET_OWNER_PREFERRED, LISA, None, LISA),
            (BUCKET_OWNER_PREFERRED, LISA, "private", LISA),
            (BUCKET_OWNER_PREFERRED, LISA, bfc, BART),
            (BUCKET_OWNER_PREFERRED, LISA, f" {bfc} ", BART),
            (BUCKET_OWNER_ENFORCED, LISA, None, BART),
            (BUCKET_OWNER_ENFORCED, LISA, bfc, BART),
            (BUCKET_OWNER_ENFORCED, acl.ANONYMOUS_ID, None, BART),
        ]
        for setting, writer, canned, owner in table:
            self.assertEqual(ownership.new_object_owner(bucket(setting), writer, canned),
                             owner, (setting, writer, canned))

    def test_check_setting(self):
        for value in ownership.SETTINGS:
            self.assertEqual(ownership.check_setting(value, header=True), value)
        e = self.assertRaises(S3Error, ownership.check_setting, "Nobody", header=True)
        self.assertEqual((e.code, e.message),
                         ("InvalidArgument", "Invalid x-amz-object-ownership header: Nobody"))
        e = self.assertRaises(S3Error, ownership.check_setting, "bucketownerenforced")
        self.assertEqual(e.code, "MalformedXML")

    def test_config_knows_the_same_settings(self):
        self.assertEqual(sorted(OBJECT_OWNERSHIP_SETTINGS), sorted(ownership.SETTINGS))


class CodecTests(SynchronousTestCase):
    def test_round_trip(self):
        for value in ownership.SETTINGS:
            self.assertEqual(parse_ownership_controls(ownership_controls_xml(value)), value)
            self.assertEqual(parse_ownership_controls(controls(value, ns="")), value)
        self.assertIn(b"<Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule>",
                      ownership_controls_xml(OBJECT_WRITER))

    def test_malformed(self):
        bad = [
            b"", b"<OwnershipControls", controls("Everyone"), controls(""),
            b"<OwnershipControls/>",
            f"<OwnershipControls {NS}><Rule/></OwnershipControls>".encode(),
            f"<Other {NS}><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule>"
            "</Other>".encode(),
            controls("ObjectWriter").replace(b"</Rule>", b"</Rule><Rule><ObjectOwnership>"
                                             b"ObjectWriter</ObjectOwnership></Rule>"),
            controls("ObjectWriter").replace(b"</ObjectOwnership>",
                                             b"</ObjectOwnership><Extra/>"),
        ]
        for body in bad:
            e = self.assertRaises(S3Error, parse_ownership_controls, body)
            self.assertEqual(e.code, "MalformedXML", body)


class GuardTests(SynchronousTestCase):
    def test_acls_allowed_unless_enforced(self):
        public = acl.canned("public-read", LISA)
        for setting in (None, OBJECT_WRITER, BUCKET_OWNER_PREFERRED):
            guard.check_acl_allowed(bucket(setting), "public-read", public)

    def test_enforced_allows_no_acl_and_the_bucket_owners_full_control(self):
        enforced = bucket(BUCKET_OWNER_ENFORCED)
        guard.check_acl_allowed(enforced, None, None)
        guard.check_acl_allowed(enforced, "bucket-owner-full-control",
                                acl.canned("bucket-owner-full-control", LISA, BART))
        guard.check_acl_allowed(enforced, None, acl.Acl(LISA, (
            acl.Grant(acl.CANONICAL_USER, BART, acl.FULL_CONTROL),)))

    def test_enforced_refuses_other_acls(self):
        enforced = bucket(BUCKET_OWNER_ENFORCED)
        refused = [
            ("private", acl.private(BART)), ("public-read", acl.canned("public-read", BART)),
            (None, acl.Acl(BART, (acl.Grant(acl.CANONICAL_USER, BART, acl.READ),))),
            (None, acl.Acl(BART, (acl.Grant(acl.CANONICAL_USER, LISA, acl.FULL_CONTROL),))),
            (None, acl.Acl(BART, ())),
        ]
        for canned, requested in refused:
            e = self.assertRaises(S3Error, guard.check_acl_allowed, enforced, canned,
                                  requested)
            self.assertEqual((e.code, e.status, e.message),
                             ("AccessControlListNotSupported", 400,
                              "The bucket does not allow ACLs"))

    def test_enforced_needs_an_owner_only_bucket_acl(self):
        guard.check_enforced_allowed(BUCKET_OWNER_ENFORCED, acl.private(BART))
        guard.check_enforced_allowed(BUCKET_OWNER_PREFERRED, acl.canned("public-read", BART))
        for a in (acl.canned("public-read", BART), acl.canned("log-delivery-write", BART),
                  acl.Acl(BART, (acl.Grant(acl.CANONICAL_USER, LISA, acl.WRITE),))):
            e = self.assertRaises(S3Error, guard.check_enforced_allowed,
                                  BUCKET_OWNER_ENFORCED, a)
            self.assertEqual((e.code, e.status), ("InvalidBucketAclWithObjectOwnership", 400))

    def test_effective_acls(self):
        enforced = dict(bucket(BUCKET_OWNER_ENFORCED),
                        acl=acl.canned("public-read", BART).to_record())
        lisas = {"owner": LISA, "acl": acl.canned("public-read", LISA).to_record()}
        self.assertEqual(guard.effective_bucket_acl(enforced), acl.private(BART))
        self.assertEqual(guard.effective_object_acl(enforced, lisas), acl.private(BART))
        self.assertEqual(guard.effective_object_acl(bucket(None), lisas),
                         acl.canned("public-read", LISA))


class OwnershipHarness(Harness):
    """Bart's bucket "b" (private) with an object "k" of Bart's and "lisa" of Lisa's."""

    def setUp(self):
        super().setUp()
        self.put_object("lisa", LISA)

    def set_ownership(self, value: str):
        return self.ctx("PUT", "/b", query={"ownershipControls": ""}, body=controls(value))

    def get_ownership(self):
        return self.ctx("GET", "/b", query={"ownershipControls": ""})

    def attrs(self) -> dict:
        return self.successResultOf(self.backend.metadata.get_bucket("b"))


class ControlsOperationTests(OwnershipHarness):
    def test_none_until_put(self):
        e = self.call_fails(self.get_ownership())
        self.assertEqual((e.code, e.status), ("OwnershipControlsNotFoundError", 404))
        self.assertEqual(e.message, "The bucket ownership controls were not found")

    def test_put_get_delete(self):
        for value in ownership.SETTINGS:
            self.assertEqual(self.call(self.set_ownership(value)).status, 200)
            self.assertIn(f"<ObjectOwnership>{value}</ObjectOwnership>".encode(),
                          self.call(self.get_ownership()).body)
            self.assertEqual(self.attrs()[Bkt.OBJECT_OWNERSHIP], value)
        self.assertEqual(self.call(self.ctx("DELETE", "/b", query={
            "ownershipControls": ""})).status, 204)
        self.assertNotIn(Bkt.OBJECT_OWNERSHIP, self.attrs())
        self.assertEqual(self.call_fails(self.get_ownership()).code,
                         "OwnershipControlsNotFoundError")

    def test_bad_document_stores_nothing(self):
        self.call(self.set_ownership(OBJECT_WRITER))
        e = self.call_fails(self.set_ownership("Everyone"))
        self.assertEqual(e.code, "MalformedXML")
        self.assertEqual(self.attrs()[Bkt.OBJECT_OWNERSHIP], OBJECT_WRITER)

    def test_only_the_owner(self):
        e = self.call_fails(self.ctx("PUT", "/b", who=LISA, query={"ownershipControls": ""},
                                     body=controls(OBJECT_WRITER)))
        self.assertEqual(e.code, "AccessDenied")

    def test_enforced_refused_while_the_bucket_acl_grants_others(self):
        self.set_bucket_acl("public-read")
        e = self.call_fails(self.set_ownership(BUCKET_OWNER_ENFORCED))
        self.assertEqual(e.code, "InvalidBucketAclWithObjectOwnership")
        self.assertNotIn(Bkt.OBJECT_OWNERSHIP, self.attrs())
        self.call(self.set_ownership(BUCKET_OWNER_PREFERRED))  # ACLs stay enabled
        self.set_bucket_acl("private")
        self.call(self.set_ownership(BUCKET_OWNER_ENFORCED))
        self.assertEqual(self.attrs()[Bkt.OBJECT_OWNERSHIP], BUCKET_OWNER_ENFORCED)


class EnforcedAclTests(OwnershipHarness):
    def setUp(self):
        super().setUp()
        self.call(self.set_ownership(BUCKET_OWNER_ENFORCED))

    def test_put_bucket_acl_refused(self):
        for headers in ({"x-amz-acl": "private"}, {"x-amz-acl": "public-read"},
                        {"x-amz-grant-read": f'id="{LISA}"'}):
            e = self.call_fails(self.ctx("PUT", "/b", query={"acl": ""}, headers=headers))
            self.assertEqual(e.code, "AccessControlListNotSupported", headers)
        body = policy(BART, grant("CanonicalUser", "ID", LISA, "READ"))
        e = self.call_fails(self.ctx("PUT", "/b", query={"acl": ""}, body=body))
        self.assertEqual(e.code, "AccessControlListNotSupported")
        self.assertEqual(self.bucket_acl(), acl.private(BART))

    def test_put_bucket_acl_of_the_owners_full_control(self):
        self.call(self.ctx("PUT", "/b", query={"acl": ""},
                           headers={"x-amz-acl": "bucket-owner-full-control"}))
        body = policy(BART, grant("CanonicalUser", "ID", BART, "FULL_CONTROL"))
        self.call(self.ctx("PUT", "/b", query={"acl": ""}, body=body))

    def test_put_object_acl_refused(self):
        e = self.call_fails(self.ctx("PUT", "/b/k", query={"acl": ""},
                                     headers={"x-amz-acl": "public-read"}))
        self.assertEqual(e.code, "AccessControlListNotSupported")
        self.assertEqual(self.object_acl("k"), acl.private(BART))

    def test_reads_answer_the_bucket_owners_full_control(self):
        for path in ("/b/k", "/b/lisa"):
            body = self.call(self.ctx("GET", path, query={"acl": ""})).body
            self.assertIn(f"<Owner><ID>{BART}</ID><DisplayName>Bart</DisplayName>".encode(),
                          body, path)
            self.assertEqual(body.count(b"<Grant>"), 1, path)
            self.assertIn(b"<Permission>FULL_CONTROL</Permission>", body)
            self.assertNotIn(LISA.encode(), body)

    def test_grants_decide_nothing(self):
        self.put_object("pub", LISA, acl.canned("public-read", LISA))
        md = self.successResultOf(self.backend.metadata.get_object("b", "lisa"))
        attrs = self.attrs()
        read = self.ctx("GET", "/b/lisa")
        self.assertTrue(authorize(read, attrs, md).allowed)  # Bart owns it now
        lisa = self.ctx("GET", "/b/lisa", who=LISA)
        self.assertFalse(authorize(lisa, attrs, md).allowed)
        pub = self.successResultOf(self.backend.metadata.get_object("b", "pub"))
        self.assertFalse(authorize(self.ctx("GET", "/b/pub", who=None), attrs, pub).allowed)


class NewObjectOwnerTests(OwnershipHarness):
    """object_acl_from_request + object_owner: what PutObject, CopyObject,
    CreateMultipartUpload and PostObject store for Lisa writing into Bart's
    bucket."""

    def new(self, setting: str | None, headers: dict | None = None):
        attrs = bucket(setting)
        attrs[Bkt.OWNER_NAME] = "Bart"
        ctx = self.ctx("PUT", "/b/new", who=LISA, headers=headers)
        new = object_acl_from_request(ctx, attrs)
        return new, object_owner(ctx, attrs, new)

    def test_object_writer(self):
        new, owner = self.new(None, {"x-amz-acl": "bucket-owner-full-control"})
        self.assertEqual(owner, (LISA, "Lisa"))
        self.assertEqual(new, acl.canned("bucket-owner-full-control", LISA, BART))

    def test_preferred(self):
        new, owner = self.new(BUCKET_OWNER_PREFERRED,
                              {"x-amz-acl": "bucket-owner-full-control"})
        self.assertEqual((new, owner), (acl.private(BART), (BART, "Bart")))
        new, owner = self.new(BUCKET_OWNER_PREFERRED, {"x-amz-acl": "public-read"})
        self.assertEqual((new, owner), (acl.canned("public-read", LISA), (LISA, "Lisa")))
        self.assertEqual(self.new(BUCKET_OWNER_PREFERRED)[1], (LISA, "Lisa"))

    def test_enforced(self):
        for headers in (None, {"x-amz-acl": "bucket-owner-full-control"},
                        {"x-amz-grant-full-control": f'id="{BART}"'}):
            new, owner = self.new(BUCKET_OWNER_ENFORCED, headers)
            self.assertEqual((new, owner), (acl.private(BART), (BART, "Bart")), headers)
        for headers in ({"x-amz-acl": "private"}, {"x-amz-acl": "public-read"},
                        {"x-amz-grant-read": f'id="{LISA}"'}):
            e = self.assertRaises(S3Error, self.new, BUCKET_OWNER_ENFORCED, headers)
            self.assertEqual(e.code, "AccessControlListNotSupported", headers)


class CreateBucketTests(Harness):
    def use_config(self, extra: dict | None = None):
        path = self.mktemp()
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "conf",
                               "config.json")) as f:
            raw = json.load(f)
        raw.update(extra or {})
        with open(path, "w") as f:
            json.dump(raw, f)
        config = load_config({"S3BACKEND": "mem", "S3_CONFIG_FILE": path})
        self.backend = Backend(config=config, metadata=MetadataService(MemoryKV()), data=None,
                               clock=Clock(), accounts=self.accounts)
        return config

    def create(self, name: str, **headers):
        return self.ctx("PUT", f"/{name}", headers={
            k.replace("_", "-"): v for k, v in headers.items()})

    def stored(self, name: str):
        return self.successResultOf(self.backend.metadata.get_bucket(name)).get(
            Bkt.OBJECT_OWNERSHIP)

    def test_default_is_no_controls(self):
        self.assertEqual(self.use_config().default_object_ownership, OBJECT_WRITER)
        self.call(self.create("plain"))
        self.assertIsNone(self.stored("plain"))

    def test_header(self):
        self.use_config()
        for n, value in enumerate(ownership.SETTINGS):
            self.call(self.create(f"bkt{n}", x_amz_object_ownership=value))
            self.assertEqual(self.stored(f"bkt{n}"), value)

    def test_bad_header(self):
        self.use_config()
        e = self.call_fails(self.create("bad", x_amz_object_ownership="Anyone"))
        self.assertEqual((e.code, e.status), ("InvalidArgument", 400))
        self.assertEqual(self.call_fails(self.ctx("HEAD", "/bad")).code, "NoSuchBucket")

    def test_enforced_with_a_public_acl(self):
        self.use_config()
        e = self.call_fails(self.create("pub", x_amz_object_ownership=BUCKET_OWNER_ENFORCED,
                                        x_amz_acl="public-read"))
        self.assertEqual(e.code, "InvalidBucketAclWithObjectOwnership")
        self.call(self.create("pub", x_amz_object_ownership=BUCKET_OWNER_PREFERRED,
                              x_amz_acl="public-read"))

    def test_config_default_enforced(self):
        config = self.use_config({"defaultObjectOwnership": BUCKET_OWNER_ENFORCED})
        self.assertEqual(config.default_object_ownership, BUCKET_OWNER_ENFORCED)
        self.call(self.create("new"))
        self.assertEqual(self.stored("new"), BUCKET_OWNER_ENFORCED)
        self.call(self.create("writer", x_amz_object_ownership=OBJECT_WRITER))
        self.assertEqual(self.stored("writer"), OBJECT_WRITER)
        e = self.call_fails(self.create("pub", x_amz_acl="public-read"))
        self.assertEqual(e.code, "InvalidBucketAclWithObjectOwnership")

    def test_bad_config_value(self):
        e = self.assertRaises(ConfigError, self.use_config, {"defaultObjectOwnership": "x"})
        self.assertIn("defaultObjectOwnership", str(e))
