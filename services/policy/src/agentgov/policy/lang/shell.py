"""Command lines as the ``shell`` section sees them: split into simple commands, whitespace-normalized.

A line is split at unquoted ``;``, ``&``, ``&&``, ``|``, ``||``, ``|&`` and newlines; each part is one simple
command. Quotes (``'…'``, ``"…"``) and backslash escapes keep separators literal. Whitespace runs collapse
to one space. A part with command substitution (``$(…)``, backticks) or process substitution (``<(…)``,
``>(…)``) runs commands no pattern can see, so no allow pattern covers it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_SPECIAL: Final = re.compile(r"[;&|\n'\"\\`$<>(]")
"""A line without any of these is one simple command (the common case, decided by one search)."""


@dataclass(frozen=True, slots=True)
class CommandLine:
    """The normalized whole line, its simple commands, and whether it hides commands in substitutions."""

    line: str
    parts: tuple[str, ...]
    substitution: bool


def parse_command(text: str) -> CommandLine:
    """Split and normalize a command line (see the module docstring)."""
    if _SPECIAL.search(text) is None:
        line = " ".join(text.split())
        return CommandLine(line, (line,) if line else (), False)
    parts: list[str] = []
    buf: list[str] = []
    quote = ""
    subst = False
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if quote:
            if c == quote:
                quote = ""
            elif quote == '"' and c == "\\" and i + 1 < n:
                buf.append(c)
                i += 1
                c = text[i]
            elif quote == '"' and (c == "`" or text.startswith("$(", i)):
                subst = True
            buf.append(c)
        elif c in "'\"":
            quote = c
            buf.append(c)
        elif c == "\\" and i + 1 < n:
            buf.append(text[i : i + 2])
            i += 1
        elif c in ";&|\n":
            if c in "&|" and text.startswith((c * 2, "|&"), i):
                i += 1
            if c == "&" and i > 0 and text[i - 1] in "<>":  # '2>&1' and '>&' are redirections, not separators
                buf.append(c)
            else:
                parts.append("".join(buf))
                buf = []
        else:
            if c == "`" or (c in "$<>" and text.startswith("(", i + 1)):
                subst = True
            buf.append(c)
        i += 1
    parts.append("".join(buf))
    normalized = tuple(p for p in (" ".join(p.split()) for p in parts) if p)
    return CommandLine(" ".join(text.split()), normalized, subst)
