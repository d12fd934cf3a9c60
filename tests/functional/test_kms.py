"""
The file KMS of a real server (the default): its key file under the
metadata path, private, kept across restarts, never in the log; the deep
healthcheck names it.
"""

from __future__ import annotations

import base64
import json
import os
import stat

from tests.functional.s3case import S3TestCase
from tests.functional.test_kms_aws import deep_health


class FileKmsServerTests(S3TestCase):
    sharedServer = False

    def key_file(self) -> str:
        return os.path.join(self.server.metadata_dir, "kms", "keys.json")

    def keys(self) -> dict:
        with open(self.key_file()) as f:
            return json.load(f)["keys"]

    def test_key_file_private_and_kept(self):
        path = self.key_file()
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode), 0o700)
        keys = self.keys()
        self.assertEqual(set(keys), {"cloudserver-default", "testkey-1", "testkey-2"})
        self.server.restart()
        self.assertEqual(self.keys(), keys)

    def test_keys_never_logged(self):
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"hello")
        self.server.restart()
        self.s3.get_object(Bucket=bucket, Key="k")["Body"].read()
        with open(self.server.log_path, errors="replace") as f:
            log = f.read()
        self.assertIn("KMS: file (" + self.key_file(), log)
        for encoded in self.keys().values():
            raw = base64.b64decode(encoded)
            for form in (encoded, raw.hex(), repr(raw)):
                self.assertNotIn(form, log)

    def test_deep_healthcheck(self):
        status, results = deep_health(self.server)
        self.assertEqual((status, results["fileKms"]), (200, {"code": 200, "message": "OK"}))
