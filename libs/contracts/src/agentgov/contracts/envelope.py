"""The envelope every event carries (DESIGN.md §3, §5).

``Event`` is the tagged base of every event type: ``type`` is the versioned tag (``ActionDecided.v1``), then
the envelope fields, then the event's own fields. Producers build an event with only its own fields and the
``agent``/``team``/``org``/``trace_id`` that apply; the chained producer fills ``id``, ``ts`` and ``chain``.

``EnvelopeView`` decodes the envelope of *any* event, including types this build does not know, so the
audit service can verify and index events written by newer producers.
"""

from __future__ import annotations

import msgspec

GENESIS = "0" * 64
"""``prev`` of a producer's first event."""


class Chain(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A producer's chain position: its gap-free sequence (from 1) and the hash of its previous event."""

    producer: str
    seq: int
    prev: str = GENESIS


UNCHAINED = Chain(producer="", seq=0)
"""Placeholder on an event that has not been through a producer yet."""


class Event(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag_field="type"):
    """Base of every event. Subclasses set ``tag="Name.vN"``; add fields only with defaults."""

    id: str = ""
    ts: int = 0
    chain: Chain = UNCHAINED
    agent: str | None = None
    team: str | None = None
    org: str | None = None
    trace_id: str | None = None


class EnvelopeView(msgspec.Struct, frozen=True, kw_only=True):
    """The envelope fields of any event, known type or not (unknown fields are ignored)."""

    type: str
    id: str
    ts: int
    chain: Chain
    agent: str | None = None
    team: str | None = None
    org: str | None = None
    trace_id: str | None = None
    verdict: str | None = None
