"""Canonical bytes, the signed frame, hashes and signatures."""

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from agentgov.contracts import (
    Action,
    ActionDecided,
    Chain,
    DecodeError,
    SignatureError,
    SpendRecorded,
    UnknownEventTypeError,
    codec,
    crypto,
)


def _event() -> ActionDecided:
    return ActionDecided(
        id="i",
        ts=7,
        chain=Chain(producer="p", seq=1),
        request_id="r",
        agent="a",
        action=Action(kind="shell", args={"z": 1, "a": [2, 1]}),
        verdict="deny",
        claim="evaluated",
    )


def test_canonical_bytes_are_sorted_compact_and_stable() -> None:
    """The canonical form sorts keys at every level, has no whitespace and omits defaults."""
    b = codec.canonical(_event())
    assert b == codec.canonical(msgspec.json.decode(b, type=ActionDecided))
    assert b.index(b'"a":[2,1]') < b.index(b'"z":1') and b" " not in b
    assert b"risk" not in b  # default omitted
    assert b.startswith(b'{"action":')


def test_frame_round_trips_and_split_is_strict() -> None:
    """split(frame(x, sig)) gives x and sig back; anything else is a DecodeError."""
    key = Ed25519PrivateKey.generate()
    body = codec.canonical(_event())
    sig = crypto.sign(key, crypto.event_hash(body))
    payload = codec.frame(body, sig)
    assert codec.split(payload) == (body, sig)
    assert msgspec.json.decode(payload)["event"]["type"] == "ActionDecided.v1"
    for bad in (
        b"",
        b"{}",
        body,
        payload[:-1],
        payload.replace(b'"sig"', b'"sog"'),
        b'{"event":1,"sig":"' + b"!" * 86 + b'"}',
    ):
        with pytest.raises(DecodeError):
            codec.split(bad)


def test_signatures_bind_the_exact_bytes() -> None:
    """A signature verifies for its bytes only, and only with its key."""
    key = Ed25519PrivateKey.generate()
    body = codec.canonical(_event())
    digest = crypto.event_hash(body)
    sig = crypto.sign(key, digest)
    crypto.verify(key.public_key(), sig, digest)
    with pytest.raises(SignatureError):
        crypto.verify(key.public_key(), sig, crypto.event_hash(body.replace(b"deny", b"allo")))
    with pytest.raises(SignatureError):
        crypto.verify(Ed25519PrivateKey.generate().public_key(), sig, digest)
    text = crypto.public_key_text(key)
    assert crypto.is_valid(crypto.load_public_key(text), sig, digest)
    assert len(crypto.key_id(text)) == 16
    with pytest.raises(SignatureError):
        crypto.load_public_key("AAAA")


def test_decode_tells_unknown_types_from_garbage() -> None:
    """An unknown tag raises UnknownEventTypeError (kept by audit); broken JSON raises DecodeError."""
    with pytest.raises(UnknownEventTypeError) as info:
        codec.decode_event(b'{"type":"Future.v9","id":"x","ts":1,"chain":{"producer":"p","seq":1}}')
    assert info.value.type_tag == "Future.v9"
    with pytest.raises(DecodeError):
        codec.decode_event(b"{not json")
    with pytest.raises(DecodeError) as bad:
        codec.decode_event(b'{"type":"SpendRecorded.v1","model":5}')
    assert not isinstance(bad.value, UnknownEventTypeError)
    assert isinstance(codec.decode_event(codec.canonical(SpendRecorded(model="m"))), SpendRecorded)
