# -*- test-case-name: tests.functional.test_console_browser -*-
"""The web console in a real headless Chromium (Debian's chromium and
chromium-driver, .ci/apt-packages; selenium from the test extra) against a
real twistd: every step is the page's own signed S3 requests.

Screenshots of the main pages go to ``console-screenshots/`` in the test's
working directory (trial's _trial_temp).
"""
from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import ClassVar

from botocore.exceptions import ClientError

from tests.functional.clients import ACCESS_KEY_1, ACCESS_KEY_2, SECRET_KEY_1, SECRET_KEY_2
from tests.functional.s3case import S3TestCase

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
#: what this machine's closed network and a root user need (no sandbox)
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1280,960")
WAIT = 20.0
BIG = 20 * 1024 * 1024 + 12345  # multipart: 3 parts of 8 MiB at most

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import Select, WebDriverWait
except ImportError:  # pragma: no cover - the test extra installs it
    webdriver = None


def _missing() -> str | None:
    if webdriver is None:
        return "selenium is not installed (pip install -e '.[test]')"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(path):
            return f"{path} is missing (bash .ci/apt-install)"
    return None


def _start_browser() -> tuple:
    """Headless chromium with a new profile and a downloads folder."""
    root = Path(tempfile.mkdtemp(prefix="console-browser-"))
    downloads = root / "downloads"
    downloads.mkdir()
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={root / 'profile'}")
    options.add_experimental_option("prefs", {
        "download.default_directory": str(downloads),
        "download.prompt_for_download": False,
    })
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {
        "behavior": "allow", "downloadPath": str(downloads)})
    driver.console_root = root
    return driver, downloads


def _quit(cls) -> None:
    if cls._browser is not None:
        driver, _ = cls._browser
        cls._browser = None
        driver.quit()
        shutil.rmtree(driver.console_root, ignore_errors=True)


