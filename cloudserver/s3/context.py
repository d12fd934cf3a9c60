"""What an operation handler receives (RequestContext) and returns (Response)."""
from __future__ import annotations

import hashlib
from typing import Any, Callable, Mapping

import attrs

from cloudserver.accounts import Account
from cloudserver.s3.auth.authenticate import AuthResult
from cloudserver.web.body import RequestBody
from cloudserver.s3.errors import S3Error
from cloudserver.s3.routing import Operation


@attrs.define
class Backend:
    """The stores and settings every handler may use (built once by tap)."""

    config: Any
    metadata: Any  # IMetadataService
    data: Any  # IDataStore
    clock: Any  # IReactorTime
    accounts: Any  # AccountStore
    #: location name -> data store (cloudserver.data.locations); by default
    #: every location is ``data``
    locations: Any = None
    #: the KMS of server-side encryption (cloudserver.kms.interfaces.IKms);
    #: by default an in-memory one (tests)
    kms: Any = None

    def __attrs_post_init__(self):
        if self.locations is None:
            from cloudserver.data.locations import Locations
            self.locations = Locations.single(self.data)
        if self.kms is None:
            from cloudserver.kms.memory import MemoryKms
            self.kms = MemoryKms()


@attrs.define
class RequestContext:
    op: Operation
    method: str
    headers: Mapping[str, list[str]]
    auth: AuthResult
    body: RequestBody
    backend: Backend
    request_id: str
    host: str
    #: called when the client goes away; handlers may register cleanups.
    on_disconnect: list[Callable[[], None]] = attrs.Factory(list)
    #: bytes received / sent, for the access log
    bytes_in: int = 0
    #: the client's address and whether it came over TLS (for access decisions)
    client_ip: str = ""
    secure: bool = False

    async def read_small_body(self, limit: int) -> bytes:
        """A small request body (XML configurations, delete lists), decoded from
        aws-chunked if need be and checked against the signed payload hash."""
        payload = self.auth.payload
        decoder = payload.make_decoder() if payload.chunked else None
        body = await self.body.read_all(limit, decoder)
        if payload.sha256 is not None and hashlib.sha256(body).hexdigest() != payload.sha256:
            raise S3Error("XAmzContentSHA256Mismatch")
        return body

    @property
    def account(self) -> Account | None:
        return self.auth.account

    def header(self, name: str) -> str | None:
        values = self.headers.get(name)
        if not values:
            return None
        return values[0] if len(values) == 1 else ",".join(values)

    @property
    def bucket(self) -> str:
        assert self.op.bucket is not None
        return self.op.bucket

    @property
    def key(self) -> str:
        assert self.op.key is not None
        return self.op.key

    @property
    def query(self) -> Mapping[str, str]:
        return self.op.query


@attrs.define
class Response:
    """A response: either ``body`` bytes or a ``producer`` of ``length`` bytes."""

    status: int = 200
    headers: list[tuple[str, str]] = attrs.Factory(list)
    body: bytes = b""
    producer: Any = None
    length: int | None = None
    content_type: str | None = None
    #: the S3 error code when this is an error response (for the access log)
    error_code: str | None = None

    @classmethod
    def xml(cls, body: bytes, status: int = 200,
            headers: list[tuple[str, str]] | None = None) -> "Response":
        return cls(status=status, headers=headers or [], body=body,
                   content_type="application/xml")
