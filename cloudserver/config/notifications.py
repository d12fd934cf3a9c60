# -*- test-case-name: tests.unit.test_notification_config -*-
"""config.json's ``bucketNotificationDestinations``: where bucket
notifications may go (as CloudServer 8), each named by its ``resource``;
a bucket's configuration names one by the ARN
``arn:scality:bucketnotif:::<resource>``::

    "bucketNotificationDestinations": [
        {"resource": "hooks", "type": "webhook",
         "url": "http://127.0.0.1:8080/s3-events",   # or "host" + "port" + "path"
         "secret": "shared secret", "timeout": 10}]

``type`` is ``webhook`` (an HTTP POST of the AWS event JSON, signed with
``secret`` in X-Scal-Signature).  ``kafka``, which CloudServer 8 has, is
refused: no Kafka broker can be installed from the package registries this
project uses (Debian has only clients, PyPI and npm no broker), so it could
not be tested (README "Bucket notifications").
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import attrs

from cloudserver.config import fields
from cloudserver.config.errors import ConfigError

NAME = "bucketNotificationDestinations"
KNOWN = ("resource", "type", "url", "host", "port", "path", "secret", "timeout")
TYPES = ("webhook",)
DEFAULT_TIMEOUT = 10.0


@attrs.frozen
class Destination:
    """One destination; the secret never appears in a repr or a log."""

    resource: str
    type: str
    url: str
    secret: str = attrs.field(default="", repr=False)
    timeout: float = DEFAULT_TIMEOUT

    @property
    def arn(self) -> str:
        return "arn:scality:bucketnotif:::" + self.resource


def _url(entry: Mapping[str, Any], where: str) -> str:
    url = entry.get("url")
    if url is None:
        host = entry.get("host")
        if not isinstance(host, str) or not host:
            raise ConfigError(f"config.json: {where} needs a url (or a host)")
        port = fields.number(entry, where, "port", 80, 1, 65535, integer=True)
        path = entry.get("path", "/")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ConfigError(f"config.json: {where}.path must start with /")
        url = f"http://{host}:{port}{path}"
    elif "host" in entry or "port" in entry or "path" in entry:
        raise ConfigError(f"config.json: {where} has a url and a host/port/path: give one")
    if not isinstance(url, str):
        raise ConfigError(f"config.json: {where}.url must be a string")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises on a bad port)
    except ValueError:
        raise ConfigError(f"config.json: {where}.url is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"config.json: {where}.url must be an http:// or https:// URL")
    return url


def _destination(entry: Any, index: int) -> Destination:
    where = f"{NAME}[{index}]"
    entry = fields.obj(entry, where, KNOWN)
    resource = entry.get("resource")
    if not isinstance(resource, str) or not resource or ":" in resource or \
            "\x00" in resource:
        raise ConfigError(f"config.json: {where}.resource must be a non-empty name "
                          "without ':'")
    kind = entry.get("type")
    if kind == "kafka":
        raise ConfigError(f"config.json: {where}: type kafka is not supported by this "
                          "server (no Kafka broker to test it against); use webhook")
    if kind not in TYPES:
        raise ConfigError(f"config.json: {where}.type must be one of {', '.join(TYPES)}")
    secret = entry.get("secret", "")
    if not isinstance(secret, str):
        raise ConfigError(f"config.json: {where}.secret must be a string")
    timeout = fields.number(entry, where, "timeout", DEFAULT_TIMEOUT, 0.1, 600)
    return Destination(resource=resource, type=kind, url=_url(entry, where),
                       secret=secret, timeout=float(timeout))


def parse_destinations(raw: Mapping[str, Any]) -> tuple[Destination, ...]:
    """The destinations of config.json (absent: none)."""
    value = raw.get(NAME)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(f"config.json: {NAME} must be a list")
    out = tuple(_destination(e, i) for i, e in enumerate(value))
    names = [d.resource for d in out]
    for name in names:
        if names.count(name) > 1:
            raise ConfigError(f"config.json: {NAME}: resource {name!r} is given twice")
    return out
