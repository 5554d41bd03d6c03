"""The action builders produce exactly the shapes the policy language reads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentgov.contracts.errors import InvalidIdError
from agentgov.contracts.events import Action
from agentgov.sdk import actions


def test_shell() -> None:
    """shell: tool shell, the command line as target, cwd only when given."""
    assert actions.shell("curl x | sh") == Action(kind="shell", tool="shell", target="curl x | sh")
    assert actions.shell("ls", cwd=Path("/repo")).args == {"cwd": "/repo"}


def test_file_keeps_the_path_and_adds_the_real_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """file: target as given; a relative path carries its cwd; args.resolved is the real path when it differs."""
    real = tmp_path / "real.txt"
    real.write_text("x")
    assert actions.file(str(real)) == Action(kind="file", target=str(real), args={"op": "read"})
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    assert actions.file(link, op="write").args == {"op": "write", "resolved": str(real)}
    monkeypatch.chdir(tmp_path)
    here = os.getcwd()
    assert actions.file("real.txt").args == {"op": "read", "cwd": here, "resolved": os.path.realpath(real)}
    srv = actions.file("src/x.py", op="write", cwd="/srv/payments", tool="write_file")
    assert srv == Action(
        kind="file",
        tool="write_file",
        target="src/x.py",
        args={"op": "write", "cwd": "/srv/payments", "resolved": os.path.realpath("/srv/payments/src/x.py")},
    )
    ssh = actions.file("~/.ssh/id_rsa")
    assert ssh.target == "~/.ssh/id_rsa" and "cwd" not in ssh.args
    assert ssh.args["resolved"] == os.path.realpath(os.path.expanduser("~/.ssh/id_rsa"))


def test_tool_names_can_follow_the_bundle() -> None:
    """Every builder takes tool= to name the agent's tool as the bundle does, or None to leave it out."""
    assert actions.shell("ls", tool="run_shell").tool == "run_shell"
    assert actions.http("GET", "https://x", tool="http_fetch").tool == "http_fetch"
    assert actions.spawn("c1", tool="spawn_agent").tool == "spawn_agent"
    assert actions.k8s("get", "pods", tool=None).tool is None
    assert actions.aws("s3", "ListBuckets", tool=None).tool is None
    assert actions.llm_call("openai", "gpt-5", tool="chat").tool == "chat"


def test_http() -> None:
    """http: the URL as target, the method upper-cased, the body only when given (bytes as text)."""
    assert actions.http("get", "https://x") == Action(kind="http", target="https://x", args={"method": "GET"})
    assert actions.http("POST", "https://x", {"a": 1}).args == {"method": "POST", "body": {"a": 1}}
    assert actions.http("POST", "https://x", b"raw").args["body"] == "raw"


def test_mcp_tool() -> None:
    """mcp_tool: the tool name as tool, server and arguments in args, no target."""
    a = actions.mcp_tool("github", "create_issue", {"title": "t"})
    assert a == Action(kind="mcp_tool", tool="create_issue", args={"server": "github", "arguments": {"title": "t"}})
    assert actions.mcp_tool("s", "t").args == {"server": "s", "arguments": {}}


def test_llm_call() -> None:
    """llm_call: tool llm, target provider/model, max_tokens only when given."""
    assert actions.llm_call("openai", "gpt-5") == Action(
        kind="llm_call", tool="llm", target="openai/gpt-5", args={"provider": "openai", "model": "gpt-5"}
    )
    assert actions.llm_call("anthropic", "claude", max_tokens=100).args["max_tokens"] == 100


def test_k8s() -> None:
    """k8s: tool kubectl, a three-part namespace/resource/name target, empty parts where unknown."""
    a = actions.k8s("delete", "pods", namespace="prod", name="api-1", cluster="eu")
    assert a == Action(
        kind="k8s",
        tool="kubectl",
        target="prod/pods/api-1",
        args={"verb": "delete", "resource": "pods", "namespace": "prod", "name": "api-1", "cluster": "eu"},
    )
    assert actions.k8s("get", "nodes").target == "/nodes/"
    assert actions.k8s("get", "nodes").args == {"verb": "get", "resource": "nodes"}


def test_aws() -> None:
    """aws: tool aws, target service:operation, region and resource only when given."""
    assert actions.aws("s3", "DeleteBucket", region="eu-west-1") == Action(
        kind="aws",
        tool="aws",
        target="s3:DeleteBucket",
        args={"service": "s3", "operation": "DeleteBucket", "region": "eu-west-1"},
    )


def test_spawn() -> None:
    """spawn: the child agent id as target (validated), scopes when given."""
    assert actions.spawn("child-1", ["read"]) == Action(kind="spawn", target="child-1", args={"scopes": ["read"]})
    assert actions.spawn("child-1").args == {}
    with pytest.raises(InvalidIdError):
        actions.spawn("a.b")


def test_tool_result_hands_in_what_a_tool_returned() -> None:
    a = actions.tool_result("fetch_page", "<html>hi</html>", source="https://example.org/")
    assert a == Action(
        kind="mcp_tool", tool="fetch_page", target="https://example.org/", args={"result": "<html>hi</html>"}
    )
    assert actions.tool_result("read", "x", kind="file").kind == "file"
