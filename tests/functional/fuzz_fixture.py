# -*- test-case-name: tests.functional.test_fuzz -*-
"""The fuzzer's canaries: a bucket holding every kind of state a hostile
request could damage, and its state read back through GETs."""

from __future__ import annotations

import hashlib
import json

from botocore.exceptions import ClientError

from tests.functional.fuzz_cases import Targets

KEYS = ["canary/a", "canary/b", "canary/c d+\u00e9", "canary/empty"]
ACCOUNT_2 = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2bf"

#: The bucket GETs compared (boto3 method names).
BUCKET_READS = ["get_bucket_acl", "get_bucket_cors", "get_bucket_lifecycle_configuration",
                "get_bucket_logging", "get_bucket_policy", "get_bucket_tagging",
                "get_bucket_versioning", "get_bucket_website", "get_bucket_encryption",
                "get_object_lock_configuration", "get_bucket_ownership_controls",
                "get_public_access_block", "get_bucket_accelerate_configuration",
                "get_bucket_request_payment", "get_bucket_location",
                "get_bucket_notification_configuration", "get_bucket_replication"]


def _configure(s3, bucket: str) -> list[str]:
    """Every configuration the canary holds; returns what the server refused."""
    steps = [
        ("versioning", lambda: s3.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})),
        ("tagging", lambda: s3.put_bucket_tagging(
            Bucket=bucket, Tagging={"TagSet": [{"Key": "canary", "Value": "1"}]})),
        ("cors", lambda: s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [
            {"AllowedMethods": ["GET"], "AllowedOrigins": ["https://canary.example"]}]})),
        ("lifecycle", lambda: s3.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": [
                {"ID": "keep", "Filter": {"Prefix": "never/"}, "Status": "Enabled",
                 "Expiration": {"Days": 3650}}]})),
        ("website", lambda: s3.put_bucket_website(
            Bucket=bucket, WebsiteConfiguration={"IndexDocument": {"Suffix": "index.html"}})),
        ("encryption", lambda: s3.put_bucket_encryption(
            Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})),
        ("policy", lambda: s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789013:root"},
                "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]}))),
        ("acl", lambda: s3.put_bucket_acl(Bucket=bucket, GrantRead=f"id={ACCOUNT_2}",
                                          GrantFullControl="id=" + ACCOUNT_2[:-1] + "e")),
    ]
    refused = []
    for name, step in steps:
        try:
            step()
        except ClientError as error:
            refused.append(f"{name}: {error.response['Error']['Code']}")
    return refused


def create(s3, seed: int) -> Targets:
    """The canary and scratch buckets, their objects and uploads."""
    canary, scratch, lock = (f"fuzz-canary-{seed}", f"fuzz-scratch-{seed}",
                             f"fuzz-lock-{seed}")
    for bucket in (canary, scratch):
        s3.create_bucket(Bucket=bucket)
    s3.create_bucket(Bucket=lock, ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket=lock, Key="locked/a", Body=b"held by nothing yet")
    refused = _configure(s3, canary)
    sizes = {"canary/a": 1024, "canary/b": 100 * 1024, KEYS[2]: 3000, "canary/empty": 0}
    for key, size in sizes.items():
        s3.put_object(Bucket=canary, Key=key, Body=hashlib.sha256(key.encode()).digest()
                      * (size // 32) + b"x" * (size % 32), Metadata={"canary": "yes"},
                      ContentType="application/x-canary", Tagging="t=1&u=2")
    s3.put_object(Bucket=canary, Key="canary/a", Body=b"second version")
    s3.put_object_acl(Bucket=canary, Key="canary/b", ACL="authenticated-read")
    upload = s3.create_multipart_upload(Bucket=canary, Key="canary/mpu")["UploadId"]
    s3.upload_part(Bucket=canary, Key="canary/mpu", UploadId=upload, PartNumber=1,
                   Body=b"p" * 2048)
    defect = s3.create_multipart_upload(Bucket=scratch, Key="defect-cmu")["UploadId"]
    etag = s3.upload_part(Bucket=scratch, Key="defect-cmu", UploadId=defect, PartNumber=1,
                          Body=b"d" * 100)["ETag"]
    targets = Targets(canary, scratch, list(KEYS), "canary/mpu", upload, "defect-cmu",
                      defect, etag, lock, "locked/a")
    targets.refused = refused  # type: ignore[attr-defined]
    return targets


def _call(fn, **kwargs):
    try:
        result = fn(**kwargs)
    except ClientError as error:
        return {"error": error.response["Error"]["Code"]}
    result.pop("ResponseMetadata", None)
    if "Body" in result:
        result["Body"] = hashlib.sha256(result["Body"].read()).hexdigest()
    return result


def snapshot(s3, targets: Targets) -> dict:
    """The canary bucket's state as GETs show it (no request ids)."""
    bucket = targets.canary
    state: dict = {name: _call(getattr(s3, name), Bucket=bucket) for name in BUCKET_READS}
    versions = _call(s3.list_object_versions, Bucket=bucket)
    state["versions"] = versions
    for version in versions.get("Versions", []):
        ident = dict(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])
        where = f"{version['Key']}@{version['VersionId']}"
        obj = _call(s3.get_object, **ident)
        obj.pop("LastModified", None)  # a datetime, covered by the listing's
        state[f"object {where}"] = obj
        state[f"tagging {where}"] = _call(s3.get_object_tagging, **ident)
        state[f"acl {where}"] = _call(s3.get_object_acl, **ident)
    if targets.lock:
        state["lock configuration"] = _call(s3.get_object_lock_configuration,
                                            Bucket=targets.lock)
        state["lock versions"] = locked = _call(s3.list_object_versions, Bucket=targets.lock)
        for version in locked.get("Versions", []):
            ident = dict(Bucket=targets.lock, Key=version["Key"],
                         VersionId=version["VersionId"])
            state[f"retention {version['Key']}"] = _call(s3.get_object_retention, **ident)
            state[f"legal hold {version['Key']}"] = _call(s3.get_object_legal_hold, **ident)
    state["uploads"] = _call(s3.list_multipart_uploads, Bucket=bucket)
    state["parts"] = _call(s3.list_parts, Bucket=bucket, Key=targets.upload_key,
                           UploadId=targets.upload_id)
    return state


def differences(before: dict, after: dict) -> list[str]:
    out = []
    for name in sorted(set(before) | set(after)):
        if before.get(name) != after.get(name):
            out.append(f"{name}: {str(before.get(name))[:300]} -> {str(after.get(name))[:300]}")
    return out
