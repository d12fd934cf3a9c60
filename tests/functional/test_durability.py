# -*- test-case-name: tests.functional.test_durability -*-
"""
Acknowledged writes survive ``kill -9``: the file backend syncs data and
metadata before answering.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.functional.s3case import S3TestCase


class DurabilityTests(S3TestCase):
    sharedServer = False  # every test crashes its own server

    def test_objects_survive_kill9(self) -> None:
        bucket = self.make_bucket()
        bodies = {f"obj/{i:02d}": f"durable object {i} ".encode() * (i + 1) for i in range(50)}
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda item: self.s3.put_object(Bucket=bucket, Key=item[0],
                                                          Body=item[1]), bodies.items()))
        self.server.kill9()
        self.server.start()
        self.s3 = self.client()  # no kept-alive connection to the dead server

        self.assertIn(bucket, [b["Name"] for b in self.s3.list_buckets()["Buckets"]])
        listed = [o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket)["Contents"]]
        self.assertEqual(listed, sorted(bodies))
        for key, body in bodies.items():
            self.assertEqual(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read(), body, key)

    def test_deletes_and_overwrites_survive_kill9(self) -> None:
        bucket = self.make_bucket()
        for i in range(10):
            self.s3.put_object(Bucket=bucket, Key=f"k{i}", Body=b"old")
        for i in range(5):
            self.s3.delete_object(Bucket=bucket, Key=f"k{i}")
        for i in range(5, 10):
            self.s3.put_object(Bucket=bucket, Key=f"k{i}", Body=b"new")
        doomed = self.make_bucket("doomed")
        self.s3.delete_bucket(Bucket=doomed)
        self.server.kill9()
        self.server.start()
        self.s3 = self.client()  # no kept-alive connection to the dead server

        listed = [o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket)["Contents"]]
        self.assertEqual(listed, [f"k{i}" for i in range(5, 10)])
        for i in range(5, 10):
            self.assertEqual(self.s3.get_object(Bucket=bucket, Key=f"k{i}")["Body"].read(),
                             b"new")
        self.assertNotIn(doomed, [b["Name"] for b in self.s3.list_buckets()["Buckets"]])

    def test_graceful_restart(self) -> None:
        """SIGTERM then start: the same data, nothing lost on a clean stop either."""
        bucket = self.make_bucket()
        self.s3.put_object(Bucket=bucket, Key="k", Body=b"kept")
        self.server.restart()
        self.s3 = self.client()
        self.assertEqual(self.s3.get_object(Bucket=bucket, Key="k")["Body"].read(), b"kept")
