"""The chain verifier, on plain data: every kind of damage is named at its exact stream sequence."""

from __future__ import annotations

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgov.audit.domain import ChainVerifier
from agentgov.contracts.chain import ChainWriter
from agentgov.contracts.envelope import Chain
from agentgov.streaming.reader import StoredMsg
from agentgov.testing.chains import StreamBuilder, decision, spend


def _stream(n: int = 6) -> StreamBuilder:
    s = StreamBuilder()
    p, q = s.producer("policy"), s.producer("collector")
    for i in range(n):
        s.append(p, decision(f"a{i % 3}"))
        s.append(q, spend(f"a{i % 3}"), "gov.spend.a1")
    return s


def _run(msgs: list[StoredMsg], mode: str = "heads") -> ChainVerifier:
    v = ChainVerifier(signatures=mode)  # type: ignore[arg-type]
    for m in msgs:
        v.observe(m.seq, m.subject, m.data)
    v.verify_heads()
    return v


def _first(v: ChainVerifier) -> tuple[int, str]:
    p = min(v.problems, key=lambda p: p.stream_seq)
    return p.stream_seq, p.reason


@pytest.mark.parametrize("mode", ["heads", "all"])
def test_an_untouched_stream_verifies(mode: str) -> None:
    """Interleaved chains of two producers verify with no problems in either signature mode."""
    v = _run(_stream().msgs, mode)
    assert v.problems == []
    assert {st.seq for st in v.producers.values()} == {7}


@pytest.mark.parametrize("mode", ["heads", "all"])
@pytest.mark.parametrize("victim", [3, 8, 14])
def test_altered_bytes_are_named_exactly(mode: str, victim: int) -> None:
    """Changing one byte of an event's content names that event, also when it is a chain's last event."""
    msgs = _stream().msgs
    m = msgs[victim - 1]
    msgs[victim - 1] = StoredMsg(m.seq, m.subject, m.data.replace(b'"a', b'"b', 1), m.ts)
    assert _first(_run(msgs, mode)) == (victim, "bad_signature")


def test_a_deleted_message_is_a_missing_sequence() -> None:
    """A gap in stream sequences names the first missing one."""
    msgs = _stream().msgs
    del msgs[4]
    assert _first(_run(msgs)) == (5, "missing_message")


def test_reordered_events_of_one_producer_are_named() -> None:
    """Swapping two events of the same producer names the first position out of chain order."""
    s = StreamBuilder()
    p = s.producer()
    for i in range(5):
        s.append(p, decision(f"a{i}"))
    msgs = s.msgs
    a, b = msgs[2], msgs[3]
    msgs[2], msgs[3] = StoredMsg(3, b.subject, b.data, 0), StoredMsg(4, a.subject, a.data, 0)
    seq, reason = _first(_run(msgs))
    assert (seq, reason) == (3, "gap")
    assert any(p.reason == "replayed" and p.stream_seq == 4 for p in _run(msgs).problems)


def test_a_forged_event_with_an_unregistered_key_is_named() -> None:
    """An event from a producer that never registered a key fails at its sequence."""
    s = _stream(2)
    forger = ChainWriter(Ed25519PrivateKey.generate(), "policy-forged", role="policy")
    sealed = forger.seal(decision("a1", "allow", "rm -rf /"))
    s.raw("gov.decision.a1", sealed.payload)
    assert _first(_run(s.msgs)) == (len(s.msgs), "unregistered_producer")


def test_an_event_claiming_a_registered_producer_but_signed_by_another_key_fails() -> None:
    """A forger who copies a producer's chain position but not its key is caught by the signature."""
    s = _stream(2)
    victim = next(iter(s.writers.values()))
    forger = ChainWriter(Ed25519PrivateKey.generate(), victim.producer_id, role="policy")
    forger.seq, forger.head = victim.seq, victim.head
    s.raw("gov.decision.a1", forger.seal(decision()).payload)
    assert _first(_run(s.msgs)) == (len(s.msgs), "bad_signature")


def test_a_replayed_copy_is_named() -> None:
    """The same event stored a second time is a replay."""
    s = _stream(2)
    s.raw(s.msgs[2].subject, s.msgs[2].data)
    assert _first(_run(s.msgs)) == (len(s.msgs), "replayed")


def test_malformed_bytes_are_kept_out_of_chains() -> None:
    """Undecodable bytes are reported as malformed, not as a broken chain, and do not disturb chains."""
    s = _stream(2)
    s.raw("gov.spend.a1", b"\xff\x00 not json")
    s.append(next(iter(s.writers.values())), decision())
    v = ChainVerifier()
    statuses = [v.observe(m.seq, m.subject, m.data).status for m in s.msgs]
    v.verify_heads()
    assert statuses.count("malformed") == 1 and "broken" not in statuses and v.problems == []


def test_unknown_event_types_verify_like_any_other() -> None:
    """A signed event of a type this build does not know is verified by its envelope and chain."""

    class FutureThing(msgspec.Struct, frozen=True, kw_only=True, tag="FutureThing.v3", tag_field="type"):
        id: str = ""
        ts: int = 0
        chain: Chain = Chain(producer="", seq=0)
        agent: str | None = None
        team: str | None = None
        org: str | None = None
        trace_id: str | None = None
        gizmo: int = 7

    s = _stream(1)
    w = next(iter(s.writers.values()))
    s.append(w, FutureThing(agent="a1"), "gov.observe.x.a1")  # type: ignore[arg-type]
    v = ChainVerifier()
    obs = [v.observe(m.seq, m.subject, m.data) for m in s.msgs]
    v.verify_heads()
    assert v.problems == [] and obs[-1].envelope is not None and obs[-1].envelope.type == "FutureThing.v3"


def test_anchored_excerpts_start_mid_chain() -> None:
    """With keys given up front, a producer's first event seen anchors its chain (for bundles)."""
    s = _stream(4)
    v = ChainVerifier(anchored=True, signatures="all")
    for w in s.writers.values():
        v.add_key(w.producer_id, w.public_key, w.role)
    for m in s.msgs[6:]:
        v.observe(m.seq, m.subject, m.data)
    assert v.problems == []
