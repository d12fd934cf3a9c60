"""The remote stores' streaming and failure rules, over a fake IAgent and a
Clock: no sockets, no emulator (the functional tests use real ones)."""

from __future__ import annotations

from twisted.internet import defer
from twisted.internet.task import Clock
from twisted.test.proto_helpers import StringTransport
from twisted.trial.unittest import SynchronousTestCase
from twisted.web.client import ResponseDone
from twisted.python.failure import Failure

from cloudserver.data import remote
from cloudserver.data.aws import AwsS3DataStore
from cloudserver.data.azure import AzureDataStore, block_id, meta_name, shared_key
from cloudserver.data.write_context import PartTarget, WriteContext
from cloudserver.data.errors import DataError


class FakeConsumer:
    def __init__(self):
        self.data = b""

    def write(self, data):
        self.data += data


class FakeResponse:
    def __init__(self, code: int, headers: dict | None = None, body: bytes = b"",
                 end: bool = True):
        from twisted.web.http_headers import Headers

        self.code = code
        self.headers = Headers({k: [v] for k, v in (headers or {}).items()})
        self.body = body
        self.end = end
        self.protocol = None
        self.transport = StringTransport()

    def deliverBody(self, protocol):
        self.protocol = protocol
        protocol.makeConnection(self.transport)
        if self.body:
            protocol.dataReceived(self.body)
        if self.end:
            protocol.connectionLost(Failure(ResponseDone()))


class FakeAgent:
    """Records requests; the test answers them through ``answer``."""

    def __init__(self):
        self.requests = []

    def request(self, method, uri, headers=None, bodyProducer=None):
        d = defer.Deferred()
        consumer = FakeConsumer()
        entry = {"method": method, "uri": uri, "headers": headers, "body": bodyProducer,
                 "d": d, "consumer": consumer, "done": None}
        if bodyProducer is not None:
            entry["done"] = bodyProducer.startProducing(consumer)
        self.requests.append(entry)
        return d

    def header(self, i: int, name: str) -> str | None:
        for raw_name, values in self.requests[i]["headers"].getAllRawHeaders():
            if raw_name.lower() == name.lower().encode():
                return values[0].decode()
        return None


def aws(agent, clock, **kw):
    return AwsS3DataStore("awsloc", endpoint="127.0.0.1:9000", bucket="remote",
                          bucket_match=kw.pop("bucket_match", False), access_key="AK",
                          secret_key="SK", http=agent, clock=clock, https=False,
                          path_style=True, **kw)


CTX = WriteContext(bucket="local", key="dir/a b", size=5, content_type="text/plain",
                   metadata={"x-amz-meta-colour": "blue"}, tagging="t=1")


