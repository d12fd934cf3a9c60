"""The postgres metadata backend end to end: ``twistd cloudserver`` with
S3METADATA=postgres against a PostgreSQL started by the test
(tests/postgres_server.py), driven with boto3; two processes on one
database (one holds the lease, the other waits, takes over after a kill -9
and sees every acknowledged write; a holder whose lease is taken stops)."""
from __future__ import annotations

import hashlib
import time

from botocore.exceptions import ClientError
from twisted.trial import unittest

from tests import postgres_server
from tests.functional.clients import boto3_client, unique_bucket
from tests.functional.test_conditional_writes import WRITERS, RaceMixin
from tests.functional.server import ServerProcess, ServerStartError

if not postgres_server.available():
    raise unittest.SkipTest("PostgreSQL (/usr/lib/postgresql/*/bin) or psycopg not installed")

MIB = 1024 * 1024


class PostgresBackendCase(unittest.SynchronousTestCase):
    lease = 2

    def setUp(self) -> None:
        self.pg = postgres_server.shared_server()
        self.table = postgres_server.fresh_table()

    def server(self, wait: float = 10.0, **kwargs) -> ServerProcess:
        metadata = {"table": self.table, "leaseSeconds": self.lease, "leaseWait": wait}
        server = ServerProcess(extra_env={"S3METADATA": "postgres",
                                          "S3METADATA_DSN": self.pg.dsn,
                                          **kwargs.pop("extra_env", {})},
                               extra_config={"metadata": metadata}, **kwargs)
        self.addCleanup(server.destroy)
        return server

    def rows(self) -> int:
        import psycopg

        with psycopg.connect(self.pg.dsn) as conn:
            return conn.execute(f"SELECT count(*) FROM {self.table}").fetchone()[0]


class WorkloadTests(PostgresBackendCase):
    def test_boto3_workload(self):
        """Buckets, objects, listings, versioning and multipart on postgres;
        nothing in LevelDB; all of it still there after a restart."""
        server = self.server()
        server.start()
        s3 = boto3_client(server, server.workdir)
        bucket = unique_bucket("pg")
        s3.create_bucket(Bucket=bucket)
        big = b"x" * (200 * 1024)  # a data file, not inline
        for key in ("a/1", "a/2", "b", "c/d/e"):
            s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
        s3.put_object(Bucket=bucket, Key="big", Body=big)
        self.assertEqual(s3.get_object(Bucket=bucket, Key="big")["Body"].read(), big)
        self.assertEqual(s3.head_object(Bucket=bucket, Key="a/1")["ContentLength"], 3)
        listing = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
        self.assertEqual([c["Key"] for c in listing["Contents"]], ["b", "big"])
        self.assertEqual([p["Prefix"] for p in listing["CommonPrefixes"]], ["a/", "c/"])
        page = s3.list_objects_v2(Bucket=bucket, MaxKeys=2)
        self.assertTrue(page["IsTruncated"])
        rest = s3.list_objects_v2(Bucket=bucket, ContinuationToken=page["NextContinuationToken"])
        self.assertEqual([c["Key"] for c in page["Contents"] + rest["Contents"]],
                         ["a/1", "a/2", "b", "big", "c/d/e"])
        s3.delete_object(Bucket=bucket, Key="b")
        self.assertRaises(ClientError, s3.head_object, Bucket=bucket, Key="b")

        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        v1 = s3.put_object(Bucket=bucket, Key="v", Body=b"one")["VersionId"]
        v2 = s3.put_object(Bucket=bucket, Key="v", Body=b"two")["VersionId"]
        s3.delete_object(Bucket=bucket, Key="v")
        versions = s3.list_object_versions(Bucket=bucket, Prefix="v")
        self.assertEqual([v["VersionId"] for v in versions["Versions"]], [v2, v1])
        self.assertEqual(len(versions["DeleteMarkers"]), 1)
        self.assertEqual(s3.get_object(Bucket=bucket, Key="v", VersionId=v1)["Body"].read(),
                         b"one")

        up = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
        parts = []
        for n, chunk in enumerate((b"p" * (5 * MIB), b"q" * 1000), 1):
            etag = s3.upload_part(Bucket=bucket, Key="mp", UploadId=up, PartNumber=n,
                                  Body=chunk)["ETag"]
            parts.append({"PartNumber": n, "ETag": etag})
        aborted = s3.create_multipart_upload(Bucket=bucket, Key="gone")["UploadId"]
        self.assertEqual(len(s3.list_multipart_uploads(Bucket=bucket)["Uploads"]), 2)
        s3.abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=aborted)
        s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=up,
                                     MultipartUpload={"Parts": parts})
        body = s3.get_object(Bucket=bucket, Key="mp")["Body"].read()
        self.assertEqual(hashlib.md5(body).hexdigest(),
                         hashlib.md5(b"p" * (5 * MIB) + b"q" * 1000).hexdigest())
        self.assertNotIn("Uploads", s3.list_multipart_uploads(Bucket=bucket))

        self.assertGreater(self.rows(), 10)
        self.assertFalse((server.metadata_dir / "CURRENT").exists())  # no LevelDB
        server.stop()
        server.start()
        s3 = boto3_client(server, server.workdir)
        self.assertEqual(s3.get_object(Bucket=bucket, Key="big")["Body"].read(), big)
        self.assertEqual(len(s3.list_object_versions(Bucket=bucket, Prefix="v")["Versions"]), 2)
        self.assertEqual(s3.get_object(Bucket=bucket, Key="mp")["ContentLength"], len(body))


