# -*- test-case-name: tests.functional.test_operator_tools -*-
"""bin/cloudserver-usage: buckets, objects and bytes per bucket, from the
running server's metadata (the counters metadata/usage.py keeps in every
write's batch: no scan, except once for a bucket written before counters
existed)."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cloudserver.admin import dmd

COLUMNS = (("BUCKET", "name"), ("OBJECTS", "objects"), ("OBJECT-BYTES", "objectBytes"),
           ("VERSIONS", "versions"), ("BYTES", "bytes"), ("MARKERS", "deleteMarkers"),
           ("UPLOADS", "uploads"), ("UPLOAD-BYTES", "uploadBytes"))

DESCRIPTION = """\
Report the usage of a running cloudserver's buckets: current objects and
their bytes, every stored version (noncurrent ones included) and their
bytes, delete markers, multipart uploads in progress and their parts'
bytes; then the totals.  Reads the counters the metadata daemon keeps
(through its :9990 RPC; --mode all serves it too)."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cloudserver-usage", description=DESCRIPTION)
    parser.add_argument("buckets", nargs="*", metavar="BUCKET",
                        help="only these buckets (default: every bucket)")
    parser.add_argument("--json", action="store_true",
                        help="one JSON document: {buckets: [...], total: {...}}")
    dmd.add_arguments(parser)
    return parser.parse_args(argv)


def table(report: dict[str, Any]) -> str:
    rows = [[str(entry[key]) for _, key in COLUMNS] for entry in report["buckets"]]
    total = report["total"]
    rows.append([f"TOTAL ({total['buckets']} buckets)"]
                + [str(total[key]) for _, key in COLUMNS[1:]])
    header = [title for title, _ in COLUMNS]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(header), *(line(r) for r in rows)])


def merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One report of several single-bucket answers."""
    entries = [entry for r in reports for entry in r["buckets"]]
    fields = [key for _, key in COLUMNS[1:]]
    total = {key: sum(e[key] for e in entries) for key in fields}
    return {"buckets": entries, "total": {**total, "buckets": len(entries)}}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)

    async def work(md: Any) -> int:
        if args.buckets:
            report = merge([await md.get_usage(name) for name in args.buckets])
        else:
            report = await md.get_usage()
        print(json.dumps(report, indent=2) if args.json else table(report))
        return dmd.OK

    return dmd.run(args, work)
