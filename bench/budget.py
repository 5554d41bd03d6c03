"""Budget projection bench (issue 5): SpendRecorded into the budget service's projection and ledger, beside
the ordered-consumer floor, in one run against its own embedded nats-server in a temp directory.

What it does:

0. world: the streams, a trusted operator, 200 agents registered in 20 teams of 4 orgs, signed limits
   (global and every org monthly, org ``o1`` in Europe/Paris; teams ``t0``-``t9`` daily; agents
   ``a0``-``a19`` rolling 1 h), then ``--events`` SpendRecorded (default 50,000) spread over two days of
   event time (so daily windows roll over and alerts, exceeded and resets are appended), every tenth one
   after the ActionDecided that reserved for it (``reserved_usd_micros``, ``budget_scopes``): while that
   reservation may be outstanding its spend is its own settle item, naming it; the rest is summed per
   limited scope and ledger placement by the projector. Either way the items of a batch (or of several,
   when the ledger lags) go to the ledger in one ``settle_many``: one compare-and-set per touched scope
   document on KV, one script on Redis.
1. floor: the ordered push consumer (``read_batches``) draining GOV, without and with decoding every
   message (the projection must decode; ``floor_consume_eps`` is the decoding drain).
2. projection alone: ``BudgetProjection.apply`` over the pre-decoded events, in process, no I/O.
3. the budget service (``BudgetService.run``, as ``agentgov run budget`` runs it) from an empty snapshot
   until it has applied the whole stream and written its ledger: decode, apply, append alerts, commit the
   snapshot, settle into the ledger (in a writer task, overlapping the next batches' decode and apply).
   On the JetStream KV ledger (``projected_eps``), then on Redis when ``AGENTGOV_REDIS_URL`` is set or a
   Redis answers on 127.0.0.1:6379 (its own key prefix, deleted after). Latency is per projected batch
   (``handle_batch``: up to 1,000 stream messages; it includes the reader's work done while the batch
   waits, so the first batches, during which the consumer fills its buffer, are the slowest).

Progress goes to stderr; a table goes to stdout and its last line is one JSON object:
``{"projected_eps": …, "floor_consume_eps": …}``.

    .venv/bin/python bench/budget.py [--events 50000] [--profile budget.prof]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.aio.client import Client
from nats.js.client import JetStreamContext

from agentgov.budget.domain import BudgetProjection
from agentgov.budget.handlers import decode_batch
from agentgov.budget.limits import LIMIT_SCOPE_PREFIX, limit_digest
from agentgov.budget.service import BudgetService
from agentgov.budget.settings import BudgetSettings
from agentgov.budget.store import SnapshotStore
from agentgov.contracts import codec, crypto, subjects
from agentgov.contracts.envelope import Event
from agentgov.contracts.events import Action, ActionDecided, AgentRegistered, KnownEvent, SpendRecorded
from agentgov.contracts.events_budget import LIMITS_SUBJECT, BudgetLimitSet
from agentgov.contracts.ids import uuid7
from agentgov.contracts.streams import GOV
from agentgov.identity.operators import ROLES, Operator, TrustStore
from agentgov.ledger.model import scopes_of
from agentgov.ledger.open import open_ledger
from agentgov.ledger.port import Ledger
from agentgov.streaming.lifecycle import tune_gc
from agentgov.streaming.natsconf import connect
from agentgov.streaming.producer import ChainedProducer
from agentgov.streaming.reader import last_seq, read_batches
from agentgov.streaming.server import EmbeddedNats, binary_version
from agentgov.streaming.streams import ensure_streams

# Run as a script: the repo root on the path makes `bench.harness` importable here and to mypy.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.harness import Meter, Phase, log, print_table, settle_heap

TARGET_EPS = 10_000
AGENTS, TEAMS, ORGS = 200, 20, 4
HELD_EVERY = 10
"""Every tenth spend follows an ActionDecided that reserved for it."""
SPAN_NS = 2 * 86_400 * 10**9
"""Event time covered by the spend (two days: daily windows roll over)."""
LOCAL_REDIS = "redis://127.0.0.1:6379/0"
LIVE_TTL_S = 4 * 86_400.0
"""Reservation TTL of the "live" phases: every reservation of the run is still outstanding when its spend is
written, so each of those spends is settled on its own (as when spend arrives in real time)."""


def team_org(i: int) -> tuple[str, str]:
    """Team and org of agent ``a<i>``."""
    t = i % TEAMS
    return f"t{t}", f"o{t % ORGS}"


def limits(n: int) -> list[tuple[str, str, int, str, int]]:
    """(scope, window, usd_micros, tz, rolling_s): sized so that most limited scopes cross 80/95/100 %.

    A spend costs 3,500 µ$ on average; over the run each org spends about ``n * 3500 / ORGS``."""
    per_org = n * 3_500 // ORGS
    out = [("global", "monthly", n * 3_500 * 9 // 10, "UTC", 0)]
    out += [(f"org:o{o}", "monthly", per_org, "Europe/Paris" if o == 1 else "UTC", 0) for o in range(ORGS)]
    out += [(f"team:t{t}", "daily", per_org // 5 // 2, "UTC", 0) for t in range(10)]
    out += [(f"agent:a{a}", "rolling", 60_000, "UTC", 3600) for a in range(20)]
    return out


def make_spend(n: int, base_ns: int, seed: int = 7) -> list[tuple[str, Event]]:
    """``n`` SpendRecorded over :data:`SPAN_NS` from ``base_ns``, every tenth after its ActionDecided."""
    rng = random.Random(seed)
    out: list[tuple[str, Event]] = []
    for k in range(n):
        i = rng.randrange(AGENTS)
        agent, (team, org) = f"a{i}", team_org(i)
        ts = base_ns + k * SPAN_NS // n
        tin, tout = rng.randrange(200, 4000), rng.randrange(50, 400)
        usd = tin + tout * 4
        rid = uuid7()
        if k % HELD_EVERY == 0:
            decided = ActionDecided(
                ts=ts - 1,
                agent=agent,
                team=team,
                org=org,
                request_id=rid,
                action=Action(kind="llm_call", tool="chat", target="openai:gpt-4o", args={}),
                verdict="allow",
                claim="evaluated",
                estimated_usd_micros=usd,
                reserved_usd_micros=usd,
                budget_scopes=scopes_of(agent, team, org),
            )
            out.append((subjects.decision(agent), decided))
        spend = SpendRecorded(
            ts=ts,
            agent=agent,
            team=team,
            org=org,
            model="gpt-4o",
            provider="openai",
            request_id=rid,
            input_tokens=tin,
            output_tokens=tout,
            usd_micros=usd,
            pricing_revision=1,
        )
        out.append((subjects.spend(agent), spend))
    return out


async def setup_world(js: JetStreamContext, tmp: Path, n: int, base_ns: int) -> tuple[Path, Phase]:
    """Streams, trust file, registry, signed limits, then the spend; returns the trust file and the append
    phase (informational: one in-process ChainedProducer, signing every event)."""
    operator = Ed25519PrivateKey.generate()
    trust_path = tmp / "operators.json"
    TrustStore([Operator(name="bench", public_key=crypto.public_key_text(operator), roles=list(ROLES))]).save(
        trust_path
    )
    await ensure_streams(js)
    kid = crypto.key_id(crypto.public_key_text(operator))
    async with ChainedProducer(js, Ed25519PrivateKey.generate(), role="operator") as p:
        for i in range(AGENTS):
            team, org = team_org(i)
            await p.publish_nowait(subjects.registry(f"a{i}"), AgentRegistered(agent=f"a{i}", team=team, org=org))
        for scope, window, usd, tz, rolling_s in limits(n):
            digest = limit_digest(scope, window, usd, tz, rolling_s)
            sig = crypto.sign_policy(operator, LIMIT_SCOPE_PREFIX + scope, 0, digest)
            limit = BudgetLimitSet(
                ts=base_ns - 1,
                scope=scope,
                window=window,  # type: ignore[arg-type]
                limit_usd_micros=usd,
                tz=tz,
                rolling_s=rolling_s,
                signer=kid,
                signature=sig,
            )
            await p.publish_nowait(LIMITS_SUBJECT, limit)
        await p.flush()
    events = make_spend(n, base_ns)
    settle_heap()
    log(f"appending {len(events):,} events ({n:,} SpendRecorded)")
    phase, meter = Phase(f"append: {len(events):,} events, 1 chained producer"), Meter(None).start()
    async with ChainedProducer(js, Ed25519PrivateKey.generate(), role="collector") as p:
        for subject, ev in events:
            await p.publish_nowait(subject, ev)
        await p.flush()
    phase.n = len(events)
    phase.note = "informational: signing and appending the bench's input"
    return trust_path, meter.stop(phase)


# -- the floor --------------------------------------------------------------------------------------------


async def drain(js: JetStreamContext, until: int, nats_pid: int | None, *, decode: bool) -> Phase:
    """The ordered consumer draining GOV, decoding every message or not."""
    name = "ordered consumer + decode (THE FLOOR)" if decode else "ordered consumer, no decode"
    phase, meter, n = Phase(name, latency_label="batch"), Meter(nats_pid).start(), 0
    t = time.perf_counter()
    async for msgs in read_batches(js, GOV, until_seq=until):
        if decode:
            for m in msgs:
                codec.decode_event(codec.split_lazy(m.data)[0])
        n += len(msgs)
        now = time.perf_counter()
        phase.latencies.append(now - t)
        t = now
    phase.n = n
    return meter.stop(phase)


async def projection_alone(js: JetStreamContext, until: int, trust_path: Path) -> Phase:
    """``BudgetProjection.apply`` over the stream's events, decoded before the clock starts."""
    decoded: list[tuple[int, str, KnownEvent]] = []
    async for msgs in read_batches(js, GOV, until_seq=until):
        decoded += [(m.seq, m.subject, ev) for m, ev in decode_batch(msgs)]
    proj = BudgetProjection(TrustStore.load(trust_path), hold_ttl_ns=300 * 10**9)
    settle_heap()
    phase, meter = Phase("projection alone (apply, no I/O)"), Meter(None).start()
    for seq, subject, ev in decoded:
        proj.apply(ev, seq, subject)
    phase.n = len(decoded)
    phase.note = f"{len(decoded):,} events the projection reads, pre-decoded"
    return meter.stop(phase)


