"""config.json / authdata.json / locationConfig.json and the environment
variables of Zenko CloudServer, resolved by load_config."""
import json
import os

from twisted.trial.unittest import SynchronousTestCase

from twisted.logger import Logger

from cloudserver import tap
from cloudserver.config import (PACKAGED_CONF_DIR, ConfigError, conf_file_path, load_config,
                                validate_locations)

CHECKOUT_CONF = os.path.join(os.path.dirname(__file__), "..", "..", "conf")
#: The location constraints of upstream's default locationConfig.json (all
#: "file"; only us-east-1 has legacyAwsBehavior).
UPSTREAM_LOCATIONS = ("us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1",
                      "cn-north-1", "ap-south-1", "ap-northeast-1", "ap-northeast-2",
                      "ap-southeast-1", "ap-southeast-2", "eu-central-1", "eu-west-1",
                      "eu-west-2", "EU", "sa-east-1")


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

    def test_lifecycle_section(self):
        path = self.mktemp()
        with open(os.path.join(os.path.dirname(__file__), "..", "..", "conf",
                               "config.json")) as f:
            raw = json.load(f)
        self.assertEqual(load_config({}).lifecycle_day,
                         86400)
        raw["lifecycle"] = {"debugDayLength": 10, "interval": 2, "batchSize": 100}
        with open(path, "w") as f:
            json.dump(raw, f)
        config = load_config({"S3_CONFIG_FILE": path})
        self.assertEqual((config.lifecycle_day, config.lifecycle.interval,
                          config.lifecycle.batch_size), (10, 2, 100))
        raw["lifecycle"] = {"rate": "fast"}
        with open(path, "w") as f:
            json.dump(raw, f)
        e = self.assertRaises(ConfigError, load_config, {"S3_CONFIG_FILE": path})
        self.assertIn("lifecycle.rate", str(e))


class ConfFileLookupTests(SynchronousTestCase):
    """Each file: its S3_* variable, else ./conf in the working directory (as
    upstream), else the default shipped in the package (an installed server
    used to look for <site-packages>/conf and not start)."""

    def empty_dir(self) -> str:
        path = os.path.abspath(self.mktemp())
        os.makedirs(path)
        return path

    def test_packaged_defaults_without_conf_dir(self):
        cwd = self.empty_dir()
        c = load_config({}, cwd=cwd)
        self.assertEqual(dict(c.files), {
            "config file": os.path.join(PACKAGED_CONF_DIR, "config.json"),
            "location file": os.path.join(PACKAGED_CONF_DIR, "locationConfig.json"),
            "auth file": os.path.join(PACKAGED_CONF_DIR, "authdata.json")})
        self.assertEqual(c.port, 8000)
        self.assertIsNotNone(c.accounts.by_access_key("accessKey1"))

    def test_packaged_defaults_are_the_checkout_conf(self):
        """One set of defaults: what the package ships is the repository's conf/."""
        for name in ("config.json", "authdata.json", "locationConfig.json"):
            with open(os.path.join(PACKAGED_CONF_DIR, name), "rb") as packaged, \
                    open(os.path.join(CHECKOUT_CONF, name), "rb") as conf:
                self.assertEqual(packaged.read(), conf.read(), name)

    def test_working_directory_conf_first(self):
        cwd = self.empty_dir()
        os.makedirs(os.path.join(cwd, "conf"))
        with open(os.path.join(CHECKOUT_CONF, "config.json")) as f:
            raw = json.load(f)
        raw["port"] = 8777
        with open(os.path.join(cwd, "conf", "config.json"), "w") as f:
            json.dump(raw, f)
        c = load_config({}, cwd=cwd)
        files = dict(c.files)
        self.assertEqual(c.port, 8777)
        self.assertEqual(files["config file"], os.path.join(cwd, "conf", "config.json"))
        # The files ./conf lacks still come from the package.
        self.assertEqual(files["auth file"], os.path.join(PACKAGED_CONF_DIR, "authdata.json"))

    def test_environment_overrides_both(self):
        cwd = self.empty_dir()
        os.makedirs(os.path.join(cwd, "conf"))
        with open(os.path.join(cwd, "conf", "authdata.json"), "w") as f:
            f.write("not json")
        env = {"S3AUTH_CONFIG": os.path.join(CHECKOUT_CONF, "authdata.json")}
        self.assertEqual(conf_file_path(env, "S3AUTH_CONFIG", "authdata.json", cwd),
                         env["S3AUTH_CONFIG"])
        self.assertEqual(dict(load_config(env, cwd=cwd).files)["auth file"],
                         env["S3AUTH_CONFIG"])
        e = self.assertRaises(ConfigError, load_config, {}, cwd=cwd)
        self.assertIn(os.path.join(cwd, "conf", "authdata.json"), str(e))

    def test_env_accounts_read_no_auth_file(self):
        c = load_config({"SCALITY_ACCESS_KEY_ID": "ak", "SCALITY_SECRET_ACCESS_KEY": "sk"},
                        cwd=self.empty_dir())
        self.assertEqual([what for what, _ in c.files], ["config file", "location file"])

    def test_start_logs_each_file(self):
        events = []
        self.patch(tap, "log", Logger(namespace="cloudserver", observer=events.append))
        c = load_config({}, cwd=self.empty_dir())
        tap.log_config_files(c)
        logged = [(e["what"], e["path"]) for e in events]
        self.assertEqual(logged, list(c.files))
        self.assertEqual(len(logged), 3)
        events.clear()
        tap.log_config_files(load_config({"SCALITY_ACCESS_KEY_ID": "ak",
                                          "SCALITY_SECRET_ACCESS_KEY": "sk"}))
        self.assertIn("SCALITY_ACCESS_KEY_ID", events[-1]["log_format"])


