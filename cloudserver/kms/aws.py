# -*- test-case-name: tests.unit.test_kms_aws -*-
"""The aws KMS: master keys kept by any AWS-KMS-API endpoint (AWS KMS,
moto_server, LocalStack, ...), spoken to with the KMS JSON 1.1 protocol
(``POST /``, ``X-Amz-Target: TrentService.<Action>``) through an injected
treq HTTP client, signed with botocore's SigV4 signer (service ``kms``), as
the aws_s3 location signs its requests.

Key ids.  A key id a client or the configuration names that is not an ARN,
an ``alias/...`` or a key id of the KMS (a UUID, ``mrk-...``) is the alias
``alias/<name>``: config.json's ``kms.keyIds`` (``testkey-1``) and
``defaultKeyId`` name aliases, and with ``kms.createMissingKeys`` (default)
``start()`` creates a key and its alias for each one the KMS lacks.
Bucket-level keys are new KMS keys (CreateKey), destroyed by
ScheduleKeyDeletion (7 days, the shortest AWS allows).

Failures: connection refused, timeout, 5xx, throttling -> KmsUnavailable
(503, the endpoint named in the log); NotFoundException (and a disabled
key) -> NoSuchKmsKey; InvalidCiphertextException -> KmsDecryptFailed; any
other refusal (credentials, validation) is our configuration's fault:
KmsUnavailable, logged as an error.  Responses are read up to
RESPONSE_LIMIT bytes; nothing of a 200 answer (it holds plaintext data
keys) is ever logged.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import treq
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from twisted.internet import defer
from twisted.internet.error import ConnectError, ConnectionClosed, DNSLookupError
from twisted.logger import Logger
from twisted.web.client import ResponseFailed
from zope.interface import implementer

from cloudserver.kms.config import DEFAULT_KEY_ID
from cloudserver.kms.errors import KmsDecryptFailed, KmsUnavailable, NoSuchKmsKey
from cloudserver.kms.interfaces import IKms

log = Logger(namespace="cloudserver.kms.aws")

DEFAULT_TIMEOUT = 10.0
#: KMS answers are a few hundred bytes; anything bigger is not a KMS.
RESPONSE_LIMIT = 64 * 1024
CONTENT_TYPE = "application/x-amz-json-1.1"
PENDING_DAYS = 7
_NETWORK_ERRORS = (ConnectError, DNSLookupError, ConnectionClosed, ResponseFailed,
                   defer.TimeoutError, defer.CancelledError, TimeoutError)
_NOT_FOUND = ("NotFoundException", "DisabledException", "KMSInvalidStateException")
_BAD_CIPHERTEXT = ("InvalidCiphertextException", "IncorrectKeyException")
_UNAVAILABLE = ("KMSInternalException", "ThrottlingException", "DependencyTimeoutException",
                "LimitExceededException")
_KMS_KEY_ID = re.compile(r"^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-"
                         r"[0-9a-f]{4}-[0-9a-f]{12})$")


class _TooLarge(Exception):
    pass


def aws_key_id(key_id: str) -> str:
    """What the KMS is asked for when we name ``key_id`` (see the module doc)."""
    if key_id.startswith(("arn:", "alias/")) or _KMS_KEY_ID.match(key_id):
        return key_id
    return f"alias/{key_id}"


def _error_type(raw: bytes, header: str | None) -> tuple[str, str]:
    """(error type, message) of a KMS error answer."""
    try:
        doc = json.loads(raw)
    except ValueError:
        doc = {}
    if not isinstance(doc, dict):
        doc = {}
    kind = str(doc.get("__type") or header or "")
    kind = kind.split("#")[-1].split(":")[0]
    message = doc.get("message") or doc.get("Message") or ""
    return kind, str(message)[:512]


async def _read(response, limit: int = RESPONSE_LIMIT) -> bytes:
    parts: list[bytes] = []
    size = 0

    def collect(data: bytes) -> None:
        nonlocal size
        size += len(data)
        if size > limit:
            raise _TooLarge()
        parts.append(data)
    await treq.collect(response, collect)
    return b"".join(parts)


def _observe(d: defer.Deferred) -> defer.Deferred:
    """A Deferred firing (with None) when ``d`` does, leaving ``d``'s result alone."""
    out: defer.Deferred = defer.Deferred()

    def fire(result):
        out.callback(None)
        return result
    d.addBoth(fire)
    return out


