"""The fuzzer at bench size: 10,000+ hostile requests against a fresh server.

Starts ``twistd -n cloudserver`` (file backend, this checkout) the way the
functional tests do, builds the canaries, runs ``tests/functional/
fuzz_requests.Fuzzer`` and prints (and with ``--out``, writes as Markdown)
the report: statuses, every failure, tracebacks in the server log, canary
state differences, the bombs' slowest answer and RSS, and the known
defects' probes.  Exit status 1 when a criterion fails.

    .venv/bin/python bench/fuzz.py [-n 10000] [--seed 20] [--bombs 200] [--out FILE]
"""
from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(CHECKOUT))

from tests.functional import fuzz_fixture  # noqa: E402
from tests.functional.clients import boto3_client  # noqa: E402
from tests.functional.fuzz_requests import Fuzzer  # noqa: E402
from tests.functional.server import ServerProcess  # noqa: E402


def markdown(report, args, started: str) -> str:
    lines = [f"# Fuzzer — {started[:10]}", "",
             f"`.venv/bin/python bench/fuzz.py -n {args.n} --seed {args.seed} "
             f"--bombs {args.bombs}{' --split' if args.split else ''}` (started {started} "
             f"UTC; {'a --mode s3 front on a --mode dmd' if args.split else 'one all-in-one'}"
             " twistd, file backend, shared 2-core machine).", "",
             f"Verdict: **{'PASS' if report.ok else 'FAIL'}** (known defects apart).", "",
             "```", report.summary(), "```", ""]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="generated cases")
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--bombs", type=int, default=200, help="XXE/billion-laughs cases")
    parser.add_argument("--out", type=Path, help="write the Markdown report here")
    parser.add_argument("--split", action="store_true",
                        help="a --mode s3 front on a --mode dmd (the fuzz goes through RPC)")
    args = parser.parse_args(argv)
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")
    workdir = Path(tempfile.mkdtemp(prefix="fuzz-"))
    dmd = None
    if args.split:
        dmd = ServerProcess(workdir / "dmd", mode="dmd")
        dmd.start()
        server = ServerProcess(workdir / "server", mode="s3", dmd=dmd)
    else:
        server = ServerProcess(workdir / "server")
    server.start()
    try:
        s3 = boto3_client(server, workdir)
        targets = fuzz_fixture.create(s3, args.seed)
        fuzzer = Fuzzer("127.0.0.1", server.port, pid=server.pid, log_path=server.log_path)
        report = fuzzer.run(s3, targets, args.seed, args.n, args.bombs,
                            fuzz_fixture.snapshot, fuzz_fixture.differences,
                            progress=lambda n, r: print(f"{n} sent, {len(r.failures)} "
                                                        "failures", flush=True))
        alive = server.alive() and (dmd is None or dmd.alive())
    finally:
        server.destroy()
        if dmd is not None:
            dmd.destroy()
            dmd_tracebacks = [line for line in dmd.log_path.read_text(errors="replace")
                              .splitlines() if "Traceback" in line]
            report.tracebacks += [f"dmd: {line}" for line in dmd_tracebacks]
    print(report.summary())
    if not alive:
        print("the server died during the run; log:", server.log_path)
    if args.out:
        args.out.write_text(markdown(report, args, started))
    return 0 if report.ok and alive else 1


if __name__ == "__main__":
    sys.exit(main())
