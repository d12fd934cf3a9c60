# -*- test-case-name: tests.unit.test_data_azure -*-
"""The ``azure`` location: object bytes as block blobs in an Azure Blob
Storage container (or Azurite).

Requests carry a SharedKey signature computed here (a page of code: an
HMAC-SHA256 over the canonical request, as Microsoft documents it) and go
through the injected twisted.web IAgent with streamed bodies
(``cloudserver.data.remote``); no Azure SDK runs in the server.

Objects: one Put Blob per PUT.  Multipart uploads: each part is a staged
block (Put Block, id derived from our upload id and the part number) and
CompleteMultipartUpload commits the chosen blocks in order (Put Block
List); abandoned blocks are discarded by Azure.  Remote names follow
``bucketMatch`` like aws_s3; the data key is ``/<name>``
(``remote.encode_key`` without a version).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from email.utils import formatdate
from typing import Any, Mapping
from urllib.parse import parse_qsl, quote, urlsplit
from xml.sax.saxutils import escape

from twisted.internet import defer
from zope.interface import implementer

from cloudserver.data import remote, remote_download
from cloudserver.data.interfaces import IDataStore
from cloudserver.data.write_context import WriteContext

API_VERSION = "2021-08-06"

#: Stored content headers -> Azure blob properties.
PROPERTY_HEADERS = {
    "cache-control": "x-ms-blob-cache-control",
    "content-disposition": "x-ms-blob-content-disposition",
    "content-encoding": "x-ms-blob-content-encoding",
    "content-language": "x-ms-blob-content-language",
}
_SIGNED_STANDARD = ("content-encoding", "content-language", "content-length",
                    "content-md5", "content-type", "date", "if-modified-since", "if-match",
                    "if-none-match", "if-unmodified-since", "range")
_META_NAME_RE = re.compile(r"[^A-Za-z0-9_]")


def shared_key(account: str, key_b64: str, method: str, url: str,
               headers: Mapping[str, str]) -> str:
    """The ``Authorization`` value of a SharedKey-signed Blob request.

    ``headers`` must hold every header that will be sent (Content-Length
    included when there is a body); names are compared case-insensitively.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    lines = [method.upper()]
    for name in _SIGNED_STANDARD:
        value = lower.get(name, "")
        if name == "content-length" and value == "0":
            value = ""
        lines.append(value)
    canon_headers = sorted((k, v.strip()) for k, v in lower.items() if k.startswith("x-ms-"))
    parts = urlsplit(url)
    resource = f"/{account}{parts.path}"
    params: dict[str, list[str]] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        params.setdefault(name.lower(), []).append(value)
    for name in sorted(params):
        resource += f"\n{name}:{','.join(sorted(params[name]))}"
    text = "\n".join(lines + [f"{k}:{v}" for k, v in canon_headers] + [resource])
    digest = hmac.new(base64.b64decode(key_b64), text.encode("utf-8"), hashlib.sha256)
    return f"SharedKey {account}:{base64.b64encode(digest.digest()).decode('ascii')}"


def meta_name(name: str) -> str:
    """``x-amz-meta-foo-bar`` -> ``foo_bar``: Azure metadata names are C#
    identifiers."""
    name = _META_NAME_RE.sub("_", name[len("x-amz-meta-"):] if
                             name.startswith("x-amz-meta-") else name)
    return "_" + name if not name or name[0].isdigit() else name


def block_id(upload_id: str, number: int) -> str:
    """One upload's block ids all have the same length, as Azure requires."""
    tag = hashlib.sha256(upload_id.encode("utf-8")).hexdigest()[:24]
    return base64.b64encode(f"{tag}-{number:05d}".encode("ascii")).decode("ascii")


