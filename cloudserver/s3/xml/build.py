# -*- test-case-name: tests.unit.test_xmlresponses -*-
"""Low-level helpers shared by the S3 XML serializers.

Every response document is an lxml tree turned into bytes here, so that
escaping is lxml's job and never ours.  Two things lxml alone cannot do are
handled in this module:

* the XML declaration: AWS sends ``<?xml version="1.0" encoding="UTF-8"?>``
  with double quotes, lxml writes single quotes; we prepend the constant.
* text that XML 1.0 cannot carry (control characters such as ``\\x01``,
  ``\\ufffe``, lone surrogates).  Object keys may hold them, and a listing
  must never fail with a 500.  AWS writes such characters as character
  references (``&#x1;``); lxml refuses them, so :func:`set_text` swaps each
  one for a per-process random marker that lxml accepts and
  :func:`serialize` rewrites the markers into references afterwards.  The
  marker holds 64 random bits, so no client can smuggle one in a key.
"""

import re
import secrets
import time
from urllib.parse import quote

from lxml import etree

S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

_S3 = "{" + S3_NS + "}"

# Characters outside XML 1.0's Char production.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

# A plane-15 private-use character (legal in XML) plus a random tag.
_MARK = "\U000f0000" + secrets.token_hex(8)
_MARK_BYTES = _MARK.encode("utf-8")
_MARK_RE = re.compile(re.escape(_MARK_BYTES) + rb"([0-9a-f]+);")


def _marker(match: re.Match[str]) -> str:
    return f"{_MARK}{ord(match.group()):x};"


def set_text(el: etree._Element, value: str) -> None:
    """Set ``el.text``; characters XML cannot hold become ``&#x..;`` later.

    The fast path is lxml's own assignment; only text lxml refuses takes the
    slow path, so ordinary keys pay nothing for the fallback.
    """
    try:
        el.text = value
    except (ValueError, UnicodeError):
        el.text = _NOT_XML_CHAR.sub(_marker, value)


def s3_root(name: str) -> etree._Element:
    """A root element in the S3 namespace, declared as the default one."""
    return etree.Element(_S3 + name, nsmap={None: S3_NS})


def plain_root(name: str) -> etree._Element:
    """A root element with no namespace (AWS's ``<Error>`` has none)."""
    return etree.Element(name)


def sub(parent: etree._Element, name: str, value: str | None = None) -> etree._Element:
    """Append a child in the parent's namespace, with ``value`` as text."""
    tag = parent.tag
    if tag[0] == "{":
        name = tag[:tag.index("}") + 1] + name
    el = etree.SubElement(parent, name)
    if value is not None:
        set_text(el, value)
    return el


def serialize(root: etree._Element) -> bytes:
    """The document as UTF-8 bytes with AWS's double-quoted declaration."""
    return finish_document(etree.tostring(root, encoding="UTF-8", xml_declaration=False))


def finish_document(data: bytes) -> bytes:
    """The root element as lxml wrote it (``tostring`` or ``etree.xmlfile``,
    texts set with :func:`set_text`) -> the response body: AWS's declaration,
    character references for what XML cannot hold."""
    if _MARK_BYTES in data:
        data = _MARK_RE.sub(rb"&#x\1;", data)
    return XML_DECLARATION + data


def xml_bool(value: bool) -> str:
    return "true" if value else "false"


def quote_etag(etag: str) -> str:
    """ETags travel quoted in XML as in headers; accept either form."""
    if len(etag) >= 2 and etag[0] == '"' and etag[-1] == '"':
        return etag
    return f'"{etag}"'


def iso8601(ts: float) -> str:
    """``2009-10-12T17:50:30.000Z``: UTC, milliseconds, as S3 writes dates.

    Rounded to the nearest millisecond so that float noise (``.123`` stored
    as ``.12299...``) does not lose a millisecond.
    """
    total_ms = round(ts * 1000)
    secs, ms = divmod(total_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{ms:03d}Z"


def url_encode(value: str) -> str:
    """Percent-encode a key the way S3 does for ``encoding-type=url``.

    AWS keeps ``/`` and the RFC 3986 unreserved characters and encodes the
    rest from UTF-8, space as ``%20`` and ``+`` as ``%2B`` (s3-tests
    ``test_bucket_list_encoding_basic`` expects ``quux%20ab/`` and
    ``asdf%2Bb``).  botocore decodes with ``unquote_plus``, which inverts
    this exactly because no literal ``+`` is ever emitted.  Keys decoded
    from non-UTF-8 bytes with ``surrogateescape`` get their bytes back.
    """
    try:
        return quote(value, safe="/", errors="surrogateescape")
    except UnicodeEncodeError:
        return quote(value, safe="/", errors="surrogatepass")
