# -*- test-case-name: tests.unit.test_metadata_transfer -*-
"""The MetadataService's export and import of a bucket's records (the
operator tool bin/cloudserver-metadata, over :9990): the service's own
steps (its usage counting, staging of in-flight writes) applied to the
typed items of metadata.transfer.  Functions of the service, kept apart so
the service module holds the object and bucket paths only."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cloudserver.metadata import keys, transfer, usage
from cloudserver.metadata.errors import InvalidArgument, NoSuchBucket
from cloudserver.metadata.records import decode_record, encode_record


def export_bucket(service: Any, bucket: str, cursor: str | None, limit: int) -> dict:
    """One page of items (MetadataService.export_bucket)."""
    attrs = service._load_bucket(bucket)
    page = transfer.export_page(service.kv, bucket, cursor, max(1, min(limit, 10000)))
    if not cursor:
        page["items"].insert(0, transfer.bucket_item(bucket, attrs))
    return page


def import_bucket(service: Any, name: str, record: Mapping[str, Any], replace: bool) -> Any:
    """The bucket record, checked, created or replaced (MetadataService.import_bucket)."""
    keys.encode_bucket(name)
    if not isinstance(record, Mapping):
        raise InvalidArgument("a bucket record is a JSON object")
    attrs = {**record, "name": name}
    transfer.check_item(transfer.bucket_item(name, attrs))
    if replace and service._bucket_exists(name):
        return service._update_bucket(name, attrs)
    return service._create_bucket(name, attrs)


def import_records(service: Any, bucket: str, items: list) -> Any:
    """One batch of checked items, staged as the service's own writes are and
    counted in the bucket's usage (MetadataService.import_records)."""
    if not service._bucket_exists(bucket):
        raise NoSuchBucket(bucket)
    puts: list = []
    delta = usage.zero()
    objects: dict[bytes, dict[bytes, Any]] = {}
    for kind, key, value, okey in transfer.planned_writes(service.kv, bucket, items):
        if kind == "object":
            objects.setdefault(okey, {})[key] = value
            continue
        if kind == "upload" and service.kv.get(key) is None:
            delta[usage.UPLOADS] += 1
        elif kind == "part":
            old = service.kv.get(key)
            usage.add_part(delta, None if old is None else decode_record(old), -1)
            usage.add_part(delta, value, 1)
        puts.append((key, value if kind == "inline" else encode_record(value)))
    changes = {}
    for okey, records in objects.items():
        delta = usage.add(delta, usage.object_delta(okey, records, service._before(okey)))
        changes[okey] = service._encoded(records)
        puts.extend(changes[okey].items())
    service._object_writes[bucket] += 1
    d = service._count(bucket, delta, puts, [])
    for okey, encoded in changes.items():
        service._stage(okey, encoded, d)
    d.addBoth(service._release, service._done_writing, bucket)
    return d.addCallback(lambda _: {"imported": len(items)})
