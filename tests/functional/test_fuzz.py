# -*- test-case-name: tests.functional.test_fuzz -*-
"""
The fuzzer at CI size (issue 20), and the defects it found.

``FuzzRun`` sends a few hundred seeded hostile requests (every XML-taking
operation, aws-chunked framing, Range and conditions, sub-resource query
values, odd keys, unsigned and mis-signed requests, XXE and billion-laughs)
to a real server and checks the criteria of ``fuzz_requests``: no 5xx but
501/503, an answer to every request, no traceback in the log, the canary
bucket unchanged, bombs refused fast with flat memory.  ``bench/fuzz.py``
runs the same with 10,000+.

``FuzzFindings`` pins each defect the fuzzer found, one request each.
"""

from __future__ import annotations

import hashlib

from tests.functional import fuzz_fixture
from tests.functional.fuzz_http_cases import generate
from tests.functional.fuzz_requests import Fuzzer
from tests.functional.fuzz_wire import Signer, exchange, key_path
from tests.functional.s3case import S3TestCase

SEEDS = (2020, 2021)


class FuzzRun(S3TestCase):
    """A few hundred requests per seed against one server."""

    def run_seed(self, seed: int, count: int = 300, bombs: int = 20) -> None:
        targets = fuzz_fixture.create(self.s3, seed)
        for bucket in (targets.canary, targets.scratch, targets.lock):
            self.addCleanup(_empty, self.s3, bucket)
        fuzzer = Fuzzer("127.0.0.1", self.server.port, pid=self.server.pid,
                        log_path=self.server.log_path)
        # Cases tagged with a known defect (``fuzz_cases.KNOWN_DEFECTS``: long
        # digits -> 500, header-size limits, presign X-Amz-Expires, the
        # CompleteMultipartUpload shape) run apart, after the state check:
        # each must now get its answer (the regressions of issue 20's list).
        report = fuzzer.run(self.s3, targets, seed, count, bombs, fuzz_fixture.snapshot,
                            fuzz_fixture.differences, with_defects=True)
        self.assertGreater(len(report.defects), 5)
        self.assertEqual([(o.case.label(), o.reason) for o in report.defects if o.reason],
                         [])
        self.assertEqual(report.defect_tracebacks, 0)
        self.assertEqual(getattr(targets, "refused", []), [])
        self.assertTrue(report.ok, report.summary())
        self.assertGreaterEqual(report.sent, count * 0.9 + bombs)
        self.assertTrue(self.server.alive())

    def test_seed_2020(self):
        self.run_seed(SEEDS[0])

    def test_seed_2021(self):
        self.run_seed(SEEDS[1])

    def test_generation_is_seeded(self):
        """The same seed makes the same requests (a failure can be replayed)."""
        targets = fuzz_fixture.Targets("c", "s", ["k"], "u", "id")
        first = [(c.label(), c.method, c.query, c.body) for c in generate(7, 200, targets)]
        again = [(c.label(), c.method, c.query, c.body) for c in generate(7, 200, targets)]
        self.assertEqual(first, again)
        self.assertGreater(len({label for label, *_ in first}), 50)


def _empty(s3, bucket: str) -> None:
    from tests.functional.clients import empty_and_delete_bucket

    for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    empty_and_delete_bucket(s3, bucket)


class FuzzFindings(S3TestCase):
    """Defects the fuzzer found, each as the one request that showed it."""

    def signed(self, method: str, path: str, payload_hash: str, body: bytes = b""):
        headers = {"host": f"127.0.0.1:{self.server.port}", "content-length": str(len(body))}
        Signer().sign_headers(method, path, "", headers, payload_hash)
        return exchange("127.0.0.1", self.server.port, method, path.encode(), headers, body)

    def test_digest_of_a_body_never_sent(self):
        """A signed GET/HEAD/DELETE declaring the SHA-256 of a body it does
        not carry is refused as AWS does (it was served: no handler reads
        the body of a GET, so nothing compared the digest)."""
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"kept")
        other = hashlib.sha256(b"a body that was never sent").hexdigest()
        for method in ("GET", "HEAD", "DELETE"):
            reply = self.signed(method, key_path(bucket, "k"), other)
            self.assertEqual(reply.status, 400, method)
            if method != "HEAD":
                self.assertEqual(reply.code, "XAmzContentSHA256Mismatch", method)
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["Body"].read(), b"kept")
        empty = hashlib.sha256(b"").hexdigest()
        self.assertEqual(self.signed("GET", key_path(bucket, "k"), empty).status, 200)
