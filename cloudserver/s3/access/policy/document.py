# -*- test-case-name: tests.unit.test_policy_document -*-
"""Parse and validate a bucket policy document, as PutBucketPolicy does.

Everything a request will need is compiled here, once: the principals as a
frozenset, actions and resources as regexes, conditions as
:class:`~cloudserver.s3.access.policy.conditions.Check` objects, so the
stored :class:`~cloudserver.s3.access.policy.evaluate.Policy` keeps no JSON
to re-read.  What AWS refuses raises :class:`MalformedPolicy` with AWS's
message; nothing half-valid is kept.

Resources must be able to name the policy's own bucket or an object of
it (``arn:aws:s3:::*`` and ``arn:aws:s3:::*/*`` can; ``arn:aws:s3:::other/*``
cannot), and a statement's actions must apply to some of its resources
(object actions on object ARNs, bucket actions on the bucket's ARN).
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable

from cloudserver.s3.access.policy import model
from cloudserver.s3.access.policy.actions import action_scope, names_an_action
from cloudserver.s3.access.policy.conditions import compile_block
from cloudserver.s3.access.policy.evaluate import Policy, Principals, Statement
from cloudserver.s3.access.policy.model import MalformedPolicy
from cloudserver.s3.access.policy.patterns import Template, glob_covers, wildcard_regex

#: PutBucketPolicy's body limit (AWS: 20 KB)
MAX_POLICY_BYTES = 20 * 1024
VERSIONS = ("2012-10-17", "2008-10-17")
_STATEMENT_FIELDS = frozenset({"Sid", "Effect", "Principal", "NotPrincipal", "Action",
                               "NotAction", "Resource", "NotResource", "Condition"})
_ACCOUNT = re.compile(r"[0-9]{12}")
_CANONICAL = re.compile(r"[0-9a-f]{64}")
_IAM_ARN = re.compile(r"arn:aws:iam::([0-9]{12}):(root|user/[\w+=,.@/-]+)")
_ARN_PREFIX = "arn:aws:s3:::"

KnownAccounts = Callable[[str], bool] | None


def compile_policy(text: str | bytes, bucket: str, *,
                   known_accounts: KnownAccounts = None) -> Policy:
    """The compiled policy of ``text`` for ``bucket``, or MalformedPolicy.

    ``known_accounts(id)`` says whether an account id or canonical id
    exists here; a principal naming an unknown one is refused, as AWS
    refuses principals it cannot resolve.
    """
    document = _load(text)
    version = document.get("Version", "2008-10-17")
    if version not in VERSIONS:
        raise MalformedPolicy(model.BAD_VERSION)
    for field in document:
        if field not in ("Version", "Id", "Statement"):
            raise MalformedPolicy(model.UNKNOWN_FIELD.format(field))
    if "Statement" not in document:
        raise MalformedPolicy(model.NO_STATEMENT)
    raw = document["Statement"]
    raw = [raw] if isinstance(raw, dict) else raw
    if not isinstance(raw, list) or not raw:
        raise MalformedPolicy(model.EMPTY_STATEMENT)
    variables = version == "2012-10-17"
    sids: set[str] = set()
    statements = []
    for item in raw:
        statements.append(_statement(item, bucket, variables, known_accounts, sids))
    return Policy(version, tuple(statements))


def _load(text: str | bytes) -> dict:
    raw = text.encode("utf-8") if isinstance(text, str) else bytes(text)
    if len(raw) > MAX_POLICY_BYTES:
        raise MalformedPolicy(model.TOO_LARGE)
    if not raw.lstrip().startswith(b"{"):
        raise MalformedPolicy(model.BAD_FIRST_BYTE)
    try:
        document = json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise MalformedPolicy(model.INVALID_JSON) from None
    if not isinstance(document, dict):
        raise MalformedPolicy(model.BAD_FIRST_BYTE)
    return document


def _no_duplicates(pairs):
    """A JSON object naming one field twice is ambiguous: refuse it."""
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(key)
        out[key] = value
    return out


def _statement(item, bucket, variables, known_accounts, sids) -> Statement:
    if not isinstance(item, dict):
        raise MalformedPolicy(model.INVALID_JSON)
    for field in item:
        if field not in _STATEMENT_FIELDS:
            raise MalformedPolicy(model.UNKNOWN_FIELD.format(field))
    sid = item.get("Sid")
    if sid is not None:
        if not isinstance(sid, str):
            raise MalformedPolicy(model.INVALID_JSON)
        if sid in sids:
            raise MalformedPolicy(model.DUPLICATE_SID)
        sids.add(sid)
    effect = item.get("Effect")
    if effect is None:
        raise MalformedPolicy(model.missing("Effect"))
    if effect not in ("Allow", "Deny"):
        raise MalformedPolicy(model.invalid_effect(effect))
    principal, not_principal = _one_of(item, "Principal")
    action, not_action = _one_of(item, "Action")
    resource, not_resource = _one_of(item, "Resource")
    condition = item.get("Condition", {})
    actions = _actions(action)
    resources, scope = _resources(resource, bucket, variables)
    if not (not_action or not_resource or action_scope(actions) & scope):
        raise MalformedPolicy(model.ACTION_RESOURCE_MISMATCH)
    return Statement(
        sid=sid, effect=effect,
        principals=_principals(principal, known_accounts), not_principal=not_principal,
        actions=actions, not_action=not_action,
        resources=resources, not_resource=not_resource,
        conditions=compile_block(condition, variables) if condition != {} else ())


def _one_of(item: dict, field: str):
    """The value of ``field`` or ``Not<field>`` (exactly one must be there)."""
    has, has_not = field in item, "Not" + field in item
    if has == has_not:
        raise MalformedPolicy(model.missing(field))
    return (item[field], False) if has else (item["Not" + field], True)


def _strings(value, message: str) -> list[str]:
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, str) and v for v in items):
        raise MalformedPolicy(message)
    return items


def _principals(value, known_accounts: KnownAccounts) -> Principals:
    if value == "*":
        return Principals(True, frozenset())
    if not isinstance(value, dict) or not value:
        raise MalformedPolicy(model.INVALID_PRINCIPAL)
    anyone, ids = False, set()
    for kind, names in value.items():
        if kind not in ("AWS", "CanonicalUser"):
            raise MalformedPolicy(model.INVALID_PRINCIPAL)
        for name in _strings(names, model.INVALID_PRINCIPAL):
            if name == "*" and kind == "AWS":
                anyone = True
            else:
                ids.add(_principal_id(kind, name, known_accounts))
    return Principals(anyone, frozenset(ids))


def _principal_id(kind: str, name: str, known_accounts: KnownAccounts) -> str:
    """One principal name, checked: the id a request's principal_ids holds."""
    if kind == "CanonicalUser":
        account = name if _CANONICAL.fullmatch(name) else None
    elif _ACCOUNT.fullmatch(name) or _CANONICAL.fullmatch(name):
        account = name
    else:
        arn = _IAM_ARN.fullmatch(name)
        account = arn.group(1) if arn else None
    if account is None or (known_accounts is not None and not known_accounts(account)):
        raise MalformedPolicy(model.INVALID_PRINCIPAL)
    return name


