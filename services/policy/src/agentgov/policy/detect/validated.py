"""Personal data whose format carries a check: payment cards (Luhn), IBANs (ISO 13616 mod 97), IP addresses.

A pattern proposes a candidate and a validator confirms it, so a random 16-digit order number or an
`ABCD1234…` reference is not reported as a card or an IBAN. These are :class:`~agentgov.policy.lang.scanner.Detector`
implementations (category ``pii``): the scanner runs them beside the built-in ones.

- ``payment_card`` (severity 60): 13-19 digits, optionally grouped by spaces or dashes; a known issuer
  prefix and the Luhn checksum.
- ``iban`` (50): country code, 2 check digits, 11-30 alphanumerics (spaces between groups of 4); the
  country's length and mod 97 = 1.
- ``ip_address`` (10): dotted IPv4 or IPv6 that :mod:`ipaddress` parses; loopback, unspecified and
  documentation ranges are skipped.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Final

from agentgov.policy.detect.base import Category, Hit

_CARD: Final = re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])")
_IBAN: Final = re.compile(r"\b([A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?)\b")
_IPV4: Final = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.])")
_IPV6: Final = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")

# Lengths per country for the countries most often seen (ISO 13616 registry); others: 15-34.
_IBAN_LENGTH: Final = {
    "AT": 20, "BE": 16, "CH": 21, "CZ": 24, "DE": 22, "DK": 18, "ES": 24, "FI": 18, "FR": 27, "GB": 22,
    "GR": 27, "HU": 28, "IE": 22, "IT": 27, "LU": 20, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "SE": 24,
}  # fmt: skip
_CARD_PREFIXES: Final = ("4", "2", "5", "34", "37", "6", "35", "30", "36", "38", "39")


def luhn_ok(digits: str) -> bool:
    """True when the digit string passes the Luhn checksum."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_ok(candidate: str) -> bool:
    """A plausible payment card number: 13-19 digits, a known issuer prefix, Luhn valid, not all one digit."""
    digits = candidate.replace(" ", "").replace("-", "")
    if not 13 <= len(digits) <= 19 or len(set(digits)) == 1:
        return False
    return digits.startswith(_CARD_PREFIXES) and luhn_ok(digits)


def iban_ok(candidate: str) -> bool:
    """An IBAN with the right length for its country and a mod-97 remainder of 1."""
    iban = candidate.replace(" ", "")
    want = _IBAN_LENGTH.get(iban[:2])
    if (want is not None and len(iban) != want) or not 15 <= len(iban) <= 34:
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def ip_ok(candidate: str) -> bool:
    """A real, routable-looking address (loopback, unspecified, documentation and version strings skipped)."""
    try:
        addr = ipaddress.ip_address(candidate)
    except ValueError:
        return False
    if addr.is_loopback or addr.is_unspecified:
        return False
    doc = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
    return not any(addr in ipaddress.ip_network(n) for n in doc if ipaddress.ip_network(n).version == addr.version)


class ValidatedDetector:
    """A pattern proposes, a validator confirms."""

    category: Category = "pii"

    def __init__(
        self,
        kind: str,
        severity: int,
        pattern: re.Pattern[str],
        valid: Callable[[str], bool],
        gate: Callable[[str], bool],
    ) -> None:
        self.kind = kind
        self.severity = severity
        self._pattern = pattern
        self._valid = valid
        self._gate = gate

    def scan(self, text: str, key: str | None) -> list[Hit]:
        """Every validated match."""
        if not self._gate(text):
            return []
        hits = []
        for m in self._pattern.finditer(text):
            g = 1 if m.re.groups else 0
            if self._valid(m.group(g)):
                hits.append(Hit(self.kind, self.severity, m.start(g), m.end(g)))
        return hits


def _has_digits(text: str, n: int) -> bool:
    return sum(ch.isdigit() for ch in text) >= n


PAYMENT_CARDS: Final = ValidatedDetector("payment_card", 60, _CARD, card_ok, lambda t: _has_digits(t, 13))
IBANS: Final = ValidatedDetector("iban", 50, _IBAN, iban_ok, lambda t: _has_digits(t, 4))
IPV4: Final = ValidatedDetector("ip_address", 10, _IPV4, ip_ok, lambda t: t.count(".") >= 3)
IPV6: Final = ValidatedDetector("ip_address", 10, _IPV6, ip_ok, lambda t: t.count(":") >= 2)
VALIDATED_PII: Final = (PAYMENT_CARDS, IBANS, IPV4, IPV6)
