"""config.json / authdata.json / locationConfig.json and the environment
variables of Zenko CloudServer, resolved by load_config."""
import json
import os

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.config import ConfigError, load_config, validate_locations


class LoadConfigTests(SynchronousTestCase):
    def test_defaults(self):
        c = load_config({})
        self.assertEqual((c.port, c.backend, c.listen_addr), (8000, "file", ""))
        self.assertEqual(c.data_path, os.path.abspath("./localData"))
        self.assertEqual(c.metadata_path, os.path.abspath("./localMetadata"))
        self.assertEqual((c.metadata_daemon.port, c.data_daemon.port), (9990, 9991))
        self.assertIsNotNone(c.accounts.by_access_key("accessKey1"))
        self.assertIsNotNone(c.accounts.by_access_key("accessKey2"))
        self.assertEqual(c.location_for_host("localhost"), "us-east-1")
        self.assertEqual(c.replication_group_id, "RG001")

    def test_environment(self):
        c = load_config({"S3BACKEND": "mem", "S3DATAPATH": "/d", "S3METADATAPATH": "/m",
                         "LISTEN_ADDR": "127.0.0.1", "ENDPOINT": "s3.example.test",
                         "LOG_LEVEL": "debug", "METADATA_HOST": "md.example",
                         "DATA_HOST": "data.example"}, port=8123)
        self.assertEqual((c.backend, c.data_path, c.metadata_path, c.listen_addr, c.port),
                         ("mem", "/d", "/m", "127.0.0.1", 8123))
        self.assertIn("s3.example.test", c.rest_endpoints)
        self.assertEqual(c.log_level, "debug")
        self.assertEqual((c.metadata_client.host, c.data_client.host),
                         ("md.example", "data.example"))

    def test_custom_account_replaces_authdata(self):
        c = load_config({"SCALITY_ACCESS_KEY_ID": "newAK", "SCALITY_SECRET_ACCESS_KEY": "sk"})
        self.assertEqual(c.accounts.by_access_key("newAK").name, "CustomAccount")
        self.assertIsNone(c.accounts.by_access_key("accessKey1"))

    def test_bad_values_name_the_problem(self):
        for env, words in (({"S3BACKEND": "tape"}, "S3BACKEND"),
                           ({"LOG_LEVEL": "loud"}, "LOG_LEVEL"),
                           ({"S3_CONFIG_FILE": "/nonexistent.json"}, "/nonexistent.json")):
            e = self.assertRaises(ConfigError, load_config, env)
            self.assertIn(words, str(e))

    def test_config_file_override(self):
        path = self.mktemp()
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "conf",
                               "config.json")) as f:
            raw = json.load(f)
        raw["port"] = 8999
        raw["restEndpoints"]["s3.internal"] = "nowhere"
        with open(path, "w") as f:
            json.dump(raw, f)
        e = self.assertRaises(ConfigError, load_config, {"S3_CONFIG_FILE": path})
        self.assertIn("s3.internal", str(e))
        del raw["restEndpoints"]["s3.internal"]
        with open(path, "w") as f:
            json.dump(raw, f)
        self.assertEqual(load_config({"S3_CONFIG_FILE": path}).port, 8999)


class LocationTests(SynchronousTestCase):
    def test_us_east_1_required(self):
        e = self.assertRaises(ConfigError, validate_locations,
                              {"x": {"type": "file", "legacyAwsBehavior": False,
                                     "details": {}}})
        self.assertIn("us-east-1", str(e))

    def test_fields_named(self):
        e = self.assertRaises(ConfigError, validate_locations,
                              {"us-east-1": {"type": "file", "details": {}}})
        self.assertIn("legacyAwsBehavior", str(e))
        e = self.assertRaises(ConfigError, validate_locations,
                              {"us-east-1": {"type": "tape", "legacyAwsBehavior": True,
                                             "details": {}}})
        self.assertIn("tape", str(e))
