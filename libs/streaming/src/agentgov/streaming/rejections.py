"""EventRejected, appended once per refused stream message, by the service that refused it.

A service that reads GOV in order and refuses a message (undecodable, forged, naming an unknown agent or
approval, values out of range) says so on the stream, so the refusal is as visible and as replayable as the
events it is about. Exactly once per stream sequence, across crashes and ``--rebuild``:

* the message id is ``rejected:<service>:<stream seq>``, so a retry inside JetStream's duplicate window
  stores one copy;
* at start the service's last EventRejected is read (``load``): the refusals up to its ``stream_seq`` are on
  the stream already and are not appended again, even when the service replays from the beginning. This
  holds because one instance per stream appends them, in stream order.

The service appends a refusal before it commits the position past the refused message; a crash in between
replays the message and ``load`` finds the refusal, so it is neither lost nor doubled.
"""

from __future__ import annotations

import logging

from nats.errors import TimeoutError as NatsTimeoutError
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from agentgov.contracts import codec, subjects
from agentgov.contracts.errors import DecodeError
from agentgov.contracts.events import EventRejected
from agentgov.contracts.streams import GOV
from agentgov.streaming.producer import ChainedProducer

log = logging.getLogger("agentgov.streaming")

DETAIL_MAX = 500
"""``detail`` is cut to this many characters: a refusal explains, it does not carry the event."""


class Rejections:
    """The EventRejected of one service: which are on the stream, and appending the next."""

    def __init__(self, service: str, stream: str = GOV) -> None:
        self.service = service
        self.subject = subjects.rejected(service)
        self.stream = stream
        self.upto = 0
        """Highest stream sequence whose refusal is on the stream."""
        self.appended = 0

    async def load(self, js: JetStreamContext) -> None:
        """Read this service's last EventRejected; refusals at or below its ``stream_seq`` are not appended."""
        try:
            msg = await js.get_msg(self.stream, subject=self.subject)
        except NotFoundError:
            return
        except (TimeoutError, NatsTimeoutError) as exc:
            raise TimeoutError(f"could not read the last {self.subject} from {self.stream}") from exc
        try:
            event = codec.decode_event(codec.split(msg.data or b"")[0])
        except DecodeError as exc:
            log.warning("the last %s (seq %s) is not an event (%s); refusals may repeat", self.subject, msg.seq, exc)
            return
        if isinstance(event, EventRejected):
            self.upto = event.stream_seq

    async def append(
        self,
        producer: ChainedProducer,
        *,
        stream_seq: int,
        subject: str,
        reason: str,
        detail: str,
        event_type: str = "",
        event_id: str = "",
        about: str = "",
        agent: str | None = None,
    ) -> bool:
        """Append the refusal of the message at ``stream_seq`` unless it is on the stream; True if stored now."""
        if stream_seq <= self.upto:
            return False
        event = EventRejected(
            agent=agent or None,
            service=self.service,
            stream_seq=stream_seq,
            subject=subject,
            reason=reason,
            detail=detail[:DETAIL_MAX],
            event_type=event_type,
            event_id=event_id,
            about=about,
        )
        ack = await producer.publish_once(self.subject, event, msg_id=f"rejected:{self.service}:{stream_seq}")
        self.upto = stream_seq
        self.appended += not ack.duplicate
        return not ack.duplicate
