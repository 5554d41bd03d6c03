"""Trace ids: every check carries one, so an LLM call, its tool call and what they caused can be joined.

A trace id is 32 lower-case hex characters (the W3C trace-context form, so OpenTelemetry ids fit). Inside
``with trace():`` (or ``async with``-free code in the same task) every check uses the same id; a check
outside any trace gets a fresh one. The current id lives in a :class:`~contextvars.ContextVar`, so it
follows ``await`` and is copied into tasks started inside the block.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from contextvars import ContextVar

_current: ContextVar[str | None] = ContextVar("agentgov_trace_id", default=None)


def new_trace_id() -> str:
    """A fresh random trace id."""
    return secrets.token_hex(16)


def current_trace_id() -> str | None:
    """The trace id of the enclosing :func:`trace` block, if any."""
    return _current.get()


@contextlib.contextmanager
def trace(trace_id: str | None = None) -> Iterator[str]:
    """Run the block under ``trace_id``; without one, join the enclosing trace or start a new one."""
    tid = trace_id or _current.get() or new_trace_id()
    token = _current.set(tid)
    try:
        yield tid
    finally:
        _current.reset(token)
