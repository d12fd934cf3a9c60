# -*- test-case-name: tests.unit.test_acl_ops -*-
"""The ACL operations and the access checks of ops.common, over the memory
metadata service, with fake request bodies and no sockets."""
from __future__ import annotations

from urllib.parse import urlencode

from twisted.internet.defer import Deferred
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata.kv import MemoryKV
from cloudserver.metadata.service import MetadataService
from cloudserver.s3.access import acl
from cloudserver.s3.auth.authenticate import AuthResult
from cloudserver.s3.context import Backend, RequestContext
from cloudserver.s3.errors import S3Error
from cloudserver.s3.access import COPY_SOURCE
from cloudserver.s3.ops import HANDLERS
from cloudserver.s3.ops.common import load_bucket, load_object
from cloudserver.s3.routing import route
from cloudserver.s3.model.versions import client_version_id, parse_version_param
from tests.unit.test_acl import BART, LISA, accounts, grant, policy


class FakeBody:
    """The small-body side of RequestBody."""

    def __init__(self, data: bytes = b""):
        self.data = data

    async def read_all(self, limit: int, decoder=None) -> bytes:
        if len(self.data) > limit:
            raise S3Error("MaxMessageLengthExceeded")
        return self.data


class Harness(SynchronousTestCase):
    """A bucket "b" of Bart's holding Bart's object "k" (both private)."""

    def setUp(self):
        self.accounts = accounts()
        self.backend = Backend(config=None, metadata=MetadataService(MemoryKV()), data=None,
                               clock=Clock(), accounts=self.accounts)
        md = self.backend.metadata
        self.successResultOf(md.create_bucket("b", {
            "name": "b", "owner": BART, "owner-name": "Bart",
            "acl": acl.private(BART).to_record()}))
        self.put_object("k", BART)

    def put_object(self, key: str, owner: str, object_acl: acl.Acl | None = None):
        record = {"key": key, "size": 0, "etag": "e", "last-modified": 1.0,
                  "owner": owner, "location": [],
                  "acl": (object_acl or acl.private(owner)).to_record()}
        self.successResultOf(self.backend.metadata.put_object("b", key, record))

    def ctx(self, method: str, path: str, who: str | None = BART, query: dict | None = None,
            headers: dict | None = None, body: bytes = b"") -> RequestContext:
        hdrs = {k: [v] for k, v in (headers or {}).items()}
        raw_query = urlencode(query or {})
        op = route(method, "localhost", path, raw_query, hdrs, {"localhost": "us-east-1"})
        account = self.accounts.by_canonical_id(who) if who else None
        return RequestContext(op=op, method=method, headers=hdrs,
                              auth=AuthResult(account, 4 if account else None),
                              body=FakeBody(body), backend=self.backend, request_id="R",
                              host="localhost")

    def ok(self, coro):
        return self.successResultOf(Deferred.fromCoroutine(coro))

    def fails(self, coro) -> S3Error:
        return self.failureResultOf(Deferred.fromCoroutine(coro), S3Error).value

    def call(self, ctx: RequestContext):
        return self.ok(HANDLERS[ctx.op.name](ctx))

    def call_fails(self, ctx: RequestContext) -> S3Error:
        return self.fails(HANDLERS[ctx.op.name](ctx))

    def set_bucket_acl(self, name: str):
        self.call(self.ctx("PUT", "/b", query={"acl": ""}, headers={"x-amz-acl": name}))

    def bucket_acl(self) -> acl.Acl:
        return acl.bucket_acl(self.successResultOf(self.backend.metadata.get_bucket("b")))

    def object_acl(self, key: str = "k") -> acl.Acl:
        return acl.object_acl(self.successResultOf(self.backend.metadata.get_object("b", key)))


