# -*- test-case-name: tests.unit.test_metadata_listing -*-
"""Listing as pure algorithms over a byte-ordered key range.

After Zenko Arsenal's lib/algos/list (the CloudServer docs, "Listing"):
a filter is fed a bucket's (key, value) pairs in byte order and answers
each with ACCEPT, SKIP or END.  After a SKIP it may name a key to jump to
(``skip_to``): the driver then seeks there instead of scanning, which is
how a common prefix holding a million keys, or an object with a thousand
versions, costs a handful of reads.

Filters know nothing of the KV nor of Twisted; ``list_range`` runs one
over an IOrderedKV.  Keys given to filters are bucket-relative bytes (see
cloudserver.metadata.keys): ``name`` for a master, ``name + NUL + vid``
for a version.  Values are the stored JSON bytes.

Listing types:

* ``Delimiter``: every key, versions included (for internal buckets
  that never hold versions);
* ``DelimiterMaster``: the current objects of a bucket: masters only,
  without delete markers, with a placeholder master (``isPHD``) replaced by
  the version that follows it;
* ``DelimiterVersions`` (the docs' "DelimiterVersion"): every version and
  delete marker, newest first within a key, with key / version-id markers.

Result shape (Arsenal's)::

    {"IsTruncated": bool,
     "NextMarker": str | None,             # v1: last item returned, when truncated
     "NextContinuationToken": str | None,  # v2: opaque token, when truncated
     "CommonPrefixes": [str],
     "Contents": [{"key": str, "value": dict}]}

``maxKeys`` counts Contents plus CommonPrefixes, as AWS does; with
maxKeys 0 nothing is returned and IsTruncated is false (as AWS, and the
s3-tests ``test_bucket_list_maxkeys_zero``).  NextMarker is returned
whenever the listing is truncated, delimiter or not: AWS only sends it
with a delimiter, which the S3 layer decides.

DelimiterVersions result::

    {"IsTruncated": bool,
     "NextKeyMarker": str | None,          # when truncated: last key or common prefix
     "NextVersionIdMarker": str | None,    # when truncated: last entry's versionId
     "CommonPrefixes": [str],
     "Versions": [{"key": str, "versionId": str, "value": dict,
                   "isLatest": bool, "isDeleteMarker": bool}]}

``valueFields`` (optional, a list of record field names): each entry's
``value`` holds only those of the record's top-level fields (the ones it
has), instead of the whole record.  The S3 listings ask for the handful of
fields they render: less to keep per page, and a much smaller result to
stream from the metadata daemon.  Delete markers, placeholders, ``isNull``
and ``versionId`` are still read from the whole record.

Records of accepted entries are decoded when the result is built, not
while scanning: an entry the scan ends on costs no decoding.

Versions and delete markers come in one stream, in listing order (the S3
layer renders each as <Version> or <DeleteMarker> in that order).
``versionId`` is the internal id, or "null" for the null version (a
record with ``isNull``, or a master without ``versionId``: an object
written before versioning).  As in Arsenal, a master is listed (as the
latest) and the version key holding the same id right after it is
skipped, so a null version stored only in the master is listed once, in
the master's place; after a placeholder master the first version is the
latest.  ``keyMarker`` alone resumes after every version of that key;
with ``versionIdMarker`` (an internal id) after that version; with
``versionIdMarker`` "null" right after the master of ``keyMarker``
(where an id-less null version lists; the service first turns "null"
into the null version's internal id when it has one).

Cost bound: a ``list_range`` call visits at most maxKeys + 1 accepted
entries, plus at most ``SEEK_AFTER_SKIPS`` entries per skipped run
(a common prefix already returned; for the versions of an object
``VERSIONS_SCANNED`` more) before it seeks past the run, plus the entries it
hides (delete-marker masters,
placeholders; in a versions listing, the one duplicate version key after
each master).  Those hidden entries are capped by ``SKIP_BUDGET`` per
call: past it, the filter ends the page early, truncated, with the last
visited key as NextMarker / continuation token (Delimiter and
DelimiterMaster; clients go on from there).  It cannot stop inside a
common prefix it has not returned yet (the prefix may still hold a live
key), nor between a placeholder and its version, so the one remaining
unbounded case is a single common prefix whose only content is a long
run of deleted objects.  A versions listing hides at most one entry per
entry it returns, so it needs no budget.
"""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from cloudserver.metadata.errors import InvalidArgument
from cloudserver.metadata.keys import AFTER_VERSIONS, VERSION_SEP, successor
from cloudserver.metadata.schema import MD_VERSION, VERSION_FIELD, upgrade
from cloudserver.metadata.version_id import NULL_VERSION_ID

