# -*- test-case-name: tests.unit.test_numbers -*-
"""Numbers from headers, query strings and documents, length-checked first.

Python's ``int()`` is the wrong tool for a client's text: it raises
ValueError past 4,300 digits (a 500 where the caller did not expect it),
costs quadratic time up to that limit, and accepts what no S3 client sends
(``1_000``, ``+5``, `` 7 ``, Unicode digits such as ``٣``).  Every numeric
value of a request goes through :func:`decimal` (or :func:`hexadecimal`):
ASCII digits only, at most ``max_digits`` of them, else None, so the
caller answers with the S3 error AWS gives for that value.
"""
from __future__ import annotations

import re

_DIGITS = re.compile(r"[0-9]+")
_HEX = re.compile(r"[0-9a-fA-F]+")

#: Enough for any byte offset or size (2^63 has 19 digits); a longer value
#: is out of range whatever its digits.
SIZE_DIGITS = 19


def decimal(text: str | bytes | None, max_digits: int = SIZE_DIGITS) -> int | None:
    """The value of ``text`` if it is 1..``max_digits`` ASCII digits, else None
    (the length is checked before anything is converted)."""
    if text is None or not 0 < len(text) <= max_digits:
        return None
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    if _DIGITS.fullmatch(text) is None:
        return None
    return int(text)


def signed_decimal(text: str | None, max_digits: int = SIZE_DIGITS) -> int | None:
    """:func:`decimal` with an optional leading ``-``."""
    if text is not None and text.startswith("-"):
        value = decimal(text[1:], max_digits)
        return None if value is None else -value
    return decimal(text, max_digits)


def hexadecimal(text: str | bytes | None, max_digits: int) -> int | None:
    """The value of 1..``max_digits`` ASCII hex digits, else None."""
    if text is None or not 0 < len(text) <= max_digits:
        return None
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    if _HEX.fullmatch(text) is None:
        return None
    return int(text, 16)
