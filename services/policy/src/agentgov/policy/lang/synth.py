"""Synthetic bundles for benchmarks (``bench/decision.py``): realistic sections plus ``n`` CEL rules.

The rules are spread over action kinds and tools the way a large real bundle is, so an action meets a
realistic share of them as candidates (about one in eight here, with a few kind-less rules every action
meets), each with a ``when`` reading ``action`` and ``agent``.
"""

from __future__ import annotations

from typing import Final

from agentgov.contracts.events import Action
from agentgov.policy.lang.inputs import AgentFacts

_KINDS: Final = ("shell", "file", "http", "mcp_tool", "llm_call", "k8s", "spawn", "aws")

_HEADER: Final = """\
apiVersion: agentgov/v1
kind: PolicyBundle
metadata: {{name: bench-{n}, scope: "*"}}
default: deny
timezone: Europe/Berlin
risk: {{review_at: 60, deny_at: 90}}
tools:
  allow: [run_shell, read_file, write_file, http_fetch, llm, "github.*", "jira.*", spawn_agent]
  deny: ["*.admin_*", "github.delete_*"]
  settings:
    "github.*": {{rate: "60/1m", risk: 10}}
shell:
  allow: ["git *", "ls*", "cat *", "grep *", "uv run pytest*", "make test*"]
  review: ["git push*"]
  deny: ["*sudo *", "*rm -rf /*"]
files:
  read: ["/srv/**", "/tmp/**"]
  write: ["/srv/app/**"]
  sensitive: ["~/.ssh/**", "**/.env"]
network:
  allow: [github.com, "*.github.com", pypi.org, "10.0.0.0/8"]
  deny: ["*.pastebin.com"]
data: {{secrets: redact}}
rate_limits:
  - {{id: shell-burst, match: {{kinds: [shell]}}, limit: 1000000, per: 1m}}
rules:
"""


def bench_bundle(n_rules: int) -> str:
    """The YAML source of a bundle with ``n_rules`` CEL rules (compile it once, evaluate it many times)."""
    lines = [_HEADER.format(n=n_rules)]
    for i in range(n_rules):
        if i % 25 == 24:  # a few rules about every action
            lines.append(f"  - {{id: r{i}, when: 'agent.trust < {i % 20} && agent.depth > 3', effect: review}}\n")
            continue
        kind = _KINDS[i % len(_KINDS)]
        when = {
            "shell": f'action.target.startsWith("tool{i} ") && agent.trust < 90',
            "file": f'action.target.endsWith(".f{i}") || action.args.op == "delete{i}"',
            "http": f'action.args.method == "M{i}" && agent.team != "t{i}"',
            "mcp_tool": f'action.args.server == "s{i}" && agent.labels.env == "prod"',
            "llm_call": f'action.args.provider == "p{i}" || agent.depth > {i}',
            "k8s": f'action.args.verb == "delete" && action.args.namespace == "ns{i}"',
            "spawn": f"agent.depth >= {2 + i % 3} && agent.trust < {50 + i % 40}",
            "aws": f'action.args.service == "svc{i}" && action.args.operation.startsWith("Delete")',
        }[kind]
        effect = ("deny", "review", "allow")[i % 3]
        lines.append(f"  - id: r{i}\n    match: {{kinds: [{kind}]}}\n    when: '{when}'\n    effect: {effect}\n")
    return "".join(lines)


BENCH_AGENT: Final = AgentFacts(
    id="bench-agent", org="acme", team="payments", trust=70, depth=1, lineage=("root",), labels={"env": "prod"}
)
"""The agent benchmarks evaluate as."""

BENCH_ACTIONS: Final = (
    Action(kind="shell", tool="run_shell", target="git status --short", args={"cwd": "/srv/app"}),
    Action(kind="file", tool="write_file", target="/srv/app/main.py", args={"op": "write"}),
    Action(kind="http", tool="http_fetch", target="https://api.github.com/repos/a/b", args={"method": "GET"}),
    Action(kind="mcp_tool", tool="github.create_issue", args={"server": "github", "arguments": {"title": "flaky"}}),
)
"""A mix of actions benchmarks cycle through."""
