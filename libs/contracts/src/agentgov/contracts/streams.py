"""The JetStream streams and consumers, as data (DESIGN.md §2, §5, §6).

``GOV`` holds every governance event. It lists its subjects explicitly rather than ``gov.>``: requests on
``gov.check.*`` must not be captured (the requester's reply is the Decision, never a PubAck), and the
checkpoint subject belongs to its own stream. Both streams deny message deletion and purging; NATS refuses
to lift either flag on an existing stream, so a deleted event means the stream itself was replaced.
"""

from __future__ import annotations

from typing import Literal

import msgspec

GOV = "GOV"
CHECKPOINTS = "GOV_CHECKPOINTS"

#: Largest event accepted on GOV; producers check before sending, the stream enforces it as well.
MAX_EVENT_BYTES = 256 * 1024
#: Idempotent-publish window for ``Nats-Msg-Id`` (seconds).
DUPLICATE_WINDOW_S = 600.0


class StreamSpec(msgspec.Struct, frozen=True, kw_only=True):
    """What a stream must look like. Services compare the live config with this and report drift."""

    name: str
    subjects: tuple[str, ...]
    description: str
    storage: Literal["file", "memory"] = "file"
    max_msg_size: int = MAX_EVENT_BYTES
    duplicate_window_s: float = DUPLICATE_WINDOW_S
    deny_delete: bool = True
    deny_purge: bool = True
    allow_direct: bool = True
    replicas: int = 1


class ConsumerSpec(msgspec.Struct, frozen=True, kw_only=True):
    """How a service reads a stream.

    ``ordered`` consumers are ephemeral, flow-controlled push consumers started at the position the
    service keeps in its own store (committed with its projection, so a restart resumes exactly there).
    ``durable`` consumers keep their position in JetStream and need explicit acks.
    """

    name: str
    stream: str
    filter_subjects: tuple[str, ...] = ()
    mode: Literal["ordered", "durable"] = "ordered"
    ack_wait_s: float = 30.0
    max_ack_pending: int = 10_000


GOV_SUBJECTS: tuple[str, ...] = (
    "gov.decision.*",
    "gov.observe.>",
    "gov.spend.*",
    "gov.budget.*",
    "gov.approval.*",
    "gov.anomaly.*",
    "gov.policy",
    "gov.registry.*",
    "gov.audit.diag.*",
)

GOV_STREAM = StreamSpec(
    name=GOV,
    subjects=GOV_SUBJECTS,
    description="agentgov: every governance event, hash-chained per producer",
)

CHECKPOINT_STREAM = StreamSpec(
    name=CHECKPOINTS,
    subjects=("gov.audit.checkpoint",),
    description="agentgov: signed audit checkpoints over GOV",
)

STREAMS: tuple[StreamSpec, ...] = (GOV_STREAM, CHECKPOINT_STREAM)

AUDIT_CONSUMER = ConsumerSpec(name="audit", stream=GOV)
