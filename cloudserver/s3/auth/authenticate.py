# -*- test-case-name: tests.unit.test_auth_authenticate -*-
"""Authenticate an S3 request from its headers: who sent it, how to check the body.

One entry point, :func:`authenticate`, picks the mechanism (SigV4 header,
SigV4 presigned query, SigV2 header, SigV2 query, or anonymous), checks
dates and signature, and returns an :class:`AuthResult` whose
:class:`PayloadCheck` tells the body pipeline what remains to verify.
Failures raise :class:`S3Error` with the codes AWS uses.

Order of checks (as AWS): mechanism and syntax (400s) first, then time
(skew / expiry), then the access key, then the signature.
"""

from __future__ import annotations

import calendar
import functools
import time
from email.utils import parsedate_to_datetime

import attrs

from cloudserver.s3.auth import sigv2, sigv4
from cloudserver.accounts import Account, AccountStore
from cloudserver.s3.auth.payload import (
    STREAMING_SIGNED,
    STREAMING_SIGNED_TRAILER,
    STREAMING_TOKENS,
    STREAMING_UNSIGNED_TRAILER,
    UNCHECKED,
    UNSIGNED_PAYLOAD,
    PayloadCheck,
    check_content_sha256,
    parse_decoded_length,
    parse_trailer_names,
)
from cloudserver.s3.auth.request_info import RequestInfo
from cloudserver.s3.errors import S3Error
from cloudserver.s3.model.numbers import decimal

MAX_PRESIGNED_EXPIRES = 604800
SERVICE = "s3"
TERMINAL = "aws4_request"
ECDSA_ALGORITHM = "AWS4-ECDSA-P256-SHA256"

_V4_QUERY_REQUIRED = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Signature", "X-Amz-Date",
                      "X-Amz-SignedHeaders", "X-Amz-Expires")
_DATE_REQUIRED = "AWS authentication requires a valid Date or x-amz-date header"
# x-amz-* headers a presigned URL's user may add without them being signed.
_PRESIGNED_UNSIGNED_OK = ("x-amz-content-sha256", "x-amz-trailer", "x-amz-decoded-content-length",
                          "x-amz-sdk-checksum-algorithm", "x-amz-checksum-")


@attrs.frozen
class AuthResult:
    """``account`` None means anonymous; ``version`` is 2, 4 or None."""

    account: Account | None
    version: int | None
    payload: PayloadCheck = UNCHECKED


def authenticate(info: RequestInfo, accounts: AccountStore, now: float, *,
                 max_skew: float = 900, bucket_from_host: str | None = None) -> AuthResult:
    """Authenticate ``info`` at time ``now`` (seconds since the epoch).

    ``bucket_from_host`` is the bucket named by the Host header for
    virtual-hosted-style requests: SigV2 signs "/bucket/key" even then.
    """
    params = info.query_dict()
    header = info.header("authorization")
    v4_query = "X-Amz-Algorithm" in params
    v2_query = not v4_query and ("AWSAccessKeyId" in params or "Signature" in params)
    if header is not None and (v4_query or v2_query):
        raise S3Error("InvalidArgument", "Only one auth mechanism allowed; only the "
                      "X-Amz-Algorithm query parameter, Signature query string parameter or "
                      "the Authorization header should be specified",
                      ArgumentName="Authorization", ArgumentValue=header)
    content_sha = check_content_sha256(info.header("x-amz-content-sha256"))
    if header is not None:
        scheme = header.split(" ", 1)[0]
        if scheme == sigv4.ALGORITHM:
            return _v4_header(info, accounts, now, max_skew, header, content_sha)
        if scheme == ECDSA_ALGORITHM:
            raise S3Error("NotImplemented", "Signature Version 4A is not implemented",
                          Header="Authorization")
        if scheme == "AWS":
            return _v2(info, accounts, now, max_skew, header, None, content_sha,
                       bucket_from_host)
        raise S3Error("InvalidArgument", "Unsupported Authorization Type",
                      ArgumentName="Authorization", ArgumentValue=header)
    if v4_query:
        return _v4_query(info, accounts, now, max_skew, params, content_sha)
    if v2_query:
        return _v2(info, accounts, now, max_skew, None, params, content_sha, bucket_from_host)
    return AuthResult(None, None, _unsigned_payload(info, content_sha))


