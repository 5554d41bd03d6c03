"""A review rule's own ``approval: {timeout_s, fallback}``: parsing, diagnostics, and which settings a review gets."""

from __future__ import annotations

import re
import textwrap
from datetime import datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgov.contracts import crypto
from agentgov.contracts.events import Action
from agentgov.contracts.requests import CheckAction
from agentgov.identity import Operator, TokenVerifier, TrustStore, issue_token
from agentgov.policy.domain import World, decide, decided_event
from agentgov.policy.lang import (
    AgentFacts,
    BundleInvalid,
    CompiledBundle,
    EvalInput,
    Evaluation,
    check_bundle,
    compile_bundle,
    load_bundle,
)
from agentgov.policy.lang.model import Approvals

HEADER = 'apiVersion: agentgov/v1\nkind: PolicyBundle\nmetadata: {name: t, scope: "org:acme"}\n'
AGENT = AgentFacts("a1", "acme", "pay", trust=80)
NOON_S = int(datetime.fromisoformat("2025-03-12T12:00:00+00:00").timestamp())
PUSH = Action(kind="shell", tool="run_shell", target="git push origin main")
LS = Action(kind="shell", tool="run_shell", target="ls")
EXAMPLE = Path(__file__).parents[3] / "examples" / "policies" / "acme-payments.yaml"
DOC = (Path(__file__).parents[1] / "docs" / "language.md").read_text()


def _bundle(body: str) -> CompiledBundle:
    return compile_bundle(load_bundle(HEADER + textwrap.dedent(body)))


def _eval(b: CompiledBundle, action: Action = PUSH, agent: AgentFacts = AGENT, hour: int = 12) -> Evaluation:
    now_ns = (NOON_S + (hour - 12) * 3600) * 1_000_000_000
    return b.evaluate(EvalInput(action=action, agent=agent, now_ns=now_ns))


def _settings(ev: Evaluation) -> tuple[str, int | None, str | None]:
    return ev.verdict, ev.approval_timeout_s, ev.approval_fallback


def _problems(body: str) -> list[str]:
    return [str(d) for d in check_bundle(HEADER + textwrap.dedent(body), "b.yaml")]


# -- parsing ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("{timeout_s: 600, fallback: allow}", Approvals(600, "allow")),
        ("{timeout_s: 86400, fallback: deny}", Approvals(86_400, "deny")),
        ("{timeout_s: 1}", Approvals(1, "deny")),
        ("{fallback: allow}", Approvals(900, "allow")),
        ("{}", Approvals(900, "deny")),
    ],
)
def test_a_review_rule_keeps_its_approval(block: str, expected: Approvals) -> None:
    """A review rule's `approval` loads cleanly; keys it leaves out are the defaults (900 s, deny)."""
    body = f"rules:\n  - id: r\n    effect: review\n    approval: {block}\n"
    assert _problems(body) == []
    (rule,) = load_bundle(HEADER + body).org.rules
    assert rule.approval == expected


