"""Errors of the streaming library.

The hierarchy::

    StreamingError                 base
    ├── PublishError               JetStream did not acknowledge an append (after retries)
    │   └── ProducerBrokenError    an earlier append failed, so this producer's chain cannot go on
    ├── NotConfiguredError         no NATS server is known: not started with ``agentgov up``, no --nats-url
    └── KeyFileError               a key file is unreadable, has loose permissions or is not a key
"""

from __future__ import annotations


class StreamingError(Exception):
    """Base class of the streaming library's errors."""


class PublishError(StreamingError):
    """An append was not acknowledged by JetStream."""

    def __init__(self, subject: str, why: str) -> None:
        self.subject = subject
        self.why = why
        super().__init__(f"append to {subject} failed: {why}")


class ProducerBrokenError(PublishError):
    """The producer's chain stopped at a failed append; start a new producer (a new chain) to go on."""


class NotConfiguredError(StreamingError):
    """No NATS server to talk to."""


class KeyFileError(StreamingError):
    """A key file problem, with the path."""

    def __init__(self, path: object, why: str) -> None:
        self.path = path
        super().__init__(f"{path}: {why}")
