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
* ``DelimiterVersions`` (to come, in the versioning work) fits the same
  mould: it accepts version keys and reports key/version markers.

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

Cost bound: a ``list_range`` call visits at most maxKeys + 1 accepted
entries, plus at most ``SEEK_AFTER_SKIPS`` entries per skipped run
(a common prefix already returned, the versions of an object) before
it seeks past the run, plus one entry per deleted object (a delete-marker
master) or placeholder met on the way.  Only that last term is not bounded
by maxKeys: a bucket of a million delete markers is a million-entry scan.
"""
from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from cloudserver.metadata.errors import InvalidArgument
from cloudserver.metadata.keys import AFTER_VERSIONS, VERSION_SEP, successor

FILTER_ACCEPT = 1
FILTER_SKIP = 0
FILTER_END = -1

DEFAULT_MAX_KEYS = 1000
# The driver seeks once a filter asked twice in a row to skip to the same key.
SEEK_AFTER_SKIPS = 2
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


def load_record(raw: bytes) -> dict[str, Any]:
    """Parse a stored JSON record (decoding first skips json's encoding sniffing)."""
    return json.loads(raw.decode("utf-8"))


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
                 start_after: str | None = None, continuation_token: str | None = None):
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
        self._contents: list[tuple[bytes, dict]] = []
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
                   continuation_token=params.get("continuationToken"))

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
            self._contents.append((name, md if md is not None else load_record(raw)))
            self._last_item = name
        return FILTER_ACCEPT

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
            "Contents": [{"key": k.decode("utf-8"), "value": v} for k, v in self._contents],
        }


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

    def _start_after(self, after: bytes) -> bytes:
        # Past the marker's master and all of its versions.
        return after + AFTER_VERSIONS

    def filter(self, key: bytes, value: bytes) -> int:
        self._skip = None
        if self.max_keys == 0:
            return FILTER_END
        name, sep, _ = key.partition(VERSION_SEP)
        cp = self._common_prefix(name)
        if cp is not None and self._seen(cp):
            self._phd_name = None
            return self._skip_prefix(cp)
        if sep:
            if name != self._phd_name:
                self._skip = name + AFTER_VERSIONS
                return FILTER_SKIP
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


LISTING_TYPES: dict[str, type[Delimiter]] = {
    "Delimiter": Delimiter,
    "DelimiterMaster": DelimiterMaster,
}


def make_filter(params: Mapping[str, Any]) -> Delimiter:
    """The filter for ``params["listingType"]`` (default Delimiter)."""
    kind = params.get("listingType") or "Delimiter"
    try:
        cls = LISTING_TYPES[kind]
    except KeyError:
        raise InvalidArgument(f"unknown listing type {kind!r}") from None
    return cls.from_params(params)


def list_range(kv: Any, base: bytes, flt: Delimiter) -> dict[str, Any]:
    """Run ``flt`` over the keys of ``kv`` under ``base``; return its result.

    Synchronous.  Seeks (by starting a new iteration) whenever the filter
    asked ``SEEK_AFTER_SKIPS`` times in a row to skip to the same key; see
    the module docstring for the bound on the number of entries visited.
    """
    n = len(base)
    stop = flt.stop()
    hi = base + stop if stop is not None else successor(base)
    lo = base + flt.start()
    while hi is None or lo < hi:
        it = kv.iterate(gte=lo, lt=hi)
        seek = None
        target, streak = None, 0
        try:
            for key, value in it:
                decision = flt.filter(key[n:], value)
                if decision == FILTER_END:
                    return flt.result()
                wanted = flt.skip_to() if decision == FILTER_SKIP else None
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