# -- the service ----------------------------------------------------------------------------------------


async def service_phase(
    nc: Client,
    trust_path: Path,
    until: int,
    nats_pid: int | None,
    *,
    redis_url: str | None,
    profile: Path | None,
    live: bool = False,
) -> tuple[Phase, BudgetService, Ledger]:
    """Run the budget service from an empty snapshot until it has applied ``until`` and written its ledger."""
    js = nc.jetstream()
    tag = uuid.uuid4().hex[:8]
    settings = BudgetSettings.model_validate(
        {
            "operators_file": trust_path,
            "redis_url": redis_url,
            "ledger_bucket": f"bench_ledger_{tag}",
            "state_bucket": f"bench_state_{tag}",
            "ready_timeout_s": 3600,
            "hold_ttl_s": LIVE_TTL_S if live else 300.0,
        }
    )
    ledger = await open_ledger(js, redis_url, redis_prefix=f"agentgov:bench:{tag}:", bucket=settings.ledger_bucket)
    snapshots = await SnapshotStore.open(js, settings.state_bucket)
    svc = BudgetService(settings, nc, TrustStore.load(trust_path), ledger, snapshots)
    backend = "Redis" if redis_url else "JetStream KV"
    what = "reservations live: every 10th spend settled alone" if live else "replay: reservations ended"
    phase = Phase(f"budget service, {backend} ledger, {what}", latency_label="batch")
    handle = svc.projector.handle_batch

    async def timed(batch: Any) -> None:
        t = time.perf_counter()
        await handle(batch)
        phase.latencies.append(time.perf_counter() - t)

    svc.projector.handle_batch = timed  # type: ignore[method-assign]
    stop = asyncio.Event()
    prof = cProfile.Profile(builtins=False) if profile else None
    tune_gc()
    meter = Meter(nats_pid).start()
    if prof:
        prof.enable()
    task = asyncio.create_task(svc.run(stop))
    state = svc.projection.state
    while state.position < until or state.intent or not svc.ready.is_set():
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
        state = svc.projection.state
    if prof:
        prof.disable()
    meter.stop(phase)
    stop.set()
    await task
    if prof and profile:
        prof.dump_stats(profile)
        log(f"profile of the {backend} phase in {profile} (python -m pstats {profile})")
    c = svc.projector.counts
    phase.n = until
    phase.note = (
        f"{c.applied:,} events applied, {c.emitted} alerts/exceeded/resets appended, "
        f"{c.settles:,} ledger settles in {c.settle_calls:,} settle_many calls, {snapshots.commits} snapshot commits"
    )
    return phase, svc, ledger


