"""examples/scripted_agent.py runs its eleven steps through the SDK and prints one line per decision."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from agentgov.contracts.requests import CheckAction, Decision

from .conftest import Responders, decision_for

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "scripted_agent.py"


def load_example() -> ModuleType:
    """Import the example script as a module."""
    spec = importlib.util.spec_from_file_location("scripted_agent", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


async def test_scripted_agent_prints_every_verdict(
    agent_credentials: Path, responder: Responders, capsys: pytest.CaptureFixture[str]
) -> None:
    """Every step is checked in one session and one trace; denials do not stop the script, which exits 0."""
    example = load_example()

    def deny_ssh(req: CheckAction) -> Decision:
        return decision_for(req, "deny" if ".ssh" in (req.action.target or "") else "allow")

    r = await responder(deny_ssh)
    args = argparse.Namespace(credentials=str(agent_credentials), agent=None, session="s-1", timeout=1.0)
    assert await example.run(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 12 and lines[0].startswith("agent demo")
    assert [ln.split()[1] for ln in lines[1:]] == ["ALLOW"] * 5 + ["DENY"] + ["ALLOW"] * 5
    assert "(example bundle: review)" in lines[3] and "rules: test-rule" in lines[1]
    assert {q.session for q in r.requests} == {"s-1"} and len({q.trace_id for q in r.requests}) == 1
    kinds = [q.action.kind for q in r.unique]
    assert kinds == [
        "file",
        "shell",
        "shell",
        "shell",
        "http",
        "file",
        "mcp_tool",
        "spawn",
        "mcp_tool",
        "shell",
        "mcp_tool",
    ]


async def test_scripted_agent_without_credentials_exits_2(clean_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """No credentials anywhere: a message saying what to set, and exit status 2."""
    args = argparse.Namespace(credentials=None, agent=None, session=None, timeout=1.0)
    assert await load_example().run(args) == 2
    assert "AGENTGOV_AGENT" in capsys.readouterr().err
