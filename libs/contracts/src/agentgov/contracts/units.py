"""Durations (``30s``, ``1m``, ``1h``, ``1d``) and rates (``10/1m``), as operators write them in policy bundles
and on the command line; every service that reads a bundle section or a CLI option parses them here."""

from __future__ import annotations

import re
from typing import Final

_DURATION: Final = re.compile(r"(\d+)\s*([smhd])")
_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object) -> int:
    """Seconds from ``<n>s|m|h|d`` or a bare positive integer of seconds; ValueError otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, str) and (m := _DURATION.fullmatch(value.strip())):
        seconds = int(m.group(1)) * _SECONDS[m.group(2)]
    else:
        raise ValueError(f"{value!r} is not a duration; write 30s, 1m, 1h or 1d")
    if seconds <= 0:
        raise ValueError(f"{value!r} is not a positive duration")
    return seconds


def parse_rate(value: object) -> tuple[int, int]:
    """``(count, seconds)`` from ``<count>/<duration>`` (``10/1m``); ValueError otherwise."""
    if isinstance(value, str):
        count, sep, per = value.partition("/")
        if sep and count.strip().isdigit() and int(count) > 0:
            try:
                return int(count), parse_duration(per)
            except ValueError:
                pass
    raise ValueError(f"{value!r} is not a rate; write <count>/<duration>, as in 10/1m")


def format_duration(seconds: int) -> str:
    """The shortest of ``<n>d|h|m|s`` that spells ``seconds`` exactly."""
    for unit in ("d", "h", "m"):
        if seconds % _SECONDS[unit] == 0:
            return f"{seconds // _SECONDS[unit]}{unit}"
    return f"{seconds}s"
