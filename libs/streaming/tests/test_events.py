"""Consumers other than audit get known events only; unknown types and bad bytes are counted, not fatal."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec

from agentgov.contracts.envelope import Chain
from agentgov.contracts.events import ActionDecided, SpendRecorded
from agentgov.streaming.events import Skipped, typed
from agentgov.streaming.reader import StoredMsg
from agentgov.testing.chains import StreamBuilder, decision, spend


class FutureThing(msgspec.Struct, frozen=True, kw_only=True, tag="FutureThing.v2", tag_field="type"):
    """An event type from a newer producer."""

    id: str = ""
    ts: int = 0
    chain: Chain = Chain(producer="", seq=0)
    agent: str | None = None
    size: int = 3


async def _one(msgs: list[StoredMsg]) -> AsyncIterator[list[StoredMsg]]:
    yield msgs


async def test_unknown_types_and_garbage_are_skipped_and_counted() -> None:
    """Known events come through in order; a future type and undecodable bytes are counted and skipped."""
    s = StreamBuilder()
    w = s.producer()
    s.append(w, decision("a1"))
    s.append(w, FutureThing(agent="a1"), "gov.observe.x.a1")  # type: ignore[arg-type]
    s.raw("gov.spend.a1", b"garbage")
    s.append(w, spend("a1"), "gov.spend.a1")
    skipped = Skipped()
    got = [pair async for batch in typed(_one(s.msgs), skipped) for pair in batch]
    kinds = [type(e).__name__ for _, e in got]
    assert kinds == ["ProducerKeyRegistered", "ActionDecided", "SpendRecorded"]
    assert isinstance(got[1][1], ActionDecided) and isinstance(got[2][1], SpendRecorded)
    assert skipped.unknown == {"FutureThing.v2": 1} and skipped.malformed == 1
