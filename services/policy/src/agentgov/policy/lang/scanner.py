"""A small built-in scanner for secrets and personal data in an action's target and arguments.

A :class:`Detector` finds spans in one string; a :class:`Scanner` runs its detectors over ``target`` and
every string inside ``args`` (recursively) and reports :class:`Finding` objects with the field path
(``target``, ``args.command``, ``args.arguments.text``, ``args.items[2]``) and **UTF-8 byte** offsets, the
form events carry. Richer detectors (entropy, provider-specific keys, NER for PII) plug in by implementing
``Detector``; nothing else changes.

Built in: AWS access key ids, GitHub tokens, Slack tokens, PEM private key blocks, ``Bearer`` tokens,
``password=``/``secret=``/``token=``/``api_key=`` assignments, string values of argument keys named like a
credential (``password``, ``api_key``, ``authorization`` …); personal data: e-mail addresses and phone
numbers. All patterns are compiled at import time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from agentgov.policy.detect.base import Category, Detector, Hit, RegexDetector

__all__ = ["DEFAULT_SCANNER", "Category", "Detector", "Finding", "Hit", "RegexDetector", "Scanner"]


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


_CREDENTIAL_KEY: Final = re.compile(
    r"(?:^|_)(?:password|passwd|secret|api_?key|access_token|refresh_token|auth_token|private_key|authorization"
    r"|client_secret|token)$"
)


class CredentialKeyDetector:
    """The whole string value of an argument whose key names a credential (``password``, ``api_key`` …)."""

    category: Category = "secret"

    def __init__(self) -> None:
        self._known: dict[str, bool] = {}
        """Key names already classified (bounded: cleared when it grows past 4096)."""

    def scan(self, text: str, key: str | None) -> list[Hit]:
        """One hit covering ``text`` when ``key`` looks like a credential name."""
        if not key or not text:
            return []
        named = self._known.get(key)
        if named is None:
            if len(self._known) > 4096:
                self._known.clear()
            named = self._known[key] = _CREDENTIAL_KEY.search(key.lower().replace("-", "_")) is not None
        return [Hit("credential_field", 60, 0, len(text))] if named else []


_PEM: Final = r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----(?s:.*?-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|.*)"
_AWS: Final = ("akia", "asia", "agpa", "aida", "aroa", "anpa", "anva", "aipa")

SECRETS: Final = RegexDetector(
    "secret",
    [
        ("private_key", 90, _PEM, ("private key",)),
        ("aws_access_key", 80, r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b", _AWS),
        ("github_token", 80, r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b", ("gh",)),
        ("slack_token", 70, r"\bxox[baprs]-[A-Za-z0-9-]{10,}", ("xox",)),
        ("bearer_token", 60, r"\bBearer\s+([A-Za-z0-9._~+/=-]{8,})", ("bearer",)),
        ("credential_assignment", 60,
            r"(?i:\b(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret)[\"']?\s*[=:]\s*"
            r"[\"']?([^\s\"'&;,]{4,}))", ("pass", "pwd", "secret", "token", "key")),
    ],
)  # fmt: skip

PII: Final = RegexDetector(
    "pii",
    [
        ("email", 20, r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}", ("@",)),
        ("phone", 20,
            r"(?<![\w+])(?:\+[1-9]\d{0,2}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){1,4}"
            r"|\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4})(?!\w)", ()),
    ],
)  # fmt: skip


class Scanner:
    """Runs detectors over an action's target and arguments."""

    def __init__(self, detectors: Sequence[Detector]) -> None:
        self.detectors = tuple(detectors)
        self._secret_detectors = tuple(d for d in self.detectors if d.category != "pii")

    def scan(self, target: str | None, args: dict[str, Any], pii: bool = True) -> list[Finding]:
        """Every finding, in field order then offset; overlapping spans in one field keep the first.

        ``pii=False`` runs only the secret detectors (personal data is looked for only when a bundle asks).
        """
        detectors = self.detectors if pii else self._secret_detectors
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
            if h.start < last_end:
                continue
            last_end = h.end
            b0 = h.start if ascii_only else len(text[: h.start].encode())
            b1 = h.end if ascii_only else b0 + len(text[h.start : h.end].encode())
            out.append(
                Finding(category, h.kind, h.severity, path, b0, b1, h.start, h.end, text[h.start : h.end], h.detail)
            )


def _child(path: str, key: object) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}"


DEFAULT_SCANNER: Final = Scanner([SECRETS, CredentialKeyDetector(), PII])
