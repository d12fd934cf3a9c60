# -*- test-case-name: tests.unit.test_kms -*-
"""The server's KMS, as the configuration (cloudserver.kms.config) says."""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from twisted.internet import defer

from cloudserver.kms.config import KmsConfig, KmsConfigError
from cloudserver.kms.interfaces import IKms


def kms_directory(kms: KmsConfig, metadata_path: str) -> str:
    """Where the file KMS keeps its key file: kms.path, else <metadata>/kms."""
    return os.path.abspath(kms.path) if kms.path else os.path.join(metadata_path, "kms")


def http_client(reactor) -> tuple[Any, Any]:
    """(treq HTTPClient, its connection pool) of the aws KMS."""
    from treq.client import HTTPClient
    from twisted.web.client import Agent, HTTPConnectionPool

    pool = HTTPConnectionPool(reactor, persistent=True)
    pool.maxPersistentPerHost = 8
    return HTTPClient(Agent(reactor, pool=pool)), pool


def build_kms(config, reactor, defer_to_thread: Callable[..., defer.Deferred],
              metadata_path: str | None = None, http: Any = None) -> IKms:
    """The IKms of ``config.kms``; ConfigError (cloudserver.config) when it
    cannot be used (a bad key file, a missing kmsAWS)."""
    from cloudserver.config import ConfigError

    kms: KmsConfig = config.kms
    if kms.backend == "mem":
        from cloudserver.kms.memory import MemoryKms
        return MemoryKms(key_ids=kms.key_ids, default_key_id=kms.default_key_id)
    if kms.backend == "file":
        from cloudserver.kms.file import FileKms
        directory = kms_directory(kms, metadata_path or config.metadata_path)
        try:
            return FileKms(directory, defer_to_thread, kms.key_ids, kms.default_key_id)
        except KmsConfigError as e:
            raise ConfigError(str(e)) from None
        except OSError as e:
            raise ConfigError(f"KMS directory {directory}: {e.strerror}") from None
    from cloudserver.kms.aws import AwsKms
    pool = None
    if http is None:
        http, pool = http_client(reactor)
    aws = kms.aws
    return AwsKms(endpoint=aws.endpoint, access_key=aws.ak, secret_key=aws.sk, http=http,
                  clock=reactor, region=aws.region, provider_name=aws.provider_name,
                  key_ids=kms.key_ids, default_key_id=kms.default_key_id,
                  create_missing_keys=kms.create_missing_keys, pool=pool)


async def kms_health(kms) -> dict:
    """The deep healthcheck's entry of the KMS, in upstream's shape:
    ``{<impl>: {code: 200, message: "OK"}}`` or ``{<impl>: {code, error}}``."""
    name = IMPL_NAMES.get(kms.name, f"{kms.name}Kms")
    try:
        await kms.health()
    except Exception as e:  # noqa: BLE001 - reported, not raised
        return {name: {"code": 503, "error": str(getattr(e, "detail", None) or e)}}
    return {name: {"code": 200, "message": "OK"}}


#: upstream's names of its KMS implementations in the healthcheck
IMPL_NAMES = {"mem": "memoryKms", "file": "fileKms", "aws": "awsKms"}
