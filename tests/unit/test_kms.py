"""The KMS backends: data keys wrapped under master keys, bound to their context."""
from __future__ import annotations

import base64
import json
import os
import stat
from types import SimpleNamespace

from twisted.internet import defer
from twisted.logger import formatEvent, globalLogPublisher
from twisted.trial import unittest

from cloudserver.config import ConfigError
from cloudserver.kms import config as kms_conf
from cloudserver.kms.build import build_kms, kms_health
from cloudserver.kms.config import KmsConfigError
from cloudserver.kms.errors import KmsDecryptFailed, KmsUnavailable, NoSuchKmsKey
from cloudserver.kms.file import FileKms
from cloudserver.kms.interfaces import IKms
from cloudserver.kms.memory import MemoryKms


class MemoryKmsTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.kms = MemoryKms(key_ids=["testkey-1"])

    def test_provides(self):
        self.assertTrue(IKms.providedBy(self.kms))

    def test_round_trip(self):
        plain, wrapped = self.successResultOf(
            self.kms.generate_data_key("testkey-1", {"a": "b"}))
        self.assertEqual(len(plain), 32)
        self.assertNotIn(plain, wrapped)
        got = self.successResultOf(self.kms.decrypt_data_key("testkey-1", wrapped, {"a": "b"}))
        self.assertEqual(got, plain)

    def test_context_and_key_bound(self):
        _, wrapped = self.successResultOf(self.kms.generate_data_key("testkey-1", {"a": "b"}))
        self.failureResultOf(self.kms.decrypt_data_key("testkey-1", wrapped, {"a": "c"}),
                             KmsDecryptFailed)
        self.failureResultOf(self.kms.decrypt_data_key(self.kms.default_key_id, wrapped,
                                                       {"a": "b"}), KmsDecryptFailed)

    def test_unknown_key(self):
        self.failureResultOf(self.kms.generate_data_key("nope", {}), NoSuchKmsKey)
        self.assertFalse(self.successResultOf(self.kms.has_key("nope")))

    def test_bucket_keys(self):
        key_id = self.successResultOf(self.kms.create_bucket_key("b"))
        self.assertTrue(self.successResultOf(self.kms.has_key(key_id)))
        self.successResultOf(self.kms.destroy_bucket_key(key_id))
        self.assertFalse(self.successResultOf(self.kms.has_key(key_id)))


def inline_thread(f, *args, **kwargs):
    """A synchronous stand-in for deferToThreadPool."""
    return defer.maybeDeferred(f, *args, **kwargs)


class FileKmsTests(unittest.SynchronousTestCase):
    def setUp(self):
        self.dir = os.path.join(self.mktemp(), "kms")
        self.kms = FileKms(self.dir, inline_thread, ["testkey-1", "testkey-2"])
        self.path = os.path.join(self.dir, "keys.json")

    def reopen(self) -> FileKms:
        return FileKms(self.dir, inline_thread, ["testkey-1", "testkey-2"])

    def test_provides(self):
        self.assertTrue(IKms.providedBy(self.kms))
        self.assertEqual(self.kms.name, "file")

    def test_first_start_makes_private_file(self):
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(self.dir).st_mode), 0o700)
        with open(self.path) as f:
            doc = json.load(f)
        self.assertEqual(set(doc["keys"]), {"cloudserver-default", "testkey-1", "testkey-2"})
        self.assertEqual([n for n in os.listdir(self.dir)], ["keys.json"])

    def test_restart_reads_keys_back(self):
        _, wrapped = self.successResultOf(self.kms.generate_data_key("testkey-1", {"a": "b"}))
        plain = self.successResultOf(self.kms.decrypt_data_key("testkey-1", wrapped,
                                                               {"a": "b"}))
        again = self.reopen()
        self.assertEqual(self.successResultOf(again.decrypt_data_key("testkey-1", wrapped,
                                                                     {"a": "b"})), plain)

    def test_bucket_key_saved_and_destroyed(self):
        key_id = self.successResultOf(self.kms.create_bucket_key("b"))
        _, wrapped = self.successResultOf(self.kms.generate_data_key(key_id, None))
        again = self.reopen()
        self.assertTrue(self.successResultOf(again.has_key(key_id)))
        self.successResultOf(again.decrypt_data_key(key_id, wrapped, None))
        self.successResultOf(again.destroy_bucket_key(key_id))
        with open(self.path) as f:
            self.assertNotIn(key_id, json.load(f)["keys"])
        self.assertFalse(self.successResultOf(self.reopen().has_key(key_id)))
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o600)

    def test_close_waits_for_the_write(self):
        held = []

        def later(f, *args, **kwargs):
            held.append(defer.Deferred().addCallback(lambda _: f(*args, **kwargs)))
            return held[-1]
        kms = FileKms(self.dir, later, ["testkey-1"])
        created = kms.create_bucket_key("b")
        closed = kms.close()
        self.assertNoResult(closed)
        held[0].callback(None)
        self.successResultOf(closed)
        key_id = self.successResultOf(created)
        with open(self.path) as f:
            self.assertIn(key_id, json.load(f)["keys"])

    def test_new_configured_id_added_on_restart(self):
        again = FileKms(self.dir, inline_thread, ["testkey-1", "testkey-3"])
        self.assertTrue(self.successResultOf(again.has_key("testkey-3")))
        with open(self.path) as f:
            self.assertIn("testkey-3", json.load(f)["keys"])

    def test_failed_save_forgets_the_key(self):
        def failing(f, *args, **kwargs):
            return defer.fail(OSError(28, "No space left on device"))
        kms = FileKms(self.dir, failing, ["testkey-1"])
        self.failureResultOf(kms.create_bucket_key("b"), KmsUnavailable)
        self.assertEqual(set(kms._keys), {"cloudserver-default", "testkey-1", "testkey-2"})
        self.flushLoggedErrors()

    def test_corrupt_file_is_a_startup_error(self):
        for content, words in (("{not json", "not valid JSON"),
                               ('{"version": 1, "keys": {"k": "c2hvcnQ="}}', "'k'"),
                               ('{"version": 9, "keys": {}}', "version 1"),
                               ('[]', "version 1")):
            with open(self.path, "w") as f:
                f.write(content)
            e = self.assertRaises(KmsConfigError, self.reopen)
            self.assertIn(self.path, str(e))
            self.assertIn(words, str(e))

    def test_readable_file_is_refused(self):
        os.chmod(self.path, 0o644)
        e = self.assertRaises(KmsConfigError, self.reopen)
        self.assertIn("644", str(e))

    def test_keys_never_logged(self):
        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        kms = FileKms(os.path.join(self.mktemp(), "kms"), inline_thread, ["testkey-1"])
        key_id = self.successResultOf(kms.create_bucket_key("b"))
        plain, _ = self.successResultOf(kms.generate_data_key(key_id, None))
        text = "\n".join(formatEvent(e) + repr(e) for e in events)
        self.assertTrue(events)
        for key in [*kms._keys.values(), plain]:
            for form in (key.hex(), base64.b64encode(key).decode(), repr(key)):
                self.assertNotIn(form, text)


