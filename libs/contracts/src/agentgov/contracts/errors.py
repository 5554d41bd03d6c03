"""Errors that cross the wire or that every consumer of the contracts may see.

The hierarchy::

    ContractError                       base of everything raised by agentgov.contracts
    ├── InvalidIdError(ValueError)      an id is not a subject-safe token
    ├── PayloadTooLargeError            an encoded event is over the stream's message size limit
    ├── DecodeError                     bytes are not a framed, signed agentgov event
    │   └── UnknownEventTypeError       a well-framed event whose type this build does not know
    └── SignatureError                  a signature does not verify with the key it claims
"""

from __future__ import annotations


class ContractError(Exception):
    """Base class of every error raised by agentgov.contracts."""


class InvalidIdError(ContractError, ValueError):
    """An agent, team, org, producer or scope id that is not a subject-safe token."""

    def __init__(self, kind: str, value: object, why: str) -> None:
        self.kind = kind
        self.value = value
        self.why = why
        super().__init__(f"invalid {kind} id {value!r}: {why}")


class PayloadTooLargeError(ContractError):
    """An encoded message is larger than the stream accepts."""

    def __init__(self, size: int, limit: int, subject: str = "") -> None:
        self.size = size
        self.limit = limit
        self.subject = subject
        where = f" on {subject}" if subject else ""
        super().__init__(
            f"message of {size} bytes{where} is over the {limit}-byte limit; "
            "store large payloads elsewhere and reference them by hash"
        )


class DecodeError(ContractError):
    """Bytes that are not a framed, signed agentgov event."""

    def __init__(self, why: str) -> None:
        self.why = why
        super().__init__(why)


class UnknownEventTypeError(DecodeError):
    """A well-framed event whose ``type`` tag this build does not know (written by a newer producer)."""

    def __init__(self, type_tag: str) -> None:
        self.type_tag = type_tag
        super().__init__(f"unknown event type {type_tag!r}")


class SignatureError(ContractError):
    """A signature that does not verify with the public key it is checked against."""