# -- shared helpers -------------------------------------------------------

def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


@functools.lru_cache(maxsize=1024)
def _parse_amz_timestamp(value: str) -> float | None:
    """Epoch seconds of a "YYYYMMDDTHHMMSSZ" timestamp, or None (cached: the
    requests of one second, or of one batch of presigned URLs, share it)."""
    if not sigv4.TIMESTAMP_RE.match(value):
        return None
    # Slicing instead of strptime (a third of the cost); the ranges
    # are those strptime accepts (second 61 included).
    year, month, day = int(value[0:4]), int(value[4:6]), int(value[6:8])
    hour, minute, second = int(value[9:11]), int(value[11:13]), int(value[13:15])
    if not (1 <= month <= 12 and hour <= 23 and minute <= 59 and second <= 61):
        return None
    try:
        if day < 1 or day > calendar.monthrange(year, month)[1]:
            return None
        return calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    except ValueError:  # year 0
        return None


def _parse_http_date(value: str) -> float | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:  # "-0000" or no zone: RFC 5322 says UTC
        return calendar.timegm(parsed.timetuple())
    return parsed.timestamp()


def _check_skew(request_time: float, value: str, now: float, max_skew: float) -> None:
    if request_time < 0:
        # AWS answers a date before the epoch as invalid, not as skewed.
        raise S3Error("AccessDenied", "AWS authentication requires a valid Date or "
                      "x-amz-date header")
    if abs(now - request_time) > max_skew:
        raise S3Error("RequestTimeTooSkewed", "The difference between the request time and "
                      "the current time is too large.", RequestTime=value,
                      ServerTime=_iso(now), MaxAllowedSkewMilliseconds=str(int(max_skew * 1000)))


def _lookup(accounts: AccountStore, access_key: str) -> Account:
    account = accounts.by_access_key(access_key)
    if account is None:
        raise S3Error("InvalidAccessKeyId", AWSAccessKeyId=access_key)
    return account


def _printable(data: bytes) -> str:
    """Bytes shown in an error document: control characters would break XML."""
    text = data.decode("utf-8", "replace")
    return "".join(c if c == "\n" or c >= " " else "?" for c in text)


def _mismatch(access_key: str, string_to_sign: bytes, provided: str,
              canonical: bytes | None = None) -> S3Error:
    extra = {"AWSAccessKeyId": access_key, "StringToSign": _printable(string_to_sign),
             "SignatureProvided": provided}
    if canonical is not None:
        extra["CanonicalRequest"] = _printable(canonical)
    return S3Error("SignatureDoesNotMatch", **extra)


def _has_body(info: RequestInfo) -> bool:
    length = info.header("content-length")
    if length is not None and length.strip() not in ("", "0"):
        return True
    return info.header("transfer-encoding") is not None


def _unsigned_payload(info: RequestInfo, content_sha: str | None) -> PayloadCheck:
    """Payload check for anonymous and SigV2 requests."""
    if content_sha is None or content_sha == UNSIGNED_PAYLOAD:
        return UNCHECKED
    if content_sha == STREAMING_UNSIGNED_TRAILER:
        return _streaming(info, content_sha, None)
    if content_sha in STREAMING_TOKENS:
        raise S3Error("InvalidRequest", f"x-amz-content-sha256 {content_sha} requires "
                      "Signature Version 4 authentication")
    return _declared_digest(info, content_sha)


def _declared_digest(info: RequestInfo, content_sha: str) -> PayloadCheck:
    """The body check of a hex x-amz-content-sha256.  A request without a
    body is checked here: its handler reads no body, so nothing else would
    notice that the digest is not the empty body's (AWS refuses it)."""
    digest = content_sha.lower()
    if digest != sigv4.EMPTY_SHA256 and not _has_body(info):
        raise S3Error("XAmzContentSHA256Mismatch", ClientComputedContentSHA256=digest,
                      S3ComputedContentSHA256=sigv4.EMPTY_SHA256)
    return PayloadCheck(sha256=digest)


