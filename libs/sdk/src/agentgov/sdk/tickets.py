"""Execution tickets: check, before running an approved action, that the policy allowed exactly it, once.

When a granted approval is carried out, the policy's allow Decision carries ``ticket``: a JWT (EdDSA) with
``sub`` (agent), ``aud`` (``agentgov-executor``), ``jti`` (a random nonce), ``iat``/``exp`` (a short TTL),
``act`` (the hash of the exact action) and ``apr`` (the approval). An executor that runs actions on an
agent's behalf verifies it::

    verifier = TicketVerifier([public_key])          # the text of $AGENTGOV_HOME/keys/tickets.ed25519.pub
    claims = verifier.verify(decision.ticket, agent="a1", action=action)   # TicketError if not good

:meth:`TicketVerifier.verify` checks the signature (``kid`` names the key), the audience, the expiry (with
``leeway``), the agent, that ``action`` hashes to ``act``, and that the nonce was never presented before
(:class:`NonceStore`; the default keeps nonces in memory until their ticket expires, so one verifier
process refuses replays; executors sharing work share a store). The action hashed is the action as the
policy recorded it, so an action whose values were redacted must be presented in its sanitized form.
"""

from __future__ import annotations

import base64
import binascii
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import msgspec

from agentgov.contracts import crypto
from agentgov.contracts.errors import SignatureError
from agentgov.contracts.events import Action
from agentgov.contracts.events_approval import TICKET_AUDIENCE, action_hash
from agentgov.sdk.errors import ConfigurationError, TicketExpired, TicketInvalid, TicketMismatch, TicketReplayed

__all__ = ["MemoryNonceStore", "NonceStore", "TicketClaims", "TicketVerifier"]


class TicketClaims(msgspec.Struct, frozen=True, kw_only=True):
    """What a verified ticket says."""

    agent: str
    approval_id: str
    action_hash: str
    nonce: str
    issued_at: int
    expires_at: int
    issuer: str
    key_id: str


class NonceStore(Protocol):
    """Remembers presented nonces until their ticket expires."""

    def claim(self, nonce: str, expires_at: float) -> bool:
        """Record ``nonce``; False when it was recorded before (a replay)."""
        ...


class MemoryNonceStore:
    """Nonces in this process, each kept until its ticket's expiry (plus leeway), then forgotten."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def claim(self, nonce: str, expires_at: float) -> bool:
        """Record ``nonce``; False when it was recorded before (a replay)."""
        with self._lock:
            now = self._clock()
            if len(self._seen) > 1024:
                self._seen = {n: exp for n, exp in self._seen.items() if exp >= now}
            if nonce in self._seen:
                return False
            self._seen[nonce] = expires_at
            return True

    def __len__(self) -> int:
        return len(self._seen)


class TicketVerifier:
    """Verifies execution tickets against the policy's ticket public keys (base64url text, one per key)."""

    def __init__(
        self,
        public_keys: Iterable[str] | Mapping[str, str],
        *,
        audience: str = TICKET_AUDIENCE,
        leeway: float = 5.0,
        nonces: NonceStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        texts = list(public_keys.values() if isinstance(public_keys, Mapping) else public_keys)
        self._keys: dict[str, Any] = {}  # key id -> Ed25519PublicKey
        for text in texts:
            try:
                self._keys[crypto.key_id(text.strip())] = crypto.load_public_key(text.strip())
            except (SignatureError, ValueError) as exc:
                raise ConfigurationError(f"not a ticket public key: {exc}") from None
        if not self._keys:
            raise ConfigurationError("a TicketVerifier needs at least one public key")
        self.audience = audience
        self.leeway = leeway
        self._clock = clock
        self._nonces: NonceStore = nonces if nonces is not None else MemoryNonceStore(clock)

    def verify(self, ticket: str | None, agent: str, action: Action) -> TicketClaims:
        """The ticket's claims if it allows ``agent`` to run ``action`` now, for the first time; otherwise
        :class:`TicketInvalid`, :class:`TicketExpired`, :class:`TicketMismatch` or :class:`TicketReplayed`."""
        if not ticket:
            raise TicketInvalid("no ticket")
        kid, claims = self._decode(ticket)
        expires_at = claims.exp
        if self._clock() > expires_at + self.leeway:
            raise TicketExpired(f"the ticket expired at {expires_at}")
        if claims.sub != agent:
            raise TicketMismatch(f"the ticket is for agent {claims.sub!r}, not {agent!r}")
        if claims.act != action_hash(agent, action):
            raise TicketMismatch("the action is not the one the ticket was issued for")
        if not self._nonces.claim(claims.jti, expires_at + self.leeway):
            raise TicketReplayed(f"ticket {claims.jti} was already used")
        return TicketClaims(
            agent=agent,
            approval_id=claims.apr,
            action_hash=claims.act,
            nonce=claims.jti,
            issued_at=claims.iat,
            expires_at=expires_at,
            issuer=claims.iss,
            key_id=kid,
        )

    def _decode(self, ticket: str) -> tuple[str, _Claims]:
        """The key id and claims of a compact JWS signed with EdDSA by one of our keys, audience checked.

        Verified here rather than with a JWT library: one algorithm, one key type, and the SDK stays light
        (agentgov.contracts, nats-py and msgspec only)."""
        parts = ticket.split(".")
        if len(parts) != 3:
            raise TicketInvalid("not a compact JWT (header.payload.signature)")
        try:
            header = _decode_header(_b64(parts[0]))
            claims = _decode_claims(_b64(parts[1]))
            signature = _b64(parts[2])
        except (binascii.Error, ValueError, msgspec.DecodeError) as exc:
            raise TicketInvalid(f"malformed ticket: {exc}") from None
        if header.alg != "EdDSA":
            raise TicketInvalid(f"algorithm {header.alg!r} is not EdDSA")
        key = self._keys.get(header.kid)
        if key is None:
            raise TicketInvalid(f"signed by an unknown key {header.kid!r}")
        try:
            key.verify(signature, f"{parts[0]}.{parts[1]}".encode())
        except Exception:  # cryptography's InvalidSignature; the SDK does not import cryptography itself
            raise TicketInvalid("the signature does not verify") from None
        audiences = claims.aud if isinstance(claims.aud, list) else [claims.aud]
        if self.audience not in audiences:
            raise TicketInvalid(f"the ticket is not for {self.audience!r}")
        return header.kid, claims


class _Header(msgspec.Struct, frozen=True):
    alg: str
    kid: str = ""


class _Claims(msgspec.Struct, frozen=True):
    sub: str
    aud: str | list[str]
    jti: str
    iat: int
    exp: int
    act: str
    apr: str
    iss: str = ""


_decode_header = msgspec.json.Decoder(_Header).decode
_decode_claims = msgspec.json.Decoder(_Claims).decode


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
