"""Errors raised by the policy language.

The hierarchy::

    PolicyLangError                 base of everything raised by agentgov.policy.lang
    └── BundleInvalid(ValueError)   a bundle with at least one error diagnostic; ``diagnostics`` has them all

Evaluation never raises: a rule that fails at run time is reported in ``Evaluation.errors``.
"""

from __future__ import annotations

from collections.abc import Sequence

from agentgov.policy.lang.diagnostics import Diagnostic


class PolicyLangError(Exception):
    """Base class of policy language errors."""


class BundleInvalid(PolicyLangError, ValueError):
    """A bundle that does not validate. ``diagnostics`` holds every error and warning, in file order."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        errors = [d for d in self.diagnostics if d.is_error]
        shown = "; ".join(str(d) for d in errors[:3])
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        super().__init__(f"{len(errors)} error(s): {shown}{more}")
