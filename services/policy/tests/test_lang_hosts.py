"""Host patterns and URL parsing for the network section."""

from __future__ import annotations

import pytest

from agentgov.policy.lang.hosts import HostError, HostSet, parse_pattern, parse_url


def _match(patterns: list[str], url: str) -> str | None:
    return HostSet(patterns).match(parse_url(url))


@pytest.mark.parametrize(
    ("url", "hit"),
    [
        ("https://a.example.com/x", True),
        ("https://a.b.example.com/", True),
        ("https://example.com/", False),
        ("https://badexample.com/", False),
        ("https://example.com.evil.org/", False),
        ("https://A.EXAMPLE.COM./", True),
    ],
)
def test_wildcard_covers_subdomains_not_the_apex(url: str, hit: bool) -> None:
    """'*.example.com' covers subdomains at any depth and never the apex or a look-alike."""
    assert (_match(["*.example.com"], url) is not None) is hit


def test_userinfo_does_not_fool_the_host() -> None:
    """The host is what follows the userinfo: good.com@evil.com is evil.com."""
    assert parse_url("https://good.com@evil.com/x").host == "evil.com"
    assert _match(["good.com"], "https://good.com@evil.com/x") is None


def test_backslash_in_the_authority_is_refused() -> None:
    """Browsers read '\\' as '/' and urllib does not, so such URLs are refused rather than guessed."""
    with pytest.raises(HostError):
        parse_url("https://evil.com\\@good.com/")


@pytest.mark.parametrize("url", ["http://2130706433/", "http://0x7f.1/", "http://127.1/", "http://0x7f/"])
def test_ambiguous_numeric_hosts_are_refused(url: str) -> None:
    """Numeric hosts that are not dotted quads (which clients read as IPs) do not parse."""
    with pytest.raises(HostError):
        parse_url(url)


@pytest.mark.parametrize("url", ["example.com/x", "not a url", "http:///x", "http://a..b/", "http://x:99999/"])
def test_urls_without_a_valid_host_are_refused(url: str) -> None:
    """A URL needs a scheme and a valid host (and port)."""
    with pytest.raises(HostError):
        parse_url(url)


def test_idna_and_ports() -> None:
    """Unicode hosts are IDNA-encoded on both sides; a port pattern covers only its port."""
    assert parse_url("https://Bücher.de/").host == "xn--bcher-kva.de"
    assert _match(["bücher.de"], "https://xn--bcher-kva.de/") == "bücher.de"
    assert _match(["api.stripe.com:443"], "https://api.stripe.com/") == "api.stripe.com:443"
    assert _match(["api.stripe.com:443"], "http://api.stripe.com/") is None
    assert parse_url("http://x.test:8080/").port == 8080


def test_ips_and_networks() -> None:
    """IP patterns match that address, CIDR patterns every address inside; names never match a CIDR."""
    assert _match(["10.0.0.0/8"], "http://10.2.3.4/") == "10.0.0.0/8"
    assert _match(["10.0.0.0/8"], "http://11.0.0.1/") is None
    assert _match(["::1"], "http://[::1]:8080/") == "::1"
    assert _match(["[::1]:8080"], "http://[::1]:8081/") is None
    assert _match(["10.0.0.0/8"], "http://ten.internal/") is None
    assert _match(["*"], "https://anything.test/") == "*"


@pytest.mark.parametrize(
    ("pattern", "code"),
    [
        ("api.*.com", "AG203"),
        ("exa mple.com", "AG203"),
        ("10.0.0.1/8", "AG204"),
        ("x:0", "AG203"),
        ("*.1.2.3.4", "AG203"),
    ],
)
def test_bad_patterns(pattern: str, code: str) -> None:
    """Bad host patterns and networks say which diagnostic they are."""
    with pytest.raises(HostError) as info:
        parse_pattern(pattern)
    assert info.value.code == code