class BucketAccessTests(Harness):
    def test_missing_bucket_is_no_such_bucket_for_anyone(self):
        for who in (BART, LISA, None):
            e = self.fails(load_bucket(self.ctx("GET", "/nope", who)))
            self.assertEqual(e.code, "NoSuchBucket")
            e = self.fails(load_bucket(self.ctx("GET", "/nope/k", who)))
            self.assertEqual(e.code, "NoSuchBucket")

    def test_private_bucket(self):
        self.ok(load_bucket(self.ctx("GET", "/b")))
        for who in (LISA, None):
            self.assertEqual(self.fails(load_bucket(self.ctx("GET", "/b", who))).code,
                             "AccessDenied")
            self.assertEqual(self.fails(load_bucket(self.ctx("PUT", "/b/new", who))).code,
                             "AccessDenied")

    def test_public_read_write_bucket(self):
        self.set_bucket_acl("public-read-write")
        for who in (LISA, None):
            self.ok(load_bucket(self.ctx("GET", "/b", who)))
            self.ok(load_bucket(self.ctx("PUT", "/b/new", who)))
            self.ok(load_bucket(self.ctx("DELETE", "/b/k", who)))
            # configuration and the ACL itself stay the owner's
            for method, query in (("PUT", {"versioning": ""}), ("DELETE", {}),
                                  ("GET", {"acl": ""})):
                e = self.fails(load_bucket(self.ctx(method, "/b", who, query=query)))
                self.assertEqual(e.code, "AccessDenied")

    def test_bucket_write_covers_objects_of_any_owner(self):
        """Bucket WRITE, to a group or to an account, lets the grantee delete
        (and overwrite) the bucket owner's objects, as upstream does and as
        ceph/s3-tests records AWS doing (test_object_anon_put_write_access,
        test_access_bucket_publicreadwrite_object_*)."""
        cases = [("public-read-write", None, None), ("public-read-write", LISA, None),
                 (None, LISA, f'uri="{acl.AUTHENTICATED_USERS}"'),
                 (None, LISA, f'id="{LISA}"')]
        for canned, who, grant_write in cases:
            self.put_object("k", BART)
            headers = {"x-amz-acl": canned} if canned else {"x-amz-grant-write": grant_write}
            self.call(self.ctx("PUT", "/b", query={"acl": ""}, headers=headers))
            resp = self.call(self.ctx("DELETE", "/b/k", who))
            self.assertEqual(resp.status, 204, (canned, who, grant_write))
            self.failureResultOf(self.backend.metadata.get_object("b", "k"))

    def test_authenticated_users_write_is_not_anonymous_write(self):
        self.call(self.ctx("PUT", "/b", query={"acl": ""}, headers={
            "x-amz-grant-write": f'uri="{acl.AUTHENTICATED_USERS}"'}))
        self.assertEqual(self.call_fails(self.ctx("DELETE", "/b/k", None)).code, "AccessDenied")
        self.successResultOf(self.backend.metadata.get_object("b", "k"))

    def test_authenticated_read_bucket(self):
        self.set_bucket_acl("authenticated-read")
        self.ok(load_bucket(self.ctx("GET", "/b", LISA)))
        self.assertEqual(self.fails(load_bucket(self.ctx("GET", "/b", None))).code,
                         "AccessDenied")

    def test_object_operations_skip_the_bucket_check(self):
        self.ok(load_bucket(self.ctx("GET", "/b/k", None)))

    def test_ignore_public_acls(self):
        self.set_bucket_acl("public-read")
        self.call(self.ctx("PUT", "/b", query={"publicAccessBlock": ""}, body=(
            b"<PublicAccessBlockConfiguration><IgnorePublicAcls>true</IgnorePublicAcls>"
            b"</PublicAccessBlockConfiguration>")))
        self.assertEqual(self.fails(load_bucket(self.ctx("GET", "/b", LISA))).code,
                         "AccessDenied")
        self.ok(load_bucket(self.ctx("GET", "/b", BART)))


