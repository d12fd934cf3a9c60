# -*- test-case-name: tests.unit.test_policy_evaluate -*-
"""Wildcard patterns and policy variables, compiled once.

A policy value such as ``arn:aws:s3:::b/home/${aws:username}/*`` becomes a
:class:`Template`: literal runs (translated to regex once, ``*`` any run,
``?`` one character) and variables.  A template without variables holds a
compiled regex, so matching costs one ``fullmatch``; one with variables
renders per request, the variable's value escaped (its ``*`` is a character,
not a wildcard), and the rendered regex goes through a bounded cache.

``${*}``, ``${?}`` and ``${$}`` are a literal ``*``, ``?`` and ``$``.  A
variable whose key the request lacks makes that value match nothing, as
IAM documents.  Variables exist only in Version 2012-10-17: under
2008-10-17 the ``${...}`` text is literal.
"""
from __future__ import annotations

import functools
import re

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_ESCAPES = {"*": "*", "?": "?", "$": "$"}


def wildcard_regex(text: str) -> str:
    """Regex source for a literal run with ``*`` and ``?`` wildcards."""
    out = []
    for char in text:
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        else:
            out.append(re.escape(char))
    return "".join(out)


@functools.lru_cache(maxsize=1024)
def _compiled(source: str, flags: int) -> re.Pattern[str]:
    return re.compile(source, flags)


class Template:
    """One policy value: literal parts and variables, compiled once.

    ``parts`` is a tuple of ``(kind, text)``: ``lit`` (raw text with
    wildcards), ``char`` (a literal escaped character) or ``var`` (a
    lower-cased context key).
    """

    __slots__ = ("parts", "has_vars", "text", "regex", "_flags", "_sources")

    def __init__(self, value: str, *, variables: bool, ignore_case: bool = False):
        self._flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
        self.parts = _split(value) if variables else (("lit", value),)
        self.has_vars = any(kind != "lit" for kind, _ in self.parts)
        #: the literal text (equality operators), None when it needs rendering
        self.text = None if self.has_vars else value
        self.regex = None if self.has_vars else re.compile(
            wildcard_regex(value), self._flags)
        #: the parts as regex source, literal runs translated once
        self._sources = tuple(
            (kind, wildcard_regex(text) if kind == "lit" else
             re.escape(text) if kind == "char" else text)
            for kind, text in self.parts)

    def render(self, context) -> str | None:
        """The value with variables filled in (None: a variable is absent)."""
        if self.text is not None:
            return self.text
        out = []
        for kind, text in self.parts:
            if kind == "var":
                values = context.get(text)
                if not values:
                    return None
                out.append(values[0])
            else:
                out.append(text)
        return "".join(out)

    def pattern(self, context) -> re.Pattern[str] | None:
        """The wildcard regex with variables filled in (None: one is absent)."""
        if self.regex is not None:
            return self.regex
        out = []
        for kind, text in self._sources:
            if kind == "var":
                values = context.get(text)
                if not values:
                    return None
                out.append(re.escape(values[0]))
            else:
                out.append(text)
        return _compiled("".join(out), self._flags)

    def like(self, value: str, context) -> bool:
        regex = self.pattern(context)
        return regex is not None and regex.fullmatch(value) is not None


def _split(value: str) -> tuple[tuple[str, str], ...]:
    parts: list[tuple[str, str]] = []
    pos = 0
    for match in _VARIABLE.finditer(value):
        if match.start() > pos:
            parts.append(("lit", value[pos:match.start()]))
        name = match.group(1).strip()
        if name in _ESCAPES:
            parts.append(("char", _ESCAPES[name]))
        else:
            parts.append(("var", name.lower()))
        pos = match.end()
    if pos < len(value):
        parts.append(("lit", value[pos:]))
    return tuple(parts)


def glob_covers(glob: str, text: str) -> tuple[bool, bool]:
    """Whether the wildcard pattern ``glob`` can match ``text`` itself, and
    whether it can match some string that starts with ``text`` and goes on
    (``text`` a bucket name plus ``/``: some object of the bucket).

    A small NFA over the pattern: positions reachable after reading
    ``text``; a ``*`` stays put while it reads.  Whatever is left of the
    pattern after a prefix matches some string, so "some longer string" is
    any reachable position short of the end, or a ``*`` at the end.
    """
    def closure(states: set[int]) -> set[int]:
        out, todo = set(states), list(states)
        while todo:
            pos = todo.pop()
            if pos < len(glob) and glob[pos] == "*" and pos + 1 not in out:
                out.add(pos + 1)
                todo.append(pos + 1)
        return out

    states = closure({0})
    for char in text:
        step = set()
        for pos in states:
            if pos < len(glob):
                if glob[pos] == "*":
                    step.add(pos)
                elif glob[pos] == "?" or glob[pos] == char:
                    step.add(pos + 1)
        states = closure(step)
        if not states:
            return False, False
    exact = len(glob) in states
    longer = any(pos < len(glob) for pos in states) or (
        len(glob) in states and glob.endswith("*"))
    return exact, longer


def literal_prefix(template: Template) -> str:
    """The text every value ``template`` matches starts with: its parts up to
    the first wildcard or variable (a cheap test before the regex)."""
    out = []
    for kind, text in template.parts:
        if kind == "var":
            break
        if kind == "char":
            out.append(text)
            continue
        cuts = [i for i in (text.find("*"), text.find("?")) if i >= 0]
        if cuts:
            out.append(text[:min(cuts)])
            break
        out.append(text)
    return "".join(out)
