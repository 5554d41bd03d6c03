"""A small built-in scanner for secrets and personal data in an action's target and arguments.

A :class:`Detector` finds spans in one string; a :class:`Scanner` runs its detectors over ``target`` and
every string inside ``args`` (recursively) and reports :class:`Finding` objects with the field path
(``target``, ``args.command``, ``args.arguments.text``, ``args.items[2]``) and **UTF-8 byte** offsets, the
form events carry. Richer detectors (entropy, provider-specific keys, NER for PII) plug in by implementing
``Detector``; nothing else changes.

Built in: the secret detectors of :mod:`agentgov.policy.detect.secrets` (provider key formats with their
checksums, private keys, connection strings, credential assignments, high-entropy values) and the
personal-data detectors of :mod:`agentgov.policy.detect.pii` (e-mail, phone, cards, IBANs, national ids,
IP addresses); each module's docstring lists its kinds and severities.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from agentgov.policy.detect.base import Category, Detector, Hit, RegexDetector
from agentgov.policy.detect.injection import INJECTION
from agentgov.policy.detect.pii import PII_DETECTORS
from agentgov.policy.detect.secrets import SECRET_DETECTORS, CredentialKeyDetector

__all__ = [
    "DEFAULT_SCANNER",
    "PII",
    "PII_DETECTORS",
    "SECRETS",
    "SECRET_DETECTORS",
    "Category",
    "CredentialKeyDetector",
    "Detector",
    "Finding",
    "Hit",
    "RegexDetector",
    "Scanner",
]

SECRETS: Final = SECRET_DETECTORS
"""The built-in secret detectors (:mod:`agentgov.policy.detect.secrets`), a tuple; kept under its old name."""
PII: Final = PII_DETECTORS
"""The built-in personal-data detectors (:mod:`agentgov.policy.detect.pii`), a tuple; kept under its old name."""


@dataclass(frozen=True, slots=True)
class Finding:
    """One detected value: what it is, where (field path, UTF-8 byte and character offsets), and the value."""

    category: Category
    kind: str
    severity: int
    field: str
    start: int
    end: int
    char_start: int
    char_end: int
    value: str
    detail: str = ""
    """One line saying why (the detector's explanation; empty when the kind says it)."""


class Scanner:
    """Runs detectors over an action's target and arguments."""

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self.detectors = tuple(detectors)
        self._by_choice = {
            (pii, others): tuple(
                d for d in self.detectors if d.category == "secret" or (pii if d.category == "pii" else others)
            )
            for pii in (False, True)
            for others in (False, True)
        }

    def scan(self, target: str | None, args: dict[str, Any], pii: bool = True, others: bool = True) -> list[Finding]:
        """Every finding, in field order then offset; overlapping secret and personal-data spans in one field
        keep the first (findings of other categories, such as a prompt injection, may span them).

        Secret detectors always run; ``pii=False`` leaves out personal data (looked for only when a bundle
        asks), ``others=False`` every other category (prompt injection): sanitizing needs only secrets.
        """
        detectors = self._by_choice[(pii, others)]
        found: list[Finding] = []
        if target:
            self._scan_one(detectors, target, "target", None, found)
        if args:
            self._walk(detectors, args, "args", found)
        return found

    def _walk(
        self, detectors: tuple[Detector, ...], value: Any, path: str, out: list[Finding], key: str | None = None
    ) -> None:
        """Scan every string below ``value`` (a dict or list at ``path``; list items keep their list's key)."""
        items = value.items() if isinstance(value, dict) else enumerate(value)
        for k, v in items:
            name = k if isinstance(k, str) else key
            if isinstance(v, str):
                if v:
                    self._scan_one(detectors, v, _child(path, k), name, out)
            elif isinstance(v, dict | list | tuple):
                self._walk(detectors, v, _child(path, k), out, name)

    def _scan_one(
        self, detectors: tuple[Detector, ...], text: str, path: str, key: str | None, out: list[Finding]
    ) -> None:
        hits: list[tuple[Category, Hit]] = []
        for d in detectors:
            found = d.scan(text, key)
            if found:
                hits += [(d.category, h) for h in found]
        if not hits:
            return
        hits.sort(key=lambda ch: (ch[1].start, -ch[1].end))
        ascii_only = text.isascii()
        last_end = -1
        for category, h in hits:
            if category in _REMOVABLE:  # removed values must not overlap; other findings may span them
                if h.start < last_end:
                    continue
                last_end = h.end
            b0 = h.start if ascii_only else len(text[: h.start].encode())
            b1 = h.end if ascii_only else b0 + len(text[h.start : h.end].encode())
            out.append(
                Finding(category, h.kind, h.severity, path, b0, b1, h.start, h.end, text[h.start : h.end], h.detail)
            )


_REMOVABLE: Final = frozenset({"secret", "pii"})
"""Categories whose values redaction may remove: overlapping spans among them keep the first (longest)."""


def _child(path: str, key: object) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"


DEFAULT_SCANNER: Final = Scanner([*SECRET_DETECTORS, *PII_DETECTORS, INJECTION])
"""Secrets first, then personal data: on a tie (same span) the earlier detector's finding is kept."""
