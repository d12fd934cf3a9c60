# -*- test-case-name: tests.functional.test_console_sigv4 -*-
"""The console's SigV4 (cloudserver/console/static/sigv4.js) run by node
against botocore's signer on the same requests: header signatures and
presigned URLs, keys that need encoding, WebCrypto and the page's own
SHA-256 (used where the page is not a secure context).  Node is what the
emulator tests use already; without it these are skipped."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from twisted.trial import unittest

from tests.unit.test_auth_helpers import BOTO_NOW, frozen_botocore_clock

SIGV4_JS = Path(__file__).resolve().parents[2] / "cloudserver" / "console" / "static" / "sigv4.js"
HOST = "127.0.0.1:8000"
CREDS = Credentials("accessKey1", "verySecretKey1")
EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

#: (method, bucket, key, query, extra headers, payload hash)
CASES = [
    ("GET", "", None, {}, {}, EMPTY),
    ("GET", "b", None, {"list-type": "2", "prefix": "a b/ü", "delimiter": "/",
                        "max-keys": "200"}, {}, EMPTY),
    ("PUT", "b", "photos/ünï côde+&=%.txt", {}, {"content-type": "text/plain"}, "UNSIGNED-PAYLOAD"),
    ("PUT", "b", "k(1)*!'~", {"partNumber": "2", "uploadId": "a/b+c=="}, {}, "UNSIGNED-PAYLOAD"),
    ("PUT", "b", "dst", {}, {"x-amz-copy-source": "/b/src%20key"}, EMPTY),
    ("PUT", "b", None, {"policy": ""},
     {"x-amz-checksum-sha256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
     "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"),
    ("DELETE", "b", "a/b/c", {"versionId": "aIBiIY2g1jpJ00000000001I4j3QKItW"}, {}, EMPTY),
]
PRESIGNED = [
    ("b", "big.bin", 3600, {}),
    ("b", "ünï côde+&=%.txt", 604800,
     {"response-content-disposition": 'attachment; filename="x y.txt"'}),
    ("b", "k", 300, {"versionId": "v1"}),
]

SCRIPT = r"""
const m = await import(process.argv[1]);
const input = JSON.parse(await new Promise((ok) => {
  let s = "";
  process.stdin.on("data", (d) => s += d);
  process.stdin.on("end", () => ok(s));
}));
if (input.noWebCrypto) Object.defineProperty(globalThis.crypto, "subtle", { value: undefined });
const m2 = input.noWebCrypto ? await import(process.argv[1] + "?plain") : m;
const signer = m2.makeSigner(input.access, input.secret, input.host);
const now = new Date(input.now * 1000);
const out = { headers: [], presigned: [], webcrypto: m2.WEBCRYPTO };
for (const c of input.cases) {
  const h = await signer.sign({ method: c.method, path: c.path, query: c.query,
                                headers: c.headers, payloadHash: c.payload, now });
  out.headers.push(h.Authorization);
}
for (const p of input.presigned) {
  out.presigned.push(await signer.presign({ path: p.path, query: p.query,
                                            expires: p.expires, now }));
}
process.stdout.write(JSON.stringify(out));
"""


def _path(bucket: str, key: str | None) -> str:
    from urllib.parse import quote
    path = "/" + quote(bucket, safe="") if bucket else "/"
    if key is not None:
        path += "/" + quote(key, safe="/~")
    return path


def _node(no_webcrypto: bool) -> dict:
    payload = {
        "access": CREDS.access_key, "secret": CREDS.secret_key, "host": HOST, "now": BOTO_NOW,
        "noWebCrypto": no_webcrypto,
        "cases": [{"method": m, "path": _path(b, k), "query": q, "headers": h, "payload": p}
                  for m, b, k, q, h, p in CASES],
        "presigned": [{"path": _path(b, k), "expires": e, "query": q} for b, k, e, q in PRESIGNED],
    }
    done = subprocess.run(["node", "--input-type=module", "-e", SCRIPT, SIGV4_JS.as_uri()],
                          input=json.dumps(payload).encode(), capture_output=True, timeout=60)
    if done.returncode:
        raise AssertionError(done.stderr.decode())
    return json.loads(done.stdout)


def _url(bucket: str, key: str | None, query: dict) -> str:
    from urllib.parse import urlencode, quote
    qs = urlencode(query, quote_via=quote) if query else ""
    return f"http://{HOST}{_path(bucket, key)}" + ("?" + qs if qs else "")


class GivenPayloadAuth(S3SigV4Auth):
    """botocore's S3 signer with the payload hash the case gives (it would
    hash the body, or put UNSIGNED-PAYLOAD only on https)."""

    def payload(self, request):
        return request.context["payload"]


class ConsoleSigV4Tests(unittest.SynchronousTestCase):
    skip = None if shutil.which("node") else "node is not installed"

    def botocore_headers(self) -> list[str]:
        out = []
        for method, bucket, key, query, headers, payload in CASES:
            request = AWSRequest(method=method, url=_url(bucket, key, query), headers=headers)
            request.context["payload"] = payload
            with frozen_botocore_clock():
                GivenPayloadAuth(CREDS, "s3", "us-east-1").add_auth(request)
            out.append(request.headers["Authorization"])
        return out

    def botocore_presigned(self) -> list[str]:
        out = []
        for bucket, key, expires, query in PRESIGNED:
            request = AWSRequest(method="GET", url=_url(bucket, key, query))
            with frozen_botocore_clock():
                S3SigV4QueryAuth(CREDS, "s3", "us-east-1", expires=expires).add_auth(request)
            out.append(parse_qs(urlsplit(request.url).query)["X-Amz-Signature"][0])
        return out

    def check(self, no_webcrypto: bool) -> None:
        got = _node(no_webcrypto)
        self.assertEqual(got["webcrypto"], not no_webcrypto)
        self.assertEqual(got["headers"], self.botocore_headers())
        signatures = [parse_qs(qs)["X-Amz-Signature"][0] for qs in got["presigned"]]
        self.assertEqual(signatures, self.botocore_presigned())

    def test_webcrypto(self):
        self.check(no_webcrypto=False)

    def test_own_sha256(self):
        """Where the page is not a secure context (no crypto.subtle)."""
        self.check(no_webcrypto=True)
