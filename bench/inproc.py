"""CPU per small request, in process: the whole S3 site without sockets.

    PYTHONPATH=. .venv/bin/python bench/inproc.py [--ops get,head,delete,put]
        [-n 3000] [--backend file|mem] [--repeat 5] [--profile OP] [--log text|none]
        [--metrics off|on|both|shared|workers]

The same presigned requests as bench/run.py (query auth, only ``host``
signed, the 4 KiB body of the PUT) are fed to one ``StreamingSite`` connection
over a ``StringTransport``: the request line and headers are parsed by
twisted.web, routed, authenticated, handled and answered exactly as on a
socket, and the access log goes through a twistd-like text observer to
/dev/null.  What is not here: the reactor's epoll loop and the socket
syscalls, and (file backend) the thread pool (blocking calls run inline).

Figures are CPU time (``time.process_time``) per request, best of
``--repeat`` passes: the least noisy measure on a shared machine, to
compare two trees (run it with each tree on PYTHONPATH).  ``--profile OP``
runs cProfile over one pass of OP and prints the top functions.

``--metrics on`` gives the site a Prometheus registry (cloudserver.metrics,
as a server with config.json ``metrics`` has); ``--metrics both`` runs two
sites in the same process, one without and one with, their passes
interleaved, and prints the median of each and the difference (the cost
figure of bench/README "Metrics").  ``--metrics shared`` gives the site a
worker's metrics (cloudserver.metrics.shared.WorkerMetrics: the library's
mmap-backed multiprocess values in a temporary PROMETHEUS_MULTIPROC_DIR, as
a worker of ``clusters: N`` has); ``--metrics workers`` runs three sites,
off, on and shared, interleaved, and prints each median (the cost figure of
bench/README "Metrics", "Several workers").
"""
from __future__ import annotations

import sys
from pathlib import Path

# bench/ itself must not be on the path: bench/profile.py would shadow the
# standard library's profile module (which cProfile imports).
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse  # noqa: E402
import cProfile  # noqa: E402
import datetime  # noqa: E402
import os  # noqa: E402
import pstats  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402

from twisted.internet import defer  # noqa: E402
from twisted.internet.task import Clock  # noqa: E402
from twisted.internet.testing import StringTransport  # noqa: E402

from bench.sigv4 import Presigner  # noqa: E402

HOST = "127.0.0.1:8601"
BUCKET = "bench"
BODY = b"b" * 4096


def _inline(f, *args, **kwargs):
    return defer.maybeDeferred(f, *args, **kwargs)


class Site:
    """One S3 site over a StringTransport connection, on a fake clock."""

    def __init__(self, backend: str, workdir: str, metrics: bool | str = False):
        from cloudserver.config import load_config
        from cloudserver.s3.context import Backend
        from cloudserver.web.site import StreamingSite
        from cloudserver.s3.http.resource import S3Resource

        self.clock = Clock()
        self.clock.advance(time.time())
        env = {k: v for k, v in os.environ.items()
               if k not in ("S3_CONFIG_FILE", "S3AUTH_CONFIG", "S3_LOCATION_FILE",
                            "SCALITY_ACCESS_KEY_ID", "SCALITY_SECRET_ACCESS_KEY", "LOG_LEVEL")}
        env["S3BACKEND"] = backend
        env["S3DATAPATH"] = os.path.join(workdir, "data")
        env["S3METADATAPATH"] = os.path.join(workdir, "metadata")
        config = load_config(env)
        from cloudserver.tap import build_backend
        self.metrics = None
        if metrics == "shared":
            # a worker's: no backend of its own, so no KV or fsync figures
            self.metrics = shared_metrics(os.path.join(workdir, "multiproc"))
        elif metrics:
            from cloudserver.metrics.families import Metrics
            self.metrics = Metrics()
        backend_metrics = [self.metrics] if metrics and metrics != "shared" else []
        self.metadata, data, self.kv = build_backend(config, self.clock, _inline,
                                                     *backend_metrics)
        backend_obj = Backend(config=config, metadata=self.metadata, data=data,
                              clock=self.clock, accounts=config.accounts)
        # as tap.makeService does (trees without inline objects: no effect)
        backend_obj.locations.inline_max = getattr(config, "inline_max_size", 0)
        self.backend = backend_obj
        resource = (S3Resource(backend_obj, self.clock, metrics=self.metrics) if metrics
                    else S3Resource(backend_obj, self.clock))
        self.site = StreamingSite(resource, reactor=self.clock)
        try:  # as tap.makeService does (trees without it: twisted's parser)
            from cloudserver.web.site import install_request_line_parser
            install_request_line_parser()
        except ImportError:
            pass
        self.proto = self.site.buildProtocol(None)
        self.transport = StringTransport()
        self.proto.makeConnection(self.transport)

    def send(self, data: bytes) -> bytes:
        self.proto.dataReceived(data)
        # Cooperative producers and per-turn flushes run on the clock.
        while self.clock.getDelayedCalls():
            self.clock.advance(0)
            if not any(c.getTime() <= self.clock.seconds()
                       for c in self.clock.getDelayedCalls()):
                break
        out = self.transport.value()
        self.transport.clear()
        return out