def test_a_rule_without_approval_has_none() -> None:
    """Leaving `approval` out leaves it to the section (None on the rule)."""
    (rule,) = load_bundle(HEADER + "rules: [{id: r, effect: review}]\n").org.rules
    assert rule.approval is None


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "rules:\n  - id: r\n    effect: deny\n    approval: {timeout_s: 600}\n",
            [
                "b.yaml:7:5: error AG111 misplaced-key: rules[r].approval: only a rule whose effect is review waits for"
                " an approval; this rule's effect is deny"
            ],
        ),
        (
            "rules: [{id: r, effect: allow, approval: {fallback: deny}}]\n",
            [
                "b.yaml:4:32: error AG111 misplaced-key: rules[r].approval: only a rule whose effect is review waits"
                " for an approval; this rule's effect is allow"
            ],
        ),
        (
            "rules: [{id: r, effect: redact, approval: {timeout_s: 0}}]\n",
            [
                "b.yaml:4:33: error AG111 misplaced-key: rules[r].approval: only a rule whose effect is review waits"
                " for an approval; this rule's effect is redact",
                "b.yaml:4:55: error AG109 out-of-range: rules[r].approval.timeout_s must be between 1 and 86400, not 0",
            ],
        ),
        (
            "rules: [{id: r, effect: review, approval: {timeout_s: -5}}]\n",
            ["b.yaml:4:55: error AG109 out-of-range: rules[r].approval.timeout_s must be between 1 and 86400, not -5"],
        ),
        (
            "rules: [{id: r, effect: review, approval: {timeout_s: 86401}}]\n",
            [
                "b.yaml:4:55: error AG109 out-of-range: rules[r].approval.timeout_s must be between 1 and 86400,"
                " not 86401"
            ],
        ),
        (
            "rules: [{id: r, effect: review, approval: {timeout_s: 10m}}]\n",
            ["b.yaml:4:55: error AG102 wrong-type: rules[r].approval.timeout_s must be an integer, not a string"],
        ),
        (
            "rules: [{id: r, effect: review, approval: {timeout_s: 600.5}}]\n",
            ["b.yaml:4:55: error AG102 wrong-type: rules[r].approval.timeout_s must be an integer, not a number"],
        ),
        (
            "rules: [{id: r, effect: review, approval: {timeout_s: true}}]\n",
            ["b.yaml:4:55: error AG102 wrong-type: rules[r].approval.timeout_s must be an integer, not a boolean"],
        ),
        (
            "rules: [{id: r, effect: review, approval: {fallback: review}}]\n",
            ["b.yaml:4:54: error AG104 bad-value: rules[r].approval.fallback must be one of allow, deny, not 'review'"],
        ),
        (
            "rules: [{id: r, effect: review, approval: {fallback: denny}}]\n",
            [
                "b.yaml:4:54: error AG104 bad-value: rules[r].approval.fallback must be one of allow, deny,"
                " not 'denny' (did you mean 'deny'?)"
            ],
        ),
        (
            "rules: [{id: r, effect: review, approval: {timeout: 600}}]\n",
            [
                "b.yaml:4:44: error AG101 unknown-key: rules[r].approval: unknown key 'timeout'; expected one of"
                " fallback, timeout_s (did you mean 'timeout_s'?)"
            ],
        ),
        (
            "rules: [{id: r, effect: review, approval: 600}]\n",
            ["b.yaml:4:43: error AG102 wrong-type: rules[r].approval must be a mapping, not an integer"],
        ),
        (
            "rules: [{id: r, effect: review, approval: null}]\n",
            ["b.yaml:4:43: error AG102 wrong-type: rules[r].approval must be a mapping, not nothing (null)"],
        ),
        (
            "teams:\n  pay:\n    rules: [{id: r, effect: deny, approval: {}}]\n",
            [
                "b.yaml:6:35: error AG111 misplaced-key: teams.pay.rules[r].approval: only a rule whose effect is"
                " review waits for an approval; this rule's effect is deny"
            ],
        ),
    ],
)
def test_bad_approvals_are_reported_exactly(body: str, expected: list[str]) -> None:
    """Each bad `approval` gets its stable code at the offending key or value, and stops the bundle loading."""
    assert _problems(body) == expected
    with pytest.raises(BundleInvalid):
        load_bundle(HEADER + body)


def test_a_misspelled_effect_is_reported_once() -> None:
    """When the effect itself is wrong only the effect is reported; the approval's own keys are still checked."""
    body = "rules: [{id: r, effect: reveiw, approval: {timeout_s: 0}}]\n"
    assert [d.code for d in check_bundle(HEADER + body)] == ["AG104", "AG109"]


def test_every_approval_problem_is_reported_at_once() -> None:
    """Problems in several rules' approvals and in the section come back together, in file order."""
    body = """\
        approvals: {timeout_s: 0}
        rules:
          - {id: a, effect: deny, approval: {fallback: allow}}
          - {id: b, effect: review, approval: {timeout_s: 99999, fallback: maybe}}
        """
    got = [(d.code, d.line) for d in check_bundle(HEADER + textwrap.dedent(body))]
    assert got == [("AG109", 4), ("AG111", 6), ("AG109", 7), ("AG104", 7)]


# -- which settings a review gets ------------------------------------------------------------------------------


def test_the_rule_settings_win_over_the_section() -> None:
    """A review asked for by a rule with `approval` carries the rule's settings, not the section's."""
    b = _bundle("""\
        approvals: {timeout_s: 1800, fallback: deny}
        rules:
          - {id: push, match: {kinds: [shell]}, when: 'action.target.startsWith("git push")', effect: review,
             approval: {timeout_s: 600, fallback: allow}}
        """)
    assert _settings(_eval(b)) == ("review", 600, "allow")


