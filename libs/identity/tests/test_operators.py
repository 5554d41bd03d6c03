"""Operator trust: scopes, roles, and the trust file."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgov.contracts import crypto
from agentgov.identity import Operator, Scope, TrustError, TrustStore
from agentgov.identity.operators import ensure_local_operator


def test_scope_parsing_and_cover() -> None:
    """'*' covers everything, org:<o> its teams, org:<o>/team:<t> only that team."""
    assert Scope.parse("*").covers("any", "team")
    assert Scope.parse("org:acme").covers("acme", "pay") and not Scope.parse("org:acme").covers("other")
    team = Scope.parse("org:acme/team:pay")
    assert team.covers("acme", "pay") and not team.covers("acme", "ops") and not team.covers("acme")
    assert str(team) == "org:acme/team:pay"
    for bad in ("acme", "org:", "org:a.b", "org:acme/pay"):
        with pytest.raises(TrustError):
            Scope.parse(bad)


def test_trust_file_round_trip_and_local_operator(tmp_path: Path) -> None:
    """ensure_local_operator adds the key once with every role; the file reloads the same operators."""
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "operators.json"
    op = ensure_local_operator(key, path)
    assert ensure_local_operator(key, path) == op
    store = TrustStore.load(path)
    assert [o.key_id for o in store.operators] == [crypto.key_id(crypto.public_key_text(key))]
    assert store.authorize(op.key_id, "policy", "acme").name == "local"


def test_broken_trust_entries_are_rejected(tmp_path: Path) -> None:
    """A bad key, role or scope, or an unreadable file, is a TrustError naming the problem."""
    with pytest.raises(TrustError, match="unknown role"):
        TrustStore(
            [Operator(name="x", public_key=crypto.public_key_text(Ed25519PrivateKey.generate()), roles=["root"])]
        )
    with pytest.raises(TrustError, match="not an Ed25519"):
        TrustStore([Operator(name="x", public_key="AAAA", roles=["policy"])])
    bad = tmp_path / "operators.json"
    bad.write_text("{not json")
    with pytest.raises(TrustError, match=r"operators\.json"):
        TrustStore.load(bad)
    assert TrustStore.load(tmp_path / "missing.json").operators == ()
