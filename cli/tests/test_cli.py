"""The agentgov command line: help, clear errors, and `up` running its demo end to end."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agentgov.cli.main import build_parser, main
from agentgov.cli.timeparse import parse_time

COMMANDS = [
    ["up"],
    ["run", "audit"],
    ["audit", "verify"],
    ["audit", "export"],
    ["audit", "replay"],
    ["audit", "query"],
    ["run", "policy"],
    ["check"],
    ["agent", "register"],
    ["agent", "pause"],
    ["agent", "revoke"],
    ["policy", "publish"],
    ["policy", "history"],
    ["policy", "replay"],
    ["eval"],
]

OFFLINE = [["audit", "query"], ["policy", "validate"], ["policy", "test"], ["eval"]]


@pytest.mark.parametrize("cmd", COMMANDS, ids=" ".join)
def test_every_command_has_useful_help(cmd: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """`--help` exits 0 and explains the command and its options."""
    with pytest.raises(SystemExit) as exit_:
        main([*cmd, "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert "usage: agentgov" in out and len(out.splitlines()) > 8
    if cmd not in OFFLINE:
        assert "--nats-url" in out


def test_top_level_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    """`agentgov --help` names up, run and audit."""
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    for word in ("up", "run", "audit", "check", "policy", "agent", "AGENTGOV_HOME"):
        assert word in out


@pytest.fixture
def empty_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory with nothing running, and no NATS settings in the environment."""
    monkeypatch.setenv("AGENTGOV_HOME", str(tmp_path / "home"))
    for var in ("AGENTGOV_NATS_URL", "AGENTGOV_NATS_USER", "AGENTGOV_NATS_PASSWORD", "AGENTGOV_DATABASE_URL"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path / "home"


def test_commands_without_a_server_say_how_to_get_one(empty_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """With no `agentgov up` running and no --nats-url, verify fails with a hint, not a traceback."""
    assert main(["audit", "verify"]) == 1
    err = capsys.readouterr().err
    assert "agentgov up" in err and "--nats-url" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["audit", "export", "--since", "yesterday", "-o", "x.jsonl"], "not a time"),
        (["audit", "export", "--agent", "a.b", "-o", "x.jsonl"], "separates subject tokens"),
        (["audit", "verify", "--bundle", "/nonexistent/bundle.jsonl"], "No such file"),
    ],
)
def test_bad_arguments_get_clear_errors(
    empty_home: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    """Bad times, unsafe ids and missing files are reported in one line, exit 1."""
    assert main(args) == 1
    assert needle in capsys.readouterr().err


def test_a_file_that_is_not_a_bundle_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Verifying a file that is not a bundle says so, with the file name."""
    bad = tmp_path / "notes.jsonl"
    bad.write_text("hello\n")
    assert main(["audit", "verify", "--bundle", str(bad)]) == 1
    assert "not an agentgov bundle" in capsys.readouterr().err


def test_times_parse_as_iso_or_ages() -> None:
    """--since accepts ISO 8601 (UTC when no offset) and ages like 15m."""
    assert parse_time("1970-01-01T00:00:01Z") == 1_000_000_000
    assert parse_time("1970-01-01T00:00:02") == 2_000_000_000
    assert parse_time("15m", now_ns=3600 * 10**9) == 2700 * 10**9
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time("soon")


def test_up_refuses_a_busy_explicit_port(empty_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`up --port N` with N taken fails at once and names --port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["up", "--port", str(port), "--no-demo", "--exit-after-demo"]) == 1
    err = capsys.readouterr().err
    assert str(port) in err and "--port" in err


@pytest.fixture
def hold_4222() -> Iterator[None]:
    """Make sure 4222 is busy (it already is on the CI machine, where NATS 2.9 runs)."""
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 4222))
        s.listen()
    except OSError:
        pass
    yield
    s.close()


@pytest.mark.slow
def test_up_runs_the_demo_and_verifies(tmp_path: Path, hold_4222: None) -> None:
    """`agentgov up --exit-after-demo` picks a free port, runs the scripted agent and the governance tour, verifies."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTGOV_")}
    env["AGENTGOV_HOME"] = str(tmp_path / "home")
    agentgov = [sys.executable, "-m", "agentgov.cli"]
    done = subprocess.run(
        [*agentgov, "up", "--exit-after-demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "using free port" in done.stderr and "--port" in done.stderr
    assert "durability" in done.stderr
    out = done.stdout
    assert "published as org:acme revision 1" in out and "agent: coder-1 registered" in out
    assert "agent: coder-2 registered" in out  # the tour's agent
    scripted = re.findall(r"^\s+\[\d+/11\] (?:\x1b\[[\d;]*m)?([A-Z]+)", out, re.M)
    assert sorted(scripted) == sorted(["ALLOW"] * 5 + ["REVIEW"] * 2 + ["DENY"] * 3 + ["REDACT"]), out
    assert "shell.deny" in out and "data.secrets" in out  # the reasons are shown
    # the governance tour: a budget alert, a denial by the reservation, a CLI approval with a single-use
    # ticket, a runaway loop paused by the anomaly service and resumed from the CLI
    assert "recorded: BudgetAlert team:payments daily 80 %" in out, out
    assert "budget.exceeded | budget team:payments daily would be exceeded by $0.10" in out, out
    assert "$ agentgov approvals approve" in out and "ALLOW | approved by local" in out, out
    assert "ticket: verified" in out and "ticket presented again: refused" in out, out
    assert "recorded: AgentPaused by anomaly" in out and "loop" in out, out
    assert "$ agentgov agent resume coder-2" in out and "agent> read README.md: ALLOW" in out, out
    assert "): OK" in out
    assert not (tmp_path / "home" / "run" / "nats.json").exists(), "the runtime record outlived the server"
    db = str(tmp_path / "home" / "audit.db")
    q = subprocess.run(
        [*agentgov, "audit", "query", "--database", db, "--count-by", "verdict", "--format", "jsonl"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    counts = {json.loads(x)["verdict"]: json.loads(x)["count"] for x in q.stdout.splitlines()}
    counts.pop(None, None)  # events without a verdict (registrations, policy)
    assert q.returncode == 0 and counts["redact"] == 1, counts
    # the loop's reads until the pause lands, and the guard's re-asks while it waits, vary with timing
    assert counts["allow"] >= 5 + 30 and counts["deny"] >= 3 + 2 and counts["review"] >= 2 + 1, counts
    keys = sorted(p.name for p in (tmp_path / "home" / "keys").iterdir())
    assert keys == ["audit.ed25519", "operator.ed25519", "redaction.salt", "tickets.ed25519", "tickets.ed25519.pub"]
    for key in keys:
        mode = oct((tmp_path / "home" / "keys" / key).stat().st_mode & 0o777)
        assert mode == ("0o644" if key.endswith(".pub") else "0o600"), key
