"""The measuring harness the benchmarks in ``bench/`` share: phases, meters, the table, spawned publishers.

- :class:`Meter` measures a :class:`Phase`: wall clock, CPU of this process, of nats-server and optionally of
  one more process (a service under test), from /proc.
- :func:`print_table` prints phases beside a floor: events/s, the rate relative to the floor, latency
  percentiles (p50/p99 unless asked for others), CPU.
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


def machine_cpu() -> float:
    """CPU seconds the whole machine has been busy, time stolen by the hypervisor included, from /proc/stat
    (0 when unavailable). The difference of two readings minus the CPU of one's own processes is what
    everything else on the machine took meanwhile."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@dataclass(slots=True)
class Phase:
    """One measured phase: messages, wall seconds, CPU (this process, nats-server, another), latencies."""

    name: str
    n: int = 0
    wall: float = 0.0
    cpu_self: float | None = None
    cpu_nats: float | None = None
    cpu_other: float | None = None
    cpu_rest: float | None = None
    """CPU of everything else on the machine (steal included): how disturbed the measurement was."""
    latency_label: str = ""
    latencies: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def eps(self) -> float:
        """Messages per second."""
        return self.n / self.wall if self.wall else 0.0

    def extend(self, part: Phase) -> Phase:
        """Add a later stretch of the same phase (measured apart, e.g. in turns with another phase)."""
        self.n += part.n
        self.wall += part.wall
        self.latencies += part.latencies
        for name in ("cpu_self", "cpu_nats", "cpu_other", "cpu_rest"):
            mine, theirs = getattr(self, name), getattr(part, name)
            if theirs is not None:
                setattr(self, name, (mine or 0.0) + theirs)
        return self


class Meter:
    """Wall clock and CPU (this process, nats-server, ``other_pid`` if given) between ``start()`` and ``stop()``."""

    def __init__(self, nats_pid: int | None, other_pid: int | None = None) -> None:
        self.nats_pid = nats_pid
        self.other_pid = other_pid
        self.t0 = self.c0 = self.s0 = self.o0 = self.m0 = 0.0

    def start(self) -> Meter:
        self.t0, self.c0, self.s0 = time.monotonic(), time.process_time(), proc_cpu(self.nats_pid)
        self.o0, self.m0 = proc_cpu(self.other_pid), machine_cpu()
        return self

    def stop(self, phase: Phase) -> Phase:
        phase.wall = time.monotonic() - self.t0
        phase.cpu_self = time.process_time() - self.c0
        phase.cpu_nats = proc_cpu(self.nats_pid) - self.s0
        if self.other_pid is not None:
            phase.cpu_other = proc_cpu(self.other_pid) - self.o0
        machine = machine_cpu() - self.m0
        if machine > 0:
            phase.cpu_rest = max(0.0, machine - phase.cpu_self - phase.cpu_nats - (phase.cpu_other or 0.0))
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


def quantile(xs: Sequence[float], q: float) -> float:
    """The ``q``-th percentile of ``xs`` (``q`` in 0..100, fractions allowed: 99.9), interpolated between
    the two nearest values (``statistics.quantiles(method="inclusive")``); ``xs`` must not be empty."""
    s = sorted(xs)
    pos = (len(s) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def ms(xs: list[float], q: float) -> str:
    """The ``q``-th percentile of ``xs`` (seconds) in milliseconds, ``-`` when empty."""
    if not xs:
        return "-"
    return f"{quantile(xs, q) * 1000:.2f}"


def pct(cpu: float | None, wall: float) -> str:
    """CPU seconds as a percentage of wall seconds, ``-`` when unknown."""
    return "-" if cpu is None or not wall else f"{100 * cpu / wall:.0f}%"


def print_table(
    phases: list[Phase],
    floor: float,
    header: str,
    *,
    percentiles: Sequence[float] = (50, 99),
    other_cpu: str = "cpu svc",
    rest: bool = False,
) -> None:
    """The human-readable table: rate, rate relative to the floor (``-`` when ``floor`` is 0), latency
    percentiles, CPU; a column ``other_cpu`` appears when a phase measured a third process, and with
    ``rest`` a column ``cpu rest``: what the rest of the machine took meanwhile (other people's work, steal)."""
    print(header)
    other = any(p.cpu_other is not None for p in phases)
    head = ["what", "events/s", "× floor", *(f"p{q:g} ms" for q in percentiles), "latency of", "cpu py", "cpu nats"]
    rows = [head + [other_cpu] * other + ["cpu rest"] * rest]
    rows += [
        [
            p.name,
            f"{p.eps:,.0f}",
            f"{p.eps / floor:.2f}" if floor else "-",
            *(ms(p.latencies, q) for q in percentiles),
            p.latency_label or "-",
            pct(p.cpu_self, p.wall),
            pct(p.cpu_nats, p.wall),
        ]
        + [pct(p.cpu_other, p.wall)] * other
        + [pct(p.cpu_rest, p.wall)] * rest
        for p in phases
    ]
    left = (0, 3 + len(percentiles))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for i, r in enumerate(rows):
        cells = [c.ljust(w) if j in left else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths, strict=True))]
        print("  ".join(cells).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for p in phases:
        if p.note:
            print(f"  {p.name.strip()}: {p.note}")
