# -*- test-case-name: tests.unit.test_bucket_config -*-
"""cloudserver.s3.ops.bucket_config: a configuration declared as a
ConfigDocument gets its Get/Put/Delete; attribute updates re-read the bucket."""
from __future__ import annotations

import base64
import hashlib

from twisted.internet.defer import Deferred, succeed
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata import errors as md_errors
from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops import HANDLERS, bucket_config
from cloudserver.s3.ops.bucket_config import (
    ConfigDocument, config_handlers, update_bucket_field)


class FakeMetadata:
    def __init__(self, attrs: dict | None):
        self.attrs = attrs
        self.writes: list[dict] = []

    def get_bucket(self, name: str):
        if self.attrs is None:
            raise md_errors.NoSuchBucket()
        return succeed(dict(self.attrs))

    def update_bucket(self, name: str, attrs: dict):
        self.writes.append(attrs)
        self.attrs = attrs
        return succeed(None)


class FakeBackend:
    def __init__(self, metadata):
        self.metadata = metadata


class FakeContext:
    def __init__(self, metadata, body: bytes = b"", headers: dict | None = None):
        self.bucket = "b"
        self.backend = FakeBackend(metadata)
        self.body = body
        self.headers = headers or {}
        self.limits: list[int] = []

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    async def read_small_body(self, limit: int) -> bytes:
        self.limits.append(limit)
        return self.body


def parse_words(body: bytes) -> list[str]:
    words = body.decode().split()
    if "bad" in words:
        raise S3Error("MalformedXML")
    return words


#: A configuration declared as a new one would be: a model, a codec, a field.
WORDS = ConfigDocument(
    field="words", parse=parse_words, to_xml=lambda words: " ".join(words).encode(),
    not_found="NoSuchCORSConfiguration", max_body=123,
    to_record=lambda words: {"w": words} if words else None,
    from_record=lambda stored: stored["w"], check_md5=True, put_status=204)


class ConfigDocumentTests(SynchronousTestCase):
    def setUp(self):
        self.loads: list = []

        async def load_bucket(ctx):
            self.loads.append(ctx)
            return await ctx.backend.metadata.get_bucket(ctx.bucket)

        self.patch(bucket_config, "load_bucket", load_bucket)
        self.metadata = FakeMetadata({"name": "b", "other": 1})
        self.handlers = config_handlers(WORDS, get="GetWords", put="PutWords",
                                        delete="DeleteWords")

    def call(self, name: str, ctx: FakeContext):
        return self.successResultOf(Deferred.fromCoroutine(self.handlers[name](ctx)))

    def fail_with(self, name: str, ctx: FakeContext) -> S3Error:
        d = Deferred.fromCoroutine(self.handlers[name](ctx))
        return self.failureResultOf(d, S3Error).value

    def test_round_trip(self):
        self.assertEqual(self.fail_with("GetWords", FakeContext(self.metadata)).code,
                         "NoSuchCORSConfiguration")
        put = FakeContext(self.metadata, b"a b")
        self.assertEqual(self.call("PutWords", put).status, 204)
        self.assertEqual(put.limits, [123])
        self.assertEqual(self.metadata.attrs, {"name": "b", "other": 1, "words": {"w": ["a", "b"]}})
        self.assertEqual(self.call("GetWords", FakeContext(self.metadata)).body, b"a b")
        self.assertEqual(self.call("DeleteWords", FakeContext(self.metadata)).status, 204)
        self.assertEqual(self.metadata.attrs, {"name": "b", "other": 1})
        self.assertEqual(len(self.loads), 4)  # every operation decides access first

    def test_bad_input_changes_nothing(self):
        self.assertEqual(self.fail_with("PutWords", FakeContext(self.metadata, b"bad")).code,
                         "MalformedXML")
        wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
        ctx = FakeContext(self.metadata, b"a", {"content-md5": wrong})
        self.assertEqual(self.fail_with("PutWords", ctx).code, "BadDigest")
        self.assertEqual(self.metadata.writes, [])
        right = base64.b64encode(hashlib.md5(b"a").digest()).decode()
        self.call("PutWords", FakeContext(self.metadata, b"a", {"content-md5": right}))
        self.assertEqual(len(self.metadata.writes), 1)

    def test_an_empty_model_removes_the_attribute(self):
        self.call("PutWords", FakeContext(self.metadata, b"a"))
        self.call("PutWords", FakeContext(self.metadata, b""))
        self.assertNotIn("words", self.metadata.attrs)

    def test_the_declared_families_use_it(self):
        for name in ("GetBucketCors", "PutBucketCors", "DeleteBucketCors",
                     "GetPublicAccessBlock", "PutPublicAccessBlock", "DeletePublicAccessBlock",
                     "GetBucketTagging", "PutBucketTagging", "DeleteBucketTagging"):
            self.assertEqual(HANDLERS[name].__name__, name)
            self.assertEqual(HANDLERS[name].__module__, bucket_config.__name__)


class UpdateBucketFieldTests(SynchronousTestCase):
    def update(self, metadata, field, value):
        ctx = FakeContext(metadata)
        return Deferred.fromCoroutine(update_bucket_field(ctx, field, value))

    def test_keeps_what_changed_since_the_bucket_was_loaded(self):
        metadata = FakeMetadata({"name": "b", "versioning": None})
        loaded = dict(metadata.attrs)
        metadata.attrs["cors"] = [{"methods": ["GET"], "origins": ["*"]}]  # meanwhile
        written = self.successResultOf(self.update(metadata, "versioning", "Enabled"))
        self.assertNotEqual(written, {**loaded, "versioning": "Enabled"})
        self.assertEqual(metadata.attrs["cors"], [{"methods": ["GET"], "origins": ["*"]}])
        self.assertEqual(metadata.attrs["versioning"], "Enabled")

    def test_none_removes(self):
        metadata = FakeMetadata({"name": "b", "tags": {"a": "1"}})
        self.successResultOf(self.update(metadata, "tags", None))
        self.assertEqual(metadata.attrs, {"name": "b"})

    def test_a_bucket_gone_meanwhile_is_no_such_bucket(self):
        d = self.update(FakeMetadata(None), "tags", None)
        self.assertEqual(self.failureResultOf(d, S3Error).value.code, "NoSuchBucket")
