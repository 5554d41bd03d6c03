"""Diagnostics: stable codes, positions, suggestions, and every problem reported at once."""

from __future__ import annotations

import pytest

from agentgov.policy.lang import CODES, BundleInvalid, Diagnostic, check_bundle, load_bundle

HEADER = 'apiVersion: agentgov/v1\nkind: PolicyBundle\nmetadata: {name: t, scope: "*"}\n'


def test_format() -> None:
    """str(Diagnostic) is 'file:line:col: severity CODE name: message (did you mean ...?)'."""
    d = Diagnostic("AG101", "unknown-key", "error", "tools: unknown key 'alow'", "b.yaml", 7, 3, "allow")
    assert str(d) == "b.yaml:7:3: error AG101 unknown-key: tools: unknown key 'alow' (did you mean 'allow'?)"


def test_all_problems_are_reported_at_once_in_file_order() -> None:
    """One check lists every error and warning, sorted by position."""
    src = HEADER + "tools:\n  alow: [x]\n  deny: []\nshell:\n  allow: '[x'\nrisk: {review_at: 90, deny_at: 10}\n"
    got = [(d.code, d.line) for d in check_bundle(src, "b.yaml")]
    assert got == [("AG101", 5), ("AG401", 6), ("AG102", 8), ("AG209", 9)]


def test_load_raises_with_every_diagnostic() -> None:
    """BundleInvalid carries all diagnostics and names the first errors in its message."""
    src = HEADER + "default: nope\ntimezone: Nowhere/City\n"
    with pytest.raises(BundleInvalid) as info:
        load_bundle(src, "b.yaml")
    assert [d.code for d in info.value.diagnostics] == ["AG104", "AG205"]
    assert "b.yaml:4:10: error AG104" in str(info.value)


def test_warnings_do_not_stop_loading() -> None:
    """A bundle with only warnings loads; the empty list reads as absent."""
    bundle = load_bundle(HEADER + "tools:\n  allow: []\n")
    assert bundle.org.tools is not None
    assert bundle.org.tools.allow is None


def test_suggestions_for_near_misses() -> None:
    """Unknown keys and bad values get a did-you-mean from the allowed names."""
    src = HEADER + "netwrok: {}\nrules:\n  - {id: r, effect: reveiw}\n"
    suggestions = {d.code: d.suggestion for d in check_bundle(src)}
    assert suggestions == {"AG101": "network", "AG104": "review"}


def test_cel_errors_point_into_the_expression() -> None:
    """A CEL syntax error on a one-line `when` points at the column inside the expression."""
    src = HEADER + "rules:\n  - {id: r, effect: deny, when: 'action.kind == '}\n"
    (d,) = check_bundle(src)
    assert (d.code, d.line, d.column) == ("AG301", 5, 49)  # just past the expression, where it ended early


def test_comprehension_variables_are_not_unknown() -> None:
    """Variables bound by exists/all/map/filter are not reported as unknown context variables."""
    src = HEADER + "rules:\n  - {id: r, effect: deny, when: 'findings.exists(f, f.severity > 50)'}\n"
    assert check_bundle(src) == []


def test_the_code_table_is_complete_and_stable() -> None:
    """Every code has a name, a severity and a description; names are unique."""
    assert len({name for name, _, _ in CODES.values()}) == len(CODES)
    assert all(sev in ("error", "warning") for _, sev, _ in CODES.values())
    assert [c for c, (_, sev, _) in CODES.items() if sev == "warning"] == ["AG401"]
