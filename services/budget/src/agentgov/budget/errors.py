"""Errors of the budget service.

The hierarchy::

    BudgetError                 base of everything agentgov.budget raises
    ├── PricingError            a pricing file does not parse or validate (``line`` names where)
    ├── LimitError              a budget limit is malformed (bad scope, window, amount or time zone)
    └── NotReadyError           the projection did not catch up with the stream in time

Refused usage reports are not exceptions: they are ``SpendRejected`` events (a contract type) and a
``SpendReceipt`` with ``error`` set.
"""

from __future__ import annotations


class BudgetError(Exception):
    """Base class of the budget service's errors."""


class PricingError(BudgetError):
    """A pricing file is broken; ``line`` (1-based, 0 when unknown) says where, ``why`` what."""

    def __init__(self, source: str, line: int, why: str, problems: list[str] | None = None) -> None:
        self.source = source
        self.line = line
        self.why = why
        self.problems = problems or [f"{source}:{line}: {why}"]
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {why}")


class LimitError(BudgetError, ValueError):
    """A budget limit cannot be set as given."""


class NotReadyError(BudgetError):
    """The service could not load its projection from the stream within the ready timeout."""
