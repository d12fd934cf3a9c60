# -*- test-case-name: tests.unit.test_acl -*-
"""The ACL model: canned ACLs, grant headers, AccessControlPolicy parsing,
permission checks and the order of grants in responses."""
from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.access import acl
from cloudserver.s3.access.acl import (
    ALL_USERS, AUTHENTICATED_USERS, CANONICAL_USER, FULL_CONTROL, GROUP, LOG_DELIVERY,
    OWNER, READ, READ_ACP, WRITE, WRITE_ACP, Acl, Grant)
from cloudserver.accounts import Account, AccountStore
from cloudserver.s3.errors import S3Error

BART = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
LISA = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2bf"


def accounts() -> AccountStore:
    return AccountStore([
        Account("Bart", "bart@example.com", "arn:aws:iam::1:root", BART, "1",
                "accessKey1", "secret1"),
        Account("Lisa", "lisa@example.com", "arn:aws:iam::2:root", LISA, "2",
                "accessKey2", "secret2"),
    ])


def policy(owner: str, *grants: str) -> bytes:
    body = "".join(grants)
    return (f'<AccessControlPolicy xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f'<Owner><ID>{owner}</ID><DisplayName>x</DisplayName></Owner>'
            f'<AccessControlList>{body}</AccessControlList></AccessControlPolicy>').encode()


def grant(xsi_type: str, element: str, value: str, permission: str) -> str:
    return (f'<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            f'xsi:type="{xsi_type}"><{element}>{value}</{element}></Grantee>'
            f'<Permission>{permission}</Permission></Grant>')


class CannedTests(SynchronousTestCase):
    def test_private(self):
        self.assertEqual(acl.canned("private", BART),
                         Acl(BART, (Grant(CANONICAL_USER, BART, FULL_CONTROL),)))

    def test_public_read_write_owner_first(self):
        a = acl.canned("public-read-write", BART)
        self.assertEqual([(g.id, g.permission) for g in a.grants],
                         [(BART, FULL_CONTROL), (ALL_USERS, READ), (ALL_USERS, WRITE)])
        self.assertTrue(a.is_public())

    def test_authenticated_read_is_public(self):
        a = acl.canned("authenticated-read", BART)
        self.assertIn(Grant(GROUP, AUTHENTICATED_USERS, READ), a.grants)
        self.assertTrue(a.is_public())

    def test_log_delivery_write(self):
        a = acl.canned("log-delivery-write", BART)
        self.assertEqual(a.grants[1:], (Grant(GROUP, LOG_DELIVERY, WRITE),
                                        Grant(GROUP, LOG_DELIVERY, READ_ACP)))
        self.assertFalse(a.is_public())

    def test_bucket_owner_grants(self):
        read = acl.canned("bucket-owner-read", LISA, BART)
        full = acl.canned("bucket-owner-full-control", LISA, BART)
        self.assertEqual(read.grants[1], Grant(CANONICAL_USER, BART, READ))
        self.assertEqual(full.grants[1], Grant(CANONICAL_USER, BART, FULL_CONTROL))

    def test_bucket_owner_grants_when_owner_is_bucket_owner(self):
        self.assertEqual(acl.canned("bucket-owner-full-control", BART, BART),
                         acl.private(BART))

    def test_unknown_canned_acl(self):
        e = self.assertRaises(S3Error, acl.canned, "public-ready", BART)
        self.assertEqual((e.code, e.status), ("InvalidArgument", 400))
        self.assertRaises(S3Error, acl.check_canned_name, "public-ready")
        acl.check_canned_name(None)
        acl.check_canned_name("log-delivery-write")


