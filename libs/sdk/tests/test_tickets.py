"""The SDK's execution-ticket verifier: signature, audience, expiry, action binding and single use.

Tickets are minted here with PyJWT, the library the policy service mints them with, so the verifier is
checked against an independent JWT implementation.
"""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgov.contracts import crypto
from agentgov.contracts.events import Action
from agentgov.contracts.events_approval import TICKET_AUDIENCE, action_hash
from agentgov.sdk.errors import (
    AgentgovError,
    ConfigurationError,
    TicketError,
    TicketExpired,
    TicketInvalid,
    TicketMismatch,
    TicketReplayed,
)
from agentgov.sdk.tickets import MemoryNonceStore, TicketVerifier

DEPLOY = Action(kind="mcp_tool", tool="deploy", target="prod", args={"version": "1.2.3"})
KEY = Ed25519PrivateKey.generate()
NOW = 1_800_000_000.0


def mint(key: Ed25519PrivateKey = KEY, **over: Any) -> str:
    """A ticket for agent a1 and DEPLOY, valid 60 s from NOW; ``over`` replaces claims."""
    claims: dict[str, Any] = {
        "iss": "policy-test",
        "sub": "a1",
        "aud": TICKET_AUDIENCE,
        "jti": over.pop("jti", f"n-{time.perf_counter_ns()}"),
        "iat": int(NOW),
        "exp": int(NOW) + 60,
        "act": action_hash("a1", DEPLOY),
        "apr": "0190-approval",
    }
    claims.update(over)
    kid = crypto.key_id(crypto.public_key_text(key))
    return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})


def verifier(now: float = NOW, **kw: Any) -> TicketVerifier:
    """A verifier trusting KEY, with its clock fixed at ``now``."""
    return TicketVerifier([crypto.public_key_text(KEY)], clock=lambda: now, **kw)


def test_a_good_ticket_verifies_once_and_says_what_it_allows() -> None:
    """A fresh ticket for this agent and action verifies and returns its claims."""
    claims = verifier().verify(mint(jti="n1"), "a1", DEPLOY)
    assert (claims.agent, claims.approval_id, claims.nonce) == ("a1", "0190-approval", "n1")
    assert claims.action_hash == action_hash("a1", DEPLOY) and claims.expires_at == int(NOW) + 60


def test_a_replayed_ticket_is_rejected() -> None:
    """The same ticket presented twice to one verifier: the second time is a replay."""
    v, ticket = verifier(), mint()
    v.verify(ticket, "a1", DEPLOY)
    with pytest.raises(TicketReplayed):
        v.verify(ticket, "a1", DEPLOY)


def test_a_shared_nonce_store_rejects_replays_across_verifiers() -> None:
    """Two verifiers sharing one nonce store accept a ticket once between them."""
    store = MemoryNonceStore(lambda: NOW)
    ticket = mint()
    verifier(nonces=store).verify(ticket, "a1", DEPLOY)
    with pytest.raises(TicketReplayed):
        verifier(nonces=store).verify(ticket, "a1", DEPLOY)


@pytest.mark.parametrize(
    ("agent", "action"),
    [
        ("a1", Action(kind="mcp_tool", tool="deploy", target="prod", args={"version": "6.6.6"})),
        ("a1", Action(kind="mcp_tool", tool="deploy", target="staging", args={"version": "1.2.3"})),
        ("a2", DEPLOY),
    ],
    ids=["altered-arguments", "altered-target", "other-agent"],
)
def test_a_ticket_presented_with_another_action_or_agent_is_rejected(agent: str, action: Action) -> None:
    """A ticket binds the agent and the exact action: altered arguments or another agent do not verify."""
    v = verifier()
    ticket = mint()
    with pytest.raises(TicketMismatch):
        v.verify(ticket, agent, action)
    assert v.verify(ticket, "a1", DEPLOY).agent == "a1"  # a mismatch does not burn the nonce


def test_an_expired_ticket_is_rejected_after_the_leeway() -> None:
    """Within the leeway past ``exp`` it still verifies; beyond it, TicketExpired."""
    verifier(now=NOW + 62, leeway=5).verify(mint(), "a1", DEPLOY)
    with pytest.raises(TicketExpired):
        verifier(now=NOW + 66, leeway=5).verify(mint(), "a1", DEPLOY)


@pytest.mark.parametrize(
    "ticket",
    [
        None,
        "",
        "not-a-jwt",
        "a.b.c",
        mint(key=Ed25519PrivateKey.generate()),
        mint(aud="someone-else"),
        mint()[:-4] + ("AAAA" if not mint().endswith("AAAA") else "BBBB"),
        jwt.encode({"sub": "a1"}, "secret-of-32-bytes-or-more-for-hs256", algorithm="HS256"),
    ],
    ids=["none", "empty", "garbage", "bad-base64", "unknown-key", "wrong-audience", "bad-signature", "hs256"],
)
def test_invalid_tickets_are_rejected(ticket: str | None) -> None:
    """Missing, malformed, forged, foreign-key, wrong-audience and non-EdDSA tickets are TicketInvalid."""
    with pytest.raises(TicketInvalid):
        verifier().verify(ticket, "a1", DEPLOY)


def test_a_ticket_without_the_binding_claims_is_invalid() -> None:
    """A ticket with no action hash or approval id does not verify."""
    key_text = crypto.public_key_text(KEY)
    claims = {"sub": "a1", "aud": TICKET_AUDIENCE, "jti": "x", "iat": int(NOW), "exp": int(NOW) + 60}
    ticket = jwt.encode(claims, KEY, algorithm="EdDSA", headers={"kid": crypto.key_id(key_text)})
    with pytest.raises(TicketInvalid):
        verifier().verify(ticket, "a1", DEPLOY)


def test_errors_and_configuration() -> None:
    """Ticket errors share one base under AgentgovError; a verifier needs a valid key."""
    for err in (TicketInvalid, TicketExpired, TicketMismatch, TicketReplayed):
        assert issubclass(err, TicketError) and issubclass(err, AgentgovError)
    with pytest.raises(ConfigurationError):
        TicketVerifier([])
    with pytest.raises(ConfigurationError):
        TicketVerifier(["not a key"])
