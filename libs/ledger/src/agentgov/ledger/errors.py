"""Errors of the ledger.

::

    LedgerError
    ├── InvalidLimitError      a limit, scope or amount that cannot be stored
    └── LedgerUnavailableError the backend (Redis or JetStream) could not be reached or did not answer
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every ledger error."""


class InvalidLimitError(LedgerError, ValueError):
    """A limit, scope or amount that cannot be stored."""


class LedgerUnavailableError(LedgerError):
    """The backend could not be reached or did not answer; callers fail closed."""
