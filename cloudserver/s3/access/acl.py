# -*- test-case-name: tests.unit.test_acl -*-
"""The S3 access control list model: grants, canned ACLs, grant headers,
AccessControlPolicy documents, and the permission checks.

An ACL is stored in the bucket attributes and in each object record as
``{"owner": canonical_id, "grants": [{"type", "id", "permission"}]}``; the
grantee ``type`` is ``CanonicalUser`` (``id`` a canonical ID) or ``Group``
(``id`` a group URI).  E-mail grantees are resolved to canonical users when
the ACL is written, as S3 does, so a stored ACL never names an address.

Which permission each operation needs is declared on its route row
(cloudserver.s3.access.declare), and decided in cloudserver.s3.access.decide
with the checks below.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from cloudserver.metadata.schema import BucketRecord, ObjectRecord
from cloudserver.s3.errors import S3Error
from cloudserver.s3.xml.parse import child, fields, local_name, parse_xml, text

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
LOG_DELIVERY = "http://acs.amazonaws.com/groups/s3/LogDelivery"
GROUPS = (ALL_USERS, AUTHENTICATED_USERS, LOG_DELIVERY)
#: Grants to these make a resource public (what the public access block is about).
PUBLIC_GROUPS = frozenset((ALL_USERS, AUTHENTICATED_USERS))

CANONICAL_USER = "CanonicalUser"
GROUP = "Group"
BY_EMAIL = "AmazonCustomerByEmail"

READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL = (
    "READ", "WRITE", "READ_ACP", "WRITE_ACP", "FULL_CONTROL")
PERMISSIONS = (FULL_CONTROL, WRITE, WRITE_ACP, READ, READ_ACP)
#: Not an ACL permission: only the resource owner may (bucket configuration).
OWNER = "OWNER"

CANNED_ACLS = ("private", "public-read", "public-read-write", "authenticated-read",
               "bucket-owner-read", "bucket-owner-full-control", "log-delivery-write")

#: x-amz-grant-* header -> permission, in AWS's documentation order.
GRANT_HEADERS = {
    "x-amz-grant-read": READ,
    "x-amz-grant-write": WRITE,
    "x-amz-grant-read-acp": READ_ACP,
    "x-amz-grant-write-acp": WRITE_ACP,
    "x-amz-grant-full-control": FULL_CONTROL,
}

#: AWS's limit on grants in one ACL.
MAX_GRANTS = 100
MAX_ACL_BODY = 64 * 1024

#: Who owns what an anonymous caller writes (AWS's anonymous canonical user).
ANONYMOUS_ID = "65a011a29cdf8ec533ec3d1ccaae921c"
ANONYMOUS_NAME = "anonymous"

_XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"


@attrs.frozen
class Grant:
    type: str          # CANONICAL_USER or GROUP
    id: str            # canonical ID or group URI
    permission: str

    def to_record(self) -> dict[str, str]:
        return {"type": self.type, "id": self.id, "permission": self.permission}


@attrs.frozen
class Acl:
    owner: str
    grants: tuple[Grant, ...] = ()

    def to_record(self) -> dict[str, Any]:
        return {"owner": self.owner, "grants": [g.to_record() for g in self.grants]}

    @classmethod
    def from_record(cls, record: Mapping[str, Any] | None, owner: str | None = None) -> Acl:
        """The ACL of a stored record; records older than ACLs are private."""
        if not record:
            return private(owner or "")
        return cls(record.get("owner") or owner or "",
                   tuple(Grant(g["type"], g["id"], g["permission"])
                         for g in record.get("grants", ())))

    def is_public(self) -> bool:
        return any(g.type == GROUP and g.id in PUBLIC_GROUPS for g in self.grants)


def private(owner: str) -> Acl:
    return Acl(owner, (Grant(CANONICAL_USER, owner, FULL_CONTROL),))


def bucket_acl(attrs_: Mapping[str, Any]) -> Acl:
    return Acl.from_record(attrs_.get(BucketRecord.ACL), attrs_.get(BucketRecord.OWNER))


def object_acl(md: Mapping[str, Any]) -> Acl:
    return Acl.from_record(md.get(ObjectRecord.ACL), md.get(ObjectRecord.OWNER))


def canned(name: str, owner: str, bucket_owner: str | None = None) -> Acl:
    """The ACL a canned name stands for, owner's FULL_CONTROL first (AWS).

    ``bucket_owner`` is given for objects: bucket-owner-read and
    bucket-owner-full-control grant it (nothing when it is the owner); on
    buckets those two names mean private, as S3 treats them.
    """
    if name not in CANNED_ACLS:
        raise S3Error("InvalidArgument", ArgumentName="x-amz-acl", ArgumentValue=name)
    grants = [Grant(CANONICAL_USER, owner, FULL_CONTROL)]
    if name == "public-read":
        grants.append(Grant(GROUP, ALL_USERS, READ))
    elif name == "public-read-write":
        grants += [Grant(GROUP, ALL_USERS, READ), Grant(GROUP, ALL_USERS, WRITE)]
    elif name == "authenticated-read":
        grants.append(Grant(GROUP, AUTHENTICATED_USERS, READ))
    elif name == "log-delivery-write":
        grants += [Grant(GROUP, LOG_DELIVERY, WRITE), Grant(GROUP, LOG_DELIVERY, READ_ACP)]
    elif name in ("bucket-owner-read", "bucket-owner-full-control"):
        if bucket_owner is not None and bucket_owner != owner:
            perm = READ if name == "bucket-owner-read" else FULL_CONTROL
            grants.append(Grant(CANONICAL_USER, bucket_owner, perm))
    return Acl(owner, tuple(grants))


def check_canned_name(name: str | None) -> None:
    """InvalidArgument for an x-amz-acl value that names no canned ACL."""
    if name is not None and name.strip() not in CANNED_ACLS:
        raise S3Error("InvalidArgument", ArgumentName="x-amz-acl", ArgumentValue=name)


# -- grantees ----------------------------------------------------------------

def _check_grant_count(n: int) -> None:
    if n > MAX_GRANTS:
        raise S3Error("MalformedACLError", "The request contains more than the maximum "
                      f"allowed number of grants ({MAX_GRANTS}).")


def resolve_grantee(kind: str, value: str, accounts: Any) -> tuple[str, str]:
    """(type, id) of a grantee named by canonical ID, e-mail address or group URI.

    ``kind`` is ``id``, ``emailAddress`` or ``uri``.  An unknown ID or URI is
    InvalidArgument; an unknown address UnresolvableGrantByEmailAddress.
    """
    if kind == "id":
        if accounts.by_canonical_id(value) is None:
            raise S3Error("InvalidArgument", "Invalid id", ArgumentName="CanonicalUser/ID",
                          ArgumentValue=value)
        return CANONICAL_USER, value
    if kind == "emailAddress":
        account = accounts.by_email(value)
        if account is None:
            raise S3Error("UnresolvableGrantByEmailAddress", EmailAddress=value)
        return CANONICAL_USER, account.canonical_id
    if kind == "uri":
        if value not in GROUPS:
            raise S3Error("InvalidArgument", "Invalid group uri", ArgumentName="Group/URI",
                          ArgumentValue=value)
        return GROUP, value
    raise S3Error("InvalidArgument", "Argument format not recognized",
                  ArgumentName=kind, ArgumentValue=value)


# `id="..."`, `emailAddress=...`, `uri="..."`, separated by commas.
_GRANTEE_RE = re.compile(r'\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^,"\s]*))\s*(?:,|$)')
_HEADER_KINDS = {"id": "id", "emailaddress": "emailAddress", "uri": "uri"}


def parse_grant_header(header: str, value: str, accounts: Any) -> list[Grant]:
    """The grants of one x-amz-grant-* header value."""
    permission = GRANT_HEADERS[header]
    grants: list[Grant] = []
    pos = 0
    value = value.strip()
    while pos < len(value):
        m = _GRANTEE_RE.match(value, pos)
        if m is None or m.end() == pos:
            raise S3Error("InvalidArgument", "Argument format not recognized",
                          ArgumentName=header, ArgumentValue=value)
        kind = _HEADER_KINDS.get(m.group(1).lower())
        ident = m.group(2) if m.group(2) is not None else m.group(3)
        if kind is None or not ident:
            raise S3Error("InvalidArgument", "Argument format not recognized",
                          ArgumentName=header, ArgumentValue=value)
        gtype, gid = resolve_grantee(kind, ident, accounts)
        grants.append(Grant(gtype, gid, permission))
        pos = m.end()
    if not grants:
        raise S3Error("InvalidArgument", "Argument format not recognized",
                      ArgumentName=header, ArgumentValue=value)
    return grants


def acl_from_headers(header: Callable[[str], str | None], owner: str, accounts: Any,
                     bucket_owner: str | None = None) -> Acl | None:
    """The ACL that x-amz-acl or x-amz-grant-* headers ask for; None without any.

    ``header`` returns a request header's value (RequestContext.header).
    Both kinds at once is InvalidRequest, as AWS answers.  Grant headers
    replace the whole ACL: the owner gets nothing it is not granted.
    """
    name = header("x-amz-acl")
    grant_values = [(h, header(h)) for h in GRANT_HEADERS]
    grant_values = [(h, v) for h, v in grant_values if v is not None]
    if name is not None and grant_values:
        raise S3Error("InvalidRequest", "Specifying both Canned ACLs and Header Grants "
                      "is not allowed")
    if name is not None:
        return canned(name.strip(), owner, bucket_owner)
    if not grant_values:
        return None
    grants: list[Grant] = []
    for h, v in grant_values:
        grants += parse_grant_header(h, v, accounts)
    _check_grant_count(len(grants))
    return Acl(owner, tuple(grants))


def has_acl_headers(header: Callable[[str], str | None]) -> bool:
    return header("x-amz-acl") is not None or any(
        header(h) is not None for h in GRANT_HEADERS)


# -- AccessControlPolicy documents ---------------------------------------------

def _grantee_type(grantee) -> str | None:
    value = grantee.get(_XSI_TYPE)
    if value is None:
        for name, v in grantee.attrib.items():
            if name.rsplit("}", 1)[-1] == "type":
                value = v
    return value.split(":")[-1] if value else None


_MALFORMED = "MalformedACLError"
#: what a Grantee may hold (which one is needed depends on its xsi:type)
GRANTEE_FIELDS = ("ID", "DisplayName", "EmailAddress", "URI")


def parse_access_control_policy(body: bytes, accounts: Any) -> tuple[str, list[Grant]]:
    """(owner ID, grants) of an ``AccessControlPolicy`` request document.

    Not well-formed XML is MalformedXML; a document that does not match the
    schema (no Owner/ID, no AccessControlList, a grant without a grantee or
    with an unknown permission or grantee type) is MalformedACLError.
    """
    root = parse_xml(body, max_size=MAX_ACL_BODY)
    if local_name(root) != "AccessControlPolicy":
        raise S3Error("MalformedACLError")
    # AWS's schema, element by element: anything else is MalformedACLError
    owner_el = fields(root, ("Owner", "AccessControlList"), error=_MALFORMED).get("Owner")
    if owner_el is not None:
        fields(owner_el, ("ID", "DisplayName"), error=_MALFORMED)
    owner = text(owner_el, "ID") if owner_el is not None else None
    acl_el = child(root, "AccessControlList")
    if not owner or acl_el is None:
        raise S3Error("MalformedACLError")
    grants: list[Grant] = []
    for grant_el in fields(acl_el, ("Grant",), ("Grant",), error=_MALFORMED).get("Grant", ()):
        grantee = fields(grant_el, ("Grantee", "Permission"), error=_MALFORMED).get("Grantee")
        if grantee is not None:
            fields(grantee, GRANTEE_FIELDS, error=_MALFORMED)
        permission = (text(grant_el, "Permission") or "").strip()
        if grantee is None or permission not in PERMISSIONS:
            raise S3Error("MalformedACLError")
        gtype = _grantee_type(grantee)
        if gtype == CANONICAL_USER:
            kind, value = "id", text(grantee, "ID")
        elif gtype == BY_EMAIL:
            kind, value = "emailAddress", text(grantee, "EmailAddress")
        elif gtype == GROUP:
            kind, value = "uri", text(grantee, "URI")
        else:
            raise S3Error("MalformedACLError")
        if not value or not value.strip():
            raise S3Error("MalformedACLError")
        rtype, rid = resolve_grantee(kind, value.strip(), accounts)
        grants.append(Grant(rtype, rid, permission))
        _check_grant_count(len(grants))
    return owner.strip(), grants


# -- checks --------------------------------------------------------------------

def allows(acl: Acl, requester: str | None, permission: str, *,
           ignore_public: bool = False) -> bool:
    """Does ``acl`` give ``requester`` (a canonical ID, None if anonymous)
    ``permission``?

    The owner may do anything with what it owns; others need a grant of the
    permission or FULL_CONTROL, to them, to AllUsers (anyone, anonymous
    included) or to AuthenticatedUsers (anyone signed).  ``ignore_public``
    drops those two group grants (IgnorePublicAcls).  OWNER is only ever the
    owner's.
    """
    if requester is not None and requester == acl.owner:
        return True
    if permission == OWNER:
        return False
    for g in acl.grants:
        if g.permission != permission and g.permission != FULL_CONTROL:
            continue
        if g.type == GROUP:
            if ignore_public and g.id in PUBLIC_GROUPS:
                continue
            if g.id == ALL_USERS or (g.id == AUTHENTICATED_USERS and requester is not None):
                return True
        elif requester is not None and g.id == requester:
            return True
    return False


#: Bucket attribute holding the public access block configuration.
PUBLIC_ACCESS_BLOCK_ATTR = BucketRecord.PUBLIC_ACCESS_BLOCK
PUBLIC_ACCESS_BLOCK_FIELDS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy",
                              "RestrictPublicBuckets")


def public_access_block(bucket_attrs: Mapping[str, Any]) -> dict[str, bool] | None:
    """The bucket's PublicAccessBlockConfiguration, None when it has none."""
    return bucket_attrs.get(PUBLIC_ACCESS_BLOCK_ATTR)


