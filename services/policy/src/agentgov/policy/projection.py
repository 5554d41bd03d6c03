"""The policy service's projection of the stream: active bundles, the agent registry, pauses, revocations,
and session taint (from the decisions themselves, :class:`~agentgov.policy.sessions.Sessions`).

Pure: events in, state out, no NATS. :class:`Projection` applies the events it knows in stream order and
exposes a :class:`~agentgov.policy.domain.World` whose mappings are the projection's own, so a decision
always reads the latest applied state. The service feeds it from an ordered consumer (see ``store.py``);
tests feed it plain events.

What it trusts (DESIGN.md §7):
- ``PolicyPublished`` is activated only when its Ed25519 signature verifies with an operator key from the
  trust file whose ``policy`` role covers the bundle's scope, its digest matches its source, the bundle
  compiles, its declared scope matches, and its revision is newer than the active one for that scope.
  Anything else is kept in :attr:`Projection.rejected` with the reason, and the active revision stays.
- Registry, token revocations and pauses are trusted because only operator and service users may publish
  ``gov.registry.*`` and ``gov.anomaly.*`` (NATS permissions). So is an AnomalyDetected whose response is
  ``review``: the agent's allows go to review until ``ts + max(window_s, 5 min)`` or a resume.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from agentgov.contracts import crypto
from agentgov.contracts.events import (
    ActionDecided,
    AgentPaused,
    AgentRegistered,
    AgentResumed,
    AgentRetired,
    AgentTokenRevoked,
    AnomalyDetected,
    ApprovalDenied,
    ApprovalExpired,
    ApprovalGranted,
    ApprovalRequested,
    KnownEvent,
    PolicyPublished,
)
from agentgov.identity.errors import TrustError
from agentgov.identity.operators import Scope, TrustStore
from agentgov.identity.tokens import TokenVerifier
from agentgov.policy.approvals import ApprovalBook
from agentgov.policy.domain import AgentFacts, UnderReview, World
from agentgov.policy.errors import PolicyRejectedError
from agentgov.policy.lang import BundleInvalid, CompiledBundle, compile_bundle, load_bundle
from agentgov.policy.sessions import Sessions

log = logging.getLogger(__name__)

MIN_REVIEW_S = 300
"""An anomaly review lasts at least this long (seconds), even when the finding's window is shorter."""


@dataclass(slots=True)
class Activation:
    """A bundle revision that became active, and when (stream sequence)."""

    scope: str
    revision: int
    name: str
    signer: str
    stream_seq: int