def test_a_rule_without_approval_uses_the_section() -> None:
    """A review rule with no `approval` gets the level-wide section, exactly as before."""
    b = _bundle("""\
        approvals: {timeout_s: 1800, fallback: allow}
        rules: [{id: push, effect: review}]
        """)
    assert _settings(_eval(b)) == ("review", 1800, "allow")
    assert b.approvals("pay", "a1") == Approvals(1800, "allow")


def test_without_any_settings_the_defaults_apply() -> None:
    """No `approval` and no section anywhere: 15 minutes, then deny."""
    assert _settings(_eval(_bundle("rules: [{id: push, effect: review}]\n"))) == ("review", 900, "deny")


def test_keys_a_rule_leaves_out_are_the_defaults_not_the_section() -> None:
    """Like a section, a rule's `approval` is taken whole: a missing timeout is 900 s, not the section's."""
    b = _bundle("""\
        approvals: {timeout_s: 3600, fallback: allow}
        rules: [{id: push, effect: review, approval: {fallback: allow}}]
        """)
    assert _settings(_eval(b)) == ("review", 900, "allow")


def test_the_strictest_of_two_review_rules_wins() -> None:
    """Two review rules with settings: the shortest timeout and deny over allow, each key on its own."""
    b = _bundle("""\
        rules:
          - {id: quick, effect: review, approval: {timeout_s: 300, fallback: allow}}
          - {id: careful, effect: review, approval: {timeout_s: 7200, fallback: deny}}
        """)
    assert _settings(_eval(b)) == ("review", 300, "deny")


def test_two_lenient_rules_stay_lenient() -> None:
    """When every review vote allows on expiry, the fallback is allow, with the shortest timeout."""
    b = _bundle("""\
        rules:
          - {id: one, effect: review, approval: {timeout_s: 1200, fallback: allow}}
          - {id: two, effect: review, approval: {timeout_s: 600, fallback: allow}}
        """)
    assert _settings(_eval(b)) == ("review", 600, "allow")


def test_a_rule_without_approval_brings_the_section_into_the_strictest() -> None:
    """A second review rule without `approval` has the section's say: its deny beats the other rule's allow."""
    b = _bundle("""\
        approvals: {timeout_s: 3600, fallback: deny}
        rules:
          - {id: lenient, effect: review, approval: {timeout_s: 7200, fallback: allow}}
          - {id: plain, effect: review}
        """)
    assert _settings(_eval(b)) == ("review", 3600, "deny")


def test_a_section_review_vote_cannot_be_loosened_by_a_rule() -> None:
    """`shell.review` also asked for the review: the rule's longer timeout and allow do not hold."""
    b = _bundle("""\
        shell: {review: ["git push*"]}
        rules:
          - {id: lenient, match: {kinds: [shell]}, effect: review, approval: {timeout_s: 7200, fallback: allow}}
        """)
    assert _settings(_eval(b)) == ("review", 900, "deny")
    assert _settings(_eval(b, LS)) == ("review", 7200, "allow")


def test_only_the_rules_that_matched_count() -> None:
    """A review rule that did not match the action lends the review none of its settings."""
    b = _bundle("""\
        approvals: {timeout_s: 1800, fallback: allow}
        rules:
          - {id: strict, when: 'action.target == "rm x"', effect: review, approval: {timeout_s: 60, fallback: deny}}
          - {id: any, effect: review}
        """)
    assert _settings(_eval(b)) == ("review", 1800, "allow")
    assert _settings(_eval(b, Action(kind="shell", tool="run_shell", target="rm x"))) == ("review", 60, "deny")


def test_a_rule_that_fails_at_run_time_uses_the_section() -> None:
    """A rule whose `when` fails votes review without matching: its review gets the level-wide settings."""
    b = _bundle("""\
        approvals: {timeout_s: 1800, fallback: deny}
        rules:
          - {id: broken, when: action.args.missing == 1, effect: review, approval: {timeout_s: 60, fallback: allow}}
        """)
    ev = _eval(b)
    assert ev.errors and ev.errors[0].startswith("rule broken:")
    assert _settings(ev) == ("review", 1800, "deny")