class ObjectAccessTests(Harness):
    def test_owner_reads(self):
        md = self.ok(load_object(self.ctx("GET", "/b/k"), "b", "k"))
        self.assertEqual(md["key"], "k")

    def test_private_object(self):
        for who in (LISA, None):
            e = self.fails(load_object(self.ctx("GET", "/b/k", who), "b", "k"))
            self.assertEqual(e.code, "AccessDenied")

    def test_public_read_object_in_private_bucket(self):
        self.put_object("k", BART, acl.canned("public-read", BART))
        for who in (LISA, None):
            self.ok(load_object(self.ctx("GET", "/b/k", who), "b", "k"))
            e = self.fails(load_object(self.ctx("GET", "/b/k", who, query={"acl": ""}),
                                       "b", "k"))
            self.assertEqual(e.code, "AccessDenied")

    def test_bucket_owner_needs_a_grant(self):
        self.put_object("lisa", LISA)
        e = self.fails(load_object(self.ctx("GET", "/b/lisa"), "b", "lisa"))
        self.assertEqual(e.code, "AccessDenied")
        self.put_object("lisa", LISA, acl.canned("bucket-owner-read", LISA, BART))
        self.ok(load_object(self.ctx("GET", "/b/lisa"), "b", "lisa"))

    def test_missing_key(self):
        e = self.fails(load_object(self.ctx("GET", "/b/nope"), "b", "nope"))
        self.assertEqual(e.code, "NoSuchKey")
        # who may not list the bucket learns nothing
        e = self.fails(load_object(self.ctx("GET", "/b/nope", LISA), "b", "nope"))
        self.assertEqual(e.code, "AccessDenied")
        self.set_bucket_acl("public-read")
        e = self.fails(load_object(self.ctx("GET", "/b/nope", None), "b", "nope"))
        self.assertEqual(e.code, "NoSuchKey")

    def test_ignore_public_acls_reads_the_bucket(self):
        self.put_object("k", BART, acl.canned("public-read", BART))
        self.call(self.ctx("PUT", "/b", query={"publicAccessBlock": ""}, body=(
            b"<PublicAccessBlockConfiguration><IgnorePublicAcls>true</IgnorePublicAcls>"
            b"</PublicAccessBlockConfiguration>")))
        e = self.fails(load_object(self.ctx("GET", "/b/k", LISA), "b", "k"))
        self.assertEqual(e.code, "AccessDenied")

    def test_explicit_permission(self):
        self.ok(load_object(self.ctx("GET", "/b/k", LISA), "b", "k", access=None))
        e = self.fails(load_object(self.ctx("PUT", "/b/k2", LISA), "b", "k",
                                   access=COPY_SOURCE))
        self.assertEqual(e.code, "AccessDenied")



async def record_of(loading):
    """The record of what ``load_for_read`` loads (bucket attributes, record)."""
    return (await loading)[1]


class ReadPathTests(Harness):
    """GetObject/HeadObject load bucket and record in one metadata call, with
    the answers of load_bucket + load_current (which other reads use)."""

    def outcome(self, coro):
        d = Deferred.fromCoroutine(coro)
        result = []
        # S3 errors, and metadata errors reaching the resource as they are.
        d.addCallbacks(lambda md: result.append(("ok", md["key"])),
                       lambda f: result.append(("err", f.value.code,
                                                dict(getattr(f.value, "headers", {})))))
        return result[0]

    def compare(self, method, path, who, query=None, headers=None):
        from cloudserver.s3.ops.object_read import load_current, load_for_read

        async def old(ctx):
            await load_bucket(ctx)
            return await load_current(ctx, ctx.bucket, ctx.key, ctx.query.get("versionId"))

        args = (method, path, who, query, headers)
        expected = self.outcome(old(self.ctx(*args)))
        self.assertEqual(self.outcome(record_of(load_for_read(self.ctx(*args)))), expected,
                         args)
        return expected

    def scenarios(self):
        out = []
        for who in (BART, LISA, None):
            for method in ("GET", "HEAD"):
                for path in ("/b/k", "/b/pub", "/b/lisa", "/b/nope", "/nope/k"):
                    for query in (None, {"versionId": "null"}, {"versionId": "bad!"}):
                        for headers in (None, {"x-amz-expected-bucket-owner": "123"}):
                            out.append(self.compare(method, path, who, query, headers))
        return out

    def test_same_answers(self):
        self.put_object("pub", BART, acl.canned("public-read", BART))
        self.put_object("lisa", LISA)
        seen = {o[:2] for o in self.scenarios()}
        self.assertIn(("ok", "k"), seen)
        self.assertIn(("err", "AccessDenied"), seen)
        self.assertIn(("err", "NoSuchKey"), seen)
        self.assertIn(("err", "NoSuchBucket"), seen)
        self.assertIn(("err", "InvalidArgument"), seen)

    def test_same_answers_ignoring_public_acls(self):
        self.put_object("pub", BART, acl.canned("public-read", BART))
        self.set_bucket_acl("public-read")
        self.call(self.ctx("PUT", "/b", query={"publicAccessBlock": ""}, body=(
            b"<PublicAccessBlockConfiguration><IgnorePublicAcls>true</IgnorePublicAcls>"
            b"</PublicAccessBlockConfiguration>")))
        self.scenarios()

    def test_same_answers_with_versions_and_markers(self):
        self.call(self.ctx("PUT", "/b", query={"versioning": ""}, body=(
            b"<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>")))
        self.call(self.ctx("DELETE", "/b/k"))  # a delete marker on top of k
        self.scenarios()
        out = self.compare("GET", "/b/k", BART)
        self.assertEqual(out[:2], ("err", "NoSuchKey"))
        self.assertEqual(out[2].get("x-amz-delete-marker"), "true")

    def test_one_metadata_call(self):
        from cloudserver.s3.ops.object_read import load_for_read

        calls = []
        md = self.backend.metadata
        for name in ("get_bucket", "get_object", "get_bucket_and_object"):
            real = getattr(md, name)

            def spy(*args, _real=real, _name=name):
                calls.append(_name)
                return _real(*args)
            setattr(md, name, spy)
        self.put_object("pub", BART, acl.canned("public-read", BART))
        for who in (BART, LISA, None):
            del calls[:]
            self.assertEqual(
                self.outcome(record_of(load_for_read(self.ctx("GET", "/b/pub", who)))),
                ("ok", "pub"))
            self.assertEqual(calls, ["get_bucket_and_object"])