FILTER_ACCEPT = 1
FILTER_SKIP = 0
FILTER_END = -1

DEFAULT_MAX_KEYS = 1000
# The driver seeks once a filter asked twice in a row to skip to the same key.
SEEK_AFTER_SKIPS = 2
# DelimiterMaster scans this many version keys of an object before it asks
# to seek past the rest: a LevelDB seek (a new iterator) costs more than
# stepping over a couple of keys, and most objects have only a few versions.
VERSIONS_SCANNED = 2
# Hidden (skipped) entries one list_range call visits before it may end the page early.
SKIP_BUDGET = 10_000
_BAD_TOKEN = "The continuation token provided is incorrect"


def encode_token(key: bytes) -> str:
    """A v2 continuation token: opaque to clients, the next start key to us."""
    return base64.urlsafe_b64encode(key).decode("ascii")


def decode_token(token: str) -> bytes:
    """Inverse of encode_token; InvalidArgument for anything it did not make."""
    try:
        key = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError, AttributeError):
        raise InvalidArgument(message=_BAD_TOKEN) from None
    if not key:
        raise InvalidArgument(message=_BAD_TOKEN)
    return key


def _utf8(value: str | None, what: str) -> bytes:
    if value is None:
        return b""
    if not isinstance(value, str):
        raise InvalidArgument(message=f"{what} must be a string")
    try:
        return value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidArgument(message=f"{what} is not valid UTF-8") from None


def _max_keys(value: Any) -> int:
    if value is None:
        return DEFAULT_MAX_KEYS
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise InvalidArgument(message="maxKeys must be an integer") from None
    return max(n, 0)


_scan_once = json.JSONDecoder().scan_once


def load_record(raw: bytes) -> dict[str, Any]:
    """Parse a stored JSON record.

    Records are compact JSON written by the metadata service, so the
    decoder's scanner is called directly: ``json.loads`` would first sniff
    the encoding and match whitespace around the document, a third of the
    cost of a small record.  Anything else (surrounding whitespace, bad
    JSON, trailing data) goes through ``json.loads``, which accepts or
    rejects it as it always did.  A record of an older format version is
    brought up to date (``schema.upgrade``).
    """
    text = raw.decode("utf-8")
    try:
        value, end = _scan_once(text, 0)
    except StopIteration:
        value, end = json.loads(text), len(text)
    if end != len(text):
        value = json.loads(text)
    if type(value) is dict and value.get(VERSION_FIELD) != MD_VERSION:
        value = upgrade(value)
    return value


def _fields(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, (list, tuple)) or not all(isinstance(f, str) for f in value):
        raise InvalidArgument(message="valueFields must be a list of field names")
    return tuple(value)


def project(md: dict[str, Any], fields: tuple[str, ...] | None) -> dict[str, Any]:
    """The ``fields`` of a record that it has (the whole record for None)."""
    if fields is None:
        return md
    return {f: md[f] for f in fields if f in md}


def _may_be_special(value: bytes) -> bool:
    """Cheap pre-check before parsing: can this record be a delete marker or PHD?"""
    return b'"isDeleteMarker"' in value or b'"isPHD"' in value


