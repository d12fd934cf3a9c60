# -*- test-case-name: tests.unit.test_multipart_race -*-
"""A part re-uploaded while CompleteMultipartUpload runs, through the whole S3
site (two connections, the memory stores), the interleaving driven by hand:
the completion's part listing is held on a Deferred, or the metadata batches
stay in flight until flushed (as LevelDB's group commit keeps them).  The
object is made of the old part or the new one, never of freed data, and the
part that lost leaves no data behind."""
from __future__ import annotations

import hashlib
import re

from twisted.internet import defer
from twisted.test.proto_helpers import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from tests.unit.test_http import Harness, signed, status
from tests.unit.test_multipart_uploads import SlowKV

OLD = b"old part bytes"
NEW = b"new part bytes"


def complete_body(etag: str) -> bytes:
    return (f"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{etag}"
            "</ETag></Part></CompleteMultipartUpload>").encode()


def quoted_md5(data: bytes) -> str:
    return f'"{hashlib.md5(data).hexdigest()}"'


class Connection:
    """A second client connection to the harness's site."""

    def __init__(self, h: Harness):
        self.proto = h.site.buildProtocol(None)
        self.transport = StringTransport()
        self.proto.makeConnection(self.transport)

    def send(self, data: bytes) -> None:
        self.proto.dataReceived(data)

    def answer(self) -> bytes:
        out = self.transport.value()
        self.transport.clear()
        return out


class RaceBase(SynchronousTestCase):
    slow = False

    def setUp(self):
        self.h = Harness()
        if self.slow:
            self.kv = self.h.metadata.kv = self.h.metadata.uploads.kv = SlowKV()
        self.request(signed("PUT", "/bucket"))
        out = self.request(signed("POST", "/bucket/k?uploads"))
        self.uid = re.search(rb"<UploadId>([^<]+)</UploadId>", out).group(1).decode()
        out = self.request(self.part(OLD))
        self.assertEqual(status(out), 200, out)
        self.other = Connection(self.h)

    def flush(self):
        if self.slow:
            self.kv.flush()

    def request(self, data: bytes) -> bytes:
        """Send on the main connection, let every batch land, return the answer."""
        self.h.proto.dataReceived(data)
        self.flush()
        out = self.h.transport.value()
        self.h.transport.clear()
        return out

    def part(self, body: bytes) -> bytes:
        return signed("PUT", f"/bucket/k?partNumber=1&uploadId={self.uid}", body) + body

    def complete(self, etag: str) -> bytes:
        body = complete_body(etag)
        return signed("POST", f"/bucket/k?uploadId={self.uid}", body) + body

    def get(self) -> bytes:
        out = self.request(signed("GET", "/bucket/k"))
        self.assertEqual(status(out), 200, out)
        return out.partition(b"\r\n\r\n")[2]

    def blobs(self) -> int:
        return len(self.h.data)


class DurableReuploadTests(RaceBase):
    """The re-upload lands (durably) after the complete read the parts and
    before it commits: the old part's data is being freed."""

    def hold_part_listing(self) -> defer.Deferred:
        """The next list_parts answers what it reads now, when the returned
        Deferred is fired."""
        metadata = self.h.metadata
        real = metadata.list_parts
        gate: defer.Deferred = defer.Deferred()

        def held(*args, **kwargs):
            del metadata.list_parts  # only the first call waits
            return real(*args, **kwargs).addCallback(lambda r: gate.addCallback(lambda _: r))

        metadata.list_parts = held
        return gate

    def test_same_bytes_reuploaded_completes_with_the_new_part(self):
        """A client retrying a part sends the same bytes: the complete is made
        of the new part (before: of the old part's freed data)."""
        gate = self.hold_part_listing()
        self.h.proto.dataReceived(self.complete(quoted_md5(OLD)))
        self.other.send(self.part(OLD))
        self.assertEqual(status(self.other.answer()), 200)
        gate.callback(None)
        out = self.h.transport.value()
        self.assertEqual(status(out), 200, out)
        self.h.transport.clear()
        self.assertEqual(self.get(), OLD)
        self.assertEqual(self.blobs(), 1)  # the replaced part's data is freed

    def test_other_bytes_reuploaded_fail_with_invalid_part(self):
        """The part the request names no longer exists: InvalidPart, the
        upload is left as it is (with the new part) and nothing leaks."""
        gate = self.hold_part_listing()
        self.h.proto.dataReceived(self.complete(quoted_md5(OLD)))
        self.other.send(self.part(NEW))
        self.assertEqual(status(self.other.answer()), 200)
        gate.callback(None)
        out = self.h.transport.value()
        self.assertEqual(status(out), 400, out)
        self.assertIn(b"<Code>InvalidPart</Code>", out)
        self.h.transport.clear()
        self.assertEqual(self.blobs(), 1)
        out = self.request(self.complete(quoted_md5(NEW)))
        self.assertEqual(status(out), 200, out)
        self.assertEqual(self.get(), NEW)
        self.assertEqual(self.blobs(), 1)


class InFlightReuploadTests(RaceBase):
    """The re-upload's metadata write is still in flight when the complete
    commits (both batches land in the same group commit)."""

    slow = True

    def test_the_complete_keeps_the_part_it_validated(self):
        self.other.send(self.part(NEW))  # data written, part record in flight
        self.h.proto.dataReceived(self.complete(quoted_md5(OLD)))
        self.assertEqual(self.blobs(), 2)
        self.kv.flush()
        self.assertEqual(status(self.other.answer()), 200)
        out = self.h.transport.value()
        self.assertEqual(status(out), 200, out)  # before: 400 InvalidPart
        self.h.transport.clear()
        self.assertEqual(self.get(), OLD)
        self.assertEqual(self.blobs(), 1)  # the re-upload's data is freed, once
        out = self.request(signed("GET", f"/bucket/k?uploadId={self.uid}"))
        self.assertIn(b"<Code>NoSuchUpload</Code>", out)