@pytest.mark.parametrize(
    ("effect", "verdict"),
    [("deny", "deny"), ("allow", "review")],
)
def test_settings_only_on_a_review_verdict(effect: str, verdict: str) -> None:
    """A deny beats the review rule and carries no approval settings; an allow alongside a review does not matter."""
    b = _bundle(f"""\
        rules:
          - {{id: other, effect: {effect}}}
          - {{id: ask, effect: review, approval: {{timeout_s: 60, fallback: allow}}}}
        """)
    expected = (verdict, 60, "allow") if verdict == "review" else (verdict, None, None)
    assert _settings(_eval(b)) == expected


def test_an_allow_has_no_settings() -> None:
    """No review, no approval settings, however the bundle's sections are set."""
    b = _bundle("""\
        approvals: {timeout_s: 60}
        rules: [{id: ok, effect: allow}]
        """)
    assert _settings(_eval(b)) == ("allow", None, None)


def test_a_team_rule_settings_win_over_the_agent_section() -> None:
    """A rule's own settings beat even the most specific section, at whatever level the rule is written."""
    b = _bundle("""\
        teams:
          pay:
            rules: [{id: team-push, effect: review, approval: {timeout_s: 120, fallback: allow}}]
        agents:
          a1:
            approvals: {timeout_s: 5000, fallback: allow}
        """)
    assert _settings(_eval(b)) == ("review", 120, "allow")
    assert b.approvals("pay", "a1") == Approvals(5000, "allow")


# -- through the decision path and the shipped example ---------------------------------------------------------


def test_the_decision_records_the_rule_settings() -> None:
    """decide puts the rule's settings on the Outcome and decided_event on the ActionDecided."""
    key = Ed25519PrivateKey.generate()
    op = Operator(name="ops", public_key=crypto.public_key_text(key), roles=["agents"], scopes=["*"])
    bundle = _bundle("""\
        approvals: {timeout_s: 1800, fallback: deny}
        rules: [{id: push, effect: review, approval: {timeout_s: 600, fallback: allow}}]
        """)
    world = World(
        bundles={"org:acme": bundle},
        agents={"a1": AGENT},
        retired={},
        paused={},
        revoked_tokens=set(),
        revoked_before={},
        tokens=TokenVerifier(TrustStore([op])),
        salt=b"salt",
    )
    token, _ = issue_token(key, agent="a1", org="acme", team="pay", now=NOON_S)
    check = CheckAction(request_id="r-1", agent="a1", token=token, action=PUSH)
    outcome = decide(check, world, NOON_S * 1_000_000_000)
    assert (outcome.verdict, outcome.approval_timeout_s, outcome.approval_fallback) == ("review", 600, "allow")
    event = decided_event(check, outcome, 0, NOON_S * 1_000_000_000)
    assert (event.approval_timeout_s, event.approval_fallback) == (600, "allow")


def test_the_example_bundle_gives_staging_changes_an_hour() -> None:
    """acme-payments: a staging change waits an hour (its rule); a merge request 15 minutes (the section)."""
    b = compile_bundle(load_bundle(EXAMPLE.read_text(), str(EXAMPLE)))
    coder = AgentFacts("coder-1", "acme", "payments", trust=80)
    args = {"verb": "patch", "resource": "deployments", "namespace": "staging", "name": "api", "cluster": "eu-1"}
    staging = _eval(b, Action(kind="k8s", args=args), coder)
    assert _settings(staging) == ("review", 3600, "deny")
    merge = _eval(b, Action(kind="mcp_tool", tool="github.merge_pull_request", args={"server": "github"}), coder)
    assert _settings(merge) == ("review", 900, "deny")


def test_the_doc_example_decides_as_its_table_says() -> None:
    """The approvals example in docs/language.md gives the timeouts and fallbacks its table lists."""
    (block,) = [b for b in re.findall(r"```yaml\n(.*?)```", DOC, re.S) if b.startswith("approvals: {timeout_s: 900")]
    b = compile_bundle(load_bundle(HEADER + block))
    assert _settings(_eval(b, PUSH, hour=12)) == ("review", 300, "allow")
    assert _settings(_eval(b, LS, hour=3)) == ("review", 900, "deny")
    assert _settings(_eval(b, PUSH, hour=3)) == ("review", 300, "deny")
