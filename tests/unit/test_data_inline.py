"""Small objects kept in their metadata record (cloudserver.data.inline):
the writer, the producer, which uploads go inline, and S3 requests through
the whole site with nothing reaching the data store."""
from __future__ import annotations

import base64
import hashlib

from twisted.internet.defer import CancelledError
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.config import ConfigError, load_config
from cloudserver.data import inline
from cloudserver.data.locations import Locations
from cloudserver.data.memory import MemoryDataStore
from cloudserver.metadata import keys
from tests.unit.test_http import Harness, signed, status


class Sink:
    def __init__(self):
        self.got = b""

    def write(self, data):
        self.got += data


class WriterTests(SynchronousTestCase):
    def test_collects_and_names(self):
        w = inline.InlineWriter(10)
        self.assertIsNone(w.write(b"abc"))
        w.write(memoryview(b"de"))
        data_id = self.successResultOf(w.finish())
        self.assertEqual((w.data, w.size), (b"abcde", 5))
        self.assertEqual(len(data_id), 32)
        self.assertRaises(RuntimeError, w.write, b"x")

    def test_before_commit_runs_before_the_bytes_are_kept(self):
        w = inline.InlineWriter(10)
        w.write(b"abc")
        seen = []
        self.successResultOf(w.finish(before_commit=lambda: seen.append(w.data)))
        self.assertEqual((seen, w.data), ([None], b"abc"))

    def test_before_commit_that_raises_keeps_nothing(self):
        w = inline.InlineWriter(10)
        w.write(b"abc")

        def mismatch():
            raise ValueError("BadDigest")

        self.failureResultOf(w.finish(before_commit=mismatch), ValueError)
        self.assertIsNone(w.data)
        self.successResultOf(w.abort())

    def test_memory_bound(self):
        w = inline.InlineWriter(3)
        self.assertRaises(ValueError, w.write, b"abcd")

    def test_abort(self):
        w = inline.InlineWriter(10)
        w.write(b"abc")
        self.successResultOf(w.abort())
        self.assertIsNone(w.data)
        self.assertRaises(CancelledError, w.write, b"x")
        self.failureResultOf(w.finish(), CancelledError)
        self.successResultOf(w.abort())


class ProducerTests(SynchronousTestCase):
    def test_ranges(self):
        p = inline.inline_piece("id", b"0123456789")
        for offset, length in ((0, 10), (3, 4), (9, 1), (0, 0)):
            sink = Sink()
            prod = inline.producer(p, offset, length)
            self.successResultOf(prod.startProducing(sink))
            self.assertEqual(sink.got, b"0123456789"[offset:offset + length])
        self.assertRaises(ValueError, inline.producer, p, 5, 6)

    def test_missing_bytes_is_a_missing_blob(self):
        p = inline.inline_piece("id", b"abc")
        del p["data"]
        self.assertRaises(KeyError, inline.producer, p, 0, 3)


class LocationsTests(SynchronousTestCase):
    def setUp(self):
        self.store = MemoryDataStore()
        self.locs = Locations(self.store, {"disk": self.store, "cloud": object()},
                              {"disk": "mem", "cloud": "aws_s3"}, multiple=True)
        self.locs.inline_max = 100

    def test_small_local_objects_go_inline(self):
        self.assertIsInstance(self.locs.create_writer("disk", inline_size=100),
                              inline.InlineWriter)
        self.assertIsInstance(self.locs.create_writer(None, inline_size=1),
                              inline.InlineWriter)

    def test_others_go_to_their_store(self):
        for name, size in (("disk", 101), ("disk", 0), ("disk", None)):
            self.assertNotIsInstance(self.locs.create_writer(name, inline_size=size),
                                     inline.InlineWriter)
        self.locs.stores["cloud"] = type("Remote", (), {"create_writer": lambda s, c: "remote"})()
        self.assertEqual(self.locs.create_writer("cloud", None, inline_size=5), "remote")

    def test_off_by_default(self):
        locs = Locations.single(self.store)
        self.assertNotIsInstance(locs.create_writer(None, inline_size=5), inline.InlineWriter)

    def test_reading_and_freeing_inline_pieces(self):
        p = inline.inline_piece("id", b"abc")
        sink = Sink()
        self.successResultOf(self.locs.producer(p, 1, 2).startProducing(sink))
        self.assertEqual(sink.got, b"bc")
        self.successResultOf(self.locs.delete(p))


