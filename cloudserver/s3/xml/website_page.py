# -*- test-case-name: tests.unit.test_website_serve -*-
"""The HTML error page of a website endpoint (AWS's shape): the status as
title and heading, the error's Code, Message, its extra fields,
RequestId and HostId as a list, and, when the bucket's ErrorDocument could
not be served, a second list saying why.  Built with lxml, never by
string templates, so a key in the page is escaped."""
from __future__ import annotations

from lxml import etree

from cloudserver.s3.errors import REASONS

DOCUMENT_FAILED = "An Error Occurred While Attempting to Retrieve a Custom Error Document"


def _items(parent, code: str, message: str, extra: dict) -> None:
    ul = etree.SubElement(parent, "ul")
    for name, value in (("Code", code), ("Message", message), *extra.items()):
        etree.SubElement(ul, "li").text = f"{name}: {value}"


def error_page(status: int, code: str, message: str, extra: dict,
               document_error: tuple[str, str, dict] | None = None) -> bytes:
    """The page's bytes; ``extra`` is (name -> value) after Code and
    Message, ``document_error`` the (code, message, extra) of the error
    document's own failure."""
    title = f"{status} {REASONS.get(status, b'').decode('latin-1')}".strip()
    html = etree.Element("html")
    etree.SubElement(etree.SubElement(html, "head"), "title").text = title
    body = etree.SubElement(html, "body")
    etree.SubElement(body, "h1").text = title
    _items(body, code, message, extra)
    if document_error is not None:
        etree.SubElement(body, "h3").text = DOCUMENT_FAILED
        _items(body, *document_error)
    etree.SubElement(body, "hr")
    return etree.tostring(html, method="html", encoding="utf-8") + b"\n"
