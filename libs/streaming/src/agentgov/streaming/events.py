"""Typed events from stored messages, for consumers other than audit.

Every consumer but the audit service wants the events it knows and nothing else: this decodes each
message's frame and event, skips (and counts) types this build does not know, written by newer producers,
and bytes that are not events at all (audit diagnoses those). Signatures are the audit service's concern;
a projection trusts the stream it is permitted to read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from agentgov.contracts import codec
from agentgov.contracts.errors import DecodeError, UnknownEventTypeError
from agentgov.contracts.events import KnownEvent
from agentgov.streaming.reader import StoredMsg


@dataclass(slots=True)
class Skipped:
    """What a consumer passed over: unknown types by tag, and undecodable messages."""

    unknown: dict[str, int] = field(default_factory=dict)
    malformed: int = 0


async def typed(
    batches: AsyncIterator[list[StoredMsg]], skipped: Skipped | None = None
) -> AsyncIterator[list[tuple[StoredMsg, KnownEvent]]]:
    """Each batch as (message, event) pairs of known types, in stream order; the rest counted in ``skipped``."""
    skipped = skipped if skipped is not None else Skipped()
    async for batch in batches:
        out: list[tuple[StoredMsg, KnownEvent]] = []
        for m in batch:
            try:
                body, _ = codec.split_lazy(m.data)
                out.append((m, codec.decode_event(body)))
            except UnknownEventTypeError as exc:
                skipped.unknown[exc.type_tag] = skipped.unknown.get(exc.type_tag, 0) + 1
            except DecodeError:
                skipped.malformed += 1
        yield out
