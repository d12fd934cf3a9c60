# -*- test-case-name: tests.unit.test_object_lock_delete -*-
"""Object lock enforced on DeleteObject and DeleteObjects: a protected
version is AccessDenied (per key in DeleteObjects), a delete without a
version id still leaves a delete marker, and x-amz-bypass-governance-retention
lifts GOVERNANCE retention only for a caller the decision point allows
s3:BypassGovernanceRetention.  Time is the harness's Clock."""
from __future__ import annotations

import base64
import hashlib
import json

from botocore.credentials import Credentials
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata import errors as md_errors
from cloudserver.metadata import object_lock, rpc
from cloudserver.metadata.schema import ObjectRecord as Obj
from tests.unit.test_http import BucketCase, signed, status
from tests.unit.test_ops_copy import header

LOCK = {"x-amz-bucket-object-lock-enabled": "true"}
BYPASS = {"x-amz-bypass-governance-retention": "true"}
LISA = Credentials("accessKey2", "verySecretKey2")
LISA_ARN = "arn:aws:iam::123456789013:root"


def md5(body: bytes) -> dict:
    return {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode()}


class LockedDeleteTests(BucketCase, SynchronousTestCase):
    def setUp(self):
        super().setUp()
        # The service compares retention with its injected clock: the harness's.
        self.h.metadata._clock = self.h.clock.seconds
        self.assertEqual(status(self.send("PUT", "/locked", headers=LOCK)), 200)

    def put(self, key: str, mode=None, seconds=60, hold=False) -> str:
        """A version of ``key`` with that lock (written to its record)."""
        out = self.send("PUT", f"/locked/{key}", b"data")
        version = header(out, "x-amz-version-id")
        md = dict(self.successResultOf(self.h.metadata.get_object("locked", key)))
        if mode:
            md[Obj.LOCK_MODE] = mode
            md[Obj.RETAIN_UNTIL] = object_lock.format_date(self.h.clock.seconds() + seconds)
        if hold:
            md[Obj.LEGAL_HOLD] = True
        self.successResultOf(self.h.metadata.put_object(
            "locked", key, md, {"versionId": md[Obj.VERSION_ID]}))
        return version

    def delete(self, key: str, version: str, headers=None, creds=None) -> bytes:
        path = f"/locked/{key}?versionId={version}"
        if creds is None:
            return self.send("DELETE", path, headers=headers)
        return self.h.send(signed("DELETE", path, b"", headers, creds=creds))

    def exists(self, key: str, version: str) -> bool:
        return status(self.send("HEAD", f"/locked/{key}?versionId={version}")) == 200

    def test_retention_refuses_until_it_expires(self):
        for mode in ("GOVERNANCE", "COMPLIANCE"):
            version = self.put(mode.lower(), mode, seconds=60)
            out = self.delete(mode.lower(), version)
            self.assertEqual(status(out), 403, out)
            self.assertIn(b"<Code>AccessDenied</Code>", out)
            self.assertTrue(self.exists(mode.lower(), version))
        self.h.clock.advance(61)
        self.h.connect()  # the idle connection timed out meanwhile
        for mode in ("GOVERNANCE", "COMPLIANCE"):
            key = mode.lower()
            version = header(self.send("HEAD", f"/locked/{key}"), "x-amz-version-id")
            self.assertEqual(status(self.delete(key, version)), 204)
            self.assertFalse(self.exists(key, version))

    def test_delete_without_version_leaves_a_marker(self):
        version = self.put("k", "COMPLIANCE")
        out = self.send("DELETE", "/locked/k")
        self.assertEqual(status(out), 204, out)
        self.assertEqual(header(out, "x-amz-delete-marker"), "true")
        self.assertTrue(self.exists("k", version))

    def test_owner_bypasses_governance_not_compliance_nor_hold(self):
        governed = self.put("g", "GOVERNANCE")
        complied = self.put("c", "COMPLIANCE")
        held = self.put("h", "GOVERNANCE", hold=True)
        self.assertEqual(status(self.delete("c", complied, BYPASS)), 403)
        self.assertEqual(status(self.delete("h", held, BYPASS)), 403)
        self.assertEqual(status(self.delete("g", governed, {
            "x-amz-bypass-governance-retention": "false"})), 403)
        self.assertEqual(status(self.delete("g", governed, BYPASS)), 204)
        self.assertFalse(self.exists("g", governed))

    def test_legal_hold_blocks_until_removed(self):
        version = self.put("h", hold=True)
        self.assertEqual(status(self.delete("h", version, BYPASS)), 403)
        md = dict(self.successResultOf(self.h.metadata.get_object("locked", "h")))
        md.pop(Obj.LEGAL_HOLD)
        self.successResultOf(self.h.metadata.put_object(
            "locked", "h", md, {"versionId": md[Obj.VERSION_ID]}))
        self.assertEqual(status(self.delete("h", version)), 204)

    def grant(self, actions: list[str], effect="Allow", principal=LISA_ARN) -> None:
        policy = {"Version": "2012-10-17", "Statement": [{
            "Effect": effect, "Principal": {"AWS": principal}, "Action": actions,
            "Resource": "arn:aws:s3:::locked/*"}]}
        body = json.dumps(policy).encode()
        self.assertEqual(status(self.send("PUT", "/locked?policy", body)), 204)

    def test_bypass_needs_the_permission(self):
        """Another account allowed to delete versions still needs
        s3:BypassGovernanceRetention; the owner loses it to an explicit Deny."""
        version = self.put("g", "GOVERNANCE")
        self.grant(["s3:DeleteObjectVersion"])
        out = self.delete("g", version, BYPASS, creds=LISA)
        self.assertEqual(status(out), 403, out)
        self.assertTrue(self.exists("g", version))
        self.grant(["s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"])
        self.assertEqual(status(self.delete("g", version, BYPASS, creds=LISA)), 204)
        version = self.put("g2", "GOVERNANCE")
        self.grant(["s3:BypassGovernanceRetention"], effect="Deny", principal="*")
        self.assertEqual(status(self.delete("g2", version, BYPASS)), 403)
        self.assertTrue(self.exists("g2", version))

    def multi(self, entries: list[tuple[str, str]], headers=None, quiet=False) -> bytes:
        objects = "".join(f"<Object><Key>{k}</Key><VersionId>{v}</VersionId></Object>"
                          for k, v in entries)
        body = (f"<Delete><Quiet>{'true' if quiet else 'false'}</Quiet>{objects}"
                "</Delete>").encode()
        return self.send("POST", "/locked?delete", body, {**md5(body), **(headers or {})})

    def test_delete_objects_reports_locked_keys(self):
        free = self.put("free")
        governed = self.put("g", "GOVERNANCE")
        complied = self.put("c", "COMPLIANCE")
        out = self.multi([("free", free), ("g", governed), ("c", complied)])
        self.assertEqual(status(out), 200, out)
        self.assertIn(b"<Deleted><Key>free</Key>", out)
        self.assertEqual(out.count(b"<Code>AccessDenied</Code>"), 2, out)
        self.assertFalse(self.exists("free", free))
        self.assertTrue(self.exists("g", governed))
        out = self.multi([("g", governed), ("c", complied)], BYPASS, quiet=True)
        self.assertNotIn(b"<Deleted>", out)  # quiet: only the errors
        self.assertIn(b"<Error><Key>c</Key>", out)
        self.assertEqual(out.count(b"<Error>"), 1, out)
        self.assertFalse(self.exists("g", governed))
        self.assertTrue(self.exists("c", complied))

    def test_delete_bucket_with_locked_versions_is_not_empty(self):
        self.put("c", "COMPLIANCE")
        out = self.send("DELETE", "/locked")
        self.assertEqual(status(out), 409, out)
        self.assertIn(b"<Code>BucketNotEmpty</Code>", out)


class RpcTests(SynchronousTestCase):
    def test_object_locked_crosses_the_wire(self):
        """A second front (--mode s3) gets AccessDenied, not an internal error."""
        exc = md_errors.ObjectLocked("k is protected")
        back = rpc.error_from_wire(rpc.error_code(exc), None)
        self.assertIsInstance(back, md_errors.ObjectLocked)
        self.assertEqual(back.code, "AccessDenied")
        self.assertIs(object_lock.ObjectLocked, md_errors.ObjectLocked)