class Delimiter:
    """List every key of a range, rolling keys up into common prefixes.

    ``marker`` (v1), or ``continuation_token`` else ``start_after`` (v2),
    is the key to start after.  A common prefix that sorts at or before it
    is not returned again, so NextMarker / NextContinuationToken may be a
    common prefix: the next page resumes after everything under it.
    """

    def __init__(self, prefix: str | None = None, delimiter: str | None = None,
                 marker: str | None = None, max_keys: Any = None, v2: bool = False,
                 start_after: str | None = None, continuation_token: str | None = None,
                 value_fields: Any = None):
        self.prefix = _utf8(prefix, "prefix")
        self.delimiter = _utf8(delimiter, "delimiter")
        self.max_keys = _max_keys(max_keys)
        self.v2 = bool(v2)
        if not self.v2:
            after = _utf8(marker, "marker") or None
        elif continuation_token is not None:
            after = decode_token(continuation_token)
        else:
            after = _utf8(start_after, "startAfter") or None
        self.after: bytes | None = after
        self.fields = _fields(value_fields)
        # (name, stored bytes, or the record when the filter had to decode it)
        self._contents: list[tuple[bytes, bytes | dict]] = []
        self._prefixes: list[bytes] = []
        self._last_prefix: bytes | None = None
        self._last_item: bytes | None = None
        self._truncated = False
        self._skip: bytes | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Delimiter:
        """Build from Arsenal-style params (prefix, delimiter, marker, maxKeys, ...)."""
        return cls(prefix=params.get("prefix"), delimiter=params.get("delimiter"),
                   marker=params.get("marker"), max_keys=params.get("maxKeys"),
                   v2=params.get("v2", False), start_after=params.get("startAfter"),
                   continuation_token=params.get("continuationToken"),
                   value_fields=params.get("valueFields"))

    # -- range -------------------------------------------------------------

    def _start_after(self, after: bytes) -> bytes:
        """The first key strictly after ``after`` that may be listed."""
        return after + b"\x00"

    def start(self) -> bytes:
        """The bucket-relative key to start at (inclusive)."""
        if self.after is not None and self.after >= self.prefix:
            return self._start_after(self.after)
        return self.prefix

    def stop(self) -> bytes | None:
        """The bucket-relative key to stop before, None for the end of the bucket."""
        return successor(self.prefix) if self.prefix else None

    def skip_to(self) -> bytes | None:
        """After a SKIP: the key the driver may seek to, or None to keep scanning."""
        return self._skip

    # -- filtering -----------------------------------------------------------

    def filter(self, key: bytes, value: bytes) -> int:
        self._skip = None
        if self.max_keys == 0:
            return FILTER_END
        cp = self._common_prefix(key)
        if cp is not None and self._seen(cp):
            return self._skip_prefix(cp)
        return self._accept(key, cp, value, None)

    def _common_prefix(self, name: bytes) -> bytes | None:
        if not self.delimiter:
            return None
        i = name.find(self.delimiter, len(self.prefix))
        if i < 0:
            return None
        return name[:i + len(self.delimiter)]

    def _seen(self, cp: bytes) -> bool:
        """Was this common prefix returned already (or is it before the marker)?"""
        return cp == self._last_prefix or (self.after is not None and cp <= self.after)

    def _skip_prefix(self, cp: bytes) -> int:
        self._skip = successor(cp)
        return FILTER_SKIP if self._skip is not None else FILTER_END

    def _accept(self, name: bytes, cp: bytes | None, raw: bytes, md: dict | None) -> int:
        """Add a common prefix or an entry; END (truncated) when the page is full."""
        if len(self._contents) + len(self._prefixes) >= self.max_keys:
            self._truncated = True
            return FILTER_END
        if cp is not None:
            self._prefixes.append(cp)
            self._last_prefix = cp
            self._last_item = cp
        else:
            self._contents.append((name, md if md is not None else raw))
            self._last_item = name
        return FILTER_ACCEPT

    def stop_early(self, key: bytes) -> bool:
        """Out of scan budget at ``key`` (just skipped): end the page here if
        resuming after ``key`` loses nothing; True if the page was ended."""
        if VERSION_SEP in key or not self._may_stop_at(key):
            return False
        self._truncated = True
        self._last_item = key
        return True

    def _may_stop_at(self, name: bytes) -> bool:
        cp = self._common_prefix(name)
        return cp is None or self._seen(cp)

    # -- result --------------------------------------------------------------

    def result(self) -> dict[str, Any]:
        truncated = self._truncated
        last = self._last_item if truncated else None
        return {
            "IsTruncated": truncated,
            "NextMarker": last.decode("utf-8") if last is not None and not self.v2 else None,
            "NextContinuationToken": encode_token(last) if last is not None and self.v2
            else None,
            "CommonPrefixes": [cp.decode("utf-8") for cp in self._prefixes],
            "Contents": self._entries(),
        }

    def _entries(self) -> list[dict[str, Any]]:
        """Contents: each accepted record decoded (if the filter did not) and projected."""
        fields = self.fields
        load = load_record
        entries = []
        append = entries.append
        for name, value in self._contents:
            md = value if value.__class__ is dict else load(value)
            if fields is not None:  # project(), inline: this runs for every entry
                md = {f: md[f] for f in fields if f in md}
            append({"key": name.decode("utf-8"), "value": md})
        return entries


