"""`agentgov check` (cli/src/agentgov/cli/cmd_check.py): actions from arguments, decisions printed, exit codes."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from agentgov.cli import cmd_check
from agentgov.contracts.events import Action
from agentgov.contracts.requests import CheckAction, Decision
from agentgov.sdk import actions

from .conftest import Responders, decision_for


def parse(argv: list[str]) -> argparse.Namespace:
    """Parse as `agentgov` would, with the connection options main adds to every command."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--nats-url")
    common.add_argument("--nats-user")
    common.add_argument("--nats-password")
    common.add_argument("-v", "--verbose", action="count", default=0)
    parser = argparse.ArgumentParser(prog="agentgov")
    sub = parser.add_subparsers(dest="command", required=True)
    cmd_check.add_parser(sub, common)
    return parser.parse_args(argv)


def by_target(req: CheckAction) -> Decision:
    """The verdict is the first word of the target."""
    word = (req.action.target or "allow").split()[0]
    if word == "redact":
        return decision_for(
            req, "redact", action=Action(kind="shell", tool="shell", target="redact [REDACTED]"), rule="rule-redact"
        )
    return decision_for(req, word if word in ("deny", "review") else "allow", rule=f"rule-{word}")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["shell", "rm -rf /"], actions.shell("rm -rf /")),
        (["shell", "--cwd", "/r", "--", "ls", "-la"], actions.shell("ls -la", cwd="/r")),
        (["shell", "git", "push"], actions.shell("git push")),
        (["file", "/etc/passwd", "--op", "write"], actions.file("/etc/passwd", op="write")),
        (["file", "a.txt", "--cwd", "/srv"], actions.file("a.txt", cwd="/srv")),
        (["--tool", "run_shell", "shell", "ls"], actions.shell("ls", tool="run_shell")),
        (["shell", "ls", "--tool", "sh"], actions.shell("ls", tool="sh")),
        (["http", "post", "https://x", "--body", "{}"], actions.http("POST", "https://x", "{}")),
        (["mcp", "gh", "create_issue", '{"title": "t"}'], actions.mcp_tool("gh", "create_issue", {"title": "t"})),
        (["llm", "openai", "gpt-5", "--max-tokens", "9"], actions.llm_call("openai", "gpt-5", 9)),
        (["k8s", "delete", "pods", "-n", "prod", "--name", "a"], actions.k8s("delete", "pods", "prod", "a")),
        (["aws", "s3", "DeleteBucket", "--region", "eu"], actions.aws("s3", "DeleteBucket", "eu")),
        (["spawn", "kid", "--scope", "read", "--scope", "web"], actions.spawn("kid", ["read", "web"])),
    ],
)
def test_arguments_build_the_sdk_actions(argv: list[str], expected: Action) -> None:
    """Each kind's arguments build the same Action the SDK builder would."""
    assert cmd_check.build_action(parse(["check", "--agent", "a1", *argv])) == expected


def test_options_go_before_or_after_the_kind() -> None:
    """--agent, --timeout, --json … work on either side of the kind, the later one winning."""
    a = parse(["check", "--agent", "a1", "--timeout", "2", "shell", "ls"])
    assert (a.agent, a.timeout, a.json) == ("a1", 2.0, False)
    b = parse(["check", "--agent", "a1", "shell", "ls", "--agent", "a2", "--json", "--session", "s"])
    assert (b.agent, b.timeout, b.json, b.session) == ("a2", 1.0, True, "s")


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """`agentgov check --help` explains the kinds, the credentials and every exit status."""
    with pytest.raises(SystemExit) as exit_:
        parse(["check", "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    for text in ("Exit status", "3  review", "4  redact", "5  the check", "--credentials", "--nats-url", "mcp"):
        assert text in out, text


async def test_verdicts_print_and_set_the_exit_status(
    agent_credentials: Path, responder: Responders, capsys: pytest.CaptureFixture[str]
) -> None:
    """allow 0, deny 1, review 3, redact 4; the output names the verdict, rules, revision and latency."""
    await responder(by_target)
    for word, code in (("allow", 0), ("deny", 1), ("review", 3), ("redact", 4)):
        assert await cmd_check.run(parse(["check", "--credentials", str(agent_credentials), "shell", word])) == code
        out = capsys.readouterr().out
        assert out.startswith(word.upper()) and f"rule-{word}" in out and "revision 3" in out, out
        assert "ms round trip" in out and "\033[" not in out
    assert "run as:    shell redact [REDACTED]" in out


async def test_json_output(agent_credentials: Path, responder: Responders, capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints the Decision as one JSON object, with the measured round trip."""
    await responder(by_target)
    argv = ["check", "--credentials", str(agent_credentials), "--json", "mcp", "gh", "t", '{"k": 1}']
    assert await cmd_check.run(parse(argv)) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["verdict"] == "allow" and body["rules"][0]["id"] == "rule-allow" and body["round_trip_us"] > 0


async def test_policy_unavailable_exits_as_deny(agent_credentials: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No policy service: exit 1, with the policy_unavailable code and reason printed."""
    args = parse(["check", "--credentials", str(agent_credentials), "--timeout", "0.2", "shell", "ls"])
    assert await cmd_check.run(args) == 1
    out = capsys.readouterr().out
    assert "DENY" in out and "policy_unavailable" in out and "policy unavailable:" in out


def test_usage_and_configuration_errors(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Bad MCP JSON exits 2; an agent without credentials exits 5 saying how to register it."""
    assert cmd_check.check_cmd(parse(["check", "--agent", "a1", "mcp", "s", "t", "[1]"])) == 2
    assert "JSON object" in capsys.readouterr().err
    assert cmd_check.check_cmd(parse(["check", "--agent", "a1", "shell", "ls"])) == 5
    assert "agentgov agent register a1" in capsys.readouterr().err
    assert cmd_check.check_cmd(parse(["check", "shell", "ls"])) == 5
    assert "AGENTGOV_AGENT_CREDENTIALS" in capsys.readouterr().err
