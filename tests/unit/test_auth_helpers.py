# -*- test-case-name: tests.unit.test_auth_botocore -*-
"""Shared fixtures for the auth tests: example keys, botocore request conversion."""

from __future__ import annotations

import calendar
import datetime
from unittest import mock
from urllib.parse import urlsplit

from botocore.awsrequest import AWSRequest

from cloudserver.accounts import AccountStore
from cloudserver.s3.auth.request_info import RequestInfo

# The credentials of AWS's documentation examples.
EXAMPLE_ACCESS = "AKIAIOSFODNN7EXAMPLE"
EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

AUTHDATA = {
    "accounts": [
        {"name": "Example", "email": "example@example.com",
         "arn": "arn:aws:iam::123456789012:root",
         "canonicalID": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
         "shortid": "123456789012",
         "keys": [{"access": EXAMPLE_ACCESS, "secret": EXAMPLE_SECRET}]},
        {"name": "Bart", "email": "sampleaccount1@sampling.com",
         "arn": "arn:aws:iam::123456789013:root",
         "canonicalID": "1111111111111111111111111111111111111111111111111111111111111111",
         "shortid": "123456789013",
         "keys": [{"access": "accessKey1", "secret": "verySecretKey1"},
                  {"access": "accessKey1b", "secret": "other+Secret/Key=="}]},
    ],
}


def store() -> AccountStore:
    return AccountStore.from_authdata(AUTHDATA)


def epoch(*fields: int) -> float:
    return float(calendar.timegm(fields + (0,) * (6 - len(fields))))


# 20130524T000000Z, the timestamp of AWS's SigV4 examples.
EXAMPLE_NOW = epoch(2013, 5, 24)
# The time botocore-signed requests are made at in these tests.
BOTO_NOW = epoch(2024, 2, 29, 12, 30, 15)


def frozen_botocore_clock(when: float = BOTO_NOW):
    """Patch botocore's SigV4 clock (the HmacV1 signers are given dates explicitly)."""
    dt = datetime.datetime.fromtimestamp(when, datetime.UTC).replace(tzinfo=None)
    return mock.patch("botocore.auth.get_current_datetime", return_value=dt)


def info_from_botocore(request: AWSRequest) -> RequestInfo:
    """What the server would see for a botocore-signed request."""
    prepared = request.prepare()
    parts = urlsplit(prepared.url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    headers = [(k, v) for k, v in prepared.headers.items()]
    if not any(k.lower() == "host" for k, _ in headers):
        headers.append(("Host", parts.netloc))
    body = prepared.body
    if body and not any(k.lower() == "content-length" for k, _ in headers):
        headers.append(("Content-Length", str(len(body))))
    return RequestInfo.from_raw(prepared.method, target.encode("utf-8"),
                                [(k, v.encode("utf-8") if isinstance(v, str) else v)
                                 for k, v in headers])


def raw_info(method: str, target: str, headers: dict[str, str] | list[tuple[str, str]],
             host: str | None = None) -> RequestInfo:
    items = headers.items() if isinstance(headers, dict) else headers
    return RequestInfo.from_raw(method, target, list(items), host=host)
