"""Decision-path bench (DESIGN.md §4, §8): ``check()`` round trip, replica throughput, evaluation alone.

What it does, in one run, against its own embedded nats-server (with users) in a temp directory:

0. setup: the streams, a trust file with a generated operator key, a signed ``--rules`` bundle (default
   50 rules, ``agentgov.policy.lang.synth.bench_bundle``) published as PolicyPublished, one agent
   registered (AgentRegistered, its own NATS user, a token, a credentials file as ``agentgov agent
   register`` writes it). One policy replica runs as a separate process (``python -m agentgov.policy``,
   role ``policy``), so the load generator does not share its GIL; so does the floor responder
   (``bench/decision_floor.py``).
1. latency, open loop: ``--rate`` requests/s (default 1,000) for ``--duration`` seconds (default 60) each,
   sent at fixed times whatever the replies do, and timed from the time each was *due* (no coordinated
   omission). Two targets take turns every ``--block`` seconds (default 10), so that whatever else the
   machine does falls on both alike: the floor, a responder that does what the decision path cannot
   avoid (take a core NATS request, append one same-size message to GOV with a ``Nats-Msg-Id`` and wait
   for the JetStream ack with ``js.publish``, reply), and ``check()`` through the SDK against the replica,
   which also reads the request, checks the token, evaluates the bundle, seals and signs its hash-chained
   ActionDecided.
2. throughput, closed loop: ``--max-inflight`` (default 64 and 128) requests kept in flight for
   ``--burst`` seconds (default 10) each, floor and ``check()``; the best ``check()`` rate is
   ``max_decisions_per_s``.
3. evaluation alone, in this process: ``CompiledBundle.evaluate`` of a ``--eval-rules`` bundle (default
   100 rules) over the same realistic mix of actions.

Progress goes to stderr; tables go to stdout and the last line is one JSON object:
``{"p50_ms": …, "p99_ms": …, "p999_ms": …, "floor_p50_ms": …, "floor_p99_ms": …, "max_decisions_per_s": …,
"eval_p99_us": …}``.

    .venv/bin/python bench/decision.py [--rate 1000] [--duration 60] [--quick] [--max-inflight 64,128]
    .venv/bin/python bench/decision.py --replica-cmd "py-spy record -o p.svg -- .venv/bin/python -m agentgov.policy"

The phases, meters and table are the shared harness in ``bench/harness.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import os
import random
import shlex
import signal
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from agentgov.policy.lang import EvalInput, compile_bundle, load_bundle
from agentgov.policy.lang.synth import bench_bundle
from agentgov.sdk import Client
from agentgov.streaming.lifecycle import tune_gc
from agentgov.streaming.natsconf import NatsUsers, connect
from agentgov.streaming.server import EmbeddedNats, binary_version, free_port

# Run as a script: the repo root on the path makes `bench.harness` importable here and to mypy.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.decision_floor import SCRIPT as FLOOR_SCRIPT
from bench.decision_floor import floor_sender, sample_request
from bench.decision_world import (
    AGENT,
    FACTS,
    World,
    action_mix,
    child_env,
    setup_world,
    spawn,
    stop_children,
    wait_answering,
)
from bench.harness import Meter, Phase, log, pct, print_table, quantile
from bench.loadgen import Send, closed_loop, open_loop

TARGET_P50_MS = 1.0
TARGET_P99_MS = 2.5
TARGET_DECISIONS_PER_S = 5_000
TARGET_EVAL_P99_US = 150.0
PERCENTILES = (50, 95, 99, 99.9)

CHECK_TIMEOUT_S = 1.0
WARMUP_S = 2.0
QUIET_REST = 0.10
"""A turn is quiet when everything else on the machine took at most this much of one core meanwhile."""


class Checker:
    """``check()`` through the SDK over the action mix; counts verdicts and codes, keeps the replica's
    own ``latency_us`` (from reading the request to the JetStream ack) of every decision."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.mix = action_mix()
        self.i = 0
        self.outcomes: collections.Counter[str] = collections.Counter()
        self.server_us: list[int] = []

    async def __call__(self) -> bool:
        action, usd = self.mix[self.i % len(self.mix)]
        self.i += 1
        d = await self.client.check(action, timeout=CHECK_TIMEOUT_S, estimated_usd_micros=usd)
        self.outcomes[d.code or d.verdict] += 1
        if d.code == "policy_unavailable":
            return False
        self.server_us.append(d.latency_us)
        return True

    def reset(self) -> None:
        self.outcomes.clear()
        self.server_us.clear()