@implementer(IDataStore)
class AzureDataStore:
    def __init__(self, name: str, *, endpoint: str, container: str, account: str,
                 access_key: str, bucket_match: bool, http: Any, clock: Any,
                 timeout: float = remote.DEFAULT_TIMEOUT):
        self.name = name
        self.container = container
        self.account = account
        self.bucket_match = bucket_match
        self._key = access_key
        self._base = endpoint.rstrip("/") + "/" + quote(container)
        self._http, self._clock, self._timeout = http, clock, timeout

    @classmethod
    def from_details(cls, name: str, details: Mapping[str, Any], *, http,
                     clock) -> "AzureDataStore":
        """``details`` after config.resolve_locations applied the
        ``<location>_AZURE_STORAGE_*`` environment overrides."""
        return cls(name, endpoint=details["azureStorageEndpoint"],
                   container=details["azureContainerName"],
                   account=details["azureStorageAccountName"],
                   access_key=details["azureStorageAccessKey"],
                   bucket_match=details["bucketMatch"], http=http, clock=clock)

    def remote_name(self, bucket: str, key: str) -> str:
        return key if self.bucket_match else f"{bucket}/{key}"

    def url(self, name: str | None, query: str = "") -> str:
        path = "/" + quote(name, safe="/~") if name is not None else ""
        return self._base + path + (("?" + query) if query else "")

    def request(self, method: str, url: str, headers: dict[str, str] | None = None,
                body=None, length: int | None = None) -> defer.Deferred:
        """Sign and send.  ``length`` is the body's length (the agent sends
        Content-Length itself, but it is part of the signature)."""
        headers = dict(headers or {})
        headers["x-ms-date"] = formatdate(self._clock.seconds(), usegmt=True)
        headers["x-ms-version"] = API_VERSION
        if body is not None and length is None:
            length = body.length
        signed = dict(headers)
        if length is not None:
            signed["Content-Length"] = str(length)
        headers["Authorization"] = shared_key(self.account, self._key, method, url, signed)
        return self._http.request(method.encode("ascii"), url.encode("ascii"),
                                  remote.to_headers(headers), body)

    async def _checked(self, what: str, d: defer.Deferred, ok=(200, 201, 202)):
        d.addTimeout(self._timeout, self._clock)
        try:
            response = await d
        except Exception:  # noqa: BLE001 - mapped to a data error
            from twisted.python.failure import Failure
            remote.as_data_error(self.name, what, Failure()).raiseException()
        return await remote.check_status(self.name, what, response, ok)

    def _properties(self, context: WriteContext, prefix_content_type: bool) -> dict:
        out: dict[str, str] = {}
        if context.content_type:
            out["x-ms-blob-content-type" if prefix_content_type else "Content-Type"] = \
                context.content_type
        for name, azure_name in PROPERTY_HEADERS.items():
            if context.headers.get(name):
                out[azure_name] = context.headers[name]
        for name, value in context.metadata.items():
            out["x-ms-meta-" + meta_name(name)] = value if value.isascii() else quote(value)
        if context.tagging:
            out["x-ms-meta-tags"] = context.tagging
        return out

    # -- IDataStore --------------------------------------------------------------

    def create_writer(self, context: WriteContext | None = None):
        if context is None or context.size is None:
            raise ValueError("an azure location needs the object's name and size")
        name = self.remote_name(context.bucket, context.key)
        if context.part is not None:
            bid = block_id(context.part.upload_id, context.part.number)
            url = self.url(name, f"comp=block&blockid={quote(bid, safe='')}")
            headers: dict[str, str] = {}
            what = f"Put Block {name}#{context.part.number}"
        else:
            url = self.url(name)
            headers = {"x-ms-blob-type": "BlockBlob", **self._properties(context, False)}
            what = f"Put Blob {name}"
        if context.content_md5:
            headers["Content-MD5"] = context.content_md5

        def result(response) -> str:
            if context.part is not None:
                return block_id(context.part.upload_id, context.part.number)
            return remote.encode_key(name)

        return remote.put_writer(self, url, headers, what, context.size, (201,), result,
                                 deletable=context.part is None)

    def producer(self, key: str, offset: int, length: int):
        name, _ = remote.decode_key(key)
        return remote_download.ranged_get(
            self, self.url(name), {"x-ms-range": f"bytes={offset}-{offset + length - 1}"},
            f"Get Blob {name}", length)

    def delete(self, key: str) -> defer.Deferred:
        name, _ = remote.decode_key(key)

        async def run():
            response = await self._checked(f"Delete Blob {name}",
                                           self.request("DELETE", self.url(name)),
                                           (200, 202, 404))
            await remote.read_body(response)
        return defer.Deferred.fromCoroutine(run())

    def close(self) -> None:
        return None

    # -- multipart ---------------------------------------------------------------

    def initiate_mpu(self, context: WriteContext) -> defer.Deferred:
        """Nothing to create remotely: blocks are staged on the blob itself."""
        return defer.succeed(None)

    def complete_mpu(self, context: WriteContext, remote_id: str | None,
                     parts: list[tuple[int, str]]) -> defer.Deferred:
        name = self.remote_name(context.bucket, context.key)
        body = ("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>"
                + "".join(f"<Latest>{escape(bid)}</Latest>" for _, bid in parts)
                + "</BlockList>").encode("utf-8")
        headers = {"Content-Type": "application/xml", **self._properties(context, True)}

        async def run() -> str:
            response = await self._checked(
                f"Put Block List {name}",
                self.request("PUT", self.url(name, "comp=blocklist"), headers,
                             remote_download.BytesProducer(body)), (201,))
            await remote.read_body(response)
            return remote.encode_key(name)
        return defer.Deferred.fromCoroutine(run())

    def abort_mpu(self, context: WriteContext, remote_id: str | None) -> defer.Deferred:
        """Uncommitted blocks are garbage-collected by Azure (a week later)."""
        return defer.succeed(None)

    # -- health ------------------------------------------------------------------

    def healthcheck(self) -> defer.Deferred:
        """Get Container Properties: the container exists and our key works."""
        return defer.Deferred.fromCoroutine(remote.probe(
            self.request("GET", self._base + "?restype=container"), self._timeout,
            self._clock, "OK", "container properties"))
