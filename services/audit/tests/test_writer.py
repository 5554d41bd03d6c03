"""The read-model writer child process: commits in order, reports failures, leaves no orphan."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentgov.audit.errors import StoreError
from agentgov.audit.store import Batch, EventQuery, EventRow, open_read_model
from agentgov.audit.writer import ProcessWriter


def _rows(start: int, n: int) -> list[EventRow]:
    return [
        EventRow(stream_seq=s, subject="gov.spend.a1", type="SpendRecorded.v1", status="ok", leaf="00", agent="a1")
        for s in range(start, start + n)
    ]


async def test_batches_are_committed_in_order_by_the_child(tmp_path: Path) -> None:
    """Many batches in flight all land, the position follows, and on_commit sees each in order."""
    db = str(tmp_path / "a.db")
    open_read_model(db).migrate()
    seen: list[int] = []
    w = ProcessWriter(db, max_in_flight=8, on_commit=lambda b: seen.append(b.position))
    await w.start()
    for i in range(50):
        await w.submit(Batch(events=_rows(i * 100 + 1, 100), position=(i + 1) * 100))
    await w.close()
    rm = open_read_model(db)
    assert rm.position() == 5000 and rm.count(EventQuery()) == 5000
    assert seen == [(i + 1) * 100 for i in range(50)]
    rm.close()


async def test_a_failed_commit_is_raised_and_nothing_after_it_lands(tmp_path: Path) -> None:
    """A batch the database refuses stops the writer with a StoreError naming the cause."""
    db = str(tmp_path / "a.db")
    open_read_model(db).migrate()
    w = ProcessWriter(db, max_in_flight=4)
    await w.start()
    await w.submit(Batch(events=_rows(1, 10), position=10))
    bad = EventRow(stream_seq=11, subject="x", type="t", status="nonsense", leaf="00")
    await w.submit(Batch(events=[bad], position=11))
    with pytest.raises(StoreError, match=r"(?i)check constraint|status"):
        await w.drain()
    await w.close()
    rm = open_read_model(db)
    assert rm.position() == 10
    rm.close()
