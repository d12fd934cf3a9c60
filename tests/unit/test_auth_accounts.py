# -*- test-case-name: tests.unit.test_auth_accounts -*-
"""AccountStore: authdata.json parsing and validation, env account, lookups."""

from __future__ import annotations

import copy
import hashlib

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.accounts import AccountStore
from tests.unit.test_auth_helpers import AUTHDATA


class FromAuthdata(SynchronousTestCase):
    def test_lookups(self):
        s = AccountStore.from_authdata(AUTHDATA)
        bart = s.by_access_key("accessKey1")
        self.assertEqual((bart.name, bart.display_name, bart.secret_key, bart.shortid),
                         ("Bart", "Bart", "verySecretKey1", "123456789013"))
        second = s.by_access_key("accessKey1b")
        self.assertEqual((second.canonical_id, second.secret_key),
                         (bart.canonical_id, "other+Secret/Key=="))
        self.assertIsNone(s.by_access_key("nope"))
        self.assertEqual(s.by_canonical_id(bart.canonical_id), bart)
        self.assertEqual(s.by_email("SampleAccount1@sampling.com"), bart)
        self.assertIsNone(s.by_email("x@y"))
        self.assertEqual([a.name for a in s.all()], ["Example", "Bart"])
        self.assertNotIn("verySecretKey1", repr(bart))

    def test_missing_fields(self):
        for field in ("email", "arn", "canonicalID", "shortid", "keys"):
            data = copy.deepcopy(AUTHDATA)
            del data["accounts"][1][field]
            err = self.assertRaises(ValueError, AccountStore.from_authdata, data)
            self.assertIn("'Bart'", str(err))
            self.assertIn(repr(field), str(err))
        data = copy.deepcopy(AUTHDATA)
        del data["accounts"][1]["keys"][0]["secret"]
        self.assertIn("'secret'", str(self.assertRaises(ValueError,
                                                         AccountStore.from_authdata, data)))
        data = copy.deepcopy(AUTHDATA)
        del data["accounts"][0]["name"]
        self.assertIn("'name'", str(self.assertRaises(ValueError,
                                                       AccountStore.from_authdata, data)))

    def test_bad_shapes(self):
        for data in ({}, {"accounts": {}}, {"accounts": [1]}, [],
                     {"accounts": [dict(AUTHDATA["accounts"][0], keys=[])]},
                     {"accounts": [dict(AUTHDATA["accounts"][0], email=3)]}):
            self.assertRaises(ValueError, AccountStore.from_authdata, data)

    def test_duplicates(self):
        data = copy.deepcopy(AUTHDATA)
        data["accounts"][1]["keys"][0]["access"] = data["accounts"][0]["keys"][0]["access"]
        self.assertRaises(ValueError, AccountStore.from_authdata, data)
        data = copy.deepcopy(AUTHDATA)
        data["accounts"][1]["canonicalID"] = data["accounts"][0]["canonicalID"]
        self.assertRaises(ValueError, AccountStore.from_authdata, data)


class FromEnv(SynchronousTestCase):
    def test_custom_account(self):
        s = AccountStore.from_env("newAccessKey", "newSecretKey")
        account = s.by_access_key("newAccessKey")
        self.assertEqual(account.name, "CustomAccount")
        self.assertEqual(account.secret_key, "newSecretKey")
        self.assertEqual(account.canonical_id, hashlib.sha256(b"newAccessKey").hexdigest())
        self.assertRegex(account.arn, r"^arn:aws:iam::\d{12}:root$")
        self.assertEqual(AccountStore.from_env("newAccessKey", "x").all()[0].canonical_id,
                         account.canonical_id)
        self.assertRaises(ValueError, AccountStore.from_env, "", "x")
