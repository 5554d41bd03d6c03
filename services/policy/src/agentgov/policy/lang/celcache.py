"""Reusing the converted ``agent`` variable across evaluations.

Converting a Python value into CEL costs microseconds per field, and an agent's registry facts do not change
between its requests. So each thread keeps, per agent, the CEL context in which that agent's facts were
last converted; the next evaluation for the same facts object reuses it and only adds the variables that
describe the request. Every variable a rule reads other than ``agent`` is set again by the evaluation that
reads it, so nothing of an earlier request is ever visible to a later one; ``agent`` is reused only for
the identical facts object (a re-registration makes a new one) and only when it holds every field the
rules read. The cache is per thread, so concurrent evaluations never share a context.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import cel

from agentgov.policy.lang.celneeds import VarSpec
from agentgov.policy.lang.inputs import AgentFacts

MAX_AGENTS = 4096


@dataclass(slots=True)
class Entry:
    """A context holding one agent's converted facts (``spec`` says which fields)."""

    facts: AgentFacts
    ctx: Any
    spec: VarSpec | bool
    """The agent fields converted into ``ctx``; False = none yet."""


class ContextCache:
    """Per-thread, per-agent CEL contexts (see the module docstring)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def entry(self, facts: AgentFacts) -> Entry:
        """The context for ``facts`` (a fresh one if these facts were not seen on this thread)."""
        entries: dict[str, Entry] | None = getattr(self._local, "entries", None)
        if entries is None:
            entries = self._local.entries = {}
        got = entries.get(facts.id)
        if got is None or got.facts is not facts:
            if len(entries) >= MAX_AGENTS:
                entries.clear()
            got = entries[facts.id] = Entry(facts, cel.Context(), False)
        return got
