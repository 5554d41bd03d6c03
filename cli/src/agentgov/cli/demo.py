"""The short demo `agentgov up` runs: real decisions by the policy service, sealed by audit, then verified.

1. the example bundle (``examples/policies/acme-payments.yaml``) is validated, signed with the local
   operator key and published as the next revision (skipped when that exact text is already active);
2. a demo agent is registered (a token, a credentials file, and a NATS user that may only ask for its own
   decisions);
3. the scripted agent (``examples/scripted_agent.py``, no LLM) runs as its own process with those
   credentials and asks for decisions through the SDK: allowed, reviewed, redacted and denied actions,
   each recorded on GOV before the answer;
4. with the budget, approval and anomaly services running, the governance tour
   (:mod:`agentgov.cli.demo_tour`): a budget alert, an approval granted from the CLI, an auto-pause;
5. once the audit service has sealed everything, the stream is verified.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from argparse import Namespace
from collections.abc import Callable
from pathlib import Path
from typing import Any

from agentgov.audit.service import Health as AuditHealth
from agentgov.audit.verify import Report, verify_stream
from agentgov.cli import demo_tour
from agentgov.cli.cmd_agent import register_agent
from agentgov.cli.cmd_policy import publish_bundle, published
from agentgov.cli.up_services import Governance
from agentgov.policy.service import PolicyService
from agentgov.streaming.connect import connect
from agentgov.streaming.home import Runtime
from agentgov.streaming.reader import last_seq

ORG, TEAM = "acme", "payments"
DEMO_AGENT = "coder-1"
TOUR_AGENT = "coder-2"
"""The governance tour's agent. Not coder-1: the scripted agent's risky commands add up past the anomaly
service's cumulative-risk review threshold, after which coder-1's allows go to review (as they should)."""


def find_example(name: str) -> Path | None:
    """``examples/<name>`` in the working directory or above (a checkout), else None."""
    for base in (Path.cwd(), *Path.cwd().parents):
        candidate = base / "examples" / name
        if candidate.exists():
            return candidate
    return None


async def run(
    rt: Runtime,
    base: Path,
    policy: PolicyService,
    audit: AuditHealth,
    stopped: asyncio.Event,
    out: list[str],
    *,
    bundle: Path | None,
    governance: Governance | None = None,
) -> tuple[Report, bool]:
    """Publish the bundle, register the agent, run the scripted agent and the governance tour, wait for the
    seal, verify; (the verification report, whether the tour's parts all behaved)."""
    nc = await connect(rt, name="agentgov-demo")
    try:
        js = nc.jetstream()
        if bundle is not None:
            source = await asyncio.to_thread(bundle.read_text, "utf-8")
            active = {e.scope: e for _, e in await published(js)}
            if not any(e.source == source for e in active.values()):
                scope, revision, _ = await publish_bundle(rt, bundle, "published by agentgov up", base=base)
                out.append(f"policy: {bundle} published as {scope} revision {revision}")
            else:
                out.append(f"policy: {bundle} is already published")
        else:
            out.append(
                "policy: no examples/policies/acme-payments.yaml here; nothing published (every check: no_policy)"
            )
        creds = await _register(rt, base, policy, stopped, DEMO_AGENT, out)
        script = find_example("scripted_agent.py")
        if script is None:
            out.append("scripted agent: examples/scripted_agent.py not found; skipped")
        else:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                str(script),
                "--credentials",
                str(creds["path"]),
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                env={**os.environ, "AGENTGOV_HOME": str(base)},
            )
            stdout, _ = await proc.communicate()
            out.append(f"scripted agent ({script}), exit {proc.returncode}:")
            out.extend("  " + line for line in stdout.decode(errors="replace").splitlines())
        toured = True
        if governance is not None and not stopped.is_set():
            tour_creds = await _register(rt, base, policy, stopped, TOUR_AGENT, out)
            toured, lines = await demo_tour.run(rt, base, js, governance, Path(tour_creds["path"]), TEAM, TOUR_AGENT)
            out.extend(lines)
        target = await last_seq(js, "GOV")
        await _until(lambda: audit.sealed_upto >= target, 15, stopped)
        return await verify_stream(js), toured
    finally:
        await nc.close()


async def _register(
    rt: Runtime, base: Path, policy: PolicyService, stopped: asyncio.Event, agent: str, out: list[str]
) -> dict[str, Any]:
    """Register a demo agent of the demo team; its credentials, once the policy knows it and a bundle."""
    args = Namespace(
        agent=agent,
        org=ORG,
        team=TEAM,
        parent=None,
        trust=70,
        label=[],
        ttl=3600,
        out=None,
        nats_url=None,
        nats_user=rt.user,
        nats_password=rt.password,
    )
    creds = await register_agent(args, rt=rt, base=base)
    out.append(f"agent: {agent} registered (org {ORG}, team {TEAM}); credentials {creds['path']}")
    await _until(lambda: agent in policy.projection.agents and bool(policy.projection.bundles), 10, stopped)
    return creds


async def _until(cond: Callable[[], bool], timeout: float, stopped: asyncio.Event) -> None:
    """Poll a condition of another component's state (which has no event to wait on)."""
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline and not stopped.is_set():
        await asyncio.sleep(0.05)
