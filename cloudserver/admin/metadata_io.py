# -*- test-case-name: tests.functional.test_operator_tools -*-
"""bin/cloudserver-metadata: export a bucket's metadata to a JSON-lines
file, import such a file into a running server (metadata/transfer.py has
the item format and what is checked)."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

from cloudserver.admin import dmd
from cloudserver.errors import DomainError
from cloudserver.metadata import transfer

#: items per import call, and the most JSON text one call carries (the
#: RPC's lines are at most 16 MiB)
BATCH_ITEMS = 500
BATCH_BYTES = 4 << 20

DESCRIPTION = """\
Export or import one bucket's METADATA through a running server's metadata
daemon (:9990; --mode all serves it too).

  cloudserver-metadata export BUCKET > bucket.jsonl
  cloudserver-metadata import bucket.jsonl [--as NEWNAME] [--replace] [--skip-uploads]

The file holds one typed item per line (format version %d): the bucket
record, then every object master and version (inline objects' bytes with
them), then each multipart upload in progress and its parts.

Object DATA IS NOT COPIED: the records name data files (and remote
locations) that must be reachable from the importing server -- the same
data directory, or a copy of it.  Two buckets whose records name the same
data files share them: deleting an object in one frees the other's data,
so an import beside its source (--as on the same server) is for
inspection or recovery, not a copy.  Objects encrypted by the server need
the same KMS keys.  Import checks every item before writing any and
refuses an existing bucket unless --replace (which merges: records of the
file overwrite those of the same keys).""" % transfer.FORMAT_VERSION


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="cloudserver-metadata", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write BUCKET's records as JSON lines")
    export.add_argument("bucket", metavar="BUCKET")
    export.add_argument("-o", "--output", default="-", help="file to write (default stdout)")
    dmd.add_arguments(export)
    load = commands.add_parser("import", help="import an exported file")
    load.add_argument("file", metavar="FILE", help="the export (- for stdin)")
    load.add_argument("--as", dest="rename", metavar="NEWNAME",
                      help="import under this bucket name")
    load.add_argument("--replace", action="store_true",
                      help="import into an existing bucket (merging)")
    load.add_argument("--skip-uploads", action="store_true",
                      help="leave multipart uploads in progress out (needed with --as on "
                           "the source's server: upload ids are per store)")
    dmd.add_arguments(load)
    return parser.parse_args(argv)


async def export(md: Any, bucket: str, out: TextIO) -> int:
    cursor, count = None, 0
    while True:
        page = await md.export_bucket(bucket, cursor)
        for item in page["items"]:
            out.write(json.dumps(item, separators=(",", ":"), ensure_ascii=False) + "\n")
            count += 1
        cursor = page["cursor"]
        if cursor is None:
            out.flush()
            print(f"exported {count} items of bucket {bucket}", file=sys.stderr)
            return dmd.OK


def read_items(lines: TextIO, skip_uploads: bool) -> list[dict[str, Any]]:
    """Every item of the file, checked (DomainError / ValueError name the
    line); the first must be the bucket."""
    items = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            kind = transfer.check_item(item)
        except (ValueError, DomainError) as e:
            raise ValueError(f"line {number}: {getattr(e, 'message', None) or e}") from None
        if (kind == "bucket") != (not items):
            raise ValueError(f"line {number}: the bucket record comes first, once")
        if not (skip_uploads and kind in ("upload", "part")):
            items.append(item)
    if not items:
        raise ValueError("the file holds no bucket")
    return items


def batches(items: list[dict[str, Any]]):
    batch: list = []
    size = 0
    for item in items:
        n = len(json.dumps(item))
        if batch and (len(batch) == BATCH_ITEMS or size + n > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(item)
        size += n
    if batch:
        yield batch


async def load(md: Any, args: argparse.Namespace, items: list[dict[str, Any]]) -> int:
    head, rest = items[0], items[1:]
    name = args.rename or head["name"]
    await md.import_bucket(name, head["record"], args.replace)
    done = 0
    for batch in batches(rest):
        done += (await md.import_records(name, batch))["imported"]
    print(f"imported bucket {name}: {done} items", file=sys.stderr)
    return dmd.OK


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.command == "export":
        out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")
        try:
            return dmd.run(args, lambda md: export(md, args.bucket, out))
        finally:
            if out is not sys.stdout:
                out.close()
    try:
        if args.file == "-":
            items = read_items(sys.stdin, args.skip_uploads)
        else:
            with open(args.file, encoding="utf-8") as f:
                items = read_items(f, args.skip_uploads)
    except (OSError, ValueError) as e:
        print(f"cloudserver-metadata: {e}", file=sys.stderr)
        return dmd.REFUSED
    return dmd.run(args, lambda md: load(md, args, items))
