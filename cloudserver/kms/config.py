# -*- test-case-name: tests.unit.test_config -*-
"""The KMS settings: which backend, the key ids clients may name, and how
to reach an AWS-KMS-API endpoint.

Names are upstream CloudServer's where it has them: the ``S3KMS``
environment variable (``file``, ``mem``, ``aws``) and config.json's
``kmsAWS`` {providerName, region, endpoint, ak, sk}.  What upstream lacks
lives in config.json's ``kms`` section: ``backend``, ``keyIds``,
``defaultKeyId``, ``path``, ``createMissingKeys``.  (Upstream's own ``kms``
keys belong to its proprietary scality-kms client and are refused here.)

This module only parses; cloudserver.config turns KmsConfigError into its
ConfigError, cloudserver.kms.build makes the backend.
"""
from __future__ import annotations

import re
from typing import Any, Mapping

import attrs

BACKENDS = ("file", "mem", "aws")
DEFAULT_KEY_ID = "cloudserver-default"
KMS_FIELDS = ("backend", "keyIds", "defaultKeyId", "path", "createMissingKeys")
AWS_FIELDS = ("providerName", "region", "endpoint", "ak", "sk")
#: Key ids: what AWS accepts in a key id, alias name or ARN.
_KEY_ID_RE = re.compile(r"^[A-Za-z0-9:/_.\-]{1,256}$")


class KmsConfigError(ValueError):
    """The KMS configuration cannot be used; the message names the field."""


@attrs.frozen
class KmsAwsConfig:
    """config.json ``kmsAWS``: an AWS-KMS-API endpoint and its credentials."""

    endpoint: str
    ak: str
    sk: str = attrs.field(repr=False)
    region: str = "us-east-1"
    provider_name: str = "aws"


@attrs.frozen
class KmsConfig:
    backend: str = "file"
    #: the key ids clients may name (x-amz-server-side-encryption-aws-kms-key-id),
    #: created on first start
    key_ids: tuple[str, ...] = ()
    #: the master key of SSE-S3 objects (AES256)
    default_key_id: str = DEFAULT_KEY_ID
    #: the file KMS's directory (None: <S3METADATAPATH>/kms)
    path: str | None = None
    #: aws: create the configured key ids (key + alias/<id>) missing at the KMS
    create_missing_keys: bool = True
    aws: KmsAwsConfig | None = None


def _section(raw: Mapping[str, Any], name: str, fields: tuple[str, ...]) -> dict:
    section = raw.get(name)
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise KmsConfigError(f"config.json: {name} must be an object")
    unknown = sorted(set(section) - set(fields))
    if unknown:
        raise KmsConfigError(f"config.json: {name}.{unknown[0]} is not supported "
                             f"(known: {', '.join(fields)})")
    return section


def _key_id(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _KEY_ID_RE.match(value):
        raise KmsConfigError(f"config.json: {field} must be a key id (1-256 letters, digits "
                             "and :/_.-)")
    return value


def _backend(section: Mapping[str, Any], env: Mapping[str, str], data_backend: str) -> str:
    """S3KMS, else mem when S3BACKEND=mem (a mem server keeps nothing on
    disk, as upstream's S3BACKEND sets its KMS too), else kms.backend, else file."""
    if env.get("S3KMS"):
        backend, what = env["S3KMS"], "S3KMS"
    elif data_backend == "mem":
        return "mem"
    else:
        backend, what = section.get("backend", "file"), "config.json: kms.backend"
    if backend not in BACKENDS:
        raise KmsConfigError(f"{what} must be one of {', '.join(BACKENDS)}, not '{backend}'")
    return backend


def _aws(raw: Mapping[str, Any]) -> KmsAwsConfig | None:
    section = _section(raw, "kmsAWS", AWS_FIELDS)
    if not section:
        return None
    for field in ("endpoint", "ak", "sk", "region", "providerName"):
        if field in section and (not isinstance(section[field], str) or not section[field]):
            raise KmsConfigError(f"config.json: kmsAWS.{field} must be a non-empty string")
    for field in ("endpoint", "ak", "sk"):
        if field not in section:
            raise KmsConfigError(f"config.json: kmsAWS.{field} must be defined")
    provider = section.get("providerName", "aws")
    if not re.match(r"^[a-z0-9]+$", provider):
        raise KmsConfigError("config.json: kmsAWS.providerName must be lowercase "
                             "alphanumeric only")
    return KmsAwsConfig(endpoint=section["endpoint"], ak=section["ak"], sk=section["sk"],
                        region=section.get("region", "us-east-1"), provider_name=provider)


def parse(raw: Mapping[str, Any], env: Mapping[str, str], data_backend: str) -> KmsConfig:
    """The KmsConfig of config.json and the environment (``data_backend``:
    the resolved S3BACKEND)."""
    section = _section(raw, "kms", KMS_FIELDS)
    backend = _backend(section, env, data_backend)
    key_ids = section.get("keyIds", [])
    if not isinstance(key_ids, list):
        raise KmsConfigError("config.json: kms.keyIds must be a list of key ids")
    key_ids = tuple(_key_id(k, "kms.keyIds[]") for k in key_ids)
    default = _key_id(section.get("defaultKeyId", DEFAULT_KEY_ID), "kms.defaultKeyId")
    path = section.get("path")
    if path is not None and (not isinstance(path, str) or not path):
        raise KmsConfigError("config.json: kms.path must be a directory path")
    create = section.get("createMissingKeys", True)
    if not isinstance(create, bool):
        raise KmsConfigError("config.json: kms.createMissingKeys must be true or false")
    aws = _aws(raw)
    if backend == "aws" and aws is None:
        raise KmsConfigError("the aws KMS needs config.json kmsAWS {endpoint, ak, sk, region}")
    return KmsConfig(backend=backend, key_ids=key_ids, default_key_id=default, path=path,
                     create_missing_keys=create, aws=aws)
