# -*- test-case-name: tests.unit.test_locations -*-
"""locationConfig.json: its shape checked location by location, and the
``<location>_AZURE_STORAGE_*`` environment overrides."""
from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Mapping

from cloudserver.config.errors import ConfigError


LOCATION_TYPES = ("mem", "file", "aws_s3", "azure", "scality")
#: <location>_<suffix> environment variables override these azure details.
AZURE_ENV_OVERRIDES = (("AZURE_STORAGE_ACCOUNT_NAME", "azureStorageAccountName"),
                       ("AZURE_STORAGE_ACCESS_KEY", "azureStorageAccessKey"),
                       ("AZURE_STORAGE_ENDPOINT", "azureStorageEndpoint"))
_AZURE_CONTAINER_RE = re.compile(r"^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$")


def _detail(name: str, details: Mapping[str, Any], field: str, kind: type,
            required: bool = True) -> Any:
    if field not in details:
        if required:
            raise ConfigError(f"locationConfig.json: location '{name}' details lack '{field}'")
        return None
    value = details[field]
    if not isinstance(value, kind) or (kind is str and not value):
        what = "a non-empty string" if kind is str else kind.__name__
        raise ConfigError(f"locationConfig.json: location '{name}' field "
                          f"'details.{field}' must be {what}")
    return value


def _check_aws_details(name: str, details: Mapping[str, Any]) -> None:
    _detail(name, details, "awsEndpoint", str)
    _detail(name, details, "bucketName", str)
    _detail(name, details, "bucketMatch", bool)
    for flag in ("serverSideEncryption", "https", "pathStyle"):
        _detail(name, details, flag, bool, required=False)
    _detail(name, details, "region", str, required=False)
    profile = _detail(name, details, "credentialsProfile", str, required=False)
    creds = _detail(name, details, "credentials", dict, required=False)
    if profile is not None and creds is not None:
        raise ConfigError(f"locationConfig.json: location '{name}' field 'details.credentials'"
                          " cannot be used with 'details.credentialsProfile': use only one")
    if creds is not None:
        for field in ("accessKey", "secretKey"):
            if not isinstance(creds.get(field), str) or not creds[field]:
                raise ConfigError(f"locationConfig.json: location '{name}' field "
                                  f"'details.credentials.{field}' must be a non-empty string")


def _check_azure_details(name: str, details: Mapping[str, Any]) -> None:
    endpoint = _detail(name, details, "azureStorageEndpoint", str)
    if not endpoint.startswith(("http://", "https://")):
        raise ConfigError(f"locationConfig.json: location '{name}' field "
                          "'details.azureStorageEndpoint' must be an http(s) URL")
    container = _detail(name, details, "azureContainerName", str)
    if not _AZURE_CONTAINER_RE.match(container):
        raise ConfigError(f"locationConfig.json: location '{name}' field "
                          "'details.azureContainerName' is not a valid container name "
                          "(3-63 lower-case letters, digits and single hyphens)")
    _detail(name, details, "azureStorageAccountName", str)
    key = _detail(name, details, "azureStorageAccessKey", str)
    try:
        base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raise ConfigError(f"locationConfig.json: location '{name}' field "
                          "'details.azureStorageAccessKey' must be base64") from None
    _detail(name, details, "bucketMatch", bool)


def validate_locations(locations: Any) -> None:
    """Check locationConfig.json's shape; raise ConfigError naming the location and field."""
    if not isinstance(locations, dict) or not locations:
        raise ConfigError("locationConfig.json must be a non-empty object")
    if "us-east-1" not in locations:
        raise ConfigError("locationConfig.json: location 'us-east-1' must be defined")
    for name, loc in locations.items():
        if not isinstance(loc, dict):
            raise ConfigError(f"locationConfig.json: location '{name}' must be an object")
        for field, kind in (("type", str), ("legacyAwsBehavior", bool), ("details", dict)):
            if field not in loc:
                raise ConfigError(f"locationConfig.json: location '{name}' lacks '{field}'")
            if not isinstance(loc[field], kind):
                raise ConfigError(
                    f"locationConfig.json: location '{name}' field '{field}' must be "
                    f"{kind.__name__}")
        if loc["type"] not in LOCATION_TYPES:
            raise ConfigError(
                f"locationConfig.json: location '{name}' has unknown type '{loc['type']}'")
        if loc["type"] == "aws_s3":
            _check_aws_details(name, loc["details"])
        elif loc["type"] == "azure":
            _check_azure_details(name, loc["details"])


def resolve_locations(locations: Any, env: Mapping[str, str]) -> dict:
    """locationConfig.json with the ``<location>_AZURE_STORAGE_*`` environment
    overrides applied (upstream's names), then validated."""
    if isinstance(locations, dict):
        locations = dict(locations)
        for name, loc in locations.items():
            if isinstance(loc, dict) and loc.get("type") == "azure" and \
                    isinstance(loc.get("details"), dict):
                details = dict(loc["details"])
                for suffix, field in AZURE_ENV_OVERRIDES:
                    if env.get(f"{name}_{suffix}"):
                        details[field] = env[f"{name}_{suffix}"]
                locations[name] = {**loc, "details": details}
    validate_locations(locations)
    return locations
