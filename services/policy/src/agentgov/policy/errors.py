"""Policy service errors.

The hierarchy::

    PolicyServiceError              base of everything the policy service raises
    ├── PolicyRejectedError         a PolicyPublished that is not accepted (bad signature, role, bundle)
    └── NotReadyError               the projections did not catch up with the stream in time

Errors in a request never raise: they become a deny Decision with a contracts ``DenyCode``.
"""

from __future__ import annotations


class PolicyServiceError(Exception):
    """Base class of policy service errors."""


class PolicyRejectedError(PolicyServiceError):
    """A published bundle the service will not activate, and why."""

    def __init__(self, scope: str, revision: int, why: str) -> None:
        self.scope = scope
        self.revision = revision
        self.why = why
        super().__init__(f"policy {scope} revision {revision} rejected: {why}")


class NotReadyError(PolicyServiceError):
    """The service could not load the registry and policy from the stream in time."""