class TwoProcessTests(PostgresBackendCase):
    def test_one_writer_takeover_after_kill(self):
        """A second process on the same database does not start while the
        first holds the lease; after a kill -9 of the first it takes the
        lease over and serves every write the first acknowledged."""
        first = self.server()
        first.start()
        s3 = boto3_client(first, first.workdir)
        bucket = unique_bucket("pg2")
        s3.create_bucket(Bucket=bucket)
        acked = []
        for i in range(40):
            key = f"k{i:03d}"
            s3.put_object(Bucket=bucket, Key=key, Body=key.encode() * 100)
            acked.append(key)
        refused = self.server(wait=0.5,
                              extra_env={"S3DATAPATH": str(first.data_dir)})
        e = self.assertRaises(ServerStartError, refused.start)
        self.assertIn("lease", str(e))
        first.kill9()
        started = time.monotonic()
        second = self.server(extra_env={"S3DATAPATH": str(first.data_dir)})
        second.start()
        self.assertLess(time.monotonic() - started, self.lease + 8)
        s3 = boto3_client(second, second.workdir)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
        self.assertEqual(keys, acked)
        for key in acked[::7]:
            self.assertEqual(s3.get_object(Bucket=bucket, Key=key)["Body"].read(),
                             key.encode() * 100)
        s3.put_object(Bucket=bucket, Key="after", Body=b"1")

    def test_holder_whose_lease_is_taken_stops(self):
        """A lease taken over behind a holder's back (a partition, a paused
        VM): its next write is refused with 503 and the process exits."""
        import psycopg

        first = self.server()
        first.start()
        s3 = boto3_client(first, first.workdir)
        bucket = unique_bucket("pg3")
        s3.create_bucket(Bucket=bucket)
        with psycopg.connect(self.pg.dsn, autocommit=True) as conn:
            conn.execute(f"UPDATE {self.table}_lease SET owner = 'thief', epoch = epoch + 1")
        with self.assertRaises(ClientError) as caught:
            s3.put_object(Bucket=bucket, Key="late", Body=b"1")
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 503)
        self.assertEqual(first.wait_exit(10), 0)
        with psycopg.connect(self.pg.dsn) as conn:
            self.assertIsNone(conn.execute(f"SELECT v FROM {self.table} WHERE k LIKE %s",
                                           (b"%late%",)).fetchone())


