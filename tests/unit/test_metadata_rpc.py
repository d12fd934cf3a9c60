"""The :9990 metadata protocol, both ends, without sockets: StringTransport for
what exactly goes over the wire, iosim for client <-> server round trips, a
Clock for every timeout."""
from __future__ import annotations

import json

from twisted.internet import defer
from twisted.internet.error import ConnectionLost, ConnectionRefusedError
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.test import iosim
from twisted.trial.unittest import SynchronousTestCase

from cloudserver.metadata import errors, rpc
from cloudserver.metadata.kv import MemoryKV
from cloudserver.metadata.rpc_client import MetadataRPCClient, MetadataRPCClientProtocol
from cloudserver.metadata.rpc_server import MetadataRPCServer
from cloudserver.metadata.service import MetadataService
from cloudserver.metadata.uploads import InvalidPart, NoSuchUpload, part_identity


class HeldService:
    """A service whose calls wait until the test fires them."""

    def __init__(self):
        self.calls: list[tuple[str, dict, defer.Deferred]] = []

    def __getattr__(self, name):
        if name not in rpc.METHODS:
            raise AttributeError(name)

        def call(**params):
            d = defer.Deferred()
            self.calls.append((name, params, d))
            return d
        return call


def lines(transport: StringTransport) -> list[dict]:
    out = [json.loads(x) for x in transport.value().splitlines() if x]
    transport.clear()
    return out


def request(call_id, method, **params) -> bytes:
    return rpc.encode({"id": call_id, "method": method, "params": params})


class ServerTestsMixin:
    def make_server(self, service=None, **options):
        self.clock = Clock()
        self.service = service if service is not None else HeldService()
        server = MetadataRPCServer(self.service, self.clock, **options)
        self.transport = StringTransport()
        server.makeConnection(self.transport)
        return server


class PipeliningTests(ServerTestsMixin, SynchronousTestCase):
    def test_out_of_order_replies(self):
        """Two pipelined requests in one segment; the second finishes first
        and is answered first."""
        server = self.make_server()
        server.dataReceived(request(1, "get_bucket", name="a") + request(2, "get_bucket", name="b"))
        self.assertEqual([c[:2] for c in self.service.calls],
                         [("get_bucket", {"name": "a"}), ("get_bucket", {"name": "b"})])
        self.service.calls[1][2].callback({"b": 1})
        self.assertEqual(lines(self.transport), [{"id": 2, "result": {"b": 1}}])
        self.service.calls[0][2].errback(errors.NoSuchBucket("a"))
        self.assertEqual(lines(self.transport), [
            {"id": 1, "error": {"code": "NoSuchBucket", "message": None}}])

    def test_split_lines(self):
        """A request split over several segments is read once complete."""
        server = self.make_server()
        data = request("x", "get_bucket", name="a")
        for i in range(len(data)):
            server.dataReceived(data[i:i + 1])
        self.assertEqual(len(self.service.calls), 1)

    def test_reply_after_disconnect_dropped(self):
        server = self.make_server()
        server.dataReceived(request(1, "get_bucket", name="a"))
        server.connectionLost(Failure(ConnectionLost()))
        self.service.calls[0][2].callback({})
        self.assertEqual(self.transport.value(), b"")


