"""Load generators for request/reply benchmarks: an open loop at fixed send times and a closed loop.

The open loop times each request from when it was *due*, so a stall anywhere shows in the latencies of
every request that should have gone out (no coordinated omission); its sends are woken by a one-shot
SIGALRM aimed at each due time, because asyncio's timers wake up to a millisecond late here.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field

LOOKAHEAD_S = 20e-6
"""The open loop sends a request up to this much before it is due; it is then timed from its actual send."""


Send = Callable[[], Awaitable[bool]]
"""One request; True when it was answered (not a fail-closed ``policy_unavailable`` or a timeout)."""


@dataclass
class LoadResult:
    """What a load phase measured."""

    latencies: list[float]
    failed: int
    lag: list[float] = field(default_factory=list)
    """Open loop: how late each request was sent after it was due (negative: sent early, by the lookahead)."""


@contextlib.contextmanager
def _alarm(tick: Callable[[], float | None]) -> Iterator[None]:
    """Run ``tick`` in the event loop at the times it asks for: it returns the ``perf_counter`` time it
    wants to run next (None: never again). Woken by a one-shot SIGALRM re-armed at every tick.

    asyncio's own timers wake up to 1 ms late (epoll's timeout is whole milliseconds), and a periodic
    interval timer drifts against ``perf_counter`` by hundreds of microseconds on this VM; a one-shot timer
    aimed at each due time wakes the loop within about 60 µs of it (p50; about 200 µs at p99 when quiet).
    """
    loop = asyncio.get_running_loop()
    running = True

    def run() -> None:
        due = tick() if running else None
        if due is not None:
            signal.setitimer(signal.ITIMER_REAL, max(due - time.perf_counter(), 1e-6))

    loop.add_signal_handler(signal.SIGALRM, run)
    loop.call_soon(run)
    try:
        yield
    finally:
        running = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        loop.remove_signal_handler(signal.SIGALRM)


async def open_loop(send: Send, rate: float, duration: float) -> LoadResult:
    """``rate`` requests/s for ``duration`` s at fixed times; each timed from when it was due (or sent, if
    earlier), so a stall anywhere shows up in the latencies of every request that should have gone out."""
    n = max(1, round(rate * duration))
    period = 1.0 / rate
    latencies = [0.0] * n
    lag = [0.0] * n
    failed = 0
    tasks: set[asyncio.Task[None]] = set()
    finished = asyncio.Event()
    left = n
    next_i = 0
    t0 = time.perf_counter() + 0.01

    async def one(i: int, due: float) -> None:
        nonlocal failed, left
        sent = time.perf_counter()
        ok = await send()
        latencies[i] = time.perf_counter() - min(sent, due)
        lag[i] = sent - due
        failed += not ok
        left -= 1
        if not left:
            finished.set()

    def tick() -> float | None:
        nonlocal next_i
        horizon = time.perf_counter() + LOOKAHEAD_S
        loop = asyncio.get_running_loop()
        while next_i < n and t0 + next_i * period <= horizon:
            task = loop.create_task(one(next_i, t0 + next_i * period))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            next_i += 1
        return t0 + next_i * period if next_i < n else None

    with _alarm(tick):
        await finished.wait()
    return LoadResult(latencies, failed, lag)


async def closed_loop(send: Send, inflight: int, duration: float) -> tuple[LoadResult, float]:
    """``inflight`` requests always outstanding for ``duration`` s; the latencies and the wall time."""
    latencies: list[float] = []
    failed = 0
    end = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal failed
        while (start := time.perf_counter()) < end:
            ok = await send()
            latencies.append(time.perf_counter() - start)
            failed += not ok

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(inflight)))
    return LoadResult(latencies, failed), time.perf_counter() - t0