class BucketAclTests(Harness):
    def test_get_default(self):
        resp = self.call(self.ctx("GET", "/b", query={"acl": ""}))
        self.assertIn(f"<Owner><ID>{BART}</ID><DisplayName>Bart</DisplayName></Owner>"
                      .encode(), resp.body)
        self.assertEqual(resp.body.count(b"<Grant>"), 1)
        self.assertIn(b'xsi:type="CanonicalUser"', resp.body)

    def test_put_canned_then_get(self):
        self.set_bucket_acl("public-read")
        self.assertEqual(self.bucket_acl(), acl.canned("public-read", BART))
        body = self.call(self.ctx("GET", "/b", query={"acl": ""})).body
        grants = body[body.index(b"<AccessControlList>"):]
        self.assertLess(grants.index(acl.ALL_USERS.encode()), grants.index(BART.encode()))

    def test_put_bad_canned(self):
        e = self.call_fails(self.ctx("PUT", "/b", query={"acl": ""},
                                     headers={"x-amz-acl": "public-ready"}))
        self.assertEqual((e.code, e.status), ("InvalidArgument", 400))

    def test_put_body(self):
        self.call(self.ctx("PUT", "/b", query={"acl": ""}, body=policy(
            BART, grant("CanonicalUser", "ID", LISA, "WRITE"))))
        self.assertEqual(self.bucket_acl().grants,
                         (acl.Grant(acl.CANONICAL_USER, LISA, acl.WRITE),))
        self.ok(load_bucket(self.ctx("PUT", "/b/new", LISA)))

    def test_revoke_all_keeps_the_owner_in(self):
        self.call(self.ctx("PUT", "/b", query={"acl": ""}, body=policy(BART)))
        self.assertEqual(self.bucket_acl().grants, ())
        self.call(self.ctx("GET", "/b", query={"acl": ""}))
        self.set_bucket_acl("private")

    def test_body_owner_must_match(self):
        e = self.call_fails(self.ctx("PUT", "/b", query={"acl": ""}, body=policy(LISA)))
        self.assertEqual(e.code, "AccessDenied")

    def test_headers_and_body(self):
        e = self.call_fails(self.ctx("PUT", "/b", query={"acl": ""}, body=policy(BART),
                                     headers={"x-amz-acl": "private"}))
        self.assertEqual(e.code, "UnexpectedContent")

    def test_nothing(self):
        e = self.call_fails(self.ctx("PUT", "/b", query={"acl": ""}))
        self.assertEqual(e.code, "MissingSecurityHeader")

    def test_write_acp_grantee_may_put(self):
        self.call(self.ctx("PUT", "/b", query={"acl": ""}, headers={
            "x-amz-grant-write-acp": f'id="{LISA}"',
            "x-amz-grant-full-control": f'id="{BART}"'}))
        self.call(self.ctx("PUT", "/b", LISA, query={"acl": ""},
                           headers={"x-amz-acl": "public-read"}))
        # the owner stays Bart's
        self.assertEqual(self.bucket_acl(), acl.canned("public-read", BART))
        e = self.call_fails(self.ctx("PUT", "/b", LISA, query={"acl": ""},
                                     headers={"x-amz-acl": "public-read"}))
        self.assertEqual(e.code, "AccessDenied")

    def test_block_public_acls(self):
        self.call(self.ctx("PUT", "/b", query={"publicAccessBlock": ""}, body=(
            b"<PublicAccessBlockConfiguration><BlockPublicAcls>true</BlockPublicAcls>"
            b"</PublicAccessBlockConfiguration>")))
        for name in ("public-read", "public-read-write", "authenticated-read"):
            e = self.call_fails(self.ctx("PUT", "/b", query={"acl": ""},
                                         headers={"x-amz-acl": name}))
            self.assertEqual(e.code, "AccessDenied")
        self.set_bucket_acl("private")

    def test_keeps_other_attributes(self):
        md = self.backend.metadata
        attrs = self.successResultOf(md.get_bucket("b"))
        self.successResultOf(md.update_bucket("b", {**attrs, "versioning": "Enabled"}))
        self.set_bucket_acl("public-read")
        self.assertEqual(self.successResultOf(md.get_bucket("b"))["versioning"], "Enabled")