def shared_metrics(directory: str):
    """A worker's metrics over mmap'd files in ``directory``.  The library
    picks its value class when imported: it is swapped for as long as the
    children are made (every operation the bench sends, made here), so the
    other sites of the run keep plain values."""
    from prometheus_client import values

    from cloudserver.metrics.shared import ENV, WorkerMetrics, value_class

    os.makedirs(directory, exist_ok=True)
    saved, saved_env = values.ValueClass, os.environ.get(ENV)
    values.ValueClass = value_class(os.getpid())  # as shared.pin_pid in a worker
    os.environ[ENV] = directory
    try:
        metrics = WorkerMetrics()
        for operation in ("PutObject", "GetObject", "HeadObject", "DeleteObject",
                          "CreateBucket"):
            metrics.request_started()
            metrics.request_done(operation, 200, "-", 0, 0, 0.0)
    finally:
        values.ValueClass = saved
        if saved_env is None:
            os.environ.pop(ENV, None)
        else:
            os.environ[ENV] = saved_env
    return metrics


def request(method: str, target: str, body: bytes = b"") -> bytes:
    head = f"{method} {target} HTTP/1.1\r\nHost: {HOST}\r\n"
    if method in ("PUT", "POST") or body:
        head += f"Content-Length: {len(body)}\r\n"
    return (head + "\r\n").encode("latin-1") + body


def check(out: bytes, expected: tuple[int, ...], what: str) -> None:
    code = int(out.split(b" ", 2)[1]) if out.startswith(b"HTTP/") else 0
    if code not in expected:
        raise SystemExit(f"{what}: unexpected answer {out[:300]!r}")


