"""Approvals on the policy side: what the approval events say, a re-ask that carries one out, and tickets.

An approval is named by the id of the ActionDecided whose verdict was ``review`` and bound to the hash of
the exact action (:func:`agentgov.contracts.events_approval.action_hash`). The SDK re-asks with
``context={"approval_for": <that id>}``; :func:`resolve` then turns the re-ask's ``review`` into:

- **allow** (claim ``evaluated``, reason ``approved by <name>: <reason>``, ``approval_id`` set) when the
  approval was granted for this agent and this exact action, has not been used, and its grant is still
  fresh (used before the approval's expiry plus a grace period); the decision path then records it
  **once** (``Nats-Msg-Id`` ``approval-use:<id>``, so two replicas racing on one grant record one allow and
  the other gets *already used*) and replies with a single-use execution ticket (:class:`TicketSigner`);
- **deny** with the approver's reason when denied, and when the grant was already used or went stale;
- the bundle's **fallback** when it expired (an ``allow`` fallback is carried out like a grant);
- **review** again while it is pending or not yet known.

A re-ask the bundle now denies stays denied (a grant never overrides a deny), and one it now allows stays a
plain allow (no approval is used). :class:`ApprovalBook` is the projection: ApprovalRequested, the first
resolution in stream order (Granted/Denied only when signed by an operator key whose ``approver`` role
covers the agent's org and team; forged or unknown ones are counted in :attr:`ApprovalBook.ignored` and
logged, and change nothing), ApprovalExpired, and every recorded allow that used an approval (from the
decisions every replica follows).
"""

from __future__ import annotations

import collections
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import jwt
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from nats.js.api import PubAck

from agentgov.contracts import crypto
from agentgov.contracts.events import (
    ActionDecided,
    ApprovalDenied,
    ApprovalExpired,
    ApprovalGranted,
    ApprovalRequested,
    KnownEvent,
    Verdict,
)
from agentgov.contracts.events_approval import TICKET_AUDIENCE, ApprovalStatus, action_hash
from agentgov.contracts.ids import uuid7
from agentgov.contracts.requests import CheckAction
from agentgov.identity.approvals import verify_resolution
from agentgov.identity.operators import TrustStore
from agentgov.policy.domain import Outcome
from agentgov.policy.lang.parse_sections import MAX_APPROVAL_TIMEOUT_S
from agentgov.streaming.keys import load_or_create_key
from agentgov.streaming.producer import ChainedProducer

__all__ = ["ApprovalBook", "TicketSigner", "action_hash", "load_ticket_signer", "record_use", "resolve"]

log = logging.getLogger(__name__)

APPROVAL_FOR: Final = "approval_for"
"""The ``CheckAction.context`` key naming the approval a re-ask wants to carry out."""
USE_PREFIX: Final = "approval-use:"
"""``Nats-Msg-Id`` prefix of the one allow that uses an approval."""
SUBJECTS: Final[tuple[str, ...]] = ("gov.approval.*",)
_IGNORED_KEPT: Final = 100

Status = ApprovalStatus


def horizon_ns(grace_s: float) -> int:
    """How far back a replica must read approvals and their use: the longest timeout plus the grace."""
    return int((MAX_APPROVAL_TIMEOUT_S + grace_s) * 1e9)


@dataclass(slots=True)
class Approval:
    """One approval as the policy knows it."""

    approval_id: str
    agent: str
    org: str | None
    team: str | None
    action_hash: str
    expires_ns: int
    fallback: Verdict
    status: Status = "pending"
    by: str = ""
    reason: str = ""


@dataclass(slots=True)
class ApprovalBook:
    """Approvals by id, the first resolution of each, and which were used (see the module docstring)."""

    trust: TrustStore
    grace_ns: int = 600 * 1_000_000_000
    approvals: dict[str, Approval] = field(default_factory=dict)
    used: dict[str, str] = field(default_factory=dict)
    """Approval id → id of the ActionDecided that carried it out."""
    ignored: collections.deque[str] = field(default_factory=lambda: collections.deque(maxlen=_IGNORED_KEPT))
    """Why recent approval events were ignored (forged, unknown, late), newest last."""

    def get(self, approval_id: str) -> Approval | None:
        """The approval, if its ApprovalRequested has been applied."""
        return self.approvals.get(approval_id)

    def apply(self, event: KnownEvent) -> None:
        """Apply one event; types that say nothing about approvals are ignored."""
        match event:
            case ActionDecided(approval_id=str(aid), verdict="allow"):
                self.used.setdefault(aid, event.id)
            case ApprovalRequested():
                if event.approval_id not in self.approvals and event.agent is not None:
                    self.approvals[event.approval_id] = Approval(
                        event.approval_id,
                        event.agent,
                        event.org,
                        event.team,
                        event.action_hash,
                        event.expires_ns,
                        event.fallback,
                    )
            case ApprovalGranted() | ApprovalDenied():
                self._resolution(event)
            case ApprovalExpired():
                a = self.approvals.get(event.approval_id)
                if a is None:
                    self._ignore(f"ApprovalExpired {event.id} for unknown approval {event.approval_id}")
                elif a.status == "pending":
                    a.status, a.fallback = "expired", event.fallback
            case _:
                pass

    def _resolution(self, event: ApprovalGranted | ApprovalDenied) -> None:
        a = self.approvals.get(event.approval_id)
        kind: Status = "granted" if isinstance(event, ApprovalGranted) else "denied"
        if a is None:
            self._ignore(f"{type(event).__name__} {event.id} for unknown approval {event.approval_id}")
            return
        why = verify_resolution(self.trust, event, a.action_hash, a.org, a.team)
        if why is not None:
            self._ignore(f"{type(event).__name__} {event.id} for {a.approval_id} ignored: {why}")
            return
        if a.status != "pending":
            return  # a later resolution: the first one in stream order stands
        a.status = kind
        a.by = event.approver_name or event.approver
        a.reason = event.reason

    def _ignore(self, why: str) -> None:
        log.warning("%s", why)
        self.ignored.append(why)


