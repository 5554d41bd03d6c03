"""Agent tokens: issued by trusted operator keys, verified with reasons, cached until expiry."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgov.contracts import crypto
from agentgov.identity import Operator, TokenError, TokenVerifier, TrustStore, issue_token

NOW = 1_800_000_000.0


def _store(key: Ed25519PrivateKey, roles: list[str] | None = None, scopes: list[str] | None = None) -> TrustStore:
    return TrustStore(
        [
            Operator(
                name="ops", public_key=crypto.public_key_text(key), roles=roles or ["agents"], scopes=scopes or ["*"]
            )
        ]
    )


def test_valid_token_verifies_and_carries_claims() -> None:
    """A token from a trusted operator with the agents role verifies and says who the agent is."""
    key = Ed25519PrivateKey.generate()
    token, claims = issue_token(key, agent="a1", org="acme", team="pay", now=NOW)
    got = TokenVerifier(_store(key)).verify(token, now=NOW + 10)
    assert got == claims and got.agent == "a1" and got.org == "acme" and got.team == "pay"


def test_expired_token_is_rejected_with_code() -> None:
    """A token past its expiry (plus leeway) is token_expired, also when it was cached before."""
    key = Ed25519PrivateKey.generate()
    token, _ = issue_token(key, agent="a1", org="acme", team="pay", ttl_s=60, now=NOW)
    verifier = TokenVerifier(_store(key))
    verifier.verify(token, now=NOW)
    with pytest.raises(TokenError) as err:
        verifier.verify(token, now=NOW + 120)
    assert err.value.code == "token_expired"
    with pytest.raises(TokenError) as err2:
        TokenVerifier(_store(key)).verify(token, now=NOW + 120)
    assert err2.value.code == "token_expired"


def test_forged_token_is_rejected() -> None:
    """A token signed by an unknown key, or altered after signing, is token_invalid."""
    trusted = Ed25519PrivateKey.generate()
    other = Ed25519PrivateKey.generate()
    forged, _ = issue_token(other, agent="a1", org="acme", team="pay", now=NOW)
    verifier = TokenVerifier(_store(trusted))
    with pytest.raises(TokenError) as err:
        verifier.verify(forged, now=NOW)
    assert err.value.code == "token_invalid" and "not a trusted operator key" in err.value.why
    # re-sign the other key's claims under the trusted key id: the signature no longer verifies
    payload = jwt.decode(forged, options={"verify_signature": False})
    kid = crypto.key_id(crypto.public_key_text(trusted))
    payload["iss"] = kid
    tampered = jwt.encode(payload, other, algorithm="EdDSA", headers={"kid": kid})
    with pytest.raises(TokenError) as err3:
        verifier.verify(tampered, now=NOW)
    assert err3.value.code == "token_invalid" and "does not verify" in err3.value.why


def test_missing_and_garbage_tokens() -> None:
    """An empty token is token_missing; text that is not a JWT is token_invalid."""
    verifier = TokenVerifier(_store(Ed25519PrivateKey.generate()))
    with pytest.raises(TokenError) as err:
        verifier.verify("", now=NOW)
    assert err.value.code == "token_missing"
    with pytest.raises(TokenError) as err2:
        verifier.verify("not.a.jwt", now=NOW)
    assert err2.value.code == "token_invalid"


def test_operator_scope_and_role_are_enforced() -> None:
    """An operator scoped to another org, or without the agents role, cannot issue a valid token."""
    key = Ed25519PrivateKey.generate()
    token, _ = issue_token(key, agent="a1", org="acme", team="pay", now=NOW)
    with pytest.raises(TokenError, match="may not act as 'agents'"):
        TokenVerifier(_store(key, scopes=["org:other"])).verify(token, now=NOW)
    with pytest.raises(TokenError, match="may not act as 'agents'"):
        TokenVerifier(_store(key, roles=["policy"])).verify(token, now=NOW)
    assert TokenVerifier(_store(key, scopes=["org:acme/team:pay"])).verify(token, now=NOW).agent == "a1"


def test_unsafe_agent_ids_cannot_be_issued() -> None:
    """Ids with subject wildcards never make it into a token."""
    with pytest.raises(ValueError, match="separates subject tokens"):
        issue_token(Ed25519PrivateKey.generate(), agent="a.*", org="acme", team="pay")