class SplitRaceTests(PostgresBackendCase):
    """A dmd on postgres and two fronts: writers racing on both fronts
    resolve exactly as on one dmd (they all meet in the lease holder)."""

    def test_races_across_fronts(self):
        from concurrent.futures import ThreadPoolExecutor

        dmd = self.server(mode="dmd")
        dmd.start()
        fronts = []
        for _ in range(2):
            front = ServerProcess(mode="s3", dmd=dmd)
            self.addCleanup(front.destroy)
            front.start()
            fronts.append(front)
        clients = [boto3_client(f, f.workdir) for f in fronts]
        bucket = unique_bucket("pgrace")
        clients[0].create_bucket(Bucket=bucket)
        clients[0].put_bucket_versioning(Bucket=bucket,
                                         VersioningConfiguration={"Status": "Enabled"})

        def put(i):
            body = f"body {i}".encode()
            vid = clients[i % 2].put_object(Bucket=bucket, Key="hot", Body=body)["VersionId"]
            return vid, body

        with ThreadPoolExecutor(8) as ex:
            written = list(ex.map(put, range(40)))
        versions = clients[1].list_object_versions(Bucket=bucket, Prefix="hot")["Versions"]
        self.assertEqual(sorted(v["VersionId"] for v in versions),
                         sorted(vid for vid, _ in written))
        latest = [v for v in versions if v["IsLatest"]]
        self.assertEqual(len(latest), 1)
        by_vid = dict(written)
        self.assertEqual(clients[0].get_object(Bucket=bucket, Key="hot")["Body"].read(),
                         by_vid[latest[0]["VersionId"]])

        # a completion racing an abort of the same upload, on two fronts
        for round_ in range(3):
            key = f"mp{round_}"
            up = clients[0].create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
            etag = clients[0].upload_part(Bucket=bucket, Key=key, UploadId=up, PartNumber=1,
                                          Body=b"m" * 1000)["ETag"]

            parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
            with ThreadPoolExecutor(2) as ex:
                tries = (ex.submit(clients[0].complete_multipart_upload, Bucket=bucket,
                                   Key=key, UploadId=up, MultipartUpload=parts),
                         ex.submit(clients[1].abort_multipart_upload, Bucket=bucket, Key=key,
                                   UploadId=up))
                outcomes = [f.exception() for f in tries]
            exists = True
            try:
                clients[1].head_object(Bucket=bucket, Key=key)
            except ClientError:
                exists = False
            self.assertEqual(exists, outcomes[0] is None, outcomes)
            self.assertNotIn("Uploads", clients[1].list_multipart_uploads(Bucket=bucket))


class ConditionalRaceTests(RaceMixin, PostgresBackendCase):
    """8 racing If-None-Match: * PUTs on the postgres backend: one wins."""

    def test_one_of_eight_wins(self):
        server = self.server()
        server.start()
        clients = [boto3_client(server, server.workdir) for _ in range(WRITERS)]
        self.check_race(clients, server.data_dir)


class DatabaseRestartTests(PostgresBackendCase):
    def test_database_restart_gives_503_then_recovers(self):
        """While the database is down, requests get 503 (writes at once,
        reads once the lease may have run out); once it is back the same
        process serves again, with everything it acknowledged."""
        self.pg = postgres_server.PostgresServer()
        self.addCleanup(self.pg.destroy)
        server = self.server()
        server.start()
        s3 = boto3_client(server, server.workdir)
        bucket = unique_bucket("pgdown")
        s3.create_bucket(Bucket=bucket)
        s3.put_object(Bucket=bucket, Key="before", Body=b"1")
        self.pg.stop()
        with self.assertRaises(ClientError) as caught:
            s3.put_object(Bucket=bucket, Key="during", Body=b"2")
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 503)
        time.sleep(self.lease + 0.5)  # the lease runs out unrenewed: reads stop too
        with self.assertRaises(ClientError) as caught:
            s3.head_object(Bucket=bucket, Key="before")
        self.assertEqual(caught.exception.response["ResponseMetadata"]["HTTPStatusCode"], 503)
        self.pg.start()
        deadline = time.monotonic() + 15
        while True:
            try:
                s3.put_object(Bucket=bucket, Key="after", Body=b"3")
                break
            except ClientError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.assertTrue(server.alive())
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
        self.assertEqual(keys, ["after", "before"])
