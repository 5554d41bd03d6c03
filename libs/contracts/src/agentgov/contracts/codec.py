"""Canonical bytes and the signed frame every message on the streams uses (DESIGN.md §3, §5).

Canonical encoding: msgspec JSON of the event struct with keys sorted (``order="sorted"``), no whitespace.
The event hash, the chain link and the signature are over exactly these bytes, and verifiers hash the bytes
they received, never a re-encoding, so fields added by newer producers stay covered.

The frame (the NATS message payload) is itself JSON with a fixed layout::

    {"event":<canonical event bytes>,"sig":"<86 characters: Ed25519 signature, base64url, no padding>"}

The fixed tail lets :func:`split` take the frame apart by offsets, with no parse and no ambiguity.
"""

from __future__ import annotations

import base64

import msgspec

from agentgov.contracts.envelope import EnvelopeView, Event
from agentgov.contracts.errors import DecodeError, UnknownEventTypeError
from agentgov.contracts.events import KnownEvent

_HEAD = b'{"event":'
_SIG_MID = b',"sig":"'
_SIG_LEN = 86
_TAIL = b'"}'
_TAIL_LEN = len(_SIG_MID) + _SIG_LEN + len(_TAIL)
OVERHEAD = len(_HEAD) + _TAIL_LEN
"""Bytes the frame adds around the event."""

_encoder = msgspec.json.Encoder(order="sorted")
_envelope_decoder = msgspec.json.Decoder(EnvelopeView)
_event_decoder = msgspec.json.Decoder(KnownEvent)
_tag_decoder = msgspec.json.Decoder(dict[str, object])


def canonical(event: Event | msgspec.Struct) -> bytes:
    """The canonical bytes of an event (or of any contract struct, e.g. an action to hash)."""
    return _encoder.encode(event)


def frame(event_bytes: bytes, signature: bytes) -> bytes:
    """Wrap canonical event bytes and their 64-byte signature into a message payload."""
    if len(signature) != 64:
        raise ValueError("an Ed25519 signature is 64 bytes")
    return b"".join((_HEAD, event_bytes, _SIG_MID, base64.urlsafe_b64encode(signature)[:_SIG_LEN], _TAIL))


def split(payload: bytes) -> tuple[bytes, bytes]:
    """Take a message payload apart into (event bytes, signature); DecodeError if it is not a frame."""
    body, sig_text = split_lazy(payload)
    return body, signature(sig_text)


def split_lazy(payload: bytes) -> tuple[bytes, bytes]:
    """(event bytes, signature text) without decoding the signature, for verifiers that check few of them."""
    if len(payload) <= OVERHEAD or not payload.startswith(_HEAD) or not payload.endswith(_TAIL):
        raise DecodeError('not an agentgov frame: expected {"event":…,"sig":"…"}')
    mid = len(payload) - _TAIL_LEN
    if payload[mid : mid + len(_SIG_MID)] != _SIG_MID:
        raise DecodeError("not an agentgov frame: the signature field is missing or not at the end")
    return payload[len(_HEAD) : mid], payload[mid + len(_SIG_MID) : len(payload) - len(_TAIL)]


def signature(sig_text: bytes) -> bytes:
    """The 64 signature bytes of a frame's signature text; DecodeError unless it is canonical base64url."""
    try:
        sig = base64.urlsafe_b64decode(sig_text + b"==")
    except ValueError as exc:
        raise DecodeError(f"signature is not base64url: {exc}") from None
    if len(sig) != 64 or base64.urlsafe_b64encode(sig)[:_SIG_LEN] != sig_text:
        raise DecodeError("signature is not a canonical 64-byte base64url value")
    return sig


def decode_envelope(event_bytes: bytes) -> EnvelopeView:
    """The envelope of any event, known type or not; DecodeError when the bytes are not an event."""
    try:
        return _envelope_decoder.decode(event_bytes)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise DecodeError(f"not an event envelope: {exc}") from None


def decode_event(event_bytes: bytes) -> KnownEvent:
    """The typed event; UnknownEventTypeError for a type this build does not know, DecodeError otherwise."""
    try:
        event: KnownEvent = _event_decoder.decode(event_bytes)
        return event
    except msgspec.ValidationError as exc:
        tag = _type_tag(event_bytes)
        if tag is not None and not _is_known(tag):
            raise UnknownEventTypeError(tag) from None
        raise DecodeError(f"invalid event: {exc}") from None
    except msgspec.DecodeError as exc:
        raise DecodeError(f"not JSON: {exc}") from None


def _type_tag(event_bytes: bytes) -> str | None:
    try:
        tag = _tag_decoder.decode(event_bytes).get("type")
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    return tag if isinstance(tag, str) else None


def _is_known(tag: str) -> bool:
    from agentgov.contracts.events import EVENT_TYPES, tag_of  # noqa: PLC0415 - avoids a cycle at import

    return any(tag_of(t) == tag for t in EVENT_TYPES)