class DelimiterMaster(Delimiter):
    """List the current objects: masters that are not delete markers.

    Version keys (``name NUL vid``) are skipped, by seeking past them,
    except right after a placeholder master (``isPHD``, left while the
    versioning layer repairs a master): then the first version, the
    latest, stands in for the master.
    """

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._phd_name: bytes | None = None
        self._versions_of: bytes | None = None
        self._versions_seen = 0
        # No delimiter: every live master is an entry (see filter).
        self._plain = not self.delimiter and self.max_keys > 0

    def _start_after(self, after: bytes) -> bytes:
        # Past the marker's master and all of its versions.
        return after + AFTER_VERSIONS

    def filter(self, key: bytes, value: bytes) -> int:
        self._skip = None
        if self._plain:
            # The hot path of a listing without delimiter: what _filter
            # does, for a master that is neither a delete marker nor a
            # placeholder (accepted without decoding its record), and for
            # a version key that does not follow a placeholder.
            name, sep, _ = key.partition(VERSION_SEP)
            if not sep:
                self._phd_name = None
                if b'"isDeleteMarker"' not in value and b'"isPHD"' not in value:
                    contents = self._contents
                    if len(contents) >= self.max_keys:
                        self._truncated = True
                        return FILTER_END
                    contents.append((key, value))
                    self._last_item = key
                    return FILTER_ACCEPT
            elif name != self._phd_name:
                return self._skip_version(name)
        return self._filter(key, value)

    def _skip_version(self, name: bytes) -> int:
        """SKIP a version key of ``name``; past the first VERSIONS_SCANNED
        of them, ask to seek past all the others."""
        if name == self._versions_of:
            self._versions_seen += 1
        else:
            self._versions_of, self._versions_seen = name, 1
        if self._versions_seen > VERSIONS_SCANNED:
            self._skip = name + AFTER_VERSIONS
        return FILTER_SKIP

    def _filter(self, key: bytes, value: bytes) -> int:
        if self.max_keys == 0:
            return FILTER_END
        name, sep, _ = key.partition(VERSION_SEP)
        cp = self._common_prefix(name)
        if cp is not None and self._seen(cp):
            self._phd_name = None
            return self._skip_prefix(cp)
        if sep:
            if name != self._phd_name:
                return self._skip_version(name)
            self._phd_name = None  # the latest version replaces the placeholder
        else:
            self._phd_name = None
        md = None
        if _may_be_special(value):
            md = load_record(value)
            if not sep and md.get("isPHD"):
                self._phd_name = name
                return FILTER_SKIP
            if md.get("isDeleteMarker"):
                self._skip = name + AFTER_VERSIONS
                return FILTER_SKIP
        return self._accept(name, cp, value, md)

    def stop_early(self, key: bytes) -> bool:
        name = key.partition(VERSION_SEP)[0]
        if self._phd_name is not None or not self._may_stop_at(name):
            return False
        self._truncated = True
        self._last_item = name  # resumes after all versions of name
        return True