def _streaming(info: RequestInfo, token: str,
               signing: tuple[bytes, str, str, str] | None) -> PayloadCheck:
    return PayloadCheck(
        chunked=token, signing=signing,
        decoded_length=parse_decoded_length(info.header("x-amz-decoded-content-length")),
        trailer_names=parse_trailer_names(info.header("x-amz-trailer")))


# -- Signature Version 4 --------------------------------------------------

@attrs.frozen
class _Scope:
    access_key: str
    date: str
    region: str

    @property
    def text(self) -> str:
        return f"{self.date}/{self.region}/{SERVICE}/{TERMINAL}"


def _parse_credential(credential: str, malformed) -> _Scope:
    """Parse "AKID/YYYYMMDD/region/s3/aws4_request"; ``malformed(msg)`` builds the error."""
    scope = _credential_scope(credential)
    if isinstance(scope, str):
        raise malformed(scope)
    return scope


@functools.lru_cache(maxsize=1024)
def _credential_scope(credential: str) -> _Scope | str:
    """The scope of a credential, or why it is malformed.  Cached: every
    request of a client for a day carries the same one."""
    parts = credential.split("/")
    if len(parts) != 5 or not all(parts):
        return ("the Credential is mal-formed; expecting "
                '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".')
    access_key, date, region, service, terminal = parts
    if len(date) != 8 or not date.isdigit():
        return (f'incorrect date format "{date}". This date in the credential '
                'must be in the format "yyyyMMdd".')
    if service != SERVICE:
        return f'incorrect service "{service}". This endpoint belongs to "{SERVICE}".'
    if terminal != TERMINAL:
        return f'incorrect terminal "{terminal}". This endpoint uses "{TERMINAL}".'
    # Any region is accepted: this server is every region at once.
    return _Scope(access_key, date, region)


def _signed_header_list(value: str, malformed) -> tuple[str, ...]:
    names = _signed_headers(value)
    if isinstance(names, str):
        raise malformed(names)
    return names


@functools.lru_cache(maxsize=1024)
def _signed_headers(value: str) -> tuple[str, ...] | str:
    """The SignedHeaders names, or why they are malformed (cached, as above)."""
    names = tuple(n.strip().lower() for n in value.split(";"))
    if not value.strip() or not all(names):
        return "the SignedHeaders component is empty or malformed."
    if "host" not in names:
        return "the SignedHeaders component must include host."
    return names


def _verify_v4(info: RequestInfo, account: Account, scope: _Scope, timestamp: str,
               signed: tuple[str, ...], signed_text: str, payload_hash: str, provided: str,
               exclude: tuple[str, ...] = ()) -> bytes:
    """Check the signature over every acceptable canonicalisation; return the key."""
    key = sigv4.signing_key(account.secret_key, scope.date, scope.region, SERVICE)
    headers = sigv4.canonical_headers(info, signed)
    provided_l = provided.lower()
    first: tuple[bytes, bytes] | None = None
    for uri in sigv4.canonical_uris(info.raw_path):
        for query in sigv4.canonical_queries(info.raw_query, exclude=exclude):
            canonical = sigv4.canonical_request(info.method, uri, query, headers,
                                                signed_text, payload_hash)
            sts = sigv4.string_to_sign(timestamp, scope.text, canonical)
            if sigv4.same_signature(sigv4.sign(key, sts), provided_l):
                return key
            first = first or (sts, canonical)
    assert first is not None
    raise _mismatch(scope.access_key, first[0], provided, first[1])


def _v4_payload(info: RequestInfo, content_sha: str | None, key: bytes, scope: _Scope,
                timestamp: str, seed: str) -> PayloadCheck:
    if content_sha in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER):
        return _streaming(info, content_sha, (key, scope.text, timestamp, seed))
    if content_sha is None or content_sha == UNSIGNED_PAYLOAD:
        return UNCHECKED if content_sha else PayloadCheck(sha256=sigv4.EMPTY_SHA256)
    return _declared_digest(info, content_sha)


