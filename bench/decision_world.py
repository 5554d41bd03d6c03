"""The decision benchmark's world: server, streams, a trusted operator, the published bundle, one registered
agent and the mix of actions it sends; and the child processes (replica, floor responder) it runs, started
and stopped cleanly."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgov.contracts import crypto, subjects
from agentgov.contracts.events import Action, AgentRegistered, PolicyPublished
from agentgov.identity.operators import ROLES, Operator, TrustStore
from agentgov.identity.tokens import issue_token
from agentgov.policy.lang import AgentFacts, load_bundle
from agentgov.policy.lang.synth import bench_bundle
from agentgov.sdk import actions
from agentgov.streaming.natsconf import Credential, NatsUsers, connect
from agentgov.streaming.producer import ChainedProducer
from agentgov.streaming.server import EmbeddedNats
from agentgov.streaming.streams import ensure_streams
from bench.harness import log

AGENT, ORG, TEAM = "bench", "acme", "payments"
FACTS = AgentFacts(id=AGENT, org=ORG, team=TEAM, trust=70, labels={"env": "prod"})
"""The registered agent, as evaluation sees it (the synthetic bundle's rules read ``agent.labels.env``)."""


# -- the actions the agent sends --------------------------------------------------------------------------------------


def action_mix() -> list[tuple[Action, int | None]]:
    """A realistic mix of actions (and cost estimates): mostly allowed, some review, redact and deny.

    The shapes are those of the SDK's builders (``agentgov.sdk.actions``); the tool names are the ones the
    synthetic bundle's ``tools`` section lists (``run_shell``, ``read_file``, ``github.create_issue``…).
    """
    run_shell, read_file, write_file, http_fetch = "run_shell", "read_file", "write_file", "http_fetch"
    secret = "ghp_" + "Z3x9QmT4vL8pW2nK6rY0sJ5hB1cF7dG3aE9u"  # a GitHub token in a body: redacted
    return [
        (Action(kind="shell", tool=run_shell, target="git status --short", args={"cwd": "/srv/app"}), None),
        (Action(kind="shell", tool=run_shell, target="uv run pytest -q tests/unit", args={"cwd": "/srv/app"}), None),
        (Action(kind="shell", tool=run_shell, target="grep -rn TODO src/billing", args={"cwd": "/srv/app"}), None),
        (Action(kind="shell", tool=run_shell, target="cat /srv/app/README.md"), None),
        (Action(kind="shell", tool=run_shell, target="git push origin feature/invoices"), None),
        (Action(kind="shell", tool=run_shell, target="sudo rm -rf /var/lib/postgresql"), None),
        (Action(kind="file", tool=read_file, target="/srv/app/src/billing/invoice.py", args={"op": "read"}), None),
        (Action(kind="file", tool=write_file, target="/srv/app/src/billing/invoice.py", args={"op": "write"}), None),
        (Action(kind="file", tool=read_file, target="/srv/app/docs/design.md", args={"op": "read"}), None),
        (Action(kind="file", tool=read_file, target="/srv/app/.env", args={"op": "read"}), None),
        (
            Action(
                kind="http",
                tool=http_fetch,
                target="https://api.github.com/repos/acme/app/pulls?state=open",
                args={"method": "GET"},
            ),
            None,
        ),
        (Action(kind="http", tool=http_fetch, target="https://pypi.org/simple/msgspec/", args={"method": "GET"}), None),
        (
            Action(
                kind="http",
                tool=http_fetch,
                target="https://api.github.com/repos/acme/app/issues",
                args={"method": "POST", "body": {"title": "flaky test", "token": secret}},
            ),
            None,
        ),
        (
            Action(
                kind="mcp_tool",
                tool="github.create_issue",
                args={"server": "github", "arguments": {"repo": "acme/app", "title": "flaky test in billing"}},
            ),
            None,
        ),
        (
            Action(kind="mcp_tool", tool="jira.search", args={"server": "jira", "arguments": {"jql": "project = PAY"}}),
            None,
        ),
        (actions.llm_call("openai", "gpt-4o", max_tokens=1024), 12_000),
        (actions.llm_call("anthropic", "claude-sonnet-4", max_tokens=4096), 45_000),
        (actions.k8s("delete", "deployment", namespace="prod", name="payments"), None),
    ]


# -- the world: server, streams, operator, bundle, agent ------------------------------------------------


@dataclass
class World:
    """Everything the phases share."""

    tmp: Path
    server: EmbeddedNats
    users: NatsUsers
    trust_path: Path
    credentials_path: Path
    children: list[subprocess.Popen[bytes]] = field(default_factory=list)


async def setup_world(server: EmbeddedNats, users: NatsUsers, tmp: Path, n_rules: int) -> World:
    """Streams, trust file, the signed bundle (revision 1), the registered agent and its credentials file."""
    operator = Ed25519PrivateKey.generate()
    trust_path = tmp / "home" / "operators.json"
    trust_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    TrustStore([Operator(name="bench", public_key=crypto.public_key_text(operator), roles=list(ROLES))]).save(
        trust_path
    )
    source = bench_bundle(n_rules)
    load_bundle(source, "bench.yaml")  # fail here, with every diagnostic, rather than in the replica
    nc = await connect(server.url, users.admin, name="bench-setup")
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        sha = hashlib.sha256(source.encode()).hexdigest()
        published = PolicyPublished(
            scope="*",
            revision=1,
            name=f"bench-{n_rules}",
            source=source,
            sha256=sha,
            signer=crypto.key_id(crypto.public_key_text(operator)),
            signature=crypto.sign_policy(operator, "*", 1, sha),
        )
        async with ChainedProducer(js, Ed25519PrivateKey.generate(), role="operator") as producer:
            await producer.publish(subjects.POLICY, published)
            await producer.publish(
                subjects.registry(AGENT),
                AgentRegistered(agent=AGENT, org=ORG, team=TEAM, trust=FACTS.trust, labels=FACTS.labels),
            )
    finally:
        await nc.close()
    token, claims = issue_token(operator, agent=AGENT, org=ORG, team=TEAM, ttl_s=24 * 3600)
    cred = users.agent(AGENT)
    creds = {
        "agent": AGENT,
        "org": ORG,
        "team": TEAM,
        "token": token,
        "token_expires_at": claims.expires_at,
        "nats": {"url": server.url, "user": cred.user, "password": cred.password, "inbox_prefix": cred.inbox_prefix},
    }
    credentials_path = tmp / "home" / "agents" / f"{AGENT}.json"
    credentials_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(credentials_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(creds, fh)
    return World(tmp, server, users, trust_path, credentials_path)


# -- child processes -----------------------------------------------------------------------------------


def child_env(url: str, cred: Credential, **more: str) -> dict[str, str]:
    return {
        **os.environ,
        "AGENTGOV_NATS_URL": url,
        "AGENTGOV_NATS_USER": cred.user,
        "AGENTGOV_NATS_PASSWORD": cred.password,
        **more,
    }


def spawn(world: World, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start a child with its output in ``<tmp>/<name>.log``; :func:`stop_children` ends it."""
    with (world.tmp / f"{name}.log").open("ab") as out:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    world.children.append(proc)
    log(f"{name}: pid {proc.pid}, log {world.tmp / f'{name}.log'}")
    return proc


def stop_children(children: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM every child still running, then SIGKILL what has not exited within 10 s."""
    for proc in children:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in children:
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    children.clear()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


async def wait_answering(
    world: World, name: str, proc: subprocess.Popen[bytes], ask: Callable[[], Awaitable[bool]]
) -> None:
    """Ask until the child answers (30 s at most); raise with its log tail if it dies or never does."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{_tail(world.tmp / f'{name}.log')}")
        if await ask():
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"{name} did not answer within 30 s:\n{_tail(world.tmp / f'{name}.log')}")