def install_log_observer() -> None:
    """What twistd does: a text observer on the global publisher (to /dev/null)."""
    from twisted.logger import globalLogBeginner, textFileLogObserver

    sink = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    globalLogBeginner.beginLoggingTo([textFileLogObserver(sink)],
                                     redirectStandardIO=False, discardBuffer=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ops", default="put,get,head,delete")
    parser.add_argument("-n", type=int, default=3000, help="requests per pass")
    parser.add_argument("--repeat", type=int, default=5, help="passes (best is kept)")
    parser.add_argument("--backend", default="file", choices=("file", "mem"))
    parser.add_argument("--profile", default=None, help="cProfile one pass of this op")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--profile-out", default=None, help="also dump the pstats here")
    parser.add_argument("--log", default="text", choices=("text", "none"))
    parser.add_argument("--metrics", default="off",
                        choices=("off", "on", "both", "shared", "workers"),
                        help="a Prometheus registry on the site; both: off and on "
                        "interleaved in this run, medians compared; shared: a worker's "
                        "mmap'd values; workers: off, on and shared interleaved")
    parser.add_argument("--intents", default="on", choices=("on", "off", "both"),
                        help="the data intents of the orphan sweep (file backend); both: "
                        "without and with, interleaved in this run, medians compared")
    parser.add_argument("--inline-max", type=int, default=None, metavar="BYTES",
                        help="inlineDataMaxSize for this run (0: every PUT writes a data file)")
    parser.add_argument("--timed", type=int, default=None, metavar="K",
                        help="one pass of K requests of the first op (keys reused), no "
                        "timing: for instruction counts, e.g. valgrind --tool=callgrind "
                        "with two values of K (get and head only)")
    args = parser.parse_args()

    if args.log == "text":
        install_log_observer()
    workdir = tempfile.mkdtemp(prefix="cloudserver-inproc-")
    try:
        if args.intents == "both":
            run_both(args, workdir, what="intents")
        elif args.metrics == "both":
            run_both(args, workdir)
        elif args.metrics == "workers":
            run_both(args, workdir, (("off", False), ("on", True), ("shared", "shared")))
        else:
            run(args, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def run_both(args, workdir: str, sites=(("off", False), ("on", True)),
             what: str = "metrics") -> None:
    """Metrics (or the data intents) off and on (and shared), same process,
    passes interleaved (the order turning each round): medians, each
    against off."""
    import statistics

    passes = {}
    for label, on in sites:
        os.makedirs(os.path.join(workdir, label))
        if what == "metrics":
            passes[label] = prepare(args, os.path.join(workdir, label), on)
        else:
            passes[label] = prepare(args, os.path.join(workdir, label),
                                    args.metrics == "on", intents=on)
    labels = [label for label, _ in sites]
    ops = [op.strip() for op in args.ops.split(",") if op.strip()]
    print(f"backend {args.backend}, {args.n} requests per pass, median of {args.repeat}, "
          f"{what} {', '.join(labels)} interleaved")
    for op in ops:
        times = {label: [] for label in labels}
        for i in range(args.repeat):
            turn = i % len(labels)
            for label in labels[turn:] + labels[:turn]:
                times[label].append(passes[label](op, i))
        medians = {k: statistics.median(v) for k, v in times.items()}
        off = medians["off"]
        row = "  ".join(f"{k} {v * 1e6:7.1f} us" + ("" if k == "off" else
                                                     f" ({(v - off) / off * 100:+.1f} %, "
                                                     f"{(v - off) * 1e6:+.1f} us)")
                        for k, v in medians.items())
        print(f"{op:7s} {row} CPU/op")


def run(args, workdir: str) -> None:
    one_pass = prepare(args, workdir, {"on": True, "shared": "shared"}.get(args.metrics, False),
                       intents=args.intents != "off")
    site = one_pass.site
    n = args.n
    ops = [op.strip() for op in args.ops.split(",") if op.strip()]
    if args.timed is not None:
        method = ops[0].upper()
        if method not in ("GET", "HEAD"):
            raise SystemExit("--timed: get or head")
        reqs = one_pass.targets(method)
        for i in range(args.timed):
            site.send(reqs[i % n])
        return
    if args.profile:
        one_pass(args.profile, 0)  # warm up
        prof = cProfile.Profile()
        one_pass(args.profile, 1, prof)
        if args.profile_out:
            prof.dump_stats(args.profile_out)
        stats = pstats.Stats(prof)
        stats.sort_stats("tottime").print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
        return
    print(f"backend {args.backend}, {n} requests per pass, best of {args.repeat}")
    for op in ops:
        best = min(one_pass(op, i) for i in range(args.repeat))
        print(f"{op:7s} {best * 1e6:8.1f} us CPU/op  ({1 / best:,.0f}/s on one core)")


def prepare(args, workdir: str, metrics: bool | str, intents: bool = True):
    """A site with its bucket and objects; returns one_pass(op, round)."""
    site = Site(args.backend, workdir, metrics)
    if not intents:  # as before the orphan sweep: no data intents
        site.metadata.intents = None
        if hasattr(site.backend.data, "intents"):
            site.backend.data.intents = None
    if getattr(args, "inline_max", None) is not None:
        site.backend.locations.inline_max = args.inline_max
    signer = Presigner(HOST, now=datetime.datetime.fromtimestamp(
        site.clock.seconds(), datetime.timezone.utc))
    check(site.send(request("PUT", signer.path("PUT", BUCKET))), (200,), "create bucket")
    n = args.n
    keys = [f"obj/{i:06d}" for i in range(n)]

    def targets(method: str, suffix: str = "") -> list[bytes]:
        body = BODY if method == "PUT" else b""
        return [request(method, signer.path(method, BUCKET, k + suffix), body) for k in keys]

    def one_pass(op: str, rnd: int, prof: cProfile.Profile | None = None) -> float:
        if op == "put":
            reqs, ok = targets("PUT", f".{rnd}"), (200,)
        elif op == "get":
            reqs, ok = targets("GET"), (200,)
        elif op == "head":
            reqs, ok = targets("HEAD"), (200,)
        elif op == "delete":
            # Fill a fresh generation of keys first (not timed), delete them.
            for r in targets("PUT", f".d{rnd}"):
                site.send(r)
            reqs, ok = targets("DELETE", f".d{rnd}"), (204,)
        else:
            raise SystemExit(f"unknown op {op}")
        check(site.send(reqs[0]), ok, op)
        send = site.send
        if prof is not None:
            prof.enable()
        start = time.process_time()
        for r in reqs[1:]:
            send(r)
        spent = time.process_time() - start
        if prof is not None:
            prof.disable()
        return spent / (len(reqs) - 1)

    # The objects GET and HEAD read.
    for r in targets("PUT"):
        check(site.send(r), (200,), "fill")
    one_pass.site = site
    one_pass.targets = targets
    return one_pass


if __name__ == "__main__":
    main()
