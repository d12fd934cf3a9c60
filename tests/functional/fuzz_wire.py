# -*- test-case-name: tests.functional.test_fuzz -*-
"""The fuzzer's wire: SigV4 signing of any bytes, and one raw HTTP exchange.

The fuzzer must sign requests whose paths, queries, headers and bodies no
SDK would produce (a key with a NUL, a query value that is not UTF-8, a
torn aws-chunked body), so it signs them itself: the canonical URI is the
path exactly as sent (S3 does not re-encode it), the canonical query the
AWS UriEncode of each name and value, sorted.  Requests go out on a raw
socket, one connection each, so a request that confuses the server's
framing cannot poison the next one, and a cut connection is an outcome the
runner records, not an exception that stops the run.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import socket
import time
from dataclasses import dataclass, field

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")


def uri_encode(data: bytes | str, keep_slash: bool = False) -> str:
    """AWS's UriEncode of raw bytes (a str is taken as UTF-8)."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    safe = _UNRESERVED | ({ord("/")} if keep_slash else set())
    return "".join(chr(b) if b in safe else f"%{b:02X}" for b in data)


def key_path(bucket: str, key: bytes | str | None = None) -> str:
    """The request path of a bucket or an object, the key encoded once."""
    path = "/" + bucket
    if key is not None:
        path += "/" + uri_encode(key, keep_slash=True)
    return path


def query_string(pairs) -> str:
    """``[(name, value or None)]`` -> the canonical (sorted, encoded) query."""
    parts = sorted((uri_encode(n), None if v is None else uri_encode(v)) for n, v in pairs)
    return "&".join(n if v is None else f"{n}={v}" for n, v in parts)


def _canonical_query(raw_query: str) -> str:
    out = []
    for part in raw_query.split("&") if raw_query else []:
        name, _, value = part.partition("=")
        out.append((name, value))
    out.sort()
    return "&".join(f"{n}={v}" for n, v in out)


@dataclass
class Signer:
    """SigV4 for one account and region, at one instant (``now``)."""

    access_key: str = "accessKey1"
    secret_key: str = "verySecretKey1"
    region: str = "us-east-1"
    now: float | None = None

    def stamp(self) -> tuple[str, str]:
        t = time.gmtime(self.now if self.now is not None else time.time())
        return time.strftime("%Y%m%dT%H%M%SZ", t), time.strftime("%Y%m%d", t)

    def key(self, day: str) -> bytes:
        k = ("AWS4" + self.secret_key).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        return k

    def sign_headers(self, method: str, path: str, raw_query: str,
                     headers: dict[str, bytes | str], payload_hash: str) -> str:
        """Add Host-independent auth headers to ``headers`` (which must hold
        ``host``); returns the seed signature (for aws-chunked bodies)."""
        amz_date, day = self.stamp()
        headers["x-amz-date"] = amz_date
        headers["x-amz-content-sha256"] = payload_hash
        signed = sorted(n for n in headers if n in _SIGNED or n.startswith("x-amz-"))
        canonical_headers = "".join(
            f"{n}:{_text(headers[n]).strip()}\n" for n in signed)
        canonical = "\n".join([method, path, _canonical_query(raw_query), canonical_headers,
                               ";".join(signed), payload_hash])
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join([ALGORITHM, amz_date, scope,
                             hashlib.sha256(canonical.encode("latin-1", "replace")).hexdigest()])
        signature = hmac.new(self.key(day), to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (f"{ALGORITHM} Credential={self.access_key}/{scope}, "
                                    f"SignedHeaders={';'.join(signed)}, Signature={signature}")
        return signature

    def presign(self, method: str, path: str, pairs, host: str, expires: str) -> str:
        """The raw query of a presigned URL (UNSIGNED-PAYLOAD, host signed)."""
        amz_date, day = self.stamp()
        scope = f"{day}/{self.region}/s3/aws4_request"
        auth = [("X-Amz-Algorithm", ALGORITHM),
                ("X-Amz-Credential", f"{self.access_key}/{scope}"),
                ("X-Amz-Date", amz_date), ("X-Amz-Expires", expires),
                ("X-Amz-SignedHeaders", "host")]
        raw_query = query_string(list(pairs) + auth)
        canonical = "\n".join([method, path, _canonical_query(raw_query), f"host:{host}\n",
                               "host", "UNSIGNED-PAYLOAD"])
        to_sign = "\n".join([ALGORITHM, amz_date, scope,
                             hashlib.sha256(canonical.encode("latin-1", "replace")).hexdigest()])
        signature = hmac.new(self.key(day), to_sign.encode(), hashlib.sha256).hexdigest()
        return raw_query + "&X-Amz-Signature=" + signature

    def chunk_signature(self, previous: str, chunk: bytes) -> str:
        amz_date, day = self.stamp()
        scope = f"{day}/{self.region}/s3/aws4_request"
        to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous,
                             EMPTY_SHA256, hashlib.sha256(chunk).hexdigest()])
        return hmac.new(self.key(day), to_sign.encode(), hashlib.sha256).hexdigest()