class ConfigTests(SynchronousTestCase):
    def write(self, raw) -> str:
        import json
        import os
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "conf",
                               "config.json")) as f:
            conf = json.load(f)
        conf.update(raw)
        path = self.mktemp()
        with open(path, "w") as f:
            json.dump(conf, f)
        return path

    def test_default_and_setting(self):
        self.assertEqual(load_config({}).inline_max_size, 64 * 1024)
        path = self.write({"inlineDataMaxSize": 0})
        self.assertEqual(load_config({"S3_CONFIG_FILE": path}).inline_max_size, 0)

    def test_bad_values(self):
        for bad in (-1, "big", True, 2 * 1024 * 1024):
            path = self.write({"inlineDataMaxSize": bad})
            e = self.assertRaises(ConfigError, load_config, {"S3_CONFIG_FILE": path})
            self.assertIn("inlineDataMaxSize", str(e))


class SiteTests(SynchronousTestCase):
    """PUT / GET / copy / delete through the whole site: the bytes live in
    the metadata KV and the data store is never used."""

    def setUp(self):
        self.h = Harness()
        self.h.site.resource.backend.locations.inline_max = 1024
        self.assertEqual(status(self.h.send(signed("PUT", "/bucket"))), 200)

    def inline_keys(self):
        kv = self.h.metadata.kv
        prefix = keys.DATA_PREFIX
        return dict(kv.iterate(gte=prefix, lt=keys.successor(prefix)))

    def test_put_get_range_copy_delete(self):
        body = bytes(range(256)) * 2
        out = self.h.send(signed("PUT", "/bucket/k", body) + body)
        self.assertEqual(status(out), 200, out)
        self.assertIn(hashlib.md5(body).hexdigest().encode(), out)
        self.assertEqual(len(self.h.data), 0)
        self.assertEqual(list(self.inline_keys().values()), [body])
        out = self.h.send(signed("GET", "/bucket/k"))
        self.assertTrue(out.endswith(b"\r\n\r\n" + body), out[-100:])
        out = self.h.send(signed("GET", "/bucket/k", headers={"Range": "bytes=10-19"}))
        self.assertEqual(status(out), 206)
        self.assertTrue(out.endswith(body[10:20]))
        out = self.h.send(signed("PUT", "/bucket/k2", headers={"x-amz-copy-source": "bucket/k"}))
        self.assertEqual(status(out), 200, out)
        self.assertEqual(len(self.inline_keys()), 2)
        self.assertEqual(len(self.h.data), 0)
        out = self.h.send(signed("GET", "/bucket/k2"))
        self.assertTrue(out.endswith(body))
        for key in ("k", "k2"):
            self.assertEqual(status(self.h.send(signed("DELETE", f"/bucket/{key}"))), 204)
        self.assertEqual(self.inline_keys(), {})

    def test_larger_objects_use_the_store(self):
        body = b"x" * 1025
        out = self.h.send(signed("PUT", "/bucket/big", body) + body)
        self.assertEqual(status(out), 200, out)
        self.assertEqual(len(self.h.data), 1)
        self.assertEqual(self.inline_keys(), {})

    def test_bad_digest_stores_nothing(self):
        body = b"hello"
        wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
        out = self.h.send(signed("PUT", "/bucket/k", body, {"Content-MD5": wrong}) + body)
        self.assertIn(b"<Code>BadDigest</Code>", out)
        self.assertEqual(self.inline_keys(), {})
        self.assertEqual(status(self.h.send(signed("GET", "/bucket/k"))), 404)
