"""config.json ``clusters`` (config/workers.py)."""
import json
import os

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.config import ConfigError, load_config
from cloudserver.config.workers import MAX_CLUSTERS, parse_clusters

CHECKOUT_CONF = os.path.join(os.path.dirname(__file__), "..", "..", "conf")


class ClustersTests(SynchronousTestCase):
    def load(self, **fields):
        with open(os.path.join(CHECKOUT_CONF, "config.json")) as f:
            raw = json.load(f)
        raw.update(fields)
        path = self.mktemp()
        with open(path, "w") as f:
            json.dump(raw, f)
        return load_config({"S3_CONFIG_FILE": path})

    def test_shipped_default_is_one_process(self):
        self.assertEqual(load_config({}).clusters, 1)

    def test_absent_is_one(self):
        self.assertEqual(parse_clusters({}), 1)

    def test_workers(self):
        self.assertEqual(self.load(clusters=4).clusters, 4)
        self.assertEqual(parse_clusters({"clusters": MAX_CLUSTERS}), MAX_CLUSTERS)

    def test_refused(self):
        for value in (0, -1, MAX_CLUSTERS + 1, "2", 1.5, True, None, [2]):
            e = self.assertRaises(ConfigError, parse_clusters, {"clusters": value})
            self.assertIn("clusters", str(e))

    def test_load_refuses(self):
        e = self.assertRaises(ConfigError, self.load, clusters=0)
        self.assertIn("clusters must be a whole number", str(e))
