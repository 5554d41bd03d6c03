"""`agentgov policy publish | history | diff | replay` against a live stream, as an operator would run them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from agentgov.contracts.events import Action
from agentgov.identity.operators import Operator, TrustStore
from agentgov.testing.policy import Gov, ReplicaFactory, ask, check, wait_for

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "policies" / "acme-payments.yaml"


def _cli(gov_world: Gov, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    admin = gov_world.users.admin
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTGOV_")}
    env["AGENTGOV_HOME"] = str(home)
    conn = ["--nats-url", gov_world.server.url, "--nats-user", admin.user, "--nats-password", admin.password]
    cmd = [sys.executable, "-m", "agentgov.cli", *args[:2], *conn, *args[2:]]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=False)


async def test_publish_history_diff_and_replay(gov_world: Gov, replicas: ReplicaFactory, tmp_path: Path) -> None:
    """Publish two revisions with the CLI, list and diff them, and replay recorded decisions against a candidate."""
    home = tmp_path / "operator-home"
    first = await asyncio.to_thread(_cli, gov_world, home, "policy", "publish", str(EXAMPLE), "--note", "first")
    assert first.returncode == 0, first.stderr
    assert "as org:acme revision 1" in first.stdout
    # the operator key the CLI created on first use is in its trust file; replicas trust it and ours
    trust = TrustStore.load(home / "operators.json")
    assert len(trust.operators) == 1 and set(trust.operators[0].roles) >= {"policy", "agents"}
    for op in gov_world.trust.operators:
        trust.add(Operator(name="tests", public_key=op.public_key, roles=op.roles, scopes=op.scopes))
    trust.save(home / "operators.json")
    replica = await replicas(operators_file=home / "operators.json")
    await wait_for(lambda: "org:acme" in replica.svc.projection.bundles, what="example bundle active")

    token = await gov_world.register("coder-9", org="acme", team="payments")
    nc = await gov_world.agent("coder-9")
    push = Action(kind="shell", tool="shell", target="git push origin main")
    listing = Action(kind="shell", tool="shell", target="ls -la")
    assert (await ask(nc, "coder-9", check("coder-9", token, push))).verdict == "review"
    assert (await ask(nc, "coder-9", check("coder-9", token, listing))).verdict == "allow"

    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(EXAMPLE.read_text().replace('review: ["git push*", ', "review: ["))
    replay = await asyncio.to_thread(
        _cli, gov_world, home, "policy", "replay", "--bundle", str(candidate), "--since", "1h", "--json"
    )
    assert replay.returncode == 0, replay.stderr
    report = json.loads(replay.stdout)
    assert report["considered"] == 2 and report["unchanged"] == 1
    assert [(c["from"], c["to"], c["count"]) for c in report["changes"]] == [("review", "allow", 1)]
    assert report["changes"][0]["examples"][0]["action"].endswith("git push origin main")

    second = await asyncio.to_thread(_cli, gov_world, home, "policy", "publish", str(candidate), "--note", "2nd")
    assert second.returncode == 0 and "revision 2" in second.stdout, second.stderr
    history = await asyncio.to_thread(_cli, gov_world, home, "policy", "history", "--scope", "org:acme", "--json")
    rows = [json.loads(line) for line in history.stdout.splitlines()]
    assert [(r["revision"], r["note"]) for r in rows] == [(1, "first"), (2, "2nd")]
    diff = await asyncio.to_thread(_cli, gov_world, home, "policy", "diff", "1", "2", "--scope", "org:acme")
    assert diff.returncode == 0 and '-  review: ["git push*", ' in diff.stdout, diff.stdout
    await wait_for(lambda: replica.svc.projection.bundles["org:acme"].revision == 2, what="revision 2 active")
    assert (await ask(nc, "coder-9", check("coder-9", token, push))).verdict == "allow"


async def test_publish_refuses_an_invalid_bundle(gov_world: Gov, tmp_path: Path) -> None:
    """A bundle that does not validate is not published; the diagnostics name file and line."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: agentgov/v1\nkind: PolicyBundle\nmetadata: {name: x, scope: '*'}\ntols: {}\n")
    done = await asyncio.to_thread(_cli, gov_world, tmp_path / "home", "policy", "publish", str(bad))
    assert done.returncode == 1
    assert f"{bad}:4" in done.stderr and "AG101" in done.stderr and "did you mean 'tools'" in done.stderr
    assert "nothing published" in done.stderr
