"""Tests for cloudserver.config.metadata: config.json ``metadata`` and
S3METADATA / S3METADATA_DSN."""
from __future__ import annotations

import json
import os

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.config import ConfigError, load_config
from cloudserver.config.metadata import MetadataSettings, parse_metadata


class MetadataSettingsTests(SynchronousTestCase):
    def test_default_is_leveldb(self):
        self.assertEqual(parse_metadata({}, {}), MetadataSettings())
        self.assertEqual(MetadataSettings().backend, "leveldb")

    def test_postgres_section(self):
        s = parse_metadata({"metadata": {"backend": "postgres", "dsn": "host=db", "pool": 8,
                                         "table": "md", "leaseSeconds": 4}}, {})
        self.assertEqual((s.backend, s.dsn, s.pool, s.table, s.lease, s.lease_wait),
                         ("postgres", "host=db", 8, "md", 4.0, 9.0))

    def test_environment_wins(self):
        s = parse_metadata({"metadata": {"dsn": "host=a"}},
                           {"S3METADATA": "postgres", "S3METADATA_DSN": "host=b"})
        self.assertEqual((s.backend, s.dsn), ("postgres", "host=b"))
        s = parse_metadata({"metadata": {"backend": "postgres"}}, {"S3METADATA": "file"})
        self.assertEqual(s.backend, "leveldb")

    def test_dsn_not_in_repr(self):
        """A DSN may carry a password: never in a logged repr."""
        self.assertNotIn("secret", repr(parse_metadata(
            {"metadata": {"dsn": "password=secret"}}, {})))

    def test_refused(self):
        for section, env in (({"backend": "mongodb"}, {}), ({}, {"S3METADATA": "mongodb"}),
                             ({"dsn": 1}, {}), ({"table": "Bad-Name"}, {}),
                             ({"table": "x; drop"}, {}), ({"pool": 1}, {}),
                             ({"leaseSeconds": 0}, {}), ({"extra": 1}, {})):
            self.assertRaises(ConfigError, parse_metadata, {"metadata": section}, env)
        self.assertRaises(ConfigError, parse_metadata, {"metadata": {"backend": "postgres"}},
                          {}, "mem")

    def test_in_config(self):
        path = os.path.join(self.mktemp())
        with open(path, "w") as f:
            json.dump({"metadata": {"backend": "postgres", "dsn": "host=x"}}, f)
        config = load_config({"S3_CONFIG_FILE": path})
        self.assertEqual(config.metadata.backend, "postgres")
        self.assertEqual(load_config({"S3_CONFIG_FILE": path, "S3METADATA": "file"})
                         .metadata.backend, "leveldb")
