"""Personal data in one string: e-mail addresses, phone numbers, payment cards, IBANs, national ids, IPs.

A pattern proposes a candidate, a check confirms it (:mod:`agentgov.policy.detect.validated`), and the
hit's ``detail`` says which rule held. Every pattern is linear (possessive or bounded repeats, no nested
quantifier that can backtrack). Numbers are found in one pass (:class:`NumberDetector`): every pattern that
needs digits starts at a digit, so the regex engine skips the rest of the text cheaply.

| kind | severity | what is reported |
|---|---|---|
| ``email`` | 20 | ``local@domain.tld``; not URL credentials (``://user:pass@host``), ``git@host:`` remotes, |
| | | file names (``icon@2x.png``) |
| ``phone`` | 20 | ``+`` or ``00`` and a country code with 8-15 digits; North American ``(NPA) NXX-XXXX``, |
| | | ``NPA-NXX-XXXX``, ``NPA.NXX.XXXX``; trunk-prefixed national numbers (``020 7946 0958``); area code |
| | | in parentheses; any other grouping (or a plain run) only next to a word such as *phone*, *tel*, |
| | | *mobile*, *fax*, *call*; ``x123`` extensions. Dates, versions, IPs and decimals are not phones |
| ``payment_card`` | 60 | 13-19 digits (spaces or dashes between groups), issuer prefix, Luhn; 12-19 digits with Luhn |
| | | next to a word such as *card*, *credit*, *cc* |
| ``iban`` | 50 | country, check digits, the country's length, mod 97 |
| ``national_id`` | 60 | US SSN (``AAA-GG-SSSS``, area/group/serial rules; 9 plain digits only near *SSN*), UK NINO, |
| | | Spanish DNI/NIE (check letter), French NIR (key), Indian Aadhaar (Verhoeff; grouped 4-4-4 or |
| | | near *Aadhaar*), Dutch BSN (11-test, only near *BSN*); ``detail`` names the scheme |
| ``ip_address`` | 10 | IPv4 / IPv6 that parse; loopback, unspecified and documentation ranges skipped |
"""

from __future__ import annotations

import re
from typing import Final

from agentgov.policy.detect.base import MAX_CANDIDATES, MAX_HITS, Category, Hit, truncated
from agentgov.policy.detect.validated import (
    aadhaar_ok,
    bsn_ok,
    card_ok,
    digits_of,
    dni_ok,
    iban_ok,
    ip_ok,
    luhn_ok,
    nino_ok,
    nir_ok,
    ssn_ok,
)

__all__ = ["EMAILS", "IPV6", "NUMBERS", "PII_DETECTORS", "EmailDetector", "NumberDetector"]


def _near(words: _Words, text: str, start: int, before: int = 48) -> bool:
    """True when one of ``words`` occurs in the ``before`` characters ahead of ``start``."""
    return words.search(text[max(0, start - before) : start].lower()) is not None


class _Words:
    """A lowercase word pattern behind a cheap gate: literals one of which every match contains.

    The word patterns start with ``\\b`` and alternate a dozen words, so the regex engine tries each word at
    every position (about 30 µs for 48 characters); the gate, plain literals, fails in about 1 µs, and
    almost every window around a number has none of the words.
    """

    __slots__ = ("_gate", "_pattern")

    def __init__(self, pattern: str, hints: tuple[str, ...]) -> None:
        self._pattern = re.compile(pattern)
        self._gate = re.compile("|".join(hints))

    def search(self, lowered: str) -> re.Match[str] | None:
        """The pattern's first match in ``lowered``, as ``re.Pattern.search``."""
        return None if self._gate.search(lowered) is None else self._pattern.search(lowered)

    def match(self, lowered: str) -> re.Match[str] | None:
        """The pattern's match at the start of ``lowered``, as ``re.Pattern.match``."""
        return None if self._gate.search(lowered) is None else self._pattern.match(lowered)