class StreamingWriterTests(SynchronousTestCase):
    def setUp(self):
        self.clock, self.agent = Clock(), FakeAgent()
        self.store = aws(self.agent, self.clock, server_side_encryption=True)

    def test_put_names_object_and_holds_back_last_byte(self):
        writer = self.store.create_writer(CTX)
        req = self.agent.requests[0]
        self.assertEqual(req["method"], b"PUT")
        self.assertEqual(req["uri"], b"http://127.0.0.1:9000/remote/local/dir/a%20b")
        self.assertEqual(self.agent.header(0, "x-amz-server-side-encryption"), "AES256")
        self.assertEqual(self.agent.header(0, "x-amz-meta-colour"), "blue")
        self.assertEqual(self.agent.header(0, "x-amz-tagging"), "t=1")
        self.assertEqual(self.agent.header(0, "x-amz-content-sha256"), "UNSIGNED-PAYLOAD")
        self.assertTrue(self.agent.header(0, "authorization").startswith("AWS4-HMAC-SHA256"))
        self.assertIsNone(writer.write(b"he"))
        self.assertEqual(req["consumer"].data, b"")  # the newest chunk waits
        self.assertIsNone(writer.write(b"llo"))
        self.assertEqual(req["consumer"].data, b"he")  # the last one waits for finish
        d = writer.finish()
        self.assertEqual(req["consumer"].data, b"hello")
        self.successResultOf(req["done"])
        req["d"].callback(FakeResponse(200, {"x-amz-version-id": "v1"}))
        self.assertEqual(self.successResultOf(d), "v1/local/dir/a b")

    def test_backpressure(self):
        writer = self.store.create_writer(CTX)
        body = self.agent.requests[0]["body"]
        body.pauseProducing()
        waiting = writer.write(b"he")
        self.assertIsInstance(waiting, defer.Deferred)
        self.assertNoResult(waiting)
        body.resumeProducing()
        self.successResultOf(waiting)
        self.assertEqual(self.agent.requests[0]["consumer"].data, b"")

    def test_stall_becomes_503(self):
        writer = self.store.create_writer(CTX)
        self.agent.requests[0]["body"].pauseProducing()
        waiting = writer.write(b"he")
        self.clock.advance(remote.DEFAULT_TIMEOUT + 1)
        failure = self.failureResultOf(waiting, DataError)
        self.assertEqual(failure.value.code, "ServiceUnavailable")
        self.assertTrue(self.agent.requests[0]["d"].called)  # cancelled

    def test_no_answer_becomes_503(self):
        writer = self.store.create_writer(CTX)
        writer.write(b"hello")
        d = writer.finish()
        self.clock.advance(remote.DEFAULT_TIMEOUT + 1)
        self.assertEqual(self.failureResultOf(d, DataError).value.code, "ServiceUnavailable")

    def test_remote_5xx_is_503(self):
        writer = self.store.create_writer(CTX)
        writer.write(b"hello")
        d = writer.finish()
        self.agent.requests[0]["d"].callback(FakeResponse(500, body=b"<Error/>"))
        self.assertEqual(self.failureResultOf(d, DataError).value.code, "ServiceUnavailable")

    def test_remote_4xx_is_internal_error(self):
        writer = self.store.create_writer(CTX)
        writer.write(b"hello")
        d = writer.finish()
        self.agent.requests[0]["d"].callback(FakeResponse(403, body=b"denied"))
        self.assertEqual(self.failureResultOf(d, DataError).value.code, "InternalError")

    def test_connection_failure_fails_next_write(self):
        writer = self.store.create_writer(CTX)
        self.agent.requests[0]["d"].errback(Failure(defer.CancelledError()))
        self.failureResultOf(writer.write(b"x"), DataError)

    def test_abort_cancels_request_and_never_completes_body(self):
        writer = self.store.create_writer(CTX)
        writer.write(b"hel")
        writer.write(b"lo")
        self.successResultOf(writer.abort())
        self.assertEqual(self.agent.requests[0]["consumer"].data, b"hel")
        self.assertTrue(self.agent.requests[0]["d"].called)

    def test_before_commit_runs_before_the_last_chunk_leaves(self):
        writer = self.store.create_writer(CTX)
        req = self.agent.requests[0]
        writer.write(b"hel")
        writer.write(b"lo")
        sent = []
        d = writer.finish(before_commit=lambda: sent.append(req["consumer"].data))
        self.assertEqual(sent, [b"hel"])
        self.assertEqual(req["consumer"].data, b"hello")
        req["d"].callback(FakeResponse(200, {"x-amz-version-id": "v1"}))
        self.assertEqual(self.successResultOf(d), "v1/local/dir/a b")

    def test_before_commit_that_raises_cuts_the_put(self):
        """A digest mismatch: the remote never gets the whole body."""
        writer = self.store.create_writer(CTX)
        req = self.agent.requests[0]
        writer.write(b"hel")
        writer.write(b"lo")

        def mismatch():
            raise ValueError("BadDigest")

        self.failureResultOf(writer.finish(before_commit=mismatch), ValueError)
        self.assertEqual(req["consumer"].data, b"hel")
        self.assertTrue(req["d"].called)  # cancelled
        self.successResultOf(writer.abort())
        self.assertEqual(len(self.agent.requests), 1)  # nothing to delete

    def test_abort_after_finish_deletes_that_version(self):
        writer = self.store.create_writer(CTX)
        writer.write(b"hello")
        d = writer.finish()
        self.agent.requests[0]["d"].callback(FakeResponse(200, {"x-amz-version-id": "v9"}))
        self.successResultOf(d)
        writer.abort()
        delete = self.agent.requests[1]
        self.assertEqual(delete["method"], b"DELETE")
        self.assertEqual(delete["uri"],
                         b"http://127.0.0.1:9000/remote/local/dir/a%20b?versionId=v9")

    def test_failed_delete_after_abort_is_logged(self):
        """Best effort: a remote object a failed write leaves behind is said
        in the log (it was dropped silently)."""
        from twisted.logger import globalLogPublisher

        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        writer = self.store.create_writer(CTX)
        writer.write(b"hello")
        d = writer.finish()
        self.agent.requests[0]["d"].callback(FakeResponse(200, {"x-amz-version-id": "v9"}))
        self.successResultOf(d)
        aborted = writer.abort()
        self.agent.requests[1]["d"].errback(Failure(ConnectionError("remote gone")))
        self.successResultOf(aborted)
        self.assertTrue(any("left on the remote" in e.get("log_format", "")
                            for e in events), events)

    def test_bucket_match_uses_the_key(self):
        store = aws(self.agent, self.clock, bucket_match=True)
        store.create_writer(CTX)
        self.assertEqual(self.agent.requests[0]["uri"],
                         b"http://127.0.0.1:9000/remote/dir/a%20b")

    def test_part_upload_returns_etag(self):
        ctx = WriteContext(bucket="local", key="k", size=1,
                           part=PartTarget("ours", "theirs", 3))
        writer = self.store.create_writer(ctx)
        self.assertEqual(self.agent.requests[0]["uri"],
                         b"http://127.0.0.1:9000/remote/local/k?partNumber=3&uploadId=theirs")
        writer.write(b"x")
        d = writer.finish()
        self.agent.requests[0]["d"].callback(FakeResponse(200, {"etag": '"abc"'}))
        self.assertEqual(self.successResultOf(d), "abc")


