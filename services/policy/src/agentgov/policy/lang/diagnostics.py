"""Diagnostics: every problem found in a bundle, with a stable code, a place and (often) a suggestion.

Codes are stable: scripts and editors may match on them, and tests pin each one
(``tests/broken/``). The table is :data:`CODES`; ``docs/language.md`` lists the same codes.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

Severity = Literal["error", "warning"]

CODES: Final[dict[str, tuple[str, Severity, str]]] = {
    # the document
    "AG001": ("yaml-syntax", "error", "the text is not valid YAML"),
    "AG002": ("duplicate-key", "error", "a mapping names the same key twice"),
    "AG003": ("not-a-bundle", "error", "the document is empty or not a mapping"),
    # structure
    "AG101": ("unknown-key", "error", "a key the language does not know (often a typo)"),
    "AG102": ("wrong-type", "error", "a value of the wrong type (a string where a list is expected …)"),
    "AG103": ("missing-required", "error", "a required key is missing"),
    "AG104": ("bad-value", "error", "a value outside its allowed set (an effect, a kind, a day …)"),
    "AG105": ("bad-api-version", "error", "apiVersion is not agentgov/v1"),
    "AG106": ("bad-kind", "error", "kind is not PolicyBundle"),
    "AG107": ("bad-id", "error", "a bundle, team, agent, rule or limit id is not a subject-safe token"),
    "AG108": ("duplicate-id", "error", "two rules or two rate limits share an id"),
    "AG109": ("out-of-range", "error", "a number outside its range (risk 0-100, limits >= 1 …)"),
    "AG110": ("bad-scope", "error", "metadata.scope is not '*' or 'org:<id>'"),
    "AG111": ("misplaced-key", "error", "a key its entry rules out (an approval on a rule that is not review)"),
    # values
    "AG201": ("bad-glob", "error", "a glob that cannot be compiled (an unclosed '[' …)"),
    "AG202": ("bad-path-pattern", "error", "a path glob that is not absolute ('/…', '~/…' or '**…')"),
    "AG203": ("bad-host", "error", "a host pattern that is not a host, '*.host', 'host:port' or an IP"),
    "AG204": ("bad-cidr", "error", "an IP network that does not parse (host bits set, bad prefix …)"),
    "AG205": ("bad-timezone", "error", "not an IANA time zone name"),
    "AG206": ("bad-duration", "error", "a duration that is not <n>s, <n>m, <n>h or <n>d"),
    "AG207": ("bad-rate", "error", "a rate that is not <count>/<duration>"),
    "AG208": ("bad-schedule", "error", "days or hours of a schedule window that do not parse"),
    "AG209": ("bad-thresholds", "error", "risk.review_at is not below risk.deny_at"),
    # CEL
    "AG301": ("cel-syntax", "error", "a rule's `when` is not a valid CEL expression"),
    "AG302": ("cel-unknown-variable", "error", "a rule's `when` reads a variable the context does not have"),
    # warnings
    "AG401": ("empty-list", "warning", "an empty list, which means the same as leaving the key out"),
}


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem in a bundle, at a 1-based line and column of ``file``."""

    code: str
    name: str
    severity: Severity
    message: str
    file: str
    line: int
    column: int
    suggestion: str | None = None

    def __str__(self) -> str:
        hint = f" (did you mean {self.suggestion!r}?)" if self.suggestion else ""
        return f"{self.file}:{self.line}:{self.column}: {self.severity} {self.code} {self.name}: {self.message}{hint}"

    @property
    def is_error(self) -> bool:
        """True for errors (a bundle with any error does not load); False for warnings."""
        return self.severity == "error"


class Sink:
    """Collects diagnostics for one source file."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.items: list[Diagnostic] = []

    def add(self, code: str, message: str, line: int, column: int, suggestion: str | None = None) -> None:
        """Record one diagnostic (``line``/``column`` 1-based)."""
        name, severity, _ = CODES[code]
        self.items.append(Diagnostic(code, name, severity, message, self.filename, line, column, suggestion))

    def sorted(self) -> list[Diagnostic]:
        """The diagnostics in file order."""
        return sorted(self.items, key=lambda d: (d.line, d.column, d.code))


def suggest(word: str, choices: Iterable[str]) -> str | None:
    """The closest of ``choices`` to a misspelled ``word``, if any is close enough."""
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None
