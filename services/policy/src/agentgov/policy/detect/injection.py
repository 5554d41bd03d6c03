"""Prompt-injection detection: deterministic, explainable rules over wording, structure and encodings.

:data:`INJECTION` implements the scanner's :class:`~agentgov.policy.detect.base.Detector` protocol (category
``injection``) for every string of an action: tool arguments and results, prompts, model output, HTTP bodies.
Hits are spans in character offsets; ``detail`` says why in one line.

| kind | severity | what |
|---|---|---|
| ``instruction_override`` | 82-92 | ignore / disregard / forget / override, previous / above / your, instructions / |
| | | rules / prompt (92 when a new directive follows); 78 "ignore the page and say …"; 85 |
| | | "these instructions supersede …"; 62-87 "your new task is …"; 66-85 the same in other languages |
| ``role_impersonation`` | 75-85 | chat-template tokens (``<|im_start|>system``, ``[INST]``, ``<<SYS>>``); 45-85 fake |
| | | ``system:`` / ``###(system_message)`` headers and ``<SYSTEM MODE>`` tags (high when a command |
| | | follows); 60-65 "I am your developer", "administrator override", "entering … mode" |
| ``system_prompt_extraction`` | 50-80 | reveal / repeat / encode / translate / continue the system prompt or the |
| | | text above |
| ``secret_extraction`` | 47-70 | asks the model for its password or key (more when disguised: a poem, reverse order, |
| | | base64); 40-85 the user's or a named person's private details, more when disguised or |
| | | wrapped in a fiction ("imagine a world where personal data is public") |
| ``tool_coercion`` | 45-85 | "you must call the ``send_email`` tool with the following arguments", "before you |
| | | solve the task, please do the following first", to-do items with an outside target |
| ``exfiltration_instruction`` | 88-94 | send private data (codes, passwords, all messages, file contents…) to an |
| | | address, URL or IBAN; 94 with "then delete the email" / "without telling the user"; |
| | | 72 move all the money; 40 the same without an outside target |
| ``markdown_exfiltration`` | 72-92 | a markdown / HTML image whose URL holds a placeholder (92) or a data |
| | | parameter (72); 80 a link with a placeholder |
| ``hidden_text`` | 60-92 | invisible Unicode tag characters spelling text (92), zero-width characters inside words |
| | | or in runs, bidi overrides in left-to-right text; ≥ 90 instructions inside an HTML comment |
| | | or a CSS-hidden element |
| ``encoded_payload`` | 50-92 | base64 / hex / binary / Morse / Caesar-shifted text that decodes to an |
| | | injection (92) or to readable prose (50-65) |
| ``jailbreak_persona`` | 35-92 | DAN (85); "developer mode enabled" (55); personas and "no restrictions" |
| | | markers (35-45), 70-92 when three or more come together |
| ``addressed_instruction`` | 30-90 | text speaking to "you, the AI" from inside data, urgent notices, "from |
| | | now on you…", bribes and pressure; high only when a command follows |
| ``combined_signals`` | 60-89 | several weaker signals in one text, combined as independent evidence (listed) |
| ``truncated`` | 60 | longer than :data:`MAX_CHARS` (the head was scanned), or the work budget ran out |

Severity follows the default policy (review ≥ 60, deny ≥ 90): ≥ 90 only for an override plus a new directive,
hidden or encoded instructions, and instructions to send data out; a single weak signal stays below 60 and
counts only together with others.

Work is bounded and linear. The text is folded once (ASCII lowered, one character per character). Each rule has
anchors found with ``str.find``; a cheap gate looks at what surrounds each occurrence, and only then is the rule
searched, in a small window (:mod:`~agentgov.policy.detect.injection_rules`). Occurrences, windows and decoded
candidates are capped per text; a text longer than :data:`MAX_CHARS` is cut. Hitting a cap adds a
``truncated`` hit, so nothing is skipped silently.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Iterable
from typing import Final

from agentgov.policy.detect.base import Category, Hit
from agentgov.policy.detect.injection_context import Rule
from agentgov.policy.detect.injection_gates import FOLLOW_ANCHORS, GATES
from agentgov.policy.detect.injection_hidden import (
    HIDDEN_CHARS,
    RunMap,
    decode_payloads,
    hidden_char_hits,
    hidden_regions,
    markdown_exfil_hits,
    may_be_encoded,
    preview,
    strip_hidden,
    suspicious,
    unstrip,
)
from agentgov.policy.detect.injection_lang import LATIN_HINTS, MAX_FOREIGN, foreign_hits, latin_hint, other_script
from agentgov.policy.detect.injection_rules import INSTRUCTION_RULES
from agentgov.policy.detect.injection_rules_agent import AGENT_RULES, JAILBREAK_RULES

__all__ = ["INJECTION", "MAX_CHARS", "InjectionDetector", "fold"]

MAX_CHARS: Final = 262_144
"""Longest text scanned; the rest of a longer one is skipped and reported as ``truncated``."""
_MAX_WINDOWS = 600  # rule searches per text, all anchors together
_MAX_INNER_WINDOWS = 60  # the same for a decoded payload or a passage read without its invisible characters
_HIDDEN_MARGIN = 300  # characters around an invisible character read again without it
_MAX_HIDDEN_SPOTS = 1_024
_MAX_HIDDEN_SPANS = 8
_MAX_GATES = 2_000  # anchor occurrences looked at per text
_GATE_REACH = 200  # characters after an anchor a gate or follow pattern may read
_MAX_PER_RULE = 24  # matches judged per rule and text
_MIN_CHARS = 8  # nothing shorter can hold an injection worth reporting
_SHORT = 4_096  # texts this short get the checks that cost a pass each over the text
_RARE_CHARS = frozenset("|[]<>{}@#")
_COMBINE_CAP = 89
_COMBINE_MIN = 30
_REVIEW = 60
#: Sources whose hits count as one piece of evidence per distinct detail rather than per span.
_DISTINCT_BY_DETAIL = frozenset({"hidden_chars", "encoded", "encoded_prose", "markdown", "foreign"})


_DECODE_ASK: Final = re.compile(
    r"(?<![\w.])(?:decode|decipher|decrypt|translate|interpret|convert)\b(?!\()[^.?!\n]{0,40}?\b(?:this|these|"
    r"the\s+following|it|string|message|text|code|cipher|payload)\b|\b(?:what\s+it\s+says|and\s+(?:follow|execute|"
    r"do|obey)\s+(?:it|them|the\s+instructions?))\b"
)
"""The text asks for an encoded run to be decoded (near the run): readable prose in it then counts for more."""
_RARE_ENCODINGS: Final = frozenset({"binary", "Morse code"})
_NO_HINTS: Final = frozenset(LATIN_HINTS)
_SHARED_STEMS: Final = (("ignor", "ignor"), ("passw", "password"), ("passw", "passwort"))
"""(anchor, other-language stem) pairs: the stem contains the anchor, so when the anchor is missing so is the stem."""
"""Encodings that ordinary data does not use for prose; base64 and hex are everyday transport encodings."""


_LATIN1_HEADER: Final = sys.getsizeof("\xe9") - 2


def _wide(text: str) -> bool:
    """Whether ``text`` has a character beyond Latin-1, read from the string's storage size (CPython's compact
    strings, PEP 393, store one byte per character up to U+00FF): no scan of the text."""
    return sys.getsizeof(text) > _LATIN1_HEADER + len(text) + 1


def fold(text: str) -> str:
    """``text`` lowered for the wording rules, one character for one character so that offsets stay the same.

    ASCII letters are lowered; typographic quotes and dashes become their ASCII forms; every other character
    outside Latin-1 becomes ``?``. The result is a one-byte-per-character string, on which substring search is
    fastest; the rules are written for ASCII wording anyway (other languages have their own tables, run on
    the original text).
    """
    if text.isascii():
        return text.lower()
    if _wide(text):
        for typographic, plain in _TYPOGRAPHIC:
            text = text.replace(typographic, plain)
    return text.encode("latin-1", "replace").lower().decode("latin-1")


_TYPOGRAPHIC: Final = (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"'), ("\u2014", "-"))
"""The typographic characters ordinary writing uses in the phrasings the rules look for, and their ASCII forms."""


class _Found:
    """Hits of one scan, with the rule each came from (for combining) and a per-span maximum."""

    __slots__ = ("anchors", "hits", "jailbreak", "judged", "present")

    def __init__(self) -> None:
        self.present: set[str] = set()
        self.judged: dict[str, int] = {}
        self.hits: list[tuple[str, Hit]] = []
        self.jailbreak: dict[str, Hit] = {}
        self.anchors: set[str] = set()

    def add(self, source: str, hit: Hit) -> None:
        self.hits.append((source, hit))

    def extend(self, source: str, hits: Iterable[Hit]) -> None:
        for h in hits:
            self.hits.append((source, h))


class _Anchor:
    """One anchor: its gate, the rules keyed on it (with their own follow patterns), and the window sizes."""

    __slots__ = ("both", "char", "follow", "lead", "lead_len", "needle", "rules")

    def __init__(self, needle: str, rules: list[Rule]) -> None:
        self.needle = needle
        self.follow, self.lead, self.lead_len, self.both = GATES.get(needle, (None, None, 0, False))
        self.rules = tuple(
            (r, re.compile(r.follow) if r.follow is not None and needle in FOLLOW_ANCHORS else None) for r in rules
        )
        if needle in FOLLOW_ANCHORS:  # the gate is "one of the rules' follow patterns"
            self.follow = re.compile("|".join(f"(?:{r.follow})" for r in rules if r.follow is not None))
        rare = [c for c in needle if c in _RARE_CHARS]
        self.char = rare[0] if rare else None
        """A rare character of the needle: when the text lacks it (one ``memchr``), the needle is not searched."""

    def opens(self, low: str, p: int) -> bool:
        """Whether the gate at occurrence ``p`` lets the rules run."""
        if self.follow is None and self.lead is None:
            return True
        end = p + len(self.needle)
        follows = self.follow is not None and self.follow.match(low, end, end + _GATE_REACH) is not None
        if follows != self.both:  # either: one passing is enough; both: one failing is enough to close
            return follows
        return self.lead is not None and self.lead.search(low, max(0, p - self.lead_len), p) is not None


class InjectionDetector:
    """Prompt-injection rules over one string. Stateless; one instance serves every scan."""

    category: Category = "injection"

    def __init__(self, rules: tuple[Rule, ...] = INSTRUCTION_RULES + AGENT_RULES) -> None:
        by_anchor: dict[str, list[Rule]] = {}
        for rule in rules:
            for a in rule.anchors:
                by_anchor.setdefault(a, []).append(rule)
        self._anchors = tuple(_Anchor(a, rs) for a, rs in sorted(by_anchor.items()))
        self._needles = tuple((a.needle, a.char, a) for a in self._anchors)

    def scan(self, text: str, key: str | None) -> list[Hit]:
        """Injection spans in ``text`` (``key``, the argument name, is not used: every string is judged alike)."""
        del key
        if len(text) < _MIN_CHARS:
            return []
        truncated = len(text) > MAX_CHARS
        if truncated:
            text = text[:MAX_CHARS]
        ascii_only = text.isascii()
        low = text.lower() if ascii_only else fold(text)
        present = self._present(low)
        view = RunMap(text)
        encoded = may_be_encoded(text, low, view)
        short = len(low) <= _SHORT
        hint: bool | None = None  # latin_hint(low), worked out at most once and only when asked
        if ascii_only and not present and not encoded and "<" not in text and "](" not in text:
            if short:
                hint = latin_hint(low)
            if not hint:
                return [_TRUNCATED] if truncated else []  # the common case: nothing any rule could match
        found = _Found()
        complete = self._words(low, found, present)
        if not ascii_only and (_wide(text) or "\xad" in text) and HIDDEN_CHARS.search(text) is not None:
            hidden = hidden_char_hits(text)
            found.extend("hidden_chars", hidden)
            if suspicious(hidden):
                self._without_hidden(text, found)
        if not ascii_only and _wide(text) and other_script(text[:MAX_FOREIGN]):
            found.extend("foreign", foreign_hits(text[:MAX_FOREIGN].lower(), scripts=True))
        else:
            self._foreign(low, found, present, short, hint)
        if "<" in text and ("<!--" in text or "style" in low):
            self._hidden_markup(low, found)
        if encoded:
            self._encoded(text, low, found, view)
        if "](" in text or ("<" in text and "<img" in low):
            found.extend("markdown", markdown_exfil_hits(text, low))
        hits = _finish(found)
        if truncated:
            hits.append(_TRUNCATED)
        if not complete:
            hits.append(
                Hit("truncated", 60, 0, len(text), "too many candidate phrases: the wording rules stopped part way")
            )
        return hits

    # -----------------------------------------------------------------------------------------------------

    def _present(self, low: str) -> list[tuple[_Anchor, int]]:
        """The anchors that occur in ``low``, each with its first occurrence (a ``memchr`` for the anchor's rare
        character if it has one, then a substring test; ``in`` is cheaper than ``find`` on the many short strings)."""
        return [(a, low.find(n)) for n, c, a in self._needles if (c is None or c in low) and n in low]

    def _words(self, low: str, found: _Found, present: list[tuple[_Anchor, int]], windows: int = _MAX_WINDOWS) -> bool:
        """Run the wording rules around the ``present`` anchors (from :meth:`_present`); False when the work budget
        ran out."""
        n = len(low)
        budget, gates = windows, _MAX_GATES
        seen: set[tuple[str, int]] = set()
        for anchor, first in present:
            found.present.add(anchor.needle)
            size = len(anchor.needle)
            p = first
            while p >= 0:
                gates -= 1
                if gates < 0:
                    return False
                if anchor.opens(low, p):
                    found.anchors.add(anchor.needle)
                    for rule, follow in anchor.rules:
                        if follow is not None and follow.match(low, p + size, p + size + _GATE_REACH) is None:
                            continue
                        if found.judged.get(rule.name, 0) >= _MAX_PER_RULE:
                            continue
                        budget -= 1
                        if budget < 0:
                            return False
                        lo, hi = max(0, p - rule.back), min(n, p + size + rule.fwd)
                        self._window(low, lo, hi, rule, found, seen)
                p = low.find(anchor.needle, p + 1)
        return True

    @staticmethod
    def _window(low: str, lo: int, hi: int, rule: Rule, found: _Found, seen: set[tuple[str, int]]) -> None:
        for m in rule.pattern.finditer(low, lo, hi):
            if (rule.name, m.start()) in seen:
                continue
            seen.add((rule.name, m.start()))
            found.judged[rule.name] = found.judged.get(rule.name, 0) + 1
            if found.judged[rule.name] > _MAX_PER_RULE:
                return
            severity = rule.severity if rule.check is None else rule.check(low, m, rule.severity)
            if severity is None:
                continue
            hit = Hit(rule.kind, severity, m.start(), m.end(), rule.detail)
            if rule.name in JAILBREAK_RULES:
                phrase = " ".join(m.group(0).split()[:3])
                if phrase not in found.jailbreak or found.jailbreak[phrase].severity < severity:
                    found.jailbreak[phrase] = hit
            found.add(rule.name, hit)

    def _without_hidden(self, text: str, found: _Found) -> None:
        """Read again, without the invisible characters, the passages around them (words split by zero-width
        characters are words again)."""
        spans: list[list[int]] = []
        for m in itertools.islice(HIDDEN_CHARS.finditer(text), _MAX_HIDDEN_SPOTS):
            lo, hi = max(0, m.start() - _HIDDEN_MARGIN), m.end() + _HIDDEN_MARGIN
            if spans and lo <= spans[-1][1]:
                spans[-1][1] = hi
            else:
                spans.append([lo, hi])
        for lo, hi in spans[:_MAX_HIDDEN_SPANS]:
            stripped = strip_hidden(text[lo:hi])
            if stripped is None:
                continue
            clean, removed = stripped
            shifted = [r - k for k, r in enumerate(removed)]
            clean_low = fold(clean)
            inner = _Found()
            self._words(clean_low, inner, self._present(clean_low), _MAX_INNER_WINDOWS)
            for source, h in inner.hits:
                found.add(source, _remap(h, shifted, lo))

    @staticmethod
    def _foreign(low: str, found: _Found, present: list[tuple[_Anchor, int]], short: bool, hint: bool | None) -> None:
        """Other-language overrides and password questions in text without a non-Latin script: looked for when
        ``ignor`` or ``passw`` occurs, or (in a short text) another language's hint (``hint``: :func:`latin_hint`
        of ``low`` when the caller worked it out, else None)."""
        if not (
            "ignor" in found.present
            or (short and ("passw" in found.present or (hint if hint is not None else (hint := latin_hint(low)))))
        ):
            return
        # Stems known to be missing from ``low`` are not searched again: the other languages' hints when
        # latin_hint said no, and the stems that contain an anchor that is missing.
        names = {a.needle for a, _ in present}
        absent = frozenset(stem for anchor, stem in _SHARED_STEMS if anchor not in names)
        if hint is False:
            absent |= _NO_HINTS
        found.extend("foreign", foreign_hits(low, scripts=False, absent=absent))

    def _hidden_markup(self, low: str, found: _Found) -> None:
        """Instructions inside HTML comments or invisible elements."""
        for start, end, what in hidden_regions(low):
            inner = [(s, h) for s, h in found.hits if start <= h.start and h.end <= end and h.severity >= 40]
            if not inner:
                continue
            best = max(h.severity for _, h in inner)
            found.add(
                "hidden_markup",
                Hit("hidden_text", max(90, best), start, end, f"instructions hidden in {what}"),
            )

    def _encoded(self, text: str, low: str, found: _Found, view: RunMap) -> None:
        """Encoded runs that decode to an injection (or to readable prose)."""
        for d in decode_payloads(text, low, view):
            inner = _Found()
            decoded_low = fold(d.text)
            self._words(decoded_low, inner, self._present(decoded_low), _MAX_INNER_WINDOWS)
            best = max((h for _, h in inner.hits), key=lambda h: h.severity, default=None)
            if best is not None and best.severity >= 45:
                found.add(
                    "encoded",
                    Hit(
                        "encoded_payload",
                        92,
                        d.start,
                        d.end,
                        f"{d.encoding} that decodes to {best.kind.replace('_', ' ')}: {preview(d.text)!r}",
                    ),
                )
            else:
                asked = _DECODE_ASK.search(low, max(0, d.start - 200), d.end + 200) is not None
                severity = 65 if asked else 60 if d.encoding in _RARE_ENCODINGS else 50
                found.add(
                    "encoded_prose",
                    Hit(
                        "encoded_payload",
                        severity,
                        d.start,
                        d.end,
                        f"{d.encoding} that decodes to text{' the model is asked to decode' if asked else ''}: "
                        f"{preview(d.text)!r}",
                    ),
                )


_TRUNCATED: Final = Hit("truncated", 60, MAX_CHARS, MAX_CHARS, f"only the first {MAX_CHARS:,} characters were scanned")


def _remap(hit: Hit, shifted: list[int], base: int) -> Hit:
    start = base + unstrip(hit.start, shifted)
    end = base + unstrip(max(hit.start, hit.end - 1), shifted) + 1
    return Hit(hit.kind, hit.severity, start, end, hit.detail + " (with invisible characters removed)")


def _finish(found: _Found) -> list[Hit]:
    """Jailbreak markers summed, weak signals combined, duplicates dropped, sorted by position."""
    hits = found.hits
    if not hits:
        return []
    markers = sorted(found.jailbreak.values(), key=lambda h: h.start)
    if len(markers) >= 3:
        strong = sum(h.severity >= 45 for h in markers)
        severity = 92 if len(markers) >= 5 and strong >= 3 else 80 if len(markers) >= 4 else 70
        names = ", ".join(sorted({h.detail for h in markers}))
        hits.append(
            (
                "jailbreak_sum",
                Hit(
                    "jailbreak_persona",
                    severity,
                    markers[0].start,
                    markers[-1].end,
                    f"{len(markers)} jailbreak markers together ({names})",
                ),
            )
        )
    per_source: dict[str, dict[str, Hit]] = {}
    for source, h in hits:
        phrases = per_source.setdefault(source, {})
        phrase = h.detail if source in _DISTINCT_BY_DETAIL else f"{h.start}:{h.end}"
        if phrase not in phrases or phrases[phrase].severity < h.severity:
            phrases[phrase] = h
    evidence = [max(phrases.values(), key=lambda h: h.severity) for phrases in per_source.values()]
    top = max((h.severity for h in evidence), default=0)
    signals = sorted((h for h in evidence if h.severity >= _COMBINE_MIN), key=lambda h: -h.severity)[:5]
    if len(signals) >= 2 and top < _COMBINE_CAP + 1:
        miss = 1.0
        for h in signals:
            miss *= 1 - h.severity / 100
        combined = min(_COMBINE_CAP, round(100 * (1 - miss)))
        if combined >= _REVIEW and combined > top:
            parts = "; ".join(f"{h.kind} {h.severity}: {h.detail}" for h in signals)
            hits.append(
                (
                    "combined",
                    Hit(
                        "combined_signals",
                        combined,
                        min(h.start for h in signals),
                        max(h.end for h in signals),
                        f"{len(signals)} weaker signals together ({parts})",
                    ),
                )
            )
    unique: dict[tuple[str, int, int], Hit] = {}
    for _, h in hits:
        k = (h.kind, h.start, h.end)
        if k not in unique or unique[k].severity < h.severity:
            unique[k] = h
    return sorted(unique.values(), key=lambda h: (h.start, -h.severity))


INJECTION: Final = InjectionDetector()
"""The detector the scanner uses."""
