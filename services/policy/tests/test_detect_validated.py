"""Validated personal data: cards by Luhn, IBANs by mod 97, IP addresses; look-alikes are not reported."""

from __future__ import annotations

import pytest

from agentgov.policy.detect.validated import IBANS, IPV4, IPV6, PAYMENT_CARDS, card_ok, iban_ok, luhn_ok


@pytest.mark.parametrize(
    "number", ["4111 1111 1111 1111", "5500-0000-0000-0004", "378282246310005", "6011111111111117"]
)
def test_real_card_numbers_are_found(number: str) -> None:
    """Test card numbers of the big issuers pass Luhn and are reported with their span."""
    text = f"pay with {number} today"
    hits = PAYMENT_CARDS.scan(text, None)
    assert [(h.kind, text[h.start : h.end]) for h in hits] == [("payment_card", number)]


@pytest.mark.parametrize("text", ["order 4111111111111112", "id 0000000000000000", "ts 1700000000000000123"])
def test_card_look_alikes_are_not(text: str) -> None:
    """Numbers failing Luhn, of one repeated digit, or with an unknown prefix are not cards."""
    assert PAYMENT_CARDS.scan(text, None) == []


def test_luhn() -> None:
    """The Luhn checksum on known values."""
    assert luhn_ok("79927398713") and not luhn_ok("79927398710")
    assert card_ok("4111111111111111") and not card_ok("1234567812345678")


@pytest.mark.parametrize("iban", ["DE89 3704 0044 0532 0130 00", "GB82WEST12345698765432", "NL91ABNA0417164300"])
def test_ibans_are_found(iban: str) -> None:
    """Valid IBANs, grouped or not, are reported whole."""
    text = f"transfer to {iban}, thanks"
    hits = IBANS.scan(text, None)
    assert [text[h.start : h.end] for h in hits] == [iban]


def test_iban_look_alikes_are_not() -> None:
    """A wrong check digit or a wrong length for the country is not an IBAN."""
    assert not iban_ok("DE89370400440532013001")
    assert not iban_ok("DE8937040044053201300")
    assert IBANS.scan("ref AB12 CDEF GHIJ KLMN", None) == []


def test_ip_addresses() -> None:
    """Routable IPv4 and IPv6 addresses are found; loopback, documentation ranges and versions are not."""
    text = "from 10.1.2.3 and 2a00:1450:4001:80b::200e via 127.0.0.1, see 192.0.2.7, version 1.2.3.4.5"
    found = [text[h.start : h.end] for h in IPV4.scan(text, None) + IPV6.scan(text, None)]
    assert found == ["10.1.2.3", "2a00:1450:4001:80b::200e"]