class DelimiterVersions(Delimiter):
    """List every version and delete marker (see the module docstring)."""

    def __init__(self, prefix: str | None = None, delimiter: str | None = None,
                 key_marker: str | None = None, version_id_marker: str | None = None,
                 max_keys: Any = None, value_fields: Any = None):
        super().__init__(prefix=prefix, delimiter=delimiter, marker=key_marker,
                         max_keys=max_keys, value_fields=value_fields)
        vid = _utf8(version_id_marker, "versionIdMarker") or None
        if vid is not None and VERSION_SEP in vid:
            raise InvalidArgument(message="Invalid version id specified")
        self.version_id_marker = vid if self.after is not None else None
        # (name, version id, projected record, latest, delete marker)
        self._versions: list[tuple[bytes, str, dict, bool, bool]] = []
        self._last_vid: str | None = None
        self._master: tuple[bytes, str | None] | None = None
        self._phd_name: bytes | None = None

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> DelimiterVersions:
        return cls(prefix=params.get("prefix"), delimiter=params.get("delimiter"),
                   key_marker=params.get("keyMarker"),
                   version_id_marker=params.get("versionIdMarker"),
                   max_keys=params.get("maxKeys"), value_fields=params.get("valueFields"))

    def start(self) -> bytes:
        if self.after is None:
            return self.prefix
        vid = self.version_id_marker
        if vid is None:
            start = self.after + AFTER_VERSIONS
        elif vid == NULL_VERSION_ID.encode():
            start = self.after + VERSION_SEP  # right after the master
        else:
            start = self.after + VERSION_SEP + vid + b"\x00"
        return max(start, self.prefix)

    def filter(self, key: bytes, value: bytes) -> int:
        self._skip = None
        if self.max_keys == 0:
            return FILTER_END
        name, sep, vid_bytes = key.partition(VERSION_SEP)
        cp = self._common_prefix(name)
        if cp is not None and self._seen(cp):
            return self._skip_prefix(cp)
        if not sep:
            md = load_record(value)
            if md.get("isPHD"):
                # Placeholder: the next version of name is the latest.
                self._master, self._phd_name = None, name
                return FILTER_SKIP
            vid = md.get("versionId")
            self._master, self._phd_name = (name, vid), None
            null = vid is None or bool(md.get("isNull"))
            return self._add(name, cp, md, NULL_VERSION_ID if null else vid, True)
        vid = vid_bytes.decode("utf-8")
        if self._master == (name, vid):
            return FILTER_SKIP  # listed as the master
        latest = self._phd_name == name
        self._phd_name = None
        md = load_record(value)
        return self._add(name, cp, md, NULL_VERSION_ID if md.get("isNull") else vid, latest)

    def _add(self, name: bytes, cp: bytes | None, md: dict, vid: str, latest: bool) -> int:
        if len(self._versions) + len(self._prefixes) >= self.max_keys:
            self._truncated = True
            return FILTER_END
        if cp is not None:
            self._prefixes.append(cp)
            self._last_prefix = cp
            self._last_item, self._last_vid = cp, None
        else:
            # Projected now: the page keeps the few fields, not the records.
            self._versions.append((name, vid, project(md, self.fields), latest,
                                   bool(md.get("isDeleteMarker"))))
            self._last_item, self._last_vid = name, vid
        return FILTER_ACCEPT

    def stop_early(self, key: bytes) -> bool:
        return False  # bounded without a budget: see the module docstring

    def result(self) -> dict[str, Any]:
        truncated = self._truncated
        last = self._last_item if truncated else None
        return {
            "IsTruncated": truncated,
            "NextKeyMarker": last.decode("utf-8") if last is not None else None,
            "NextVersionIdMarker": self._last_vid if truncated else None,
            "CommonPrefixes": [cp.decode("utf-8") for cp in self._prefixes],
            "Versions": [{"key": k.decode("utf-8"), "versionId": vid, "value": md,
                          "isLatest": latest, "isDeleteMarker": marker}
                         for k, vid, md, latest, marker in self._versions],
        }


LISTING_TYPES: dict[str, type[Delimiter]] = {
    "Delimiter": Delimiter,
    "DelimiterMaster": DelimiterMaster,
    "DelimiterVersions": DelimiterVersions,
    "DelimiterVersion": DelimiterVersions,  # the docs' spelling
}


def make_filter(params: Mapping[str, Any]) -> Delimiter:
    """The filter for ``params["listingType"]`` (default Delimiter)."""
    kind = params.get("listingType") or "Delimiter"
    try:
        cls = LISTING_TYPES[kind]
    except KeyError:
        raise InvalidArgument(f"unknown listing type {kind!r}") from None
    return cls.from_params(params)


def list_range(kv: Any, base: bytes, flt: Delimiter,
               skip_budget: int = SKIP_BUDGET) -> dict[str, Any]:
    """Run ``flt`` over the keys of ``kv`` under ``base``; return its result.

    Synchronous.  Seeks (by starting a new iteration) whenever the filter
    asked ``SEEK_AFTER_SKIPS`` times in a row to skip to the same key;
    after ``skip_budget`` skipped entries, offers the filter to end the
    page early at each further one.  See the module docstring for the
    bound on the number of entries visited.
    """
    n = len(base)
    stop = flt.stop()
    hi = base + stop if stop is not None else successor(base)
    lo = base + flt.start()
    skipped = 0
    filter_ = flt.filter  # the per-key call, looked up once
    while hi is None or lo < hi:
        it = kv.iterate(gte=lo, lt=hi)
        seek = None
        target, streak = None, 0
        try:
            for key, value in it:
                decision = filter_(key[n:], value)
                if decision == FILTER_ACCEPT:
                    if streak:
                        target, streak = None, 0
                    continue
                if decision == FILTER_END:
                    return flt.result()
                skipped += 1
                if skipped >= skip_budget and flt.stop_early(key[n:]):
                    return flt.result()
                wanted = flt.skip_to()
                if wanted is None:
                    target, streak = None, 0
                    continue
                streak = streak + 1 if wanted == target else 1
                target = wanted
                if streak >= SEEK_AFTER_SKIPS and base + wanted > key:
                    seek = wanted
                    break
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()
        if seek is None:
            break
        lo = base + seek
    return flt.result()
