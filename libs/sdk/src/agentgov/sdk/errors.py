"""Errors the SDK raises.

The hierarchy::

    AgentgovError                   base of everything agentgov.sdk raises
    ├── ConfigurationError          no or unreadable credentials, no agent, a client used the wrong way
    ├── ConnectError                the first connection to NATS failed (later outages never raise)
    ├── ActionBlocked               a guarded function did not run; ``.decision`` says why
    │   ├── ActionDenied            the policy denied it (or redaction was required and not possible)
    │   └── ActionPending           it needs an approval that has not been granted (yet)
    ├── SpendRefused                the budget service refused a usage report (``Client.record_spend``)
    └── TicketError                 an execution ticket does not allow this execution (``agentgov.sdk.tickets``)
        ├── TicketInvalid           missing, malformed, forged, signed by an unknown key, or not for executors
        ├── TicketExpired           past its expiry (beyond the verifier's leeway)
        ├── TicketMismatch          issued for another agent or another action (altered arguments)
        └── TicketReplayed          its nonce was presented before

``Client.check`` never raises for the policy's answer or for the policy being unreachable: it returns a
deny Decision (fail closed). It raises only for mistakes of the caller: ids that are not subject-safe
(:class:`agentgov.contracts.InvalidIdError`, a ``ValueError``) or a client without an agent.
"""

from __future__ import annotations

from agentgov.contracts.requests import Decision, SpendReceipt


class AgentgovError(Exception):
    """Base class of every error raised by agentgov.sdk."""


class ConfigurationError(AgentgovError):
    """The SDK cannot work as configured: credentials missing or unreadable, no agent, wrong client type."""


class ConnectError(AgentgovError):
    """The first connection to NATS failed. ``url`` is where it tried."""

    def __init__(self, url: str, why: str) -> None:
        self.url = url
        self.why = why
        super().__init__(f"cannot connect to NATS at {url}: {why}")


class ActionBlocked(AgentgovError):
    """A guarded function was not run. ``decision`` is the policy's last answer."""

    def __init__(self, decision: Decision, message: str) -> None:
        self.decision = decision
        super().__init__(message)

    @property
    def reasons(self) -> list[str]:
        """The decision's reasons."""
        return self.decision.reasons

    @property
    def code(self) -> str | None:
        """The decision's deny code (``policy_unavailable``, ``token_expired``…), if any."""
        return self.decision.code


class ActionDenied(ActionBlocked):
    """The policy denied the action (or required a redaction the guarded function cannot honour)."""

    def __init__(self, decision: Decision, why: str | None = None) -> None:
        super().__init__(decision, _describe("denied", decision, why))


class ActionPending(ActionBlocked):
    """The action needs an approval that was not granted within the wait (or the guard does not wait)."""

    def __init__(self, decision: Decision, why: str | None = None) -> None:
        super().__init__(decision, _describe("awaiting approval", decision, why))

    @property
    def decision_id(self) -> str:
        """The recorded decision the approval is for (pass it as ``context={"approval_for": …}`` later)."""
        return self.decision.decision_id


class SpendRefused(AgentgovError):
    """The budget service refused a usage report; ``receipt.error`` is the reason, ``receipt.detail`` why."""

    def __init__(self, receipt: SpendReceipt) -> None:
        self.receipt = receipt
        super().__init__(f"spend report refused: {receipt.error}: {receipt.detail}")


class TicketError(AgentgovError):
    """An execution ticket does not allow this execution; the message says why."""


class TicketInvalid(TicketError):
    """The ticket is missing, malformed, forged, signed by an unknown key, or not for executors."""


class TicketExpired(TicketError):
    """The ticket is past its expiry."""


class TicketMismatch(TicketError):
    """The ticket was issued for another agent or another action (e.g. altered arguments)."""


class TicketReplayed(TicketError):
    """The ticket's nonce was presented before: a ticket allows one execution."""


def _describe(what: str, d: Decision, why: str | None) -> str:
    parts = [f"action {what}"]
    if why:
        parts.append(why)
    rules = ", ".join(r.id for r in d.rules)
    if rules:
        parts.append(f"rules: {rules}")
    if d.reasons:
        parts.append("reasons: " + "; ".join(d.reasons))
    if d.code:
        parts.append(f"code: {d.code}")
    if d.decision_id:
        parts.append(f"decision: {d.decision_id}")
    return " | ".join(parts)