@dataclass(slots=True)
class Projection:
    """Everything the decision path reads, rebuilt from the stream."""

    trust: TrustStore
    salt: bytes
    bundles: dict[str, CompiledBundle] = field(default_factory=dict)
    agents: dict[str, AgentFacts] = field(default_factory=dict)
    retired: dict[str, str] = field(default_factory=dict)
    paused: dict[str, str] = field(default_factory=dict)
    under_review: dict[str, UnderReview] = field(default_factory=dict)
    revoked_tokens: set[str] = field(default_factory=set)
    revoked_before: dict[str, int] = field(default_factory=dict)
    rejected: list[PolicyRejectedError] = field(default_factory=list)
    activations: list[Activation] = field(default_factory=list)
    sessions: Sessions = field(default_factory=Sessions)
    position: int = 0
    world: World = field(init=False)
    approvals: ApprovalBook = field(init=False)
    """Approvals, their resolutions and their use (:mod:`agentgov.policy.approvals`)."""

    def __post_init__(self) -> None:
        self.approvals = ApprovalBook(self.trust)
        self.world = World(
            bundles=self.bundles,
            agents=self.agents,
            retired=self.retired,
            paused=self.paused,
            under_review=self.under_review,
            revoked_tokens=self.revoked_tokens,
            revoked_before=self.revoked_before,
            tokens=TokenVerifier(self.trust),
            salt=self.salt,
            sessions=self.sessions,
        )

    def apply(self, event: KnownEvent, stream_seq: int = 0) -> None:
        """Apply one event (types the policy does not read are ignored)."""
        self.position = max(self.position, stream_seq)
        match event:
            case ActionDecided():
                self.sessions.apply(event)
                if event.approval_id is not None:
                    self.approvals.apply(event)
            case PolicyPublished():
                self._policy(event, stream_seq)
            case AgentRegistered(agent=str(agent)):
                self._register(agent, event)
            case AgentRetired(agent=str(agent)):
                self.retired[agent] = event.reason or "retired"
            case AgentPaused(agent=str(agent)):
                self.paused[agent] = event.reason or "paused"
            case AgentResumed(agent=str(agent)):
                self.paused.pop(agent, None)
                self.under_review.pop(agent, None)
            case AnomalyDetected(agent=str(agent), response="review"):
                until = event.ts + max(event.window_s, MIN_REVIEW_S) * 1_000_000_000
                current = self.under_review.get(agent)
                if current is None or until > current.until_ns:
                    self.under_review[agent] = UnderReview(event.id, event.explanation, until)
            case AgentTokenRevoked(agent=str(agent)):
                if event.token_id:
                    self.revoked_tokens.add(event.token_id)
                else:
                    # Tokens carry whole seconds: every token issued in or before the revocation's second
                    # is revoked (one issued later in that same second too: fail closed).
                    cutoff = event.ts // 1_000_000_000 + 1
                    self.revoked_before[agent] = max(self.revoked_before.get(agent, 0), cutoff)
            case ApprovalRequested() | ApprovalGranted() | ApprovalDenied() | ApprovalExpired():
                self.approvals.apply(event)
            case _:
                pass

    def _register(self, agent: str, event: AgentRegistered) -> None:
        self.agents[agent] = registered_facts(agent, event, self.agents)
        self.retired.pop(agent, None)

    def _policy(self, event: PolicyPublished, stream_seq: int) -> None:
        try:
            compiled = self._admit(event)
        except PolicyRejectedError as exc:
            log.warning("%s", exc)
            self.rejected.append(exc)
            return
        self.bundles[event.scope] = compiled
        self.activations.append(Activation(event.scope, event.revision, event.name, event.signer, stream_seq))
        log.info(
            "policy %s revision %d (%s) active, signed by %s", event.scope, event.revision, event.name, event.signer
        )

    def _admit(self, event: PolicyPublished) -> CompiledBundle:
        def reject(why: str) -> PolicyRejectedError:
            return PolicyRejectedError(event.scope, event.revision, why)

        try:
            scope = Scope.parse(event.scope)
        except TrustError as exc:
            raise reject(str(exc)) from None
        if scope.team is not None:
            raise reject("a bundle's scope is '*' or 'org:<org>'")
        key = self.trust.public_key(event.signer)
        if key is None:
            raise reject(f"signer {event.signer} is not a trusted operator key")
        try:
            self.trust.authorize(event.signer, "policy", scope.org)
        except TrustError as exc:
            raise reject(str(exc)) from None
        if not crypto.verify_policy(key, event.signature, event.scope, event.revision, event.sha256):
            raise reject("signature does not verify")
        if hashlib.sha256(event.source.encode()).hexdigest() != event.sha256:
            raise reject("source does not match its sha256")
        active = self.bundles.get(event.scope)
        if active is not None and event.revision <= active.revision:
            raise reject(f"revision {event.revision} is not newer than the active revision {active.revision}")
        try:
            bundle = load_bundle(event.source, filename=f"{event.name}@{event.revision}")
        except BundleInvalid as exc:
            raise reject(f"bundle does not validate: {exc}") from None
        compiled = compile_bundle(bundle, revision=event.revision)
        if compiled.scope != event.scope:
            raise reject(f"bundle declares scope {compiled.scope!r} but was published for {event.scope!r}")
        return compiled


def registered_facts(agent: str, event: AgentRegistered, known: Mapping[str, AgentFacts]) -> AgentFacts:
    """An agent's facts from its registration; lineage and depth follow its parent when the parent is known."""
    parent = known.get(event.parent) if event.parent else None
    lineage = (*parent.lineage, parent.id) if parent is not None else ((event.parent,) if event.parent else ())
    return AgentFacts(
        id=agent,
        org=event.org or "",
        team=event.team or "",
        parent=event.parent,
        lineage=lineage,
        depth=parent.depth + 1 if parent is not None else max(event.depth, len(lineage)),
        trust=event.trust,
        labels=dict(event.labels),
    )
