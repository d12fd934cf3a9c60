# -*- test-case-name: tests.unit.test_data_aws -*-
"""The ``aws_s3`` location: object bytes in a bucket of AWS S3 or any
S3-compatible endpoint.

Requests are signed with botocore's SigV4 signer (UNSIGNED-PAYLOAD for
streamed bodies, so nothing is hashed or buffered twice) and sent with the
injected twisted.web IAgent; bodies stream both ways through
``cloudserver.data.remote``.

Remote names: ``<key>`` with ``bucketMatch: true``, ``<bucket>/<key>``
otherwise.  The data key kept in our metadata is ``<versionId>/<name>``
(``remote.encode_key``): when the remote bucket is versioned (as the
CloudServer docs ask), reads and deletes address the exact version we
wrote, so overwrites and local versions never read each other's bytes.
"""
from __future__ import annotations

import configparser
import os
from typing import Any, Mapping
from urllib.parse import quote

from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from lxml import etree
from twisted.internet import defer
from zope.interface import implementer

from cloudserver.data import remote, remote_download
from cloudserver.data.interfaces import IDataStore
from cloudserver.data.write_context import WriteContext

S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)

#: Stored content headers that travel with the object.
CONTENT_HEADERS = ("cache-control", "content-disposition", "content-encoding",
                   "content-language", "expires")


class _Signer(S3SigV4Auth):
    """SigV4 with UNSIGNED-PAYLOAD unless the request says to hash its body."""

    def _should_sha256_sign_payload(self, request):
        return request.context.get("sign_payload", False)


def profile_credentials(profile: str, env: Mapping[str, str]) -> tuple[str, str] | None:
    """(access, secret) of a profile of ~/.aws/credentials (or
    AWS_SHARED_CREDENTIALS_FILE), None when it is not there."""
    path = env.get("AWS_SHARED_CREDENTIALS_FILE") or os.path.expanduser("~/.aws/credentials")
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (OSError, configparser.Error):
        return None
    if not parser.has_section(profile):
        return None
    access = parser.get(profile, "aws_access_key_id", fallback=None)
    secret = parser.get(profile, "aws_secret_access_key", fallback=None)
    return (access, secret) if access and secret else None


def _xml(body: bytes):
    return etree.fromstring(body, _PARSER)


def _find_text(root, name: str) -> str | None:
    node = root.find(S3_NS + name)
    if node is None:
        node = root.find(name)
    return node.text if node is not None else None


