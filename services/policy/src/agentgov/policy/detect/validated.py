"""Checks that confirm a candidate the detectors found: the checksums and structural rules a format carries.

Pure functions of one string; the detectors in :mod:`agentgov.policy.detect.pii` and
:mod:`agentgov.policy.detect.secrets` call them after a pattern proposes a span, so a random 16-digit order
number is not reported as a card and a made-up ``ghp_`` string is not reported as a verified GitHub token.

| check | format | rule |
|---|---|---|
| :func:`luhn_ok`, :func:`card_ok` | payment cards | issuer prefix (JCB ``1800``/``2131`` too), 13-19 digits, Luhn |
| :func:`iban_ok` | IBAN (ISO 13616) | the country's length, mod 97 = 1 |
| :func:`ip_ok` | IPv4 / IPv6 | parses; not loopback, unspecified or a documentation range |
| :func:`ssn_ok` | US social security number | area not 000, 666 or 900-999; group not 00; serial not 0000 |
| :func:`nino_ok` | UK national insurance number | the prefix letters HMRC allocates, suffix A-D |
| :func:`dni_ok` | Spanish DNI / NIE | the check letter (number mod 23) |
| :func:`nir_ok` | French NIR (sécurité sociale) | key = 97 - (number mod 97), Corsica 2A/2B |
| :func:`bsn_ok` | Dutch BSN | the 11-test |
| :func:`verhoeff_ok` | Indian Aadhaar | the Verhoeff check digit |
| :func:`crc32_base62_ok` | GitHub ``gh*_``, npm ``npm_`` tokens | CRC32 of the random part = the last 6 (base62) |
| :func:`shannon_entropy` | any token | bits per character, for the high-entropy rules |
"""

from __future__ import annotations

import ipaddress
import math
import re
import zlib
from collections import Counter
from typing import Final

# Lengths per country for the countries most often seen (ISO 13616 registry); others: 15-34.
_IBAN_LENGTH: Final = {
    "AT": 20, "BE": 16, "CH": 21, "CZ": 24, "DE": 22, "DK": 18, "ES": 24, "FI": 18, "FR": 27, "GB": 22,
    "GR": 27, "HU": 28, "IE": 22, "IT": 27, "LU": 20, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "SE": 24,
}  # fmt: skip
_CARD_PREFIXES: Final = ("4", "2", "5", "34", "37", "6", "35", "30", "36", "38", "39", "1800", "2131")
_DOC_NETWORKS: Final = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)
_BASE62: Final = {c: i for i, c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")}
_DNI_LETTERS: Final = "TRWAGMYFPDXBNJZSQVHLCKE"
_NINO_BAD_FIRST: Final = frozenset("DFIQUV")
_NINO_BAD_SECOND: Final = frozenset("DFIOQUV")
_NINO_BAD_PREFIX: Final = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
_SSN_ADVERTISED: Final = frozenset({"078051120", "219099999", "123456789"})
"""Numbers printed on sample cards and in advertising, never issued."""

_VERHOEFF_D: Final = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5), (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7), (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3), (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)  # fmt: skip
_VERHOEFF_P: Final = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4), (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7), (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)  # fmt: skip


def digits_of(candidate: str) -> str:
    """The digits of ``candidate`` (separators dropped)."""
    return _NOT_DIGITS.sub("", candidate)


_NOT_DIGITS: Final = re.compile(r"[^0-9]+")


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
    if not 13 <= len(digits) <= 19 or not digits.isdigit() or len(set(digits)) == 1:
        return False
    return digits.startswith(_CARD_PREFIXES) and luhn_ok(digits)


def iban_ok(candidate: str) -> bool:
    """An IBAN with the right length for its country and a mod-97 remainder of 1."""
    iban = candidate.replace(" ", "").upper()
    want = _IBAN_LENGTH.get(iban[:2])
    if (want is not None and len(iban) != want) or not 15 <= len(iban) <= 34 or not iban.isalnum():
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
    return not any(addr.version == n.version and addr in n for n in _DOC_NETWORKS)