def _v4_header(info: RequestInfo, accounts: AccountStore, now: float, max_skew: float,
               header: str, content_sha: str | None) -> AuthResult:
    def malformed(detail: str) -> S3Error:
        return S3Error("AuthorizationHeaderMalformed",
                       f"The authorization header is malformed; {detail}")

    components: dict[str, str] = {}
    for part in header[len(sigv4.ALGORITHM):].split(","):
        name, eq, value = part.strip().partition("=")
        if eq:
            components[name.strip()] = value.strip()
    if not all(k in components for k in ("Credential", "SignedHeaders", "Signature")):
        raise malformed("the authorization header requires three components: Credential, "
                        "SignedHeaders, and Signature.")
    scope = _parse_credential(components["Credential"], malformed)
    signed = _signed_header_list(components["SignedHeaders"], malformed)

    amz_date = info.header("x-amz-date")
    if amz_date is not None:
        request_time = _parse_amz_timestamp(amz_date.strip())
        timestamp = amz_date.strip()
    else:
        date = info.header("date")
        request_time = _parse_http_date(date) if date else None
        timestamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(request_time or 0))
        amz_date = date or ""
    if request_time is None:
        raise S3Error("AccessDenied", _DATE_REQUIRED)
    if scope.date != timestamp[:8]:
        raise malformed("Invalid credential date. Date is not the same as X-Amz-Date.")
    _check_skew(request_time, amz_date, now, max_skew)

    if content_sha is None:
        if _has_body(info):
            raise S3Error("InvalidRequest", "Missing required header for this request: "
                          "x-amz-content-sha256")
        payload_hash = sigv4.EMPTY_SHA256
    else:
        payload_hash = content_sha
    account = _lookup(accounts, scope.access_key)
    key = _verify_v4(info, account, scope, timestamp, signed, components["SignedHeaders"],
                     payload_hash, components["Signature"])
    return AuthResult(account, 4, _v4_payload(info, content_sha, key, scope, timestamp,
                                              components["Signature"].lower()))


def _presigned_expires(text: str) -> int:
    """X-Amz-Expires, checked as AWS does (400 AuthorizationQueryParametersError):
    a number, not negative, at most a week.  The digits are counted before
    anything is converted: a 10,000-digit value is more than a week, not a
    500 from ``int()``.  0 is a URL that has expired already (403 later)."""
    digits = text[1:] if text.startswith("-") else text
    if not digits or digits.strip("0123456789"):
        raise S3Error("AuthorizationQueryParametersError", "X-Amz-Expires should be a number")
    if text.startswith("-") and digits.strip("0"):
        raise S3Error("AuthorizationQueryParametersError", "X-Amz-Expires must be non-negative")
    expires = decimal(digits.lstrip("0") or "0", 7)
    if expires is None or expires > MAX_PRESIGNED_EXPIRES:
        raise S3Error("AuthorizationQueryParametersError",
                      "X-Amz-Expires must be less than a week (in seconds); that is, "
                      "the given X-Amz-Expires must be less than 604800 seconds")
    return expires


