# -*- test-case-name: tests.functional.test_fuzz -*-
"""The fuzzer's cases outside request documents: aws-chunked framing,
Range and conditional headers, sub-resource query values, odd keys,
unsigned and mis-signed requests, and the known defects' probes; and
``generate``, the seeded mix of every family."""

from __future__ import annotations

import random
import zlib
import base64

from tests.functional.fuzz_cases import (
    LONG_DIGITS,
    Case,
    Targets,
    bomb_case,
    policy_case,
    xml_case,
)
from tests.functional.fuzz_wire import signed_chunks

BAD_NUMBERS = ["", "-1", "0", "abc", "1.5", " 1", "+1", "1_0", "0x10", "1e3", "\u0661",
               "\uff11", "18446744073709551616", "99999999999999999999", "%", "1\x00",
               "\xff"]
BAD_TOKENS = ["", "null", "x", "=", "////", "%00", "\x00", "\u00e9", "A" * 5000,
              "bnVsbA==", "eyJrIjoiY2FuYXJ5In0=", "!!!", "\ud800"]


# -- aws-chunked ----------------------------------------------------------

def _chunked_mutation(rng: random.Random, data: bytes):
    """(name, fn(signer, seed) -> body, extra headers): a broken framing."""
    kind = rng.choice(["bad-size", "neg-size", "short-size", "long-size", "huge-line",
                       "no-final", "bad-sig", "no-sig", "extra-data", "trailer-cut",
                       "trailer-undeclared", "trailer-bad-crc", "decoded-len"])
    extra: dict[str, str] = {}

    def frames(signer, seed):
        return signed_chunks(signer, seed, data, rng.choice([1024, 8192]))

    if kind.startswith("trailer"):
        crc = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
        if kind == "trailer-bad-crc":
            crc = base64.b64encode(b"\0\0\0\1").decode()
        extra = {"x-amz-trailer": "x-amz-checksum-crc32", "payload": "STREAMING-UNSIGNED-"
                 "PAYLOAD-TRAILER"}
        name = "x-amz-checksum-sha1" if kind == "trailer-undeclared" else "x-amz-checksum-crc32"
        full = (b"%x\r\n%s\r\n0\r\n%s:%s\r\n\r\n" % (len(data), data, name.encode(),
                                                     crc.encode()))
        cut = full[:-rng.randrange(3, 12)] if kind == "trailer-cut" else full
        return kind, (lambda signer, seed: cut), extra

    def build(signer, seed):
        chunks = frames(signer, seed)
        i = rng.randrange(len(chunks) - 1) if len(chunks) > 1 else 0
        head, _, rest = chunks[i].partition(b";")
        if kind == "bad-size":
            chunks[i] = b"zz;" + rest
        elif kind == "neg-size":
            chunks[i] = b"-" + head + b";" + rest
        elif kind == "short-size":
            chunks[i] = b"%x;" % max(0, int(head, 16) - 7) + rest
        elif kind == "long-size":
            chunks[i] = b"f" * 40 + b";" + rest
        elif kind == "huge-line":
            chunks[i] = head + b";" + b"x" * rng.choice([5000, 70000]) + b"=" + rest
        elif kind == "no-final":
            chunks = chunks[:-1]
        elif kind == "bad-sig":
            sig_at = chunks[i].index(b"=") + 1 + rng.randrange(64)
            flipped = b"0" if chunks[i][sig_at:sig_at + 1] != b"0" else b"1"
            chunks[i] = chunks[i][:sig_at] + flipped + chunks[i][sig_at + 1:]
        elif kind == "no-sig":
            chunks[i] = head + b"\r\n" + rest.split(b"\r\n", 1)[1]
        elif kind == "extra-data":
            chunks.append(b"garbage")
        return b"".join(chunks)

    if kind == "decoded-len":
        extra = {"x-amz-decoded-content-length": rng.choice(
            [str(len(data) + 1), str(max(0, len(data) - 1)), "-1", "abc", ""])}
        return kind, (lambda signer, seed: b"".join(frames(signer, seed))), extra
    return kind, build, extra


