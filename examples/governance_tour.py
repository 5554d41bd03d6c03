"""The second half of the `agentgov up` demo, from the agent's side: spend, an approval, a runaway loop.

Like ``scripted_agent.py`` this runs no LLM and executes nothing; each part prints what the agent saw::

    python examples/governance_tour.py --credentials FILE spend      # report the spend of two LLM calls
    python examples/governance_tour.py --credentials FILE next-call  # ask for one more call
    python examples/governance_tour.py --credentials FILE approval   # wait for a human on a reviewed push
    python examples/governance_tour.py --credentials FILE loop       # re-read one file until the agent is paused
    python examples/governance_tour.py --credentials FILE once       # one ordinary check (after a resume)

``spend`` reports two gpt-4o calls through the budget service (priced there, never by the agent);
``next-call`` asks for a third, whose estimate does not fit what is left of the team's daily budget.
``approval`` guards a ``git push`` the example bundle sends to review: the guard waits, a human approves
it (``agentgov approvals approve``), and the allow comes back with a single-use execution ticket, which is
verified once and refused the second time. ``loop`` asks for the same read again and again, as a stuck
agent would, until the anomaly service pauses it. Exit status 0 when every part behaved as described,
1 otherwise, 2 when it could not connect.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from agentgov.sdk import (
    Client,
    ConfigurationError,
    ConnectError,
    Decision,
    SpendRefused,
    TicketReplayed,
    TicketVerifier,
    actions,
    guard,
)

MODEL = "gpt-4o"
INPUT_TOKENS, OUTPUT_TOKENS = 100_000, 20_000  # $0.25 + $0.20 at the example prices
NEXT_CALL_ESTIMATE_USD_MICROS = 200_000
LOOP_LIMIT = 60


def _rules(d: Decision) -> str:
    return ",".join(r.id for r in d.rules) or "-"


async def spend(client: Client) -> bool:
    """Two priced calls, reported after the fact (the budget service prices them)."""
    for n in (1, 2):
        try:
            receipt = await client.record_spend(
                MODEL, provider="openai", input_tokens=INPUT_TOKENS, output_tokens=OUTPUT_TOKENS
            )
        except SpendRefused as exc:
            print(f"spend {n}: refused: {exc}")
            return False
        print(
            f"spend {n}: {MODEL} {INPUT_TOKENS:,} in / {OUTPUT_TOKENS:,} out "
            f"= ${receipt.usd_micros / 1e6:.2f} (pricing revision {receipt.pricing_revision})"
        )
    return True


async def next_call(client: Client) -> bool:
    """A check for one more call, whose estimate the team's budget cannot hold."""
    d = await client.check(
        actions.llm_call("openai", MODEL, max_tokens=20_000), estimated_usd_micros=NEXT_CALL_ESTIMATE_USD_MICROS
    )
    print(
        f"next call (estimate ${NEXT_CALL_ESTIMATE_USD_MICROS / 1e6:.2f}): {d.verdict.upper()} | rules: {_rules(d)} "
        f"| {'; '.join(d.reasons) or '-'}"
    )
    return d.verdict == "deny" and any(r.id == "budget.exceeded" for r in d.rules)


async def approval(client: Client, home: Path) -> bool:
    """A reviewed push: wait for the approval, run with the ticket, refuse the ticket a second time."""
    action = actions.shell("git push origin main", tool="run_shell")
    key_file = home / "keys" / "tickets.ed25519.pub"
    seen: list[Decision] = []

    @guard(client, action, on_review="wait", review_timeout=30.0, review_poll=0.5)
    async def push(governed_decision: Decision) -> None:
        seen.append(governed_decision)

    print("push to main: review required; waiting for an approver ...", flush=True)
    await push()  # type: ignore[call-arg]  # the guard passes governed_decision
    d = seen[0]
    print(f"push to main: {d.verdict.upper()} | {'; '.join(d.reasons) or '-'}")
    if not d.ticket:
        print("push to main: no execution ticket")
        return False
    verifier = TicketVerifier([key_file.read_text()])
    claims = verifier.verify(d.ticket, agent=client.agent or "", action=d.action or action)
    print(f"ticket: verified (approval {claims.approval_id}, nonce {claims.nonce[:8]}…, expires {claims.expires_at})")
    try:
        verifier.verify(d.ticket, agent=client.agent or "", action=d.action or action)
    except TicketReplayed as exc:
        print(f"ticket presented again: refused ({exc})")
        return True
    print("ticket presented again: accepted (it should not be)")
    return False


async def loop(client: Client) -> bool:
    """The same read again and again, until the agent is paused."""
    action = actions.file("README.md", cwd="/srv/payments", tool="read_file")
    for n in range(1, LOOP_LIMIT + 1):
        d = await client.check(action)
        if d.code == "agent_paused":
            print(f"read README.md again (#{n}): DENY [agent_paused] | {'; '.join(d.reasons) or '-'}")
            return True
        await asyncio.sleep(0.05)  # a stuck agent still takes a moment per turn: time for the stream to follow
    print(f"read README.md {LOOP_LIMIT} times: never paused")
    return False


async def once(client: Client) -> bool:
    """One ordinary check."""
    d = await client.check(actions.file("README.md", cwd="/srv/payments", tool="read_file"))
    print(f"read README.md: {d.verdict.upper()}{f' [{d.code}]' if d.code else ''}")
    return d.verdict == "allow"


async def run(args: argparse.Namespace) -> int:
    """Connect as the agent and run one part."""
    try:
        if args.credentials:
            client = await Client.connect(credentials=args.credentials, default_timeout=args.timeout)
        else:
            client = await Client.from_env(default_timeout=args.timeout)
    except (ConfigurationError, ConnectError) as exc:
        print(f"governance_tour: {exc}", file=sys.stderr)
        return 2
    home = Path(os.environ.get("AGENTGOV_HOME") or Path.home() / ".agentgov")
    async with client:
        if args.part == "spend":
            ok = await spend(client)
        elif args.part == "next-call":
            ok = await next_call(client)
        elif args.part == "approval":
            ok = await approval(client, home)
        elif args.part == "loop":
            ok = await loop(client)
        else:
            ok = await once(client)
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--credentials", metavar="FILE", help="the agent's credentials file")
    parser.add_argument("--timeout", type=float, default=2.0, help="deadline of each request in seconds")
    parser.add_argument("part", choices=["spend", "next-call", "approval", "loop", "once"], help="which part to run")
    return asyncio.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
