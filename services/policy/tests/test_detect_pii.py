"""Personal-data detectors: e-mail, phones, cards, IBANs, national ids and IPs, with spans; look-alikes are not."""

from __future__ import annotations

import time

import pytest

from agentgov.policy.detect.base import Hit
from agentgov.policy.detect.pii import EMAILS, IPV6, NUMBERS, PII_DETECTORS


def scan(text: str) -> list[tuple[str, str]]:
    """(kind, value) of every personal-data hit, overlaps dropped as the scanner does."""
    hits: list[Hit] = [h for d in PII_DETECTORS for h in d.scan(text, None)]
    hits.sort(key=lambda h: (h.start, -h.end))
    out, last = [], -1
    for h in hits:
        if h.start >= last:
            out.append((h.kind, text[h.start : h.end]))
            last = h.end
    return out


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("write to dana.k+news@mail.example.co.uk today", "dana.k+news@mail.example.co.uk"),
        ("<a href='mailto:ops@acme.io'>", "ops@acme.io"),
        ('{"email":"r.ortiz@uni-bonn.de"}', "r.ortiz@uni-bonn.de"),
    ],
)
def test_emails(text: str, value: str) -> None:
    """Addresses are reported with their exact span."""
    assert scan(text) == [("email", value)]


@pytest.mark.parametrize(
    "text",
    [
        "postgres://app:s3cret@db.example.com/app",
        "git clone git@github.com:acme/app.git",
        "![logo](img/logo@2x.png)",
        "@decorator and npm i @scope/pkg@1.2.3",
        "user@localhost",
    ],
)
def test_email_look_alikes(text: str) -> None:
    """URL credentials, git remotes, file names, decorators and package specs are not addresses."""
    assert [k for k, _ in scan(text) if k == "email"] == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("call +49 30 1234567", "+49 30 1234567"),
        ("ring +44 (0)20 7946 0958 later", "+44 (0)20 7946 0958"),
        ("office (415) 555-0132", "(415) 555-0132"),
        ("cell 415.555.0132", "415.555.0132"),
        ("sales: 212-555-0143 x204", "212-555-0143 x204"),
        ("London office 020 7946 0958", "020 7946 0958"),
        ("reach me at 0033 1 44 55 66 77", "0033 1 44 55 66 77"),
        ("mobile: 612 34 56 78", "612 34 56 78"),
        ("Tel. 0612345678", "0612345678"),
    ],
)
def test_phones(text: str, value: str) -> None:
    """International, North American, trunk-prefixed and context-backed numbers are phones."""
    assert scan(text) == [("phone", value)]


@pytest.mark.parametrize(
    "text",
    [
        "released on 2024-03-15 at 10:42",
        "dates 15/03/2024 and 03.15.2024",
        "version 10.4.12.3 of the tool",
        "order 8812734 shipped",
        "took 1234.5678 ms",
        "seq 1 1000000",
        "head -n 20000 big.log | tail -n 100",
        "kill -9 12345",
        "dd if=/dev/zero of=f bs=1048576 count=1024",
        "timestamp 1700000000123",
        "pi is 3.14159265",
        "chmod 755 a && sleep 3600",
    ],
)
def test_phone_look_alikes(text: str) -> None:
    """Dates, versions, order numbers, decimals, command arguments and timestamps are not phones."""
    assert [k for k, _ in scan(text) if k == "phone"] == []


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("pay with 4539 5787 6362 1486 today", "4539 5787 6362 1486"),
        ("card 5182-3456-7890-1230", "5182-3456-7890-1230"),
        ("amex 378282246310005.", "378282246310005"),
        ("my debit card 675948210330 is lost", "675948210330"),
    ],
)
def test_cards(text: str, value: str) -> None:
    """Issuer prefix and Luhn (or Luhn next to a card word for short Maestro numbers)."""
    assert scan(text) == [("payment_card", value)]


