"""Parsing ``--since`` / ``--until``: ISO 8601 times or ages like ``90s``, ``15m``, ``2h``, ``7d``."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

_AGE = re.compile(r"(\d+)\s*(s|m|h|d|w)")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(text: str, *, now_ns: int | None = None) -> int:
    """Nanoseconds since the epoch for an ISO time (UTC when no offset) or an age before now."""
    text = text.strip()
    now_ns = time.time_ns() if now_ns is None else now_ns
    m = _AGE.fullmatch(text)
    if m:
        return now_ns - int(m.group(1)) * _UNIT[m.group(2)] * 1_000_000_000
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r} is not a time: use ISO 8601 (2026-11-21T10:00:00Z) or an age (15m, 2h, 7d)"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1_000_000_000)


def format_ns(ns: int) -> str:
    """An ISO 8601 UTC time with milliseconds."""
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
