"""Audit throughput bench (DESIGN.md §8): verify + seal, and offline ``audit verify``, beside the floor.

What it does, in one run, against its own embedded nats-server in a temp directory:

1. floor: raw ``js.publish_async`` of pre-built payloads (real events, sealed and signed before the clock
   starts) to a scratch stream ``BENCH_FLOOR``: from one process with no headers (THE floor, the JSON's
   ``floor_publish_eps``), then with a ``Nats-Msg-Id`` header like the real producer, from one process and
   from as many processes as there are producers.
2. append: ``--producers`` spawned processes (default 2), each one ``ChainedProducer`` appending its share of
   ``--events`` realistic events (ActionDecided and SpendRecorded for agents a0..a49) with
   ``publish_nowait`` + ``flush``; 50 AgentRegistered events go first.
3. read floor: draining GOV with ``read_batches`` and doing nothing else.
4. verify + seal: the real ``AuditService`` with a SQLite read model, from empty, until its
   ``health.sealed_upto`` reaches the stream's last sequence.
5. verify + seal without SQL: ``AuditProjector`` + ``build_checkpoint`` over ``read_batches``, in process,
   checkpoints built and signed but not published, no read model.
6. offline verify: ``verify_messages`` over the whole stream, default (heads) mode and ``all_signatures``.

Progress goes to stderr; a table goes to stdout and its last line is one JSON object:
``{"verify_seal_eps": …, "offline_verify_eps": …, "floor_publish_eps": …}``.

    .venv/bin/python bench/audit.py [--events 200000] [--producers 2]

The phases, meters, table and spawned publishers are the shared harness in ``bench/harness.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client
from nats.js.client import JetStreamContext

from agentgov.audit.domain import ChainVerifier
from agentgov.audit.handlers import AuditProjector
from agentgov.audit.seal import Segment, build_checkpoint
from agentgov.audit.service import AuditService
from agentgov.audit.settings import AuditSettings
from agentgov.audit.store_sqlite import SqliteReadModel
from agentgov.audit.verify import Report, verify_messages
from agentgov.contracts import subjects
from agentgov.contracts.envelope import GENESIS, Event
from agentgov.contracts.events import (
    Action,
    ActionDecided,
    AgentRegistered,
    Evidence,
    MatchedRule,
    SpendRecorded,
)
from agentgov.contracts.ids import uuid7
from agentgov.contracts.streams import CHECKPOINTS, GOV
from agentgov.streaming.lifecycle import tune_gc
from agentgov.streaming.natsconf import connect
from agentgov.streaming.producer import ChainedProducer
from agentgov.streaming.reader import last_seq, read_all, read_batches
from agentgov.streaming.server import EmbeddedNats, binary_version
from agentgov.streaming.streams import ensure_streams

# Run as a script: the repo root on the path makes `bench.harness` importable here, in spawned workers and to mypy.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import Meter, Phase, floor_stream, log, print_table, publish_phase

TARGET_VERIFY_SEAL_EPS = 20_000
AGENTS = 50
TEAMS = 5
ORG = "acme"
SEAL_EVERY = 1000  # the audit service's default (AuditSettings.seal_every)

# -- realistic events ----------------------------------------------------------------------------------

_ACTIONS: tuple[tuple[str, str | None, str, dict[str, Any]], ...] = (
    ("shell", "bash", "git status --porcelain", {"cwd": "/srv/app"}),
    ("shell", "bash", "pytest -q tests/unit", {"cwd": "/srv/app", "timeout_s": 600}),
    ("http", None, "GET https://api.github.com/repos/acme/app/pulls?state=open", {"headers": 3}),
    ("http", None, "POST https://hooks.slack.com/services/[REDACTED]", {"body_bytes": 412}),
    ("file", "write_file", "/srv/app/src/billing/invoice.py", {"bytes": 2048, "mode": "w"}),
    ("mcp_tool", "jira.create_issue", "jira://ACME", {"project": "ACME", "summary": "flaky test"}),
    ("llm_call", "chat", "openai:gpt-4o", {"max_tokens": 1024}),
    ("k8s", "kubectl", "deployment/payments -n prod", {"verb": "rollout restart"}),
)
_RULES = (
    MatchedRule(id="shell.readonly", effect="allow", reason="read-only command", scope="org"),
    MatchedRule(id="egress.allowlist", effect="allow", reason="domain on the allowlist", scope="team"),
    MatchedRule(id="prod.change", effect="review", reason="changes production", scope="org"),
    MatchedRule(id="secrets.body", effect="redact", reason="credential in request body", scope="org"),
    MatchedRule(id="shell.destructive", effect="deny", reason="destructive command", scope="org"),
)
_MODELS = (("gpt-4o", "openai"), ("claude-sonnet-4", "anthropic"), ("gemini-2.5-pro", "google"))


def _agent(rng: random.Random) -> tuple[str, str]:
    i = rng.randrange(AGENTS)
    return f"a{i}", f"t{i % TEAMS}"


def make_events(n: int, seed: int) -> list[tuple[str, Event]]:
    """``n`` (subject, event) pairs: about 75 % ActionDecided with an action and rules, 25 % SpendRecorded."""
    rng = random.Random(seed)
    out: list[tuple[str, Event]] = []
    for _ in range(n):
        agent, team = _agent(rng)
        if rng.random() < 0.25:
            model, provider = rng.choice(_MODELS)
            tokens_in, tokens_out = rng.randrange(200, 8000), rng.randrange(50, 2000)
            spend: Event = SpendRecorded(
                agent=agent,
                team=team,
                org=ORG,
                trace_id=uuid7(),
                model=model,
                provider=provider,
                request_id=uuid7(),
                input_tokens=tokens_in,
                output_tokens=tokens_out,
                cached_tokens=rng.randrange(0, tokens_in),
                usd_micros=tokens_in * 3 + tokens_out * 12,
                pricing_revision=4,
            )
            out.append((subjects.spend(agent), spend))
            continue
        kind, tool, target, args = rng.choice(_ACTIONS)
        r = rng.random()
        rules = [_RULES[0] if kind == "shell" else _RULES[1]]
        if r < 0.10:
            verdict, claim = "deny", "denied_before_execution"
            rules.append(_RULES[4])
        elif r < 0.20:
            verdict, claim = "review", "approval_required"
            rules.append(_RULES[2])
        elif r < 0.28:
            verdict, claim = "redact", "redacted"
            rules.append(_RULES[3])
        else:
            verdict, claim = "allow", "evaluated"
        decided = ActionDecided(
            agent=agent,
            team=team,
            org=ORG,
            trace_id=uuid7(),
            request_id=uuid7(),
            action=Action(kind=kind, tool=tool, target=target, args=args),  # type: ignore[arg-type]
            verdict=verdict,  # type: ignore[arg-type]
            claim=claim,  # type: ignore[arg-type]
            risk=rng.randrange(0, 100),
            rules=rules,
            evidence=[Evidence(category="destructive", severity=9, detail="matches rm -rf")]
            if verdict == "deny"
            else [],
            reasons=[rule.reason for rule in rules],
            policy_revision=7,
            latency_us=rng.randrange(80, 900),
        )
        out.append((subjects.decision(agent), decided))
    return out


async def read_floor(js: JetStreamContext, until: int, nats_pid: int | None) -> Phase:
    """Drain GOV with ``read_batches`` and do nothing else: the ceiling of every reader below."""
    phase, meter, n = Phase("read_batches drain (read floor)"), Meter(nats_pid).start(), 0
    async for msgs in read_batches(js, GOV, until_seq=until):
        n += len(msgs)
    phase.n = n
    return meter.stop(phase)


async def audit_service(
    nc: Client, js: JetStreamContext, tmp: Path, nats_pid: int | None
) -> tuple[Phase, Phase, AuditService]:
    """The real AuditService from an empty SQLite read model: until everything is sealed, then indexed.

    The service commits its read model in a child process beside verification (its default), so sealing
    can finish before the last rows are committed; both moments are reported.
    """
    settings = AuditSettings.model_validate(
        {"database": str(tmp / "audit.db"), "key_file": tmp / "keys" / "audit.ed25519"}
    )
    rm = SqliteReadModel(tmp / "audit.db")
    svc = AuditService(settings, nc, rm, Ed25519PrivateKey.generate())
    before = await last_seq(js, GOV)
    target = before + 1  # the service's own ProducerKeyRegistered lands on GOV when it starts
    stop = asyncio.Event()
    tune_gc()  # as `agentgov run audit` and `agentgov up` do before starting the service
    meter = Meter(nats_pid).start()
    task = asyncio.create_task(svc.run(stop))
    sealed: Phase | None = None
    next_log = time.monotonic() + 2
    try:
        while True:
            await asyncio.sleep(0.005)
            if task.done():
                task.result()
                raise RuntimeError("the audit service stopped early")
            h = svc.health
            if sealed is None and h.sealed_upto >= target and h.sealed_upto >= await last_seq(js, GOV):
                sealed = Phase("audit service: verify + seal", n=h.messages, wall=time.monotonic() - meter.t0)
            if sealed is not None and h.position >= h.sealed_upto:
                break
            if time.monotonic() >= next_log:
                next_log += 2
                log(f"audit service: sealed up to {h.sealed_upto:,}/{target:,}, indexed {h.position:,}")
        indexed = meter.stop(Phase("  the same, until every row was committed to SQLite"))
    finally:
        stop.set()
        await task
        rm.close()
    assert sealed is not None
    indexed.n = svc.health.messages
    sealed.cpu_self, sealed.cpu_nats = indexed.cpu_self, indexed.cpu_nats
    sealed.note = (
        f"read model committed in a child process beside verification; last row committed at "
        f"{indexed.wall:.2f} s ({indexed.n / indexed.wall:,.0f}/s)"
    )
    return sealed, indexed, svc


async def verify_seal_no_sql(js: JetStreamContext, until: int, nats_pid: int | None) -> tuple[Phase, Phase]:
    """What the service does per batch minus SQL and the checkpoint publish: handle, verify heads, seal."""
    key = Ed25519PrivateKey.generate()
    verifier = ChainVerifier(stream=GOV, signatures="heads")
    projector = AuditProjector(verifier, Segment(first_seq=1))
    prev, number = GENESIS, 0
    handle_s: list[float] = []
    seal_s: list[float] = []

    def seal() -> None:
        nonlocal prev, number
        t = time.perf_counter()
        projector.verify_heads()
        number += 1
        sealed = build_checkpoint(
            projector.segment,
            stream=GOV,
            number=number,
            prev=prev,
            heads=verifier.heads(projector.segment_producers),
            signer="bench-audit",
            key=key,
        )
        prev = sealed.digest.hex()
        projector.segment = Segment(first_seq=sealed.event.last_seq + 1)
        projector.segment_producers = set()
        seal_s.append(time.perf_counter() - t)

    meter = Meter(nats_pid).start()
    async for batch in read_batches(js, GOV, until_seq=until):
        msgs = batch
        while msgs:  # as the service does: a checkpoint covers at most SEAL_EVERY messages
            room = max(SEAL_EVERY - len(projector.segment), 1)
            chunk, msgs = msgs[:room], msgs[room:]
            t = time.perf_counter()
            projector.handle(chunk)
            handle_s.append(time.perf_counter() - t)
            if len(projector.segment) >= SEAL_EVERY:
                seal()
    if len(projector.segment):
        seal()
    phase = meter.stop(Phase("verify + seal without SQL (projector + build_checkpoint)"))
    phase.n = projector.counts["messages"]
    phase.latency_label = "projector.handle per batch"
    phase.latencies = handle_s
    if verifier.problems:
        phase.note = f"{len(verifier.problems)} problems found (expected none)"
    sealing = Phase("  sealing alone (verify heads + Merkle + sign)", n=phase.n, wall=sum(seal_s))
    sealing.latency_label = f"per checkpoint of {SEAL_EVERY}"
    sealing.latencies = seal_s
    return phase, sealing


async def offline_verify(
    js: JetStreamContext, until: int, nats_pid: int | None, *, all_signatures: bool
) -> tuple[Phase, Report]:
    """``agentgov audit verify`` as the CLI runs it: checkpoints first, then the whole stream."""
    stamps: list[float] = []
    meter = Meter(nats_pid).start()
    cps = await read_all(js, CHECKPOINTS)
    report = await verify_messages(
        read_batches(js, GOV, until_seq=until),
        cps,
        gov_last_seq=until,
        all_signatures=all_signatures,
        progress=lambda _n: stamps.append(time.perf_counter()),
    )
    mode = "all signatures" if all_signatures else "heads, the default"
    phase = meter.stop(Phase(f"offline audit verify ({mode})", n=report.messages))
    phase.latency_label = "per batch (incl. reading)"
    phase.latencies = [b - a for a, b in itertools.pairwise(stamps)]
    if not report.ok:
        phase.note = f"NOT OK: first bad {report.first_bad}; {report.checkpoint_problems[:1]}"
    else:
        phase.note = f"ok: {report.checkpoints} checkpoints, {report.producers} producers"
    return phase, report


async def register_agents(js: JetStreamContext) -> None:
    """The operator's AgentRegistered events for a0..a49, as a real deployment would have first."""
    async with ChainedProducer(js, Ed25519PrivateKey.generate(), role="operator") as p:
        for i in range(AGENTS):
            await p.publish_nowait(
                subjects.registry(f"a{i}"),
                AgentRegistered(agent=f"a{i}", team=f"t{i % TEAMS}", org=ORG, trust=60),
            )
        await p.flush()


