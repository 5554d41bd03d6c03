"""Errors raised by the audit service.

The hierarchy::

    AuditError                              base of everything raised by agentgov.audit
    └── StoreError                          the SQL read model failed (driver error, not migrated, bad target)
        ├── InvalidQueryError(ValueError)   a query names a field or value the read model does not accept
        └── ReadOnlyQueryError              an ad-hoc SQL query tried to do more than read

Add new branches under ``AuditError`` and list them here.
"""

from __future__ import annotations


class AuditError(Exception):
    """Base class of every error raised by agentgov.audit."""


class StoreError(AuditError):
    """The SQL read model could not do what was asked.

    ``operation`` names the read-model call (``apply``, ``migrate``, ``open`` …) and ``why`` says what went
    wrong. Driver errors are chained as ``__cause__``.
    """

    def __init__(self, operation: str, why: str) -> None:
        self.operation = operation
        self.why = why
        super().__init__(f"read model {operation} failed: {why}")


class InvalidQueryError(StoreError, ValueError):
    """A query names a field or carries a value the read model does not accept (``counts_by("leaf")``)."""

    def __init__(self, field: str, value: object, why: str) -> None:
        self.field = field
        self.value = value
        super().__init__("query", f"{field}={value!r}: {why}")


class ReadOnlyQueryError(StoreError):
    """An ad-hoc SQL statement (``agentgov audit query --sql``) tried to write or to run several statements.

    ``sql`` is the statement as given.
    """

    def __init__(self, sql: str, why: str) -> None:
        self.sql = sql
        super().__init__("read-only query", f"{why} (only a single SELECT may run)")