def _actions(value) -> re.Pattern[str]:
    patterns = _strings(value, model.INVALID_ACTION)
    sources = []
    for pattern in patterns:
        source = wildcard_regex(pattern)
        if not names_an_action(pattern, re.compile(source, re.IGNORECASE)):
            raise MalformedPolicy(model.INVALID_ACTION)
        sources.append(source)
    return re.compile("|".join(f"(?:{s})" for s in sources), re.IGNORECASE | re.DOTALL)


def _resources(value, bucket: str, variables: bool) -> tuple[tuple[Template, ...], set[str]]:
    """The compiled resources and what they can name in this bucket
    ("bucket": the bucket's ARN, "object": some object's).  A resource that
    can name neither is outside the bucket: "Policy has invalid resource".
    ``arn:aws:s3:::*`` and ``arn:aws:s3:::*/*`` name this bucket as any."""
    out, scope = [], set()
    for resource in _strings(value, model.INVALID_RESOURCE):
        if not resource.startswith(_ARN_PREFIX):
            raise MalformedPolicy(model.INVALID_RESOURCE)
        rest = resource[len(_ARN_PREFIX):]
        if "${" in rest.split("/", 1)[0]:
            raise MalformedPolicy(model.INVALID_RESOURCE)
        names_bucket, _ = glob_covers(rest, bucket)
        _, names_object = glob_covers(rest, bucket + "/")
        if not (names_bucket or names_object):
            raise MalformedPolicy(model.INVALID_RESOURCE)
        scope.update(("bucket",) if names_bucket else ())
        scope.update(("object",) if names_object else ())
        out.append(Template(resource, variables=variables))
    return tuple(out), scope