# ---------------------------------------------------------------- e-mail

_LOCAL: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_DOMAIN: Final = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}+)(?:\.[A-Za-z0-9-]{1,63}+){1,8}+(?![\w@-])")
_NOT_TLD: Final = frozenset(
    [
        "png",
        "jpg",
        "jpeg",
        "gif",
        "svg",
        "webp",
        "ico",
        "bmp",
        "js",
        "mjs",
        "ts",
        "tsx",
        "jsx",
        "css",
        "map",
        "py",
        "rb",
        "go",
        "rs",
        "json",
        "yaml",
        "yml",
        "toml",
        "txt",
        "md",
        "html",
        "lock",
    ]
)


class EmailDetector:
    """``local@domain.tld``, found from each ``@`` (so text without one costs a substring test)."""

    category: Category = "pii"

    def scan(self, text: str, key: str | None) -> list[Hit]:
        """Every address; not URL credentials, ``git@host:`` remotes or ``icon@2x.png``."""
        hits: list[Hit] = []
        at = text.find("@")
        budget = MAX_CANDIDATES
        while at > 0:
            budget -= 1
            if budget < 0 or len(hits) >= MAX_HITS:
                hits.append(truncated("pii", at, len(text), "too many @ signs"))
                return hits
            start = at
            while start > 0 and at - start < 64 and text[start - 1] in _LOCAL:
                start -= 1
            m = _DOMAIN.match(text, at + 1)
            if start < at and m is not None and self._ok(text, start, m.end()):
                hits.append(Hit("email", 20, start, m.end()))
            at = text.find("@", at + 1)
        return hits

    @staticmethod
    def _ok(text: str, start: int, end: int) -> bool:
        tld = text[text.rfind(".", start, end) + 1 : end]
        if not (2 <= len(tld) <= 24 and tld.isalpha()) or tld.lower() in _NOT_TLD or text[start] in ".-+":
            return False
        before = text[start - 1] if start else ""
        if before == ":" and text[max(0, start - 7) : start].lower() != "mailto:":
            return False  # URL credentials (a secret detector reports them)
        if before in ("/", "@") or (before.isascii() and before.isalnum()):
            return False
        return not (end < len(text) and text[end] == ":" and text[end + 1 : end + 2] not in ("", " "))


EMAILS: Final = EmailDetector()


# ---------------------------------------------------------------- numbers: cards, phones, ids, IBANs, IPv4

_NUMBER: Final = re.compile(
    r"[0-9](?:(?<![\w.,/#-][0-9])(?:"
    r"(?P<ip>[0-9]{0,2}+\.[0-9]{1,3}+\.[0-9]{1,3}+\.[0-9]{1,3}+)(?![0-9]|\.[0-9])"
    r"|(?P<num>(?:[ ().-]{0,2}+[0-9]){6,22}+)(?P<letter>-?[A-Z](?![A-Za-z0-9]))?)"
    r"|(?<=(?<![A-Za-z0-9])[A-Z]{2}[0-9])(?:(?P<iban>[0-9](?: ?[A-Z0-9]{4}){2,7}+(?: ?[A-Z0-9]{1,3})?)"
    r"|(?P<nino1>[0-9]{5}[A-D]))(?![A-Za-z0-9])"
    r"|(?<=(?<![A-Za-z0-9])[A-Z]{2} [0-9])(?P<nino2>[0-9] [0-9]{2} [0-9]{2} [A-D])(?![A-Za-z0-9])"
    r"|(?<=(?<![A-Za-z0-9])[XYZ][0-9])(?P<nie>[0-9]{6}-?[A-Z])(?![A-Za-z0-9]))"
)
_PHONE_HINTS: Final = ("ph", "tel", "mobil", "cell", "fax", "call", "sms", "whatsapp", "dial", "contact", "vil", "line",
                       "ring", "text")  # fmt: skip
