"""Only bundles signed by a trusted operator (role ``policy`` over their scope) set the thresholds (pure domain)."""

from __future__ import annotations

import hashlib

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgov.anomaly.baseline import State
from agentgov.anomaly.domain import Anomalies
from agentgov.anomaly.errors import BadEventError
from agentgov.anomaly.traces import OPERATOR, Trace, run, trusted
from agentgov.contracts import crypto
from agentgov.contracts.events import PolicyPublished

STRICT = "anomaly: {loop: {count: 5, window: 30s}}\n"
LOOSE = "anomaly: {enabled: false, loop: {count: 100000}}\n"
TIGHTER = "anomaly: {loop: {count: 3, window: 30s}}\n"
OTHER = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"not the operator").digest())


def loops(t: Trace, agent: str, n: int) -> None:
    """``n`` identical actions of ``agent``, one per second."""
    for _ in range(n):
        t.advance(1).decide(agent, "shell", "make test")


def forgeries() -> list[object]:
    """Revision 2 of ``*`` (loosening everything), each wrong in one way, with the reason expected."""
    good = Trace().bundle(LOOSE, revision=2)
    forged = msgspec.structs.replace(good, signature=crypto.sign_policy(OTHER, "*", 2, good.sha256))
    untrusted = Trace().bundle(LOOSE, revision=2, key=OTHER)
    old = Trace().bundle(STRICT, revision=1)
    replayed = msgspec.structs.replace(old, revision=2)  # revision 1's signature on revision 2
    return [
        pytest.param(forged, "does not verify", id="forged-signature"),
        pytest.param(untrusted, "is not a trusted operator key", id="untrusted-signer"),
        pytest.param(replayed, "does not verify", id="replayed-signature"),
    ]


@pytest.mark.parametrize(("bad", "expected"), forgeries())
def test_a_forged_or_untrusted_bundle_is_refused_and_the_previous_config_stays(
    bad: PolicyPublished, expected: str
) -> None:
    """A bad signature, an untrusted signer or a re-used signature: skipped, no state change, old thresholds hold."""
    t = Trace()
    t.bundle(STRICT)
    t.register("coder-1")
    a = Anomalies(trust=trusted())
    run(t.events, a)
    before = msgspec.msgpack.encode(a.state)
    with pytest.raises(BadEventError) as info:
        a.observe(bad)
    assert info.value.why.startswith("signature: ") and expected in info.value.why
    assert msgspec.msgpack.encode(a.state) == before
    attack = Trace(t=t.t)
    loops(attack, "coder-1", 6)
    found = run(attack.events, a)
    assert [(f.kind, f.observed, f.response) for f in found] == [("loop", 5, "pause")]


def test_the_policy_role_must_cover_the_scope() -> None:
    """An operator trusted for org:other, or without the policy role, cannot set org:acme's thresholds."""
    t = Trace()
    event = t.bundle(LOOSE, scope="org:acme")
    for trust in (trusted(scopes=("org:other",)), Anomalies().trust):
        with pytest.raises(BadEventError, match="signature: "):
            Anomalies(trust=trust).observe(event)


def test_a_properly_signed_bundle_applies_and_a_newer_one_replaces_it() -> None:
    """Revision 1 (loop at 5), then a signed revision 2 (loop at 3): each takes effect for the next loop."""
    t = Trace()
    t.bundle(STRICT)
    t.register("coder-1")
    t.register("coder-2")
    loops(t, "coder-1", 6)
    t.bundle(TIGHTER, revision=2)
    loops(t, "coder-2", 4)
    found = run(t.events)
    assert [(f.agent, f.kind, f.observed) for f in found] == [("coder-1", "loop", 5), ("coder-2", "loop", 3)]


def test_a_restored_bundle_the_trust_no_longer_accepts_is_dropped() -> None:
    """A snapshot's bundle is checked again at restore; with another trust file it is dropped and listed."""
    t = Trace()
    t.bundle(STRICT)
    a = Anomalies(trust=trusted())
    run(t.events, a)
    blob = msgspec.msgpack.encode(a.state)
    same = Anomalies(msgspec.msgpack.decode(blob, type=State), trusted(OPERATOR))
    assert same.untrusted == {} and same.state.bundles["*"].revision == 1
    other = Anomalies(msgspec.msgpack.decode(blob, type=State), trusted(OTHER))
    assert list(other.untrusted) == ["*"] and "is not a trusted operator key" in other.untrusted["*"]
    assert other.state.bundles == {}
