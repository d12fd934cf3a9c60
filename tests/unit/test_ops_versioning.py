"""PutBucketVersioning's refusal of MFA delete (cloudserver.s3.ops.versioning)."""
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.s3.errors import S3Error
from cloudserver.s3.ops.versioning import check_mfa


class CheckMfaTests(SynchronousTestCase):
    def test_enabling_without_the_header_is_access_denied(self) -> None:
        """AWS's answer to MfaDelete Enabled without x-amz-mfa."""
        err = self.assertRaises(S3Error, check_mfa, "Enabled", None)
        self.assertEqual((err.code, err.status), ("AccessDenied", 403))
        self.assertEqual(err.message, "Mfa Authentication must be used for this request")

    def test_the_header_is_not_implemented(self) -> None:
        """A token we cannot verify is refused, whatever the document asks."""
        for mfa in ("Enabled", "Disabled", None):
            err = self.assertRaises(S3Error, check_mfa, mfa, "20899872 301749")
            self.assertEqual((err.code, err.status), ("NotImplemented", 501))

    def test_disabled_or_absent_is_accepted(self) -> None:
        check_mfa("Disabled", None)
        check_mfa(None, None)