@implementer(IDataStore)
class AwsS3DataStore:
    def __init__(self, name: str, *, endpoint: str, bucket: str, bucket_match: bool,
                 access_key: str, secret_key: str, http: Any, clock: Any,
                 https: bool = True, path_style: bool = False,
                 server_side_encryption: bool = False, region: str = "us-east-1",
                 timeout: float = remote.DEFAULT_TIMEOUT):
        self.name = name
        self.bucket = bucket
        self.bucket_match = bucket_match
        self.sse = server_side_encryption
        self._http, self._clock, self._timeout = http, clock, timeout
        self._credentials = Credentials(access_key, secret_key)
        self._region = region
        scheme, sep, host = endpoint.partition("://")
        if not sep:
            scheme, host = ("https" if https else "http"), endpoint
        host = host.rstrip("/")
        self._base = (f"{scheme}://{host}/{quote(bucket)}" if path_style
                      else f"{scheme}://{bucket}.{host}")

    @classmethod
    def from_details(cls, name: str, details: Mapping[str, Any], *, http, clock,
                     env: Mapping[str, str] | None = None) -> "AwsS3DataStore":
        from cloudserver.config import ConfigError

        env = os.environ if env is None else env
        creds = details.get("credentials")
        if creds:
            access, secret = creds["accessKey"], creds["secretKey"]
        else:
            profile = details.get("credentialsProfile") or "default"
            found = profile_credentials(profile, env)
            if found is None:
                raise ConfigError(f"locationConfig.json: location '{name}' field "
                                  f"'details.credentialsProfile': no credentials for "
                                  f"profile '{profile}' in the AWS credentials file")
            access, secret = found
        return cls(name, endpoint=details["awsEndpoint"], bucket=details["bucketName"],
                   bucket_match=details["bucketMatch"], access_key=access,
                   secret_key=secret, http=http, clock=clock,
                   https=details.get("https", True),
                   path_style=details.get("pathStyle", False),
                   server_side_encryption=details.get("serverSideEncryption", False),
                   region=details.get("region", "us-east-1"))

    # -- naming and requests ---------------------------------------------------

    def remote_name(self, bucket: str, key: str) -> str:
        """The object name in the remote bucket (bucketMatch decides)."""
        return key if self.bucket_match else f"{bucket}/{key}"

    def url(self, name: str | None, query: str = "") -> str:
        path = "/" + quote(name, safe="/~") if name is not None else "/"
        return self._base + path + (("?" + query) if query else "")

    def request(self, method: str, url: str, headers: dict[str, str] | None = None,
                body=None, *, sign_body: bytes | None = None) -> defer.Deferred:
        """Sign and send; ``body`` is an IBodyProducer or None, ``sign_body``
        a small body that is also hashed into the signature."""
        req = AWSRequest(method=method, url=url, headers=dict(headers or {}),
                         data=sign_body or b"")
        req.context["sign_payload"] = sign_body is not None
        _Signer(self._credentials, "s3", self._region).add_auth(req)
        if sign_body is not None:
            body = remote_download.BytesProducer(sign_body)
        signed = {k: v for k, v in req.headers.items()}
        return self._http.request(method.encode("ascii"), url.encode("ascii"),
                                  remote.to_headers(signed), body)

    def _object_headers(self, context: WriteContext) -> dict[str, str]:
        out: dict[str, str] = {}
        if context.content_type:
            out["Content-Type"] = context.content_type
        for name in CONTENT_HEADERS:
            if context.headers.get(name):
                out[name] = context.headers[name]
        out.update(context.metadata)
        if context.tagging:
            out["x-amz-tagging"] = context.tagging
        if self.sse:
            out["x-amz-server-side-encryption"] = "AES256"
        return out

    async def _checked(self, what: str, d: defer.Deferred, ok=(200, 204, 206)):
        d.addTimeout(self._timeout, self._clock)
        try:
            response = await d
        except Exception:  # noqa: BLE001 - mapped to a data error
            from twisted.python.failure import Failure
            remote.as_data_error(self.name, what, Failure()).raiseException()
        return await remote.check_status(self.name, what, response, ok)

    # -- IDataStore --------------------------------------------------------------

    def create_writer(self, context: WriteContext | None = None):
        if context is None or context.size is None:
            raise ValueError("an aws_s3 location needs the object's name and size")
        name = self.remote_name(context.bucket, context.key)
        if context.part is not None:
            part = context.part
            url = self.url(name, f"partNumber={part.number}&uploadId="
                           f"{quote(part.remote_upload_id or '', safe='')}")
            headers = {}
            what = f"UploadPart {name}#{part.number}"
        else:
            url = self.url(name)
            headers = self._object_headers(context)
            what = f"PUT {name}"
        if context.content_md5:
            headers["Content-MD5"] = context.content_md5

        def result(response) -> str:
            if context.part is not None:
                return (remote.header(response, "etag") or "").strip('"')
            return remote.encode_key(name, remote.header(response, "x-amz-version-id"))

        return remote.put_writer(self, url, headers, what, context.size, (200,), result,
                                 deletable=context.part is None)

    def producer(self, key: str, offset: int, length: int):
        name, version = remote.decode_key(key)
        query = f"versionId={quote(version, safe='')}" if version else ""
        return remote_download.ranged_get(
            self, self.url(name, query), {"Range": f"bytes={offset}-{offset + length - 1}"},
            f"GET {name}", length)

    def delete(self, key: str) -> defer.Deferred:
        name, version = remote.decode_key(key)
        query = f"versionId={quote(version, safe='')}" if version else ""

        async def run():
            response = await self._checked(f"DELETE {name}",
                                           self.request("DELETE", self.url(name, query)),
                                           (200, 204, 404))
            await remote.read_body(response)
        return defer.Deferred.fromCoroutine(run())

    def close(self) -> None:
        return None

    # -- multipart ---------------------------------------------------------------

    def initiate_mpu(self, context: WriteContext) -> defer.Deferred:
        name = self.remote_name(context.bucket, context.key)

        async def run() -> str:
            response = await self._checked(
                f"CreateMultipartUpload {name}",
                self.request("POST", self.url(name, "uploads"),
                             self._object_headers(context)), (200,))
            upload_id = _find_text(_xml(await remote.read_body(response)), "UploadId")
            if not upload_id:
                raise remote.unavailable(self.name, "CreateMultipartUpload", "no UploadId")
            return upload_id
        return defer.Deferred.fromCoroutine(run())

    def complete_mpu(self, context: WriteContext, upload_id: str,
                     parts: list[tuple[int, str]]) -> defer.Deferred:
        name = self.remote_name(context.bucket, context.key)
        root = etree.Element("CompleteMultipartUpload", nsmap={None: S3_NS[1:-1]})
        for number, etag in parts:
            part = etree.SubElement(root, "Part")
            etree.SubElement(part, "PartNumber").text = str(number)
            etree.SubElement(part, "ETag").text = f'"{etag}"'
        body = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
        url = self.url(name, f"uploadId={quote(upload_id, safe='')}")

        async def run() -> str:
            # Completing a big upload may take the remote a while.
            d = self.request("POST", url, {"Content-Type": "application/xml"},
                             sign_body=body)
            response = await self._checked(f"CompleteMultipartUpload {name}", d, (200,))
            answer = _xml(await remote.read_body(response))
            if answer.tag.endswith("Error"):
                code = _find_text(answer, "Code")
                if code in ("InternalError", "ServiceUnavailable", "SlowDown"):
                    raise remote.unavailable(self.name, "CompleteMultipartUpload", code)
                raise remote.remote_refused(self.name, "CompleteMultipartUpload", 200,
                                            etree.tostring(answer))
            return remote.encode_key(name, remote.header(response, "x-amz-version-id"))
        return defer.Deferred.fromCoroutine(run())

    def abort_mpu(self, context: WriteContext, upload_id: str | None) -> defer.Deferred:
        name = self.remote_name(context.bucket, context.key)

        async def run():
            if not upload_id:
                return
            response = await self._checked(
                f"AbortMultipartUpload {name}",
                self.request("DELETE", self.url(name, f"uploadId={quote(upload_id, safe='')}")),
                (200, 204, 404))
            await remote.read_body(response)
        return defer.Deferred.fromCoroutine(run())

    def list_parts(self, context: WriteContext, upload_id: str) -> defer.Deferred:
        """[(number, etag, size)] of the remote upload (first 1000 parts)."""
        name = self.remote_name(context.bucket, context.key)

        async def run():
            response = await self._checked(
                f"ListParts {name}",
                self.request("GET", self.url(name, f"uploadId={quote(upload_id, safe='')}")),
                (200,))
            root = _xml(await remote.read_body(response, 4 * 1024 * 1024))
            out = []
            for part in root.iter(S3_NS + "Part", "Part"):
                out.append((int(_find_text(part, "PartNumber")),
                            (_find_text(part, "ETag") or "").strip('"'),
                            int(_find_text(part, "Size") or 0)))
            return out
        return defer.Deferred.fromCoroutine(run())

    # -- health ------------------------------------------------------------------

    def healthcheck(self) -> defer.Deferred:
        """HEAD the remote bucket, as upstream's aws_s3 healthcheck does."""
        return defer.Deferred.fromCoroutine(remote.probe(
            self.request("HEAD", self._base + "/"), self._timeout, self._clock,
            "Congrats! You own the bucket", "HEAD bucket"))
