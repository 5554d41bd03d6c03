"""Committing read-model batches in a child process, beside verification.

The audit service verifies in one Python process; writing the indexed read model costs about as much
again, and in a thread it competes for the same interpreter lock. Measured with bench/audit.py on 2
cores: verify + seal alone ran at 38k events/s, with SQLite commits in a thread 18k/s. A child process
gets its own core, so the service keeps up with the stream instead of with its index.

Protocol over the child's stdin/stdout: 4-byte big-endian length, then a msgpack-encoded ``Batch``; the
child answers each batch, in order, with ``ok`` or ``err <message>``. The child commits each batch in one
transaction, exactly as ``ReadModel.apply`` does in process, and exits when its stdin closes, so a parent
killed with ``kill -9`` leaves no orphan writing behind it.

``python -m agentgov.audit.writer TARGET`` is the child.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import signal
import struct
import sys
from collections.abc import Callable

import msgspec

from agentgov.audit.errors import StoreError
from agentgov.audit.store import Batch, ReadModel, open_read_model

_LEN = struct.Struct(">I")
_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Batch)


class ProcessWriter:
    """Sends batches to a child that commits them in order; at most ``max_in_flight`` unacknowledged."""

    def __init__(self, target: str, *, max_in_flight: int = 2, on_commit: Callable[[Batch], None] | None = None):
        self.target = target
        self.max_in_flight = max_in_flight
        self.on_commit = on_commit
        self._proc: asyncio.subprocess.Process | None = None
        self._in_flight: collections.deque[tuple[Batch, asyncio.Future[None]]] = collections.deque()
        self._reader: asyncio.Task[None] | None = None
        self._error: StoreError | None = None
        """The first failure; sticky, since later batches were never committed."""
        self._reported = False

    async def start(self) -> None:
        """Start the child process."""
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agentgov.audit.writer", self.target,
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read_acks(), name="audit-writer-acks")

    async def submit(self, batch: Batch) -> None:
        """Queue a batch for commit; waits while ``max_in_flight`` are unacknowledged, raises a child's error."""
        assert self._proc is not None and self._proc.stdin is not None, "start() first"
        while len(self._in_flight) >= self.max_in_flight and self._error is None:
            await asyncio.shield(self._in_flight[0][1])
        if self._error is not None:
            self._reported = True
            raise self._error
        data = _encoder.encode(batch)
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._in_flight.append((batch, fut))
        self._proc.stdin.write(_LEN.pack(len(data)) + data)
        await self._proc.stdin.drain()

    async def drain(self) -> None:
        """Wait until every submitted batch is committed (or raise the first failure)."""
        while self._in_flight and self._error is None:
            await asyncio.shield(self._in_flight[0][1])
        if self._error is not None:
            self._reported = True
            raise self._error

    async def close(self) -> None:
        """Commit what is in flight, then stop the child."""
        if self._proc is None:
            return
        try:
            await self.drain()
        except StoreError:
            if not self._reported:
                raise
        finally:
            if self._proc.stdin is not None and not self._proc.stdin.is_closing():
                self._proc.stdin.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._proc.wait(), 10)
            if self._proc.returncode is None:
                self._proc.kill()
                await self._proc.wait()
            if self._reader is not None:
                self._reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._reader
            self._proc = None

    async def _read_acks(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        out = self._proc.stdout
        while True:
            line = await out.readline()
            if not line:
                self._fail_all(StoreError("apply", f"the read-model writer exited (status {self._proc.returncode})"))
                return
            batch, fut = self._in_flight.popleft()
            if line.startswith(b"ok"):
                if self.on_commit is not None:
                    self.on_commit(batch)
                fut.set_result(None)
            else:
                self._in_flight.appendleft((batch, fut))
                self._fail_all(StoreError("apply", line[4:].decode(errors="replace").strip()))
                return

    def _fail_all(self, err: StoreError) -> None:
        """Record the failure and wake every waiter (they raise the recorded error)."""
        self._error = self._error or err
        while self._in_flight:
            _, fut = self._in_flight.popleft()
            if not fut.done():
                fut.set_result(None)


class ThreadWriter:
    """The same interface, committing in a thread of this process (one batch at a time, in order)."""

    def __init__(self, read_model: ReadModel, *, on_commit: Callable[[Batch], None] | None = None) -> None:
        self.read_model = read_model
        self.on_commit = on_commit
        self._applying: asyncio.Future[None] | None = None

    async def start(self) -> None:
        """Nothing to start."""

    async def submit(self, batch: Batch) -> None:
        """Commit ``batch`` in a thread once the previous commit is done."""
        await self.drain()

        def done(fut: asyncio.Future[None]) -> None:
            if not fut.cancelled() and fut.exception() is None and self.on_commit is not None:
                self.on_commit(batch)

        self._applying = asyncio.ensure_future(asyncio.to_thread(self.read_model.apply, batch))
        self._applying.add_done_callback(done)

    async def drain(self) -> None:
        """Wait for the commit in flight, if any."""
        if self._applying is not None:
            applying, self._applying = self._applying, None
            await applying

    async def close(self) -> None:
        """Commit what is in flight."""
        await self.drain()


Writer = ProcessWriter | ThreadWriter


def child(target: str) -> int:
    """Read batches from stdin, commit each, answer on stdout; exit when stdin closes.

    Ctrl-C in a terminal reaches the whole process group: the child ignores it and finishes the batches
    its parent already sent, then exits when the parent closes the pipe.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    rm = open_read_model(target)
    inp, out = sys.stdin.buffer, sys.stdout.buffer
    try:
        while True:
            head = inp.read(_LEN.size)
            if len(head) < _LEN.size:
                return 0
            (n,) = _LEN.unpack(head)
            data = inp.read(n)
            try:
                rm.apply(_decoder.decode(data))
            except Exception as exc:
                why = exc.why if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
                out.write(b"err " + why.replace("\n", " ").encode() + b"\n")
                out.flush()
                return 1
            out.write(b"ok\n")
            out.flush()
    finally:
        rm.close()


if __name__ == "__main__":
    raise SystemExit(child(sys.argv[1]))