class DefaultLocationsTests(SynchronousTestCase):
    """The default locationConfig.json has every location upstream's has, so
    a client asking for us-west-2 or EU gets its bucket, plus our own."""

    def test_every_upstream_name(self):
        locations = load_config({}).locations
        for name in UPSTREAM_LOCATIONS:
            self.assertIn(name, locations)
            self.assertEqual(locations[name]["type"], "file", name)
            self.assertEqual(locations[name]["legacyAwsBehavior"], name == "us-east-1", name)
        for ours in ("scality-internal-mem", "scality-internal-file"):
            self.assertIn(ours, locations)

    def test_rest_endpoints_name_known_locations(self):
        c = load_config({})
        self.assertEqual(set(c.rest_endpoints.values()), {"us-east-1"})

    def test_website_endpoints(self):
        self.assertIn("s3-website-us-east-1.amazonaws.com", load_config({}).website_endpoints)
        for bad in ({"a": 1}, ["ok", 3], [""]):
            with self.subTest(bad=bad):
                with open(os.path.join(CHECKOUT_CONF, "config.json")) as f:
                    raw = json.load(f)
                raw["websiteEndpoints"] = bad
                path = self.mktemp()
                with open(path, "w") as f:
                    json.dump(raw, f)
                e = self.assertRaises(ConfigError, load_config, {"S3_CONFIG_FILE": path})
                self.assertIn("websiteEndpoints", str(e))


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


class KmsConfigTests(SynchronousTestCase):
    """config.json ``kms`` / ``kmsAWS`` and S3KMS (upstream's names)."""

    def load(self, env=None, **sections):
        with open(os.path.join(CHECKOUT_CONF, "config.json")) as f:
            raw = json.load(f)
        for name, value in sections.items():
            if value is None:
                raw.pop(name, None)
            else:
                raw[name] = value
        path = self.mktemp()
        with open(path, "w") as f:
            json.dump(raw, f)
        return load_config({"S3_CONFIG_FILE": path, **(env or {})})

    def test_shipped_default(self):
        kms = load_config({}).kms
        self.assertEqual((kms.backend, kms.key_ids, kms.default_key_id, kms.path),
                         ("file", ("testkey-1", "testkey-2"), "cloudserver-default", None))
        self.assertIsNone(kms.aws)

    def test_no_section(self):
        kms = self.load(kms=None).kms
        self.assertEqual((kms.backend, kms.key_ids), ("file", ()))

    def test_mem_backend_means_mem_kms(self):
        self.assertEqual(load_config({"S3BACKEND": "mem"}).kms.backend, "mem")
        self.assertEqual(load_config({"S3BACKEND": "mem", "S3KMS": "file"}).kms.backend,
                         "file")

    def test_env_wins_over_config(self):
        c = self.load({"S3KMS": "mem"}, kms={"backend": "file"})
        self.assertEqual(c.kms.backend, "mem")

    def test_aws(self):
        aws = {"providerName": "moto", "region": "eu-west-1", "endpoint": "http://k:5000",
               "ak": "AK", "sk": "SECRET"}
        c = self.load({"S3KMS": "aws"}, kmsAWS=aws,
                      kms={"keyIds": ["testkey-1"], "defaultKeyId": "alias/d",
                           "createMissingKeys": False})
        self.assertEqual((c.kms.backend, c.kms.default_key_id, c.kms.create_missing_keys),
                         ("aws", "alias/d", False))
        self.assertEqual((c.kms.aws.endpoint, c.kms.aws.region, c.kms.aws.ak,
                          c.kms.aws.sk, c.kms.aws.provider_name),
                         ("http://k:5000", "eu-west-1", "AK", "SECRET", "moto"))
        self.assertNotIn("SECRET", repr(c.kms))

    def test_bad_values_name_the_field(self):
        aws = {"endpoint": "http://k", "ak": "a", "sk": "s"}
        for env, sections, words in (
                ({"S3KMS": "kmip"}, {}, "S3KMS"),
                ({}, {"kms": {"backend": "vault"}}, "kms.backend"),
                ({}, {"kms": {"keyIds": "testkey-1"}}, "kms.keyIds"),
                ({}, {"kms": {"keyIds": [""]}}, "kms.keyIds"),
                ({}, {"kms": {"defaultKeyId": 3}}, "kms.defaultKeyId"),
                ({}, {"kms": {"createMissingKeys": "yes"}}, "kms.createMissingKeys"),
                ({}, {"kms": {"providerName": "scality", "userName": "u"}}, "not supported"),
                ({}, {"kms": []}, "kms must be an object"),
                ({"S3KMS": "aws"}, {}, "kmsAWS"),
                ({"S3KMS": "aws"}, {"kmsAWS": {"endpoint": "http://k", "ak": "a"}},
                 "kmsAWS.sk"),
                ({}, {"kmsAWS": {**aws, "tls": {}}}, "kmsAWS.tls"),
                ({}, {"kmsAWS": {**aws, "providerName": "My KMS"}}, "kmsAWS.providerName"),
                ({}, {"kmsAWS": {**aws, "region": ""}}, "kmsAWS.region")):
            e = self.assertRaises(ConfigError, self.load, env, **sections)
            self.assertIn(words, str(e))
