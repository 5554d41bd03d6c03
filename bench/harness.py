"""The measuring harness the benchmarks in ``bench/`` share: phases, meters, the table, spawned publishers.

- :class:`Meter` measures a :class:`Phase`: wall clock, CPU of this process and of nats-server (from /proc).
- :func:`print_table` prints phases beside a floor: events/s, the rate relative to the floor, p50/p99 latencies, CPU.
- :func:`run_publishers` / :func:`publish_phase` publish from spawned processes started together behind a
  barrier, either raw pre-built payloads to the scratch stream :data:`FLOOR_STREAM` (the publish floor,
  see :func:`floor_stream`) or through a real ``ChainedProducer``. The events come from a module-level
  :data:`EventFactory` the benchmark passes in, so that spawn can pickle it by name.

Benchmarks run as scripts (``python bench/audit.py``) and import this module from their own directory.
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing as mp
import os
import queue
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.js import api
from nats.js.client import JetStreamContext

from agentgov.contracts.chain import ChainWriter
from agentgov.contracts.envelope import Event
from agentgov.streaming.natsconf import connect
from agentgov.streaming.producer import MSG_ID, ChainedProducer

FLOOR_STREAM = "BENCH_FLOOR"

FLOOR_KINDS = ("raw", "msgid")
"""Floor publishers: pre-built payloads with no headers (``raw``) or with a unique ``Nats-Msg-Id``."""

EventFactory = Callable[[int, int], list[tuple[str, Event]]]
"""``(n, seed) -> n (subject, event) pairs``; must be a module-level function (spawn pickles it by name)."""


def log(msg: str) -> None:
    """A progress line on stderr."""
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def settle_heap() -> None:
    """Keep the pre-built events out of the cyclic GC's way, so it does not bill their scans to the run."""
    gc.collect()
    gc.freeze()


# -- measuring ----------------------------------------------------------------------------------------


def proc_cpu(pid: int | None) -> float:
    """User + system CPU seconds of a process from /proc (0 when unavailable)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(slots=True)
class Phase:
    """One measured phase: messages, wall seconds, CPU of this process and of nats-server, latencies."""

    name: str
    n: int = 0
    wall: float = 0.0
    cpu_self: float | None = None
    cpu_nats: float | None = None
    latency_label: str = ""
    latencies: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def eps(self) -> float:
        """Messages per second."""
        return self.n / self.wall if self.wall else 0.0


class Meter:
    """Wall clock and CPU (this process, nats-server) between ``start()`` and ``stop()``."""

    def __init__(self, nats_pid: int | None) -> None:
        self.nats_pid = nats_pid
        self.t0 = self.c0 = self.s0 = 0.0

    def start(self) -> Meter:
        self.t0, self.c0, self.s0 = time.monotonic(), time.process_time(), proc_cpu(self.nats_pid)
        return self

    def stop(self, phase: Phase) -> Phase:
        phase.wall = time.monotonic() - self.t0
        phase.cpu_self = time.process_time() - self.c0
        phase.cpu_nats = proc_cpu(self.nats_pid) - self.s0
        return phase


# -- the publishing processes (spawned) ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What one publishing process did: messages, its own start/end (monotonic, shared on Linux), CPU."""

    n: int
    start: float
    end: float
    cpu: float
    payload_bytes: int


async def floor_stream(js: JetStreamContext) -> None:
    """The scratch stream for the raw publish floor: file storage like GOV, same duplicate window."""
    await js.add_stream(
        api.StreamConfig(
            name=FLOOR_STREAM,
            subjects=["bench.floor.>"],
            storage=api.StorageType.FILE,
            duplicate_window=600.0,
        )
    )


def publish_worker(
    kind: str, url: str, n: int, seed: int, barrier: Barrier, results: Any, index: int, make_events: EventFactory
) -> None:
    """Process entry point: ``kind`` is ``"chained"`` (a ChainedProducer) or one of :data:`FLOOR_KINDS`."""
    results.put((index, asyncio.run(_publish(kind, url, n, seed, barrier, make_events))))