def chunked_case(rng: random.Random, targets: Targets) -> Case:
    data = rng.randbytes(rng.choice([1, 100, 5000, 40000]))  # 0: a valid empty body
    kind, fn, extra = _chunked_mutation(rng, data)
    payload = extra.pop("payload", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    headers = {"content-encoding": "aws-chunked",
               "x-amz-decoded-content-length": str(len(data)), **extra}
    if rng.random() < 0.5:
        return Case("chunked", f"PutObject:{kind}", "PUT", targets.canary,
                    rng.choice(targets.keys), headers=headers, payload=payload, chunked=fn)
    return Case("chunked", f"UploadPart:{kind}", "PUT", targets.canary, targets.upload_key,
                [("partNumber", "2"), ("uploadId", targets.upload_id)], headers,
                payload=payload, chunked=fn)


# -- Range and conditions ---------------------------------------------------

RANGES = ["bytes=0-", "bytes=-0", "bytes=5-2", "bytes=abc", "bytes=0-1,2-3", "bytes=--1",
          "items=0-1", "bytes=", "bytes= 1-2", "bytes=1 -2", "bytes=-", "bytes=0-0",
          "bytes=99999999999999999999-", "bytes=-99999999999999999999", "bytes=1-2-3",
          "bytes=\u0661-2", "bytes=1_0-20", "bytes=+1-2", "bytes=0x1-2", "\x00", "bytes=0-\xff",
          "bytes=" + "0-1," * 2000 + "0-1"]
DATES = ["", "garbage", "Thu, 01 Jan 1970 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT",
         "Mon, 32 Foo 2020 99:99:99 GMT", "1", "-1", "2020-01-01T00:00:00Z", "\xff" * 20,
         "Sun, 06 Nov 1994 08:49:37 GMT" * 200]
ETAGS = ["", "*", '"x"', "W/\"x\"", '"' + "a" * 10000 + '"', ",,,", '*, "x"', "\x00"]
CONDITIONS = ["if-match", "if-none-match", "if-modified-since", "if-unmodified-since"]


def range_case(rng: random.Random, targets: Targets) -> Case:
    value = rng.choice(RANGES)
    defect = None
    if rng.random() < 0.05:
        value, defect = f"bytes={LONG_DIGITS}-", "long-digits"
    query = [("partNumber", rng.choice(["1", "2"]))] if rng.random() < 0.15 else []
    return Case("range", f"Range:{value[:24]!r}", rng.choice(["GET", "HEAD"]), targets.canary,
                rng.choice(targets.keys), query, {"range": value}, expect="ok", defect=defect)


def condition_case(rng: random.Random, targets: Targets) -> Case:
    headers = {}
    for name in rng.sample(CONDITIONS, rng.randrange(1, 4)):
        headers[name] = rng.choice(DATES if "since" in name else ETAGS)
    if rng.random() < 0.6:
        return Case("cond", "GetObject:" + ",".join(headers), rng.choice(["GET", "HEAD"]),
                    targets.canary, rng.choice(targets.keys), headers=headers, expect="ok")
    copy = {f"x-amz-copy-source-{n}": v for n, v in headers.items()}
    copy["x-amz-copy-source"] = f"/{targets.canary}/{rng.choice(targets.keys)}"
    if rng.random() < 0.3:
        copy["x-amz-copy-source-range"] = rng.choice(RANGES)
    return Case("cond", "CopyObject:" + ",".join(headers), "PUT", targets.scratch,
                f"copy-{rng.randrange(50)}", headers=copy, expect="ok")


# -- sub-resource query values ---------------------------------------------

def _bad_value(rng: random.Random, numeric: bool) -> tuple[str, str | None]:
    if rng.random() < 0.03:
        return LONG_DIGITS, "long-digits"
    return rng.choice(BAD_NUMBERS if numeric and rng.random() < 0.8 else BAD_TOKENS), None


LIST_PARAMS = {
    "ListObjects": ([], {"max-keys": 1, "marker": 0, "prefix": 0, "delimiter": 0,
                         "encoding-type": 0}),
    "ListObjectsV2": ([("list-type", "2")], {"max-keys": 1, "continuation-token": 0,
                                            "start-after": 0, "encoding-type": 0,
                                            "fetch-owner": 0, "delimiter": 0}),
    "ListObjectVersions": ([("versions", None)], {"max-keys": 1, "key-marker": 0,
                                                  "version-id-marker": 0, "encoding-type": 0}),
    "ListMultipartUploads": ([("uploads", None)], {"max-uploads": 1, "key-marker": 0,
                                                   "upload-id-marker": 0, "encoding-type": 0}),
}


def query_case(rng: random.Random, targets: Targets) -> Case:
    roll = rng.random()
    if roll < 0.35:
        op = rng.choice(list(LIST_PARAMS))
        base, params = LIST_PARAMS[op]
        name = rng.choice(list(params))
        value, defect = _bad_value(rng, bool(params[name]))
        return Case("query", f"{op}:{name}", "GET", targets.canary, None,
                    base + [(name, value)], expect="ok", defect=defect)
    key = rng.choice(targets.keys)
    if roll < 0.55:
        name = rng.choice(["versionId", "partNumber"])
        value, defect = _bad_value(rng, name == "partNumber")
        return Case("query", f"GetObject:{name}", rng.choice(["GET", "HEAD"]), targets.canary,
                    key, [(name, value)], expect="ok", defect=defect)
    if roll < 0.65:
        value, defect = _bad_value(rng, False)
        op, method, sub = rng.choice([("DeleteObject", "DELETE", []),
                                      ("DeleteObjectTagging", "DELETE", [("tagging", None)]),
                                      ("GetObjectAcl", "GET", [("acl", None)])])
        return Case("query", f"{op}:versionId", method, targets.canary, key,
                    sub + [("versionId", value)], expect="ok", defect=defect)
    if roll < 0.8:
        value, defect = _bad_value(rng, True)
        return Case("query", "UploadPart:partNumber", "PUT", targets.canary, targets.upload_key,
                    [("partNumber", value), ("uploadId", targets.upload_id)], body=b"part",
                    defect=defect)
    value, defect = _bad_value(rng, False)
    op = rng.choice([("GET", "ListParts"), ("DELETE", "AbortMultipartUpload"),
                     ("PUT", "UploadPart"), ("POST", "CompleteMultipartUpload")])
    query = [("uploadId", value)]
    if op[1] == "UploadPart":
        query.append(("partNumber", "1"))
    if op[1] == "ListParts" and rng.random() < 0.5:
        query = [("uploadId", targets.upload_id),
                 (rng.choice(["max-parts", "part-number-marker"]), _bad_value(rng, True)[0])]
    return Case("query", f"{op[1]}:uploadId", op[0], targets.canary, targets.upload_key, query,
                body=b"<CompleteMultipartUpload/>" if op[0] == "POST" else b"",
                expect="ok" if op[1] == "ListParts" else "4xx", defect=defect)


# -- keys ---------------------------------------------------------------------

KEYS = [b"a\x00b", b"\x00", b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"ok\xe9", b"..", b".",
        b"../../etc/passwd", b"a/../../b", b"./a", b"//a", b"a//b", b"/", b"a/", b"%00",
        b"\x01\x02\x1f\x7f", b"\r\nX-Injected: 1", "\u202e\ufeff".encode(), b"k" * 1024,
        b"k" * 1025, b"\xe2\x82" * 600, b" ", b"a b+c", b"?versionId=x", b"#frag"]


def key_case(rng: random.Random, targets: Targets) -> Case:
    key = rng.choice(KEYS)
    if rng.random() < 0.2:
        key = key + rng.randbytes(rng.randrange(1, 8))
    method = rng.choice(["PUT", "PUT", "GET", "HEAD", "DELETE", "COPY", "MPU", "TAG"])
    raw = None
    if rng.random() < 0.1:  # unencoded bytes in the request line
        raw = f"/{targets.scratch}/".encode() + key.replace(b" ", b"%20")
    body = rng.randbytes(rng.randrange(0, 64))
    if method == "COPY":
        source = f"/{targets.scratch}/".encode() + key
        return Case("key", "CopyObject:source", "PUT", targets.scratch, "copy-dest",
                    headers={"x-amz-copy-source": source}, expect="ok")
    if method == "MPU":
        return Case("key", "CreateMultipartUpload", "POST", targets.scratch, key,
                    [("uploads", None)], expect="ok", raw_target=raw)
    if method == "TAG":
        return Case("key", "PutObjectTagging", "PUT", targets.scratch, key, [("tagging", None)],
                    body=b"<Tagging><TagSet></TagSet></Tagging>", expect="ok", raw_target=raw)
    return Case("key", f"{method}Object", method, targets.scratch, key,
                body=body if method == "PUT" else b"", expect="ok", raw_target=raw,
                roundtrip=method == "PUT" and raw is None)


# -- unsigned and mis-signed --------------------------------------------------

EXPIRES = ["0", "-1", "1", "604800", "abc", "", "1.5", "99999999999"]


def auth_case(rng: random.Random, targets: Targets) -> Case:
    key = rng.choice(targets.keys)
    write = rng.random() < 0.5
    method, body = ("PUT", b"overwritten") if write else (rng.choice(["GET", "HEAD"]), b"")
    kind = rng.choice(["none", "bad-sig", "wrong-secret", "wrong-key", "old-date",
                       "garbage-auth", "sha-mismatch", "sha-garbage", "presign", "both",
                       "v2"])
    expect = "4xx"
    if kind == "presign":
        expires = rng.choice(EXPIRES)
        if expires in ("604800", "1") and not write:
            expect = "ok"
        elif write:
            kind = "presign-tampered"
        return Case("auth", f"{kind}:{expires}", method, targets.canary, key, body=body,
                    auth=f"{kind}:{expires}", expect=expect)
    return Case("auth", f"{method}:{kind}", method, targets.canary, key, body=body, auth=kind,
                expect=expect)


# -- known defects (issue 20's list) ------------------------------------------

def defect_cases(targets: Targets) -> list[Case]:
    """One probe of each defect fixed on C's branch, with the answer it must get."""
    part = (b"<Part><PartNumber>1</PartNumber><ETag>" + targets.defect_etag.encode()
            + b"</ETag></Part>")
    cmu = [b"<Wrap>" * 200 + part + b"</Wrap>" * 200,
           b"<Junk/>" * 10_000 + b"<Wrap>" + part + b"</Wrap>"]
    return [
        Case("defect", "Range:10000 digits", "GET", targets.canary, targets.keys[0],
             headers={"range": f"bytes={LONG_DIGITS}-"}, expect="ok", defect="long-digits"),
        Case("defect", "max-keys:10000 digits", "GET", targets.canary, None,
             [("max-keys", LONG_DIGITS)], expect="ok", defect="long-digits"),
        Case("defect", "partNumber:10000 digits", "GET", targets.canary, targets.keys[0],
             [("partNumber", LONG_DIGITS)], expect="ok", defect="long-digits"),
        Case("defect", "Authorization:20KB", "GET", targets.canary, targets.keys[0],
             headers={"authorization": "AWS4-HMAC-SHA256 Credential=" + "a" * 20_000},
             auth="raw", expect="answered", defect="header-size"),
        Case("defect", "header line:17KB", "GET", targets.canary, targets.keys[0],
             headers={"x-long": "b" * 17_000}, expect="answered", defect="header-size",
             auth="none"),
        Case("defect", "header block:200x500B", "GET", targets.canary, targets.keys[0],
             headers={f"x-h{i}": "c" * 500 for i in range(200)}, expect="answered",
             defect="header-size", auth="none"),
        Case("defect", "X-Amz-Expires:604801", "GET", targets.canary, targets.keys[0],
             auth="presign:604801", expect=(400, "AuthorizationQueryParametersError"),
             defect="presign-expires"),
    ] + [Case("defect", f"CMU:{name}", "POST", targets.scratch, targets.defect_upload_key,
              [("uploadId", targets.defect_upload_id)],
              body=b"<CompleteMultipartUpload>" + inner + b"</CompleteMultipartUpload>",
              expect=(400, "MalformedXML"), defect="cmu-shape")
         for name, inner in zip(["Part in 200 nested wrappers",
                                 "10000 unknown elements, Part in a wrapper"], cmu)]


# -- headers of writes, copy sources, browser POST forms ---------------------

#: Headers whose value here no server may accept on a write: each PUT to a
#: canary key carrying one must be refused, the canary unchanged.
BAD_WRITE_HEADERS = [
    ("x-amz-acl", ["bogus", "private,public-read"]),
    ("x-amz-storage-class", ["BOGUS", "GLACIERX"]),
    ("x-amz-server-side-encryption", ["AES", "aws:kms:x"]),
    ("x-amz-server-side-encryption-customer-algorithm", ["AES256"]),
    ("x-amz-tagging", ["a=1&a=2", "=x", "k" * 129 + "=v",
                       "&".join(f"k{i}=v" for i in range(11))]),
    ("x-amz-grant-read", ["garbage", "id=", "uri=http://example.com/x", "emailAddress="]),
    ("x-amz-object-lock-mode", ["BOGUS", "GOVERNANCE"]),
    ("x-amz-object-lock-retain-until-date", ["garbage", "2030-01-01T00:00:00Z"]),
    ("x-amz-object-lock-legal-hold", ["MAYBE", "ON"]),
    ("content-md5", ["", "x", "AAAAAAAAAAAAAAAAAAAAAA==", "=" * 24]),
    ("x-amz-checksum-crc32", ["", "AAAAAA==", "!!!!", "AAAAAAAAAAAAAAAA"]),
    ("x-amz-checksum-sha256", ["AAAA"]),
    ("x-amz-sdk-checksum-algorithm", ["MD5", "bogus"]),
    ("x-amz-website-redirect-location", ["no-slash", "ftp://x"]),
    ("x-amz-meta-" + "m" * 3000, ["v"]),
    ("x-amz-meta-big", ["v" * 3000]),
    ("x-amz-expected-bucket-owner", ["000000000000", "garbage"]),
]
BAD_SOURCES = ["", "/", "nobucket", "/nobucket/k", "%zz", "/%00/k", "/b/" + "k" * 1100,
               "?versionId=x", "/{bucket}/canary/a?versionId=bogus",
               "/{bucket}/canary%2Fa%", "\u00ff", "/{bucket}/" + "..%2F" * 50]


def write_header_case(rng: random.Random, targets: Targets) -> Case:
    name, values = rng.choice(BAD_WRITE_HEADERS)
    value = rng.choice(values)
    key = rng.choice(targets.keys)
    if rng.random() < 0.15:
        return Case("header", f"CopyObject:{name[:40]}", "PUT", targets.canary, key,
                    headers={name: value, "x-amz-copy-source": f"/{targets.canary}/{key}"},
                    expect="4xx")
    return Case("header", f"PutObject:{name[:40]}", "PUT", targets.canary, key,
                headers={name: value}, body=b"must not be stored")


def copy_source_case(rng: random.Random, targets: Targets) -> Case:
    source = rng.choice(BAD_SOURCES).replace("{bucket}", targets.canary)
    if rng.random() < 0.5:
        return Case("copy", "UploadPartCopy:source", "PUT", targets.canary, targets.upload_key,
                    [("partNumber", "3"), ("uploadId", targets.upload_id)],
                    {"x-amz-copy-source": source})
    return Case("copy", "CopyObject:source", "PUT", targets.canary, rng.choice(targets.keys),
                headers={"x-amz-copy-source": source})


def _form(parts: list[tuple[str, bytes]], boundary: bytes) -> bytes:
    out = b""
    for name, value in parts:
        out += (b"--" + boundary + b'\r\nContent-Disposition: form-data; name="'
                + name.encode() + b'"' + (b'; filename="f"' if name == "file" else b"")
                + b"\r\n\r\n" + value + b"\r\n")
    return out + b"--" + boundary + b"--\r\n"


def form_case(rng: random.Random, targets: Targets) -> Case:
    """A browser POST upload to the canary bucket: never with a valid
    policy signature, so always refused, however it is framed."""
    boundary = rng.choice([b"b0undary", b"x" * 70, b"x" * 71, b"", b"\xff\xfe", b"a b"])
    fields = [("key", rng.choice([b"canary/a", b"${filename}", b"", b"\xff", b"k" * 1100])),
              ("acl", rng.choice([b"private", b"bogus"])),
              ("policy", rng.choice([b"", b"!!!", b"eyJ9", b"e30=", b"A" * 30000])),
              ("x-amz-algorithm", b"AWS4-HMAC-SHA256"),
              ("x-amz-credential", rng.choice([b"accessKey1/20260101/us-east-1/s3/aws4_request",
                                               b"garbage"])),
              ("x-amz-date", b"20260101T000000Z"),
              ("x-amz-signature", rng.choice([b"0" * 64, b""])),
              ("file", rng.randbytes(rng.randrange(0, 3000)))]
    rng.shuffle(fields) if rng.random() < 0.3 else None
    body = _form(fields, boundary)
    kind = rng.choice(["plain", "truncated", "no-close", "dup", "huge-field", "bad-header"])
    if kind == "truncated":
        body = body[:rng.randrange(1, len(body))]
    elif kind == "no-close":
        body = body[:body.rindex(b"--" + boundary + b"--")]
    elif kind == "dup":
        body = _form(fields[:2] + fields, boundary)
    elif kind == "huge-field":
        body = _form([("x-amz-meta-x", b"v" * 100_000)] + fields, boundary)
    elif kind == "bad-header":
        body = body.replace(b"Content-Disposition: form-data",
                            b"Content-Disposition: " + b"x" * 9000, 1)
    form = b"multipart/form-data"
    content_type = rng.choice([form + b"; boundary=" + boundary, form,
                               form + b'; boundary="' + boundary, b"text/plain",
                               form + b"; boundary=" + boundary * 3])
    return Case("form", f"PostObject:{kind}", "POST", targets.canary, None,
                headers={"content-type": content_type.decode("latin-1")}, body=body, auth="none")


FAMILIES = [(xml_case, 30), (policy_case, 4), (chunked_case, 14), (range_case, 8),
            (condition_case, 8), (query_case, 16), (key_case, 10), (auth_case, 10),
            (write_header_case, 8), (copy_source_case, 4), (form_case, 5)]


def generate(seed: int, count: int, targets: Targets) -> list[Case]:
    """``count`` cases, the same for the same seed and targets."""
    rng = random.Random(seed)
    makers = [maker for maker, _ in FAMILIES]
    weights = [weight for _, weight in FAMILIES]
    return [rng.choices(makers, weights)[0](rng, targets) for _ in range(count)]


def bombs(seed: int, count: int, targets: Targets) -> list[Case]:
    rng = random.Random(seed ^ 0xB0B)
    return [bomb_case(rng, targets) for _ in range(count)]


# -- HTTP framing ----------------------------------------------------------------

def framing_case(rng: random.Random, targets: Targets) -> Case:
    """A PUT to a canary key whose HTTP framing is broken (Transfer-Encoding
    chunked torn or mixed with Content-Length, odd methods and targets):
    refused, or answered below 500 for the odd-but-legal ones."""
    key = rng.choice(targets.keys)
    data = b"never stored" * rng.randrange(1, 50)
    # (a chunked body without its last chunk is a stall, not a malformed
    # request: the body-stall timeout's business, not the fuzzer's)
    kind = rng.choice(["te-bad-size", "te-and-cl", "te-unknown", "cl-twice",
                       "cl-negative", "cl-short", "method", "absolute-uri", "asterisk"])
    headers: dict[str, str] = {}
    body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)
    method, expect, raw = "PUT", "4xx", None
    if kind == "te-bad-size":
        headers["transfer-encoding"] = "chunked"
        body = b"zz\r\n" + data + b"\r\n0\r\n\r\n"
    elif kind == "te-and-cl":
        headers.update({"transfer-encoding": "chunked", "content-length": "3"})
        body = b"zz\r\n" + body  # torn either way
    elif kind == "te-unknown":
        headers["transfer-encoding"] = rng.choice(["gzip", "chunked, gzip", "identity, zz"])
    elif kind == "cl-twice":
        headers["content-length"] = f"{len(data)}, {len(data) + 1}"
        body = data
    elif kind == "cl-negative":
        headers["content-length"] = rng.choice(["-1", "abc", "1e3", "0x10"])
        body = data
    elif kind == "cl-short":
        headers["content-length"] = "5"
        headers["content-md5"] = _md5(data)
        body = data  # the rest reads as a second, garbage request
    elif kind == "method":
        method, expect = rng.choice(["PATCH", "PROPFIND", "TRACE", "CONNECT", "FOO", "get"]), "ok"
        body = b""
    elif kind == "absolute-uri":
        raw, expect, body = (f"http://127.0.0.1/{targets.canary}/x".encode(), "ok", b"")
        method = "GET"
    else:
        raw, expect, method, body = b"*", "ok", "OPTIONS", b""
    return Case("framing", f"{method}:{kind}", method, targets.canary, key, headers=headers,
                body=body, payload="unsigned", expect=expect, raw_target=raw)


def _md5(data: bytes) -> str:
    from tests.functional.fuzz_wire import content_md5
    return content_md5(data)


FAMILIES.append((framing_case, 4))
