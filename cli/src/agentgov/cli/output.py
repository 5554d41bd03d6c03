"""Terminal output: tables, progress on long work, and errors, all to the right stream."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from pydantic import ValidationError


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], out: TextIO | None = None) -> None:
    """Print rows as an aligned plain-text table."""
    out = out or sys.stdout
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, v in enumerate(row):
            widths[i] = max(widths[i], len(v))
    print("  ".join(h.upper().ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(), file=out)
    for row in cells:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip(), file=out)


def _cell(v: object) -> str:
    if v is None:
        return "-"
    s = str(v)
    return s if len(s) <= 60 else s[:57] + "..."


def describe_validation(exc: ValidationError) -> str:
    """A pydantic settings error as one line: each invalid setting and why."""
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())


def error(msg: str) -> None:
    """An error the user must read: to stderr, prefixed."""
    print(f"agentgov: error: {msg}", file=sys.stderr)


def note(msg: str) -> None:
    """Progress and status lines go to stderr so stdout stays machine-readable."""
    print(msg, file=sys.stderr, flush=True)


class Progress:
    """A counter on stderr: rewritten in place on a terminal, a line every few seconds otherwise."""

    def __init__(self, what: str, total: int | None = None, *, every: float = 2.0, enabled: bool = True) -> None:
        self.what = what
        self.total = total
        self.enabled = enabled
        self.tty = sys.stderr.isatty()
        self.every = 0.2 if self.tty else every
        self.started = time.monotonic()
        self._last = 0.0
        self._shown = False

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last < self.every:
            return
        self._last = now
        rate = done / max(now - self.started, 1e-9)
        of = f"/{self.total:,}" if self.total else ""
        line = f"{self.what}: {done:,}{of} ({rate:,.0f}/s)"
        if self.tty:
            sys.stderr.write("\r" + line + "\033[K")
            sys.stderr.flush()
        else:
            print(line, file=sys.stderr, flush=True)
        self._shown = True

    def done(self) -> None:
        """Finish the progress line."""
        if self._shown and self.tty:
            sys.stderr.write("\n")
            sys.stderr.flush()