def ignores_public_acls(bucket_attrs: Mapping[str, Any]) -> bool:
    return bool((public_access_block(bucket_attrs) or {}).get("IgnorePublicAcls"))


def check_public_acl_allowed(bucket_attrs: Mapping[str, Any], new_acl: Acl | None) -> None:
    """BlockPublicAcls: writing an ACL that grants the public is AccessDenied."""
    if new_acl is not None and new_acl.is_public() and \
            (public_access_block(bucket_attrs) or {}).get("BlockPublicAcls"):
        raise S3Error("AccessDenied")


def principal(account: Any) -> tuple[str, str]:
    """(canonical ID, display name) of the requester, anonymous included."""
    if account is None:
        return ANONYMOUS_ID, ANONYMOUS_NAME
    return account.canonical_id, account.display_name


# -- responses -----------------------------------------------------------------

def response_grants(acl: Acl, accounts: Any) -> list[tuple[str, str, str | None, str]]:
    """Grants as ``xml.acl_xml`` takes them: (type, id/uri, display name, permission).

    Group grants come first, then users, each in stored order: the order
    ceph/s3-tests expects (it indexes ``Grants[2]`` for the owner of a
    public-read-write bucket and cannot compare group grants sorted after
    named ones).
    """
    def name(ident: str) -> str | None:
        account = accounts.by_canonical_id(ident)
        return account.display_name if account is not None else None

    groups = [(GROUP, g.id, None, g.permission) for g in acl.grants if g.type == GROUP]
    users = [(CANONICAL_USER, g.id, name(g.id), g.permission)
             for g in acl.grants if g.type != GROUP]
    return groups + users


def owner_name(owner: str, accounts: Any, fallback: str | None = None) -> str | None:
    account = accounts.by_canonical_id(owner)
    if account is not None:
        return account.display_name
    return fallback


def equivalent(a: Acl, b: Acl) -> bool:
    """Same owner and the same set of grants (order aside)."""
    return a.owner == b.owner and sorted(a.grants, key=attrs.astuple) == sorted(
        b.grants, key=attrs.astuple)

