# -*- test-case-name: tests.functional.test_awscli -*-
"""
Configure and run the S3 clients the CloudServer docs describe.

Every client is configured the way the docs' "Clients" chapter shows
(``~/.aws/credentials``, ``~/.s3cfg``, ``rclone.conf``, boto3's client
arguments) but from files in a temporary directory and a scrubbed
environment: the tests never read or write the real home directory.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.functional.server import ServerProcess, venv_bin

ACCESS_KEY_1 = "accessKey1"
SECRET_KEY_1 = "verySecretKey1"
ACCESS_KEY_2 = "accessKey2"
SECRET_KEY_2 = "verySecretKey2"
REGION = "us-east-1"

#: Bound on any one client command; a hung client must not hang CI.
COMMAND_TIMEOUT = 600

#: The "large file" of the client matrix: over 100 MiB, not a whole number
#: of parts, so every client uploads it in several parts and a short last one.
LARGE_SIZE = 100 * 1024 * 1024 + 12_345


def md5_file(path: str | os.PathLike[str]) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as source:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def unique_bucket(tag: str = "b") -> str:
    """A DNS-compatible bucket name no other test uses."""
    tag = "".join(c for c in tag.lower() if c.isalnum())[:20] or "b"
    return f"ft-{tag}-{uuid.uuid4().hex[:12]}"


# -- boto3 ---------------------------------------------------------------

def boto3_client(server: ServerProcess, workdir: str | os.PathLike[str], *,
                 access_key: str = ACCESS_KEY_1, secret_key: str = SECRET_KEY_1,
                 endpoint: str | None = None, addressing_style: str = "path",
                 **config: object):
    """
    A boto3 S3 client as the docs' "Client integration" snippet builds it.

    botocore keeps its defaults (notably ``request_checksum_calculation =
    when_supported``); only addressing style, timeouts and retries are set,
    retries off so a server error is seen as the server sent it.  The
    shared config file is a fresh one in ``workdir`` so ``~/.aws/config``
    cannot change those defaults.
    """
    config_file = Path(workdir) / "boto3-config"
    if not config_file.exists():
        config_file.write_text(f"[default]\nregion = {REGION}\n")
    session = botocore.session.Session()
    session.set_config_variable("config_file", str(config_file))
    session.set_config_variable("credentials_file", str(Path(workdir) / "no-credentials"))
    options: dict[str, object] = {"s3": {"addressing_style": addressing_style},
                                  "retries": {"total_max_attempts": 1},
                                  "connect_timeout": 10, "read_timeout": 300}
    options.update(config)
    return boto3.session.Session(botocore_session=session).client(
        "s3",
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        region_name=REGION,
        endpoint_url=endpoint or server.endpoint,
        config=Config(**options),
        # HTTPS: trust the test CA (the docs' `ca` of the https.Agent).
        verify=server.ca_file if server.tls else None,
    )


#: How long the clean-up waits out a retention the test left (COMPLIANCE, or
#: GOVERNANCE for a client without s3:BypassGovernanceRetention): tests on
#: locked buckets use retentions of a few seconds.
LOCK_WAIT_SECONDS = 30.0


def _delete_versions(client, bucket: str) -> list[dict]:
    """Delete every version and delete marker of ``bucket`` (the null version
    of a never-versioned bucket too), lifting GOVERNANCE retention as the
    owner may; returns the entries refused (object lock)."""
    refused = []
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        objects = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                   for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        for start in range(0, len(objects), 1000):
            out = client.delete_objects(Bucket=bucket, BypassGovernanceRetention=True,
                                        Delete={"Objects": objects[start:start + 1000],
                                                "Quiet": True})
            refused += out.get("Errors", [])
    return refused


def _release(client, bucket: str, refused: list[dict]) -> float:
    """Lift what the clean-up may lift on the refused versions: a legal hold
    the test set goes OFF (what any caller with s3:PutObjectLegalHold may
    do); returns the epoch second the longest retention left ends."""
    until = 0.0
    for entry in refused:
        try:
            head = client.head_object(Bucket=bucket, Key=entry["Key"],
                                      VersionId=entry["VersionId"])
        except ClientError:
            continue
        if head.get("ObjectLockLegalHoldStatus") == "ON":
            client.put_object_legal_hold(Bucket=bucket, Key=entry["Key"],
                                         VersionId=entry["VersionId"],
                                         LegalHold={"Status": "OFF"})
        retain = head.get("ObjectLockRetainUntilDate")
        if retain is not None:
            until = max(until, retain.timestamp())
    return until


def empty_and_delete_bucket(client, bucket: str) -> None:
    """Best-effort cleanup so a shared server does not accumulate data.

    Every version goes, on a locked bucket too, but only as object lock
    allows (nothing here bypasses a lock): GOVERNANCE retention is lifted
    with x-amz-bypass-governance-retention, legal holds are turned OFF, and
    a COMPLIANCE retention is waited out up to LOCK_WAIT_SECONDS (so tests
    must give such versions a few seconds only).
    """
    try:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            refused = _delete_versions(client, bucket)
            if not refused:
                break
            wait = _release(client, bucket, refused) - time.time()
            if time.monotonic() + max(wait, 0) > deadline:
                print(f"cleanup of bucket {bucket}: locked versions left: {refused}")
                return
            time.sleep(min(max(wait, 0) + 0.2, LOCK_WAIT_SECONDS))
        client.delete_bucket(Bucket=bucket)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "NoSuchBucket":
            print(f"cleanup of bucket {bucket} failed: {error}")
    except Exception as error:  # noqa: BLE001 - cleanup must not mask the test result
        print(f"cleanup of bucket {bucket} failed: {error}")


# -- command-line clients --------------------------------------------------

def client_environment(home: str | os.PathLike[str], **extra: str) -> dict[str, str]:
    """
    A minimal environment for a CLI client: a private HOME, no AWS_* or
    RCLONE_* variables from the caller, no proxies.
    """
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TMPDIR": os.environ.get("TMPDIR", "/tmp"),
        "PYTHONIOENCODING": "utf-8",
    }
    env.update(extra)
    return env


class CommandFailed(AssertionError):
    """A client command exited non-zero; the message says everything."""


def run_command(argv: Sequence[str], env: dict[str, str], server: ServerProcess, *,
                cwd: str | os.PathLike[str] | None = None, check: bool = True,
                timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """
    Run one client command; on failure raise with the exact command line,
    its output and the tail of the server log.
    """
    argv = [str(a) for a in argv]
    try:
        result = subprocess.run(argv, check=False, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, errors="replace",
                                timeout=timeout)
    except subprocess.TimeoutExpired as error:
        raise CommandFailed(_report(argv, f"timed out after {timeout}s",
                                    error.stdout, error.stderr, server)) from None
    if check and result.returncode != 0:
        raise CommandFailed(_report(argv, f"exit status {result.returncode}",
                                    result.stdout, result.stderr, server))
    return result


def _report(argv, outcome, stdout, stderr, server: ServerProcess) -> str:
    def text(value):
        if isinstance(value, bytes):
            return value.decode(errors="replace")
        return value or ""
    return (f"command failed ({outcome}):\n  {shlex.join(argv)}\n"
            f"---- stdout:\n{text(stdout)}\n---- stderr:\n{text(stderr)}\n"
            f"{server.describe(40)}")


class AwsCli:
    """``aws`` with ``~/.aws/credentials`` and ``~/.aws/config`` as in the docs."""

    def __init__(self, server: ServerProcess, home: Path) -> None:
        self.server = server
        aws_dir = home / ".aws"
        aws_dir.mkdir(parents=True, exist_ok=True)
        credentials = aws_dir / "credentials"
        credentials.write_text(f"[default]\naws_access_key_id = {ACCESS_KEY_1}\n"
                               f"aws_secret_access_key = {SECRET_KEY_1}\n")
        config = aws_dir / "config"
        # HTTPS: the test CA as ``ca_bundle`` (the docs do not cover https).
        ca_bundle = f"ca_bundle = {server.ca_file}\n" if server.tls else ""
        config.write_text(f"[default]\nregion = {REGION}\n{ca_bundle}")
        self.env = client_environment(
            home, AWS_CONFIG_FILE=str(config), AWS_SHARED_CREDENTIALS_FILE=str(credentials),
            AWS_MAX_ATTEMPTS="1", AWS_PAGER="")

    def __call__(self, *args: object, check: bool = True, cwd=None):
        argv = [venv_bin("aws"), "--endpoint-url", self.server.endpoint, *args]
        return run_command(argv, self.env, self.server, check=check, cwd=cwd)


class S3cmd:
    """``s3cmd -c <cfg>`` with the docs' ``.s3cfg`` template, path-style."""

    def __init__(self, server: ServerProcess, home: Path, *, signature_v2: bool) -> None:
        self.server = server
        home.mkdir(parents=True, exist_ok=True)
        self.config = home / (".s3cfg-v2" if signature_v2 else ".s3cfg-v4")
        host = f"127.0.0.1:{server.port}"
        # host_bucket without %(bucket)s: path-style, since bucket.localhost
        # does not resolve everywhere.
        self.config.write_text(
            "[default]\n"
            f"access_key = {ACCESS_KEY_1}\n"
            f"secret_key = {SECRET_KEY_1}\n"
            f"host_base = {host}\n"
            f"host_bucket = {host}\n"
            f"signature_v2 = {signature_v2}\n"
            f"use_https = {server.tls}\n"
            "bucket_location = us-east-1\n"
            + (f"ca_certs_file = {server.ca_file}\n"
               "check_ssl_certificate = True\n"
               "check_ssl_hostname = True\n" if server.tls else ""))
        self.env = client_environment(home)

    def __call__(self, *args: object, check: bool = True, cwd=None):
        argv = [venv_bin("s3cmd"), "-c", self.config, "--no-progress", *args]
        return run_command(argv, self.env, self.server, check=check, cwd=cwd)