# -- main -----------------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    per = [
        args.events // args.producers + (1 if i < args.events % args.producers else 0) for i in range(args.producers)
    ]
    with EmbeddedNats(tmp / "nats") as server:
        log(f"nats-server {server.url} (pid {server.pid}), data in {tmp}")
        nc = await connect(server.url, name="bench-main")
        try:
            js = nc.jetstream()
            await ensure_streams(js)
            await floor_stream(js)
            phases: list[Phase] = []

            def publish(name: str, kind: str, counts: list[int], seed: int) -> Phase:
                phase = publish_phase(name, kind, server.url, server.pid, counts, seed, make_events)
                phases.append(phase)
                return phase

            floor = publish("raw publish_async, 1 process (THE FLOOR)", "raw", [args.events], 1000)
            publish("raw publish_async + Nats-Msg-Id, 1 process", "msgid", [args.events], 2000)
            if args.producers > 1:
                publish(f"raw publish_async + Nats-Msg-Id, {args.producers} processes", "msgid", per, 3000)
            await register_agents(js)
            publish(f"chained signed append, {args.producers} processes", "chained", per, 1)
            floor_eps = floor.eps

            gov_last = await last_seq(js, GOV)
            log(f"read floor: draining {gov_last:,} messages")
            phases.append(await read_floor(js, gov_last, server.pid))

            log("verify + seal: the audit service, SQLite read model, from empty")
            svc_phase, indexed, svc = await audit_service(nc, js, tmp, server.pid)
            h = svc.health
            svc_phase.note += f"; {h.checkpoints} checkpoints, broken={h.broken}, malformed={h.malformed}"
            phases += [svc_phase, indexed]
            log(f"verify + seal: {svc_phase.eps:,.0f}/s")

            gov_last = await last_seq(js, GOV)
            log("verify + seal without SQL")
            no_sql, sealing = await verify_seal_no_sql(js, gov_last, server.pid)
            phases += [no_sql, sealing]
            log(f"verify + seal without SQL: {no_sql.eps:,.0f}/s")

            log("offline verify (heads)")
            heads, report = await offline_verify(js, gov_last, server.pid, all_signatures=False)
            phases.append(heads)
            log(f"offline verify: {heads.eps:,.0f}/s")
            log("offline verify (all signatures)")
            every, report_all = await offline_verify(js, gov_last, server.pid, all_signatures=True)
            phases.append(every)
            log(f"offline verify, all signatures: {every.eps:,.0f}/s")
        finally:
            await nc.close()

    version = binary_version(server.binary)
    header = (
        f"agentgov audit bench: {args.events:,} events from {args.producers} producers on "
        f"{os.cpu_count()} cores, nats-server {'.'.join(map(str, version)) if version else '?'}, "
        f"seal every {SEAL_EVERY}; target verify + seal ≥ {TARGET_VERIFY_SEAL_EPS:,}/s"
    )
    print_table(phases, floor_eps, header)
    ok = report.ok and report_all.ok and h.broken == 0 and h.malformed == 0
    verdict = "meets" if svc_phase.eps >= TARGET_VERIFY_SEAL_EPS else "BELOW"
    print(
        f"verify + seal {svc_phase.eps:,.0f}/s {verdict} the {TARGET_VERIFY_SEAL_EPS:,}/s target; "
        f"verification {'clean' if ok else 'FOUND PROBLEMS'}"
    )
    return {
        "verify_seal_eps": round(svc_phase.eps),
        "offline_verify_eps": round(heads.eps),
        "floor_publish_eps": round(floor_eps),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/audit.py",
        description="Measure the audit service's verify + seal throughput and offline `audit verify`, "
        "beside the raw publish_async floor measured in the same run (DESIGN.md §8). Starts its own "
        "nats-server in a temp directory. The last line of output is one JSON object.",
    )
    parser.add_argument("--events", type=int, default=200_000, metavar="N", help="events to append (default 200000)")
    parser.add_argument("--producers", type=int, default=2, metavar="P", help="producer processes (default 2)")
    args = parser.parse_args(argv)
    if args.events < args.producers or args.producers < 1:
        parser.error("need at least one producer and one event per producer")
    with tempfile.TemporaryDirectory(prefix="agentgov-bench-") as tmp:
        result = asyncio.run(bench(args, Path(tmp)))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