class HeaderTests(SynchronousTestCase):
    def headers(self, **values):
        return lambda name: values.get(name.replace("-", "_"))

    def test_none_without_headers(self):
        self.assertIsNone(acl.acl_from_headers(self.headers(), BART, accounts()))

    def test_canned_header(self):
        a = acl.acl_from_headers(self.headers(x_amz_acl="public-read"), BART, accounts())
        self.assertEqual(a, acl.canned("public-read", BART))

    def test_grant_headers_replace_everything(self):
        a = acl.acl_from_headers(self.headers(
            x_amz_grant_read=f'id="{LISA}"',
            x_amz_grant_write='uri="http://acs.amazonaws.com/groups/global/AllUsers"',
            x_amz_grant_full_control='emailAddress="Lisa@Example.com", id=' + BART,
        ), BART, accounts())
        self.assertEqual(a.grants, (
            Grant(CANONICAL_USER, LISA, READ), Grant(GROUP, ALL_USERS, WRITE),
            Grant(CANONICAL_USER, LISA, FULL_CONTROL),
            Grant(CANONICAL_USER, BART, FULL_CONTROL)))

    def test_canned_and_grants(self):
        e = self.assertRaises(S3Error, acl.acl_from_headers, self.headers(
            x_amz_acl="private", x_amz_grant_read=f'id="{LISA}"'), BART, accounts())
        self.assertEqual(e.code, "InvalidRequest")

    def test_unknown_id(self):
        e = self.assertRaises(S3Error, acl.acl_from_headers,
                              self.headers(x_amz_grant_read='id="nobody"'), BART, accounts())
        self.assertEqual(e.code, "InvalidArgument")

    def test_unknown_email(self):
        e = self.assertRaises(S3Error, acl.acl_from_headers, self.headers(
            x_amz_grant_read='emailAddress="who@example.com"'), BART, accounts())
        self.assertEqual(e.code, "UnresolvableGrantByEmailAddress")

    def test_unknown_uri(self):
        e = self.assertRaises(S3Error, acl.acl_from_headers, self.headers(
            x_amz_grant_read='uri="http://example.com/group"'), BART, accounts())
        self.assertEqual(e.code, "InvalidArgument")

    def test_malformed(self):
        for value in ("", "id", 'name="x"', 'id="a" id="b"', ",", 'id=""'):
            e = self.assertRaises(S3Error, acl.parse_grant_header, "x-amz-grant-read",
                                  value, accounts())
            self.assertEqual(e.code, "InvalidArgument", value)


class PolicyTests(SynchronousTestCase):
    def test_parse(self):
        owner, grants = acl.parse_access_control_policy(policy(
            BART,
            grant("CanonicalUser", "ID", BART, "FULL_CONTROL"),
            grant("AmazonCustomerByEmail", "EmailAddress", "lisa@example.com", "READ"),
            grant("Group", "URI", AUTHENTICATED_USERS, "WRITE_ACP"),
        ), accounts())
        self.assertEqual(owner, BART)
        self.assertEqual(grants, [Grant(CANONICAL_USER, BART, FULL_CONTROL),
                                  Grant(CANONICAL_USER, LISA, READ),
                                  Grant(GROUP, AUTHENTICATED_USERS, WRITE_ACP)])

    def test_empty_list(self):
        self.assertEqual(acl.parse_access_control_policy(policy(BART), accounts()),
                         (BART, []))

    def test_without_namespace(self):
        body = (f"<AccessControlPolicy><Owner><ID>{BART}</ID></Owner><AccessControlList>"
                + grant("CanonicalUser", "ID", LISA, "READ")
                + "</AccessControlList></AccessControlPolicy>").encode()
        self.assertEqual(acl.parse_access_control_policy(body, accounts())[1],
                         [Grant(CANONICAL_USER, LISA, READ)])

    def code(self, body: bytes) -> str:
        return self.assertRaises(S3Error, acl.parse_access_control_policy, body,
                                 accounts()).code

    def test_not_xml(self):
        self.assertEqual(self.code(b"<AccessControlPolicy>"), "MalformedXML")

    def test_entities_refused(self):
        body = (b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "y">]>'
                b"<AccessControlPolicy/>")
        self.assertEqual(self.code(body), "MalformedXML")

    def test_schema_errors(self):
        for body in (
            b"<Other/>",
            f"<AccessControlPolicy><Owner><ID>{BART}</ID></Owner></AccessControlPolicy>"
            .encode(),
            b"<AccessControlPolicy><AccessControlList/></AccessControlPolicy>",
            policy(BART, grant("CanonicalUser", "ID", BART, "EVERYTHING")),
            policy(BART, grant("Robot", "ID", BART, "READ")),
            policy(BART, grant("CanonicalUser", "URI", BART, "READ")),
            policy(BART, "<Grant><Permission>READ</Permission></Grant>"),
        ):
            self.assertEqual(self.code(body), "MalformedACLError", body)

    def test_unknown_grantees(self):
        self.assertEqual(self.code(policy(BART, grant("CanonicalUser", "ID", "x", "READ"))),
                         "InvalidArgument")
        self.assertEqual(self.code(policy(BART, grant(
            "AmazonCustomerByEmail", "EmailAddress", "x@y.z", "READ"))),
            "UnresolvableGrantByEmailAddress")
        self.assertEqual(self.code(policy(BART, grant("Group", "URI", "urn:x", "READ"))),
                         "InvalidArgument")

    def test_too_many_grants(self):
        g = grant("CanonicalUser", "ID", LISA, "READ")
        acl.parse_access_control_policy(policy(BART, *[g] * 100), accounts())
        self.assertEqual(self.code(policy(BART, *[g] * 101)), "MalformedACLError")