_ID_HINTS: Final = ("ssn", "social", "aadha", "uid", "bsn", "burgerservice", "sofi")
_CONTEXT_WORDS: Final = _Words(
    r"(?:phone|\btel\b|tel[:.]|telefon|mobile?\b|\bcell|\bfax\b|\bcall\b|\bcalled\b|\bsms\b|whatsapp|\bdial"
    r"|\bcontact\b|\bph\b|\bph[:.]|m[oó]vil|landline|hotline|\bring\b|\btext (?:me|us)\b"
    r"|\bssn\b|social security|aadhaa?r|\buid\b|\bbsn\b|burgerservice|sofi)",
    _PHONE_HINTS + _ID_HINTS,
)
_DOC_V4: Final = ("192.0.2.", "198.51.100.", "203.0.113.")
_PHONE_WORDS: Final = _Words(
    r"(?:phone|\btel\b|tel[:.]|telefon|mobile?\b|\bcell|\bfax\b|\bcall\b|\bcalled\b|\bsms\b|whatsapp|\bdial"
    r"|\bcontact\b|\bph\b|\bph[:.]|m[oó]vil|landline|hotline|\bring\b|\btext (?:me|us)\b)",
    _PHONE_HINTS,
)
_ID_WORDS: Final = _Words(r"(?:\bssn\b|social security|aadhaa?r|\buid\b|\bbsn\b|burgerservice|sofi)", _ID_HINTS)
_DATE: Final = re.compile(
    r"(?:19|20)[0-9]{2}([-./ ])[01]?[0-9]\1[0-3]?[0-9]|[0-3]?[0-9]([-./ ])[01]?[0-9]\2(?:19|20)?[0-9]{2}"
    r"|[01]?[0-9]([-./])[0-3]?[0-9]\3(?:19|20)[0-9]{2}"
)
_NANP: Final = re.compile(r"(?:1[ .-]?)?(?:\([1-9][0-9]{2}\) ?|[1-9][0-9]{2}([-.]))[0-9]{3}(?(1)\1|[-. ])[0-9]{4}")
_SSN: Final = re.compile(r"[0-9]{3}([- ])[0-9]{2}\1[0-9]{4}")
_AADHAAR: Final = re.compile(r"[2-9][0-9]{3} [0-9]{4} [0-9]{4}")
_NIR: Final = re.compile(r"[12] ?[0-9]{2} ?[0-9]{2} ?(?:[0-9]{2}|2[AB]) ?[0-9]{3} ?[0-9]{3} ?[0-9]{2}")
_SPLIT: Final = re.compile(r"[ .()-]+")
_EXTENSION: Final = re.compile(r"(?: ?(?:x|ext\.?) ?)[0-9]{1,5}(?![\w])")
_CARD_WORDS: Final = _Words(
    r"(?:\bcard|\bcc\b|credit|debit|visa|master ?card|amex|maestro|\bpan\b)",
    ("card", "cc", "credit", "debit", "visa", "amex", "maestro", "pan"),
)


