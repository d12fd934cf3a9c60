# -*- test-case-name: tests.unit.test_kms -*-
"""The in-memory KMS (tests, ``S3KMS=mem``): master keys live as long as the process."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterable, Mapping

from twisted.internet import defer
from zope.interface import implementer

from cloudserver.data.cipher import new_key
from cloudserver.kms import wrap
from cloudserver.kms.errors import NoSuchKmsKey
from cloudserver.kms.interfaces import IKms

DEFAULT_KEY_ID = "cloudserver-default"


@implementer(IKms)
class MemoryKms:
    name = "mem"

    def __init__(self, key_ids: Iterable[str] = (), default_key_id: str = DEFAULT_KEY_ID,
                 keys: Mapping[str, bytes] | None = None):
        self._keys: dict[str, bytes] = dict(keys or {})
        self.default_key_id = default_key_id
        for key_id in (default_key_id, *key_ids):
            self._keys.setdefault(key_id, os.urandom(32))

    def _master(self, key_id: str) -> bytes:
        try:
            return self._keys[key_id]
        except KeyError:
            raise NoSuchKmsKey(f"no master key {key_id!r} in the {self.name} KMS") from None

    def _added(self, key_id: str) -> None:
        """Hook: a key was created (the file KMS saves)."""

    def _removed(self, key_id: str) -> None:
        """Hook: a key was destroyed."""

    def create_bucket_key(self, bucket: str):
        key_id = f"bucket-{uuid.uuid4().hex}"
        self._keys[key_id] = new_key()
        return defer.maybeDeferred(self._added, key_id).addCallback(lambda _: key_id)

    def destroy_bucket_key(self, key_id: str):
        if self._keys.pop(key_id, None) is None:
            return defer.succeed(None)
        return defer.maybeDeferred(self._removed, key_id).addCallback(lambda _: None)

    def has_key(self, key_id: str):
        return defer.succeed(key_id in self._keys)

    def generate_data_key(self, key_id: str, context: Mapping[str, str] | None = None):
        try:
            master = self._master(key_id)
        except NoSuchKmsKey:
            return defer.fail()
        data_key = new_key()
        return defer.succeed((data_key, wrap.wrap(master, key_id, data_key, context)))

    def decrypt_data_key(self, key_id: str, wrapped: bytes,
                         context: Mapping[str, str] | None = None):
        return defer.maybeDeferred(lambda: wrap.unwrap(self._master(key_id), key_id,
                                                       wrapped, context))

    def health(self):
        return defer.succeed(None)

    def close(self):
        return None