class AllowsTests(SynchronousTestCase):
    def test_owner_may_do_anything(self):
        revoked = Acl(BART, ())
        for permission in (READ, WRITE, READ_ACP, WRITE_ACP, OWNER):
            self.assertTrue(acl.allows(revoked, BART, permission))
        self.assertFalse(acl.allows(revoked, LISA, READ))
        self.assertFalse(acl.allows(revoked, None, READ))

    def test_owner_permission_is_never_granted(self):
        a = Acl(BART, (Grant(CANONICAL_USER, LISA, FULL_CONTROL),
                       Grant(GROUP, ALL_USERS, FULL_CONTROL)))
        self.assertFalse(acl.allows(a, LISA, OWNER))
        self.assertTrue(acl.allows(a, LISA, WRITE_ACP))

    def test_user_grant(self):
        a = Acl(BART, (Grant(CANONICAL_USER, LISA, READ),))
        self.assertTrue(acl.allows(a, LISA, READ))
        self.assertFalse(acl.allows(a, LISA, WRITE))
        self.assertFalse(acl.allows(a, None, READ))

    def test_all_users_includes_anonymous(self):
        a = acl.canned("public-read", BART)
        self.assertTrue(acl.allows(a, None, READ))
        self.assertTrue(acl.allows(a, LISA, READ))
        self.assertFalse(acl.allows(a, None, WRITE))

    def test_authenticated_users_excludes_anonymous(self):
        a = acl.canned("authenticated-read", BART)
        self.assertTrue(acl.allows(a, LISA, READ))
        self.assertFalse(acl.allows(a, None, READ))

    def test_log_delivery_matches_no_account(self):
        a = acl.canned("log-delivery-write", BART)
        self.assertFalse(acl.allows(a, LISA, WRITE))

    def test_ignore_public(self):
        a = Acl(BART, (Grant(GROUP, ALL_USERS, READ), Grant(CANONICAL_USER, LISA, READ)))
        self.assertFalse(acl.allows(a, None, READ, ignore_public=True))
        self.assertTrue(acl.allows(a, LISA, READ, ignore_public=True))


class PublicAccessBlockTests(SynchronousTestCase):
    def test_block_public_acls(self):
        attrs = {acl.PUBLIC_ACCESS_BLOCK_ATTR: {"BlockPublicAcls": True}}
        e = self.assertRaises(S3Error, acl.check_public_acl_allowed, attrs,
                              acl.canned("authenticated-read", BART))
        self.assertEqual(e.code, "AccessDenied")
        acl.check_public_acl_allowed(attrs, acl.canned("private", BART))
        acl.check_public_acl_allowed({}, acl.canned("public-read", BART))

    def test_ignores_public_acls(self):
        self.assertFalse(acl.ignores_public_acls({}))
        self.assertTrue(acl.ignores_public_acls(
            {acl.PUBLIC_ACCESS_BLOCK_ATTR: {"IgnorePublicAcls": True}}))


class RecordTests(SynchronousTestCase):
    def test_round_trip(self):
        a = acl.canned("public-read", BART)
        self.assertEqual(Acl.from_record(a.to_record()), a)

    def test_records_older_than_acls_are_private(self):
        self.assertEqual(acl.bucket_acl({"owner": BART}), acl.private(BART))
        self.assertEqual(acl.object_acl({"owner": LISA, "acl": None}), acl.private(LISA))

    def test_equivalent_ignores_order(self):
        a = acl.canned("public-read-write", BART)
        b = Acl(BART, tuple(reversed(a.grants)))
        self.assertTrue(acl.equivalent(a, b))
        self.assertFalse(acl.equivalent(a, acl.private(BART)))

    def test_principal(self):
        self.assertEqual(acl.principal(None), (acl.ANONYMOUS_ID, "anonymous"))
        bart = accounts().by_canonical_id(BART)
        self.assertEqual(acl.principal(bart), (BART, "Bart"))


class ResponseTests(SynchronousTestCase):
    def test_groups_first_then_users_with_names(self):
        a = acl.canned("public-read-write", BART)
        self.assertEqual(acl.response_grants(a, accounts()), [
            (GROUP, ALL_USERS, None, READ),
            (GROUP, ALL_USERS, None, WRITE),
            (CANONICAL_USER, BART, "Bart", FULL_CONTROL),
        ])

    def test_unknown_user_has_no_name(self):
        a = Acl("someone", (Grant(CANONICAL_USER, "someone", FULL_CONTROL),))
        self.assertEqual(acl.response_grants(a, accounts()),
                         [(CANONICAL_USER, "someone", None, FULL_CONTROL)])
        self.assertEqual(acl.owner_name("someone", accounts(), "fallback"), "fallback")
        self.assertEqual(acl.owner_name(LISA, accounts()), "Lisa")