def _v4_query(info: RequestInfo, accounts: AccountStore, now: float, max_skew: float,
              params: dict[str, str], content_sha: str | None) -> AuthResult:
    def malformed(detail: str) -> S3Error:
        return S3Error("AuthorizationQueryParametersError",
                       f"Error parsing the X-Amz-Credential parameter; {detail}")

    def bad(message: str) -> S3Error:
        return S3Error("AuthorizationQueryParametersError", message)

    algorithm = params["X-Amz-Algorithm"]
    if algorithm == ECDSA_ALGORITHM:
        raise S3Error("NotImplemented", "Signature Version 4A is not implemented")
    if not all(params.get(k) for k in _V4_QUERY_REQUIRED):
        raise bad("Query-string authentication version 4 requires the X-Amz-Algorithm, "
                  "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
                  "and X-Amz-Expires parameters.")
    if algorithm != sigv4.ALGORITHM:
        raise bad('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    timestamp = params["X-Amz-Date"]
    request_time = _parse_amz_timestamp(timestamp)
    if request_time is None:
        raise bad("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    expires_text = params["X-Amz-Expires"]
    expires = _presigned_expires(expires_text)
    scope = _parse_credential(params["X-Amz-Credential"], malformed)
    if scope.date != timestamp[:8]:
        raise bad(f'Invalid credential date "{scope.date}". This date is not the same as '
                  f'X-Amz-Date: "{timestamp[:8]}".')
    signed_text = params["X-Amz-SignedHeaders"]
    signed = _signed_header_list(signed_text, malformed)
    if now > request_time + expires:
        raise S3Error("AccessDenied", "Request has expired", **{
            "X-Amz-Expires": expires_text, "Expires": _iso(request_time + expires),
            "ServerTime": _iso(now)})
    if request_time > now + max_skew:
        raise S3Error("AccessDenied", "Request is not valid yet")
    unsigned = sorted(n for n in info.headers if n.startswith("x-amz-") and n not in signed
                      and not n.startswith(_PRESIGNED_UNSIGNED_OK))
    if unsigned:
        raise S3Error("AccessDenied", "There were headers present in the request which "
                      "were not signed", HeadersNotSigned=", ".join(unsigned))
    account = _lookup(accounts, scope.access_key)
    payload_hash = content_sha if content_sha is not None else UNSIGNED_PAYLOAD
    signature = params["X-Amz-Signature"]
    key = _verify_v4(info, account, scope, timestamp, signed, signed_text, payload_hash,
                     signature, exclude=("X-Amz-Signature",))
    payload = (UNCHECKED if content_sha is None
               else _v4_payload(info, content_sha, key, scope, timestamp, signature.lower()))
    return AuthResult(account, 4, payload)


# -- Signature Version 2 --------------------------------------------------

def _v2(info: RequestInfo, accounts: AccountStore, now: float, max_skew: float,
        header: str | None, params: dict[str, str] | None, content_sha: str | None,
        bucket_from_host: str | None) -> AuthResult:
    amz: dict[str, list[str]] = {n: list(v) for n, v in info.headers.items()
                                 if n.startswith("x-amz-")}
    if header is not None:
        access_key, colon, signature = header[4:].strip().rpartition(":")
        if not colon or not access_key or not signature:
            raise S3Error("InvalidArgument", "AWS authorization header is invalid.  Expected "
                          "AwsAccessKeyId:signature", ArgumentName="Authorization",
                          ArgumentValue=header)
        xdate = info.header("x-amz-date")
        value = xdate if xdate is not None else info.header("date")
        request_time = _parse_http_date(value) if value else None
        if request_time is None:
            raise S3Error("AccessDenied", _DATE_REQUIRED)
        _check_skew(request_time, value or "", now, max_skew)
        date_line = None
    else:
        assert params is not None
        access_key = params.get("AWSAccessKeyId", "")
        # A "+" of the base64 signature sent unescaped was read as a space.
        signature = params.get("Signature", "").replace(" ", "+")
        expires = params.get("Expires", "")
        if not (access_key and signature and expires):
            raise S3Error("AccessDenied", "Query-string authentication requires the "
                          "Signature, Expires and AWSAccessKeyId parameters")
        if expires.strip("0123456789"):
            raise S3Error("AccessDenied", "Invalid date (should be seconds since epoch): "
                          + expires)
        # More than 19 digits: a date past any clock (int() is not asked).
        until = decimal(expires.lstrip("0") or "0")
        if until is not None and now > until:
            raise S3Error("AccessDenied", "Request has expired", Expires=_iso(until),
                          ServerTime=_iso(now))
        for name, value in info.query_params():
            if name.lower().startswith("x-amz-"):
                amz.setdefault(name.lower(), []).append(value)
        date_line = expires
    account = _lookup(accounts, access_key)
    first = None
    for sts in sigv2.strings_to_sign(info, date_line=date_line, amz=amz,
                                     bucket_from_host=bucket_from_host):
        if sigv4.same_signature(sigv2.sign(account.secret_key, sts), signature):
            return AuthResult(account, 2, _unsigned_payload(info, content_sha))
        first = first or sts
    assert first is not None
    raise _mismatch(access_key, first, signature)
