"""Identifiers: subject-safe tokens and UUIDv7 event ids.

Agent, team, org, producer and scope ids become NATS subject tokens, so they are validated at every edge:
1 to 128 characters from ``A-Z a-z 0-9 _ -``, starting with a letter or digit. That rejects ``.``, ``*``,
``>``, whitespace and everything else a subject treats specially.
"""

from __future__ import annotations

import os
import re
import time

from agentgov.contracts.errors import InvalidIdError

_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")
_WHY_CHARS = {
    ".": "'.' separates subject tokens",
    "*": "'*' is a subject wildcard",
    ">": "'>' is a subject wildcard",
}


def check_token(kind: str, value: object) -> str:
    """Return ``value`` if it is a subject-safe id, else raise :class:`InvalidIdError` saying why."""
    if not isinstance(value, str):
        raise InvalidIdError(kind, value, f"must be a string, not {type(value).__name__}")
    if _TOKEN.fullmatch(value):
        return value
    if not value:
        raise InvalidIdError(kind, value, "must not be empty")
    if len(value) > 128:
        raise InvalidIdError(kind, value, "must be at most 128 characters")
    for ch, why in _WHY_CHARS.items():
        if ch in value:
            raise InvalidIdError(kind, value, why)
    if any(ch.isspace() for ch in value):
        raise InvalidIdError(kind, value, "must not contain whitespace")
    raise InvalidIdError(kind, value, "use letters, digits, '_' and '-', starting with a letter or digit")


_last_ms = 0
_last_rand = 0


def uuid7() -> str:
    """A UUIDv7 string (RFC 9562): 48-bit Unix milliseconds, then random bits, monotonic within a process."""
    global _last_ms, _last_rand
    ms = time.time_ns() // 1_000_000
    if ms <= _last_ms:
        ms = _last_ms
        rand = (_last_rand + 1) & ((1 << 74) - 1)
    else:
        rand = int.from_bytes(os.urandom(10), "big") >> 6
    _last_ms, _last_rand = ms, rand
    rand_a = rand >> 62
    rand_b = rand & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