class BadInputTests(ServerTestsMixin, SynchronousTestCase):
    def assertErrors(self, data: bytes, call_id, code: str):
        server = self.make_server()
        server.dataReceived(data)
        out = lines(self.transport)
        self.assertEqual(len(out), 1, out)
        self.assertEqual(out[0]["id"], call_id)
        self.assertEqual(out[0]["error"]["code"], code)
        # and the connection still serves
        server.dataReceived(request(9, "get_bucket", name="ok"))
        self.assertEqual(self.service.calls[-1][:2], ("get_bucket", {"name": "ok"}))
        self.assertFalse(self.transport.disconnecting)

    def test_malformed_json(self):
        self.assertErrors(b"{not json\n", None, rpc.BAD_REQUEST)

    def test_not_an_object(self):
        self.assertErrors(b"[1,2]\n", None, rpc.BAD_REQUEST)

    def test_no_id(self):
        self.assertErrors(b'{"method": "get_bucket"}\n', None, rpc.BAD_REQUEST)

    def test_unknown_method(self):
        self.assertErrors(request(3, "drop_everything"), 3, rpc.UNKNOWN_METHOD)

    def test_private_method_is_unknown(self):
        self.assertErrors(request(3, "_commit"), 3, rpc.UNKNOWN_METHOD)

    def test_missing_param(self):
        self.assertErrors(request(4, "put_object", bucket="b"), 4, rpc.BAD_PARAMS)

    def test_unknown_param(self):
        self.assertErrors(request(4, "get_bucket", name="b", evil=1), 4, rpc.BAD_PARAMS)

    def test_wrong_type(self):
        self.assertErrors(request(5, "get_bucket", name=["b"]), 5, rpc.BAD_PARAMS)

    def test_params_not_object(self):
        self.assertErrors(rpc.encode({"id": 6, "method": "get_bucket", "params": [1]}), 6,
                          rpc.BAD_PARAMS)

    def test_tool_params_checked(self):
        server = self.make_server()
        for params in ({"bucket": 3}, {"bucket": ["b"]}):
            server.dataReceived(request(1, "get_usage", **params))
            self.assertEqual(lines(self.transport)[0]["error"]["code"], rpc.BAD_PARAMS)
        server.dataReceived(request(2, "import_records", bucket="b", items={}))
        server.dataReceived(request(3, "import_bucket", name="b", record={}, replace="yes"))
        server.dataReceived(request(4, "export_bucket", bucket="b", cursor=5))
        self.assertEqual([m["error"]["code"] for m in lines(self.transport)],
                         [rpc.BAD_PARAMS] * 3)
        server.dataReceived(request(5, "get_usage"))
        self.assertEqual(self.service.calls[-1][:2], ("get_usage", {}))

    def test_bad_expected(self):
        self.assertErrors(request(7, "complete_upload", bucket="b", name="k", upload_id="u",
                                  md={}, expected={"1": "e"}), 7, rpc.BAD_PARAMS)

    def test_line_too_long_then_next_line(self):
        """An over-long line costs one error; the next line is served."""
        server = self.make_server(max_line=100)
        server.dataReceived(b"x" * 300 + b"\n" + request(1, "get_bucket", name="a"))
        out = lines(self.transport)
        self.assertEqual(out[0]["error"]["code"], rpc.LINE_TOO_LONG)
        self.assertEqual(self.service.calls[0][:2], ("get_bucket", {"name": "a"}))

    def test_line_too_long_in_pieces(self):
        """No newline yet but over the limit: skipped up to its newline,
        whenever that comes; nothing of it is parsed."""
        server = self.make_server(max_line=100)
        server.dataReceived(b"y" * 150)
        self.assertEqual(lines(self.transport)[0]["error"]["code"], rpc.LINE_TOO_LONG)
        server.dataReceived(b'"z": 1}' * 50)
        server.dataReceived(b'}\n' + request(2, "get_bucket", name="b"))
        self.assertEqual(lines(self.transport), [])
        self.assertEqual([c[:2] for c in self.service.calls], [("get_bucket", {"name": "b"})])

    def test_service_type_error_is_bad_params(self):
        server = self.make_server(MetadataService(MemoryKV()))
        server.dataReceived(request(1, "create_bucket", name="b", attrs={}))
        server.dataReceived(request(2, "put_object", bucket="b", key="k", md=None))
        out = lines(self.transport)
        self.assertEqual(out[-1]["error"]["code"], rpc.BAD_PARAMS)

    def test_internal_error(self):
        server = self.make_server()
        server.dataReceived(request(1, "get_bucket", name="a"))
        self.service.calls[0][2].errback(RuntimeError("boom"))
        self.assertEqual(lines(self.transport)[0]["error"]["code"], rpc.INTERNAL)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_unserializable_result(self):
        server = self.make_server()
        server.dataReceived(request(1, "get_bucket", name="a"))
        self.service.calls[0][2].callback({"x": object()})
        self.assertEqual(lines(self.transport)[0]["error"]["code"], rpc.INTERNAL)
        self.flushLoggedErrors(TypeError)