_SIGNED = frozenset({"host", "content-md5", "content-type", "content-encoding", "range",
                     "if-match", "if-none-match", "if-modified-since",
                     "if-unmodified-since"})


def _text(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def wire_text(value: bytes | str) -> str:
    """A header value as the bytes that go out, read as latin-1 (how the
    server reads them): text beyond latin-1 goes as UTF-8."""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    try:
        value.encode("latin-1")
        return value
    except UnicodeEncodeError:
        return value.encode("utf-8", "surrogatepass").decode("latin-1")


def content_md5(body: bytes) -> str:
    return base64.b64encode(hashlib.md5(body).digest()).decode()


def signed_chunks(signer: Signer, seed: str, data: bytes, size: int = 8192) -> list[bytes]:
    """A correct STREAMING-AWS4-HMAC-SHA256-PAYLOAD body, one item a chunk
    (the final zero-size chunk last), for mutations to break."""
    chunks, previous = [], seed
    pieces = [data[i:i + size] for i in range(0, len(data), size)] + [b""]
    for piece in pieces:
        previous = signer.chunk_signature(previous, piece)
        chunks.append(b"%x;chunk-signature=%s\r\n%s\r\n" % (len(piece), previous.encode(),
                                                             piece))
    return chunks


@dataclass
class Reply:
    """What came back: a status (0: no HTTP response), an S3 error code,
    the body (bounded), and how long the answer took."""

    status: int
    code: str | None = None
    body: bytes = b""
    elapsed: float = 0.0
    error: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _error_code(body: bytes) -> str | None:
    start = body.find(b"<Code>")
    if start < 0:
        return None
    end = body.find(b"</Code>", start)
    return body[start + 6:end].decode("utf-8", "replace") if end > 0 else None


def exchange(host: str, port: int, method: str, target: bytes,
             headers: dict[str, bytes | str], body: bytes = b"",
             timeout: float = 15.0) -> Reply:
    """Send one request on a new connection and read its response."""
    lines = [method.encode() + b" " + target + b" HTTP/1.1"]
    for name, value in headers.items():
        raw = value if isinstance(value, bytes) else value.encode("latin-1")
        lines.append(name.encode("latin-1") + b": " + raw)
    head = b"\r\n".join(lines) + b"\r\n\r\n"
    started = time.perf_counter()
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            try:
                sock.sendall(head + body)
            except OSError:
                pass  # the server may answer (and close) before reading it all
            response = http.client.HTTPResponse(sock, method=method)
            response.begin()
            payload = response.read(1 << 20) if method != "HEAD" else b""
            reply = Reply(response.status, _error_code(payload), payload,
                          headers={k.lower(): v for k, v in response.getheaders()})
    except (OSError, http.client.HTTPException) as error:
        return Reply(0, error=f"{type(error).__name__}: {error}",
                     elapsed=time.perf_counter() - started)
    reply.elapsed = time.perf_counter() - started
    return reply