async def _publish(
    kind: str, url: str, n: int, seed: int, barrier: Barrier, make_events: EventFactory
) -> PublishResult:
    events = make_events(n, seed)
    nc = await connect(url, name=f"bench-{kind}-{seed}")
    try:
        js = nc.jetstream()
        if kind in FLOOR_KINDS:
            # The same bytes a producer would send (sealed and signed here, untimed), to a scratch stream.
            writer = ChainWriter(Ed25519PrivateKey.generate(), f"floor-{seed}", role="policy")
            payloads = []
            for _, ev in events:
                sealed = writer.seal(ev)
                writer.advance(sealed)
                payloads.append(sealed.payload)
            del events
            subject, size = f"bench.floor.{seed}", sum(map(len, payloads))
            ids = [{MSG_ID: f"floor-{seed}-{i}"} if kind == "msgid" else None for i in range(n)]
            settle_heap()
            await asyncio.to_thread(barrier.wait)
            start, cpu0 = time.monotonic(), time.process_time()
            futures = [await js.publish_async(subject, p, headers=h) for p, h in zip(payloads, ids, strict=True)]
            await asyncio.wait_for(asyncio.gather(*futures), 60)
        else:
            producer = ChainedProducer(js, Ed25519PrivateKey.generate(), role="policy")
            await producer.register()
            settle_heap()
            await asyncio.to_thread(barrier.wait)
            start, cpu0 = time.monotonic(), time.process_time()
            size = 0
            for subject, ev in events:
                size += len((await producer.publish_nowait(subject, ev)).payload)
            await producer.flush()
        end = time.monotonic()
        return PublishResult(n, start, end, time.process_time() - cpu0, size)
    finally:
        await nc.close()


def run_publishers(
    kind: str, url: str, counts: Sequence[int], seed: int, make_events: EventFactory
) -> list[PublishResult]:
    """Run one spawned process per count, started together behind a barrier; wait for all of them."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(len(counts))
    results = ctx.Queue()
    procs = [
        ctx.Process(target=publish_worker, args=(kind, url, n, seed + i, barrier, results, i, make_events), daemon=True)
        for i, n in enumerate(counts)
    ]
    for p in procs:
        p.start()
    out: dict[int, PublishResult] = {}
    while len(out) < len(procs):
        if any(p.exitcode not in (None, 0) for p in procs):
            raise RuntimeError(f"a {kind} publisher failed: exit codes {[p.exitcode for p in procs]}")
        try:
            index, res = results.get(timeout=0.5)
        except queue.Empty:
            continue
        out[index] = res
    for p in procs:
        p.join(30)
    return [out[i] for i in range(len(procs))]


def publish_phase(
    name: str, kind: str, url: str, nats_pid: int | None, counts: list[int], seed: int, make_events: EventFactory
) -> Phase:
    """:func:`run_publishers` as one :class:`Phase`: aggregate rate, summed CPU, per-process rates, bytes."""
    log(f"{name}: {len(counts)} process(es), {sum(counts):,} messages")
    s0 = proc_cpu(nats_pid)
    rs = run_publishers(kind, url, counts, seed, make_events)
    wall = max(r.end for r in rs) - min(r.start for r in rs)
    phase = Phase(name, n=sum(counts), wall=wall, cpu_self=sum(r.cpu for r in rs))
    phase.cpu_nats = proc_cpu(nats_pid) - s0
    each = ", ".join(f"{r.n / (r.end - r.start):,.0f}/s" for r in rs)
    size = sum(r.payload_bytes for r in rs) / phase.n
    phase.note = (f"each process {each}; " if len(rs) > 1 else "") + f"{size:.0f} bytes/message"
    log(f"{name}: {phase.eps:,.0f}/s")
    return phase


# -- output ---------------------------------------------------------------------------------------------


def ms(xs: list[float], q: float) -> str:
    """The ``q``-th percentile of ``xs`` (seconds) in milliseconds, ``-`` when empty."""
    if not xs:
        return "-"
    if len(xs) == 1:
        return f"{xs[0] * 1000:.2f}"
    return f"{statistics.quantiles(xs, n=100, method='inclusive')[round(q) - 1] * 1000:.2f}"


def pct(cpu: float | None, wall: float) -> str:
    """CPU seconds as a percentage of wall seconds, ``-`` when unknown."""
    return "-" if cpu is None or not wall else f"{100 * cpu / wall:.0f}%"


def print_table(phases: list[Phase], floor: float, header: str) -> None:
    """The human-readable table: rate, rate relative to the publish floor, latencies, CPU."""
    print(header)
    rows = [("what", "events/s", "× floor", "p50 ms", "p99 ms", "latency of", "cpu py", "cpu nats")]
    rows += [
        (
            p.name,
            f"{p.eps:,.0f}",
            f"{p.eps / floor:.2f}" if floor else "-",
            ms(p.latencies, 50),
            ms(p.latencies, 99),
            p.latency_label or "-",
            pct(p.cpu_self, p.wall),
            pct(p.cpu_nats, p.wall),
        )
        for p in phases
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, r in enumerate(rows):
        cells = [c.ljust(w) if j in (0, 5) else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths, strict=True))]
        print("  ".join(cells).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for p in phases:
        if p.note:
            print(f"  {p.name.strip()}: {p.note}")
