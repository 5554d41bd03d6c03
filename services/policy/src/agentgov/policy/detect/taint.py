"""Session taint: what an agent's session has read, and when an action would carry it somewhere it must not go.

Pure functions over one action and a :class:`SessionView` (what the session holds so far); the policy
service keeps the views (``agentgov.policy.sessions``), rebuilt from the ActionDecided events of the stream.

**Sources** (labels an allowed action adds to its session):

- ``credential``: a file read of a credential store (``~/.ssh/id_*``, ``~/.aws/credentials``, ``.env``,
  ``/etc/shadow``, keychains, browser stores …), or a shell command the analyzer says reads one;
- ``secret``: a secret found in the action (the agent holds it);
- ``internal``: content from an internal host (private or loopback address, ``*.internal``, ``*.local``,
  ``*.corp``, ``*.lan``, cloud metadata);
- ``untrusted``: a tool result handed in for inspection (``args.result`` / ``output`` / ``content`` …)
  from anywhere else; its distinctive tokens are fingerprinted;
- ``injected``: such content carried a prompt-injection finding (severity ≥ 60) and was still let through.

**Flows** (findings of category ``session`` on the action that would complete them), kind (severity):

- ``secret_to_egress`` (95): ``credential``/``secret``, then data leaving: an HTTP request with a body or a
  write method, a sending tool (mail, message, upload, webhook …), a shell network tool;
- ``secret_to_query`` (80): ``credential``/``secret``, then a GET whose query string could carry it;
- ``injected_to_sink`` (85): ``injected``, then egress, mail or shell;
- ``internal_to_egress`` (70): ``internal``, then egress to a host that is not internal;
- ``untrusted_to_shell`` (70): a shell command holding a distinctive token (a URL, path, host,
  package@version …) of untrusted content.

Severities go into the risk score like every finding, so a bundle's ``risk`` thresholds decide (deny at 90
denies ``secret_to_egress``; review at 60 reviews the rest), and CEL rules read ``session.labels``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from agentgov.contracts.events import Action
from agentgov.policy.detect.shell_gates import CREDENTIAL_PATH

Label = Literal["credential", "secret", "internal", "untrusted", "injected"]
LABELS: Final[tuple[Label, ...]] = ("credential", "secret", "internal", "untrusted", "injected")

CONTENT_KEYS: Final = ("result", "output", "content", "response", "observation", "html", "page")
"""Argument names that carry a tool's result or fetched content handed in for inspection."""

_READ_OPS: Final = frozenset({"read", "open", "cat", "get", "load", "copy", "list"})
_WRITE_METHODS: Final = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SENDING_TOOL: Final = re.compile(
    r"mail|send|post|upload|message|webhook|publish|share|tweet|slack|comment|issue|paste|notify|sms|"
    r"transfer|sync",
    re.IGNORECASE,
)
_MAIL_TOOL: Final = re.compile(r"mail|smtp", re.IGNORECASE)
_NETWORK_COMMAND: Final = re.compile(
    r"(?<![\w/.-])(?:curl|wget|nc|ncat|netcat|socat|scp|sftp|rsync|ftp|tftp|telnet|ssh|http|https|xh|"
    r"rclone|gsutil|nslookup|dig|host|openssl\s+s_client|aws\s+s3\s+(?:cp|sync|mv)|git\s+push)(?=\s|$)"
)
"""A network tool as a command word (followed by a space or the end: ``https://…`` in an argument is not one)."""
_INTERNAL_SUFFIX: Final = (".internal", ".local", ".corp", ".lan", ".intranet", ".home.arpa", "localhost")
_URL_HOST: Final = re.compile(r"^[a-z][a-z0-9+.-]*://(?:[^/@\s]*@)?(\[[^\]]+\]|[^/:?#\s]+)", re.IGNORECASE)
_TOKEN: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~:/@%+=-]{6,}[A-Za-z0-9/]")
_DISTINCT: Final = re.compile(r"[./:@_=-]|\d")
MAX_FINGERPRINTS: Final = 4096
"""Fingerprints kept per session; the oldest go first."""
MAX_CONTENT_CHARS: Final = 65_536
"""Content looked at for fingerprints (a check carries at most 64 KiB anyway)."""


@dataclass(frozen=True, slots=True)
class SessionView:
    """What one session holds: labels (label → where it came from) and fingerprints of untrusted tokens."""

    labels: Mapping[str, str] = field(default_factory=dict)
    fingerprints: frozenset[int] | set[int] = frozenset()
    denies: int = 0
    """Denied actions in this session so far."""


@dataclass(frozen=True, slots=True)
class Flow:
    """A session flow an action would complete."""

    kind: str
    severity: int
    detail: str


@dataclass(frozen=True, slots=True)
class Source:
    """A label an action adds to its session, and why."""

    label: Label
    detail: str


def sources(action: Action, finding_kinds: Iterable[tuple[str, str, int]]) -> list[Source]:
    """The labels ``action`` adds to its session if it runs; ``finding_kinds`` are its findings as
    (category, kind, severity)."""
    out: dict[Label, str] = {}
    found = list(finding_kinds)
    if action.kind == "file" and str(action.args.get("op", "read")).lower() in _READ_OPS:
        for path in action_paths(action):
            if CREDENTIAL_PATH.search(path):
                out["credential"] = f"read {path}"
                break
    for category, kind, _ in found:
        if category == "shell" and kind == "credential_access" and "credential" not in out:
            out["credential"] = "a shell command read a credential store"
        elif category == "secret" and "secret" not in out:
            out["secret"] = f"the action carried a secret ({kind})"
    if _content(action):
        host = _host_of(action)
        if host is not None and is_internal(host):
            out["internal"] = f"content from internal host {host}"
        else:
            out["untrusted"] = f"content from {host or action.tool or 'a tool'}"
            if any(c == "injection" and s >= 60 for c, _, s in found):
                out["injected"] = "that content carried a prompt injection"
    elif action.kind == "http" and str(action.args.get("method", "GET")).upper() == "GET":
        host = _host_of(action)
        if host is not None and is_internal(host):
            out["internal"] = f"GET from internal host {host}"
    return [Source(label, why) for label, why in out.items()]


