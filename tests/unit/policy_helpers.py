"""Shared builders for the bucket policy engine's table tests."""
from __future__ import annotations

import json

from cloudserver.s3.access.policy import PolicyRequest, compile_policy

BUCKET = "bucket"
BART = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
BART_ACCOUNT = "123456789012"
LISA = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2bf"
LISA_ACCOUNT = "123456789013"
KNOWN = {BART, BART_ACCOUNT, LISA, LISA_ACCOUNT}


def statement(**fields) -> dict:
    """An Allow-everyone-GetObject-on-the-bucket statement, fields overridden."""
    base = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    for name, value in fields.items():
        if name.startswith("Not") and name[3:] in base:
            del base[name[3:]]
        if value is None:
            base.pop(name, None)
        else:
            base[name] = value
    return base


def policy(*statements, version: str | None = "2012-10-17"):
    document: dict = {"Statement": list(statements)}
    if version is not None:
        document["Version"] = version
    return compile_policy(json.dumps(document), BUCKET, known_accounts=KNOWN.__contains__)


def request(action="s3:GetObject", key: str | None = "photo.jpg", who: str | None = BART,
            **context) -> PolicyRequest:
    """A request by ``who`` (BART, LISA or None: anonymous); context keys
    are given with ``__`` for ``:`` and ``_`` for ``-``."""
    ids: frozenset[str] = frozenset()
    if who == BART:
        ids = frozenset({BART, BART_ACCOUNT, f"arn:aws:iam::{BART_ACCOUNT}:root"})
    elif who == LISA:
        ids = frozenset({LISA, LISA_ACCOUNT, f"arn:aws:iam::{LISA_ACCOUNT}:root"})
    resource = f"arn:aws:s3:::{BUCKET}" + ("" if key is None else "/" + key)
    ctx = {}
    for name, value in context.items():
        key_name = name.replace("__", ":").replace("_", "-").lower()
        ctx[key_name] = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    return PolicyRequest(ids, who is None, action, resource, ctx)
