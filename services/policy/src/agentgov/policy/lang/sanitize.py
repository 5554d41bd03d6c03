"""Removing findings from an action before it is persisted or handed back.

Each removed span becomes ``[REDACTED:<kind>]`` in the returned action and a contracts
:class:`~agentgov.contracts.events.Redaction` with the kind, the field path, the UTF-8 byte offsets in the
*original* string and a salted hash (hex SHA-256 of ``salt + value``, first 16 characters) so equal values
can be correlated across decisions without being stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from agentgov.contracts.events import Action, Redaction
from agentgov.policy.lang.scanner import DEFAULT_SCANNER, Finding, Scanner


def salted_hash(salt: bytes, value: str) -> str:
    """The first 16 hex characters of SHA-256(salt + UTF-8 value)."""
    return hashlib.sha256(salt + value.encode()).hexdigest()[:16]


def redact(action: Action, findings: Sequence[Finding], salt: bytes) -> tuple[Action, list[Redaction]]:
    """``action`` with every finding replaced, and the redactions (the same action when there is nothing)."""
    if not findings:
        return action, []
    by_field: dict[str, list[Finding]] = {}
    for f in findings:
        by_field.setdefault(f.field, []).append(f)
    target = _apply(action.target, by_field.get("target")) if action.target is not None else None
    args = _rebuild(action.args, "args", by_field)
    out = Action(kind=action.kind, tool=action.tool, target=target, args=args)
    redactions = [
        Redaction(kind=f.kind, field=f.field, start=f.start, end=f.end, salted_hash=salted_hash(salt, f.value))
        for f in findings
    ]
    return out, redactions


def sanitize(action: Action, salt: bytes, scanner: Scanner = DEFAULT_SCANNER) -> tuple[Action, list[Redaction]]:
    """Scan for secrets only and redact them: what every persisted action gets, policy or not."""
    return redact(action, scanner.scan(action.target, action.args, pii=False, others=False), salt)


def _apply(text: str, found: list[Finding] | None) -> str:
    if not found:
        return text
    for f in sorted(found, key=lambda f: f.char_start, reverse=True):
        text = f"{text[: f.char_start]}[REDACTED:{f.kind}]{text[f.char_end :]}"
    return text


def _rebuild(value: Any, path: str, by_field: dict[str, list[Finding]]) -> Any:
    if isinstance(value, str):
        return _apply(value, by_field.get(path))
    if isinstance(value, dict):
        return {k: _rebuild(v, f"{path}.{k}", by_field) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rebuild(v, f"{path}[{i}]", by_field) for i, v in enumerate(value)]
    return value
