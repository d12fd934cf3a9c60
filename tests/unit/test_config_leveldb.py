"""config.json ``metadata.leveldb`` (config/leveldb.py) and the LevelDB
store opened with those options and reporting its memory."""
from __future__ import annotations

from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.config import ConfigError, load_config
from cloudserver.config.leveldb import parse_leveldb
from cloudserver.config.metadata import parse_metadata
from cloudserver.metadata.kv import LevelDBKV


class LevelDBConfigTests(SynchronousTestCase):

    def test_absent(self):
        self.assertEqual(parse_leveldb({}), {})
        self.assertEqual(parse_leveldb({"metadata": {}}), {})
        self.assertEqual(parse_leveldb({"metadata": {"leveldb": {}}}), {})

    def test_values(self):
        self.assertEqual(parse_leveldb({"metadata": {"leveldb": {
            "lruCacheSize": 1 << 20, "maxOpenFiles": 100, "blockSize": 8192,
            "writeBufferSize": 1 << 20, "maxFileSize": 4 << 20, "bloomFilterBits": 0}}}),
            {"lru_cache_size": 1 << 20, "max_open_files": 100, "block_size": 8192,
             "write_buffer_size": 1 << 20, "max_file_size": 4 << 20, "bloom_filter_bits": 0})

    def test_section_refused(self):
        """The metadata section itself is parse_metadata's (shared with the
        postgres backend's fields); an unknown field or a wrong type fails
        the whole config."""
        for metadata in ([], {"other": 1}):
            with self.assertRaises(ConfigError) as caught:
                parse_metadata({"metadata": metadata}, {}, "file")
            self.assertIn("metadata", str(caught.exception))

    def test_beside_postgres_fields(self):
        raw = {"metadata": {"backend": "leveldb", "pool": 4, "leveldb": {"maxOpenFiles": 100}}}
        self.assertEqual(parse_leveldb(raw), {"max_open_files": 100})
        self.assertEqual(parse_metadata(raw, {}, "file").backend, "leveldb")

    def test_refused(self):
        for metadata in ({"leveldb": []}, {"leveldb": {"cache": 1}},
                         {"leveldb": {"maxOpenFiles": 1.5}}, {"leveldb": {"blockSize": 10}},
                         {"leveldb": {"lruCacheSize": -1}}, {"leveldb": {"maxOpenFiles": True}},
                         {"leveldb": {"bloomFilterBits": "10"}}):
            with self.assertRaises(ConfigError) as caught:
                parse_leveldb({"metadata": metadata})
            self.assertIn("metadata", str(caught.exception))

    def test_error_names_the_field(self):
        with self.assertRaises(ConfigError) as caught:
            parse_leveldb({"metadata": {"leveldb": {"maxOpenFiles": 0}}})
        self.assertIn("metadata.leveldb.maxOpenFiles", str(caught.exception))

    def test_loaded_config(self):
        path = self.mktemp()
        with open(path, "w") as f:
            f.write('{"metadata": {"leveldb": {"maxOpenFiles": 200}}}')
        config = load_config({"S3_CONFIG_FILE": path})
        self.assertEqual(config.leveldb, {"max_open_files": 200})


class LevelDBOptionsTests(SynchronousTestCase):

    def test_options_and_memory(self):
        kv = LevelDBKV(self.mktemp(), defer.maybeDeferred, lru_cache_size=1 << 20,
                       max_open_files=100, write_buffer_size=1 << 20)
        self.addCleanup(kv.close)
        self.successResultOf(kv.write([(b"k%04d" % i, b"v" * 100) for i in range(500)]))
        memory = kv.memory()
        self.assertEqual(set(memory), {"leveldb_memory_mb", "leveldb_tables"})
        self.assertGreater(memory["leveldb_memory_mb"], 0)
        self.assertEqual(memory["leveldb_tables"], 0)  # all still in the memtable
