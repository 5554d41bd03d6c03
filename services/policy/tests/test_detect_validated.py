"""Format checks: card Luhn, IBAN mod 97, IPs, national-id rules and check digits, token checksums, entropy."""

from __future__ import annotations

import zlib

import pytest

from agentgov.policy.detect.validated import (
    aadhaar_ok,
    bsn_ok,
    card_ok,
    crc32_base62_ok,
    dni_ok,
    iban_ok,
    ip_ok,
    luhn_ok,
    nino_ok,
    nir_ok,
    shannon_entropy,
    ssn_ok,
    verhoeff_ok,
)

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def base62_crc(body: str) -> str:
    """The 6-character base62 CRC32 GitHub and npm append to their tokens (built here, not copied)."""
    n, out = zlib.crc32(body.encode()), ""
    while n:
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return out.rjust(6, "0")


def test_luhn() -> None:
    """The Luhn checksum on known values."""
    assert luhn_ok("79927398713") and not luhn_ok("79927398710")
    assert card_ok("4111111111111111") and not card_ok("1234567812345678")


@pytest.mark.parametrize("number", ["4539 5787 6362 1486", "5182-3456-7890-1230", "378282246310005"])
def test_cards_need_an_issuer_prefix_and_luhn(number: str) -> None:
    """Numbers with a known issuer prefix and a valid Luhn digit are cards; one digit off is not."""
    assert card_ok(number)
    last = number[-1]
    assert not card_ok(number[:-1] + str((int(last) + 1) % 10))


def test_cards_reject_repeated_digits_and_bad_lengths() -> None:
    """One repeated digit, or fewer than 13 digits, is not a card."""
    assert not card_ok("0000000000000000")
    assert not card_ok("411111111111")


@pytest.mark.parametrize(
    "iban", ["DE44500105175407324931", "GB29 NWBK 6016 1331 9268 19", "FR1420041010050500013M02606"]
)
def test_ibans(iban: str) -> None:
    """IBANs with the right length and check digits pass; a changed check digit or length fails."""
    assert iban_ok(iban)
    compact = iban.replace(" ", "")
    assert not iban_ok(compact[:2] + ("00" if compact[2:4] != "00" else "01") + compact[4:])
    assert not iban_ok(compact[:-1])


def test_ip_addresses() -> None:
    """Routable addresses pass; loopback, unspecified, documentation ranges and non-addresses do not."""
    assert ip_ok("10.1.2.3") and ip_ok("2a00:1450:4001:80b::200e")
    assert not any(ip_ok(a) for a in ["127.0.0.1", "0.0.0.0", "192.0.2.7", "2001:db8::1", "1.2.3.4.5", "300.1.1.1"])


def test_us_ssn_rules() -> None:
    """Area 000, 666 and 9xx, group 00 and serial 0000 were never issued."""
    assert ssn_ok("536228471")
    for bad in ["000228471", "666228471", "912228471", "536008471", "536220000", "53622847"]:
        assert not ssn_ok(bad), bad


def test_uk_nino_rules() -> None:
    """Prefix letters HMRC never allocates and suffixes past D are rejected."""
    assert nino_ok("AB 12 34 56 C") and nino_ok("ab123456a")
    for bad in ["DA123456A", "AO123456A", "GB123456A", "AB123456E", "AB12345C"]:
        assert not nino_ok(bad), bad


def test_spanish_dni_and_nie_letters() -> None:
    """The check letter is the number mod 23; NIE replaces X/Y/Z by 0/1/2."""
    assert dni_ok("48213756Y") and dni_ok("48213756-Y") and dni_ok("Y3827461E")
    assert not dni_ok("48213756Z") and not dni_ok("Y3827461F")


def test_french_nir_key() -> None:
    """The key is 97 minus the number mod 97; Corsican departments 2A/2B count as 19/18."""
    assert nir_ok("2 87 09 31 055 123 58") and nir_ok("185057800608491")
    assert not nir_ok("287093105512359") and not nir_ok("387093105512358")
    corsica_key = 97 - int("1850519123456") % 97
    assert nir_ok(f"185052A123456{corsica_key:02d}") and not nir_ok(f"185052B123456{corsica_key:02d}")


def test_dutch_bsn_eleven_test() -> None:
    """The weighted sum (9..2, last digit -1) must be divisible by 11."""
    assert bsn_ok("111222333") and not bsn_ok("111222334") and not bsn_ok("000000000")


def test_verhoeff_and_aadhaar() -> None:
    """Aadhaar numbers carry a Verhoeff check digit and never start with 0 or 1."""
    assert verhoeff_ok("2363") and not verhoeff_ok("2364")
    assert aadhaar_ok("493182745611") and not aadhaar_ok("493182745612") and not aadhaar_ok("193182745611")


def test_crc32_base62_token_checksum() -> None:
    """The last six base62 characters are the CRC32 of the random part; any change breaks it."""
    body = "Qm7Tz2Lp9Vx4Rk8Nw3Hs6Jd1Fg5Cb0"
    check = base62_crc(body)
    assert crc32_base62_ok(body, check)
    assert not crc32_base62_ok(body[:-1] + "1", check)
    assert not crc32_base62_ok(body, "!!!!!!")


def test_shannon_entropy() -> None:
    """Bits per character: 0 for one repeated symbol, 2 for four equally frequent ones."""
    assert shannon_entropy("") == 0.0 and shannon_entropy("aaaa") == 0.0
    assert shannon_entropy("abcdabcd") == pytest.approx(2.0)