@pytest.mark.parametrize("text", ["order 4539578763621487", "id 0000000000000000", "ref 675948210330 is new"])
def test_card_look_alikes(text: str) -> None:
    """A wrong Luhn digit, one repeated digit, or a short number with no card word is not a card."""
    assert [k for k, _ in scan(text) if k == "payment_card"] == []


@pytest.mark.parametrize(
    "iban", ["DE44 5001 0517 5407 3249 31", "GB29NWBK60161331926819", "FR1420041010050500013M02606"]
)
def test_ibans(iban: str) -> None:
    """Valid IBANs, grouped or not, are reported whole."""
    assert scan(f"transfer to {iban}, thanks") == [("iban", iban)]


def test_iban_look_alikes() -> None:
    """A wrong check digit is not an IBAN."""
    assert [k for k, _ in scan("transfer to DE45500105175407324931") if k == "iban"] == []


@pytest.mark.parametrize(
    ("text", "value", "scheme"),
    [
        ("SSN 536-22-8471 on file", "536-22-8471", "US social"),
        ("ssn: 536228471", "536228471", "US social"),
        ("NINO AB 12 34 56 C", "AB 12 34 56 C", "UK national"),
        ("DNI 48213756Y", "48213756Y", "Spanish DNI"),
        ("NIE Y3827461E", "Y3827461E", "Spanish NIE"),
        ("numéro 2 87 09 31 055 123 58", "2 87 09 31 055 123 58", "French NIR"),
        ("Aadhaar 4931 8274 5611", "4931 8274 5611", "Aadhaar"),
        ("mijn BSN is 111222333", "111222333", "Dutch BSN"),
    ],
)
def test_national_ids(text: str, value: str, scheme: str) -> None:
    """National ids pass their scheme's rules or check digits; the detail names the scheme."""
    hits = [h for d in PII_DETECTORS for h in d.scan(text, None) if h.kind == "national_id"]
    assert [text[h.start : h.end] for h in hits] == [value]
    assert scheme in hits[0].detail


@pytest.mark.parametrize(
    "text",
    ["SSN 666-22-8471", "SSN 536-00-8471", "id 536228471", "DNI 48213756Z", "Aadhaar 4931 8274 5612", "BSN 111222334"],
)
def test_national_id_look_alikes(text: str) -> None:
    """Never-issued SSNs, plain nine digits without context, and wrong check digits are not ids."""
    assert [k for k, _ in scan(text) if k == "national_id"] == []


def test_ip_addresses() -> None:
    """Routable IPv4 and IPv6 addresses are found; loopback, documentation ranges and versions are not."""
    text = "from 10.1.2.3 and 2a00:1450:4001:80b::200e via 127.0.0.1, see 192.0.2.7, version 1.2.3.4.5"
    assert scan(text) == [("ip_address", "10.1.2.3"), ("ip_address", "2a00:1450:4001:80b::200e")]
    assert IPV6.scan("std::vector<int> a[1:2:3]; 12:34:56", None) == []


def test_detectors_report_spans() -> None:
    """Hits carry character offsets into the string."""
    (h,) = EMAILS.scan("é a@b.io", None)
    assert (h.start, h.end) == (2, 8)
    (n,) = NUMBERS.scan("ü 4539 5787 6362 1486", None)
    assert (n.kind, n.start, n.end) == ("payment_card", 2, 21)


@pytest.mark.parametrize(
    "text",
    [
        "1" * 200_000,
        "1 " * 100_000,
        "1." * 100_000,
        "a@" * 100_000,
        ("x" * 63 + "@") * 3000,
        "+1 (" * 50_000,
        ":a:" * 60_000,
        "AB12 " * 40_000,
        "2024-01-15 12:00:01 10.1.2.3 8812734 " * 5000,
    ],
)
def test_adversarial_inputs_stay_fast(text: str) -> None:
    """Pathological strings of ~200 KB are scanned in bounded time (every pattern is linear)."""
    start = time.perf_counter()
    scan(text)
    assert time.perf_counter() - start < 1.5
