"""Globs for tool names, command lines and file paths, translated to one regular expression per list.

Syntax (all case-sensitive):

- ``*``: any run of characters. In **path** globs it stops at ``/``; in **command** allow lists it stops at
  ``<`` and ``>`` (so an allowed command cannot add a redirection the pattern does not spell out).
- ``**``: any run of characters, ``/`` included (paths). ``/**/`` also matches a single ``/``, a trailing
  ``/**`` also matches the directory itself, and a leading ``**/`` any absolute prefix.
- ``?``: one character (not ``/`` in paths). ``[abc]``, ``[a-z]``, ``[!abc]``: one character from a set.
- ``~/`` at the start of a path glob: any home directory (``/home/<user>/`` or ``/root/``).
- ``\\``: the next character literally.

A :class:`GlobSet` compiles a whole list into one alternation and reports which pattern matched, so a list
of fifty patterns costs one regex match. Compilation happens once per bundle revision, never per request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

GlobKind = Literal["name", "command", "path"]

_HOME = r"(?:/home/[^/]+|/root)"


class GlobError(ValueError):
    """A glob that cannot be translated; the message says why."""


def _star(kind: GlobKind, double: bool) -> str:
    if kind == "path":
        return ".*" if double else "[^/]*"
    if kind == "command":
        return "[^<>]*"
    return ".*"


def glob_regex(pattern: str, kind: GlobKind) -> str:
    """The regular expression (without anchors) equivalent to one glob."""
    if not pattern:
        raise GlobError("a glob must not be empty")
    out: list[str] = []
    i, n = 0, len(pattern)
    if kind == "path" and pattern.startswith("~/"):
        out.append(_HOME)
        i = 1
    while i < n:
        c = pattern[i]
        if c == "*":
            double = pattern.startswith("**", i)
            j = i + 2 if double else i + 1
            if kind == "path" and double:
                before_slash = i == 0 or pattern[i - 1] == "/"
                if before_slash and pattern.startswith("/", j):  # '/**/' or leading '**/'
                    if out and out[-1] == "/":
                        out[-1] = "/(?:.*/)?"
                    else:
                        out.append("(?:.*/)?")
                    i = j + 1
                    continue
                if before_slash and j == n and out and out[-1] == "/":  # trailing '/**'
                    out[-1] = "(?:/.*)?"
                    i = j
                    continue
            out.append(_star(kind, double))
            i = j
        elif c == "?":
            out.append("[^/]" if kind == "path" else ".")
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 2 if pattern.startswith("[!", i) else i + 1)
            if end < 0:
                raise GlobError(f"unclosed '[' at position {i + 1}")
            body = pattern[i + 1 : end]
            negate = body.startswith("!")
            body = body[1:] if negate else body
            if not body:
                raise GlobError(f"empty character set at position {i + 1}")
            body = body.replace("\\", "\\\\").replace("^", "\\^")
            out.append(f"[{'^' if negate else ''}{body}]")
            i = end + 1
        elif c == "\\":
            if i + 1 >= n:
                raise GlobError("a trailing '\\' escapes nothing")
            out.append(re.escape(pattern[i + 1]))
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    regex = "".join(out)
    try:
        re.compile(regex)
    except re.error as exc:
        raise GlobError(str(exc)) from None
    return regex


class GlobSet:
    """A list of globs compiled into one regular expression; :meth:`match` names the first that matches."""

    __slots__ = ("_exact", "_regex", "patterns")

    def __init__(self, patterns: Sequence[str], kind: GlobKind) -> None:
        self.patterns = tuple(patterns)
        literal = [p for p in self.patterns if not any(ch in p for ch in "*?[\\~")]
        self._exact = {p: p for p in reversed(literal)}
        wild = [(i, p) for i, p in enumerate(self.patterns) if p not in self._exact]
        self._regex = (
            re.compile("|".join(f"(?P<g{i}>{glob_regex(p, kind)})" for i, p in wild), re.DOTALL) if wild else None
        )

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def match(self, text: str) -> str | None:
        """The first pattern (in list order of the wildcard ones, exact names first) matching all of ``text``."""
        hit = self._exact.get(text)
        if hit is not None:
            return hit
        if self._regex is None:
            return None
        m = self._regex.fullmatch(text)
        if m is None or m.lastgroup is None:
            return None
        return self.patterns[int(m.lastgroup[1:])]
