# -*- test-case-name: tests.unit.test_xmllisting -*-
"""Long response documents written element by element (listings).

A listing page holds up to a thousand entries of the same shape.  Instead
of building a tree of them (and serializing it afterwards), the document is
written with lxml's incremental writer, ``etree.xmlfile``: the root element
is opened, then each entry is one small prebuilt element whose leaves get
the entry's text and which is written out at once, over and over.  lxml
still does every bit of escaping.

The elements written inside the root are unqualified: lxml would declare
the S3 namespace again on each of them otherwise.  In the document they
sit in the root's default namespace, S3's, exactly as AWS's do.
"""

import io
import re
from collections.abc import Callable, Iterable

from lxml import etree

from cloudserver.s3.xml.build import S3_NS, finish_document, set_text, url_encode

Write = Callable[[etree._Element], None]

_URL_SAFE = re.compile(r"[A-Za-z0-9/_.~-]*").fullmatch


def _identity(value: str) -> str:
    return value


def _url_encode(value: str) -> str:
    """url_encode, skipped for the (usual) keys it would return unchanged."""
    return value if _URL_SAFE(value) else url_encode(value)


def encoder(encoding_type: str | None) -> Callable[[str], str]:
    """How key-like fields are written: percent-encoded for ``encoding-type=url``."""
    return _url_encode if encoding_type == "url" else _identity


def leaf(tag: str, text: str | None = None) -> etree._Element:
    """A childless element, its text set with set_text (None: empty element)."""
    el = etree.Element(tag)
    if text is not None:
        set_text(el, text)
    return el


def template(tag: str, shape: Iterable[str | tuple[str, Iterable[str]]]
             ) -> tuple[etree._Element, dict[str, etree._Element]]:
    """An element to fill and write again and again, and its leaves by tag.

    ``shape`` lists the children in order: a tag, or (tag, leaf tags) for a
    child with children of its own (``("Owner", ("ID", "DisplayName"))``).
    """
    root = etree.Element(tag)
    leaves = {}
    for child in shape:
        if isinstance(child, str):
            leaves[child] = etree.SubElement(root, child)
        else:
            name, grandchildren = child
            parent = etree.SubElement(root, name)
            for g in grandchildren:
                leaves[g] = etree.SubElement(parent, g)
    return root, leaves


def prefixes_writer(write: Write, prefixes: Iterable[str], encode: Callable[[str], str]) -> None:
    """``<CommonPrefixes><Prefix>p</Prefix></CommonPrefixes>`` for each prefix."""
    c = etree.Element("CommonPrefixes")
    p = etree.SubElement(c, "Prefix")
    for prefix in prefixes:
        set_text(p, encode(prefix))
        write(c)


def document(root_tag: str, head: Iterable[etree._Element], body: Callable[[Write], None]
             ) -> bytes:
    """``<root_tag xmlns=S3>``, the ``head`` elements, then whatever ``body``
    writes with the function it is given; the response body bytes."""
    out = io.BytesIO()
    with etree.xmlfile(out, encoding="UTF-8") as xf:
        with xf.element("{%s}%s" % (S3_NS, root_tag), nsmap={None: S3_NS}):
            write = xf.write
            for el in head:
                write(el)
            body(write)
    return finish_document(out.getvalue())
