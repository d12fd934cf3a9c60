# -*- test-case-name: tests.unit.test_auth_accounts -*-
"""Accounts and their keys, from Zenko's authdata.json or the environment.

authdata.json looks like::

    {"accounts": [{"name": "Bart", "email": "...", "arn": "arn:aws:iam::123456789012:root",
                   "canonicalID": "79a5...", "shortid": "123456789012",
                   "keys": [{"access": "accessKey1", "secret": "verySecretKey1"}]}]}

An account may hold several keys.  Lookups by access key return an
:class:`Account` carrying *that* key and its secret, so the signer needs
nothing else; lookups by canonical ID or e-mail return the account with its
first key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import attrs

_REQUIRED = ("name", "email", "arn", "canonicalID", "shortid", "keys")


@attrs.frozen
class Account:
    """One account, seen through one of its access keys."""

    name: str
    email: str
    arn: str
    canonical_id: str
    shortid: str
    access_key: str
    secret_key: str = attrs.field(repr=False)

    @property
    def display_name(self) -> str:
        return self.name


class AccountStore:
    """Immutable in-memory index of accounts by access key, canonical ID and e-mail."""

    def __init__(self, accounts: Iterable[Account]):
        self._by_key: dict[str, Account] = {}
        self._by_id: dict[str, Account] = {}
        self._by_email: dict[str, Account] = {}
        self._by_shortid: dict[str, Account] = {}
        for account in accounts:
            if account.access_key in self._by_key:
                raise ValueError(f"duplicate access key {account.access_key!r} "
                                 f"(account {account.name!r})")
            self._by_key[account.access_key] = account
            first = self._by_id.setdefault(account.canonical_id, account)
            if first.name != account.name:
                raise ValueError(f"duplicate canonicalID {account.canonical_id!r} "
                                 f"(accounts {first.name!r} and {account.name!r})")
            self._by_email.setdefault(account.email.lower(), account)
            self._by_shortid.setdefault(account.shortid, account)

    @classmethod
    def from_authdata(cls, data: dict[str, Any]) -> AccountStore:
        """Parse and validate the authdata.json structure (already JSON-decoded)."""
        if not isinstance(data, dict) or not isinstance(data.get("accounts"), list):
            # ValueError for every malformed file, whatever the JSON type at fault.
            raise ValueError('authdata: expected an object with an "accounts" list')  # noqa: TRY004
        accounts: list[Account] = []
        for index, entry in enumerate(data["accounts"]):
            if not isinstance(entry, dict):
                raise ValueError(f"authdata: account #{index} is not an object")  # noqa: TRY004
            label = entry.get("name") if isinstance(entry.get("name"), str) else f"#{index}"
            for field in _REQUIRED:
                if field not in entry:
                    raise ValueError(f"authdata: account {label!r} is missing field {field!r}")
            for field in _REQUIRED[:-1]:
                if not isinstance(entry[field], str) or not entry[field]:
                    raise ValueError(f"authdata: account {label!r} field {field!r} "
                                     "must be a non-empty string")
            keys = entry["keys"]
            if not isinstance(keys, list) or not keys:
                raise ValueError(f"authdata: account {label!r} field 'keys' "
                                 "must be a non-empty list")
            for k, key in enumerate(keys):
                for part in ("access", "secret"):
                    if not isinstance(key, dict) or not isinstance(key.get(part), str) \
                            or not key[part]:
                        raise ValueError(f"authdata: account {label!r} key #{k} is missing "
                                         f"field {part!r}")
                accounts.append(Account(
                    name=entry["name"], email=entry["email"], arn=entry["arn"],
                    canonical_id=entry["canonicalID"], shortid=entry["shortid"],
                    access_key=key["access"], secret_key=key["secret"]))
        return cls(accounts)

    @classmethod
    def from_env(cls, access: str, secret: str) -> AccountStore:
        """The single "CustomAccount" of SCALITY_ACCESS_KEY_ID / _SECRET_ACCESS_KEY.

        CloudServer gives it a random canonical ID at each start; ours is
        derived from the access key so ACLs survive restarts.
        """
        if not access or not secret:
            raise ValueError("access and secret key must be non-empty")
        shortid = "123456789012"
        return cls([Account(
            name="CustomAccount", email="customaccount1@setbyenv.com",
            arn=f"arn:aws:iam::{shortid}:root",
            canonical_id=hashlib.sha256(access.encode("utf-8")).hexdigest(),
            shortid=shortid, access_key=access, secret_key=secret)])

    def by_access_key(self, access_key: str) -> Account | None:
        return self._by_key.get(access_key)

    def by_canonical_id(self, canonical_id: str) -> Account | None:
        return self._by_id.get(canonical_id)

    def by_account_id(self, shortid: str) -> Account | None:
        """By the 12-digit account id (``shortid``), as bucket policies name accounts."""
        return self._by_shortid.get(shortid)

    def by_email(self, email: str) -> Account | None:
        """Case-insensitive, as e-mail grantees are in S3 ACLs."""
        return self._by_email.get(email.lower())

    def all(self) -> list[Account]:
        """One entry per account (with its first key), in file order."""
        return list(self._by_id.values())
