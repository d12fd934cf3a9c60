"""A compact SigV4 presigner for the load generators.

The harness presigns tens of thousands of URLs per run (wrk replays them),
so it signs with a cached signing key and plain ``hmac`` instead of going
through botocore for each one.  Query authentication with
``UNSIGNED-PAYLOAD`` and only ``host`` signed: any client (wrk, http.client)
can replay the URL with whatever body it sends.  The output was checked
against ``botocore``'s presigner (see ``python3 bench/sigv4.py --selftest``).
"""
from __future__ import annotations

import datetime
import hashlib
import hmac
import re
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"


def _quote(value: str, safe: str = "-_.~") -> str:
    return quote(value, safe=safe)


class Presigner:
    """Presign S3 requests for one endpoint ``host`` ("127.0.0.1:8601")."""

    def __init__(self, host: str, access_key: str = "accessKey1",
                 secret_key: str = "verySecretKey1", region: str = "us-east-1",
                 expires: int = 6 * 3600, now: datetime.datetime | None = None):
        self.host = host
        self.access_key = access_key
        self.expires = expires
        now = now or datetime.datetime.now(datetime.timezone.utc)
        self.amz_date = now.strftime("%Y%m%dT%H%M%SZ")
        day = now.strftime("%Y%m%d")
        self.scope = f"{day}/{region}/s3/aws4_request"
        key = ("AWS4" + secret_key).encode()
        for part in (day, region, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        self._signing_key = key
        self._credential = _quote(f"{access_key}/{self.scope}")

    def path(self, method: str, bucket: str, key: str | None = None,
             params: dict[str, str] | None = None) -> str:
        """The presigned request-target: "/bucket/key?...&X-Amz-Signature=..."."""
        uri = "/" + _quote(bucket, "-_.~")
        if key is not None:
            uri += "/" + _quote(key, "-_.~/")
        query = {
            "X-Amz-Algorithm": ALGORITHM,
            "X-Amz-Credential": None,  # already encoded, below
            "X-Amz-Date": self.amz_date,
            "X-Amz-Expires": str(self.expires),
            "X-Amz-SignedHeaders": "host",
        }
        pairs = []
        for name, value in list(query.items()) + list((params or {}).items()):
            if name == "X-Amz-Credential":
                pairs.append((name, self._credential))
            else:
                pairs.append((_quote(name), _quote(value)))
        pairs.sort()
        canonical_query = "&".join(f"{n}={v}" for n, v in pairs)
        canonical = (f"{method}\n{uri}\n{canonical_query}\nhost:{self.host}\n\nhost\n"
                     "UNSIGNED-PAYLOAD")
        to_sign = (f"{ALGORITHM}\n{self.amz_date}\n{self.scope}\n"
                   + hashlib.sha256(canonical.encode()).hexdigest())
        signature = hmac.new(self._signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
        return f"{uri}?{canonical_query}&X-Amz-Signature={signature}"


def _selftest() -> None:
    """Compare with botocore's presigner (same date) for a few requests."""
    import boto3
    from botocore.config import Config

    client = boto3.client("s3", endpoint_url="http://127.0.0.1:8601",
                          aws_access_key_id="accessKey1",
                          aws_secret_access_key="verySecretKey1", region_name="us-east-1",
                          config=Config(signature_version="s3v4",
                                        s3={"addressing_style": "path"}))
    cases = [("get_object", "GET", {"Bucket": "b1", "Key": "dir/k 1+"}, None),
             ("upload_part", "PUT", {"Bucket": "b1", "Key": "k", "UploadId": "u/1=",
                                     "PartNumber": 3},
              {"partNumber": "3", "uploadId": "u/1="})]
    for op, method, params, query in cases:
        theirs = client.generate_presigned_url(op, Params=params, ExpiresIn=3600)
        stamp = re.search(r"X-Amz-Date=(\w+)", theirs).group(1)
        now = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc)
        ours = "http://127.0.0.1:8601" + Presigner("127.0.0.1:8601", now=now, expires=3600
                                                   ).path(method, "b1", params["Key"], query)
        assert theirs.split("?")[0] == ours.split("?")[0], (theirs, ours)
        assert sorted(theirs.split("?")[1].split("&")) == sorted(ours.split("?")[1].split("&")), \
            (theirs, ours)
    print("sigv4 selftest: ok")


if __name__ == "__main__":
    _selftest()