class BackpressureTests(ServerTestsMixin, SynchronousTestCase):
    def test_pauses_when_send_buffer_full(self):
        """The transport says its buffer is full: stop reading from this
        client (requests already read still complete)."""
        server = self.make_server()
        self.assertIs(self.transport.producer, server)
        server.pauseProducing()
        self.assertEqual(self.transport.producerState, "paused")
        server.dataReceived(request(1, "get_bucket", name="a"))
        self.assertEqual(self.service.calls, [])
        server.resumeProducing()
        self.assertEqual(self.transport.producerState, "producing")
        self.assertEqual(len(self.service.calls), 1)

    def test_pauses_past_max_in_flight(self):
        server = self.make_server(max_in_flight=2)
        server.dataReceived(b"".join(request(i, "get_bucket", name="a") for i in range(4)))
        self.assertEqual(len(self.service.calls), 2)
        self.assertEqual(self.transport.producerState, "paused")
        self.service.calls[0][2].callback({})
        self.assertEqual(len(self.service.calls), 3)
        self.service.calls[1][2].callback({})
        self.service.calls[2][2].callback({})
        self.assertEqual(len(self.service.calls), 4)
        self.assertEqual(self.transport.producerState, "producing")


class StreamTests(ServerTestsMixin, SynchronousTestCase):
    RESULT = {"IsTruncated": False, "CommonPrefixes": ["p/"],
              "Contents": [{"key": f"k{i}", "value": {}} for i in range(5)]}

    def start_listing(self, **options):
        server = self.make_server(chunk_items=2, **options)
        server.dataReceived(request(1, "list_objects", bucket="b", params={}))
        self.service.calls[0][2].callback(dict(self.RESULT))
        return server

    def test_window_and_acks(self):
        """At most max_pending_ack lines unacknowledged; the final reply
        after the last ack."""
        server = self.start_listing(max_pending_ack=2)
        out = lines(self.transport)
        self.assertEqual([(m["seq"], m["field"]) for m in out],
                         [(0, "CommonPrefixes"), (1, "Contents")])
        server.dataReceived(rpc.encode({"ack": 1, "seq": 0}))
        self.assertEqual([m["seq"] for m in lines(self.transport)], [2])
        server.dataReceived(rpc.encode({"ack": 1, "seq": 1}) + rpc.encode({"ack": 1, "seq": 2}))
        self.assertEqual([m["seq"] for m in lines(self.transport)], [3])
        server.dataReceived(rpc.encode({"ack": 1, "seq": 3}))
        self.assertEqual(lines(self.transport), [
            {"id": 1, "streamed": 4, "result": {"IsTruncated": False, "CommonPrefixes": [],
                                                "Contents": []}}])

    def test_ack_timeout(self):
        server = self.start_listing(max_pending_ack=2, ack_timeout=5.0)
        lines(self.transport)
        self.clock.advance(4.9)
        server.dataReceived(rpc.encode({"ack": 1, "seq": 0}))  # resets the timer
        lines(self.transport)
        self.clock.advance(4.9)
        self.assertEqual(lines(self.transport), [])
        self.clock.advance(0.2)
        out = lines(self.transport)
        self.assertEqual(out, [{"id": 1, "error": {"code": rpc.STREAM_ACK_TIMEOUT,
                                                   "message": "no ack within 5000 ms"}}])
        # late acks are harmless
        server.dataReceived(rpc.encode({"ack": 1, "seq": 1}))
        self.assertEqual(lines(self.transport), [])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_disconnect_cancels_timer(self):
        server = self.start_listing(max_pending_ack=1)
        server.connectionLost(Failure(ConnectionLost()))
        self.assertEqual(self.clock.getDelayedCalls(), [])


