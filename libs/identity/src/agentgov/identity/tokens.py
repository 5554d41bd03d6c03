"""Agent tokens: short-lived JWTs (EdDSA / Ed25519) issued by an operator key with the ``agents`` role.

Claims: ``sub`` (agent id), ``org``, ``team``, ``iss`` (the issuing operator's key id), ``aud``
(``agentgov``), ``iat``, ``exp`` and ``jti`` (the token id, for revocation). A token is accepted when its
signature verifies with a trusted operator key whose ``agents`` role covers the token's org and team, and
it has not expired. Revocation and registry checks (the agent exists and is not retired or paused) are
projections of the stream and live in the policy service.

Verification costs an Ed25519 verify (~140 µs here), so :class:`TokenVerifier` caches accepted tokens by
their exact text until they expire: an agent that reuses its token pays for verification once.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from typing import Any, Final

import jwt
import msgspec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgov.contracts import crypto
from agentgov.contracts.errors import InvalidIdError
from agentgov.contracts.ids import check_token
from agentgov.identity.errors import TokenError, TrustError
from agentgov.identity.operators import TrustStore

AUDIENCE: Final = "agentgov"
DEFAULT_TTL_S: Final = 3600
LEEWAY_S: Final = 5
"""Clock skew tolerated on ``exp`` and ``iat``."""


class AgentClaims(msgspec.Struct, frozen=True, kw_only=True):
    """What an accepted token says."""

    agent: str
    org: str
    team: str
    issuer: str
    token_id: str
    issued_at: int
    expires_at: int


def issue_token(
    key: Ed25519PrivateKey,
    *,
    agent: str,
    org: str,
    team: str,
    ttl_s: int = DEFAULT_TTL_S,
    now: float | None = None,
) -> tuple[str, AgentClaims]:
    """Sign a token for ``agent`` with an operator key; returns the JWT text and its claims."""
    issued = int(time.time() if now is None else now)
    claims = AgentClaims(
        agent=check_token("agent", agent),
        org=check_token("org", org),
        team=check_token("team", team),
        issuer=crypto.key_id(crypto.public_key_text(key)),
        token_id=uuid.uuid4().hex,
        issued_at=issued,
        expires_at=issued + ttl_s,
    )
    payload = {
        "sub": claims.agent,
        "org": claims.org,
        "team": claims.team,
        "iss": claims.issuer,
        "aud": AUDIENCE,
        "iat": claims.issued_at,
        "exp": claims.expires_at,
        "jti": claims.token_id,
    }
    return jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": claims.issuer}), claims


class TokenVerifier:
    """Checks agent tokens against a trust store; caches accepted tokens until they expire."""

    def __init__(self, trust: TrustStore, *, cache_size: int = 10_000) -> None:
        self.trust = trust
        self._cache: OrderedDict[str, AgentClaims] = OrderedDict()
        self._cache_size = cache_size

    def verify(self, token: str, now: float | None = None) -> AgentClaims:
        """The token's claims, or TokenError with code ``token_missing``/``token_invalid``/``token_expired``."""
        t = time.time() if now is None else now
        if not token:
            raise TokenError("token_missing", "no agent token in the request; issue one with `agentgov agent register`")
        cached = self._cache.get(token)
        if cached is not None:
            if t > cached.expires_at + LEEWAY_S:
                del self._cache[token]
                raise TokenError("token_expired", f"token expired at {_iso(cached.expires_at)}")
            return cached
        claims = self._verify_uncached(token, t)
        self._cache[token] = claims
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return claims

    def _verify_uncached(self, token: str, now: float) -> AgentClaims:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise TokenError("token_invalid", f"token is not a JWT: {exc}") from None
        if header.get("alg") != "EdDSA":
            raise TokenError("token_invalid", f"token algorithm {header.get('alg')!r} is not EdDSA")
        kid = header.get("kid")
        key = self.trust.public_key(kid) if isinstance(kid, str) else None
        if key is None:
            raise TokenError("token_invalid", f"token signed by key {kid!r}, which is not a trusted operator key")
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=["EdDSA"],
                audience=AUDIENCE,
                options={
                    "require": ["sub", "org", "team", "iss", "iat", "exp", "jti"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise TokenError("token_invalid", "token signature does not verify (forged or altered)") from None
        except jwt.InvalidTokenError as exc:
            raise TokenError("token_invalid", f"token rejected: {exc}") from None
        try:
            claims = AgentClaims(
                agent=check_token("agent", payload["sub"]),
                org=check_token("org", payload["org"]),
                team=check_token("team", payload["team"]),
                issuer=str(payload["iss"]),
                token_id=str(payload["jti"]),
                issued_at=int(payload["iat"]),
                expires_at=int(payload["exp"]),
            )
        except (InvalidIdError, TypeError, ValueError) as exc:
            raise TokenError("token_invalid", f"token claims are malformed: {exc}") from None
        if claims.issuer != kid:
            raise TokenError("token_invalid", "token issuer does not match its signing key")
        try:
            self.trust.authorize(kid, "agents", claims.org, claims.team)
        except TrustError as exc:
            raise TokenError("token_invalid", str(exc)) from None
        if now > claims.expires_at + LEEWAY_S:
            raise TokenError("token_expired", f"token expired at {_iso(claims.expires_at)}")
        if claims.issued_at > now + LEEWAY_S:
            raise TokenError("token_invalid", "token is issued in the future")
        return claims


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