def _b64(answer: Mapping[str, Any], field: str) -> bytes:
    try:
        return base64.b64decode(answer[field], validate=True)
    except (KeyError, TypeError, binascii.Error, ValueError):
        raise ValueError(f"no base64 {field} in the answer") from None


@implementer(IKms)
class AwsKms:
    name = "aws"

    def __init__(self, *, endpoint: str, access_key: str, secret_key: str, http: Any,
                 clock: Any, region: str = "us-east-1", provider_name: str = "aws",
                 key_ids: Iterable[str] = (), default_key_id: str = DEFAULT_KEY_ID,
                 create_missing_keys: bool = True, timeout: float = DEFAULT_TIMEOUT,
                 pool: Any = None):
        scheme, sep, host = endpoint.partition("://")
        self.endpoint = (endpoint if sep else f"https://{endpoint}").rstrip("/")
        self._url = self.endpoint + "/"
        self._credentials = Credentials(access_key, secret_key)
        self._region, self._provider = region, provider_name
        self._http, self._clock, self._timeout, self._pool = http, clock, timeout, pool
        self.default_key_id = default_key_id
        self.key_ids = tuple(dict.fromkeys((default_key_id, *key_ids)))
        self._create_missing = create_missing_keys
        self._ready: defer.Deferred | None = None

    # -- the protocol -------------------------------------------------------

    def _signed_headers(self, action: str, body: bytes) -> dict[str, str]:
        request = AWSRequest(method="POST", url=self._url, data=body, headers={
            "Content-Type": CONTENT_TYPE, "X-Amz-Target": f"TrentService.{action}"})
        SigV4Auth(self._credentials, "kms", self._region).add_auth(request)
        return dict(request.headers.items())

    def _unavailable(self, action: str, reason: str, error: bool = False) -> KmsUnavailable:
        emit = log.error if error else log.warn
        emit("KMS {provider} at {endpoint}: {action} failed: {reason}",
             provider=self._provider, endpoint=self.endpoint, action=action, reason=reason)
        return KmsUnavailable(f"KMS {self._provider} at {self.endpoint}: {action} failed")

    async def _exchange(self, action: str, payload: Mapping[str, Any]) -> dict:
        body = json.dumps(payload).encode("utf-8")
        response = await self._http.request("POST", self._url,
                                            headers=self._signed_headers(action, body),
                                            data=body)
        try:
            raw = await _read(response)
        except _TooLarge:
            raise self._unavailable(action, f"answer larger than {RESPONSE_LIMIT} bytes",
                                    error=True) from None
        if response.code == 200:
            try:  # CreateAlias answers with no body (moto: "null")
                answer = json.loads(raw) if raw.strip() else {}
                answer = {} if answer is None else answer
            except ValueError:
                answer = None
            if not isinstance(answer, dict):
                raise self._unavailable(action, "answer is not a JSON object", error=True)
            return answer
        header = response.headers.getRawHeaders("x-amzn-errortype", [None])[0]
        kind, message = _error_type(raw, header)
        if response.code >= 500 or kind in _UNAVAILABLE:
            raise self._unavailable(action, f"HTTP {response.code} {kind}: {message}")
        if kind in _NOT_FOUND:
            raise NoSuchKmsKey(f"KMS {self._provider}: {action}: {kind}: {message}")
        if kind in _BAD_CIPHERTEXT:
            raise KmsDecryptFailed(f"KMS {self._provider}: {action}: {kind}: {message}")
        raise self._unavailable(action, f"HTTP {response.code} {kind}: {message}", error=True)

    def _call(self, action: str, payload: Mapping[str, Any]) -> defer.Deferred:
        """One KMS request, answered within ``timeout`` seconds or KmsUnavailable."""
        d = defer.Deferred.fromCoroutine(self._exchange(action, payload))
        d.addTimeout(self._timeout, self._clock)

        def network(failure):
            if failure.check(*_NETWORK_ERRORS):
                raise self._unavailable(action, failure.getErrorMessage()
                                        or failure.type.__name__)
            return failure
        return d.addErrback(network)

    # -- start: the configured key ids ----------------------------------------

    async def _ensure(self, key_id: str) -> None:
        alias = aws_key_id(key_id)
        try:
            await self._call("DescribeKey", {"KeyId": alias})
            return
        except NoSuchKmsKey:
            if not (self._create_missing and alias.startswith("alias/")):
                log.warn("KMS {provider}: configured key {key_id} does not exist",
                         provider=self._provider, key_id=key_id)
                return
        answer = await self._call("CreateKey", {"Description": f"cloudserver {key_id}"})
        created = answer["KeyMetadata"]["KeyId"]
        await self._call("CreateAlias", {"AliasName": alias, "TargetKeyId": created})
        log.info("KMS {provider}: created key {created} as {alias}", provider=self._provider,
                 created=created, alias=alias)

    async def _start(self) -> None:
        for key_id in self.key_ids:
            try:
                await self._ensure(key_id)
            except Exception as e:  # noqa: BLE001 - the server starts; requests will tell
                log.warn("KMS {provider}: cannot check configured key {key_id}: {error}",
                         provider=self._provider, key_id=key_id, error=e)
                return

    def start(self) -> defer.Deferred:
        """Check (and create, with createMissingKeys) the configured key ids;
        requests made meanwhile wait for it, so the first PUT naming
        ``testkey-1`` does not race the creation of its key."""
        self._ready = defer.Deferred.fromCoroutine(self._start())
        return _observe(self._ready)

    async def _after_start(self, action: str, payload: Mapping[str, Any]) -> dict:
        if self._ready is not None and not self._ready.called:
            await _observe(self._ready)
        return await self._call(action, payload)

    def _request(self, action: str, payload: Mapping[str, Any]) -> defer.Deferred:
        """_call, once start() is done."""
        return defer.Deferred.fromCoroutine(self._after_start(action, payload))

    # -- IKms ------------------------------------------------------------------

    def create_bucket_key(self, bucket: str) -> defer.Deferred:
        d = self._request("CreateKey", {"Description": f"cloudserver bucket {bucket}"})
        return d.addCallback(lambda answer: answer["KeyMetadata"]["KeyId"])

    def destroy_bucket_key(self, key_id: str) -> defer.Deferred:
        d = self._request("ScheduleKeyDeletion", {"KeyId": aws_key_id(key_id),
                                               "PendingWindowInDays": PENDING_DAYS})
        d.addErrback(lambda f: f.trap(NoSuchKmsKey) and None)
        return d.addCallback(lambda _: None)

    def has_key(self, key_id: str) -> defer.Deferred:
        d = self._request("DescribeKey", {"KeyId": aws_key_id(key_id)})
        d.addCallback(lambda answer: (answer.get("KeyMetadata") or {}).get("KeyState",
                                                                         "Enabled") == "Enabled")
        return d.addErrback(lambda f: f.trap(NoSuchKmsKey) and False)

    def _with_context(self, payload: dict, context: Mapping[str, str] | None) -> dict:
        if context:
            payload["EncryptionContext"] = dict(context)
        return payload

    def generate_data_key(self, key_id: str, context: Mapping[str, str] | None = None):
        async def run():
            answer = await self._request("GenerateDataKey", self._with_context(
                {"KeyId": aws_key_id(key_id), "KeySpec": "AES_256"}, context))
            try:
                return _b64(answer, "Plaintext"), _b64(answer, "CiphertextBlob")
            except ValueError as e:
                raise self._unavailable("GenerateDataKey", str(e), error=True) from None
        return defer.Deferred.fromCoroutine(run())

    def decrypt_data_key(self, key_id: str, wrapped: bytes,
                         context: Mapping[str, str] | None = None):
        async def run():
            answer = await self._request("Decrypt", self._with_context(
                {"KeyId": aws_key_id(key_id),
                 "CiphertextBlob": base64.b64encode(wrapped).decode("ascii")}, context))
            try:
                return _b64(answer, "Plaintext")
            except ValueError as e:
                raise self._unavailable("Decrypt", str(e), error=True) from None
        return defer.Deferred.fromCoroutine(run())

    def health(self) -> defer.Deferred:
        return self._request("ListKeys", {"Limit": 1}).addCallback(lambda _: None)

    def close(self):
        if self._pool is not None:
            return self._pool.closeCachedConnections()
        return None
