"""Golden cases: every suite in tests/cases and the shipped example pass; the suite runner itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentgov.policy.cases import SuiteError, load_suite, run_suite

HERE = Path(__file__).parent
SUITES = sorted((HERE / "cases").glob("*.yaml"))
EXAMPLE = HERE.parents[2] / "examples" / "policies" / "acme-payments.test.yaml"


@pytest.mark.parametrize("path", SUITES, ids=lambda p: p.stem)
def test_golden_suite(path: Path) -> None:
    """Every case of the suite meets its expectation."""
    result = run_suite(load_suite(path))
    failures = [f"{c.name}: {f}" for c in result.cases for f in c.failures]
    assert failures == []


def test_the_example_passes_and_reaches_every_rule() -> None:
    """The shipped acme-payments suite passes and no rule of the bundle is left unreached."""
    result = run_suite(load_suite(EXAMPLE))
    assert [f"{c.name}: {c.failures}" for c in result.cases if not c.passed] == []
    assert result.unreached == []


def test_failures_and_unreached_rules_are_reported(tmp_path: Path) -> None:
    """A wrong expectation fails with a readable message; rules no case reached are listed."""
    suite = tmp_path / "s.yaml"
    suite.write_text(
        'now: "2025-01-01T00:00:00Z"\n'
        "agents: {a1: {org: acme, team: t}}\n"
        "bundle:\n"
        "  apiVersion: agentgov/v1\n"
        "  kind: PolicyBundle\n"
        '  metadata: {name: s, scope: "*"}\n'
        "  shell: {allow: [ls], deny: [rm*]}\n"
        "cases:\n"
        "  - {name: wrong, agent: a1, action: {kind: shell, target: ls}, expect: {verdict: deny, rules: [nope]}}\n"
    )
    result = run_suite(load_suite(suite))
    assert not result.passed
    (case,) = result.cases
    assert case.failures[0].startswith("verdict allow, expected deny")
    assert case.failures[1].startswith("rule 'nope' did not match")
    assert result.unreached == ["default", "shell.deny", "shell.not_allowed"]


def test_inline_bundles_keep_the_suite_line_numbers(tmp_path: Path) -> None:
    """A broken inline bundle is reported at its line in the suite file."""
    suite = tmp_path / "s.yaml"
    suite.write_text(
        'now: "2025-01-01T00:00:00Z"\n'
        "bundle:\n"
        "  apiVersion: agentgov/v1\n"
        "  kind: PolicyBundle\n"
        '  metadata: {name: s, scope: "*"}\n'
        "  shel: {allow: [ls]}\n"
        "cases: []\n"
    )
    with pytest.raises(SuiteError, match=r"s\.yaml:6:3: error AG101"):
        load_suite(suite)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("now: x\nbundle: b.yaml\ncases: []\n", "Invalid isoformat|isoformat"),
        ('now: "2025-01-01T00:00:00"\nbundle: {}\ncases: []\n', "needs an offset"),
        ('now: "2025-01-01T00:00:00Z"\nbundle: {}\ncases: [{name: x}]\n', "missing required field"),
        ('now: "2025-01-01T00:00:00Z"\nbundle: {}\ncases: []\nextra: 1\n', "unknown field"),
    ],
)
def test_bad_suites(tmp_path: Path, text: str, match: str) -> None:
    """Suites with bad times or fields are refused with a SuiteError that says why."""
    suite = tmp_path / "s.yaml"
    suite.write_text(text)
    (tmp_path / "b.yaml").write_text("apiVersion: agentgov/v1\nkind: PolicyBundle\nmetadata: {name: b, scope: '*'}\n")
    with pytest.raises(SuiteError, match=match):
        load_suite(suite)
