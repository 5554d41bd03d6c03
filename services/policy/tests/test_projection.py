"""The policy projection: which published bundles become active, and what the registry says about agents."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgov.contracts import crypto
from agentgov.contracts.events import AgentPaused, AgentRegistered, AgentResumed, AgentTokenRevoked, PolicyPublished
from agentgov.identity.operators import Operator, TrustStore
from agentgov.policy.projection import Projection

BUNDLE = "apiVersion: agentgov/v1\nkind: PolicyBundle\nmetadata: {{name: b, scope: '{scope}'}}\ndefault: {default}\n"


def _published(
    key: Ed25519PrivateKey, scope: str, revision: int, *, source: str | None = None, sign_scope: str | None = None
) -> PolicyPublished:
    text = source if source is not None else BUNDLE.format(scope=scope, default="deny")
    sha = hashlib.sha256(text.encode()).hexdigest()
    return PolicyPublished(
        scope=scope,
        revision=revision,
        name="b",
        source=text,
        sha256=sha,
        signer=crypto.key_id(crypto.public_key_text(key)),
        signature=crypto.sign_policy(key, sign_scope or scope, revision, sha),
    )


def _projection(key: Ed25519PrivateKey, scopes: list[str], roles: list[str] | None = None) -> Projection:
    op = Operator(name="ops", public_key=crypto.public_key_text(key), roles=roles or ["policy"], scopes=scopes)
    return Projection(trust=TrustStore([op]), salt=b"s" * 16)


def test_signed_bundle_in_scope_becomes_active() -> None:
    """A bundle signed by an operator whose policy role covers its scope is compiled and activated."""
    key = Ed25519PrivateKey.generate()
    p = _projection(key, ["org:acme"])
    p.apply(_published(key, "org:acme", 1), stream_seq=5)
    assert p.bundles["org:acme"].revision == 1 and not p.rejected
    assert p.activations[0].stream_seq == 5


def test_rejections_keep_the_active_revision() -> None:
    """Forged, out-of-scope, wrong-role, stale, altered and invalid bundles are rejected with a reason."""
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    p = _projection(key, ["org:acme"])
    p.apply(_published(key, "org:acme", 1))
    altered = _published(key, "org:acme", 5)
    cases = [
        (_published(other, "org:acme", 2), "not a trusted operator key"),
        (_published(key, "*", 2), "may not act as 'policy'"),
        (_published(key, "org:acme", 2, sign_scope="org:other"), "signature does not verify"),
        (_published(key, "org:acme", 1), "not newer than the active revision 1"),
        (_published(key, "org:acme", 3, source=BUNDLE.format(scope="org:acme", default="maybe")), "does not validate"),
        (_published(key, "org:acme", 4, source=BUNDLE.format(scope="*", default="deny")), "declares scope"),
        (
            PolicyPublished(**{**{f: getattr(altered, f) for f in altered.__struct_fields__}, "source": "x"}),
            "does not match its sha256",
        ),
    ]
    for event, why in cases:
        p.apply(event)
        assert why in p.rejected[-1].why, (why, p.rejected[-1].why)
    assert len(p.rejected) == len(cases)
    assert p.bundles["org:acme"].revision == 1
    wrong_role = _projection(key, ["*"], roles=["agents"])
    wrong_role.apply(_published(key, "*", 1))
    assert not wrong_role.bundles and "may not act as 'policy'" in wrong_role.rejected[0].why


def test_registry_lineage_pauses_and_revocations() -> None:
    """Children inherit lineage and depth from their parents; pauses, resumes and revocations apply in order."""
    p = _projection(Ed25519PrivateKey.generate(), ["*"])
    p.apply(AgentRegistered(agent="root", org="acme", team="pay", trust=80))
    p.apply(AgentRegistered(agent="kid", org="acme", team="pay", parent="root"))
    p.apply(AgentRegistered(agent="grandkid", org="acme", team="pay", parent="kid"))
    assert p.agents["grandkid"].lineage == ("root", "kid") and p.agents["grandkid"].depth == 2
    p.apply(AgentPaused(agent="kid", reason="loop"))
    assert p.world.paused == {"kid": "loop"}
    p.apply(AgentResumed(agent="kid"))
    assert not p.world.paused
    p.apply(AgentTokenRevoked(agent="kid", token_id="t1"))
    p.apply(AgentTokenRevoked(agent="root", ts=1_800_000_000_500_000_000))
    assert "t1" in p.world.revoked_tokens
    assert p.world.revoked_before["root"] == 1_800_000_001  # the whole second of the revocation
