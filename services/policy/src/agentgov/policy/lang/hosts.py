"""Host patterns and URL hosts for the ``network`` section.

Patterns: ``*`` (every host), ``example.com`` (that host only), ``*.example.com`` (every subdomain at any
depth, **not** the apex ``example.com``), ``host:port`` / ``*.host:port`` (that port only), an IP
(``10.0.0.7``, ``::1``, ``[::1]:8443``) or a CIDR network (``10.0.0.0/8``, matched against IP hosts only:
there is no DNS here).

URLs are split with :mod:`urllib.parse`; the host is what comes after any userinfo (so
``https://good.com@evil.com`` is ``evil.com``), lowercased, without a trailing dot, IDNA-encoded
(``bücher.de`` is ``xn--bcher-kva.de``). A host that is not a valid name or IP (spaces, empty labels, a
backslash anywhere in the authority) or a numeric host that is not a dotted quad (``2130706433``,
``0x7f.1``, which some clients read as ``127.0.0.1``) does not parse, and the section denies it
(``network.bad_url``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Net = ipaddress.IPv4Network | ipaddress.IPv6Network

_LABELS: Final = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*")
_NUMERIC_LABEL: Final = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)")
_AMBIGUOUS_AUTHORITY: Final = re.compile(r"[\\\s\x00-\x1f\x7f]")
"""Browsers read ``\\`` as ``/`` and urllib does not: ``https://evil.com\\@good.com`` is refused, not guessed."""
_DEFAULT_PORTS: Final = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class HostError(ValueError):
    """A host pattern or URL host that does not parse; ``code`` is the diagnostic code."""

    def __init__(self, code: str, why: str) -> None:
        self.code = code
        super().__init__(why)


def normalize_host(host: str) -> str | IP:
    """A hostname lowercased, without trailing dot, IDNA-encoded; or the IP it spells. HostError if neither."""
    h = host.strip().lower().rstrip(".") if host else ""
    if not h:
        raise HostError("AG203", "empty host")
    if ":" in h or h[-1].isdigit():  # only these can be IP addresses (v6 has ':', v4 ends in a digit)
        try:
            return ipaddress.ip_address(h.strip("[]"))
        except ValueError:
            pass
    if not h.isascii():
        try:
            h = h.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise HostError("AG203", f"{host!r} is not a valid host name ({exc})") from None
    if len(h) > 253 or not _LABELS.fullmatch(h):
        raise HostError("AG203", f"{host!r} is not a valid host name")
    if h[0].isdigit() and all(_NUMERIC_LABEL.fullmatch(label) for label in h.split(".")):
        raise HostError("AG203", f"{host!r} is a numeric host that is not a dotted-quad IP address")
    return h


@dataclass(frozen=True, slots=True)
class HostPattern:
    """One parsed pattern."""

    text: str
    host: str | None = None
    suffix: bool = False
    any: bool = False
    ip: IP | None = None
    net: Net | None = None
    port: int | None = None


def parse_pattern(text: str) -> HostPattern:
    """Parse one host pattern; HostError (code AG203 or AG204) says what is wrong."""
    t = text.strip()
    if t == "*":
        return HostPattern(text, any=True)
    if "/" in t:
        try:
            return HostPattern(text, net=ipaddress.ip_network(t, strict=True))
        except ValueError as exc:
            raise HostError("AG204", f"{text!r} is not an IP network: {exc}") from None
    port: int | None = None
    m = re.fullmatch(r"\[([^\]]+)\](?::(\d+))?", t) or re.fullmatch(r"([^:]+):(\d+)", t)
    if m:
        t, port = m.group(1), int(m.group(2)) if m.group(2) else None
        if port is not None and not 1 <= port <= 65535:
            raise HostError("AG203", f"{text!r}: port {port} is not between 1 and 65535")
    suffix = t.startswith("*.")
    rest = t[2:] if suffix else t
    if "*" in rest:
        raise HostError("AG203", f"{text!r}: '*' may only start a pattern, as in '*.example.com'")
    host = normalize_host(rest)
    if isinstance(host, str):
        return HostPattern(text, host=host, suffix=suffix, port=port)
    if suffix:
        raise HostError("AG203", f"{text!r}: '*.' cannot precede an IP address")
    return HostPattern(text, ip=host, port=port)


@dataclass(frozen=True, slots=True)
class Target:
    """A URL's host (name or IP) and port (explicit or the scheme's default; None if unknown)."""

    host: str | None
    ip: IP | None
    port: int | None


def parse_url(url: str) -> Target:
    """The host and port of an absolute URL; HostError if it has none or it does not parse."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
        raw = parts.hostname
    except ValueError as exc:
        raise HostError("AG203", f"URL {url!r} does not parse: {exc}") from None
    if not parts.scheme or not raw:
        raise HostError("AG203", f"{url!r} is not an absolute URL with a host")
    if _AMBIGUOUS_AUTHORITY.search(parts.netloc):
        raise HostError("AG203", f"URL {url!r} has a backslash, space or control character in its authority")
    host = normalize_host(raw)
    port = port if port is not None else _DEFAULT_PORTS.get(parts.scheme.lower())
    if isinstance(host, str):
        return Target(host, None, port)
    return Target(None, host, port)


class HostSet:
    """A compiled list of host patterns; :meth:`match` names the first pattern that covers a target."""

    __slots__ = ("_any", "_exact", "_ips", "_nets", "_suffix", "patterns")

    def __init__(self, patterns: Sequence[str]) -> None:
        self.patterns = tuple(patterns)
        self._exact: dict[str, list[HostPattern]] = {}
        self._suffix: dict[str, list[HostPattern]] = {}
        self._ips: dict[IP, list[HostPattern]] = {}
        self._nets: list[HostPattern] = []
        self._any: str | None = None
        for text in self.patterns:
            p = parse_pattern(text)
            if p.any:
                self._any = self._any or p.text
            elif p.net is not None:
                self._nets.append(p)
            elif p.ip is not None:
                self._ips.setdefault(p.ip, []).append(p)
            elif p.host is not None:
                (self._suffix if p.suffix else self._exact).setdefault(p.host, []).append(p)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def match(self, target: Target) -> str | None:
        """The text of a pattern covering ``target``, or None."""
        if self._any is not None:
            return self._any
        if target.ip is not None:
            for p in self._ips.get(target.ip, ()):
                if p.port is None or p.port == target.port:
                    return p.text
            for p in self._nets:
                if p.net is not None and target.ip.version == p.net.version and target.ip in p.net:
                    return p.text
            return None
        host = target.host or ""
        for p in self._exact.get(host, ()):
            if p.port is None or p.port == target.port:
                return p.text
        dot = host.find(".")
        while dot >= 0:
            for p in self._suffix.get(host[dot + 1 :], ()):
                if p.port is None or p.port == target.port:
                    return p.text
            dot = host.find(".", dot + 1)
        return None