class ClientProtocolTests(SynchronousTestCase):
    def setUp(self):
        self.clock = Clock()
        self.client = MetadataRPCClientProtocol(self.clock, call_timeout=30.0)
        self.transport = StringTransport()
        self.client.makeConnection(self.transport)

    def test_ids_and_out_of_order(self):
        d1 = self.client.call("get_bucket", {"name": "a"})
        d2 = self.client.call("get_bucket", {"name": "b"})
        sent = lines(self.transport)
        self.assertEqual([m["id"] for m in sent], [1, 2])
        self.client.dataReceived(rpc.encode({"id": 2, "result": "B"}))
        self.assertEqual(self.successResultOf(d2), "B")
        self.assertNoResult(d1)
        self.client.dataReceived(rpc.encode(
            {"id": 1, "error": {"code": "NoSuchUpload", "message": None}}))
        self.failureResultOf(d1, NoSuchUpload)

    def test_domain_errors_by_code(self):
        for code, cls in (("NoSuchKey", errors.NoSuchKey), ("InvalidKey", errors.InvalidKey),
                          ("InvalidPart", InvalidPart), (rpc.BAD_PARAMS, rpc.RPCError),
                          (rpc.STREAM_ACK_TIMEOUT, errors.DaemonUnavailable)):
            d = self.client.call("get_bucket", {"name": "a"})
            call_id = lines(self.transport)[0]["id"]
            self.client.dataReceived(rpc.encode(
                {"id": call_id, "error": {"code": code, "message": "m"}}))
            self.failureResultOf(d, cls)

    def test_call_timeout(self):
        d = self.client.call("get_bucket", {"name": "a"})
        self.clock.advance(29.9)
        self.assertNoResult(d)
        self.clock.advance(0.2)
        self.failureResultOf(d, errors.DaemonUnavailable)
        # a late reply is ignored
        self.client.dataReceived(rpc.encode({"id": 1, "result": {}}))
        self.assertEqual(self.client.pending, 0)

    def test_stream_acks_and_rebuild(self):
        d = self.client.call("list_buckets", {})
        lines(self.transport)
        self.clock.advance(20)
        self.client.dataReceived(rpc.encode(
            {"id": 1, "seq": 0, "field": "buckets", "items": [["a", {}]]}))
        self.assertEqual(lines(self.transport), [{"ack": 1, "seq": 0}])
        self.clock.advance(20)  # each line restarts the call timer
        self.client.dataReceived(rpc.encode(
            {"id": 1, "seq": 1, "field": "buckets", "items": [["b", {"x": 1}]]}))
        self.client.dataReceived(rpc.encode({"id": 1, "result": {"buckets": []},
                                             "streamed": 2}))
        self.assertEqual(self.successResultOf(d), [("a", {}), ("b", {"x": 1})])

    def test_connection_lost_fails_pending(self):
        d1 = self.client.call("get_bucket", {"name": "a"})
        d2 = self.client.call("list_buckets", {})
        self.client.connectionLost(Failure(ConnectionLost()))
        self.failureResultOf(d1, errors.DaemonUnavailable)
        self.failureResultOf(d2, errors.DaemonUnavailable)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.failureResultOf(self.client.call("get_bucket", {"name": "a"}),
                             errors.DaemonUnavailable)

    def test_cancel_forgets_call(self):
        d = self.client.call("get_bucket", {"name": "a"})
        d.cancel()
        self.failureResultOf(d, defer.CancelledError)
        self.assertEqual(self.client.pending, 0)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_arguments_not_json(self):
        self.failureResultOf(self.client.call("get_bucket", {"name": b"a"}), TypeError)


class FakeEndpoint:
    """Connects client protocols to fresh servers over iosim, or refuses."""

    def __init__(self, service, clock):
        self.service = service
        self.clock = clock
        self.refuse = False
        self.pumps: list[iosim.IOPump] = []
        self.servers: list[MetadataRPCServer] = []

    def connect(self, factory):
        if self.refuse:
            return defer.fail(ConnectionRefusedError())
        client = factory.buildProtocol(None)
        server = MetadataRPCServer(self.service, self.clock, chunk_items=3)
        pump = iosim.connect(server, iosim.makeFakeServer(server),
                             client, iosim.makeFakeClient(client), greet=False)
        self.pumps.append(pump)
        self.servers.append(server)
        return defer.succeed(client)

    def flush(self):
        for pump in self.pumps:
            pump.flush()


