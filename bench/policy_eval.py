"""CPU cost of one bucket policy decision (compiled engine, no server).

A 20-statement policy in the shape real ones have (per-prefix grants to
accounts, a public read prefix, conditions on source IP, TLS and prefixes,
one variable, a deny at the end) is compiled once, then evaluated for a
mix of requests: a match early, a match late, a deny, and no match.
Prints microseconds per evaluate.  Run: ``python -m bench.policy_eval``.
"""
from __future__ import annotations

import json
import time

from cloudserver.s3.access.policy import PolicyRequest, compile_policy

BUCKET = "bench"
ACCOUNT = "123456789012"
B = f"arn:aws:s3:::{BUCKET}"


def document() -> str:
    statements = []
    for i in range(16):
        statements.append({
            "Sid": f"team{i}", "Effect": "Allow", "Principal": {"AWS": ACCOUNT},
            "Action": ["s3:GetObject", "s3:PutObject"], "Resource": f"{B}/team{i}/*",
            "Condition": {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}}})
    statements.append({"Sid": "public", "Effect": "Allow", "Principal": "*",
                       "Action": "s3:GetObject", "Resource": f"{B}/public/*"})
    statements.append({"Sid": "home", "Effect": "Allow", "Principal": {"AWS": ACCOUNT},
                       "Action": "s3:*", "Resource": B + "/home/${aws:username}/*"})
    statements.append({"Sid": "list", "Effect": "Allow", "Principal": {"AWS": ACCOUNT},
                       "Action": "s3:ListBucket", "Resource": B,
                       "Condition": {"StringLike": {"s3:prefix": ["team*", "public/*"]}}})
    statements.append({"Sid": "tls", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                       "Resource": [B, B + "/*"],
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def requests() -> list[PolicyRequest]:
    who = frozenset({ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root"})
    ctx = {"aws:sourceip": ("10.1.2.3",), "aws:securetransport": ("true",),
           "aws:username": ("bart",)}
    return [
        PolicyRequest(who, False, "s3:GetObject", f"{B}/team0/a", ctx),
        PolicyRequest(who, False, "s3:PutObject", f"{B}/team15/a", ctx),
        PolicyRequest(who, False, "s3:GetObject", f"{B}/home/bart/x", ctx),
        PolicyRequest(frozenset(), True, "s3:GetObject", f"{B}/public/p",
                      {"aws:securetransport": ("false",)}),
        PolicyRequest(who, False, "s3:DeleteObject", f"{B}/other", ctx),
    ]


def main(rounds: int = 20000) -> float:
    policy = compile_policy(document(), BUCKET)
    reqs = requests()
    start = time.process_time()
    for _ in range(rounds):
        for req in reqs:
            policy.evaluate(req)
    per = (time.process_time() - start) / (rounds * len(reqs)) * 1e6
    print(f"{len(policy.statements)}-statement policy: {per:.2f} us CPU per evaluate "
          f"({rounds * len(reqs)} evaluations)")
    return per


if __name__ == "__main__":
    main()