class Rclone:
    """``rclone --config <cfg>`` with a v2 remote (as in the docs) and a v4 remote."""

    REMOTES = ("v2", "v4")

    def __init__(self, server: ServerProcess, home: Path) -> None:
        self.server = server
        home.mkdir(parents=True, exist_ok=True)
        self.config = home / "rclone.conf"
        sections = []
        for name, region in (("v2", "other-v2-signature"), ("v4", REGION)):
            sections.append(
                f"[{name}]\n"
                "type = s3\n"
                "provider = Other\n"
                "env_auth = false\n"
                f"access_key_id = {ACCESS_KEY_1}\n"
                f"secret_access_key = {SECRET_KEY_1}\n"
                f"region = {region}\n"
                f"endpoint = {server.endpoint}\n"
                "location_constraint =\n"
                "acl = private\n"
                "server_side_encryption =\n"
                "storage_class =\n")
        self.config.write_text("\n".join(sections))
        self.env = client_environment(home)

    def __call__(self, *args: object, check: bool = True, cwd=None):
        # HTTPS: rclone's s3 remote has no CA option; --ca-cert is global.
        tls = ["--ca-cert", self.server.ca_file] if self.server.tls else []
        argv = [venv_bin("rclone"), "--config", self.config,
                "--retries", "1", "--low-level-retries", "1", *tls, *args]
        return run_command(argv, self.env, self.server, check=check, cwd=cwd)


class Restic:
    """``restic`` (the Debian package, installed by the README's test command)
    on a repository ``s3:<endpoint>/<bucket>/<prefix>``."""

    PASSWORD = "restic test password"

    def __init__(self, server: ServerProcess, home: Path, bucket: str, prefix: str) -> None:
        self.server = server
        home.mkdir(parents=True, exist_ok=True)
        binary = shutil.which("restic")
        if binary is None:
            raise AssertionError("restic is not installed: run the README's test command")
        self.binary = binary
        extra = {"RESTIC_CACERT": str(server.ca_file)} if server.tls else {}
        self.env = client_environment(
            home, AWS_ACCESS_KEY_ID=ACCESS_KEY_1, AWS_SECRET_ACCESS_KEY=SECRET_KEY_1,
            RESTIC_PASSWORD=self.PASSWORD, XDG_CACHE_HOME=str(home / "cache"),
            RESTIC_REPOSITORY=f"s3:{server.endpoint}/{bucket}/{prefix}", **extra)

    def __call__(self, *args: object, check: bool = True, cwd=None):
        return run_command([self.binary, "--quiet", *args],
                           self.env, self.server, check=check, cwd=cwd)
