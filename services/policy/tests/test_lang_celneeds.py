"""Which parts of the context a CEL expression reads (so only those are converted)."""

from __future__ import annotations

import pytest

from agentgov.policy.lang.celneeds import Needs, merge, needs_of, project

ALL = frozenset({"action", "agent", "request", "findings", "time"})


@pytest.mark.parametrize(
    ("expr", "needs"),
    [
        ('action.target.startsWith("x")', {"action": {"target": None}}),
        ("action.args.verb == 'd' && has(action.args.ns)", {"action": {"args": frozenset({"verb", "ns"})}}),
        ("action.args.arguments.text == ''", {"action": {"args": frozenset({"arguments"})}}),
        ('action["kind"] == "x"', {"action": None}),
        ("action.args.exists(k, k == 'a')", {"action": {"args": None}}),
        ("size(action.args) > 1", {"action": {"args": None}}),
        ("agent.labels.env == 'prod' && agent.trust > 1", {"agent": {"labels": frozenset({"env"}), "trust": None}}),
        ("findings.exists(f, f.severity > 1)", {"findings": None}),
        ("time . hour > 3", {"time": {"hour": None}}),
    ],
)
def test_needs_of(expr: str, needs: dict[str, object]) -> None:
    """Field reads are pruned to what is named; any other use takes the whole value."""
    used = frozenset(needs)
    assert needs_of(expr, used & ALL) == needs


def test_merge_widens() -> None:
    """Merging keeps every field either side reads; 'whole' absorbs everything."""
    a: Needs = {"action": {"args": frozenset({"x"})}, "agent": {"trust": None}}
    b: Needs = {"action": {"args": frozenset({"y"}), "target": None}, "agent": None}
    assert merge(a, b) == {"action": {"args": frozenset({"x", "y"}), "target": None}, "agent": None}


def test_project_keeps_missing_fields_missing() -> None:
    """Projection drops what is not read and never invents keys (so has() still answers false)."""
    value = {"kind": "k8s", "args": {"verb": "get", "name": "x"}}
    assert project("action", value, {"args": frozenset({"verb", "ns"})}) == {"args": {"verb": "get"}}
    assert project("action", value, None) is value