class ObjectAclTests(Harness):
    def test_get(self):
        resp = self.call(self.ctx("GET", "/b/k", query={"acl": ""}))
        self.assertIn(b"<Permission>FULL_CONTROL</Permission>", resp.body)

    def test_put_canned_keeps_the_record(self):
        before = self.successResultOf(self.backend.metadata.get_object("b", "k"))
        self.call(self.ctx("PUT", "/b/k", query={"acl": ""},
                           headers={"x-amz-acl": "bucket-owner-full-control"}))
        after = self.successResultOf(self.backend.metadata.get_object("b", "k"))
        self.assertEqual(self.object_acl(), acl.private(BART))
        self.assertEqual({k: v for k, v in after.items() if k != "acl"},
                         {k: v for k, v in before.items() if k != "acl"})

    def test_bucket_owner_read_names_the_bucket_owner(self):
        self.put_object("lisa", LISA)
        self.call(self.ctx("PUT", "/b/lisa", LISA, query={"acl": ""},
                           headers={"x-amz-acl": "bucket-owner-read"}))
        self.assertEqual(self.object_acl("lisa"),
                         acl.canned("bucket-owner-read", LISA, BART))

    def test_put_needs_write_acp(self):
        e = self.call_fails(self.ctx("PUT", "/b/k", LISA, query={"acl": ""},
                                     headers={"x-amz-acl": "public-read"}))
        self.assertEqual(e.code, "AccessDenied")

    def test_put_body_owner_is_the_object_owner(self):
        self.put_object("lisa", LISA, acl.canned("bucket-owner-full-control", LISA, BART))
        e = self.call_fails(self.ctx("PUT", "/b/lisa", query={"acl": ""},
                                     body=policy(BART)))
        self.assertEqual(e.code, "AccessDenied")
        self.call(self.ctx("PUT", "/b/lisa", query={"acl": ""}, body=policy(
            LISA, grant("CanonicalUser", "ID", BART, "READ"))))
        self.assertEqual(self.object_acl("lisa").owner, LISA)

    def test_anonymous_with_public_grants(self):
        self.put_object("k", BART, acl.Acl(BART, (
            acl.Grant(acl.GROUP, acl.ALL_USERS, acl.READ_ACP),
            acl.Grant(acl.GROUP, acl.ALL_USERS, acl.WRITE_ACP))))
        self.call(self.ctx("GET", "/b/k", None, query={"acl": ""}))
        self.call(self.ctx("PUT", "/b/k", None, query={"acl": ""},
                           headers={"x-amz-acl": "private"}))
        self.assertEqual(self.object_acl(), acl.private(BART))

    def test_replaced_meanwhile(self):
        ctx = self.ctx("PUT", "/b/k", query={"acl": ""}, headers={"x-amz-acl": "private"})
        body = Deferred()

        async def slow_read_all(limit, decoder=None):
            return await body
        ctx.body.read_all = slow_read_all
        d = Deferred.fromCoroutine(HANDLERS["PutObjectAcl"](ctx))
        self.put_object("k", LISA)
        body.callback(b"")
        self.assertEqual(self.failureResultOf(d, S3Error).value.code, "OperationAborted")
        self.assertEqual(self.object_acl().owner, LISA)

    def test_missing(self):
        e = self.call_fails(self.ctx("GET", "/b/nope", query={"acl": ""}))
        self.assertEqual(e.code, "NoSuchKey")


