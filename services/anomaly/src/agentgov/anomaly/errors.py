"""Errors raised by the anomaly service.

The hierarchy::

    AnomalyError                  base of everything raised by agentgov.anomaly
    ├── BadEventError             an event the projection will not apply (malformed, absurd values); skipped
    │   └── UnknownAgentError     an event of an agent the registry does not know; skipped
    └── SnapshotError             the snapshot file cannot be read or written

Add new branches under ``AnomalyError`` and list them here. (A bad ``anomaly:`` section is a
:class:`~agentgov.anomaly.config.ConfigError`, a ``ValueError``, since the policy language reports it.)
"""

from __future__ import annotations


class AnomalyError(Exception):
    """Base class of every error raised by agentgov.anomaly."""


class BadEventError(AnomalyError):
    """The event is skipped and changes no state: ``event_type`` and ``event_id`` name it, ``why`` says why
    in words and ``code`` in one token (the EventRejected ``reason``: ``out_of_range``, ``bad_bundle`` …)."""

    def __init__(self, event_type: str, event_id: str, why: str, *, code: str = "invalid") -> None:
        self.event_type = event_type
        self.event_id = event_id
        self.why = why
        self.code = code
        super().__init__(f"skipped {event_type} {event_id or '(no id)'}: {why}")


class UnknownAgentError(BadEventError):
    """An event of an agent with no AgentRegistered (or a retired one)."""

    def __init__(self, event_type: str, event_id: str, agent: str) -> None:
        self.agent = agent
        super().__init__(event_type, event_id, f"unknown agent {agent!r}", code="unknown_agent")


class SnapshotError(AnomalyError):
    """The snapshot store failed: ``path`` and ``why``."""

    def __init__(self, path: str, why: str) -> None:
        self.path = path
        self.why = why
        super().__init__(f"anomaly snapshot {path}: {why}")