class RemoteProducerTests(SynchronousTestCase):
    def setUp(self):
        self.clock, self.agent = Clock(), FakeAgent()
        self.store = aws(self.agent, self.clock)

    def test_ranged_get_streams(self):
        producer = self.store.producer("v1/local/k", 10, 5)
        consumer = FakeConsumer()
        d = producer.startProducing(consumer)
        req = self.agent.requests[0]
        self.assertEqual(req["uri"], b"http://127.0.0.1:9000/remote/local/k?versionId=v1")
        self.assertEqual(self.agent.header(0, "range"), "bytes=10-14")
        req["d"].callback(FakeResponse(206, body=b"01234"))
        self.successResultOf(d)
        self.assertEqual(consumer.data, b"01234")

    def test_prepare_surfaces_errors_before_headers(self):
        producer = self.store.producer("/k", 0, 5)
        d = producer.prepare()
        self.agent.requests[0]["d"].callback(FakeResponse(503, body=b"busy"))
        self.assertEqual(self.failureResultOf(d, DataError).value.code, "ServiceUnavailable")

    def test_no_answer_times_out(self):
        producer = self.store.producer("/k", 0, 5)
        d = producer.prepare()
        self.clock.advance(remote.DEFAULT_TIMEOUT + 1)
        self.assertEqual(self.failureResultOf(d, DataError).value.code, "ServiceUnavailable")

    def test_pause_is_passed_to_the_connection(self):
        producer = self.store.producer("/k", 0, 5)
        d = producer.startProducing(FakeConsumer())
        response = FakeResponse(206, end=False)
        self.agent.requests[0]["d"].callback(response)
        producer.pauseProducing()
        self.assertEqual(response.transport.producerState, "paused")
        producer.resumeProducing()
        self.assertEqual(response.transport.producerState, "producing")
        response.protocol.dataReceived(b"abc")
        self.clock.advance(remote.DEFAULT_TIMEOUT + 1)  # stalled mid-body
        self.assertEqual(self.failureResultOf(d, DataError).value.code, "ServiceUnavailable")

    def test_short_body_fails(self):
        producer = self.store.producer("/k", 0, 5)
        d = producer.startProducing(FakeConsumer())
        self.agent.requests[0]["d"].callback(FakeResponse(206, body=b"abc"))
        self.failureResultOf(d)


class AzureTests(SynchronousTestCase):
    def test_shared_key_is_deterministic_and_covers_query(self):
        key = "a2V5"  # base64 of "key"
        url = "http://h/acct/c/b?comp=block&blockid=QQ%3D%3D"
        one = shared_key("acct", key, "PUT", url, {"x-ms-date": "d", "Content-Length": "3"})
        self.assertTrue(one.startswith("SharedKey acct:"))
        self.assertEqual(one, shared_key("acct", key, "PUT", url,
                                         {"X-MS-DATE": "d", "content-length": "3"}))
        self.assertNotEqual(one, shared_key("acct", key, "PUT", url.replace("QQ", "QR"),
                                            {"x-ms-date": "d", "Content-Length": "3"}))

    def test_block_ids_have_one_length(self):
        self.assertEqual(len(block_id("u", 1)), len(block_id("u", 10000)))
        self.assertNotEqual(block_id("u", 1), block_id("v", 1))

    def test_meta_names(self):
        self.assertEqual(meta_name("x-amz-meta-foo-bar"), "foo_bar")
        self.assertEqual(meta_name("x-amz-meta-1a"), "_1a")

    def test_put_blob_request(self):
        agent, clock = FakeAgent(), Clock()
        store = AzureDataStore("az", endpoint="http://127.0.0.1:10000/acct", container="box",
                               account="acct", access_key="a2V5", bucket_match=True,
                               http=agent, clock=clock)
        writer = store.create_writer(CTX)
        self.assertEqual(agent.requests[0]["uri"], b"http://127.0.0.1:10000/acct/box/dir/a%20b")
        self.assertEqual(agent.header(0, "x-ms-blob-type"), "BlockBlob")
        self.assertEqual(agent.header(0, "x-ms-meta-colour"), "blue")
        writer.write(b"hello")
        d = writer.finish()
        agent.requests[0]["d"].callback(FakeResponse(201))
        self.assertEqual(self.successResultOf(d), "/dir/a b")