async def check_ledger(svc: BudgetService, ledger: Ledger) -> str:
    """Compare the ledger's monthly spend with the projection's for every org (they must agree)."""
    now = svc.projection.state.last_ts
    bad = []
    for o in range(ORGS):
        scope = f"org:o{o}"
        want = svc.projection.spent(scope, "monthly", now)
        got = [u.spent_usd_micros for u in await ledger.usage([scope], now) if u.window == "monthly"]
        if got != [want]:
            bad.append(f"{scope}: ledger {got} projection {want}")
    if bad:
        return "LEDGER DISAGREES: " + "; ".join(bad)
    return "ledger agrees with the projection (monthly, every org)"


async def redis_url() -> str | None:
    """``AGENTGOV_REDIS_URL``, else the local Redis if one answers, else None."""
    url = os.environ.get("AGENTGOV_REDIS_URL") or LOCAL_REDIS
    try:
        import redis.asyncio as aioredis

        r = aioredis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
        try:
            await r.ping()
        finally:
            await r.aclose()
    except Exception as exc:
        log(f"no Redis at {url} ({exc}): Redis phase skipped")
        return None
    return url


# -- main -----------------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    base_ns = (time.time_ns() - SPAN_NS - 3600 * 10**9) // 10**9 * 10**9
    phases: list[Phase] = []
    with EmbeddedNats(tmp / "nats") as server:
        log(f"nats-server {server.url} (pid {server.pid}), data in {tmp}")
        nc = await connect(server.url, name="bench-budget")
        try:
            js = nc.jetstream()
            trust_path, append = await setup_world(js, tmp, args.events, base_ns)
            phases.append(append)
            until = await last_seq(js, GOV)
            log(f"floor: draining {until:,} messages")
            phases.append(await drain(js, until, server.pid, decode=False))
            floor = await drain(js, until, server.pid, decode=True)
            phases.append(floor)
            log(f"floor: {floor.eps:,.0f}/s")
            phases.append(await projection_alone(js, until, trust_path))
            url = await redis_url()
            runs = [(None, False), (None, True)] + ([(url, False), (url, True)] if url else [])
            service: dict[tuple[str | None, bool], Phase] = {}
            for backend, live in runs:
                name = f"{'Redis at ' + backend if backend else 'JetStream KV'}, {'live' if live else 'replay'}"
                log(f"budget service: {name}")
                end = await last_seq(js, GOV)
                prof = args.profile if backend is None and not live else None
                phase, svc, ledger = await service_phase(
                    nc, trust_path, end, server.pid, redis_url=backend, profile=prof, live=live
                )
                phase.note += "; " + await check_ledger(svc, ledger)
                if backend:
                    await ledger.reset()  # its own key prefix only
                await ledger.close()
                phases.append(phase)
                service[(backend, live)] = phase
                log(f"budget service, {name}: {phase.eps:,.0f}/s")
        finally:
            await nc.close()
    version = binary_version(server.binary)
    header = (
        f"agentgov budget bench: {args.events:,} SpendRecorded ({AGENTS} agents, {TEAMS} teams, {ORGS} orgs, "
        f"{len(limits(args.events))} limits, every {HELD_EVERY}th spend reserved) on {os.cpu_count()} cores, "
        f"nats-server {'.'.join(map(str, version)) if version else '?'}; target projected ≥ {TARGET_EPS:,}/s"
    )
    print_table(phases, floor.eps, header)
    for (backend, live), phase in service.items():
        verdict = "meets" if phase.eps >= TARGET_EPS else "BELOW"
        what = f"{'Redis' if backend else 'KV'} ledger, {'live' if live else 'replay'}"
        print(f"projected ({what}) {phase.eps:,.0f}/s {verdict} the {TARGET_EPS:,}/s target")
    kv = service[(None, False)]
    return {"projected_eps": round(kv.eps), "floor_consume_eps": round(floor.eps)}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/budget.py",
        description="Measure the budget service's projection (apply + alerts + snapshot + ledger settle) of "
        "SpendRecorded events beside the ordered-consumer floor measured in the same run. Starts its own "
        "nats-server in a temp directory; uses Redis too when AGENTGOV_REDIS_URL is set or 127.0.0.1:6379 "
        "answers. The last line of output is one JSON object.",
    )
    parser.add_argument("--events", type=int, default=50_000, metavar="N", help="SpendRecorded (default 50000)")
    parser.add_argument(
        "--profile", type=Path, metavar="FILE", help="cProfile the KV-ledger service phase into FILE (pstats)"
    )
    args = parser.parse_args(argv)
    if args.events < 1:
        parser.error("need at least one event")
    with tempfile.TemporaryDirectory(prefix="agentgov-bench-") as tmp:
        result = asyncio.run(bench(args, Path(tmp)))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