class BuildKmsTests(unittest.SynchronousTestCase):
    def config(self, backend, **kms):
        raw = {"kms": {"backend": backend, "keyIds": ["testkey-1"], **kms}}
        if backend == "aws":
            raw["kmsAWS"] = {"endpoint": "http://127.0.0.1:1", "ak": "a", "sk": "s"}
        metadata = self.mktemp()
        return SimpleNamespace(kms=kms_conf.parse(raw, {}, "file"), metadata_path=metadata)

    def test_backends(self):
        from cloudserver.kms.aws import AwsKms
        mem = build_kms(self.config("mem"), None, inline_thread)
        self.assertIsInstance(mem, MemoryKms)
        self.assertTrue(self.successResultOf(mem.has_key("testkey-1")))
        config = self.config("file")
        kms = build_kms(config, None, inline_thread)
        self.assertIsInstance(kms, FileKms)
        self.assertEqual(kms.path, os.path.join(config.metadata_path, "kms", "keys.json"))
        aws = build_kms(self.config("aws"), None, inline_thread, http=object())
        self.assertIsInstance(aws, AwsKms)
        self.assertEqual(aws.key_ids, ("cloudserver-default", "testkey-1"))

    def test_file_path_setting(self):
        where = os.path.abspath(self.mktemp())
        kms = build_kms(self.config("file", path=where), None, inline_thread)
        self.assertEqual(kms.path, os.path.join(where, "keys.json"))

    def test_corrupt_file_is_config_error(self):
        config = self.config("file")
        os.makedirs(os.path.join(config.metadata_path, "kms"))
        with open(os.path.join(config.metadata_path, "kms", "keys.json"), "w") as f:
            f.write("garbage")
        os.chmod(os.path.join(config.metadata_path, "kms", "keys.json"), 0o600)
        e = self.assertRaises(ConfigError, build_kms, config, None, inline_thread)
        self.assertIn("keys.json", str(e))

    def test_health_entry(self):
        self.assertEqual(self.successResultOf(defer.Deferred.fromCoroutine(
            kms_health(MemoryKms()))), {"memoryKms": {"code": 200, "message": "OK"}})

        class Down(MemoryKms):
            name = "aws"

            def health(self):
                return defer.fail(KmsUnavailable("KMS aws at http://k: ListKeys failed"))
        self.assertEqual(self.successResultOf(defer.Deferred.fromCoroutine(
            kms_health(Down()))), {"awsKms": {"code": 503,
                                              "error": "KMS aws at http://k: ListKeys failed"}})

    def test_deep_healthcheck_has_the_kms(self):
        from cloudserver.s3.http import healthcheck

        class Locations:
            def healthcheck(self):
                return defer.succeed({"us-east-1": {"code": 200, "message": "OK"}})

        class Down(MemoryKms):
            def health(self):
                return defer.fail(KmsUnavailable("KMS down"))

        for kms, status in ((MemoryKms(), 200), (Down(), 503)):
            backend = SimpleNamespace(config=SimpleNamespace(health_allow_from=["127.0.0.1"]),
                                      locations=Locations(), kms=kms)
            response = self.successResultOf(defer.Deferred.fromCoroutine(healthcheck.handle(
                backend, "GET", "/_/healthcheck/deep", "127.0.0.1")))
            self.assertEqual(response.status, status)
            self.assertEqual(set(json.loads(response.body)), {"us-east-1", "memoryKms"})

