"""``agentgov policy replay``: re-evaluate recorded decisions with a candidate bundle.

Reads GOV from the start (the registry is needed to know each agent's team, org, lineage and trust at the
time), takes every ActionDecided since ``--since`` that the policy evaluated (decisions denied before
evaluation, for a bad token, a pause or a malformed request, carry a ``code`` and are counted apart), and
evaluates its recorded action with the candidate at the decision's own time. The recorded action is the
sanitized one: secrets were removed before it was stored, so decisions with redactions cannot be judged
again and are counted apart. Rate limits are not re-played (they depend on traffic).
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from agentgov.cli.connection import runtime_from
from agentgov.cli.output import Progress, error, note, table
from agentgov.cli.timeparse import format_ns, parse_time
from agentgov.contracts.events import ActionDecided, AgentRegistered
from agentgov.contracts.streams import GOV
from agentgov.policy.domain import AgentFacts
from agentgov.policy.lang import BundleInvalid, CompiledBundle, EvalInput, compile_bundle, load_bundle
from agentgov.policy.projection import registered_facts
from agentgov.streaming.connect import connect
from agentgov.streaming.events import Skipped, typed
from agentgov.streaming.reader import last_seq, read_batches


@dataclass(slots=True)
class ReplayReport:
    """What the candidate changes."""

    considered: int = 0
    not_evaluated: int = 0
    redacted: int = 0
    unchanged: int = 0
    changes: Counter[tuple[str, str]] = field(default_factory=Counter)
    examples: dict[tuple[str, str], list[dict[str, object]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        """As one JSON object."""
        return {
            "considered": self.considered,
            "not_evaluated": self.not_evaluated,
            "redacted_not_evaluated": self.redacted,
            "unchanged": self.unchanged,
            "changes": [
                {"from": a, "to": b, "count": n, "examples": self.examples.get((a, b), [])}
                for (a, b), n in self.changes.most_common()
            ],
        }


def replay_events(
    candidate: CompiledBundle,
    events: list[tuple[int, ActionDecided | AgentRegistered]],
    *,
    since_ns: int,
    agent: str | None = None,
    examples: int = 3,
) -> ReplayReport:
    """Re-evaluate the ActionDecided events after ``since_ns`` (pure; the registry comes from ``events``)."""
    report = ReplayReport()
    agents: dict[str, AgentFacts] = {}
    for seq, event in events:
        if isinstance(event, AgentRegistered):
            if event.agent:
                agents[event.agent] = registered_facts(event.agent, event, agents)
            continue
        if event.ts < since_ns or (agent and event.agent != agent):
            continue
        report.considered += 1
        facts = agents.get(event.agent or "")
        if event.code is not None or facts is None:
            report.not_evaluated += 1
            continue
        if event.redactions:
            # The record holds the action with its secrets removed: a candidate would judge a different
            # action, so these are counted apart rather than reported as changes.
            report.redacted += 1
            continue
        result = candidate.evaluate(
            EvalInput(
                action=event.action,
                agent=facts,
                now_ns=event.ts,
                session=None,
                request_context={},
                estimated_usd_micros=None,
                budget=None,
            )
        )
        key = (event.verdict, result.verdict)
        if key[0] == key[1]:
            report.unchanged += 1
            continue
        report.changes[key] += 1
        shown = report.examples.setdefault(key, [])
        if len(shown) < examples:
            shown.append(
                {
                    "seq": seq,
                    "time": format_ns(event.ts),
                    "agent": event.agent,
                    "action": f"{event.action.kind} {event.action.tool or ''} {event.action.target or ''}".strip(),
                    "was": [r.id for r in event.rules],
                    "now": [r.id for r in result.rules],
                    "reasons": list(result.reasons),
                }
            )
    return report


async def replay_cmd(args: argparse.Namespace) -> int:
    """Run the replay against the live stream."""
    path: Path = args.bundle
    try:
        source = await asyncio.to_thread(path.read_text, "utf-8")
        candidate = compile_bundle(load_bundle(source, str(path)))
    except BundleInvalid as exc:
        for d in exc.diagnostics:
            error(str(d))
        return 1
    since_ns = parse_time(args.since)
    nc = await connect(runtime_from(args), name="agentgov-policy-replay")
    events: list[tuple[int, ActionDecided | AgentRegistered]] = []
    try:
        js = nc.jetstream()
        end = await last_seq(js, GOV)
        progress = Progress("reading GOV", end)
        async for batch in typed(read_batches(js, GOV, until_seq=end), Skipped()):
            for m, event in batch:
                if isinstance(event, ActionDecided | AgentRegistered):
                    events.append((m.seq, event))
            if batch:
                progress(batch[-1][0].seq)
        progress.done()
    finally:
        await nc.close()
    report = replay_events(candidate, events, since_ns=since_ns, agent=args.agent, examples=args.examples)
    if args.json:
        print(json.dumps(report.to_json()))
        return 0
    print(
        f"{report.considered} decisions since {format_ns(since_ns)}: {report.unchanged} unchanged, "
        f"{sum(report.changes.values())} would change, {report.not_evaluated} not re-evaluated "
        f"(denied before evaluation, or agent unknown), {report.redacted} not re-evaluated "
        "(secrets were removed before recording)"
    )
    if not report.changes:
        return 0
    table(["recorded", "candidate", "count"], [(a, b, n) for (a, b), n in report.changes.most_common()])
    for key, shown in report.examples.items():
        print(f"\n{key[0]} -> {key[1]}, for example:")
        for ex in shown:
            print(f"  seq {ex['seq']} {ex['time']} {ex['agent']}: {ex['action']}")
            print(f"    was {ex['was'] or '[default]'}; now {ex['now'] or '[default]'}: {'; '.join(ex['reasons'])}")  # type: ignore[arg-type]
    note("rate limits and budget are not re-played; decisions denied before evaluation are not re-evaluated")
    return 0