def ssn_ok(digits: str) -> bool:
    """A US SSN that could have been issued: 9 digits, area not 000/666/9xx, group not 00, serial not 0000."""
    if len(digits) != 9 or not digits.isdigit() or digits in _SSN_ADVERTISED:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def nino_ok(candidate: str) -> bool:
    """A UK National Insurance number: two prefix letters HMRC allocates, six digits, a suffix A-D."""
    nino = candidate.replace(" ", "").upper()
    if len(nino) != 9 or not nino[2:8].isdigit() or nino[8] not in "ABCD":
        return False
    first, second = nino[0], nino[1]
    if not (first.isalpha() and second.isalpha()) or first in _NINO_BAD_FIRST or second in _NINO_BAD_SECOND:
        return False
    return nino[:2] not in _NINO_BAD_PREFIX


def dni_ok(candidate: str) -> bool:
    """A Spanish DNI (8 digits + letter) or NIE (X/Y/Z + 7 digits + letter) whose letter matches mod 23."""
    s = candidate.replace("-", "").replace(" ", "").upper()
    if len(s) != 9:
        return False
    head = s[:8]
    if head[0] in "XYZ":
        head = str("XYZ".index(head[0])) + head[1:]
    return head.isdigit() and _DNI_LETTERS[int(head) % 23] == s[8]


def nir_ok(candidate: str) -> bool:
    """A French NIR: sex 1/2, year, month, department (2A/2B for Corsica), commune, order, 2-digit key."""
    s = candidate.replace(" ", "").upper()
    if len(s) != 15 or s[0] not in "12":
        return False
    body, key = s[:13], s[13:]
    if body[5:7] in ("2A", "2B"):
        body = body[:5] + ("19" if body[6] == "A" else "18") + body[7:]
    if not body.isdigit() or not key.isdigit() or not (1 <= int(s[3:5]) <= 12 or 20 <= int(s[3:5]) <= 99):
        return False
    return 97 - int(body) % 97 == int(key)


def bsn_ok(digits: str) -> bool:
    """A Dutch BSN: 9 digits passing the 11-test (weights 9..2, the last digit weighted -1)."""
    if len(digits) != 9 or not digits.isdigit() or digits == "000000000":
        return False
    total = sum(int(d) * w for d, w in zip(digits[:8], range(9, 1, -1), strict=True)) - int(digits[8])
    return total % 11 == 0


def verhoeff_ok(digits: str) -> bool:
    """True when the digit string passes the Verhoeff check (the last digit is the check digit)."""
    c = 0
    for i, ch in enumerate(reversed(digits)):
        c = _VERHOEFF_D[c][_VERHOEFF_P[i % 8][ord(ch) - 48]]
    return c == 0


def aadhaar_ok(digits: str) -> bool:
    """An Indian Aadhaar number: 12 digits, not starting 0 or 1, Verhoeff valid, not one repeated digit."""
    return len(digits) == 12 and digits.isdigit() and digits[0] > "1" and len(set(digits)) > 1 and verhoeff_ok(digits)


def crc32_base62_ok(body: str, check: str) -> bool:
    """True when ``check`` (base62, ``0-9A-Za-z``) is the CRC32 of ``body``: GitHub and npm token checksums."""
    value = 0
    for ch in check:
        digit = _BASE62.get(ch)
        if digit is None:
            return False
        value = value * 62 + digit
    return value == zlib.crc32(body.encode())


def shannon_entropy(token: str) -> float:
    """Shannon entropy of the characters of ``token``, in bits per character."""
    n = len(token)
    if not n:
        return 0.0
    # The counts in first-occurrence order, as Counter gives them (so the sum is the same float), but counted
    # by str.count: for the short tokens scored here that is several times faster than building a Counter.
    counts = map(token.count, dict.fromkeys(token)) if n <= 256 else Counter(token).values()
    return -sum(c / n * math.log2(c / n) for c in counts)