class RoundTripTests(SynchronousTestCase):
    """MetadataRPCClient <-> MetadataRPCServer <-> MetadataService(MemoryKV)."""

    def setUp(self):
        self.clock = Clock()
        self.service = MetadataService(MemoryKV())
        self.endpoint = FakeEndpoint(self.service, self.clock)
        self.client = MetadataRPCClient(self.endpoint, self.clock, connect_wait=2.0)
        self.client.start()
        self.addCleanup(self.client.close)

    def run_call(self, d):
        self.endpoint.flush()
        return d

    def ok(self, d):
        return self.successResultOf(self.run_call(d))

    def test_buckets_objects_listing(self):
        self.ok(self.client.create_bucket("b", {"owner": "me"}))
        self.failureResultOf(self.run_call(self.client.create_bucket("b", {})),
                             errors.BucketAlreadyExists)
        self.assertEqual(self.ok(self.client.get_bucket("b"))["owner"], "me")
        for i in range(10):
            self.ok(self.client.put_object("b", f"d/k{i}", {"size": i}))
        self.ok(self.client.put_object("b", "top", {"size": 1}))
        listing = self.ok(self.client.list_objects(
            "b", {"listingType": "DelimiterMaster", "maxKeys": 1000}))
        self.assertEqual([c["key"] for c in listing["Contents"]][:3], ["d/k0", "d/k1", "d/k2"])
        self.assertEqual(len(listing["Contents"]), 11)
        listing = self.ok(self.client.list_objects(
            "b", {"listingType": "DelimiterMaster", "delimiter": "/"}))
        self.assertEqual(listing["CommonPrefixes"], ["d/"])
        self.assertEqual([c["key"] for c in listing["Contents"]], ["top"])
        self.assertEqual(self.ok(self.client.list_buckets())[0][0], "b")
        self.assertEqual(self.ok(self.client.get_object("b", "d/k3"))["size"], 3)
        self.failureResultOf(self.run_call(self.client.get_object("b", "nope")),
                             errors.NoSuchKey)
        self.ok(self.client.delete_object("b", "top"))
        both = self.ok(self.client.get_bucket_and_object("b", "top"))
        self.assertIsNone(both["obj"])

    def test_versioning_options(self):
        self.ok(self.client.create_bucket("v", {}))
        r1 = self.ok(self.client.put_object("v", "k", {"n": 1}, {"versioning": True}))
        r2 = self.ok(self.client.put_object("v", "k", {"n": 2}, {"versioning": True}))
        old = self.ok(self.client.get_object("v", "k", {"versionId": r1["versionId"]}))
        self.assertEqual(old["n"], 1)
        versions = self.ok(self.client.list_objects("v", {"listingType": "DelimiterVersions"}))
        self.assertEqual([v["versionId"] for v in versions["Versions"]],
                         [r2["versionId"], r1["versionId"]])

    def test_multipart(self):
        self.ok(self.client.create_bucket("m", {}))
        self.ok(self.client.create_upload("m", "obj", "u1", {"uploadId": "u1"}))
        for n in (1, 2):
            self.ok(self.client.put_part("m", "obj", "u1", n, {"partNumber": n,
                                                               "etag": f"e{n}"}))
        parts, truncated = self.ok(self.client.list_parts("u1", 0, 1))
        self.assertEqual(([p["partNumber"] for p in parts], truncated), ([1], True))
        uploads = self.ok(self.client.list_uploads("m", {}))
        self.assertEqual(len(uploads["Uploads"]), 1)
        self.failureResultOf(self.run_call(self.client.complete_upload(
            "m", "obj", "u1", {"size": 1}, {1: "wrong"})), InvalidPart)
        done = self.ok(self.client.complete_upload("m", "obj", "u1", {"size": 1},
                                                  {1: part_identity({"etag": "e1"})}))
        self.assertEqual([p["partNumber"] for p in done["unused"]], [2])
        self.failureResultOf(self.run_call(self.client.get_upload("m", "obj", "u1")),
                             NoSuchUpload)
        self.assertEqual(self.ok(self.client.delete_bucket_uploads("m")), ([], False))

    def test_usage_export_import(self):
        """The operator tools' calls: get_usage (all buckets or one, streamed),
        export_bucket pages and import_bucket / import_records."""
        self.ok(self.client.create_bucket("u", {"name": "u", "owner": "o",
                                                "creation-date": 1.0}))
        for i in range(5):
            self.ok(self.client.put_object("u", f"k{i}", {
                "key": f"k{i}", "size": 10, "etag": "e", "last-modified": 1.0,
                "location": []}))
        everything = self.ok(self.client.get_usage())
        self.assertEqual([b["name"] for b in everything["buckets"]], ["u"])
        self.assertEqual((everything["total"]["objects"], everything["total"]["bytes"]),
                         (5, 50))
        self.assertEqual(self.ok(self.client.get_usage("u"))["buckets"][0]["versions"], 5)
        self.failureResultOf(self.run_call(self.client.get_usage("nope")), errors.NoSuchBucket)
        page = self.ok(self.client.export_bucket("u", None, 2))
        items = page["items"]
        while page["cursor"] is not None:
            page = self.ok(self.client.export_bucket("u", page["cursor"], 2))
            items += page["items"]
        self.assertEqual([i["type"] for i in items], ["bucket"] + ["object"] * 5)
        self.ok(self.client.import_bucket("v", items[0]["record"]))
        self.failureResultOf(self.run_call(self.client.import_bucket("v", items[0]["record"])),
                             errors.BucketAlreadyExists)
        self.assertEqual(self.ok(self.client.import_records("v", items[1:])), {"imported": 5})
        self.assertEqual(self.ok(self.client.get_usage("v"))["total"]["bytes"], 50)
        self.failureResultOf(self.run_call(self.client.import_records("v", [{"type": "x"}])),
                             errors.InvalidArgument)
    def test_connected_calls_go_straight_to_the_connection(self):
        """Once connected, a call does not go through ClientService's
        whenConnected (a state machine per call: the hop's cost); the
        in-flight count still goes up and down."""
        self.ok(self.client.create_bucket("f", {}))

        def refuse(**_kw):
            raise AssertionError("whenConnected called on a live connection")

        self.patch(self.client.service, "whenConnected", refuse)
        d = self.client.get_bucket("f")
        self.assertEqual(self.client.stats.in_flight, 1)
        self.assertEqual(self.ok(d), {"mdVersion": 1})
        self.assertEqual(self.client.stats.in_flight, 0)
        self.failureResultOf(self.run_call(self.client.get_object("f", "nope")),
                             errors.NoSuchKey)
        self.assertEqual(self.client.stats.in_flight, 0)

    def test_reconnect(self):
        """The daemon goes away: calls fail with DaemonUnavailable (never
        hang); when it is back, the client reconnects by itself."""
        self.ok(self.client.create_bucket("r", {}))
        pending = self.client.get_bucket("r")
        self.endpoint.refuse = True
        self.endpoint.servers[0].transport.loseConnection()
        self.endpoint.flush()
        self.failureResultOf(pending, errors.DaemonUnavailable)
        d = self.client.get_bucket("r")
        self.clock.advance(0.5)  # the first retry (backoff), refused
        self.failureResultOf(d, errors.DaemonUnavailable)
        d = self.client.get_bucket("r")
        self.clock.advance(2.0)   # no connection within connect_wait
        self.failureResultOf(d, errors.DaemonUnavailable)
        self.endpoint.refuse = False
        self.clock.advance(1.0)   # next retry connects
        self.assertEqual(self.ok(self.client.get_bucket("r")), {"mdVersion": 1})
        self.assertEqual(len(self.endpoint.servers), 2)
