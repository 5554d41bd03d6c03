"""Schema evolution: old bytes decode with new types and new bytes decode with old types."""

from typing import Any

import msgspec
import pytest

from agentgov.contracts import Action, ActionDecided, Chain, EnvelopeView, codec
from agentgov.contracts.events import EVENT_TYPES, tag_of


def _grown(cls: type[msgspec.Struct]) -> Any:
    """The next version of ``cls`` under our rules: same tag, one added field with a default."""
    return msgspec.defstruct(
        cls.__name__,
        [("added_later", list[str], msgspec.field(default_factory=list))],
        bases=(cls,),
        tag=tag_of(cls),
        tag_field="type",
        frozen=True,
        kw_only=True,
        omit_defaults=True,
    )


def _sample() -> ActionDecided:
    return ActionDecided(
        id="01",
        ts=1,
        chain=Chain(producer="p", seq=2, prev="ab" * 32),
        agent="a1",
        request_id="r",
        action=Action(kind="shell", target="ls"),
        verdict="allow",
        claim="evaluated",
        risk=3,
    )


def test_old_bytes_decode_with_the_new_type() -> None:
    """Bytes written before a field was added decode with the default filled in."""
    new = _grown(ActionDecided)
    decoded = msgspec.json.decode(codec.canonical(_sample()), type=new)
    assert decoded.added_later == [] and decoded.risk == 3 and decoded.request_id == "r"


def test_new_bytes_decode_with_the_old_type() -> None:
    """Bytes carrying a field this build does not know decode, ignoring it."""
    new = _grown(ActionDecided)
    fields = {f: getattr(_sample(), f) for f in _sample().__struct_fields__}
    data = msgspec.json.encode(new(**fields, added_later=["x"]))
    assert b"added_later" in data
    assert codec.decode_event(data) == _sample()
    assert codec.decode_envelope(data).verdict == "allow"


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=tag_of)
def test_every_event_gains_fields_compatibly(cls: type[msgspec.Struct]) -> None:
    """For every event type, a grown version and the current one read each other's envelope."""
    new = _grown(cls)
    assert tag_of(new) == tag_of(cls)
    payload = (
        b'{"type":"' + tag_of(cls).encode() + b'","id":"x","ts":5,"chain":{"producer":"p","seq":1},"added_later":["y"]}'
    )
    env = msgspec.json.decode(payload, type=EnvelopeView)
    assert env.type == tag_of(cls) and env.chain.seq == 1


def test_fields_only_have_defaults_after_the_required_ones() -> None:
    """Envelope fields all have defaults, so adding envelope fields never breaks an event type."""
    for cls in EVENT_TYPES:
        info = msgspec.inspect.type_info(cls)
        assert isinstance(info, msgspec.inspect.StructType)
        envelope = {"id", "ts", "chain", "agent", "team", "org", "trace_id"}
        for f in info.fields:
            if f.name in envelope:
                assert not f.required, f"{cls.__name__}.{f.name} must have a default"