class ConsoleBrowserTests(S3TestCase):
    skip = _missing()

    #: one browser for the class's tests (a start costs seconds), with a
    #: fresh profile; each test begins on a new page, signed out
    _browser: ClassVar[tuple | None] = None

    def setUp(self) -> None:
        super().setUp()
        self.shots = Path("console-screenshots").resolve()
        self.shots.mkdir(exist_ok=True)
        cls = type(self)
        if cls._browser is None:
            cls._browser = _start_browser()
            atexit.register(_quit, cls)
        self.driver, self.downloads = cls._browser
        self.addCleanup(self._release)
        self.addCleanup(lambda: self.shot(f"last-{self._testMethodName}"))
        self.base = f"{self.server.endpoint}/_/console/"

    def _release(self) -> None:
        # the page broke no rule of its Content-Security-Policy
        refused = [e["message"] for e in self.driver.get_log("browser")
                   if "Content Security Policy" in e["message"]]
        self.driver.get("about:blank")
        for saved in self.downloads.iterdir():
            saved.unlink()
        if type(self)._remaining <= {self._testMethodName}:  # the class's last test
            _quit(type(self))
        self.assertEqual(refused, [])

    # -- helpers ------------------------------------------------------------

    def find(self, css: str):
        return WebDriverWait(self.driver, WAIT).until(
            EC.presence_of_element_located((By.CSS_SELECTOR, css)))

    def click(self, css: str) -> None:
        WebDriverWait(self.driver, WAIT).until(
            EC.element_to_be_clickable((By.CSS_SELECTOR, css))).click()

    def wait_text(self, css: str, text: str) -> None:
        WebDriverWait(self.driver, WAIT).until(
            EC.text_to_be_present_in_element((By.CSS_SELECTOR, css), text))

    def accept(self) -> None:
        WebDriverWait(self.driver, WAIT).until(EC.alert_is_present()).accept()

    def shot(self, name: str) -> None:
        self.driver.save_screenshot(str(self.shots / f"{name}.png"))

    def sign_in(self, access: str, secret: str, script: str = "") -> None:
        self.driver.get(self.base)
        if script:
            self.driver.execute_script(script)
        self.find("#access-key").send_keys(access)
        self.find("#secret-key").send_keys(secret)
        self.click("#signin-btn")
        self.find("#bucket-list")

    def new_bucket(self, tag: str, *options: str) -> str:
        """Signed in as account 1, a bucket made on the buckets page (with
        the ``options`` checkboxes ticked), then opened."""
        self.sign_in(ACCESS_KEY_1, SECRET_KEY_1)
        bucket = f"{tag}-{os.getpid()}-{int(time.time())}"
        self.addCleanup(self._remove, bucket)
        self.find("#new-bucket-name").send_keys(bucket)
        for option in options:
            self.click(option)
        self.click("#create-bucket-btn")
        self.click(f'tr[data-bucket="{bucket}"] a.bucket-link')
        self.find("#drop-zone")
        return bucket

    # -- the tests ----------------------------------------------------------

    def test_sign_in_refused(self):
        self.driver.get(self.base)
        self.find("#access-key").send_keys(ACCESS_KEY_1)
        self.find("#secret-key").send_keys("not-the-secret")
        self.click("#signin-btn")
        self.wait_text("#signin-error", "SignatureDoesNotMatch")
        self.assertFalse(self.driver.find_element(By.ID, "app-view").is_displayed())

    def test_console(self):
        """Sign in, create a bucket, upload, browse, download, policy,
        share, delete, sign out."""
        d = self.driver
        bucket = self.new_bucket("console")
        self.shot("objects-empty")

        # a folder, then a large file uploaded into it through the picker
        self.find("#new-folder").send_keys("photos")
        self.click("#create-folder")
        self.wait_text("#crumbs", "photos")
        big = self.workdir / "big.bin"
        with open(big, "wb") as f:
            f.write(os.urandom(BIG))
        self.find("#file-input").send_keys(str(big))
        WebDriverWait(d, WAIT * 2).until(lambda _: self.find("#upload-progress")
                                         .get_attribute("value") == "100")
        self.wait_text("#upload-progress-text", "100%")
        self.find('tr[data-key="photos/big.bin"]')
        self.shot("objects-uploaded")
        head = self.s3.head_object(Bucket=bucket, Key="photos/big.bin")
        self.assertEqual(head["ContentLength"], BIG)
        self.assertTrue(head["ETag"].endswith('-3"'), head["ETag"])  # multipart

        # usage: the bucket's counters (the folder marker and the file)
        self.click("#nav-usage")
        self.wait_text(f'#usage-list tr[data-bucket="{bucket}"]', "20 MiB")
        self.assertEqual(self.find(f'#usage-list tr[data-bucket="{bucket}"] td.num').text, "2")
        self.wait_text("#server-version", "status OK")
        self.wait_text("#health-status", "every location answers")
        self.find('#health-list tr[data-location="fileKms"]')
        self.shot("usage")

        # browse: the bucket's root shows the folder; into it, the file
        d.get(f"{self.base}#/b/{bucket}/")
        self.click('tr[data-folder="photos/"] a.folder-link')
        self.find('tr[data-key="photos/big.bin"]')

        # download through the page: a presigned GET saved by the browser
        self.click('tr[data-key="photos/big.bin"] button.download')
        saved = self.downloads / "big.bin"
        WebDriverWait(d, WAIT * 2).until(
            lambda _: saved.exists() and saved.stat().st_size == BIG)
        self.assertEqual(hashlib.sha256(saved.read_bytes()).digest(),
                         hashlib.sha256(big.read_bytes()).digest())

        # details and a share link, fetched without any session
        self.click('tr[data-key="photos/big.bin"] button.info')
        self.wait_text("#object-metadata", "content-length")
        Select(self.find("#share-expiry")).select_by_visible_text("1 hour")
        self.click("#make-share")
        WebDriverWait(d, WAIT).until(lambda _: self.find("#share-url").get_attribute("value"))
        url = self.find("#share-url").get_attribute("value")
        self.assertIn("X-Amz-Expires=3600", url)
        with urllib.request.urlopen(url, timeout=30) as answer:
            self.assertEqual(hashlib.sha256(answer.read()).digest(),
                             hashlib.sha256(big.read_bytes()).digest())
        self.shot("object-details")

        # a policy: refused with the server's message, then saved and read back
        d.get(f"{self.base}#/s/{bucket}")
        area = self.find("#setting-policy")
        area.clear()
        area.send_keys('{"Version": "2012-10-17", "Statement": []}')
        self.click("#save-policy")
        self.wait_text("#setting-policy-error", "MalformedPolicy")
        self.click("#example-policy")
        self.click("#save-policy")
        self.wait_text("#setting-policy-status", "saved")
        self.assertIn("PublicRead", self.s3.get_bucket_policy(Bucket=bucket)["Policy"])
        d.get(f"{self.base}#/")
        self.find("#bucket-list")
        d.get(f"{self.base}#/s/{bucket}")
        WebDriverWait(d, WAIT).until(
            lambda _: "PublicRead" in self.find("#setting-policy").get_attribute("value"))
        self.shot("settings")

        # a bucket with objects is not deleted: the server's word shown
        d.get(f"{self.base}#/")
        self.click(f'tr[data-bucket="{bucket}"] button.delete-bucket')
        self.accept()
        self.wait_text("#buckets-error", "BucketNotEmpty")

        # delete the object, then the empty bucket
        d.get(f"{self.base}#/b/{bucket}/photos%2F")
        self.click('tr[data-key="photos/big.bin"] button.delete-object')
        self.accept()
        self.wait_text("#objects-status", "Deleted")
        self.click('tr[data-key="photos/"] button.delete-object')
        self.accept()
        self.wait_text("#objects-status", "Deleted")
        d.get(f"{self.base}#/")
        self.click(f'tr[data-bucket="{bucket}"] button.delete-bucket')
        self.accept()
        WebDriverWait(d, WAIT).until(lambda _: not d.find_elements(
            By.CSS_SELECTOR, f'tr[data-bucket="{bucket}"]'))
        self.assertS3Error("404", 404, self.s3.head_bucket, Bucket=bucket)

        # sign out: the sign-in form again, no key left in the page
        self.click("#signout")
        self.find("#signin-btn")
        self.assertTrue(d.find_element(By.ID, "signin-view").is_displayed())
        self.assertEqual(self.find("#secret-key").get_attribute("value"), "")
        storage = d.execute_script(
            "return [localStorage.length, sessionStorage.length, document.cookie]")
        self.assertEqual(storage, [0, 0, ""])
        # the key lived in the tab's memory only: a reload is signed out too
        self.sign_in(ACCESS_KEY_1, SECRET_KEY_1)
        d.refresh()
        self.find("#signin-btn")
        self.assertFalse(d.find_element(By.ID, "app-view").is_displayed())

    def upload(self, path: Path, expect_key: str) -> None:
        self.find("#file-input").send_keys(str(path))
        self.find(f'tr[data-key="{expect_key}"]')

    def test_versions_settings_and_more(self):
        """A versioned bucket: versions shown and deleted one by one; tags,
        copy and move; every setting read and saved; pages; drag and drop; a
        key that needs encoding; the idle sign-out."""
        d = self.driver
        bucket = self.new_bucket("console-v", "#new-bucket-versioning")
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=bucket)["Status"], "Enabled")

        # two versions of one key, then the older one deleted from the page
        note = self.workdir / "note.txt"
        note.write_bytes(b"first")
        self.upload(note, "note.txt")
        note.write_bytes(b"second, longer")
        self.find("#file-input").send_keys(str(note))
        WebDriverWait(d, WAIT).until(lambda _: len(self.s3.list_object_versions(
            Bucket=bucket)["Versions"]) == 2)
        versions = self.s3.list_object_versions(Bucket=bucket)["Versions"]
        older = next(v["VersionId"] for v in versions if not v["IsLatest"])
        self.click("#show-versions")
        self.find(f'tr[data-version="{older}"]')
        self.assertEqual(len(d.find_elements(By.CSS_SELECTOR, 'tr[data-key="note.txt"]')), 2)
        self.shot("versions")
        self.click(f'tr[data-version="{older}"] input.pick-version')
        self.click("#delete-versions")
        self.accept()
        self.wait_text("#objects-status", "Deleted 1 version")
        left = self.s3.list_object_versions(Bucket=bucket)["Versions"]
        self.assertEqual([v["IsLatest"] for v in left], [True])
        self.click("#show-versions")

        # tags, copy, move
        self.click('tr[data-key="note.txt"] button.info')
        tags = self.find("#object-tags")
        tags.send_keys("team=data\nstage=test")
        self.click("#save-tags")
        self.wait_text("#objects-status", "Tags saved")
        got = self.s3.get_object_tagging(Bucket=bucket, Key="note.txt")["TagSet"]
        self.assertEqual(sorted((t["Key"], t["Value"]) for t in got),
                         [("stage", "test"), ("team", "data")])
        target = self.find("#copy-target")
        target.clear()
        target.send_keys(f"{bucket}/copies/note.txt")
        self.click("#copy-btn")
        self.wait_text("#objects-status", "Copied")
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="copies/note.txt")["Body"].read(),
                         b"second, longer")
        self.click('tr[data-key="note.txt"] button.info')
        target = self.find("#copy-target")
        target.clear()
        target.send_keys(f"{bucket}/moved.txt")
        self.click("#move-btn")
        self.wait_text("#objects-status", "Moved")
        self.find('tr[data-key="moved.txt"]')
        self.assertFalse(d.find_elements(By.CSS_SELECTOR, 'tr[data-key="note.txt"]'))

        # drag and drop (a File handed to the drop zone as a browser would)
        d.execute_script("""
            const dt = new DataTransfer();
            dt.items.add(new File(["dropped bytes"], "dropped.txt", {type: "text/plain"}));
            const zone = document.getElementById("drop-zone");
            for (const type of ["dragover", "drop"]) {
              zone.dispatchEvent(new DragEvent(type, {dataTransfer: dt, bubbles: true,
                                                      cancelable: true}));
            }""")
        self.find('tr[data-key="dropped.txt"]')
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="dropped.txt")["Body"].read(),
                         b"dropped bytes")

        # a key that needs encoding, shared and fetched back
        odd = self.workdir / "ünï côde+&=%.txt"
        odd.write_bytes(b"odd name")
        self.upload(odd, "ünï côde+&=%.txt")
        self.click('tr[data-key="ünï côde+&=%.txt"] button.info')
        self.click("#make-share")
        WebDriverWait(d, WAIT).until(lambda _: self.find("#share-url").get_attribute("value"))
        with urllib.request.urlopen(self.find("#share-url").get_attribute("value"),
                                    timeout=10) as answer:
            self.assertEqual(answer.read(), b"odd name")
        d.execute_script("window.scrollTo(0, 0)")
        self.shot("objects")

        # pages of 200: a folder of 205 keys
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: self.s3.put_object(Bucket=bucket, Key=f"many/{i:03d}",
                                                       Body=b""), range(205)))
        d.get(f"{self.base}#/b/{bucket}/many%2F")
        self.find('tr[data-key="many/199"]')
        self.assertEqual(len(d.find_elements(By.CSS_SELECTOR, "tr[data-key]")), 200)
        self.click("#more")
        self.find('tr[data-key="many/204"]')
        self.assertEqual(len(d.find_elements(By.CSS_SELECTOR, "tr[data-key]")), 205)

        # every setting: none set, no error; each example saved
        d.get(f"{self.base}#/s/{bucket}")
        names = ("cors", "lifecycle", "encryption", "tagging", "website", "ownershipControls",
                 "publicAccessBlock")
        WebDriverWait(d, WAIT).until(lambda _: "AccessControlPolicy" in self.find(
            "#setting-acl").get_attribute("value"))
        for name in (*names, "policy", "object-lock"):
            self.wait_text(f"#setting-{name}-status", "none set")
        for name in names:
            self.click(f"#example-{name}")
            self.click(f"#save-{name}")
            self.wait_text(f"#setting-{name}-status", "saved")
        self.assertEqual(self.s3.get_bucket_cors(Bucket=bucket)["CORSRules"][0]["AllowedMethods"],
                         ["GET"])
        self.assertEqual(self.s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]["ID"],
                         "expire-tmp")
        self.assertEqual(self.s3.get_bucket_website(Bucket=bucket)["IndexDocument"]["Suffix"],
                         "index.html")
        self.click("#delete-website")
        self.wait_text("#setting-website-status", "deleted")
        self.assertS3Error("NoSuchWebsiteConfiguration", 404, self.s3.get_bucket_website,
                           Bucket=bucket)
        self.shot("settings-saved")

        # idle for 31 minutes: the next action signs out
        d.execute_script("const real = Date.now; Date.now = () => real() + 31 * 60 * 1000;"
                         "document.getElementById('reload-cors').click();")
        self.wait_text("#signin-error", "30 minutes")
        self.assertFalse(d.find_element(By.ID, "app-view").is_displayed())

    def test_upload_resumes(self):
        """An unfinished multipart upload of the same key (a closed tab, a
        cut network) is resumed: the part whose ETag is the file's slice's
        MD5 is kept, a part that differs is sent again."""
        bucket = self.make_bucket("resume")
        data = os.urandom(BIG)
        part = 8 * 1024 * 1024
        upload = self.s3.create_multipart_upload(Bucket=bucket, Key="resume.bin")["UploadId"]
        self.s3.upload_part(Bucket=bucket, Key="resume.bin", UploadId=upload, PartNumber=1,
                            Body=data[:part])
        self.s3.upload_part(Bucket=bucket, Key="resume.bin", UploadId=upload, PartNumber=2,
                            Body=os.urandom(part))  # not the file's: sent again
        path = self.workdir / "resume.bin"
        path.write_bytes(data)
        self.sign_in(ACCESS_KEY_1, SECRET_KEY_1)
        self.driver.get(f"{self.base}#/b/{bucket}/")
        self.find("#drop-zone")
        self.find("#file-input").send_keys(str(path))
        self.wait_text("#upload-progress-text", "100%")
        self.assertIn("resumed: 1 part", self.find("#upload-progress-text").text)
        got = self.s3.get_object(Bucket=bucket, Key="resume.bin")["Body"].read()
        self.assertEqual(hashlib.sha256(got).digest(), hashlib.sha256(data).digest())
        self.assertEqual(self.s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []), [])
        sent = [line for line in self.server.log_path.read_text().splitlines()
                if " UploadPart " in line and f"bucket={bucket} key=resume.bin " in line]
        self.assertEqual(len(sent), 4, sent)  # 2 by boto3, then parts 2 and 3 only

    def test_create_options(self):
        """A location constraint and object lock, chosen on the buckets page;
        signed in with this computer's clock an hour off (the page signs in
        the server's time once told the difference)."""
        hour_late = "const real = Date.now; Date.now = () => real() - 3600 * 1000;"
        self.sign_in(ACCESS_KEY_1, SECRET_KEY_1, hour_late)
        bucket = f"console-lock-{os.getpid()}-{int(time.time())}"
        self.addCleanup(self._remove, bucket)
        self.find("#new-bucket-name").send_keys(bucket)
        self.find("#new-bucket-location").send_keys("us-west-1")
        self.click("#new-bucket-lock")
        self.click("#create-bucket-btn")
        self.find(f'tr[data-bucket="{bucket}"]')
        self.assertEqual(self.s3.get_bucket_location(Bucket=bucket)["LocationConstraint"],
                         "us-west-1")
        lock = self.s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
        self.assertEqual(lock["ObjectLockEnabled"], "Enabled")
        self.assertEqual(self.s3.get_bucket_versioning(Bucket=bucket)["Status"], "Enabled")
        self.driver.get(f"{self.base}#/s/{bucket}")
        self.wait_text("#bucket-location", "us-west-1")
        WebDriverWait(self.driver, WAIT).until(
            lambda _: "Enabled" in self.find("#setting-object-lock").get_attribute("value"))
        self.driver.get(f"{self.base}#/")  # a bad name: the server's message
        self.find("#new-bucket-name").send_keys("Bad_Name")
        self.click("#create-bucket-btn")
        self.wait_text("#buckets-error", "InvalidBucketName")

    def test_other_account_cannot_see(self):
        bucket = self.make_bucket("private")
        self.s3.put_object(Bucket=bucket, Key="secret.txt", Body=b"mine")
        self.sign_in(ACCESS_KEY_2, SECRET_KEY_2)
        self.assertFalse(self.driver.find_elements(By.CSS_SELECTOR, f'tr[data-bucket="{bucket}"]'))
        self.driver.get(f"{self.base}#/b/{bucket}/")
        self.wait_text("#objects-error", "AccessDenied")
        self.assertFalse(self.driver.find_elements(By.CSS_SELECTOR, 'tr[data-key="secret.txt"]'))
        self.shot("other-account")

    def test_forged_cross_site_post(self):
        """A page of another origin posts a form to the S3 port, as a CSRF
        would: it carries no signature (there is no cookie to ride on) and is
        refused; nothing is written."""
        bucket = self.make_bucket("csrf")
        self.sign_in(ACCESS_KEY_1, SECRET_KEY_1)  # a console session in the same browser
        form = (f'<form id="f" method="POST" enctype="multipart/form-data" '
                f'action="{self.server.endpoint}/{bucket}">'
                '<input name="key" value="forged.txt">'
                '<input name="file" value="forged"></form>'
                '<form id="g" method="POST" enctype="text/plain" '
                f'action="{self.server.endpoint}/{bucket}?delete">'
                '<input name="x" value="y"></form>')
        evil = self.workdir / "evil.html"
        evil.write_text(f"<!DOCTYPE html><html><body>{form}</body></html>")
        self.driver.get(evil.as_uri())
        self.driver.execute_script("document.getElementById('f').submit()")
        WebDriverWait(self.driver, WAIT).until(
            lambda d: "AccessDenied" in d.page_source or "InvalidArgument" in d.page_source)
        self.assertS3Error("404", 404, self.s3.head_object, Bucket=bucket, Key="forged.txt")
        self.assertEqual(self.s3.list_objects_v2(Bucket=bucket)["KeyCount"], 0)
        request = urllib.request.Request(f"{self.server.endpoint}/{bucket}", method="DELETE",
                                         headers={"Origin": "http://evil.example"})
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        self.assertEqual(refused.exception.code, 403)
        self.s3.head_bucket(Bucket=bucket)

    def _remove(self, bucket: str) -> None:
        try:
            listing = self.s3.list_object_versions(Bucket=bucket)
            for v in listing.get("Versions", []) + listing.get("DeleteMarkers", []):
                self.s3.delete_object(Bucket=bucket, Key=v["Key"], VersionId=v["VersionId"])
            self.s3.delete_bucket(Bucket=bucket)
        except ClientError:
            pass
