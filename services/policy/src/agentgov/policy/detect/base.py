"""What every text detector shares: the categories, a hit (a span in one string), the Detector protocol, and
the regex detector most of them are built on.

A :class:`Detector` looks at one string (and the name of the argument holding it) and returns
:class:`Hit` objects in **character** offsets; :class:`agentgov.policy.lang.scanner.Scanner` walks an
action's fields, runs the detectors and turns hits into findings with UTF-8 byte offsets. This module has no
other imports from the policy package, so detectors can live anywhere under ``detect`` without cycles.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol

Category = Literal["secret", "pii", "injection", "shell", "session"]
"""What a finding is about. ``shell`` findings come from the command analyzer (:mod:`agentgov.policy.detect.shell`)
and ``session`` findings from session taint (:mod:`agentgov.policy.detect.taint`), not from a Detector."""


@dataclass(frozen=True, slots=True)
class Hit:
    """A detector's span in one string, in character offsets."""

    kind: str
    severity: int
    start: int
    end: int
    detail: str = ""
    """One line saying why, for people reading the decision (empty: the kind says it)."""


MAX_HITS: Final = 256
"""Hits one detector reports in one string; past it the detector stops and reports :func:`truncated`."""
MAX_CANDIDATES: Final = 512
"""Candidates (token runs, numbers, ``@`` signs, credential names …) one detector examines in one string."""


def truncated(category: Category, at: int, length: int, why: str) -> Hit:
    """The hit a detector reports when a bound stopped it at ``at`` of a string of ``length`` characters.

    A secret detector's covers the unread rest (``at`` to the end), so redaction removes it: text nobody
    looked at may hold a credential. Other categories' hits are empty spans at the end of the string (as the
    injection detector's own), so they never overlap a value that redaction removes.
    """
    start = at if category == "secret" else length
    return Hit("truncated", 60, start, length, f"{why}; the rest of the text was not scanned for {category} data")


class Detector(Protocol):
    """Finds sensitive spans in a string."""

    category: Category

    def scan(self, text: str, key: str | None) -> list[Hit]:
        """Spans in ``text``; ``key`` is the name of the argument holding it, if any."""
        ...


class RegexDetector:
    """Detectors as (kind, severity, pattern, needles) entries.

    A pattern's group 1, if it has one, is the part reported. ``needles`` are lowercase substrings one of
    which every match contains: a pattern runs only on strings that contain a needle, which keeps the
    common case (nothing to find) at a few substring tests instead of a regex per pattern.
    """

    def __init__(self, category: Category, patterns: Sequence[tuple[str, int, str, tuple[str, ...]]]) -> None:
        self.category: Category = category
        self._patterns = tuple((kind, sev, re.compile(p), needles) for kind, sev, p, needles in patterns)
        every = [n for *_, needles in patterns for n in needles]
        always = any(not needles for *_, needles in patterns)
        self._gate = None if always else re.compile("|".join(re.escape(n) for n in every))

    def scan(self, text: str, key: str | None) -> list[Hit]:
        """Every match of every pattern."""
        lowered = text.lower()
        if self._gate is not None and self._gate.search(lowered) is None:
            return []
        hits: list[Hit] = []
        for kind, severity, pattern, needles in self._patterns:
            if needles and not _contains_any(lowered, needles):
                continue
            for m in pattern.finditer(text):
                g = 1 if m.re.groups else 0
                if m.start(g) < m.end(g):
                    if len(hits) >= MAX_HITS:
                        hits.append(truncated(self.category, m.start(g), len(text), f"over {MAX_HITS} matches"))
                        return hits
                    hits.append(Hit(kind, severity, m.start(g), m.end(g)))
        return hits


def _contains_any(text: str, needles: tuple[str, ...]) -> bool:
    return any(n in text for n in needles)