# -- phases ----------------------------------------------------------------------------------------------


def _cpu_each(phase: Phase) -> str:
    """CPU per request of the responding process: robust to a busy machine, unlike latency."""
    if not phase.n or phase.cpu_other is None:
        return "responder CPU unknown"
    return f"{phase.cpu_other / phase.n * 1e6:.0f} µs of responder CPU per request"


def _pct_us(xs: Sequence[float], q: float) -> float:
    return quantile(xs, q) * 1e6 if xs else 0.0


@dataclass(frozen=True)
class Target:
    """What a phase sends requests to: the replica through the SDK, or the floor responder."""

    name: str
    send: Send
    pid: int


async def latency_phases(targets: Sequence[Target], args: argparse.Namespace, world: World) -> list[Phase]:
    """Warm each target up, then the open loop at ``--rate`` for ``--duration`` s each, in blocks of about
    ``--block`` s taking turns, so whatever else the machine does meanwhile falls on every target alike."""
    blocks = max(1, math.ceil(args.duration / args.block))
    each = args.duration / blocks
    log(
        f"open loop at {args.rate:,.0f}/s: {', '.join(t.name for t in targets)}; warm-up {WARMUP_S:g} s each, "
        f"then {blocks} turn(s) of {each:g} s"
    )
    for t in targets:
        await open_loop(t.send, args.rate, WARMUP_S)
        if isinstance(t.send, Checker):
            t.send.reset()
    phases = [Phase(t.name, latency_label="from due time, open loop") for t in targets]
    lags: list[list[float]] = [[] for _ in targets]
    quiet: list[list[float]] = [[] for _ in targets]
    quiet_turns = [0 for _ in targets]
    failed = [0 for _ in targets]
    for b in range(blocks):
        for i, (t, phase) in enumerate(zip(targets, phases, strict=True)):
            meter = Meter(world.server.pid, t.pid).start()
            res = await open_loop(t.send, args.rate, each)
            part = meter.stop(Phase(t.name, n=len(res.latencies)))
            part.latencies = res.latencies
            phase.extend(part)
            lags[i] += res.lag
            failed[i] += res.failed
            if part.cpu_rest is not None and part.cpu_rest <= QUIET_REST * part.wall:
                quiet[i] += res.latencies
                quiet_turns[i] += 1
            log(
                f"  turn {b + 1}/{blocks} {t.name}: p50 {quantile(res.latencies, 50) * 1e3:.3f} ms, "
                f"p99 {quantile(res.latencies, 99) * 1e3:.3f} ms, rest of the machine {pct(part.cpu_rest, part.wall)}"
            )
    for phase, lag, fails, calm, n in zip(phases, lags, failed, quiet, quiet_turns, strict=True):
        phase.note = (
            f"sent {quantile(lag, 50) * 1e6:+.0f} µs from due at p50, {quantile(lag, 99) * 1e6:+.0f} µs at p99, "
            f"worst {max(lag) * 1e3:+.2f} ms; {fails} failed; {_cpu_each(phase)}; "
            f"{n}/{blocks} turns quiet (rest of the machine ≤ {QUIET_REST:.0%})"
        )
        if calm:
            phase.note += f": p50 {quantile(calm, 50) * 1e3:.2f} ms, p99 {quantile(calm, 99) * 1e3:.2f} ms"
    return phases


