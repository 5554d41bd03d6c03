"""Identity errors.

The hierarchy::

    IdentityError                 base of everything raised by agentgov.identity
    ├── TrustError                a trust file that cannot be read, or a key without the role or scope
    └── TokenError(code)          an agent token that is not accepted; ``code`` is a contracts DenyCode
"""

from __future__ import annotations


class IdentityError(Exception):
    """Base class of agentgov.identity errors."""


class TrustError(IdentityError):
    """A broken trust file, or an operator key that lacks the role or scope it needs."""


class TokenError(IdentityError):
    """An agent token that is rejected; ``code`` is ``token_missing|token_invalid|token_expired``."""

    def __init__(self, code: str, why: str) -> None:
        self.code = code
        self.why = why
        super().__init__(why)