def resolve(check: CheckAction, outcome: Outcome, book: ApprovalBook, now_ns: int) -> Outcome:
    """A re-ask's outcome once the approval it names is taken into account (see the module docstring)."""
    aid = check.context.get(APPROVAL_FOR) if check.context else None
    if not isinstance(aid, str) or outcome.verdict != "review":
        return outcome
    a = book.get(aid)
    if a is None or a.status == "pending":
        # Still waiting: the review names the approval it waits for, so no second approval is opened for
        # it and the anomaly service does not count the waiting guard's re-asks as a loop.
        return msgspec.structs.replace(
            outcome,
            reasons=[*outcome.reasons, f"approval {aid} is pending"],
            approval_id=aid,
            approval_timeout_s=None,
            approval_fallback=None,
        )
    if a.agent != check.agent:
        return _deny(outcome, f"approval {aid} is for agent {a.agent!r}, not {check.agent!r}")
    if action_hash(check.agent, outcome.action) != a.action_hash:
        return _deny(outcome, f"the action differs from the one approval {aid} was requested for")
    if a.status == "denied":
        return _deny(outcome, f"approval {aid} denied by {a.by}: {a.reason or 'no reason given'}")
    if a.status == "expired" and a.fallback != "allow":
        return _deny(outcome, f"approval {aid} expired unresolved; fallback {a.fallback}")
    if aid in book.used:
        return _deny(outcome, f"approval {aid} already used (by decision {book.used[aid]})")
    if now_ns > a.expires_ns + book.grace_ns:
        return _deny(outcome, f"approval {aid} was not used in time (its grant is stale)")
    why = (
        f"approved by {a.by}: {a.reason or 'no reason given'}"
        if a.status == "granted"
        else f"approval {aid} expired unresolved; the bundle's fallback allows"
    )
    return msgspec.structs.replace(
        outcome,
        verdict="allow",
        claim="evaluated",
        reasons=[why],
        approval_id=aid,
        approval_timeout_s=None,
        approval_fallback=None,
    )


def _deny(outcome: Outcome, why: str) -> Outcome:
    return msgspec.structs.replace(
        outcome,
        verdict="deny",
        claim="denied_before_execution",
        reasons=[why],
        charges=[],
        taint=[],
        approval_timeout_s=None,
        approval_fallback=None,
    )


async def record_use(
    producer: ChainedProducer, subject: str, event: ActionDecided, msg_id: str
) -> tuple[ActionDecided, PubAck]:
    """Record the allow that uses ``event.approval_id`` at most once across every replica.

    The append's ``Nats-Msg-Id`` is ``approval-use:<id>``: when another replica (or a concurrent request on
    this one) recorded a use first, JetStream reports a duplicate and nothing is stored; this request is
    then recorded as a deny (*already used*) under its own ``msg_id`` instead.
    """
    assert event.approval_id is not None
    ack = await producer.publish_once(subject, event, msg_id=USE_PREFIX + event.approval_id)
    if not ack.duplicate:
        return event, ack
    used = msgspec.structs.replace(
        event,
        id=uuid7(),
        verdict="deny",
        claim="denied_before_execution",
        reasons=[f"approval {event.approval_id} already used"],
        taint=[],
        approval_id=None,
    )
    return used, await producer.publish(subject, used, msg_id=msg_id)


class TicketSigner:
    """Mints single-use execution tickets: JWTs (EdDSA) bound to the agent, the action hash and the approval.

    Claims: ``iss`` (the replica's producer id), ``sub`` (agent), ``aud`` (``agentgov-executor``), ``jti``
    (random nonce), ``iat``, ``exp`` (``iat`` + ttl), ``act`` (action hash), ``apr`` (approval id); the
    header's ``kid`` names the key. Executors verify with :class:`agentgov.sdk.tickets.TicketVerifier` and
    the public key in ``<key file>.pub``.
    """

    def __init__(self, key: Ed25519PrivateKey, *, ttl_s: float, issuer: str = "agentgov-policy") -> None:
        self._key = key
        self.ttl_s = ttl_s
        self.issuer = issuer
        self.public_key = crypto.public_key_text(key)
        self.kid = crypto.key_id(self.public_key)

    def mint(self, *, agent: str, action_hash: str, approval_id: str, now_s: float) -> str:
        """A fresh ticket (new nonce) for one execution."""
        iat = int(now_s)
        claims = {
            "iss": self.issuer,
            "sub": agent,
            "aud": TICKET_AUDIENCE,
            "jti": secrets.token_urlsafe(16),
            "iat": iat,
            "exp": iat + max(1, round(self.ttl_s)),
            "act": action_hash,
            "apr": approval_id,
        }
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self.kid})


def load_ticket_signer(path: Path, *, ttl_s: float, issuer: str = "agentgov-policy") -> TicketSigner:
    """The deployment's ticket key at ``path`` (created on first run, 0600), its public key written beside
    it as ``<path>.pub`` (base64url) for executors. Replicas that share the file share the key."""
    key = load_or_create_key(path)
    pub = path.with_name(path.name + ".pub")
    text = crypto.public_key_text(key) + "\n"
    if not pub.exists() or pub.read_text() != text:
        pub.write_text(text)
    return TicketSigner(key, ttl_s=ttl_s, issuer=issuer)
