# -*- test-case-name: tests.unit.test_errors -*-
"""The lower layers' domain errors become S3 errors in one place."""
from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from cloudserver.data.errors import RemoteRefused, RemoteUnavailable
from cloudserver.errors import DaemonUnavailable
from cloudserver.metadata import errors as md_errors
from cloudserver.metadata.uploads import NoSuchUpload
from cloudserver.s3.errors import S3Error, translate
from cloudserver.web.body import BodyTooLarge


class TranslateTests(SynchronousTestCase):
    def test_each_layer(self):
        cases = [
            (md_errors.NoSuchKey("k"), "NoSuchKey", 404),
            (NoSuchUpload("u"), "NoSuchUpload", 404),
            (DaemonUnavailable("metadata daemon: not connected"), "ServiceUnavailable", 503),
            (RemoteUnavailable("location aws: GET failed"), "ServiceUnavailable", 503),
            (RemoteRefused("location aws: PUT answered 403", 403), "InternalError", 500),
            (BodyTooLarge("over 1024 bytes"), "MaxMessageLengthExceeded", 400),
        ]
        for exc, code, status in cases:
            err = translate(exc)
            self.assertEqual((err.code, err.status), (code, status), exc)

    def test_details_stay_out_of_messages(self):
        """``detail`` is for logs: the client gets the catalog's text, or a
        fixed text of the error class."""
        err = translate(RemoteRefused("location aws: PUT answered 403 secret-bucket", 403))
        self.assertNotIn("secret-bucket", err.message)
        err = translate(RemoteUnavailable("location aws: GET failed"))
        self.assertEqual(err.message, "The data location is unavailable, please retry later.")

    def test_s3_errors_pass_and_bugs_do_not(self):
        e = S3Error("NoSuchBucket")
        self.assertIs(translate(e), e)
        self.assertIsNone(translate(KeyError("x")))
        self.assertIsNone(translate(ValueError("x")))