async def throughput_phase(name: str, send: Send, inflight: int, seconds: float, world: World, pid: int) -> Phase:
    """Warm up, then the closed loop with ``inflight`` requests outstanding."""
    log(f"{name}: {inflight} in flight for {seconds:g} s (closed loop)")
    await closed_loop(send, inflight, min(WARMUP_S, seconds))
    if isinstance(send, Checker):
        send.reset()
    meter = Meter(world.server.pid, pid).start()
    res, _ = await closed_loop(send, inflight, seconds)
    phase = meter.stop(Phase(name, n=len(res.latencies) - res.failed))
    phase.latencies = res.latencies
    phase.latency_label = f"per request, {inflight} in flight"
    phase.note = f"{res.failed} failed; {_cpu_each(phase)}"
    log(f"{name}: {phase.eps:,.0f}/s")
    return phase


def eval_phase(n_rules: int, iterations: int) -> tuple[list[float], dict[str, float], collections.Counter[str]]:
    """``CompiledBundle.evaluate`` alone over the action mix: every call timed (seconds), p99 per kind (µs)."""
    compiled = compile_bundle(load_bundle(bench_bundle(n_rules), "bench.yaml"), revision=1, salt=b"bench-salt-01234")
    now = time.time_ns()
    inputs = [
        EvalInput(action=a, agent=FACTS, now_ns=now, estimated_usd_micros=usd, session="s1") for a, usd in action_mix()
    ]
    verdicts: collections.Counter[str] = collections.Counter(compiled.evaluate(i).verdict for i in inputs)
    for _ in range(200):  # warm the caches (regexes, CEL, zoneinfo) as a running replica has them
        for inp in inputs:
            compiled.evaluate(inp)
    tune_gc()
    order = list(range(len(inputs))) * (iterations // len(inputs) + 1)
    random.Random(7).shuffle(order)
    order = order[:iterations]
    times = [0.0] * iterations
    by_kind: dict[str, list[float]] = collections.defaultdict(list)
    clock = time.perf_counter_ns
    for j, k in enumerate(order):
        inp = inputs[k]
        t = clock()
        compiled.evaluate(inp)
        dt = (clock() - t) / 1e9
        times[j] = dt
        by_kind[inp.action.kind].append(dt)
    kinds = {kind: _pct_us(xs, 99) for kind, xs in sorted(by_kind.items())}
    return times, kinds, verdicts


# -- main ------------------------------------------------------------------------------------------------


async def bench(args: argparse.Namespace, tmp: Path) -> dict[str, float]:
    users = NatsUsers.generate(agents=(AGENT,))
    with EmbeddedNats(tmp / "nats", users=users, port=free_port()) as server:
        log(f"nats-server {server.url} (pid {server.pid}), data in {tmp}")
        world = await setup_world(server, users, tmp, args.rules)
        try:
            return await run_phases(args, world)
        finally:
            stop_children(world.children)


async def run_phases(args: argparse.Namespace, world: World) -> dict[str, float]:
    url = world.server.url
    replica = spawn(
        world,
        "policy",
        shlex.split(args.replica_cmd) if args.replica_cmd else [sys.executable, "-m", "agentgov.policy"],
        child_env(
            url,
            world.users.role("policy"),
            AGENTGOV_OPERATORS_FILE=str(world.trust_path),
            AGENTGOV_HOME=str(world.tmp / "home"),
        ),
    )
    responder = spawn(
        world,
        "floor",
        [sys.executable, str(FLOOR_SCRIPT)],
        child_env(url, world.users.admin),
    )
    tune_gc()  # the load generator's own collector pauses are not the system's latency
    client = await Client.connect(credentials=world.credentials_path, name="bench-check")
    admin = await connect(url, world.users.admin, name="bench-floor")
    try:
        checker = Checker(client)
        probe = action_mix()[0][0]

        async def replica_answers() -> bool:
            d = await client.check(probe, timeout=0.5)
            return d.code != "policy_unavailable"

        floor_send = floor_sender(admin, sample_request(client.settings.token or ""), CHECK_TIMEOUT_S)
        await wait_answering(world, "policy", replica, replica_answers)
        await wait_answering(world, "floor", responder, floor_send)
        first = await client.check(probe)
        if first.policy_revision != 1 or first.code is not None:
            raise RuntimeError(f"the replica is not deciding with the bench bundle: {first}")
        log(f"replica (pid {replica.pid}) and floor responder (pid {responder.pid}) answer")

        lat = await latency_phases(
            [
                Target("floor: request + 1 JetStream publish", floor_send, responder.pid),
                Target(f"check() via SDK, {args.rules}-rule bundle", checker, replica.pid),
            ],
            args,
            world,
        )
        check_phase = lat[1]
        server_us = [x / 1e6 for x in checker.server_us]
        outcomes = dict(checker.outcomes.most_common())
        inner = Phase("  inside the replica (Decision.latency_us)", n=len(server_us), wall=check_phase.wall)
        inner.latencies = server_us
        inner.latency_label = "read request → JetStream ack"
        lat.append(inner)
        check_phase.note += f"; outcomes {outcomes}"

        thr: list[Phase] = []
        for inflight in args.max_inflight:
            thr.append(
                await throughput_phase(
                    f"floor, {inflight} in flight", floor_send, inflight, args.burst, world, responder.pid
                )
            )
            phase = await throughput_phase(
                f"check() via SDK, {inflight} in flight", checker, inflight, args.burst, world, replica.pid
            )
            phase.note += f"; outcomes {dict(checker.outcomes.most_common())}"
            thr.append(phase)
    finally:
        await client.close()
        await admin.close()

    log(f"evaluation alone: {args.eval_rules}-rule bundle, {args.eval_iterations:,} evaluations")
    meter = Meter(world.server.pid).start()
    eval_times, eval_kinds, eval_verdicts = eval_phase(args.eval_rules, args.eval_iterations)
    eval_cpu = meter.stop(Phase("evaluation alone"))

    version = binary_version(world.server.binary)
    load = os.getloadavg()
    print(
        f"agentgov decision bench: 1 policy replica, {args.rules}-rule bundle (agentgov.policy.lang.synth), "
        f"{os.cpu_count()} cores, nats-server {'.'.join(map(str, version)) if version else '?'}, "
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at the end"
    )
    print()
    print_table(
        lat,
        0,
        f"round trip at {args.rate:,.0f} requests/s for {args.duration:g} s "
        f"(target p50 ≤ {TARGET_P50_MS} ms, p99 ≤ {TARGET_P99_MS} ms)",
        percentiles=PERCENTILES,
        other_cpu="cpu svc",
        rest=True,
    )
    print()
    floors = [p.eps for p in thr if p.name.startswith("floor")]
    print_table(
        thr,
        max(floors, default=0),
        f"throughput, closed loop, {args.burst:g} s each (target ≥ {TARGET_DECISIONS_PER_S:,} decisions/s; "
        "× floor is against the best floor row)",
        percentiles=PERCENTILES,
        other_cpu="cpu svc",
        rest=True,
    )
    print()
    e50, e99, e999 = (_pct_us(eval_times, q) for q in (50, 99, 99.9))
    print(
        f"evaluation alone ({args.eval_rules}-rule bundle, {len(eval_times):,} evaluations "
        f"of {len(action_mix())} actions, in process): p50 {e50:.1f} µs, p99 {e99:.1f} µs, p99.9 {e999:.1f} µs "
        f"(target p99 ≤ {TARGET_EVAL_P99_US:g} µs)"
    )
    print("  p99 by kind: " + ", ".join(f"{k} {v:.0f} µs" for k, v in eval_kinds.items()))
    print(
        f"  verdicts of the mix: {dict(eval_verdicts.most_common())}; "
        f"rest of the machine meanwhile {pct(eval_cpu.cpu_rest, eval_cpu.wall)}"
    )

    lat_ms = check_phase.latencies
    floor_ms = lat[0].latencies
    best = max((p for p in thr if not p.name.startswith("floor")), key=lambda p: p.eps)
    p50, p99 = quantile(lat_ms, 50) * 1e3, quantile(lat_ms, 99) * 1e3
    verdicts = [
        ("round trip p50", p50 <= TARGET_P50_MS, f"{p50:.3f} ms"),
        ("round trip p99", p99 <= TARGET_P99_MS, f"{p99:.3f} ms"),
        ("decisions/s", best.eps >= TARGET_DECISIONS_PER_S, f"{best.eps:,.0f}/s"),
        ("evaluation p99", e99 <= TARGET_EVAL_P99_US, f"{e99:.1f} µs"),
    ]
    print("targets: " + "; ".join(f"{what} {got} {'meets' if ok else 'MISSES'}" for what, ok, got in verdicts))
    return {
        "p50_ms": round(p50, 3),
        "p99_ms": round(p99, 3),
        "p999_ms": round(quantile(lat_ms, 99.9) * 1e3, 3),
        "floor_p50_ms": round(quantile(floor_ms, 50) * 1e3, 3),
        "floor_p99_ms": round(quantile(floor_ms, 99) * 1e3, 3),
        "max_decisions_per_s": round(best.eps),
        "eval_p99_us": round(e99, 1),
    }


def _inflight(text: str) -> list[int]:
    try:
        values = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, not {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError("give at least one positive number")
    return values


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM ends the run like Ctrl-C: children stopped, server stopped, temp removed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="bench/decision.py",
        description="Measure the decision path (DESIGN.md §8): check() round trip at a fixed rate beside the "
        "floor (request + one JetStream publish) measured in the same run, the maximum sustained decisions/s "
        "of one replica, and policy evaluation alone. Starts its own nats-server, one policy replica and a "
        "floor responder. The last line of output is one JSON object.",
    )
    parser.add_argument("--rate", type=float, default=1000.0, help="open-loop requests/s (default 1000)")
    parser.add_argument("--duration", type=float, default=60.0, help="open-loop seconds per phase (default 60)")
    parser.add_argument(
        "--block", type=float, default=10.0, help="open-loop seconds per turn; floor and check() alternate (default 10)"
    )
    parser.add_argument("--burst", type=float, default=10.0, help="closed-loop seconds per row (default 10)")
    parser.add_argument(
        "--max-inflight", type=_inflight, default=[64, 128], metavar="N,M", help="requests in flight (default 64,128)"
    )
    parser.add_argument("--rules", type=int, default=50, help="rules in the replica's bundle (default 50)")
    parser.add_argument("--eval-rules", type=int, default=100, help="rules in the evaluation bundle (default 100)")
    parser.add_argument(
        "--eval-iterations", type=int, default=50_000, help="evaluations timed in process (default 50000)"
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run: 5 s open loop, 3 s bursts, 5000 evaluations")
    parser.add_argument(
        "--replica-cmd",
        metavar="CMD",
        help="how to run the replica, e.g. under a profiler: 'py-spy record -o policy.svg -- "
        ".venv/bin/python -m agentgov.policy' (default: this Python, -m agentgov.policy)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.burst, args.eval_iterations = 5.0, 3.0, 5_000
    if min(args.rate, args.duration, args.burst, args.block) <= 0:
        parser.error("--rate, --duration, --block and --burst must be positive")
    signal.signal(signal.SIGTERM, _terminate)
    try:
        with tempfile.TemporaryDirectory(prefix="agentgov-bench-decision-") as tmp:
            result = asyncio.run(bench(args, Path(tmp)))
    except KeyboardInterrupt:
        log("interrupted; the replica, the floor responder and nats-server are stopped")
        return 130
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
