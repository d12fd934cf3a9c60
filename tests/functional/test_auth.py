# -*- test-case-name: tests.functional.test_auth -*-
"""
Authentication: signature v4 and v2 headers, presigned URLs used by a plain
HTTP client, and the errors for wrong credentials.
"""

from __future__ import annotations

import datetime
import time
import types
import urllib.error
import urllib.request

import botocore.auth
from botocore import UNSIGNED
from lxml import etree

try:
    from botocore.crt import auth as botocore_crt_auth
except ImportError:  # botocore without awscrt signs in Python only
    botocore_crt_auth = None

from tests.functional.s3case import S3TestCase


def http(method: str, url: str, data: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    """One request with urllib; returns (status, headers, body) even for errors."""
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def error_code(body: bytes) -> str | None:
    """The <Code> of an S3 error document."""
    try:
        return etree.fromstring(body).findtext("Code")
    except etree.XMLSyntaxError:
        return None


class CredentialTests(S3TestCase):

    def test_wrong_secret(self) -> None:
        client = self.client(secret_key="notTheSecret")
        self.assertS3Error("SignatureDoesNotMatch", 403, client.list_buckets)
        self.assertS3Error("SignatureDoesNotMatch", 403, client.create_bucket,
                           Bucket="ft-never-created")
        self.assertNotIn("ft-never-created",
                         [b["Name"] for b in self.s3.list_buckets()["Buckets"]])

    def test_unknown_access_key(self) -> None:
        client = self.client(access_key="noSuchAccessKey")
        self.assertS3Error("InvalidAccessKeyId", 403, client.list_buckets)

    def test_wrong_secret_v2(self) -> None:
        client = self.client(secret_key="notTheSecret", signature_version="s3")
        self.assertS3Error("SignatureDoesNotMatch", 403, client.list_buckets)

    def test_anonymous_denied(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="private", Body=b"p")
        anonymous = self.client(signature_version=UNSIGNED)
        self.assertS3Error("AccessDenied", 403, anonymous.get_object,
                           Bucket=bucket, Key="private")
        self.assertS3Error("AccessDenied", 403, anonymous.put_object,
                           Bucket=bucket, Key="new", Body=b"n")

    def test_signature_v2_client(self) -> None:
        """The docs' boto2-era clients sign with v2 ('s3' in botocore)."""
        client = self.client(signature_version="s3")
        bucket = self.make_bucket(client=client)
        client.put_object(Bucket=bucket, Key="v2 key+plus", Body=b"v2 body",
                          Metadata={"m": "v"})
        got = client.get_object(Bucket=bucket, Key="v2 key+plus")
        self.assertEqual(got["Body"].read(), b"v2 body")
        self.assertEqual(got["Metadata"], {"m": "v"})
        self.assertEqual([o["Key"] for o in client.list_objects(Bucket=bucket)["Contents"]],
                         ["v2 key+plus"])


class PresignedTests(S3TestCase):
    """
    Presigned URLs used by urllib.  botocore presigns with query-string v2
    by default for a custom endpoint; ``presigner`` asks for either.
    """

    def presigner(self, version: str):
        return self.client(signature_version=version)

    def test_presigned_get(self) -> None:
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="shared file+.txt", Body=b"for urllib",
                           ContentType="text/plain")
        for version, marker in (("s3v4", "X-Amz-Signature="), ("s3", "Signature=")):
            url = self.presigner(version).generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": "shared file+.txt"},
                ExpiresIn=300)
            self.assertIn(marker, url)
            status, headers, body = http("GET", url)
            self.assertEqual((status, body), (200, b"for urllib"), version)
            self.assertEqual(headers.get("Content-Type"), "text/plain")

    def test_presigned_put(self) -> None:
        """
        urllib always sends a Content-Type with a body, so the URL is signed
        with one (v2 signs the Content-Type, v4 signs the headers present).
        """
        bucket = self.make_bucket()
        for version in ("s3v4", "s3"):
            url = self.presigner(version).generate_presigned_url(
                "put_object", ExpiresIn=300,
                Params={"Bucket": bucket, "Key": f"up {version}", "ContentType": "text/csv"})
            status, _, body = http("PUT", url, data=b"uploaded,with,urllib",
                                   headers={"Content-Type": "text/csv"})
            self.assertEqual(status, 200, (version, body))
            got = self.s3.get_object(Bucket=bucket, Key=f"up {version}")
            self.assertEqual(got["Body"].read(), b"uploaded,with,urllib")
            self.assertEqual(got["ContentType"], "text/csv")

    def test_presigned_v4_expired(self) -> None:
        """A v4 URL signed two hours ago for 60 seconds is refused with 403."""
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="old", Body=b"too late")
        signed_at = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=2)

        def two_hours_ago(remove_tzinfo: bool = True) -> datetime.datetime:
            return signed_at.replace(tzinfo=None) if remove_tzinfo else signed_at

        # botocore signs with awscrt when it is installed, else in Python.
        for module in (botocore.auth, botocore_crt_auth):
            if module is not None:
                self.patch(module, "get_current_datetime", two_hours_ago)
        url = self.presigner("s3v4").generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "old"}, ExpiresIn=60)
        status, _, body = http("GET", url)
        self.assertEqual(status, 403, body)
        self.assertEqual(error_code(body), "AccessDenied", body)

    def test_presigned_v2_expired(self) -> None:
        """A v2 URL whose Expires is in the past is refused with 403."""
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="old", Body=b"too late")
        an_hour_ago = time.time() - 3600
        self.patch(botocore.auth, "time", types.SimpleNamespace(time=lambda: an_hour_ago))
        url = self.presigner("s3").generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": "old"}, ExpiresIn=60)
        status, _, body = http("GET", url)
        self.assertEqual(status, 403, body)
        self.assertEqual(error_code(body), "AccessDenied", body)

    def test_presigned_tampered(self) -> None:
        """Changing the key of a presigned URL breaks its signature."""
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="one", Body=b"1")
        self.s3.put_object(Bucket=bucket, Key="two", Body=b"2")
        for version in ("s3v4", "s3"):
            url = self.presigner(version).generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": "one"}, ExpiresIn=300)
            status, _, body = http("GET", url.replace("/one?", "/two?"))
            self.assertEqual(status, 403, (version, body))
            self.assertEqual(error_code(body), "SignatureDoesNotMatch", body)
