"""CEL in rules: which variables exist, checking an expression at load time, compiling it once.

The context a rule sees is documented in ``docs/language.md`` (the table there mirrors :data:`VARIABLES`).
Checking compiles the expression (syntax errors become diagnostics) and compares the variables it reads
with :data:`VARIABLES` (a typo such as ``acton.kind`` becomes a diagnostic with a suggestion), so a bundle
that loads never fails on a name it could not have had.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import cel

from agentgov.policy.lang.celneeds import Needs, needs_of
from agentgov.policy.lang.diagnostics import suggest

VARIABLES: Final = {
    "action": "kind, tool, target, args: the action as the agent sent it",
    "agent": "id, org, team, parent, lineage, depth, trust, labels",
    "request": "context (the caller's free-form map), estimated_usd (double or null)",
    "session": "id (string or null), labels (what it has read: credential, secret, internal, untrusted, injected)",
    "risk": "score: the risk before rules (findings, breadth, target, trust, session; see detect/risk.py)",
    "findings": "list of {category, kind, severity, field}",
    "time": "hour, minute, weekday (0 = Monday), date (YYYY-MM-DD), unix: in the level's time zone",
    "budget": "known (bool), remaining_usd (double, or null when unknown or unlimited)",
}

_ERROR: Final = re.compile(r"ERROR: <input>:(\d+):(\d+): ([^\n]*)")
_BOUND: Final = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")
"""Comprehension variables (``findings.exists(f, …)``), which CEL lists among the variables read."""


@dataclass(frozen=True, slots=True)
class CelProblem:
    """Why an expression does not load: a diagnostic code, a message and maybe a suggestion."""

    code: str
    message: str
    suggestion: str | None = None
    position: tuple[int, int] | None = None
    """Line and column (1-based) inside the expression, for syntax errors."""


@dataclass(frozen=True, slots=True)
class CompiledWhen:
    """A compiled ``when`` and the top-level variables it reads."""

    source: str
    program: Any
    variables: frozenset[str]
    needs: Needs
    """The parts of those variables it reads (see :mod:`~agentgov.policy.lang.celneeds`)."""


def compile_when(source: str) -> CompiledWhen | CelProblem:
    """Compile a ``when`` expression, or say why it cannot be."""
    try:
        program = cel.compile(source)
    except ValueError as exc:
        m = _ERROR.search(str(exc))
        if m is None:
            return CelProblem("AG301", f"`when` is not valid CEL: {str(exc).splitlines()[0]}")
        return CelProblem("AG301", f"`when` is not valid CEL: {m.group(3)}", None, (int(m.group(1)), int(m.group(2))))
    bound = set(_BOUND.findall(source))
    used = frozenset(str(v) for v in program.variables()) - bound
    for name in sorted(used):
        if name not in VARIABLES:
            return CelProblem(
                "AG302",
                f"`when` reads {name!r}, which is not in the rule context ({', '.join(VARIABLES)})",
                suggest(name, VARIABLES),
            )
    return CompiledWhen(source, program, used, needs_of(source, used))
