"""The whole value of an argument whose key names a credential (``password``, ``api_key``, ``token`` …).

:class:`CredentialKeyDetector` is the third secret detector of :mod:`agentgov.policy.detect.secrets`
(kind ``credential_field``, severity 60); it reads the argument's name, not the text around the value.
"""

from __future__ import annotations

import re
from typing import Final

from agentgov.policy.detect.base import Category, Hit
from agentgov.policy.detect.secret_values import is_placeholder

__all__ = ["CredentialKeyDetector"]

_CREDENTIAL_KEY: Final = re.compile(
    r"(?:^|_)(?:password|passwd|secret|api_?key|access_token|refresh_token|auth_token|private_key|authorization"
    r"|client_secret|token)$"
)


class CredentialKeyDetector:
    """The whole string value of an argument whose key names a credential (``password``, ``api_key`` …)."""

    category: Category = "secret"

    def __init__(self) -> None:
        self._known: dict[str, bool] = {}
        """Key names already classified (bounded: cleared when it grows past 4096)."""

    def scan(self, text: str, key: str | None) -> list[Hit]:
        """One hit covering ``text`` when ``key`` looks like a credential name and the value is not a placeholder."""
        if not key or not text:
            return []
        named = self._known.get(key)
        if named is None:
            if len(self._known) > 4096:
                self._known.clear()
            named = self._known[key] = _CREDENTIAL_KEY.search(key.lower().replace("-", "_")) is not None
        if not named or (len(text) > 2 and is_placeholder(text)):
            return []
        return [Hit("credential_field", 60, 0, len(text))]