class NumberDetector:
    """Every personal number in one pass over the digits: cards, national ids, IBANs, phones, IPv4.

    One pattern finds each run of digits and separators (and the letters IBANs, NINOs and NIEs put around
    digits); :meth:`_classify` tries the formats most specific first: card, national id, phone.
    """

    category: Category = "pii"

    def scan(self, text: str, key: str | None) -> list[Hit]:
        """Every confirmed number."""
        hits: list[Hit] = []
        for n, m in enumerate(_NUMBER.finditer(text)):
            if n >= MAX_CANDIDATES or len(hits) >= MAX_HITS:
                hits.append(truncated("pii", m.start(), len(text), "too many numbers"))
                return hits
            hit = self._classify(text, m)
            if hit is not None:
                hits.append(hit)
        return hits

    def _classify(self, text: str, m: re.Match[str]) -> Hit | None:
        group = m.lastgroup
        if group == "ip":
            return Hit("ip_address", 10, m.start(), m.end()) if _ipv4_ok(m.group()) else None
        if group == "iban":
            s = m.start() - 2
            ok = iban_ok(text[s : m.end()])
            return Hit("iban", 50, s, m.end(), "country length and mod-97 check digits") if ok else None
        if group in ("nino1", "nino2"):
            s = m.start() - (2 if group == "nino1" else 3)
            ok = nino_ok(text[s : m.end()])
            return Hit("national_id", 60, s, m.end(), "UK national insurance number") if ok else None
        if group == "nie":
            s = m.start() - 1
            ok = dni_ok(text[s : m.end()])
            return Hit("national_id", 60, s, m.end(), "Spanish NIE check letter") if ok else None
        start, end = m.start(), m.end("num")
        if text[end - 1] in " ().-":
            end -= 1
        value = text[start:end]
        if m.group("letter") is not None:
            ok = dni_ok(text[start : m.end()])
            return Hit("national_id", 60, start, m.end(), "Spanish DNI check letter") if ok else None
        if value.isdigit():
            return self._plain(text, value, start, end)
        if _DATE.fullmatch(value) is not None:
            return None
        ext = _EXTENSION.match(text, end)
        if ext is not None:
            hit = _phone(text, value, start, end)
            return None if hit is None else Hit("phone", 20, hit.start, ext.end(), hit.detail + " with an extension")
        if end < len(text) and (text[end].isalnum() or text[end] in "_@/" or (text.startswith((".", ","), end)
                                and text[end + 1 : end + 2].isdigit())):  # fmt: skip
            return None
        return (
            self._card(value, start, end) or self._national(text, value, start, end) or _phone(text, value, start, end)
        )

    def _plain(self, text: str, value: str, start: int, end: int) -> Hit | None:
        """A run of digits without separators: a card by Luhn, otherwise only next to a phone or id word."""
        n = len(value)
        ext = _EXTENSION.match(text, end)
        if ext is not None:
            hit = _phone(text, value, start, end)
            return None if hit is None else Hit("phone", 20, hit.start, ext.end(), hit.detail + " with an extension")
        if end < len(text) and (text[end].isalnum() or text[end] in "_@/"):
            return None
        if 13 <= n <= 19 and card_ok(value):
            return Hit("payment_card", 60, start, end, "issuer prefix and Luhn checksum")
        if 12 <= n <= 19 and luhn_ok(value) and _near(_CARD_WORDS, text, start, 40):
            return Hit("payment_card", 60, start, end, "Luhn checksum next to a card word")
        if not 7 <= n <= 12 or not _near(_CONTEXT_WORDS, text, start):
            return None
        return self._national(text, value, start, end) or _phone(text, value, start, end)

    @staticmethod
    def _card(value: str, start: int, end: int) -> Hit | None:
        if (" " in value and "-" in value) or "." in value or "(" in value or not card_ok(value):
            return None
        return Hit("payment_card", 60, start, end, "issuer prefix and Luhn checksum")

    @staticmethod
    def _national(text: str, value: str, start: int, end: int) -> Hit | None:
        if _SSN.fullmatch(value):
            return Hit("national_id", 60, start, end, "US social security number") if ssn_ok(digits_of(value)) else None
        if _AADHAAR.fullmatch(value) and aadhaar_ok(digits_of(value)):
            return Hit("national_id", 60, start, end, "Indian Aadhaar (Verhoeff)")
        if _NIR.fullmatch(value) and nir_ok(value):
            return Hit("national_id", 60, start, end, "French NIR key")
        digits = digits_of(value)
        if len(digits) not in (9, 12):
            return None
        near = _ID_WORDS.search(text[max(0, start - 48) : start].lower())
        if near is None:
            return None
        word = near.group().lower()
        if word in ("ssn", "social security"):
            return Hit("national_id", 60, start, end, "US social security number") if ssn_ok(digits) else None
        if word.startswith("aadha") or word == "uid":
            return Hit("national_id", 60, start, end, "Indian Aadhaar (Verhoeff)") if aadhaar_ok(digits) else None
        return Hit("national_id", 60, start, end, "Dutch BSN (11-test)") if bsn_ok(digits) else None


