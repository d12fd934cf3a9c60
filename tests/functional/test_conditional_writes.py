"""Conditional writes race: 8 concurrent ``If-None-Match: *`` PUTs of one new
key get exactly one 200 and seven 412 PreconditionFailed, all-in-one and
split (a dmd, two S3 fronts), and the losers leave no data file behind."""
from __future__ import annotations

import threading
from pathlib import Path

from botocore.exceptions import ClientError
from twisted.trial import unittest

from tests.functional.clients import boto3_client, unique_bucket
from tests.functional.server import ServerProcess, split_deployment

WRITERS = 8
#: above inlineDataMaxSize: each writer's bytes go to a data file
SIZE = 256 * 1024


def data_files(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file())


def race(clients, bucket: str, key: str) -> tuple[list, dict[int, bytes]]:
    """Run WRITERS conditional PUTs of ``key`` at once; ([(i, status, code)], bodies)."""
    bodies = {i: bytes([65 + i]) * SIZE for i in range(WRITERS)}
    barrier = threading.Barrier(WRITERS)
    results: list = []

    def writer(i: int) -> None:
        client = clients[i % len(clients)]
        barrier.wait()
        try:
            r = client.put_object(Bucket=bucket, Key=key, Body=bodies[i], IfNoneMatch="*")
            results.append((i, r["ResponseMetadata"]["HTTPStatusCode"], None))
        except ClientError as e:
            results.append((i, e.response["ResponseMetadata"]["HTTPStatusCode"],
                            e.response["Error"]["Code"]))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results, bodies


class RaceMixin:
    def check_race(self, clients, data_dir: Path) -> None:
        bucket = unique_bucket("cond")
        clients[0].create_bucket(Bucket=bucket)
        before = data_files(data_dir)
        results, bodies = race(clients, bucket, "k")
        self.assertEqual(len(results), WRITERS)
        winners = [i for i, status, _ in results if status == 200]
        self.assertEqual(len(winners), 1, results)
        self.assertEqual(sorted((s, c) for i, s, c in results if i not in winners),
                         [(412, "PreconditionFailed")] * (WRITERS - 1))
        got = clients[-1].get_object(Bucket=bucket, Key="k")["Body"].read()
        self.assertEqual(got, bodies[winners[0]])
        self.assertEqual(data_files(data_dir) - before, 1, "the losers' data is deleted")
        etag = clients[0].head_object(Bucket=bucket, Key="k")["ETag"]
        with self.assertRaises(ClientError) as caught:
            clients[0].put_object(Bucket=bucket, Key="k", Body=b"x", IfMatch='"' + "0" * 32 + '"')
        self.assertEqual(caught.exception.response["Error"]["Code"], "PreconditionFailed")
        clients[0].put_object(Bucket=bucket, Key="k", Body=b"y", IfMatch=etag)
        clients[0].delete_object(Bucket=bucket, Key="k")
        clients[0].delete_bucket(Bucket=bucket)


class AllInOneTests(RaceMixin, unittest.SynchronousTestCase):
    def setUp(self) -> None:
        self.server = ServerProcess()
        self.addCleanup(self.server.destroy)
        self.server.start()

    def test_one_of_eight_wins(self):
        clients = [boto3_client(self.server, self.server.workdir) for _ in range(WRITERS)]
        self.check_race(clients, self.server.data_dir)


class SplitTests(RaceMixin, unittest.SynchronousTestCase):
    def setUp(self) -> None:
        self.dmd, self.fronts = split_deployment(self)

    def test_one_of_eight_wins_across_fronts(self):
        clients = [boto3_client(f, f.workdir) for f in self.fronts for _ in range(WRITERS // 2)]
        self.check_race(clients, self.dmd.data_dir)