def flows(action: Action, view: SessionView) -> list[Flow]:
    """The session flows ``action`` would complete, given what its session holds."""
    if not view.labels:
        return []
    out: list[Flow] = []
    sink = sink_of(action)
    held = view.labels
    secret = held.get("credential") or held.get("secret")
    if secret is not None and sink == "query":
        out.append(Flow("secret_to_query", 80, f"the session read a secret ({secret}); this GET carries a query"))
    elif secret is not None and sink in ("egress", "mail"):
        out.append(Flow("secret_to_egress", 95, f"the session read a secret ({secret}); this sends data out"))
    injected = held.get("injected")
    if injected is not None and sink is not None:
        out.append(Flow("injected_to_sink", 85, f"the session took in injected content ({injected}); this is a {sink}"))
    internal = held.get("internal")
    if internal is not None and sink in ("egress", "mail"):
        host = _host_of(action)
        if host is None or not is_internal(host):
            out.append(Flow("internal_to_egress", 70, f"the session read internal data ({internal}); this sends out"))
    if action.kind == "shell" and view.fingerprints and action.target:
        shared = [t for t in _tokens(action.target) if fingerprint(t) in view.fingerprints]
        if shared:
            why = f"the command uses {shared[0]!r} from untrusted content ({held.get('untrusted', 'a tool result')})"
            out.append(Flow("untrusted_to_shell", 70, why))
    return out


def sink_of(action: Action) -> str | None:
    """Where ``action`` could send data: ``egress``, ``query``, ``mail``, ``shell`` or None.

    Content handed in (a tool result) is not a sink: it comes in. An HTTP request, or a tool call whose
    arguments name a ``url``, is egress with a write method or a body, a ``query`` sink when its URL has a
    query string; a tool named for sending (mail, message, upload, webhook …) is egress.
    """
    kind = action.kind
    if _content(action):
        return None
    if kind == "http":
        return _http_sink(action.target or "", action.args)
    if kind == "shell":
        return "egress" if _NETWORK_COMMAND.search(action.target or "") else "shell"
    if kind in ("mcp_tool", "other") and action.tool:
        if _MAIL_TOOL.search(action.tool):
            return "mail"
        if _SENDING_TOOL.search(action.tool):
            return "egress"
        inner = action.args.get("arguments")
        holder = inner if isinstance(inner, dict) else action.args
        url = holder.get("url")
        if isinstance(url, str):
            return _http_sink(url, holder)
    return None


def _http_sink(url: str, args: Mapping[str, Any]) -> str | None:
    method = str(args.get("method", "GET")).upper()
    if method in _WRITE_METHODS or args.get("body") not in (None, ""):
        return "egress"
    return "query" if "?" in url else None


def is_internal(host: str) -> bool:
    """A private, loopback or link-local address, or a name under an internal suffix."""
    h = host.strip("[]").lower().rstrip(".")
    try:
        ip = ipaddress.ip_address(h)
    except ValueError:
        return h.endswith(_INTERNAL_SUFFIX)
    return ip.is_private or ip.is_loopback or ip.is_link_local


def content_fingerprints(action: Action) -> set[int]:
    """Fingerprints of the distinctive tokens of the content an action hands in (see :data:`CONTENT_KEYS`)."""
    out: set[int] = set()
    for text in _content(action):
        for token in _tokens(text[:MAX_CONTENT_CHARS]):
            out.add(fingerprint(token))
            if len(out) >= MAX_FINGERPRINTS:
                return out
    return out


def fingerprint(token: str) -> int:
    """A stable 64-bit fingerprint of one token."""
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=8).digest(), "big")


def _tokens(text: str) -> Iterator[str]:
    """Distinctive tokens: 8+ characters holding a digit or one of ``./:@_=-`` (URLs, paths, hosts, ids),
    with their trailing punctuation cut; plain words are too common to say a command came from the text."""
    for m in _TOKEN.finditer(text):
        token = m.group(0)
        if _DISTINCT.search(token):
            yield token


def _content(action: Action) -> list[str]:
    args = action.args
    found = [v for k in CONTENT_KEYS if isinstance(v := args.get(k), str) and v]
    inner = args.get("arguments")
    if isinstance(inner, dict):
        found += [v for k in CONTENT_KEYS if isinstance(v := inner.get(k), str) and v]
    return found


def action_paths(action: Action) -> list[str]:
    """A file action's paths: its target, and ``args.resolved`` (the real path the SDK computed) if given."""
    paths = [action.target or ""]
    resolved = action.args.get("resolved")
    if isinstance(resolved, str):
        paths.append(resolved)
    return [p for p in paths if p]


def url_host(url: str) -> str | None:
    """The host of a URL (after any userinfo), lowercased; None when ``url`` is not one."""
    m = _URL_HOST.match(url)
    return m.group(1).lower() if m else None


def _host_of(action: Action) -> str | None:
    for candidate in _urls(action.target, action.args):
        host = url_host(candidate)
        if host is not None:
            return host
    return None


def _urls(target: str | None, args: Mapping[str, Any]) -> Iterator[str]:
    if target:
        yield target
    for key in ("url", "source", "uri"):
        v = args.get(key)
        if isinstance(v, str):
            yield v