def _phone(text: str, value: str, start: int, end: int) -> Hit | None:
    """A phone number: international, North American, trunk-prefixed national, or any grouping near a phone word."""
    if start and text[start - 1] == "+":
        start -= 1
        value = "+" + value
    elif start and text[start - 1] == "(" and ")" in value:
        start -= 1
        value = "(" + value
    digits = digits_of(value)
    n = len(digits)
    if value[0] == "+":
        ok = 8 <= n <= 15 and (value[1:2] != "0")
        return Hit("phone", 20, start, end, "international format") if ok else None
    if value.startswith("00") and value[2] != "0" and 10 <= n <= 17 and not value[2:].isdigit():
        return Hit("phone", 20, start, end, "international format (00 prefix)")
    if not 7 <= n <= 12 or _DATE.fullmatch(value) is not None:
        return None
    groups = [g for g in _SPLIT.split(value) if g]
    if "." in value and len(groups) == 4 and all(len(g) <= 3 for g in groups):
        return None  # an IPv4 address
    if _NANP.fullmatch(value) is not None:
        return Hit("phone", 20, start, end, "North American format")
    if _near(_PHONE_WORDS, text, start) or _PHONE_WORDS.match(text[end + 1 : end + 12].lower()) is not None:
        return Hit("phone", 20, start, end, "next to a phone word")
    if len(groups) < 2 or len(groups[-1]) < 2:
        return None
    if value[0] == "(" and n >= 9:
        return Hit("phone", 20, start, end, "area code in parentheses")
    if digits[0] == "0" and digits[1] != "0" and 9 <= n <= 11:
        return Hit("phone", 20, start, end, "national format with trunk prefix")
    return None


def _ipv4_ok(value: str) -> bool:
    """A dotted quad with octets up to 255, not 0.x, loopback or a documentation range."""
    parts = value.split(".")
    if any((len(p) > 1 and p[0] == "0") or int(p) > 255 for p in parts) or parts[0] in ("0", "127"):
        return False
    return not value.startswith(_DOC_V4)


NUMBERS: Final = NumberDetector()


# ---------------------------------------------------------------- IPv6

_IPV6_HINT: Final = re.compile(r":[0-9A-Fa-f]{0,4}:")
_IPV6: Final = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")


class Ipv6Detector:
    """IPv6 addresses that parse (loopback, unspecified and documentation ranges skipped)."""

    category: Category = "pii"

    def scan(self, text: str, key: str | None) -> list[Hit]:
        """Every address, looked for around each ``:hex:``."""
        hits: list[Hit] = []
        searched = -1
        budget = MAX_CANDIDATES
        for hint in _IPV6_HINT.finditer(text):
            if hint.start() < searched:
                continue  # already inside a window searched whole
            budget -= 1
            if budget < 0 or len(hits) >= MAX_HITS:
                hits.append(truncated("pii", hint.start(), len(text), "too many colon groups"))
                return hits
            lo, searched = max(0, hint.start() - 40, searched), hint.end() + 40
            if text.find("::", lo, searched) < 0 and text.count(":", lo, searched) < 7:
                continue  # what the window holds can be neither form reported (timestamps, ``a:b:c``)
            for m in _IPV6.finditer(text, lo, searched):
                value = m.group()
                if ("::" in value or value.count(":") == 7) and value.strip(":0") and ip_ok(value):
                    hits.append(Hit("ip_address", 10, m.start(), m.end()))
        return hits


IPV6: Final = Ipv6Detector()

PII_DETECTORS: Final = (EMAILS, NUMBERS, IPV6)
"""The personal-data detectors :data:`agentgov.policy.lang.scanner.DEFAULT_SCANNER` runs."""