class PublicAccessBlockOpsTests(Harness):
    def q(self, method, who=BART, body=b""):
        return self.ctx(method, "/b", who, query={"publicAccessBlock": ""}, body=body)

    def test_absent(self):
        e = self.call_fails(self.q("GET"))
        self.assertEqual((e.code, e.status), ("NoSuchPublicAccessBlockConfiguration", 404))

    def test_put_get_delete(self):
        self.call(self.q("PUT", body=(
            b'<PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            b"<BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>false"
            b"</IgnorePublicAcls><BlockPublicPolicy>TRUE</BlockPublicPolicy>"
            b"</PublicAccessBlockConfiguration>")))
        body = self.call(self.q("GET")).body
        self.assertIn(b"<BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>false"
                      b"</IgnorePublicAcls><BlockPublicPolicy>true</BlockPublicPolicy>"
                      b"<RestrictPublicBuckets>false</RestrictPublicBuckets>", body)
        self.assertEqual(self.call(self.q("DELETE")).status, 204)
        self.assertEqual(self.call_fails(self.q("GET")).code,
                         "NoSuchPublicAccessBlockConfiguration")
        self.assertEqual(self.call(self.q("DELETE")).status, 204)

    def test_malformed(self):
        for body in (b"", b"<Other/>", b"<PublicAccessBlockConfiguration><BlockPublicAcls>"
                     b"yes</BlockPublicAcls></PublicAccessBlockConfiguration>"):
            self.assertEqual(self.call_fails(self.q("PUT", body=body)).code, "MalformedXML")

    def test_owner_only(self):
        self.set_bucket_acl("public-read-write")
        for method in ("GET", "PUT", "DELETE"):
            self.assertEqual(self.call_fails(self.q(method, LISA)).code, "AccessDenied")


class VersionedObjectAclTests(Harness):
    """PutObjectAcl on a version rewrites that version in place."""

    def setUp(self):
        super().setUp()
        md = self.backend.metadata
        self.versions = []
        for n in range(3):
            record = {"key": "v", "size": n, "etag": f"e{n}", "last-modified": 10.0 + n,
                      "owner": BART, "location": [], "acl": acl.private(BART).to_record()}
            result = self.successResultOf(md.put_object("b", "v", record,
                                                        {"versioning": True}))
            self.versions.append(client_version_id(result))

    def version(self, shown: str) -> dict:
        return self.successResultOf(self.backend.metadata.get_object(
            "b", "v", {"versionId": parse_version_param(shown)}))

    def test_older_version(self):
        resp = self.call(self.ctx("PUT", "/b/v", query={"acl": "", "versionId": self.versions[1]},
                                  headers={"x-amz-acl": "public-read"}))
        self.assertIn(("x-amz-version-id", self.versions[1]), resp.headers)
        self.assertEqual(acl.object_acl(self.version(self.versions[1])),
                         acl.canned("public-read", BART))
        self.assertEqual(self.version(self.versions[1])["last-modified"], 11.0)
        self.assertEqual(self.object_acl("v"), acl.private(BART))
        self.ok(load_object(self.ctx("GET", "/b/v", None, query={
            "versionId": self.versions[1]}), "b", "v",
            options={"versionId": parse_version_param(self.versions[1])}))

    def test_latest_updates_the_master_and_its_version(self):
        self.call(self.ctx("PUT", "/b/v", query={"acl": ""},
                           headers={"x-amz-acl": "public-read"}))
        self.assertEqual(self.object_acl("v"), acl.canned("public-read", BART))
        self.assertEqual(acl.object_acl(self.version(self.versions[2])),
                         acl.canned("public-read", BART))
        listing = self.successResultOf(self.backend.metadata.list_objects(
            "b", {"listingType": "DelimiterVersions", "prefix": "v", "maxKeys": 100}))
        self.assertEqual(len(listing["Versions"]), 3)

    def test_null_master(self):
        self.successResultOf(self.backend.metadata.put_object("b", "n", {
            "key": "n", "size": 0, "etag": "e", "last-modified": 1.0, "owner": BART,
            "location": [], "acl": acl.private(BART).to_record()}, {"versionId": ""}))
        self.call(self.ctx("PUT", "/b/n", query={"acl": "", "versionId": "null"},
                           headers={"x-amz-acl": "public-read"}))
        self.assertEqual(self.object_acl("n"), acl.canned("public-read", BART))
