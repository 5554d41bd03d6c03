"""Errors of the approval service.

The hierarchy::

    ApprovalError           base of everything agentgov.approval raises
    ├── StoreError          the SQL read model failed (``operation``, ``why``)
    └── NotifyError         a webhook answered with an error or not at all (``url``, ``why``); retried

Bad input on the stream (malformed events, forged or late resolutions, resolutions for unknown approvals)
is never raised: it becomes a :class:`~agentgov.approval.domain.Diagnostic` row and changes no state.
"""

from __future__ import annotations


class ApprovalError(Exception):
    """Base class of the approval service's errors."""


class StoreError(ApprovalError):
    """The approval history store failed."""

    def __init__(self, operation: str, why: str) -> None:
        self.operation = operation
        self.why = why
        super().__init__(f"approval store: {operation} failed: {why}")


class NotifyError(ApprovalError):
    """A notification could not be delivered (this attempt)."""

    def __init__(self, url: str, why: str) -> None:
        self.url = url
        self.why = why
        super().__init__(f"notification to {url} failed: {why}")
