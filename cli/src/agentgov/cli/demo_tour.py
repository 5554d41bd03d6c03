"""The second half of the `agentgov up` demo: a budget alert, an approval granted from the CLI, an auto-pause.

The agent's side is ``examples/governance_tour.py`` (its own process, with the credentials of the tour's own
agent, coder-2: the scripted agent's risky commands put coder-1 under anomaly review);
the operator's side runs the real ``agentgov`` commands as subprocesses, exactly as a person would type
them, against the running services:

1. the pricing table (``deploy/pricing.yaml``) is published unless one is already current, and the demo
   team gets a daily budget of $1.00; the agent reports two LLM calls of $0.45 each, which crosses 80 %
   (BudgetAlert), and its next call, estimated at $0.20, is denied by the policy's reservation;
2. the agent pushes to main, which the bundle sends to review; the agent waits while
   ``agentgov approvals approve`` grants it; the agent then gets allow with a single-use execution ticket;
3. the agent reads the same file again and again until the anomaly service pauses it (a runaway loop);
   ``agentgov agent resume`` lets it work again.

Every event the parts cause is read back from the stream and printed, so the demo shows what was recorded,
not what was intended.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from nats.js.client import JetStreamContext

from agentgov.cli.up_services import Governance
from agentgov.contracts.events import (
    AgentPaused,
    AnomalyDetected,
    ApprovalRequested,
    BudgetAlert,
    BudgetExceeded,
    KnownEvent,
)
from agentgov.streaming.events import typed
from agentgov.streaming.home import Runtime
from agentgov.streaming.reader import last_seq, read_batches

DAILY_LIMIT_USD = "1.00"
APPROVAL_WAIT_S = 20.0
PAUSE_WAIT_S = 20.0


def find_file(relative: str) -> Path | None:
    """``relative`` in the working directory or above (a checkout), else None."""
    for base in (Path.cwd(), *Path.cwd().parents):
        if (base / relative).exists():
            return base / relative
    return None


class Tour:
    """Runs the parts and collects the lines to print."""

    def __init__(
        self, rt: Runtime, base: Path, js: JetStreamContext, gov: Governance, creds: Path, team: str, agent: str
    ) -> None:
        self.rt, self.base, self.js, self.gov = rt, base, js, gov
        self.creds, self.team, self.agent = creds, team, agent
        self.out: list[str] = []
        self.ok = True
        self.env = {
            **os.environ,
            "AGENTGOV_HOME": str(base),
            "AGENTGOV_NATS_URL": rt.url,
            **({"AGENTGOV_NATS_USER": rt.user} if rt.user else {}),
            **({"AGENTGOV_NATS_PASSWORD": rt.password} if rt.password else {}),
        }

    async def cli(self, *argv: str) -> tuple[int, str]:
        """Run ``agentgov ARGV`` as a person would; show the command and its output."""
        exe = shutil.which("agentgov", path=str(Path(sys.executable).parent)) or "agentgov"
        self.out.append("  $ agentgov " + " ".join(argv))
        proc = await asyncio.create_subprocess_exec(
            exe, *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=self.env
        )
        stdout, _ = await proc.communicate()
        text = stdout.decode(errors="replace").rstrip()
        self.out.extend("    " + line for line in text.splitlines())
        return proc.returncode or 0, text

    async def agent_part(self, script: Path, part: str) -> asyncio.subprocess.Process:
        """Start one part of the agent's tour in its own process."""
        return await asyncio.create_subprocess_exec(
            sys.executable,
            str(script),
            "--credentials",
            str(self.creds),
            part,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=self.env,
        )

    async def finish(self, proc: asyncio.subprocess.Process, what: str) -> None:
        """Wait for an agent part; show its output; a failed part fails the demo."""
        stdout, _ = await proc.communicate()
        self.out.extend("  agent> " + line for line in stdout.decode(errors="replace").splitlines())
        if proc.returncode != 0:
            self.ok = False
            self.out.append(f"  {what}: the agent's part exited {proc.returncode}")

    async def events_since(self, seq: int) -> list[KnownEvent]:
        """Every known event appended after stream sequence ``seq``."""
        end = await last_seq(self.js, "GOV")
        got: list[KnownEvent] = []
        if end <= seq:
            return got
        async for batch in typed(read_batches(self.js, "GOV", start_seq=seq + 1, until_seq=end)):
            got.extend(e for _, e in batch)
        return got

    async def wait_for(self, seq: int, want: Callable[[KnownEvent], bool], timeout: float) -> KnownEvent | None:
        """The first event after ``seq`` that ``want`` accepts, polling the stream until ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            for e in await self.events_since(seq):
                if want(e):
                    return e
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.2)

    async def budget(self, script: Path) -> None:
        """Pricing and a daily team budget; two priced calls cross 80 %; the third does not fit."""
        self.out.append("budget:")
        if not self.gov.budget.health().pricing_revision:
            pricing = find_file("deploy/pricing.yaml")
            if pricing is None:
                self.out.append("  deploy/pricing.yaml not found: usage reports will be refused (no_pricing)")
            else:
                await self.cli("budget", "pricing", "publish", str(pricing))
        scope = f"team:{self.team}"
        await self.cli("budget", "set", scope, "--daily", DAILY_LIMIT_USD, "--tz", "Europe/Berlin")
        await _until(lambda: self.gov.budget.health().limits > 0, 10)
        seq = await last_seq(self.js, "GOV")
        before = await self._team_spend(scope)
        await self.finish(await self.agent_part(script, "spend"), "spend")
        # Spend is reported after the fact: wait until the budget service has settled it into the ledger the
        # policy reserves against (in production the agent's next check simply sees it a moment later).
        deadline = time.monotonic() + 10
        while await self._team_spend(scope) <= before and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await self.finish(await self.agent_part(script, "next-call"), "next call")
        alert = await self.wait_for(seq, lambda e: isinstance(e, BudgetAlert | BudgetExceeded), 10)
        for e in await self.events_since(seq):
            if isinstance(e, BudgetAlert):
                self.out.append(
                    f"  recorded: BudgetAlert {e.scope} {e.window} {e.threshold_pct} %: "
                    f"${e.spent_usd_micros / 1e6:.2f} of ${e.limit_usd_micros / 1e6:.2f}"
                )
            elif isinstance(e, BudgetExceeded):
                self.out.append(f"  recorded: BudgetExceeded {e.scope} {e.window}: ${e.over_usd_micros / 1e6:.2f} over")
        if alert is None:
            self.out.append("  no new alert: this window's alerts were already sent (alerts go once per window)")
        await self.cli("cost")

    async def _team_spend(self, scope: str) -> int:
        """What the ledger holds as spent in the scope's limited windows now."""
        usage = await self.gov.budget.ledger.usage([scope], time.time_ns())
        return sum(u.spent_usd_micros for u in usage)

    async def approval(self, script: Path) -> None:
        """A reviewed push waits for a human; the CLI approves it; the agent runs with a ticket."""
        self.out.append("approval:")
        seq = await last_seq(self.js, "GOV")
        proc = await self.agent_part(script, "approval")
        requested = await self.wait_for(
            seq, lambda e: isinstance(e, ApprovalRequested) and e.agent == self.agent, APPROVAL_WAIT_S
        )
        if not isinstance(requested, ApprovalRequested):
            self.ok = False
            self.out.append(f"  no ApprovalRequested within {APPROVAL_WAIT_S:.0f} s")
        else:
            await self.cli("approvals", "list")
            await self.cli("approvals", "approve", requested.approval_id, "--reason", "release window open (demo)")
        await self.finish(proc, "approval")

    async def pause(self, script: Path) -> None:
        """A runaway loop is paused by the anomaly service; the CLI resumes the agent."""
        self.out.append("anomaly:")
        seq = await last_seq(self.js, "GOV")
        await self.finish(await self.agent_part(script, "loop"), "loop")
        paused = await self.wait_for(seq, lambda e: isinstance(e, AgentPaused) and e.agent == self.agent, PAUSE_WAIT_S)
        for e in await self.events_since(seq):
            if isinstance(e, AnomalyDetected) and e.agent == self.agent:
                self.out.append(
                    f"  recorded: AnomalyDetected {e.kind} (severity {e.severity}, {e.response}): {e.explanation}"
                )
        if not isinstance(paused, AgentPaused):
            self.ok = False
            self.out.append(f"  no AgentPaused within {PAUSE_WAIT_S:.0f} s")
            return
        self.out.append(f"  recorded: AgentPaused by {paused.by}: {paused.reason}")
        await self.cli("agent", "resume", self.agent, "--reason", "loop fixed (demo)")
        await self.finish(await self.agent_part(script, "once"), "after resume")


async def run(
    rt: Runtime, base: Path, js: JetStreamContext, gov: Governance, creds: Path, team: str, agent: str
) -> tuple[bool, Sequence[str]]:
    """All three parts; (every part behaved, the lines to print)."""
    script = find_file("examples/governance_tour.py")
    tour = Tour(rt, base, js, gov, creds, team, agent)
    if script is None:
        return True, ["governance tour: examples/governance_tour.py not found; skipped"]
    await tour.budget(script)
    await tour.approval(script)
    await tour.pause(script)
    return tour.ok, tour.out


async def _until(cond: Callable[[], bool], timeout: float) -> None:
    """Poll a condition of another component's state (which has no event to wait on)."""
    deadline = time.monotonic() + timeout
    while not cond() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
